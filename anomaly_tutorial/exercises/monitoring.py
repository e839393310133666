"""Exercises of the chapter "Monitoring a detector in production" (``book/monitoring.md``).

Expected answers are computed here with the package's own functions (or scipy) on the small
inputs the chapter gives and on the deterministic month of :func:`anomaly_tutorial.data.drift.
drift_dataset`, never typed in.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from anomaly_tutorial.exercises.registry import close_to, exercise

#: Exercise monitoring-1: reference and current counts of a categorical field.
REFERENCE_COUNTS = {"browser": 500, "mobile": 300, "python-requests": 200}
CURRENT_COUNTS = {"browser": 300, "mobile": 300, "python-requests": 300, "grpc": 100}

#: Exercise monitoring-2: the service and the day (counted from 1) of the segmented check.
SEGMENT_SERVICE = "orders"
SEGMENT_DAY = 17

#: Exercise monitoring-3: repetitions, sample size and level of the no-shift experiment.
N_REPETITIONS = 200
SAMPLE_SIZE = 1_000
LEVEL = 0.05


def expand(counts: dict[str, int]) -> np.ndarray:
    """One value per counted item: ``{"a": 2, "b": 1}`` -> ``["a", "a", "b"]``."""
    return np.array([k for k, n in counts.items() for _ in range(n)], dtype=object)


@cache
def _psi_by_hand() -> float:
    from anomaly_tutorial.monitoring import psi

    return psi(expand(REFERENCE_COUNTS), expand(CURRENT_COUNTS), kind="categorical")


@cache
def _segment_psi() -> float:
    from anomaly_tutorial.data.drift import drift_dataset
    from anomaly_tutorial.monitoring import psi

    month = drift_dataset()
    events = month.events
    service = events["dst_endpoint.svc_name"].eq(SEGMENT_SERVICE).fillna(False).to_numpy(bool)
    duration = events["duration"].to_numpy(dtype=float, na_value=np.nan)
    t = events["time"].to_numpy()
    day = month.config.day_start_ms(SEGMENT_DAY)
    train = service & (t < month.split.train_end_ms) & np.isfinite(duration)
    current = service & (t >= day) & (t < day + 86_400_000) & np.isfinite(duration)
    return psi(duration[train], duration[current])


@cache
def _rejections() -> int:
    from scipy import stats

    count = 0
    for seed in range(N_REPETITIONS):
        rng = np.random.default_rng(seed)
        a, b = rng.lognormal(size=SAMPLE_SIZE), rng.lognormal(size=SAMPLE_SIZE)
        count += int(stats.ks_2samp(a, b).pvalue < LEVEL)
    return count


@exercise(
    "monitoring-1",
    hint="Proportions per bin, with a bin for the value the reference never had; floor every "
    "proportion at PSI_EPSILON, then sum (q - p) * ln(q / p). mon.psi(..., kind='categorical') "
    "on the expanded values must agree with your hand computation.",
    why="The unseen value contributes most: its reference share is the floor epsilon.",
)
def _check_monitoring_1(answer: object) -> bool:
    return close_to(answer, _psi_by_hand(), rtol=1e-6)


@exercise(
    "monitoring-2",
    hint="Select HTTP events of the orders service with a duration, in the training period and "
    "on day 17 (config.day_start_ms(17) to one day later), and call mon.psi on the two arrays "
    "of durations.",
    why="Segmented by service, the deploy that the whole stream hid is a large shift.",
)
def _check_monitoring_2(answer: object) -> bool:
    return close_to(answer, _segment_psi(), rtol=1e-6)


@exercise(
    "monitoring-3",
    hint="For seed in range(200): rng = np.random.default_rng(seed); draw a = rng.lognormal("
    "size=1000), then b the same way; count the pairs whose ks_2samp p-value is below 0.05.",
    why="Without any shift a test at level 5 % rejects 5 % of the time on average; the count "
    "itself is binomial (about 10 in 200, give or take 3).",
)
def _check_monitoring_3(answer: object) -> bool:
    return close_to(answer, _rejections(), rtol=0.0, atol=0.0)
