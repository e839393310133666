"""Tests of anomaly_tutorial.monitoring.policy on a small generated month: thresholds chosen
before production, the day-by-day loop, delays and false alarms per scenario."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_tutorial import monitoring as mon
from anomaly_tutorial.data.drift import DriftConfig, generate_drift_dataset
from anomaly_tutorial.serving import DetectionPipeline

SMALL = DriftConfig(
    days=18,
    events_per_day=700,
    slow_deploy_day=11,
    client_release_day=12,
    new_service_day=13,
    holiday_day=15,
    broken_feature_day=16,
)


@pytest.fixture(scope="module")
def month():
    return generate_drift_dataset(SMALL)


@pytest.fixture(scope="module")
def run(month):
    policy = mon.RetrainingPolicy(alert_budget=20, window_days=4, shadow_days=1)
    return mon.run_production(
        month.events,
        month.split,
        lambda: DetectionPipeline(alerts_per_day=20),
        policy,
        mmd_samples=120,
        mmd_permutations=50,
    )


def test_thresholds_hold_on_every_pre_production_day(month):
    thresholds = mon.calibrate_thresholds(month.events, month.split, margin=1.0)
    # margin 1: each threshold is the largest drift-free value (or its floor), so recomputing
    # a pre-production day can never cross it
    view = mon.event_view(month.events)
    t = view["time"].to_numpy()
    split = month.split
    train = view[t < split.train_end_ms]
    monitor = mon.FeatureDriftMonitor().fit(train)
    for start in range(split.train_end_ms, split.validation_end_ms, 86_400_000):
        report = monitor.report(view[(t >= start) & (t < start + 86_400_000)])
        for r in report.itertuples():
            assert r.psi <= thresholds[f"psi:{r.column}"] + 1e-12
            assert r.missing_change <= thresholds[f"missing_change:{r.column}"] + 1e-12
    assert thresholds["volume_low"] < 1 < thresholds["volume_high"]
    with pytest.raises(ValueError, match="margin"):
        mon.calibrate_thresholds(month.events, month.split, margin=0.5)


def test_one_row_per_production_day_and_event(run, month):
    days = list(range(11, SMALL.days + 1))
    assert run.daily["day"].tolist() == days
    assert set(run.daily["action"]) <= set(mon.ACTIONS)
    production = month.events[month.events["time"] >= month.split.validation_end_ms]
    assert len(run.scores) == len(production)
    assert set(run.scores["event_id"]) == set(production["event_id"])
    assert (run.scores["alert"] == (run.scores["p_value"] <= run.alert_level)).all()
    alerts = run.scores.groupby((run.scores["time"] - month.split.start_ms) // 86_400_000 + 1)[
        "alert"
    ].sum()
    assert alerts.reindex(days, fill_value=0).tolist() == run.daily["alerts"].tolist()
    assert (run.daily["false_alarms"] + run.daily["true_alerts"] == run.daily["alerts"]).all()


def test_scenarios_are_flagged_where_the_data_changed(run, month):
    delays = mon.flag_delays(run, month.drifts).set_index("scenario")
    assert delays.loc["new_service", "delay_days"] == 0
    assert delays.loc["broken_feature", "delay_days"] == 0
    assert delays.loc["holiday", "delay_days"] == 0
    assert "missing_change:traffic.bytes_out" in delays.loc["broken_feature", "flagged_by"]
    broken = run.daily["day"] >= SMALL.broken_feature_day
    assert (run.daily.loc[broken, "action"] == "page").all()
    assert not run.daily.loc[~broken, "breakage"].any()


def test_false_alarms_by_drift_counts_affected_normal_events(run, month):
    costs = mon.false_alarms_by_drift(run, month.events, month.affected, month.drifts)
    assert list(costs["scenario"]) == list(month.drifts["scenario"])
    assert (costs["days_before"] >= 1).all()
    events = month.events.set_index("event_id")
    scores = run.scores.set_index("event_id")
    hit = month.affected.set_index(month.events["event_id"])["drift-03"].loc[scores.index]
    normal = ~events.loc[scores.index, "is_anomaly"].to_numpy(bool)
    total = int((scores["alert"].to_numpy() & normal & hit.to_numpy()).sum())
    row = costs.set_index("scenario").loc["new_service"]
    counted = row["false_alarms_per_day_before"] * row["days_before"] + np.nan_to_num(
        row["false_alarms_per_day_after"] * row["days_after"]
    )
    assert counted == pytest.approx(total)


def test_compare_models_at_one_alert_level(run, month):
    split = month.split
    table = mon.compare_models(
        {"first": run.models[0]},
        month.events,
        start_ms=split.validation_end_ms,
        end_ms=split.validation_end_ms + 86_400_000,
        alert_level=run.alert_level,
    )
    assert table.loc["first", "alerts_per_day"] == run.daily["alerts"].iloc[0]
    with pytest.raises(ValueError, match="no events"):
        mon.compare_models(
            {"first": run.models[0]}, month.events, start_ms=0, end_ms=1, alert_level=0.01
        )


def test_run_is_deterministic_on_a_tiny_month():
    tiny = DriftConfig(
        days=14,
        events_per_day=300,
        slow_deploy_day=11,
        client_release_day=12,
        new_service_day=12,
        holiday_day=12,
        broken_feature_day=13,
    )
    data = generate_drift_dataset(tiny)

    def once():
        return mon.run_production(
            data.events,
            data.split,
            lambda: DetectionPipeline(alerts_per_day=10),
            mon.RetrainingPolicy(alert_budget=10, window_days=3, shadow_days=1),
            mmd_samples=60,
            mmd_permutations=20,
            seed=4,
        )

    first, second = once(), once()
    assert first.daily.equals(second.daily)
    assert first.scores.equals(second.scores)
    assert first.retrains.equals(second.retrains)


def test_event_view_and_never_flagged_scenarios(run, month):
    view = mon.event_view(month.events)
    assert list(view.columns) == ["time", *mon.EVENT_COLUMNS]
    path = view["url_template"].dropna()
    assert not path.str.contains(r"/\d+(?:/|$)").any()
    assert "/api/orders/{id}" in set(path)
    delays = mon.flag_delays(run, month.drifts)
    never = delays["first_flagged_day"].isna()
    assert (delays.loc[never, "delay_days"].isna()).all()
    assert (delays.loc[never, "flagged_by"] == "").all()
    with pytest.raises(ValueError, match="'time' is missing"):
        mon.event_view(month.events.drop(columns="time"))
