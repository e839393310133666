"""Exercises of the chapter "Case study: industrial sensors" (``book/industrial_sensors.md``).

Expected answers are computed here with the package's own functions on the chapter's
deterministic plant (:func:`anomaly_tutorial.cases.sensors.generate_plant`), never typed in.
"""

from __future__ import annotations

from functools import cache

from anomaly_tutorial.exercises.registry import close_to, exercise

#: Exercise sensors-2: the alarm-limit quantile.
LIMIT_QUANTILE = 0.99
#: Exercise sensors-3: the tighter budget (alerts per day).
TIGHT_BUDGET = 20


@cache
def _plant():  # type: ignore[no-untyped-def]
    from anomaly_tutorial.cases.sensors import generate_plant, plant_split

    data = generate_plant()
    period = plant_split().period_of(data.readings["time"].to_numpy())
    return data, period


@cache
def _stopped_test_readings() -> int:
    data, period = _plant()
    test = data.readings[period == "test"]
    return int((test["production_rate_u_h"] == 0).sum())


@cache
def _limit_alarms_per_day() -> float:
    from anomaly_tutorial.cases.sensors import plant_split
    from anomaly_tutorial.cases.sensors_features import AlarmLimits

    data, period = _plant()
    readings = data.readings
    limits = AlarmLimits(LIMIT_QUANTILE).fit(readings[period == "train"])
    alarms = limits.predict(readings[period == "test"])
    return float(alarms.sum() / plant_split().days["test"])


@cache
def _faults_caught_tight_budget() -> int:
    from anomaly_tutorial.cases.sensors import plant_split
    from anomaly_tutorial.cases.sensors_features import PlantPipeline, score_table
    from anomaly_tutorial.thresholds import AlertBudget, evaluate_decision

    data, period = _plant()
    readings = data.readings
    pipeline = PlantPipeline(features="residuals").fit(readings[period == "train"])
    later = period != "train"
    # one causal pass from the first reading on, as the chapter scores (the load's moving
    # averages carry over from the training days)
    scores = pipeline.score_samples(readings)[later]
    table = score_table(readings[later], scores, period[later])
    validation, test = table[table["period"] == "validation"], table[table["period"] == "test"]
    policy = AlertBudget(TIGHT_BUDGET, "day").fit(validation["score"], times=validation["time"])
    result = evaluate_decision(policy, test, period_days=plant_split().days["test"])
    return int(result["incidents_caught"])


@exercise(
    "sensors-1",
    hint="Select the test readings (plant_split().period_of) and count those whose "
    "production_rate_u_h is exactly 0.",
    why="The counter reads exactly 0 only while the line is stopped: a constant that is "
    "physically right, and a reason not to divide by a column's spread blindly.",
)
def _check_sensors_1(answer: object) -> bool:
    return close_to(answer, _stopped_test_readings(), rtol=0.0, atol=0.0)


@exercise(
    "sensors-2",
    hint="AlarmLimits(0.99).fit(train readings), predict on the test readings, sum and divide "
    "by plant_split().days['test'].",
    why="At the 99th percentile each sensor's own training readings are beyond its limits 2 % "
    "of the time; with eight sensors, normal readings alarm far more often.",
)
def _check_sensors_2(answer: object) -> bool:
    return close_to(answer, _limit_alarms_per_day(), rtol=1e-9)


@exercise(
    "sensors-3",
    hint="Fit AlertBudget(20, 'day') on the validation rows of score_table(...) and read "
    "'incidents_caught' from evaluate_decision on the test rows.",
    why="A smaller budget raises the threshold, so the faults whose scores stay moderate stop "
    "crossing it.",
)
def _check_sensors_3(answer: object) -> bool:
    return close_to(answer, _faults_caught_tight_budget(), rtol=0.0, atol=0.0)
