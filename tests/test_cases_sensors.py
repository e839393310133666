"""Tests of the industrial-sensors case study: the plant generator and its detection pipeline."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import timeseries as ts
from anomaly_tutorial.cases import sensors
from anomaly_tutorial.cases import sensors_features as sf

SMALL = sensors.PlantConfig(
    days=4, n_stuck=1, n_drift=1, n_spikes=3, n_bearing=1, n_cooling=1, maintenance_stops=(1.5,)
)


@cache
def _default() -> sensors.PlantData:
    return sensors.generate_plant()


@cache
def _small() -> sensors.PlantData:
    return sensors.generate_plant(SMALL)


# --- generator ---------------------------------------------------------------------------------


def test_generator_is_deterministic_per_seed() -> None:
    a, b = sensors.generate_plant(SMALL), sensors.generate_plant(SMALL)
    pd.testing.assert_frame_equal(a.readings, b.readings)
    pd.testing.assert_frame_equal(a.faults, b.faults)
    other = sensors.generate_plant(sensors.PlantConfig(**{**SMALL.__dict__, "seed": 1}))
    assert not np.allclose(other.readings["motor_temp_c"], a.readings["motor_temp_c"])


def test_generator_leaves_the_global_rng_alone() -> None:
    np.random.seed(123)  # noqa: NPY002 (the legacy global state is what must stay untouched)
    expected = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    sensors.generate_plant(SMALL)
    assert np.random.random() == expected  # noqa: NPY002


@pytest.mark.parametrize(
    "counts",
    [
        dict(n_stuck=2, n_drift=1, n_spikes=5, n_bearing=1, n_cooling=2),
        dict(n_stuck=0, n_drift=3, n_spikes=0, n_bearing=2, n_cooling=0),
    ],
)
def test_configured_fault_counts(counts: dict[str, int]) -> None:
    config = sensors.PlantConfig(days=6, maintenance_stops=(2.5,), **counts)
    data = sensors.generate_plant(config)
    found = data.faults["kind"].value_counts()
    for kind, key in [
        ("stuck", "n_stuck"),
        ("drift", "n_drift"),
        ("spike", "n_spikes"),
        ("bearing", "n_bearing"),
        ("cooling", "n_cooling"),
    ]:
        assert int(found.get(kind, 0)) == counts[key]


def test_ground_truth_per_reading_and_per_fault_agree() -> None:
    data = _default()
    r, faults = data.readings, data.faults
    assert (r["is_anomaly"] == r["fault_id"].notna()).all()
    per_fault = r.groupby("fault_id").agg(
        start=("time", "min"), end=("time", "max"), n=("time", "size"), kind=("fault_kind", "first")
    )
    assert (per_fault["start"] == faults.loc[per_fault.index, "start"]).all()
    assert (per_fault["end"] == faults.loc[per_fault.index, "end"]).all()
    assert (per_fault["n"] == faults.loc[per_fault.index, "n_readings"]).all()
    assert (faults.loc[faults["kind"] == "spike", "n_readings"] == 1).all()
    failures = faults["failure_time"].notna()
    assert set(faults.loc[failures, "kind"]) == {"bearing", "cooling"}
    assert set(faults.loc[~failures, "kind"]) == {"stuck", "drift", "spike"}
    inside = (faults.loc[failures, "failure_time"] > faults.loc[failures, "start"]) & (
        faults.loc[failures, "failure_time"] < faults.loc[failures, "end"]
    )
    assert inside.all()
    assert faults.loc[faults["kind"].isin(["stuck", "drift", "spike"]), "sensor"].notna().all()


def test_every_period_holds_faults_of_several_kinds() -> None:
    data = _default()
    period = sensors.plant_split().period_of(data.faults["start"].to_numpy())
    kinds = data.faults.groupby(period)["kind"].nunique()
    assert kinds["train"] == 5 and kinds["test"] == 5 and kinds["validation"] >= 2


def test_no_constant_columns_except_production_while_stopped() -> None:
    r = _default().readings
    for column in sensors.SENSORS:
        assert r[column].nunique() > 100, column
    stopped = r["regime"] == "stopped"
    for column in sensors.SENSORS:
        constant = r.loc[stopped, column].nunique() == 1
        assert constant == (column == "production_rate_u_h"), column
    assert (r.loc[stopped, "production_rate_u_h"] == 0).all()
    # the counter reads 0 only when the line is not running
    zero = r["production_rate_u_h"] == 0
    assert (r.loc[zero, sensors.SETPOINT] < 1.5).all()


def test_realistic_ranges() -> None:
    r = _default().readings
    normal = r[~r["is_anomaly"] & (r["regime"].isin(["day", "evening", "night"]))]
    assert normal["motor_temp_c"].between(25, 90).all()
    assert normal["pressure_bar"].between(1, 8).all()
    assert (normal["flow_m3_h"] > 10).all()
    for sensor, limit in sensors.SAFETY_LIMITS.items():
        assert normal[sensor].max() < limit, sensor


def test_load_drives_power_flow_and_temperature() -> None:
    r = _default().readings
    normal = r[~r["is_anomaly"]]
    corr = normal[list(sensors.SENSORS)].corrwith(normal[sensors.SETPOINT])
    assert corr["power_kw"] > 0.95 and corr["flow_m3_h"] > 0.95
    assert corr["production_rate_u_h"] > 0.95 and corr["pressure_bar"] > 0.9
    assert corr["motor_temp_c"] > 0.8 and corr["coolant_temp_c"] > 0.5
    # temperatures lag the load: they correlate better with the load 30 minutes earlier
    lagged = r[sensors.SETPOINT].shift(15)
    ok = lagged.notna() & ~r["is_anomaly"]
    assert r.loc[ok, "motor_temp_c"].corr(lagged[ok]) > corr["motor_temp_c"]
    # the ambient cycle is independent of the load
    assert abs(corr["ambient_temp_c"]) < 0.5


def test_pump_vibration_rises_before_flow_drops() -> None:
    data = _default()
    r = data.readings.set_index("time")
    hour = 3_600_000
    for _, fault in data.faults[data.faults["kind"] == "bearing"].iterrows():
        failure = int(fault["failure_time"])
        early = r.loc[fault["start"] : fault["start"] + hour]
        late = r.loc[failure - hour : failure - 1]
        after = r.loc[failure : fault["end"]]
        expected_late = late[sensors.SETPOINT] / 100 * 90  # flow the load asks for
        assert late["pump_vibration_mm_s"].mean() > early["pump_vibration_mm_s"].mean() + 1.5
        assert (late["flow_m3_h"] - expected_late).abs().mean() < 5  # flow still normal
        ratio = after["flow_m3_h"] / (after[sensors.SETPOINT] / 100 * 90)
        assert ratio.median() < 0.5  # then the flow drops


def test_cooling_failure_moves_several_sensors_together_then_trips() -> None:
    data = _default()
    r = data.readings.set_index("time")
    residuals = sf.LoadResiduals().fit(data.readings).transform(data.readings)
    for _, fault in data.faults[data.faults["kind"] == "cooling"].iterrows():
        failure = int(fault["failure_time"])
        last = residuals.loc[failure - 1_800_000 : failure - 1]
        for sensor in ("motor_temp_c", "coolant_temp_c", "power_kw"):
            assert last[sensor].mean() > 3 * residuals[sensor].std() * 0.5, sensor
        assert (r.loc[failure : fault["end"], sensors.SETPOINT] == 0).all()


def test_regimes_are_normal_and_present() -> None:
    r = _default().readings
    assert set(r["regime"]) == {"day", "evening", "night", "shut-down", "stopped", "start-up"}
    planned = r["regime"].isin(["shut-down", "stopped"])
    assert not r.loc[planned, "is_anomaly"].any()
    # start-ups after a trip belong to the trip's fault only until the fault ends; those of
    # planned stops are normal
    startup = r[r["regime"] == "start-up"]
    assert startup["is_anomaly"].mean() < 0.05
    # shifts change the load, by design
    means = r[~r["is_anomaly"]].groupby("regime")[sensors.SETPOINT].mean()
    assert means["day"] > means["evening"] > means["night"] > means["stopped"]


def test_residuals_make_regimes_unremarkable() -> None:
    r = _default().readings
    residuals = sf.LoadResiduals().fit(r).transform(r)
    normal = ~r["is_anomaly"].to_numpy()
    raw = r[normal].groupby("regime")["motor_temp_c"].mean()
    res = residuals[normal].groupby(r.loc[normal, "regime"].to_numpy())["motor_temp_c"].mean()
    assert raw.max() - raw.min() > 20
    assert res.max() - res.min() < 5


# --- features are causal -----------------------------------------------------------------------


def test_window_features_never_look_ahead() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    changed = frame.copy()
    changed.iloc[120:] += 100.0
    before = sf.window_features(frame, 15)
    after = sf.window_features(changed, 15)
    pd.testing.assert_frame_equal(before.iloc[:120], after.iloc[:120])
    assert not np.allclose(before.iloc[120], after.iloc[120])


def test_window_features_by_hand() -> None:
    frame = pd.DataFrame({"x": [1.0, 3.0, 3.0, 3.0, 7.0]})
    out = sf.window_features(frame, 3)
    assert out["x:mean"].tolist() == pytest.approx([1, 2, 7 / 3, 3, 13 / 3])
    assert out["x:range"].tolist() == [0, 2, 2, 0, 4]
    assert out["x:std"].iloc[3] == 0.0  # a stuck sensor
    assert out["x:std"].iloc[1] == pytest.approx(1.0)


def test_load_residuals_never_look_ahead() -> None:
    r = _small().readings
    model = sf.LoadResiduals().fit(r)
    changed = r.copy()
    changed.loc[changed.index[500:], sensors.SETPOINT] = 0.0
    changed.loc[changed.index[500:], "motor_temp_c"] += 30
    pd.testing.assert_frame_equal(
        model.transform(r).iloc[:500], model.transform(changed).iloc[:500]
    )


# --- streaming equals batch --------------------------------------------------------------------


@pytest.mark.parametrize("features", ["residuals", "window"])
def test_monitor_gives_the_batch_scores(features: str) -> None:
    r = _small().readings
    period = sensors.plant_split(SMALL).period_of(r["time"].to_numpy())
    pipeline = sf.PlantPipeline(features=features, window=10, detector=None).fit(
        r[period == "train"]
    )
    stretch = r[period == "test"].iloc[:150]
    batch = pipeline.score_samples(stretch)
    monitor = pipeline.monitor()
    streamed = np.array([monitor.update(row) for row in stretch.to_dict("records")])
    np.testing.assert_allclose(streamed, batch, rtol=1e-12, atol=1e-12)
    assert monitor.n_seen == len(stretch)


def test_monitor_refuses_bad_readings() -> None:
    r = _small().readings
    pipeline = sf.PlantPipeline(features="residuals").fit(r.iloc[:1000])
    monitor = pipeline.monitor()
    rows = r.iloc[1000:1003].to_dict("records")
    monitor.update(rows[0])
    missing = dict(rows[1])
    del missing["flow_m3_h"]
    with pytest.raises(ValueError, match=r"reading 1: field 'flow_m3_h' is missing"):
        monitor.update(missing)
    with pytest.raises(ValueError, match=r"reading 1: field 'power_kw' is 'n/a', not a number"):
        monitor.update({**rows[1], "power_kw": "n/a"})
    with pytest.raises(ValueError, match=r"reading 1: field 'pressure_bar' is nan"):
        monitor.update({**rows[1], "pressure_bar": float("nan")})
    with pytest.raises(ValueError, match=r"reading 1 \(time \d+\) comes 240 s after"):
        monitor.update(rows[2])


# --- bad input ---------------------------------------------------------------------------------


def test_bad_readings_are_refused_with_record_and_field() -> None:
    r = _small().readings
    model = sf.LoadResiduals().fit(r)
    broken = r.copy()
    broken.loc[broken.index[17], "coolant_temp_c"] = np.nan
    with pytest.raises(ValueError, match=r"reading 17 \(time \d+\): field 'coolant_temp_c' is nan"):
        model.transform(broken)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['power_kw'\]"):
        model.transform(r.drop(columns="power_kw"))
    with pytest.raises(ValueError, match=r"reading 4 \(time \d+\) comes 240 s after"):
        model.transform(r.drop(index=r.index[4]))
    with pytest.raises(ValueError, match=r"reading 3 .* is not after the previous reading"):
        model.transform(r.iloc[[0, 1, 2, 2, 3]])
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        model.transform(r.to_numpy())


def test_bad_config_and_parameters() -> None:
    with pytest.raises(ValueError, match=r"PlantConfig\.n_bearing: must be an integer >= 0"):
        sensors.PlantConfig(n_bearing=-1)
    with pytest.raises(ValueError, match=r"PlantConfig\.interval_s"):
        sensors.PlantConfig(interval_s=3600)
    with pytest.raises(ValueError, match="maintenance_stops"):
        sensors.PlantConfig(days=4, maintenance_stops=(5.0,))
    with pytest.raises(ValueError, match="bearing faults"):
        sensors.generate_plant(sensors.PlantConfig(days=3, n_bearing=12, maintenance_stops=()))
    with pytest.raises(ValueError, match="quantile: must be in"):
        sf.AlarmLimits(0.2).fit(_small().readings)
    with pytest.raises(ValueError, match="features: must be 'window' or 'residuals'"):
        sf.PlantPipeline(features="raw").fit(_small().readings)
    with pytest.raises(ValueError, match="point-wise series detector"):
        sf.PlantPipeline(features="residuals", detector=ts.EWMADetector()).fit(_small().readings)
    with pytest.raises(ValueError, match="window: must be an integer >= 2"):
        sf.window_features(pd.DataFrame({"x": [1.0, 2.0]}), 1)


# --- baseline, severity, early warning ---------------------------------------------------------


def test_alarm_limits_score_sign() -> None:
    r = _small().readings
    limits = sf.AlarmLimits(1.0).fit(r)
    assert (limits.score_samples(r) <= 0).all()  # the training maximum is inside its own range
    hot = r.iloc[:3].copy()
    hot["motor_temp_c"] = limits.high_["motor_temp_c"] + 0.5 * (
        limits.high_["motor_temp_c"] - limits.low_["motor_temp_c"]
    )
    assert limits.score_samples(hot) == pytest.approx([0.5, 0.5, 0.5])
    assert limits.predict(hot).tolist() == [1, 1, 1]


def test_limit_proximity_and_severity_by_hand() -> None:
    frame = pd.DataFrame(
        {
            "time": [0, 1, 2],
            "motor_temp_c": [70.0, 82.5, 95.0],
            "coolant_temp_c": [30.0, 30.0, 30.0],
            "pressure_bar": [5.0] * 3,
            "pump_vibration_mm_s": [2.0] * 3,
            "power_kw": [150.0] * 3,
        }
    )
    ceilings = {
        "motor_temp_c": 70.0,
        "coolant_temp_c": 45.0,
        "pressure_bar": 6.5,
        "pump_vibration_mm_s": 3.5,
        "power_kw": 200.0,
    }
    proximity = sf.limit_proximity(frame, ceilings)
    assert proximity["proximity"].tolist() == pytest.approx([0.0, 50.0, 100.0])
    assert proximity["nearest_limit"].iloc[2] == "motor_temp_c"
    tiers = sf.severity(proximity)["severity"].astype(str).tolist()
    assert tiers == ["low", "high", "critical"]  # 0, 50 + 10, 100 + 10 (the motor is tier 1)
    with pytest.raises(ValueError, match="not below the safety limit"):
        sf.limit_proximity(frame, {**ceilings, "motor_temp_c": 99.0})


def test_early_warning_by_hand() -> None:
    minute = 60_000
    faults = pd.DataFrame(
        {
            "kind": ["bearing", "cooling", "stuck"],
            "start": [0, 1000 * minute, 0],
            "end": [200 * minute, 1100 * minute, 10 * minute],
            "failure_time": pd.array([150 * minute, 1050 * minute, None], dtype="Int64"),
        },
        index=pd.Index(["a", "b", "c"], name="fault_id"),
    )
    alerts = [30 * minute, 100 * minute, 1060 * minute, 5000 * minute]
    out = sf.early_warning(alerts, faults)
    assert list(out.index) == ["a", "b"]
    assert out.loc["a", "lead_time_min"] == 120.0 and bool(out.loc["a", "warned"])
    assert np.isnan(out.loc["b", "lead_time_min"]) and not out.loc["b", "warned"]
    assert bool(out.loc["b", "caught"])  # an alert after the trip: caught, not warned


def test_score_table_feeds_the_threshold_policies() -> None:
    from anomaly_tutorial.thresholds import SCORE_COLUMNS, AlertBudget, evaluate_decision

    r = _small().readings
    period = sensors.plant_split(SMALL).period_of(r["time"].to_numpy())
    table = sf.score_table(r, sf.AlarmLimits().fit(r).score_samples(r), period)
    assert list(table.columns) == list(SCORE_COLUMNS)
    validation, test = table[table["period"] == "validation"], table[table["period"] == "test"]
    policy = AlertBudget(10, "day").fit(validation["score"], times=validation["time"])
    result = evaluate_decision(policy, test, period_days=sensors.plant_split(SMALL).days["test"])
    assert result["n_incidents"] == test["incident_id"].nunique()
