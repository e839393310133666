"""Exercises of the chapter "Thresholds and alert budgets" (``book/thresholds.md``).

Expected answers are computed here with the package's own functions on the chapter's
deterministic score tables (:func:`anomaly_tutorial.thresholds.book_scores`), never typed in.
"""

from __future__ import annotations

from functools import cache

from anomaly_tutorial.exercises.registry import close_to, exercise

#: Exercise thresholds-1: the calibration scores and the new score.
CALIBRATION_SCORES = (0.2, 0.5, 0.9, 1.4, 2.0, 3.1, 0.7, 1.1, 0.4)
NEW_SCORE = 1.4
#: Exercise thresholds-2: BH level.
BH_LEVEL = 0.1
#: Exercise thresholds-3: the shorter gap, in seconds.
SHORT_GAP_S = 600.0

DAY_MS = 86_400_000


def _event_periods():  # type: ignore[no-untyped-def]
    from anomaly_tutorial.thresholds import book_scores

    table = book_scores("events")
    return table[table["period"] == "validation"], table[table["period"] == "test"]


@cache
def _p_value() -> float:
    from anomaly_tutorial.thresholds import ConformalCalibrator

    return float(ConformalCalibrator().fit(CALIBRATION_SCORES).p_values([NEW_SCORE])[0])


@cache
def _bh_alerts_day_by_day() -> int:
    from anomaly_tutorial.thresholds import BenjaminiHochberg

    validation, test = _event_periods()
    policy = BenjaminiHochberg(BH_LEVEL).fit(validation["score"], validation["is_anomaly"])
    days = test["time"] // DAY_MS
    return int(sum(policy.predict(day["score"]).sum() for _, day in test.groupby(days)))


@cache
def _incidents_with_short_gap() -> int:
    from anomaly_tutorial.thresholds import BestFBeta, group_alerts

    validation, test = _event_periods()
    policy = BestFBeta(1.0).fit(validation["score"], validation["is_anomaly"])
    alerts = test[policy.predict(test["score"])]
    grouped = group_alerts(alerts, key="entity", max_gap_s=SHORT_GAP_S, dedup_on=["id"])
    return len(grouped.incidents)


@exercise(
    "thresholds-1",
    hint="Count the calibration scores at least as large as the new one (ties count), add 1, "
    "and divide by the number of calibration scores plus 1.",
    why="The +1 counts the new event itself: the smallest possible p-value is 1 / (n + 1).",
)
def _check_thresholds_1(answer: object) -> bool:
    return close_to(answer, _p_value(), atol=1e-9)


@exercise(
    "thresholds-2",
    hint="Group the test events by time // 86_400_000 (the UTC day) and call the fitted "
    "policy's predict on each day's scores; add up the alerts.",
)
def _check_thresholds_2(answer: object) -> bool:
    return close_to(answer, _bh_alerts_day_by_day(), rtol=0.0, atol=0.0)


@exercise(
    "thresholds-3",
    hint="th.group_alerts(alerts, key='entity', max_gap_s=600, dedup_on=['id']) and count the "
    "rows of its incidents table.",
    why="A shorter gap splits bursts with pauses into several incidents: more pages.",
)
def _check_thresholds_3(answer: object) -> bool:
    return close_to(answer, _incidents_with_short_gap(), rtol=0.0, atol=0.0)


#: Exercise thresholds-4: the hourly budget.
HOURLY_BUDGET = 2


@cache
def _hourly_budget_alerts_per_day() -> float:
    from anomaly_tutorial.data import book_split
    from anomaly_tutorial.thresholds import AlertBudget

    validation, test = _event_periods()
    policy = AlertBudget(HOURLY_BUDGET, "hour").fit(validation["score"], times=validation["time"])
    return float(policy.predict(test["score"]).sum() / book_split().days["test"])


@exercise(
    "thresholds-4",
    hint="th.AlertBudget(2, 'hour').fit(scores, times=times) on the validation events, then "
    "count its test alerts and divide by days['test'].",
    why="A per-hour cap is set by the busiest validation hour, which is often inside an attack.",
)
def _check_thresholds_4(answer: object) -> bool:
    return close_to(answer, _hourly_budget_alerts_per_day(), rtol=1e-9)
