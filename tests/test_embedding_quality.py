"""Tests of anomaly_tutorial.embedding_quality on synthetic arrays and tiny real encoders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from anomaly_tutorial.detectors import KNNDetector
from anomaly_tutorial.embedding_quality import (
    alignment,
    class_consistency,
    compare_representations,
    corrupted_view,
    embedding_stability,
    group_separation,
    knn_agreement,
    knn_distance_scores,
    knn_indices,
    knn_overlap,
    l2_normalize,
    linear_cka,
    linear_probe,
    nearest_events,
    quality_sample,
    seed_stability,
    sweep_encoders,
    uniformity,
    view_alignment,
)
from anomaly_tutorial.features import FeatureSplit


def _blobs(n_per: int = 60, n_groups: int = 3, d: int = 5, spread: float = 0.3, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(n_groups, d))
    labels = np.repeat(np.arange(n_groups), n_per)
    X = centres[labels] + rng.normal(scale=spread, size=(labels.size, d))
    return X, labels


def _rotation(d: int, seed: int = 1) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


# ---------------------------------------------------------------- neighbours


def test_knn_agreement_small_example_by_hand():
    X = np.array([[0.0], [1.0], [10.0], [11.5]])
    labels = ["normal", "normal", "scan", "scan"]
    one = knn_agreement(X, labels, k=1)
    assert one.overall == 1.0 and one.anomalous == 1.0
    two = knn_agreement(X, labels, k=2)
    # point 0: neighbours 1 (same), 10 (other) -> 0.5; point 1: 0, 10 -> 0.5;
    # point 10: 11.5 (same), 1 (other) -> 0.5; point 11.5: 10, 1 -> 0.5
    assert two.overall == pytest.approx(0.5)
    assert two.anomalous == pytest.approx(0.5)
    # random neighbours among the 3 others: 1 of 3 shares the label
    assert two.chance_overall == pytest.approx(1 / 3)
    assert two.per_label.loc["scan", "n"] == 2


def test_knn_agreement_clusters_versus_shuffled_labels():
    X, labels = _blobs()
    names = np.array(["normal", "brute_force", "port_scan"])[labels]
    good = knn_agreement(X, names, k=10)
    assert good.overall > 0.99 and good.anomalous > 0.99
    shuffled = np.random.default_rng(3).permutation(names)
    bad = knn_agreement(X, shuffled, k=10)
    assert abs(bad.overall - bad.chance_overall) < 0.1
    assert bad.anomalous < 0.6


def test_knn_indices_never_return_the_row_itself_even_with_duplicates():
    X = np.zeros((6, 2))
    X[3:] = 5.0
    idx = knn_indices(X, 2)
    assert idx.shape == (6, 2)
    assert not (idx == np.arange(6)[:, None]).any()
    assert set(idx[0]) <= {1, 2} and set(idx[4]) <= {3, 5}


def test_knn_overlap_is_one_under_rotation_and_low_for_unrelated_embeddings():
    X, _ = _blobs(d=6, spread=3.0)
    assert knn_overlap(X, 3.0 * X @ _rotation(6), k=5) == pytest.approx(1.0)
    other = np.random.default_rng(9).normal(size=X.shape)
    assert knn_overlap(X, other, k=5) < 0.2
    with pytest.raises(ValueError, match="embeddings_b has 10;"):
        knn_overlap(X, X[:10])


def test_nearest_events_returns_the_query_and_its_nearest_reference_events():
    ref = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [0.0, 0.2]])
    ref_frame = pd.DataFrame({"event_id": ["r0", "r1", "r2", "r3"], "class_name": list("abcd")})
    query = np.array([[0.1, 0.0], [5.0, 4.0]])
    q_frame = pd.DataFrame({"event_id": ["q0", "q1"], "class_name": ["x", "y"]})
    out = nearest_events(["q1", "q0"], query, q_frame, ref, ref_frame, k=2)
    assert list(out.columns[:4]) == ["query_id", "rank", "event_id", "distance"]
    q0 = out[out.query_id == "q0"]
    assert q0["event_id"].tolist() == ["q0", "r0", "r3"]
    assert q0["rank"].tolist() == [0, 1, 2]
    assert q0["distance"].iloc[1] == pytest.approx(0.1)
    assert out[out.query_id == "q1"]["event_id"].iloc[1] == "r2"
    assert q0["class_name"].tolist() == ["x", "a", "d"]
    with pytest.raises(KeyError, match="nope"):
        nearest_events("nope", query, q_frame, ref, ref_frame, k=2)


# ---------------------------------------------------------------- geometry


def test_alignment_and_uniformity_extremes():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 8))
    assert alignment(z, 2.0 * z) == pytest.approx(0.0, abs=1e-12)  # normalised first
    assert alignment(z, -z) == pytest.approx(4.0)
    assert uniformity(np.ones((50, 4))) == pytest.approx(0.0, abs=1e-12)
    spread = uniformity(z)
    clumped = uniformity(z * 0.05 + np.ones(8))
    assert spread < clumped < 0.0
    assert spread > -4.0  # -2t is the high-dimensional limit
    norms = np.linalg.norm(l2_normalize(z), axis=1)
    assert np.allclose(norms, 1.0)


def test_linear_cka_invariances_and_gram_formula():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 6))
    assert linear_cka(X, 5.0 * X @ _rotation(6) + 3.0) == pytest.approx(1.0)
    Y = rng.normal(size=(150, 4))
    # HSIC form with centred Gram matrices gives the same value
    H = np.eye(150) - 1.0 / 150
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    expected = np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))
    assert linear_cka(X, Y) == pytest.approx(expected)
    assert linear_cka(X, Y) < 0.2
    with pytest.raises(ValueError, match="constant"):
        linear_cka(X, np.ones((150, 2)))


# ---------------------------------------------------------------- groups and probes


def test_group_separation_matches_sklearn_and_ranks_groupings():
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    X, labels = _blobs()
    shuffled = np.random.default_rng(4).permutation(labels)
    table = group_separation(X, {"true": labels, "random": shuffled}, sample_size=None)
    assert table.loc["true", "silhouette"] == pytest.approx(silhouette_score(X, labels))
    assert table.loc["true", "davies_bouldin"] == pytest.approx(davies_bouldin_score(X, labels))
    assert table.loc["true", "silhouette"] > 0.8 > table.loc["random", "silhouette"]
    assert table.loc["true", "davies_bouldin"] < table.loc["random", "davies_bouldin"]
    small = group_separation(X, {"true": labels}, sample_size=50, random_state=1)
    assert small.loc["true", "n"] == 50
    with pytest.raises(ValueError, match="between 2 and n-1 groups"):
        group_separation(X, {"one": np.zeros(len(X))})
    with pytest.raises(ValueError, match=r"groups\['gap'\]: 1 values are missing"):
        group_separation(X, {"gap": [None, *labels[1:]]})


def test_linear_probe_separable_versus_random_labels():
    X, labels = _blobs(n_per=80)
    train, test = np.arange(len(X)) % 2 == 0, np.arange(len(X)) % 2 == 1
    good = linear_probe(X[train], labels[train], X[test], labels[test])
    assert good["balanced_accuracy"] == pytest.approx(1.0)
    assert good["chance"] == pytest.approx(1 / 3)
    noise = np.random.default_rng(5).normal(size=X.shape)
    bad = linear_probe(noise[train], labels[train], noise[test], labels[test])
    assert bad["balanced_accuracy"] < 0.6
    # A test label never seen in training is kept and counted as missed
    test_labels = labels[test].astype(object)
    test_labels[:5] = "new"
    unseen = linear_probe(X[train], labels[train], X[test], test_labels)
    assert unseen["n_unseen_test_labels"] == 1
    assert unseen["balanced_accuracy"] < 0.8


# ---------------------------------------------------------------- detection and comparison


def test_knn_distance_scores_equal_the_knn_detector():
    rng = np.random.default_rng(6)
    train, test = rng.normal(size=(300, 4)), rng.normal(size=(50, 4))
    ours = knn_distance_scores(train, test, k=7)
    theirs = KNNDetector(n_neighbors=7, method="largest").fit(train).score_samples(test)
    assert np.allclose(ours, theirs, rtol=1e-4)


def test_quality_sample_keeps_every_anomaly():
    is_anomaly = np.zeros(1000, dtype=bool)
    is_anomaly[[3, 500, 999]] = True
    rows = quality_sample(is_anomaly, 100, 0)
    assert rows.size == 100 and set(np.flatnonzero(is_anomaly)) <= set(rows)
    assert np.array_equal(rows, quality_sample(is_anomaly, 100, 0))


def _toy_events(seed: int = 0):
    """Two periods of toy events: anomalies sit far away in feature 0."""
    rng = np.random.default_rng(seed)
    n_train, n_test = 400, 300
    n = n_train + n_test
    is_anomaly = np.zeros(n, dtype=bool)
    is_anomaly[rng.choice(n_train, size=20, replace=False)] = True
    is_anomaly[n_train + rng.choice(n_test, size=30, replace=False)] = True
    signal = rng.normal(size=(n, 3))
    signal[is_anomaly, 0] += 6.0
    service = rng.choice(["auth", "frontend"], size=n)
    signal[:, 1] += np.where(service == "auth", 4.0, -4.0)
    frame = pd.DataFrame(
        {
            "event_id": [f"e{i:04d}" for i in range(n)],
            "dst_endpoint.svc_name": service,
            "class_name": np.where(rng.random(n) < 0.5, "HTTP Activity", "Authentication"),
        }
    )
    labels = pd.DataFrame(
        {
            "event_id": frame["event_id"],
            "is_anomaly": is_anomaly,
            "anomaly_type": np.where(is_anomaly, "port_scan", "normal"),
        }
    )
    return frame.iloc[:n_train], frame.iloc[n_train:], labels, signal


def test_compare_representations_ranks_signal_above_noise_and_aligns_by_id():
    train, test, labels, signal = _toy_events()
    noise = np.random.default_rng(1).normal(size=signal.shape)
    reps = {
        "signal": (signal[: len(train)], signal[len(train) :]),
        "noise": (noise[: len(train)], noise[len(train) :]),
    }
    table = compare_representations(train, test, labels, reps, k=5, sample_size=200)
    assert table.loc["signal", "pr_auc"] > 0.9 > 0.5 > table.loc["noise", "pr_auc"]
    assert table.loc["signal", "roc_auc"] > table.loc["noise", "roc_auc"]
    assert table.loc["signal", "silhouette_service"] > table.loc["noise", "silhouette_service"]
    assert table.loc["signal", "dim"] == 3
    assert table.loc["signal", "base_rate"] == pytest.approx(30 / 300)
    # Labels in another row order give the same table: they are matched by id
    shuffled = labels.sample(frac=1.0, random_state=0)
    again = compare_representations(train, test, shuffled, reps, k=5, sample_size=200)
    pd.testing.assert_frame_equal(table.drop(columns="seconds"), again.drop(columns="seconds"))
    with pytest.raises(ValueError, match="have no label"):
        compare_representations(train, test, labels.iloc[:-3], reps)
    with pytest.raises(ValueError, match="share 400 event ids"):
        compare_representations(train, train, labels, reps)


def test_compare_representations_fits_callables_on_the_training_period_only():
    train, test, labels, signal = _toy_events()
    by_id = pd.DataFrame(signal, index=pd.concat([train, test])["event_id"])
    seen: dict[str, object] = {}

    def fit(frame: pd.DataFrame) -> None:
        seen["fit_ids"] = set(frame["event_id"])

    def transform(frame: pd.DataFrame, history: pd.DataFrame | None) -> np.ndarray:
        seen.setdefault("history", []).append(None if history is None else len(history))
        return by_id.loc[frame["event_id"]].to_numpy()

    table = compare_representations(train, test, labels, {"fn": (fit, transform)}, k=5)
    assert seen["fit_ids"] == set(train["event_id"])
    assert seen["history"] == [None, len(train)]
    assert table.loc["fn", "pr_auc"] > 0.9
    with pytest.raises(ValueError, match=r"3 train embeddings for 400 train events"):
        compare_representations(train, test, labels, {"bad": (signal[:3], signal[400:])})


def test_bad_embeddings_get_clear_errors():
    X = np.ones((5, 2))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"embeddings: 1 values are NaN or infinite \(rows 2\)"):
        knn_agreement(X, ["a"] * 5, k=1)
    with pytest.raises(ValueError, match="labels: has 4 values but the embeddings have 5 rows"):
        knn_agreement(np.ones((5, 2)), ["a"] * 4, k=1)
    with pytest.raises(ValueError, match="k=5 neighbours need more than 5 rows"):
        knn_agreement(np.random.default_rng(0).normal(size=(5, 2)), ["a"] * 5, k=5)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        knn_agreement(np.ones((5, 2)), ["a"] * 5, k=0)


# ---------------------------------------------------------------- real encoders


def _toy_split(n: int = 320, seed: int = 0) -> FeatureSplit:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, size=n)
    numeric = rng.normal(size=(n, 4)).astype(np.float32)
    numeric[:, 0] += 3.0 * group
    categorical = np.stack([group, rng.integers(0, 3, size=n) + 3 * group], axis=1)
    ids = np.array([f"e{i}" for i in range(n)])
    return FeatureSplit(numeric, categorical.astype(np.int64), ids)


_SMALL = {
    "width": 16,
    "depth": 1,
    "d_out": 8,
    "epochs": 2,
    "batch_size": 64,
    "feature_names": (["n0", "n1", "n2", "n3"], ["class_uid", "kind"]),
}


def test_seed_stability_trains_one_encoder_per_seed():
    torch.set_num_threads(1)
    train, held_out = _toy_split(seed=0), _toy_split(n=200, seed=1)
    result = seed_stability(train, held_out, seeds=(0, 1), k=5, **_SMALL)
    assert result.seeds == (0, 1) and len(result.pairs) == 1
    z0, z1 = result.embeddings[0], result.embeddings[1]
    assert z0.shape == z1.shape == (200, 8)
    assert not np.allclose(z0, z1)  # really two different training runs
    assert 0.0 < result.cka <= 1.0
    assert result.knn_overlap > result.pairs[0]["knn_overlap_chance"]
    same = embedding_stability(z0, z0.copy(), k=5)
    assert same["cka"] == pytest.approx(1.0) and same["knn_overlap"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="two distinct seeds"):
        seed_stability(train, held_out, seeds=(3, 3), **_SMALL)


def test_view_alignment_grows_with_the_corruption_rate():
    from anomaly_tutorial.models import train_encoder

    torch.set_num_threads(1)
    split = _toy_split()
    encoder = train_encoder(split, progress=False, seed=0, **_SMALL)
    view = corrupted_view(encoder, split, corruption_rate=0.5, seed=0)
    assert view.numeric.shape == split.numeric.shape
    assert np.array_equal(view.categorical[:, 0], split.categorical[:, 0])  # class kept
    assert not np.array_equal(view.numeric, split.numeric)
    light = view_alignment(encoder, split, corruption_rate=0.2, seed=0)
    heavy = view_alignment(encoder, split, corruption_rate=1.0, seed=0)
    assert 0.0 <= light["alignment"] < heavy["alignment"] <= 4.0
    assert heavy == view_alignment(encoder, split, corruption_rate=1.0, seed=0)
    assert light["uniformity"] < 0.0


def test_class_consistency_flags_codes_never_seen_with_the_class():
    reference = FeatureSplit(
        np.zeros((4, 1), np.float32),
        np.array([[0, 5], [0, 6], [1, 7], [1, 2]], dtype=np.int64),
        np.array(["a", "b", "c", "d"]),
    )
    data = FeatureSplit(
        np.zeros((3, 1), np.float32),
        np.array([[0, 6], [0, 7], [1, 2]], dtype=np.int64),
        np.array(["x", "y", "z"]),
    )
    assert class_consistency(reference, data).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="same width"):
        class_consistency(reference, FeatureSplit(data.numeric, data.categorical[:, :1], None))


def test_views_drawn_within_the_class_stay_consistent():
    from anomaly_tutorial.models import train_encoder

    torch.set_num_threads(1)
    split = _toy_split()
    encoder = train_encoder(split, progress=False, seed=0, **_SMALL)
    grouped = corrupted_view(encoder, split, corruption_rate=1.0, seed=0)
    ungrouped = corrupted_view(encoder, split, corruption_rate=1.0, seed=0, group_field="")
    assert class_consistency(split, grouped).all()
    assert class_consistency(split, ungrouped).mean() < 0.9
    with pytest.raises(ValueError, match="group_field 'nope'"):
        corrupted_view(encoder, split, group_field="nope")


def test_sweep_encoders_reports_one_row_per_setting():
    torch.set_num_threads(1)
    fit, val = _toy_split(seed=0), _toy_split(n=200, seed=1)
    is_anomaly = np.zeros(200, dtype=bool)
    is_anomaly[:10] = True
    val.numeric[:10, 1] += 8.0  # the anomalies are far away in one numeric feature
    settings = [{"temperature": 0.1}, {"temperature": 1.0}]
    table = sweep_encoders(fit, val, is_anomaly, settings, k=5, **_SMALL)
    assert table["temperature"].tolist() == [0.1, 1.0]
    assert table["val_pr_auc"].between(0, 1).all() and (table["val_pr_auc"] > 0.05).all()
    assert {"val_loss", "alignment", "uniformity", "best_epoch"} <= set(table.columns)
    with pytest.raises(ValueError, match="both set"):
        sweep_encoders(fit, val, is_anomaly, [{"epochs": 1}], **_SMALL)
    with pytest.raises(ValueError, match="val_is_anomaly: has shape"):
        sweep_encoders(fit, val, is_anomaly[:5], settings, **_SMALL)


def test_cheap_chapter_exercises_accept_the_right_answer_only():
    from anomaly_tutorial.exercises import check, list_exercises
    from anomaly_tutorial.models import TabularResNet, count_parameters

    ids = set(list_exercises())
    assert {"tr-1", "tr-2", "tr-3", "ss-1", "ss-2", "ss-3", "eq-1", "eq-2", "eq-3"} <= ids
    small = TabularResNet(
        n_numeric=10, cardinalities=[5, 7, 3], d_embed_cat=4, width=32, depth=2, d_out=8
    )
    assert check("tr-1", count_parameters(small), quiet=True)
    assert not check("tr-1", count_parameters(small) + 1, quiet=True)
    assert check("ss-1", float(np.log(64)), quiet=True)
    assert not check("ss-1", float(np.log(63)), quiet=True)


def test_split_rows_takes_rows_of_every_part():
    from anomaly_tutorial.embedding_quality import split_rows

    split = _toy_split(n=10)
    part = split_rows(split, [7, 2])
    assert part.event_ids.tolist() == ["e7", "e2"]
    assert np.array_equal(part.numeric, split.numeric[[7, 2]])
    assert np.array_equal(part.categorical, split.categorical[[7, 2]])
    mask = np.zeros(10, dtype=bool)
    mask[3] = True
    assert split_rows(split, mask).event_ids.tolist() == ["e3"]
    with pytest.raises(ValueError, match=r"indices must lie in 0..9"):
        split_rows(split, [10])


def test_compare_representations_can_skip_groups_and_probe():
    train, test, labels, signal = _toy_events()
    reps = {"signal": (signal[: len(train)], signal[len(train) :])}
    table = compare_representations(train, test, labels, reps, k=5, groups={}, probe_label=None)
    assert not any(c.startswith(("silhouette", "davies", "probe")) for c in table.columns)
    assert table.loc["signal", "pr_auc"] > 0.9


def test_book_representations_on_generated_events():
    from anomaly_tutorial.data import GeneratorConfig, generate_dataset
    from anomaly_tutorial.embedding_quality import (
        embed_representations,
        featurizer_representation,
        pca_representation,
    )
    from anomaly_tutorial.features import OCSFFeaturizer

    dataset = generate_dataset(GeneratorConfig(n_events=1500, days=2, seed=3))
    train, test = dataset.time_split(train_fraction=0.7)
    reps = {"raw": featurizer_representation(), "pca": pca_representation(4)}
    out = embed_representations(train, test, reps)
    expected = OCSFFeaturizer().fit(train).transform(test, history=train)
    assert np.allclose(out["raw"][1], expected)
    assert out["pca"][0].shape == (len(train), 4) and out["pca"][1].shape == (len(test), 4)
    # PCA is fitted on the training period: its training scores are centred there
    assert np.allclose(out["pca"][0].mean(axis=0), 0.0, atol=1e-4)


def test_sweep_encoders_can_stop_on_the_training_rows_and_score_against_a_reference():
    """With stop_on_validation=False the validation rows are used for scoring only: the run
    equals an encoder trained without them."""
    from anomaly_tutorial.embedding_quality import knn_distance_scores
    from anomaly_tutorial.evaluate import pr_auc
    from anomaly_tutorial.models import train_encoder

    torch.set_num_threads(1)
    fit, val = _toy_split(seed=0), _toy_split(n=200, seed=1)
    is_anomaly = np.zeros(200, dtype=bool)
    is_anomaly[:10] = True
    val.numeric[:10, 1] += 8.0
    settings = [{"temperature": 0.5}]
    table = sweep_encoders(fit, val, is_anomaly, settings, k=5, stop_on_validation=False, **_SMALL)
    alone = train_encoder(fit, temperature=0.5, progress=False, **_SMALL)
    expected = pr_auc(is_anomaly, knn_distance_scores(alone.embed(fit), alone.embed(val), 5))
    assert table["val_pr_auc"].iloc[0] == pytest.approx(expected)
    assert table["epochs_run"].iloc[0] == len(alone.history)
    reference = _toy_split(n=150, seed=2)
    other = sweep_encoders(
        fit,
        val,
        is_anomaly,
        settings,
        k=5,
        stop_on_validation=False,
        reference_data=reference,
        **_SMALL,
    )
    expected = pr_auc(is_anomaly, knn_distance_scores(alone.embed(reference), alone.embed(val), 5))
    assert other["val_pr_auc"].iloc[0] == pytest.approx(expected)
