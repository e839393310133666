"""NAB scoring (anomaly_tutorial.timeseries.nab) on cases worked out by hand.

Reference formulas (NAB ``sweeper.py``): sigma(y) = 2 / (1 + exp(5 y)) - 1; a detection at row i
of window [L, R] (width W) is worth A_TP sigma(-(R - i + 1) / W) / sigma(-1); after a window it is
worth A_FP sigma(|R - i| / (W - 1)), before any window -A_FP; a missed window costs -A_FN;
normalised 100 (raw - null) / (perfect - null) with null = -A_FN n_windows, perfect = A_TP
n_windows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from anomaly_tutorial.timeseries.nab import (
    PROFILES,
    NABFile,
    nab_score,
    nab_scores,
    probationary_length,
    row_weights,
    scaled_sigmoid,
)

WINDOW = [(40, 49)]  # rows 40..49 of a 100-row file whose times are the row numbers


def _file(detect: dict[int, float], n: int = 100, windows=WINDOW) -> NABFile:
    scores = np.zeros(n)
    for row, value in detect.items():
        scores[row] = value
    return NABFile(np.arange(n), scores, windows)


def _score(files, profile="standard"):
    return nab_score(files, profile, probation_fraction=0.0)


def test_scaled_sigmoid_values() -> None:
    # NAB's docstring: -1 -> 0.98661, -0.5 -> 0.84828, 0 -> 0, 1 -> -0.98661, >= 3 -> -1
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0 and scaled_sigmoid(10.0) == -1.0


def test_profiles_weights() -> None:
    w = {name: (p.tp, p.fp, p.fn, p.tn) for name, p in PROFILES.items()}
    assert w == {
        "standard": (1.0, 0.11, 1.0, 1.0),
        "reward_low_FP_rate": (1.0, 0.22, 1.0, 1.0),
        "reward_low_FN_rate": (1.0, 0.11, 2.0, 1.0),
    }


def test_probationary_length() -> None:
    assert probationary_length(100) == 15
    assert probationary_length(4032) == 604  # floor(604.8)
    assert probationary_length(10_000) == 750  # capped at 0.15 x 5000


def test_detection_at_the_left_edge_is_perfect() -> None:
    result = _score({"a": _file({40: 1.0})})
    assert result.raw == pytest.approx(1.0)
    assert (result.null, result.perfect) == (-1.0, 1.0)
    assert result.score == pytest.approx(100.0)
    assert result.threshold == 1.0


def test_null_detector_scores_zero() -> None:
    result = _score({"a": _file({})})  # every score equal: detecting everything is worse
    assert result.score == 0.0 and result.threshold == math.inf


def test_detection_inside_the_window() -> None:
    # row 44: position -(49 - 44 + 1) / 10 = -0.6; sigma(-0.6) = 2 / (1 + e^-3) - 1 = 0.905148
    tp = (2 / (1 + math.exp(-3)) - 1) / (2 / (1 + math.exp(-5)) - 1)  # 0.917428
    result = _score({"a": _file({44: 1.0})})
    assert result.raw == pytest.approx(tp)
    assert result.score == pytest.approx(100 * (tp + 1) / 2)  # 95.87
    assert result.score == pytest.approx(95.8714, abs=1e-4)


def test_only_the_earliest_detection_of_a_window_counts() -> None:
    one = _score({"a": _file({42: 1.0})}).raw
    many = _score({"a": _file({42: 1.0, 45: 1.0, 49: 1.0})}).raw
    assert many == pytest.approx(one)


def test_false_positive_before_any_window_costs_a_fp() -> None:
    tp = 0.917428
    for profile, a_fp in [("standard", 0.11), ("reward_low_FP_rate", 0.22)]:
        result = _score({"a": _file({10: 2.0, 44: 1.0})}, profile)
        # the best threshold takes both (tp - A_FP beats -1 and -1 - A_FP)
        assert result.raw == pytest.approx(tp - a_fp, abs=1e-6)
        assert result.per_file.loc["a", "false_positives"] == 1


def test_false_positive_after_a_window_costs_less_close_to_it() -> None:
    # row 55: |49 - 55| / (10 - 1) = 2/3; sigma(2/3) = 2 / (1 + e^(10/3)) - 1 = -0.931110
    weights, window = row_weights(100, [(40, 49)], PROFILES["standard"])
    assert weights[55] == pytest.approx(0.11 * (2 / (1 + math.exp(10 / 3)) - 1))
    assert weights[55] == pytest.approx(-0.102422, abs=1e-6)
    assert weights[50] > weights[55] > weights[99] == pytest.approx(-0.11)
    assert weights[10] == -0.11 and window[10] == -1 and window[45] == 0


def test_reward_low_fn_rate_doubles_the_cost_of_a_miss() -> None:
    files = {"a": _file({44: 1.0}), "b": _file({})}  # b's window is missed
    raw = 0.917428 - 2.0
    result = _score(files, "reward_low_FN_rate")
    assert result.null == -4.0 and result.perfect == 2.0
    assert result.raw == pytest.approx(raw, abs=1e-6)
    assert result.score == pytest.approx(100 * (raw + 4) / 6, abs=1e-4)


def test_probationary_rows_are_not_scored() -> None:
    # 100 rows: the first 15 are probation; a detection at row 5 costs nothing
    with_probation = nab_score({"a": _file({5: 2.0, 40: 1.0})})
    assert with_probation.raw == pytest.approx(1.0)
    assert with_probation.per_file.loc["a", "false_positives"] == 0


def test_one_threshold_for_all_files() -> None:
    # file a: its window at score 0.9; file b: a false positive at 0.95 and its window at 0.5.
    a = _file({40: 0.9})
    b = _file({10: 0.95, 40: 0.5})
    result = _score({"a": a, "b": b})
    # thresholds: 0.95 -> -1 -1 -0.11; 0.9 -> 1 - 1 - 0.11; 0.5 -> 1 + 1 - 0.11 (best)
    assert result.threshold == 0.5 and result.raw == pytest.approx(1.89)
    assert result.score == pytest.approx(100 * (1.89 + 2) / 4)
    # per-file thresholds would give 100 for both; NAB's single threshold does not
    assert _score({"b": b}).raw == pytest.approx(0.89)


def test_ties_share_the_threshold() -> None:
    # a window hit and a false positive with the same score cannot be separated
    result = _score({"a": _file({40: 1.0, 80: 1.0})})
    weights, _ = row_weights(100, [(40, 49)], PROFILES["standard"])
    assert result.raw == pytest.approx(1.0 + weights[80])


def test_missing_scores_are_never_detections() -> None:
    f = _file({40: 1.0})
    scores = np.asarray(f.scores, dtype=float).copy()
    scores[:40] = np.nan
    result = _score({"a": NABFile(f.times, scores, f.windows)})
    assert result.score == pytest.approx(100.0)


def test_nab_scores_gives_the_three_profiles() -> None:
    results = nab_scores({"a": _file({40: 1.0})}, probation_fraction=0.0)
    assert set(results) == set(PROFILES)
    assert all(r.score == pytest.approx(100.0) for r in results.values())


@pytest.mark.parametrize(
    ("files", "pattern"),
    [
        ({}, "no file to score"),
        ({"a": NABFile(np.arange(5), np.zeros(4), [])}, "same length"),
        ({"a": NABFile(np.arange(5)[::-1], np.zeros(5), [])}, "increasing order"),
        ({"a": NABFile(np.arange(5), np.zeros(5), [(10, 12)])}, r"windows\[0\].*no row"),
        ({"a": NABFile(np.arange(9), np.zeros(9), [(1, 4), (3, 6)])}, "overlaps"),
    ],
    ids=["empty", "lengths", "order", "window-outside", "overlap"],
)
def test_bad_input(files, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        nab_score(files)
    with pytest.raises(ValueError, match="profile must be one of"):
        nab_score({"a": _file({})}, "lenient")


def test_chapter_exercise_ts5_is_the_hand_computation() -> None:
    from anomaly_tutorial.exercises import check

    tp = (2 / (1 + math.exp(-1.5)) - 1) / (2 / (1 + math.exp(-5)) - 1)  # row 47: y = -0.3
    fp = 0.11 * (2 / (1 + math.exp(5 * 21 / 9)) - 1)  # row 70: 21 rows after, W - 1 = 9
    assert check("ts-5", tp + fp, quiet=True)
    assert not check("ts-5", tp, quiet=True)
