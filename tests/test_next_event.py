"""Tests of the DeepLog-style next-event detector (anomaly_tutorial.sequences.next_event)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anomaly_tutorial.sequences import (
    SURPRISE_CAP,
    NextEventDetector,
    make_block_sessions,
)

torch.set_num_threads(1)


def _cycle_sessions(n: int, seed: int = 0) -> list[list[int]]:
    """Sessions that walk the cycle 10 -> 20 -> 30 -> 40 -> 50 -> 10 from 10, 4 to 14 events."""
    rng = np.random.default_rng(seed)
    cycle = [10, 20, 30, 40, 50]
    return [[cycle[i % 5] for i in range(int(rng.integers(4, 15)))] for _ in range(n)]


def _small(**kw) -> NextEventDetector:
    params = dict(
        window=3, top_k=1, embedding_dim=8, hidden_size=16, num_layers=1, epochs=40, lr=1e-2
    )
    params.update(kw)
    return NextEventDetector(**params)


@pytest.fixture(scope="module")
def cycle_detector() -> NextEventDetector:
    return _small().fit(_cycle_sessions(200))


def test_loss_decreases_and_pattern_is_learned(cycle_detector):
    hist = cycle_detector.loss_history_
    assert len(hist) == 40
    assert hist[-1] < 0.5 * hist[0]
    normal = _cycle_sessions(50, seed=1)
    perturbed = []
    for s in normal:
        t = list(s)
        i = len(t) // 2
        t[i], t[i + 1] = t[i + 1], t[i]  # swap two neighbours
        perturbed.append(t)
    s_normal = cycle_detector.score_samples(normal)
    s_pert = cycle_detector.score_samples(perturbed)
    assert s_normal.max() == 0
    assert np.all(s_pert >= 2)  # the two swapped events are both unexpected
    assert cycle_detector.predict(perturbed).all()


def test_fit_uses_distinct_windows_with_counts(cycle_detector):
    sessions = _cycle_sessions(200)
    assert cycle_detector.n_train_positions_ == sum(len(s) for s in sessions)
    # windows [P, P, P], [P, P, 10], [P, 10, 20] (P = padding), then the 5 rotations
    assert cycle_detector.n_train_windows_ == 8
    assert cycle_detector.n_train_pairs_ == 8


def test_determinism_for_a_seed():
    train = _cycle_sessions(60)
    test = _cycle_sessions(20, seed=3)
    a = _small(epochs=5, scoring="max_surprise", seed=4).fit(train)
    b = _small(epochs=5, scoring="max_surprise", seed=4).fit(train)
    c = _small(epochs=5, scoring="max_surprise", seed=5).fit(train)
    assert a.loss_history_ == b.loss_history_
    np.testing.assert_array_equal(a.score_samples(test), b.score_samples(test))
    assert not np.array_equal(a.score_samples(test), c.score_samples(test))


def test_unseen_ids_are_misses_with_capped_surprise(cycle_detector):
    seqs = [[10, 20, 30, 40], [10, 20, 999, 40], [-5, 10**12]]
    ranks, surprises = cycle_detector.position_results(seqs)
    assert ranks[1][2] >= cycle_detector.top_k
    assert surprises[1][2] == SURPRISE_CAP
    assert np.all(surprises[2] == SURPRISE_CAP)
    assert cycle_detector.predict(seqs).tolist() == [0, 1, 1]
    assert cycle_detector.score_samples(seqs)[2] == 2.0


def test_short_and_empty_sequences_are_padded(cycle_detector):
    seqs = [[], [10], [10, 20], [10, 30], [30]]
    ranks, _ = cycle_detector.position_results(seqs)
    assert [len(r) for r in ranks] == [0, 1, 2, 2, 1]
    np.testing.assert_array_equal(cycle_detector.score_samples(seqs), [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(cycle_detector.predict(seqs), [0, 0, 0, 1, 1])


def test_end_event_adds_one_position_per_session():
    det = _small(epochs=3, end_event=True).fit(_cycle_sessions(30))
    ranks, _ = det.position_results([[], [10, 20]])
    assert [len(r) for r in ranks] == [1, 3]


def test_scorings_agree_with_predict_and_positions(cycle_detector):
    seqs = [*_cycle_sessions(10, seed=9), [10, 30, 20, 40], [50, 50, 50]]
    ranks, surprises = cycle_detector.position_results(seqs)
    misses = np.array([(r >= cycle_detector.top_k).sum() for r in ranks])
    np.testing.assert_array_equal(cycle_detector.score_samples(seqs), misses)
    np.testing.assert_array_equal(cycle_detector.predict(seqs), (misses > 0).astype(int))
    det = cycle_detector
    try:
        det.set_params(scoring="max_surprise")
        np.testing.assert_allclose(det.score_samples(seqs), [s.max() for s in surprises])
        det.set_params(scoring="sum_surprise")
        np.testing.assert_allclose(det.score_samples(seqs), [s.sum() for s in surprises])
        det.set_params(scoring="miss_fraction")
        np.testing.assert_allclose(det.score_samples(seqs), misses / [len(r) for r in ranks])
    finally:
        det.set_params(scoring="misses")


def test_duplicates_and_order_do_not_change_scores(cycle_detector):
    seqs = [*_cycle_sessions(20, seed=11), [10, 30, 20]]
    once = cycle_detector.score_samples(seqs)
    doubled = cycle_detector.score_samples(seqs + seqs[::-1])
    np.testing.assert_array_equal(doubled[: len(seqs)], once)
    np.testing.assert_array_equal(doubled[len(seqs) :], once[::-1])


def test_arbitrary_id_ranges_and_numpy_input():
    train = [np.array(s) * 1000 - 7 for s in _cycle_sessions(40)]
    det = _small(epochs=20).fit(train)
    np.testing.assert_array_equal(det.vocabulary_.classes, [9993, 19993, 29993, 39993, 49993])
    assert det.predict([np.array([9993, 19993, 29993])]).tolist() == [0]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(window=0), "window"),
        (dict(top_k=-1), "top_k"),
        (dict(lr=0.0), "lr"),
        (dict(scoring="auc"), "scoring"),
        (dict(epochs=2.5), "epochs"),
    ],
)
def test_bad_parameters_raise_clear_errors(params, message):
    with pytest.raises(ValueError, match=message):
        NextEventDetector(**params).fit([[1, 2, 3]])


def test_bad_input_raises_clear_errors(cycle_detector):
    with pytest.raises(ValueError, match=r"sequences\[1\].*integer"):
        cycle_detector.score_samples([[10, 20], [10, 2.5]])
    with pytest.raises(TypeError, match="list of sessions"):
        cycle_detector.score_samples("10 20 30")
    with pytest.raises(ValueError, match="non-empty"):
        NextEventDetector().fit([[], []])


def test_synthetic_block_benchmark_tpr_fpr():
    train = make_block_sessions(600, 0, seed=1)
    test = make_block_sessions(1000, 200, seed=2)
    det = NextEventDetector(
        window=10, top_k=6, hidden_size=32, num_layers=1, epochs=12, lr=1e-2
    ).fit(train.sessions)
    pred = det.predict(test.sessions)
    y = test.labels
    tpr, fpr = pred[y == 1].mean(), pred[y == 0].mean()
    assert tpr >= 0.7, tpr
    assert fpr <= 0.06, fpr
    for kind in ("error_event", "out_of_order", "repeated_write"):
        assert pred[test.kinds == kind].mean() >= 0.9, kind
    # an absent event is mostly invisible to next-event prediction
    assert pred[test.kinds == "missing_step"].mean() < 0.5
