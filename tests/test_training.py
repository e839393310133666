"""Tests of train_encoder and TrainedEncoder (tiny models, a few hundred rows, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anomaly_tutorial.features import FeatureSplit
from anomaly_tutorial.models import EncoderConfig, TrainedEncoder, train_encoder

torch.set_num_threads(1)

CARDS = [3, 4, 5]
TINY = dict(width=16, depth=1, d_out=6, d_embed_cat=3, batch_size=64, progress=False)


def _split(n: int = 320, seed: int = 0) -> FeatureSplit:
    """Rows from 3 clusters; categorical codes and numeric values depend on the cluster."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 3, n)
    numeric = (cluster[:, None] * 2.0 + rng.normal(scale=0.3, size=(n, 4))).astype(np.float32)
    categorical = np.stack(
        [cluster, (cluster + rng.integers(0, 2, n)) % 4, rng.integers(0, 5, n)], axis=1
    ).astype(np.int64)
    return FeatureSplit(numeric, categorical, np.array([f"e{i}" for i in range(n)]))


@pytest.fixture(scope="module")
def trained() -> TrainedEncoder:
    return train_encoder(_split(), epochs=2, seed=3, **TINY)


def test_history_and_embedding_shapes(trained: TrainedEncoder) -> None:
    assert [row["epoch"] for row in trained.history] == [1, 2]
    for row in trained.history:
        assert set(row) == {"epoch", "train_loss", "val_loss", "seconds"}
        assert np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss"])
        assert row["seconds"] > 0
    z = trained.embed(_split(50, seed=1), batch_size=7, normalize=True)
    assert z.shape == (50, 6) and z.dtype == np.float32
    assert np.allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    raw = trained.embed(_split(50, seed=1))
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    assert np.allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), z, atol=1e-5)
    frame = trained.embed_frame(_split(5, seed=1))
    assert list(frame.index) == [f"e{i}" for i in range(5)]


def test_batching_does_not_change_embeddings(trained: TrainedEncoder) -> None:
    split = _split(100, seed=2)
    assert np.allclose(trained.embed(split, batch_size=13), trained.embed(split), atol=1e-6)


def test_same_seed_gives_identical_embeddings() -> None:
    split = _split()
    a = train_encoder(split, epochs=2, seed=11, dropout=0.2, **TINY)
    b = train_encoder(split, epochs=2, seed=11, dropout=0.2, **TINY)
    c = train_encoder(split, epochs=2, seed=12, dropout=0.2, **TINY)
    assert a.history[-1]["train_loss"] == b.history[-1]["train_loss"]
    assert np.array_equal(a.embed(split), b.embed(split))
    assert not np.array_equal(a.embed(split), c.embed(split))
    # the caller's global RNG is left alone
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    train_encoder(split, epochs=1, seed=11, **TINY)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("objective", ["contrastive", "masked"])
def test_loss_decreases_on_a_small_dataset(objective: str) -> None:
    enc = train_encoder(
        _split(400), objective=objective, epochs=4, lr=3e-3, patience=4, seed=0, **TINY
    )
    losses = [row["train_loss"] for row in enc.history]
    assert len(losses) == 4
    assert losses[-1] < 0.9 * losses[0]
    assert enc.history[-1]["val_loss"] < enc.history[0]["val_loss"]


def test_contrastive_embedding_separates_the_clusters() -> None:
    split = _split(400)
    enc = train_encoder(split, epochs=4, lr=3e-3, seed=0, **TINY)
    z = enc.embed(split)
    cluster = split.categorical[:, 0]
    sim = z @ z.T
    same = sim[cluster[:, None] == cluster[None, :]].mean()
    other = sim[cluster[:, None] != cluster[None, :]].mean()
    assert same > other + 0.2


def test_early_stopping_restores_best_epoch() -> None:
    split = _split()
    enc = train_encoder(
        split, split_val=_split(100, seed=5), epochs=30, lr=0.05, patience=1, seed=0, **TINY
    )
    assert len(enc.history) < 30
    val = [row["val_loss"] for row in enc.history]
    assert enc.best_epoch == int(np.argmin(val)) + 1
    assert len(enc.history) == enc.best_epoch + 1


def test_field_options_and_names() -> None:
    split = _split()
    names = (["a", "b", "c", "d"], ["class_uid", "svc", "x"])
    enc = train_encoder(split, feature_names=names, epochs=1, seed=0, **TINY)
    assert enc.objective.group_column == 0  # class_uid found in the schema
    assert not bool(enc.objective.selection.categorical[0])
    enc = train_encoder(
        split, feature_names=names, exclude_fields=["a"], group_field="", epochs=1, seed=0, **TINY
    )
    assert enc.objective.group_column is None
    assert not bool(enc.objective.selection.numeric[0])
    enc = train_encoder(split, feature_names=names, corrupt="categorical", epochs=1, **TINY)
    assert not enc.objective.selection.numeric.any()
    assert enc.objective.selection.categorical.tolist() == [False, True, True]
    enc = train_encoder(split, feature_names=names, corrupt="numeric", epochs=1, **TINY)
    assert enc.objective.selection.numeric.all() and not enc.objective.selection.categorical.any()
    with pytest.raises(ValueError, match="corrupt must be one of"):
        train_encoder(split, corrupt="some", epochs=1, **TINY)
    with pytest.raises(ValueError, match="unknown field"):
        train_encoder(split, exclude_fields=["nope"], epochs=1, **TINY)
    with pytest.raises(ValueError, match="group_field 'nope'"):
        train_encoder(split, group_field="nope", epochs=1, **TINY)


def test_bad_arguments_and_inputs() -> None:
    split = _split()
    with pytest.raises(ValueError, match="objective must be one of"):
        train_encoder(split, objective="autoencoder", **TINY)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        train_encoder(split, temperature=0, **TINY)
    with pytest.raises(ValueError, match="corruption_rate"):
        train_encoder(split, corruption_rate=1.5, **TINY)
    enc = train_encoder(split, epochs=1, **TINY)
    bad = FeatureSplit(split.numeric[:, :3], split.categorical, split.event_ids)
    with pytest.raises(ValueError, match=r"numeric features have shape \(320, 3\)"):
        enc.embed(bad)
    nan = split.numeric.copy()
    nan[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        enc.embed(FeatureSplit(nan, split.categorical, split.event_ids))
    with pytest.raises(TypeError, match="no featurizer attached"):
        enc.embed([[1.0, 2.0]])


def test_config_round_trip() -> None:
    config = EncoderConfig(objective="masked", exclude_fields=("a",), epochs=3)
    assert EncoderConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown setting"):
        EncoderConfig.from_dict({"wdith": 3})


def test_a_validation_frame_is_featurised_with_the_training_frame_as_history() -> None:
    """Window features of the first validation events must see the training period."""
    from anomaly_tutorial.data import GeneratorConfig, book_split, generate_dataset
    from anomaly_tutorial.features import OCSFFeaturizer

    dataset = generate_dataset(GeneratorConfig(n_events=1_500, days=7, n_users=40, seed=1))
    train, validation, _ = book_split(dataset.config).split(dataset.events)
    featurizer = OCSFFeaturizer().fit(train)
    seen = []
    original = featurizer.transform_split

    def spy(frame, history=None):
        seen.append((len(frame), None if history is None else len(history)))
        return original(frame, history=history)

    featurizer.transform_split = spy
    train_encoder(train, validation, featurizer=featurizer, epochs=1, **TINY)
    assert (len(validation), len(train)) in seen
    assert (len(train), None) in seen
