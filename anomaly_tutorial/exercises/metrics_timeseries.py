"""Exercises of the chapter "Metrics as time series" (``book/metrics_timeseries.md``).

Expected answers are computed here with the package's own functions on the chapter's
deterministic data, never typed in.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from anomaly_tutorial.exercises.registry import close_to, equals_text, exercise

#: Exercise ts-1: window of the centred rolling z-score and first perturbed test position.
CENTRED_WINDOW = 24
PERTURB_FROM = 300

#: Exercise ts-2: training-quantile threshold of the CUSUM chart.
CUSUM_TRAIN_QUANTILE = 0.995

#: Exercise ts-3: the service and the anomaly type (its incident in the test stretch).
TS3_SERVICE = "search"
TS3_ANOMALY_TYPE = "cache_miss_storm"


@cache
def _changed_past_scores() -> int:
    from anomaly_tutorial.timeseries import CenteredRollingZScoreDetector, controlled_experiment

    exp = controlled_experiment()
    det = CenteredRollingZScoreDetector(window=CENTRED_WINDOW).fit(exp.train)
    perturbed = exp.test.copy()
    perturbed.iloc[PERTURB_FROM:] += 50.0
    a, b = det.score_samples(exp.test), det.score_samples(perturbed)
    return int((a[:PERTURB_FROM] != b[:PERTURB_FROM]).sum())


@cache
def _cusum_level_shift_delay_min() -> float:
    from anomaly_tutorial.timeseries import CUSUMDetector, controlled_experiment, incidents_by_type

    exp = controlled_experiment()
    det = CUSUMDetector(
        season="hour_of_week", threshold=None, train_quantile=CUSUM_TRAIN_QUANTILE
    ).fit(exp.train)
    alerts = pd.Series(det.predict(exp.test) == 1, index=exp.test.index)
    table = incidents_by_type(alerts, exp.test_labels)
    return float(table.loc["level_shift", "median_delay_s"]) / 60.0


@cache
def _driving_metric() -> str:
    from anomaly_tutorial.data import default_dataset
    from anomaly_tutorial.timeseries import RobustZScoreDetector, service_split

    split = service_split(default_dataset().metrics, TS3_SERVICE)
    det = RobustZScoreDetector().fit(split.train)
    features = det.score_features(split.test)
    mask = (split.test_labels["anomaly_type"] == TS3_ANOMALY_TYPE).to_numpy(
        dtype=bool, na_value=False
    )
    if not mask.any():
        raise RuntimeError(f"no {TS3_ANOMALY_TYPE} points in the {TS3_SERVICE} test stretch")
    during = features[mask]
    return str(during.median().idxmax())


@cache
def _classical_cusum_false_alarm_runs() -> int:
    from anomaly_tutorial.timeseries import CUSUMDetector, controlled_experiment, evaluate_detector

    exp = controlled_experiment()
    det = CUSUMDetector(season="hour_of_week").fit(exp.train)
    return int(evaluate_detector(det, exp.test, exp.test_labels)["n_false_alarm_runs"])


@exercise(
    "ts-1",
    hint=(
        "Score exp.test and a copy whose values from position PERTURB_FROM on are shifted, with "
        "CenteredRollingZScoreDetector(window=CENTRED_WINDOW) fitted on exp.train, and count "
        "the positions before PERTURB_FROM whose scores differ."
    ),
    why="A centred window of width w looks w // 2 points ahead, so that many past scores move.",
)
def _ts1(answer: object) -> bool:
    return close_to(answer, _changed_past_scores(), atol=0.0)


@exercise(
    "ts-2",
    hint=(
        "Fit CUSUMDetector(season='hour_of_week', threshold=None, train_quantile=0.995) on "
        "exp.train, build alerts on exp.test, use incidents_by_type and convert seconds to "
        "minutes."
    ),
    why="CUSUM accumulates the small shift until it crosses the threshold: a delay of minutes.",
)
def _ts2(answer: object) -> bool:
    return close_to(answer, _cusum_level_shift_delay_min(), rtol=1e-6, atol=1e-6)


@exercise(
    "ts-3",
    hint=(
        "Fit RobustZScoreDetector on the search service's training stretch, take score_features "
        "on the test stretch, keep the rows labelled cache_miss_storm and compare "
        "the per-metric medians."
    ),
    why="score_features tells which metric drives an alert: the first thing an on-call asks.",
)
def _ts3(answer: object) -> bool:
    return equals_text(answer, _driving_metric())


@exercise(
    "ts-4",
    hint=(
        "Fit CUSUMDetector(season='hour_of_week') (default threshold 5) on exp.train and count "
        "the runs of consecutive alerts on exp.test that touch no injected anomaly "
        "(evaluate_detector reports them as n_false_alarm_runs)."
    ),
    why="The textbook decision interval assumes independent noise; metric noise is not.",
)
def _ts4(answer: object) -> bool:
    return close_to(answer, _classical_cusum_false_alarm_runs(), atol=0.0)


#: Exercise ts-5: a 100-row file, one window (rows 40-49), detections at rows 47 and 70.
TS5_ROWS = 100
TS5_WINDOW = (40, 49)
TS5_DETECTIONS = (47, 70)


@cache
def _hand_nab_raw_score() -> float:
    from anomaly_tutorial.timeseries.nab import PROFILES, row_weights

    weights, _ = row_weights(TS5_ROWS, [TS5_WINDOW], PROFILES["standard"])
    return float(sum(weights[row] for row in TS5_DETECTIONS))


@exercise(
    "ts-5",
    hint=(
        "Add the worth of the window's detection (scaled sigmoid of -(R - i + 1) / W, divided "
        "by the sigmoid at -1) and the cost of the false positive (0.11 x the scaled sigmoid of "
        "|R - i| / (W - 1)); the false positive's term is negative."
    ),
    why="A late detection earns little, and a false positive far from a window costs almost A_FP.",
)
def _ts5(answer: object) -> bool:
    return close_to(answer, _hand_nab_raw_score(), rtol=1e-6, atol=1e-6)


__all__ = [
    "CENTRED_WINDOW",
    "CUSUM_TRAIN_QUANTILE",
    "PERTURB_FROM",
    "TS3_ANOMALY_TYPE",
    "TS3_SERVICE",
    "TS5_DETECTIONS",
    "TS5_ROWS",
    "TS5_WINDOW",
]
