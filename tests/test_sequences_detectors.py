"""Tests of the Landauer et al. session detectors, their validation, and bad session files."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.base import clone

from anomaly_tutorial.sequences import (
    CORRUPTIONS,
    CombinedSessionDetector,
    EditDistanceDetector,
    EventCountVectorDetector,
    NewEventDetector,
    NGramDetector,
    SessionLengthDetector,
    corrupt_session,
    cross_validate_detectors,
    edit_distances,
    load_sessions,
    make_block_sessions,
)

VM_LIFE = [59, 3, 22, 20, 21, 9, 15, 12, 11, 8, 4, 5, 14, 23, 53, 13, 52]


def _train() -> list[list[int]]:
    """Normal sessions: the same life with two neighbouring events in either order."""
    swapped = list(VM_LIFE)
    swapped[5], swapped[6] = swapped[6], swapped[5]
    return [VM_LIFE, swapped] * 5


def _levenshtein(a: list[int], b: list[int]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


# --- what each detector catches -------------------------------------------------------------
def test_truncated_session_is_caught_by_length_and_end_ngrams():
    truncated = VM_LIFE[:-4]
    for det in (SessionLengthDetector(), NGramDetector(n=2, end_event=True)):
        fitted = det.fit(_train())
        assert fitted.predict(_train()).sum() == 0
        assert fitted.predict([truncated]).tolist() == [1], type(det).__name__
    # without the end event, a prefix of a normal session holds only normal n-grams
    assert NGramDetector(n=2).fit(_train()).predict([truncated]).tolist() == [0]
    length = SessionLengthDetector().fit(_train())
    assert length.score_samples([truncated, VM_LIFE * 2]).tolist() == [4.0, 17.0]


def test_count_anomaly_of_known_events_is_caught_by_count_vectors():
    # same length as the normal sessions, every event known, one event twice and one missing
    counts_wrong = list(VM_LIFE)
    counts_wrong[8] = counts_wrong[7]
    det = EventCountVectorDetector().fit(_train())
    assert det.threshold_ == 0.0  # the two training shapes share their counts
    assert det.predict([VM_LIFE, counts_wrong]).tolist() == [0, 1]
    assert SessionLengthDetector().fit(_train()).predict([counts_wrong]).tolist() == [0]
    assert NewEventDetector().fit(_train()).predict([counts_wrong]).tolist() == [0]


def test_unseen_event_with_small_vocabulary_is_caught():
    train = [[1, 2, 3]] * 5
    session = [1, 2, 7]
    for det in (
        NewEventDetector(),
        NGramDetector(n=2),
        NGramDetector(n=2, top_k=9),  # top_k above the vocabulary size
        EventCountVectorDetector(idf=True),
        EditDistanceDetector(),
    ):
        assert det.fit(train).predict([[1, 2, 3], session]).tolist() == [0, 1], det


def test_reordering_is_caught_by_edit_distance_and_ngrams_not_by_counts():
    train = [[1, 2, 3, 4, 5, 6]] * 4
    reordered = [1, 2, 4, 3, 5, 6]
    assert EditDistanceDetector().fit(train).predict([reordered]).tolist() == [1]
    assert NGramDetector(n=2).fit(train).predict([reordered]).tolist() == [1]
    assert EventCountVectorDetector().fit(train).predict([reordered]).tolist() == [0]


def test_ecvc_distance_is_the_min_max_ratio_by_hand():
    det = EventCountVectorDetector().fit([[1, 1, 2]])
    # counts (1: 2, 2: 1, unseen: 0) against (1: 1, 2: 1, unseen: 1): min 2, max 4
    np.testing.assert_allclose(det.score_samples([[1, 2, 9], [2, 1, 1], []]), [0.5, 0.0, 1.0])


def test_ecvc_idf_weights_down_events_every_session_has():
    train = [[1, 2], [1, 3], [1, 2, 3]]
    det = EventCountVectorDetector(idf=True).fit(train)
    n = len(train)
    np.testing.assert_allclose(
        det.weights_,
        [np.log10((1 + n) / 3), np.log10((1 + n) / 2), np.log10((1 + n) / 2), np.log10(1 + n)],
    )
    # an extra common event costs less than an extra rare one
    s = det.score_samples([[1, 1, 2], [1, 2, 2]])
    assert s[0] < s[1]


def test_leave_one_out_threshold_by_hand():
    train = [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4, 4]]
    det = EventCountVectorDetector().fit(train)
    # the two identical sessions have a twin (0); the third is 1 - 4/5 from them
    np.testing.assert_allclose(det.training_scores_, [0.0, 0.0, 0.2])
    assert det.threshold_ == pytest.approx(0.2)
    assert det.predict([[1, 2, 3, 4, 4, 4, 4, 4]]).tolist() == [1]  # 1 - 5/8 > 0.2
    assert EventCountVectorDetector(threshold_quantile=0.5).fit(train).threshold_ == 0.0


def test_cluster_leaders_reduce_the_reference_set():
    train = [[1] * 10, [1] * 11, [1] * 12, [2] * 5]
    full = EventCountVectorDetector().fit(train)
    leaders = EventCountVectorDetector(reference="clusters", cluster_radius=0.2).fit(train)
    assert full.reference_vectors_.shape[0] == 4
    assert leaders.reference_vectors_.shape[0] == 2
    assert leaders.threshold_ == pytest.approx(min(full.threshold_ + 0.2, 1.0))
    assert leaders.predict([[1] * 11]).tolist() == [0]
    assert leaders.score_samples([[3, 3]]).tolist() == [1.0]


def test_edit_distances_match_a_plain_dynamic_programme():
    rng = np.random.default_rng(0)
    queries = [rng.integers(0, 4, int(rng.integers(0, 9))).tolist() for _ in range(25)]
    refs = [rng.integers(0, 4, int(rng.integers(0, 9))).tolist() for _ in range(7)]
    got = edit_distances(
        [np.array(q, dtype=np.int64) for q in queries], [np.array(r, dtype=np.int64) for r in refs]
    )
    expected = [[_levenshtein(q, r) for r in refs] for q in queries]
    np.testing.assert_array_equal(got, expected)


def test_edit_distance_score_is_normalised_by_the_longer_session():
    det = EditDistanceDetector().fit([[1, 2, 3, 4]])
    np.testing.assert_allclose(det.score_samples([[1, 2, 3, 4], [1, 2, 3], [9, 9]]), [0, 0.25, 1])


def test_combination_flags_when_any_member_does():
    combo = CombinedSessionDetector(
        [("new", NewEventDetector()), ("length", SessionLengthDetector())]
    ).fit(_train())
    sessions = [VM_LIFE, [*VM_LIFE, 999], VM_LIFE[:5]]
    assert combo.score_samples(sessions).tolist() == [0.0, 2.0, 1.0]
    assert combo.predict(sessions).tolist() == [0, 1, 1]
    both = clone(combo).set_params(min_votes=2).fit(_train())
    assert both.predict(sessions).tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="min_votes"):
        clone(combo).set_params(min_votes=3).fit(_train())
    with pytest.raises(ValueError, match="unique"):
        CombinedSessionDetector([("a", NewEventDetector()), ("a", NewEventDetector())]).fit([[1]])


# --- API, determinism, speed ----------------------------------------------------------------
DETECTORS = [
    SessionLengthDetector(),
    EventCountVectorDetector(),
    EventCountVectorDetector(idf=True, normalize=True, reference="clusters"),
    EditDistanceDetector(),
    CombinedSessionDetector([("length", SessionLengthDetector())]),
]


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: type(d).__name__)
def test_api_determinism_and_duplicates(det):
    train = make_block_sessions(60, 0, seed=1).sessions
    test = make_block_sessions(40, 10, seed=2).sessions
    a = clone(det).fit(train)
    b = clone(det).fit(list(reversed(train)))
    np.testing.assert_array_equal(a.score_samples(test), b.score_samples(test))
    doubled = a.score_samples(test + test)
    np.testing.assert_array_equal(doubled[: len(test)], doubled[len(test) :])
    assert set(np.unique(a.predict(test))) <= {0, 1}
    np.testing.assert_array_equal(a.predict(test), a.score_samples(test) > a.threshold_)
    assert not [k for k in vars(clone(det)) if k.endswith("_")]


def test_count_detectors_are_fast():
    # a scaled version of "fit on 5,000 sessions, score 500,000 in under a minute"
    train = make_block_sessions(500, 0, seed=3).sessions
    scored = make_block_sessions(9_000, 1_000, seed=4).sessions
    for det in (NewEventDetector(), SessionLengthDetector(), NGramDetector(n=3, end_event=True)):
        start = time.perf_counter()
        det.fit(train).score_samples(scored)
        assert time.perf_counter() - start < 10.0, type(det).__name__


@pytest.mark.parametrize(
    ("det", "message"),
    [
        (EventCountVectorDetector(reference="tree"), "reference"),
        (EventCountVectorDetector(cluster_radius=2), "cluster_radius"),
        (EventCountVectorDetector(threshold_quantile=1.5), "threshold_quantile"),
        (EditDistanceDetector(threshold_quantile=-0.1), "threshold_quantile"),
    ],
)
def test_bad_parameters_name_the_parameter(det, message):
    with pytest.raises(ValueError, match=message):
        det.fit([[1, 2]])


def test_bad_sessions_name_the_session_and_the_token():
    det = SessionLengthDetector().fit([[1, 2]])
    with pytest.raises(ValueError, match=r"sequences\[1\].*integer"):
        det.score_samples([[1], [1, "2"]])
    with pytest.raises(ValueError, match="non-empty"):
        EventCountVectorDetector().fit([[]])
    with pytest.raises(
        ValueError, match=r"sequences\[0\]: event id 2361183241434822606848 .*int64"
    ):
        NGramDetector(n=2).fit([[1, 2**71, 3]])
    with pytest.raises(ValueError, match=r"sequences\[1\]: event id -9223372036854775809"):
        NewEventDetector().fit([[1], [-(2**63) - 1]])


# --- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corruptions_change_the_session_as_documented(kind):
    rng = np.random.default_rng(0)
    s = list(VM_LIFE)
    out = corrupt_session(s, kind, rng, unseen_id=1000)
    assert out != s
    if kind == "truncate":
        assert len(out) < len(s) and out == s[: len(out)]
    elif kind == "drop":
        assert len(out) == len(s) - 1
    elif kind == "repeat":
        assert len(out) == len(s) + 1 and sorted(set(out)) == sorted(set(s))
    elif kind == "swap":
        assert sorted(out) == sorted(s)
    else:
        assert 1000 in out and len(out) == len(s) + 1


def test_cross_validation_scores_held_out_normals_and_corruptions():
    sessions = _train() * 2
    table = cross_validate_detectors(
        {"length": SessionLengthDetector(), "new": NewEventDetector()}, sessions, n_folds=4
    )
    assert list(table.columns) == ["FPR", "TPR", *CORRUPTIONS, "F1"]
    assert table.loc["length", "FPR"] == 0.0
    assert table.loc["length", "truncate"] == 1.0
    assert table.loc["new", "unseen"] == 1.0
    assert table.loc["new", "swap"] == 0.0
    with pytest.raises(ValueError, match="n_folds"):
        cross_validate_detectors({"new": NewEventDetector()}, sessions[:2], n_folds=3)


# --- bad session files (issue 14) -----------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"1 2 3\n4 \xff 6\n", [r"line 2", "UTF-8", r"\\xff"]),
        (b"1 2\n1_000 3\n", [r"line 2", "ASCII digits", "'1_000'"]),
        ("1 2\n\uff11\uff12 3\n".encode(), [r"line 2", "ASCII digits", "'\uff11\uff12'"]),
        (f"1 {2**64} 3\n".encode(), [r"line 1", "int64", f"'{2**64}'"]),
        (b"1 +2\n", [r"line 1", "ASCII digits", "'\\+2'"]),
    ],
)
def test_bad_session_file_messages(tmp_path, content, words):
    path = tmp_path / "sessions"
    path.write_bytes(content)
    with pytest.raises(ValueError) as err:
        load_sessions(path)
    assert str(path) in str(err.value)
    for word in words:
        assert __import__("re").search(word, str(err.value)), (word, str(err.value))


def test_session_ids_are_kept_as_written(tmp_path):
    path = tmp_path / "openstack_train"
    path.write_text("5eda-3874,59 3 22\n1_000,4 5\n007,6\n", encoding="utf-8")
    ids, sessions = load_sessions(path, session_ids=True)
    assert ids == ["5eda-3874", "1_000", "007"]  # never turned into the integer 1000 or 7
    assert sessions == [[59, 3, 22], [4, 5], [6]]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("a,1 2\na,3\n", ["line 2", "repeats the one of line 1"]),
        ("a,1 2\n3 4\n", ["line 2", "no comma"]),
        ("\uff11,1 2\n", ["line 1", "printable ASCII"]),
        ("a,1 2\n\n", ["line 2", "blank line"]),
        ("a,1 x\n", ["line 1", "'x'"]),
    ],
)
def test_bad_session_ids(tmp_path, content, words):
    path = tmp_path / "ids"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_sessions(path, session_ids=True)
    for word in words:
        assert word in str(err.value), (word, str(err.value))
