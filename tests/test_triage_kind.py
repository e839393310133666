"""Anomaly kind: burst sizes on hand-made events, the kind rule on hand-made signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.triage import KINDS, KindRule, burst_size, kind_signals


def _logins(times_s, ips, flagged):
    frame = pd.DataFrame(
        {"time": np.asarray(times_s, dtype="int64") * 1000, "src_endpoint.ip": ips}
    )
    return frame, np.asarray(flagged, dtype=bool)


def test_burst_size_counts_flagged_neighbours_of_the_same_entity():
    frame, flagged = _logins(
        [0, 60, 120, 400, 1000, 100],
        ["a", "a", "a", "a", "a", "b"],
        [True, True, False, True, True, True],
    )
    sizes = burst_size(frame, flagged, window_s=300, entities=("src_endpoint.ip",))
    # event 0: flagged 0, 60 (120 is not flagged); event 3 at 400 s: itself only
    assert sizes.tolist() == [2, 2, 3, 1, 1, 1]


def test_burst_size_takes_the_largest_entity_and_ignores_missing_values():
    frame = pd.DataFrame(
        {
            "time": [0, 1000, 2000, 3000],
            "src_endpoint.ip": ["a", "b", "c", None],
            "actor.user.name": ["u", "u", "u", None],
        }
    )
    flagged = np.array([True, True, True, True])
    sizes = burst_size(frame, flagged, window_s=10)
    assert sizes.tolist() == [3, 3, 3, 0]  # the shared account makes the burst
    shuffled = frame.iloc[[2, 0, 3, 1]].reset_index(drop=True)
    assert burst_size(shuffled, flagged, window_s=10).tolist() == [3, 3, 0, 3]


def test_burst_size_refuses_bad_input():
    frame, flagged = _logins([0, 1], ["a", "a"], [True, False])
    with pytest.raises(ValueError, match=r"one value per event \(2\)"):
        burst_size(frame, flagged[:1])
    with pytest.raises(TypeError, match="expected booleans"):
        burst_size(frame, np.array([1, 0]))
    with pytest.raises(ValueError, match="missing column 'time'"):
        burst_size(frame.drop(columns="time"), flagged)
    with pytest.raises(ValueError, match="window_s: must be > 0"):
        burst_size(frame, flagged, window_s=0)


def _signals(rows):
    return pd.DataFrame(rows, columns=["global", "context", "window", "burst"])


HAND_MADE = _signals(
    [
        (4.0, 1.0, 0.0, 0),  # extreme alone -> point
        (0.5, 3.0, 0.0, 0),  # extreme only for its account -> contextual
        (0.2, 0.3, 3.5, 1),  # its window is extreme -> collective
        (0.2, 0.1, 0.0, 20),  # part of a burst of flagged events -> collective
        (3.0, 3.0, 0.0, 0),  # a tie between global and context
    ]
)


def test_kind_rule_on_hand_made_alerts():
    rule = KindRule(window_grid=[2.0], burst_grid=[5], point_grid=[2.0], margin_grid=[0.0])
    rule.fit(HAND_MADE, ["point", "contextual", "collective", "collective", "point"])
    assert rule.predict(HAND_MADE).tolist() == [
        "point",
        "contextual",
        "collective",
        "collective",
        "point",
    ]
    strict = KindRule(window_grid=[2.0], burst_grid=[5], point_grid=[2.0], margin_grid=[0.5])
    strict.fit(HAND_MADE, ["point", "contextual", "collective", "collective", "point"])
    assert strict.predict(HAND_MADE)[4] == "contextual"  # the tie now goes to context


def test_kind_rule_chooses_thresholds_that_fit_the_labels():
    labels = ["point", "contextual", "collective", "collective", "contextual"]
    rule = KindRule().fit(HAND_MADE, labels)
    assert rule.fit_score_ == 1.0
    assert (rule.predict(HAND_MADE) == np.asarray(labels, dtype=object)).all()
    assert len(rule.grid_) == 3 * 4 * 4 * 4
    assert set(rule.predict(HAND_MADE)) <= set(KINDS)


def test_kind_rule_refuses_bad_input():
    with pytest.raises(ValueError, match=r"unknown kinds \['burst'\]"):
        KindRule().fit(HAND_MADE, ["point", "burst", "collective", "collective", "point"])
    with pytest.raises(ValueError, match="expected 5 labels, got 2"):
        KindRule().fit(HAND_MADE, ["point", "point"])
    with pytest.raises(ValueError, match=r"missing columns \['burst'\]"):
        KindRule().fit(HAND_MADE.drop(columns="burst"), ["point"] * 5)
    bad = HAND_MADE.copy()
    bad.loc[2, "window"] = np.nan
    with pytest.raises(ValueError, match="column 'window' has nan at row 2"):
        KindRule().fit(bad, ["point"] * 5)
    with pytest.raises(ValueError, match="point_grid: needs at least one candidate"):
        KindRule(point_grid=[]).fit(HAND_MADE, ["point"] * 5)
    with pytest.raises(ValueError, match="empty"):
        KindRule().fit(HAND_MADE.iloc[:0], [])


def test_kind_signals_adds_the_burst():
    frame, flagged = _logins([0, 10, 20], ["a", "a", "a"], [True, True, True])
    surprise = pd.DataFrame({"global": 0.0, "context": 0.0, "window": 0.0}, index=frame.index)
    signals = kind_signals(surprise, frame, flagged)
    assert signals["burst"].tolist() == [3, 3, 3]
    with pytest.raises(ValueError, match="same index"):
        kind_signals(surprise.iloc[:2], frame, flagged)


def test_chapter_exercises_check_the_right_answers():
    from anomaly_tutorial.exercises import check

    assert check("triage-1", "critical", quiet=True)
    assert not check("triage-1", "high", quiet=True)
    assert check("triage-2", 3, quiet=True)
    assert not check("triage-2", 4, quiet=True)
    assert check("triage-3", 2, quiet=True)
    assert not check("triage-3", 3, quiet=True)
