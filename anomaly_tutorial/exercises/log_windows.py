"""Exercises of the chapter "Log windows" (``book/log_windows.md``).

Expected answers are computed here with the package's own functions on the chapter's
deterministic data, never typed in. Heavy imports happen inside the functions so that loading
the exercise registry stays fast.
"""

from __future__ import annotations

from functools import cache

from anomaly_tutorial.exercises.registry import close_to, exercise

#: The chapter's window length; its periods are the book's split (``data.book_split``).
WINDOW_SIZE = "5min"

#: Exercise logs-1: fraction-based window label.
MIN_ANOMALOUS_FRACTION = 0.5

#: Exercise logs-2: the lines to mine (printed in the chapter) and the similarity threshold.
MINER_LINES: tuple[str, ...] = (
    "session opened for user alice by sshd",
    "session opened for user bob by cron",
    "session closed for user alice",
    "session closed for user bob",
    "disk sda1 usage 91 percent",
    "disk sdb1 usage 45 percent",
)
MINER_SIM_THRESHOLD = 0.8

#: Exercise logs-3: the DBSCAN grid tuned on the count features alone.
DBSCAN_GRID = {"detector__eps": [0.5, 1.0, 2.0], "detector__min_samples": [10]}


@cache
def _windows_and_periods():  # type: ignore[no-untyped-def]
    from anomaly_tutorial.data import book_split, default_dataset
    from anomaly_tutorial.logs import assign_periods, make_windows

    events = default_dataset().events
    windows = make_windows(events, size=WINDOW_SIZE)
    split = book_split()
    cuts = [split.train_end_ms, split.validation_end_ms]
    return events, windows, assign_periods(windows, cuts)


@cache
def _n_test_windows_mostly_anomalous() -> int:
    from anomaly_tutorial.logs import window_labels

    events, windows, period = _windows_and_periods()
    labels = window_labels(events, windows)
    test = (period == "test").to_numpy()
    return int((labels["anomalous_fraction"].to_numpy()[test] >= MIN_ANOMALOUS_FRACTION).sum())


@cache
def _n_templates_at_threshold() -> int:
    from anomaly_tutorial.logs import TemplateMiner

    miner = TemplateMiner(sim_threshold=MINER_SIM_THRESHOLD).fit(list(MINER_LINES))
    return len(miner.templates_)


@cache
def _dbscan_counts_only_test_f1() -> float:
    from anomaly_tutorial.logs import (
        evaluate_windows,
        make_window_detector,
        tune_on_validation,
        window_counts,
        window_labels,
    )

    events, windows, period = _windows_and_periods()
    counts = window_counts(events, windows)
    counts = counts.loc[:, (counts[period == "train"] != 0).any()]
    y = window_labels(events, windows)["is_anomaly"]
    train, val, test = (period == name for name in ("train", "validation", "test"))
    result = tune_on_validation(
        make_window_detector("dbscan"), DBSCAN_GRID, counts[train], counts[val], y[val]
    )
    return evaluate_windows(result.best_estimator, counts[test], y[test])["f1"]


@exercise(
    "logs-1",
    hint="Use window_labels(events, windows)['anomalous_fraction'] and keep the windows whose "
    "period is 'test'; count those with a fraction of at least 0.5.",
    why="Most anomalous windows hold one or two anomalous events among many normal ones, so a "
    "majority rule keeps only the bursts.",
)
def _check_logs_1(answer: object) -> bool:
    return close_to(answer, _n_test_windows_mostly_anomalous(), rtol=0.0, atol=0.0)


@exercise(
    "logs-2",
    hint="A template's wildcard positions do not count as equal tokens, and a line joins a "
    "template only when the share of equal tokens reaches the threshold.",
    why="At 0.8 the 'opened' lines (5 of 7 tokens equal) and the disk lines (3 of 5, the masked "
    "number does not count) stay apart; the 'closed' lines (4 of 5) still merge.",
)
def _check_logs_2(answer: object) -> bool:
    return close_to(answer, _n_templates_at_threshold(), rtol=0.0, atol=0.0)


@exercise(
    "logs-3",
    hint="Build counts with window_counts, keep the columns with a non-zero training count, "
    "tune make_window_detector('dbscan') on the validation period with the given grid, then "
    "evaluate_windows on the test period.",
)
def _check_logs_3(answer: object) -> bool:
    return close_to(answer, _dbscan_counts_only_test_f1(), atol=0.005)
