"""Tests of anomaly_tutorial.sequences: session files, windows, baselines, OCSF sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from anomaly_tutorial.sequences import (
    ANOMALY_KINDS,
    NewEventDetector,
    NGramDetector,
    load_sessions,
    make_block_sessions,
    save_sessions,
)
from anomaly_tutorial.sequences.sequence_model import (
    SESSION_FEATURE_NAMES,
    EventSequenceModel,
    session_features,
)
from anomaly_tutorial.sequences.sessions import (
    UNKNOWN_TYPE,
    EventTypeVocabulary,
    build_sessions,
    event_type_keys,
)
from anomaly_tutorial.sequences.windows import PAD, UNK, Vocabulary, sliding_windows

torch.set_num_threads(1)


# --- session files --------------------------------------------------------------------------
def test_load_sessions_reads_deeplog_format(tmp_path):
    path = tmp_path / "hdfs_train"
    path.write_text("5 5 5 22 11 9 \n22 5\t5  \r\n\n   \n7\n", encoding="utf-8")
    assert load_sessions(path) == [[5, 5, 5, 22, 11, 9], [22, 5, 5], [], [], [7]]
    assert load_sessions(path, skip_blank=True) == [[5, 5, 5, 22, 11, 9], [22, 5, 5], [7]]


def test_load_sessions_names_line_and_content_of_bad_lines(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1 2 3\n4 x5 6\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: '4 x5 6'.*bad token 'x5'"):
        load_sessions(path)
    path.write_text("1 2\n\n3 4.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3: '3 4.0'"):
        load_sessions(path)
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        load_sessions(tmp_path / "missing.txt")


def test_save_then_load_round_trips(tmp_path):
    sessions = [[1, 2, 3], [], [-4, 10**9]]
    path = save_sessions(sessions, tmp_path / "s.txt")
    assert load_sessions(path) == sessions
    with pytest.raises(ValueError, match="session 1"):
        save_sessions([[1], ["a"]], tmp_path / "t.txt")


# --- windows ----------------------------------------------------------------------------------
def test_sliding_windows_left_pad_every_position():
    windows, targets, owner = sliding_windows([np.array([5, 6, 7]), np.array([8])], 2)
    np.testing.assert_array_equal(windows, [[PAD, PAD], [PAD, 5], [5, 6], [PAD, PAD]])
    np.testing.assert_array_equal(targets, [5, 6, 7, 8])
    np.testing.assert_array_equal(owner, [0, 0, 0, 1])


def test_vocabulary_maps_unknown_ids_to_unk():
    voc = Vocabulary(np.array([30, 10, 10, 20]))
    np.testing.assert_array_equal(voc.encode(np.array([10, 20, 30, 40, -1])), [2, 3, 4, UNK, UNK])
    assert len(voc) == 5


# --- baselines --------------------------------------------------------------------------------
def test_new_event_detector_counts_unseen_ids():
    det = NewEventDetector().fit([[1, 2, 3], [2, 3]])
    np.testing.assert_array_equal(det.score_samples([[1, 2], [1, 9, 9], []]), [0, 2, 0])
    np.testing.assert_array_equal(det.predict([[1, 2], [1, 9, 9], []]), [0, 1, 0])
    frac = NewEventDetector(scoring="fraction").fit([[1]]).score_samples([[1, 7, 7, 1]])
    np.testing.assert_allclose(frac, [0.5])


def test_ngram_detector_counts_unseen_ngrams():
    det = NGramDetector(n=2).fit([[1, 2, 3], [1, 2, 4]])
    # bigrams (with padding P): P1, 12, 23, 24; allowed starts: only 1
    scores = det.score_samples([[1, 2, 3], [1, 3], [2, 3], [1, 2, 9]])
    np.testing.assert_array_equal(scores, [0, 1, 1, 1])
    misses = det.position_misses([[1, 3, 2]])[0]
    np.testing.assert_array_equal(misses, [False, True, True])
    assert det.n_ngrams_ == 4


def test_ngram_top_k_keeps_most_frequent_continuations():
    train = [[1, 2]] * 5 + [[1, 3]] * 3 + [[1, 4]]
    top2 = NGramDetector(n=2, top_k=2).fit(train)
    np.testing.assert_array_equal(top2.predict([[1, 2], [1, 3], [1, 4]]), [0, 0, 1])
    exact = NGramDetector(n=2).fit(train)
    np.testing.assert_array_equal(exact.predict([[1, 2], [1, 3], [1, 4]]), [0, 0, 0])


def test_ngram_bad_parameters_and_input():
    with pytest.raises(ValueError, match="'n'"):
        NGramDetector(n=0).fit([[1, 2]])
    with pytest.raises(ValueError, match="'top_k'"):
        NGramDetector(top_k=0).fit([[1, 2]])
    with pytest.raises(ValueError, match=r"sequences\[0\]"):
        NGramDetector().fit([["a", "b"]])


def test_baselines_on_synthetic_block_benchmark():
    train = make_block_sessions(800, 0, seed=1)
    test = make_block_sessions(1000, 200, seed=2)
    y = test.labels
    new = NewEventDetector().fit(train.sessions).predict(test.sessions)
    assert new[y == 0].mean() == 0.0
    np.testing.assert_array_equal(new[y == 1], test.kinds[y == 1] == "error_event")
    ngram = NGramDetector(n=3).fit(train.sessions).predict(test.sessions)
    assert ngram[y == 0].mean() <= 0.02
    assert ngram[y == 1].mean() >= 0.7
    for kind in ("error_event", "out_of_order"):
        assert ngram[test.kinds == kind].mean() == 1.0
    assert set(np.unique(test.kinds)) == {"normal", *ANOMALY_KINDS}


def test_synthetic_benchmark_is_deterministic():
    a, b = make_block_sessions(50, 10, seed=3), make_block_sessions(50, 10, seed=3)
    assert a.sessions == b.sessions
    assert make_block_sessions(50, 10, seed=4).sessions != a.sessions
    assert int(a.labels.sum()) == 10


# --- OCSF sessions ----------------------------------------------------------------------------
def _tiny_frame() -> pd.DataFrame:
    minute = 60_000
    rows = [
        # event_id, time, user, class, activity, status, op, is_anomaly, type, incident
        ("e1", 0 * minute, "alice", 3002, 1, 2, None, False, "normal", None),
        ("e2", 1 * minute, "alice", 3002, 1, 1, None, False, "normal", None),
        ("e4", 3 * minute, "alice", 6003, 3, 1, "AttachRolePolicy", True, "account_takeover", "i1"),
        ("e3", 2 * minute, "alice", 6003, 2, 1, "GetObject", False, "normal", None),
        ("e5", 90 * minute, "alice", 6003, 2, 1, "GetObject", False, "normal", None),
        ("e6", 5 * minute, "bob", 6003, 2, 1, "GetObject", False, "normal", None),
        ("e7", 6 * minute, None, 4001, 6, 1, None, False, "normal", None),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "event_id",
            "time",
            "actor.user.name",
            "class_uid",
            "activity_id",
            "status_id",
            "api.operation",
            "is_anomaly",
            "anomaly_type",
            "incident_id",
        ],
    )
    frame["time"] = frame["time"].astype("int64")
    frame["actor.user.name"] = frame["actor.user.name"].astype("string")
    frame["incident_id"] = frame["incident_id"].astype("string")
    frame["dst_endpoint.port"] = pd.array([None] * 6 + [5432], dtype="Int64")
    return frame


def test_event_type_keys_and_vocabulary():
    frame = _tiny_frame()
    keys = event_type_keys(frame)
    assert keys.tolist() == [
        "3002:1:2",
        "3002:1:1",
        "6003:3:1 AttachRolePolicy",
        "6003:2:1 GetObject",
        "6003:2:1 GetObject",
        "6003:2:1 GetObject",
        "4001:6:1 port 5432",
    ]
    voc = EventTypeVocabulary().fit(keys[:4])
    assert voc.key_of(1) == "3002:1:1"  # ties in frequency: alphabetical
    ids = voc.transform(keys)
    assert ids[4] == voc.ids_["6003:2:1 GetObject"]
    assert ids[6] == UNKNOWN_TYPE
    assert voc.key_of(UNKNOWN_TYPE) == "<unknown>"


def test_http_paths_are_masked():
    frame = pd.DataFrame(
        {
            "class_uid": [4002, 4002],
            "activity_id": [3, 3],
            "status_id": [1, 1],
            "http_request.http_method": ["GET", "GET"],
            "http_request.url.path": ["/api/orders/18234", "/api/orders/77"],
            "http_response.code": pd.array([200, 200], dtype="Int64"),
        }
    )
    keys = event_type_keys(frame)
    assert keys.tolist() == ["4002:3:1 GET /api/orders/{id} 200"] * 2


def test_build_sessions_orders_splits_and_labels():
    frame = _tiny_frame()
    ids = np.arange(1, len(frame) + 1)  # type id = row number + 1
    sessions = build_sessions(frame, ids, entity="actor.user.name", gap_minutes=30)
    assert sessions.n_unassigned == 1  # e7 has no user
    assert len(sessions) == 3
    # alice: e1, e2, e3, e4 (time order, e3 is row 3), then a new session after 87 minutes
    assert sessions.sequences == [[1, 2, 4, 3], [5], [6]]

    assert next(frame["event_id"].iloc[r].tolist() for r in sessions.rows) == [
        "e1",
        "e2",
        "e3",
        "e4",
    ]
    table = sessions.table
    assert table["entity"].tolist() == ["alice", "alice", "bob"]
    assert table["n_events"].tolist() == [4, 1, 1]
    assert table["is_anomaly"].tolist() == [True, False, False]
    assert table["n_anomalous"].tolist() == [1, 0, 0]
    assert table["anomaly_types"].tolist() == ["account_takeover", "", ""]
    assert table["incident_ids"].tolist() == ["i1", "", ""]
    np.testing.assert_array_equal(sessions.labels, [1, 0, 0])
    merged = build_sessions(frame, ids, entity="actor.user.name", gap_minutes=120)
    assert merged.sequences[0] == [1, 2, 4, 3, 5]


def test_build_sessions_rejects_bad_input():
    frame = _tiny_frame()
    with pytest.raises(ValueError, match="one id per event"):
        build_sessions(frame, [1, 2, 3])
    with pytest.raises(ValueError, match=r"'src_endpoint\.ip'"):
        build_sessions(frame, np.arange(len(frame)), entity="src_endpoint.ip")
    with pytest.raises(ValueError, match="gap_minutes"):
        build_sessions(frame, np.arange(len(frame)), gap_minutes=0)
    bad = frame.copy()
    bad["time"] = bad["time"].astype("float64")
    bad.loc[2, "time"] = np.nan
    with pytest.raises(ValueError, match=r"column 'time': 1 values are NaN \(rows \[2\]\)"):
        build_sessions(bad, np.arange(len(frame)))


def test_session_features_shape_and_gap():
    frame = _tiny_frame()
    sessions = build_sessions(frame, np.arange(1, 8))
    feats = session_features(frame, sessions)
    assert [f.shape for f in feats] == [(4, len(SESSION_FEATURE_NAMES)), (1, 7), (1, 7)]
    gap = feats[0][:, SESSION_FEATURE_NAMES.index("log_gap_s")]
    np.testing.assert_allclose(gap, np.log1p([0, 60, 60, 60]), rtol=1e-6)
    failure = feats[0][:, SESSION_FEATURE_NAMES.index("is_failure")]
    np.testing.assert_array_equal(failure, [1, 0, 0, 0])


# --- sequence model ---------------------------------------------------------------------------
def _chain_data(n: int, seed: int) -> tuple[list[list[int]], list[np.ndarray]]:
    """Sessions 1 2 3 ... with a feature that grows by one per step."""
    rng = np.random.default_rng(seed)
    seqs, feats = [], []
    for _ in range(n):
        length = int(rng.integers(3, 9))
        seqs.append([1 + i % 3 for i in range(length)])
        feats.append(np.column_stack([np.arange(length), rng.normal(0, 0.1, length)]))
    return seqs, feats


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_event_sequence_model_scores_broken_sessions_higher(arch):
    seqs, feats = _chain_data(150, 0)
    params = dict(window=3, arch=arch, d_model=16, epochs=15, lr=1e-2, seed=1)
    model = EventSequenceModel(**params).fit(seqs, feats)
    assert model.loss_history_[-1] < model.loss_history_[0]
    test_s, test_f = _chain_data(20, 1)
    normal = model.score_samples(test_s, test_f)
    wrong_type = model.score_samples([[1, 3, 2, *s[3:]] for s in test_s], test_f)
    wrong_feat = [f.copy() for f in test_f]
    for f in wrong_feat:
        f[1, 0] += 8.0
    assert np.all(wrong_type > normal)
    assert np.all(model.score_samples(test_s, wrong_feat) > normal)
    again = EventSequenceModel(**params).fit(seqs, feats).score_samples(test_s, test_f)
    np.testing.assert_array_equal(again, normal)


def test_event_sequence_model_validates_features():
    seqs, feats = _chain_data(10, 0)
    model = EventSequenceModel(window=2, epochs=1)
    with pytest.raises(ValueError, match="one matrix per session"):
        model.fit(seqs, feats[:-1])
    bad = [f.copy() for f in feats]
    bad[3] = bad[3][:-1]
    with pytest.raises(ValueError, match=r"features\[3\] must have shape"):
        model.fit(seqs, bad)
    bad[3] = feats[3].copy()
    bad[3][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"features\[3\] holds NaN"):
        model.fit(seqs, bad)
    with pytest.raises(ValueError, match="'arch'"):
        EventSequenceModel(arch="gru").fit(seqs, feats)


def test_estimators_follow_sklearn_conventions():
    from sklearn.base import clone

    from anomaly_tutorial.sequences import NextEventDetector

    for est in (
        NextEventDetector(window=4, top_k=2),
        NGramDetector(n=4, top_k=2),
        NewEventDetector(scoring="fraction"),
        EventTypeVocabulary(min_count=3),
        EventSequenceModel(arch="transformer", d_model=16),
    ):
        copy = clone(est)
        assert copy.get_params() == est.get_params()
        assert not [k for k in vars(copy) if k.endswith("_")]  # nothing fitted in __init__


def test_event_sequence_model_trains_through_the_shared_loop_without_touching_global_rng():
    seqs, feats = _chain_data(20, 0)
    state = torch.random.get_rng_state()
    model = EventSequenceModel(window=2, d_model=8, epochs=2, seed=3).fit(seqs, feats)
    assert torch.equal(state, torch.random.get_rng_state())
    assert len(model.history_.epochs) == 2
    assert model.loss_history_ == model.history_.train_loss
