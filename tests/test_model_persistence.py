"""Saving and loading trained encoders: round trip and schema checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from anomaly_tutorial.features import FeatureSplit, OCSFFeaturizer
from anomaly_tutorial.models import (
    SchemaMismatchError,
    TrainedEncoder,
    check_schema,
    load_encoder,
    save_encoder,
    train_encoder,
)

torch.set_num_threads(1)

TINY = dict(width=16, depth=1, d_out=4, d_embed_cat=3, batch_size=64, epochs=1, progress=False)


def _events(n: int, seed: int, operations: int = 3) -> pd.DataFrame:
    """A small flat OCSF frame: API activity events from a few users and operations."""
    rng = np.random.default_rng(seed)
    ops = [f"op{i}" for i in range(operations)]
    return pd.DataFrame(
        {
            "event_id": [f"evt-{seed}-{i}" for i in range(n)],
            "time": 1_770_000_000_000 + np.sort(rng.integers(0, 3_600_000, n)),
            "class_uid": 6003,
            "activity_id": rng.integers(1, 4, n),
            "severity_id": 1,
            "status_id": rng.choice([1, 2], n, p=[0.9, 0.1]),
            "api.operation": rng.choice(ops, n),
            "actor.user.name": rng.choice(["ann", "bob", "cyd"], n),
            "src_endpoint.ip": rng.choice(["10.0.0.1", "10.0.0.2", "192.0.2.7"], n),
            "duration": rng.exponential(50.0, n),
        }
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[OCSFFeaturizer, TrainedEncoder, pd.DataFrame]:
    frame = _events(300, 0)
    featurizer = OCSFFeaturizer(min_frequency=1).fit(frame)
    encoder = train_encoder(
        featurizer.transform_split(frame), featurizer=featurizer, seed=1, **TINY
    )
    return featurizer, encoder, frame


def test_round_trip_gives_identical_outputs(tmp_path, fitted) -> None:
    featurizer, encoder, frame = fitted
    path = save_encoder(encoder, tmp_path / "enc")
    assert sorted(p.name for p in path.iterdir()) == [
        "encoder.json",
        "featurizer.json",
        "weights.pt",
    ]
    meta = json.loads((path / "encoder.json").read_text())
    assert meta["schema"]["categorical"] == featurizer.categorical_feature_names_
    loaded = load_encoder(path)
    new = _events(80, 5)
    assert np.array_equal(loaded.embed(new, history=frame), encoder.embed(new, history=frame))
    assert loaded.config == encoder.config
    assert loaded.history == encoder.history
    assert loaded.best_epoch == encoder.best_epoch
    for name, tensor in encoder.objective.state_dict().items():
        assert torch.equal(loaded.objective.state_dict()[name], tensor), name
    # saving again over an existing folder replaces it, leaving no temporary folder behind
    save_encoder(encoder, path)
    assert np.array_equal(load_encoder(path).embed(new), encoder.embed(new))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]


def test_embed_frame_matches_embed_of_the_split(fitted) -> None:
    featurizer, encoder, frame = fitted
    z = encoder.embed_frame(frame)
    assert list(z.index[:3]) == list(frame["event_id"][:3])
    assert np.array_equal(z.to_numpy(), encoder.embed(featurizer.transform_split(frame)))


def test_schema_mismatch_names_the_field(tmp_path, fitted) -> None:
    _, encoder, _ = fitted
    save_encoder(encoder, tmp_path / "enc")
    other = OCSFFeaturizer(min_frequency=1).fit(_events(300, 1, operations=5))
    codes_saved = encoder.cardinalities[encoder.categorical_feature_names.index("api.operation")]
    with pytest.raises(
        SchemaMismatchError,
        match=rf"categorical field 'api.operation' has {codes_saved} codes in the saved model "
        rf"but {codes_saved + 2} in this featurizer",
    ):
        load_encoder(tmp_path / "enc", featurizer=other)


def test_schema_mismatch_reports_missing_and_reordered_fields(fitted) -> None:
    _, encoder, _ = fitted
    num, cat, cards = (
        encoder.numeric_feature_names,
        encoder.categorical_feature_names,
        encoder.cardinalities,
    )
    featurizer = encoder.featurizer
    check_schema(num, cat, cards, featurizer)  # the matching schema passes
    with pytest.raises(SchemaMismatchError, match=r"numeric feature\(s\) \['num__extra'\]"):
        check_schema([*num, "num__extra"], cat, cards, featurizer)
    swapped = [num[1], num[0], *num[2:]]
    with pytest.raises(SchemaMismatchError, match="different order: position 0"):
        check_schema(swapped, cat, cards, featurizer)


def test_load_reports_missing_files(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a saved encoder folder"):
        load_encoder(tmp_path / "empty")


def test_encoder_without_featurizer_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(0)
    split = FeatureSplit(
        rng.normal(size=(120, 3)).astype(np.float32),
        rng.integers(0, 4, size=(120, 2)),
        np.arange(120).astype(str),
    )
    encoder = train_encoder(split, **TINY)
    loaded = load_encoder(save_encoder(encoder, tmp_path / "plain"))
    assert loaded.featurizer is None
    assert np.array_equal(loaded.embed(split), encoder.embed(split))
    weights = torch.load(tmp_path / "plain" / "weights.pt", weights_only=True)
    assert set(weights) == {"model", "objective"}


def test_pretrained_encoder_builds_caches_and_reloads(tmp_path, monkeypatch) -> None:
    """The cache logic on a small dataset and a tiny configuration."""
    from types import MappingProxyType

    import anomaly_tutorial.data as data
    from anomaly_tutorial.models import EncoderConfig, pretrained, pretrained_cache_path
    from anomaly_tutorial.models import pretrained_encoder as get

    small = data.generate_dataset(data.GeneratorConfig(n_events=1_500, days=2, n_users=40))
    monkeypatch.setattr(data, "default_dataset", lambda: small)
    monkeypatch.setenv("ANOMALY_TUTORIAL_CACHE", str(tmp_path))
    tiny = EncoderConfig(width=16, depth=1, d_out=4, batch_size=128, epochs=1)
    monkeypatch.setattr(pretrained, "PRETRAINED_CONFIGS", MappingProxyType({"contrastive": tiny}))
    path = pretrained_cache_path("contrastive")
    assert path.parent.parent == tmp_path and not path.exists()
    built = get("contrastive")
    stale = path.parent / "tabular_resnet-contrastive-0000000000000000"
    stale.mkdir()
    built = get("contrastive", rebuild=True)
    assert not stale.exists()  # a rebuild removes encoders of older settings
    assert path.is_dir() and built.featurizer is not None
    assert built.extra["train_seconds"] > 0
    train, test = small.time_split(train_fraction=pretrained.TRAIN_FRACTION)
    z = built.embed(test, history=train)
    assert z.shape == (len(test), 4)
    loaded = get("contrastive")
    assert np.array_equal(loaded.embed(test, history=train), z)
    # another configuration gets another cache folder, so a stale model is never loaded
    changed = MappingProxyType({"contrastive": EncoderConfig(width=16, depth=2, d_out=4)})
    monkeypatch.setattr(pretrained, "PRETRAINED_CONFIGS", changed)
    assert pretrained_cache_path("contrastive") != path
    with pytest.raises(ValueError, match="objective must be one of"):
        pretrained_cache_path("autoencoder")


def _imported_modules(path) -> set[str]:
    """Every module a source file imports, at any depth (lazy imports in functions included)."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            prefix = base if base.endswith(".") else base + "."
            found.add(base)
            found.update(prefix + alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_import_cycle_between_persistence_and_what_it_saves() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "anomaly_tutorial"
    training = _imported_modules(root / "models" / "training.py")
    assert not any("persistence" in name for name in training), training
    featurizer_format = _imported_modules(root / "features" / "persistence.py")
    assert not any("pipeline" in name for name in featurizer_format), featurizer_format
