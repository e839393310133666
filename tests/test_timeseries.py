"""Tests of the metric time-series detectors (anomaly_tutorial.timeseries), LSTM excluded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from anomaly_tutorial.data.splits import BookSplit
from anomaly_tutorial.timeseries import (
    MIN_SCALE_ABSOLUTE,
    MIN_SCALE_RELATIVE,
    CenteredRollingZScoreDetector,
    CUSUMDetector,
    EWMADetector,
    GlobalZScoreDetector,
    IQRDetector,
    RobustZScoreDetector,
    RollingZScoreDetector,
    SeasonalProfileDetector,
    WindowedGaussianDetector,
    alert_runs,
    as_series_frame,
    causal_rolling_stats,
    centered_rolling_stats,
    controlled_experiment,
    cusum_statistics,
    evaluate_detector,
    evaluate_per_service,
    evaluate_series_alerts,
    event_metrics,
    ewma,
    floor_scale,
    incidents_by_type,
    inject_anomalies,
    make_seasonal_series,
    robust_location_scale,
    season_bucket,
    segments_to_labels,
    service_split,
)

CAUSAL_DETECTORS = [
    GlobalZScoreDetector(),
    RobustZScoreDetector(),
    IQRDetector(),
    RollingZScoreDetector(window=24),
    WindowedGaussianDetector(window=288),
    SeasonalProfileDetector(season="hour_of_day"),
    EWMADetector(lam=0.2, season="hour_of_day"),
    CUSUMDetector(season="hour_of_day"),
]
ALL_DETECTORS = [*CAUSAL_DETECTORS, CenteredRollingZScoreDetector(window=24)]


def _ids(detectors: list) -> list[str]:
    return [type(d).__name__ for d in detectors]


@pytest.fixture(scope="module")
def seasonal() -> pd.Series:
    # one week of 5-minute points; no weekend effect, so that a 5-day training stretch is
    # representative of the rest of the week
    return make_seasonal_series(2016, weekend_factor=1.0, seed=3)


# --- input validation --------------------------------------------------------------------------


def test_input_accepts_datetime_and_ms_index() -> None:
    s = make_seasonal_series(50, seed=0)
    ms = pd.Series(s.to_numpy(), index=s.index.as_unit("ms").asi8)
    a, b = as_series_frame(s), as_series_frame(ms)
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.values, b.values)
    naive = s.tz_localize(None)
    np.testing.assert_array_equal(as_series_frame(naive).times, a.times)


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda s: s.to_numpy(), TypeError, "pandas Series or DataFrame"),
        (lambda s: s.iloc[:0], ValueError, "empty"),
        (
            lambda s: s.where(np.arange(len(s)) != 7, np.inf),
            ValueError,
            r"'value': 1 values are infinite",
        ),
        (lambda s: s.where(np.arange(len(s)) < 0), ValueError, "every value is missing"),
        (lambda s: s.iloc[::-1], ValueError, "goes backwards.*prepare_series"),
        (lambda s: pd.concat([s.iloc[:5], s.iloc[4:]]), ValueError, "repeats.*prepare_series"),
        (
            lambda s: pd.Series(s.to_numpy(), index=s.index.as_unit("s").asi8),
            ValueError,
            "looks like epoch seconds; expected epoch milliseconds",
        ),
        (
            lambda s: pd.Series(s.to_numpy(), index=s.index.as_unit("ns").asi8),
            ValueError,
            "expected unit.*micro- or nanoseconds",
        ),
        (
            lambda s: pd.Series(
                s.to_numpy(),
                index=pd.Index(
                    pd.array([*range(0, 60_000 * 48, 60_000), None, None], dtype="Int64")
                ),
            ),
            ValueError,
            r"2 missing timestamps <NA> \(positions 48, 49\)",
        ),
        (lambda s: s * 1e305, ValueError, "exceed 1e\\+150 in magnitude.*rescale"),
        (
            lambda s: s.reset_index(drop=True).set_axis([str(i) for i in range(len(s))]),
            TypeError,
            "DatetimeIndex or integer",
        ),
        (lambda s: s.to_frame().assign(host="a"), TypeError, "column 'host'"),
    ],
    ids=[
        "ndarray",
        "empty",
        "inf",
        "all-missing",
        "backwards",
        "duplicate",
        "epoch-seconds",
        "epoch-nanoseconds",
        "nullable-index-with-NA",
        "near-1e307",
        "string-index",
        "text-column",
    ],
)
def test_input_errors(make, error, pattern) -> None:
    s = make_seasonal_series(50, seed=0)
    with pytest.raises(error, match=pattern):
        GlobalZScoreDetector().fit(make(s))


def test_training_too_short_for_window(seasonal: pd.Series) -> None:
    with pytest.raises(ValueError, match=r"20 points.*window=24"):
        RollingZScoreDetector(window=24).fit(seasonal.iloc[:20])


def test_bad_parameters_raise_at_fit_not_init(seasonal: pd.Series) -> None:
    det = RollingZScoreDetector(window=1)  # no validation in __init__
    with pytest.raises(ValueError, match="window must be an integer >= 2"):
        det.fit(seasonal)
    with pytest.raises(ValueError, match="season must be one of"):
        SeasonalProfileDetector(season="minute").fit(seasonal)
    with pytest.raises(ValueError, match="lam must be in"):
        EWMADetector(lam=1.5).fit(seasonal)
    with pytest.raises(ValueError, match="train_quantile"):
        IQRDetector(threshold=None, train_quantile=1.2).fit(seasonal)


FLAT_DETECTORS = [
    GlobalZScoreDetector(),
    RobustZScoreDetector(),
    IQRDetector(),
    RollingZScoreDetector(window=12),
    WindowedGaussianDetector(window=12, min_periods=5),
    EWMADetector(),
    CUSUMDetector(),
]


@pytest.mark.parametrize("det", FLAT_DETECTORS, ids=_ids(FLAT_DETECTORS))
@pytest.mark.parametrize("level", [0.0, 250.0])
def test_flat_training_stretch_gives_a_usable_detector(det, level: float) -> None:
    # an error count that stays 0 (or a gauge stuck at 250) for the whole training stretch
    index = np.arange(80) * 60_000
    train = pd.Series(np.full(40, level), index=index[:40], name="errors")
    det = clone(det).fit(train)
    assert np.isfinite(det.threshold_)
    test = pd.Series(np.full(40, level), index=index[40:], name="errors")
    assert det.predict(test).sum() == 0  # the flat value stays normal
    test.iloc[20] = level + max(1.0, 0.05 * level)  # one unit (or 5 %) above the flat level
    scores = det.score_samples(test)
    assert np.all(np.isfinite(scores))
    assert int(np.argmax(scores)) == 20 and det.predict(test)[20] == 1


def test_floor_scale_is_the_documented_floor() -> None:
    assert floor_scale(0.0, 0.0) == MIN_SCALE_ABSOLUTE
    assert floor_scale(0.0, -500.0) == pytest.approx(500.0 * MIN_SCALE_RELATIVE)
    assert floor_scale(2.0, 500.0) == 2.0


def test_uncovered_season_bucket_raises(seasonal: pd.Series) -> None:
    det = SeasonalProfileDetector(season="hour_of_week").fit(seasonal.iloc[:500])
    with pytest.raises(ValueError, match="did not cover"):
        det.score_samples(seasonal.iloc[1000:1100])


def test_unfitted_and_column_mismatch(seasonal: pd.Series) -> None:
    with pytest.raises(AttributeError, match="not fitted"):
        GlobalZScoreDetector().score_samples(seasonal)
    frame = pd.DataFrame({"cpu": seasonal, "mem": seasonal * 2})
    det = GlobalZScoreDetector().fit(frame)
    with pytest.raises(ValueError, match="differ from the columns seen in fit"):
        det.score_samples(frame.rename(columns={"mem": "memory"}))


# --- API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("det", ALL_DETECTORS, ids=_ids(ALL_DETECTORS))
def test_api(det, seasonal: pd.Series) -> None:
    train, test = seasonal.iloc[:1400], seasonal.iloc[1400:]
    fitted = clone(det).fit(train)
    assert fitted.get_params() == det.get_params()
    scores = fitted.score_samples(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all()
    pred = fitted.predict(test)
    assert pred.dtype == np.int64 and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (scores > fitted.threshold_).astype(int))
    feats = fitted.score_features(test)
    assert list(feats.columns) == ["value"] and feats.index.equals(test.index)


@pytest.mark.parametrize("det", ALL_DETECTORS, ids=_ids(ALL_DETECTORS))
def test_threshold_from_training_quantile(det, seasonal: pd.Series) -> None:
    train = seasonal.iloc[:1400]
    fitted = clone(det).set_params(threshold=None, train_quantile=0.95).fit(train)
    assert fitted.threshold_ == pytest.approx(np.quantile(fitted.score_samples(train), 0.95))
    assert fitted.predict(train).mean() == pytest.approx(0.05, abs=0.01)


def test_multivariate_score_is_max_over_metrics(seasonal: pd.Series) -> None:
    frame = pd.DataFrame({"cpu": seasonal, "latency": seasonal.iloc[::-1].to_numpy() * 3})
    det = RobustZScoreDetector().fit(frame.iloc[:1000])
    feats = det.score_features(frame.iloc[1000:])
    single = RobustZScoreDetector().fit(frame["latency"].iloc[:1000])
    np.testing.assert_allclose(feats["latency"], single.score_samples(frame["latency"].iloc[1000:]))
    np.testing.assert_allclose(det.score_samples(frame.iloc[1000:]), feats.max(axis=1))


def test_robust_scale_fallback_when_mad_is_zero() -> None:
    values = np.array([0.0] * 8 + [1.0, 5.0])
    median, scale = robust_location_scale(values)
    assert median == 0.0 and scale == pytest.approx(1.2533 * 0.6)


def test_iqr_score_matches_tukey_fences() -> None:
    x = np.arange(1.0, 101.0)
    s = pd.Series(x, index=np.arange(100) * 1000)
    det = IQRDetector().fit(s)
    q1, q3 = np.quantile(x, [0.25, 0.75])
    test = pd.Series([q3 + 1.5 * (q3 - q1) + 0.01, q1 - 1.49 * (q3 - q1)], index=[10**6, 10**6 + 1])
    np.testing.assert_array_equal(det.predict(test), [1, 0])


def test_season_bucket_monday_origin() -> None:
    t = pd.DatetimeIndex(["2024-01-01 00:30", "2024-01-07 23:59", "2024-01-03 05:00"], tz="UTC")
    ms = t.as_unit("ms").asi8
    np.testing.assert_array_equal(season_bucket(ms, "hour_of_week"), [0, 167, 2 * 24 + 5])
    np.testing.assert_array_equal(season_bucket(ms, "hour_of_day"), [0, 23, 5])


# --- causality ---------------------------------------------------------------------------------


def test_causal_rolling_stats_ignore_the_future() -> None:
    x = np.random.default_rng(0).normal(size=300)
    y = x.copy()
    y[200:] += np.random.default_rng(1).normal(5, 3, size=100)
    for stat_a, stat_b in zip(
        causal_rolling_stats(x, 20), causal_rolling_stats(y, 20), strict=True
    ):
        np.testing.assert_array_equal(stat_a[:201], stat_b[:201])  # t=200 uses x[180:200]
        assert not np.allclose(stat_a[201:], stat_b[201:])
    mean, std = causal_rolling_stats(x, 20)
    assert mean[50] == pytest.approx(x[30:50].mean()) and std[50] == pytest.approx(
        x[30:50].std(ddof=1)
    )


def test_centered_rolling_stats_look_ahead() -> None:
    x = np.random.default_rng(0).normal(size=300)
    y = x.copy()
    y[200:] += 5.0
    mean_x, std_x = centered_rolling_stats(x, 20)
    mean_y, _ = centered_rolling_stats(y, 20)
    assert not np.allclose(mean_x[190:200], mean_y[190:200])  # the past changed: not causal
    np.testing.assert_array_equal(mean_x[:180], mean_y[:180])
    neighbours = np.r_[x[40:50], x[51:61]]
    assert mean_x[50] == pytest.approx(neighbours.mean())
    assert std_x[50] == pytest.approx(neighbours.std(ddof=1))


def _perturb_future(series: pd.Series, cut: int) -> pd.Series:
    values = series.to_numpy().copy()
    values[cut:] += np.random.default_rng(7).normal(40, 10, size=values.size - cut)
    return pd.Series(values, index=series.index, name=series.name)


@pytest.mark.parametrize("det", CAUSAL_DETECTORS, ids=_ids(CAUSAL_DETECTORS))
def test_causal_detectors_past_scores_unchanged(det, seasonal: pd.Series) -> None:
    fitted = clone(det).fit(seasonal.iloc[:1400])
    test = seasonal.iloc[1400:]
    changed = _perturb_future(test, 300)
    a, b = fitted.score_samples(test), fitted.score_samples(changed)
    np.testing.assert_array_equal(a[:300], b[:300])
    assert not np.allclose(a[300:], b[300:])


def test_centered_detector_fails_the_causality_check(seasonal: pd.Series) -> None:
    fitted = CenteredRollingZScoreDetector(window=24).fit(seasonal.iloc[:1400])
    test = seasonal.iloc[1400:]
    a = fitted.score_samples(test)
    b = fitted.score_samples(_perturb_future(test, 300))
    assert not np.allclose(a[:300], b[:300])
    np.testing.assert_array_equal(a[:288], b[:288])  # only the last window // 2 points see it


@pytest.mark.parametrize("det", CAUSAL_DETECTORS, ids=_ids(CAUSAL_DETECTORS))
def test_stretch_after_training_continues_from_history(det, seasonal: pd.Series) -> None:
    """Scoring the test stretch alone equals scoring train+test and keeping the test part."""
    fitted = clone(det).fit(seasonal.iloc[:1400])
    alone = fitted.score_samples(seasonal.iloc[1400:])
    whole = fitted.score_samples(seasonal)[1400:]
    if isinstance(det, CUSUMDetector):  # CUSUM history is capped at `warmup` points
        whole = (
            clone(det)
            .set_params(warmup=1400)
            .fit(seasonal.iloc[:1400])
            .score_samples(seasonal)[1400:]
        )
        fitted.set_params(warmup=1400)
        fitted = fitted.fit(seasonal.iloc[:1400])
        alone = fitted.score_samples(seasonal.iloc[1400:])
    np.testing.assert_allclose(alone, whole, rtol=1e-9, atol=1e-6)


# --- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("det", ALL_DETECTORS, ids=_ids(ALL_DETECTORS))
def test_every_detector_finds_an_obvious_spike(det, seasonal: pd.Series) -> None:
    test = seasonal.iloc[1400:].copy()
    test.iloc[300] += 100.0  # level 100, daily amplitude 20, noise sd 3
    fitted = clone(det).fit(seasonal.iloc[:1400])
    scores = fitted.score_samples(test)
    assert scores[300] == scores.max()  # CUSUM may tie: its statistic is capped
    assert scores[300] > np.quantile(scores, 0.95)
    assert fitted.predict(test)[300] == 1


@pytest.mark.parametrize(
    "det",
    [CUSUMDetector(k=0.5, threshold=5.0), EWMADetector(lam=0.1, threshold=3.0)],
    ids=["CUSUM", "EWMA"],
)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_level_shift_detected_with_bounded_delay(det, sign: float) -> None:
    rng = np.random.default_rng(11)
    x = 50.0 + rng.normal(0, 2.0, size=1600)
    x[1300:] += sign * 2 * 2.0  # a 2-sigma shift, too small for a point-wise 3-sigma rule
    s = pd.Series(x, index=pd.date_range("2024-01-01", periods=1600, freq="1min"))
    fitted = clone(det).fit(s.iloc[:1000])
    pred = fitted.predict(s.iloc[1000:])
    assert pred[:300].mean() <= 0.02  # in control: (almost) no false alarms before the shift
    delay = int(np.argmax(pred[300:]))
    assert pred[300 + delay] == 1 and delay <= 12
    assert pred[300:].mean() > 0.8  # and the shift keeps being flagged
    point_wise = GlobalZScoreDetector().fit(s.iloc[:1000]).predict(s.iloc[1300:])
    assert point_wise.mean() < 0.3


def test_ewma_and_cusum_recursions() -> None:
    z = np.array([0.0, 2.0, 2.0, -3.0, 0.0])
    np.testing.assert_allclose(ewma(z, 0.5), [0.0, 1.0, 1.5, -0.75, -0.375])
    upper, lower = cusum_statistics(z, k=0.5)
    np.testing.assert_allclose(upper, [0.0, 1.5, 3.0, 0.0, 0.0])
    np.testing.assert_allclose(lower, [0.0, 0.0, 0.0, 2.5, 2.0])
    capped, _ = cusum_statistics(np.full(10, 3.0), k=0.5, cap=4.0)
    assert capped.max() == 4.0


def test_seasonal_beats_global_on_seasonal_series(seasonal: pd.Series) -> None:
    """A dip at the daily peak stays inside the global range but not inside its hour's profile."""
    test = seasonal.iloc[1400:].copy()
    peak = int(np.argmax(test.to_numpy()[:288]))
    test.iloc[peak] -= 25.0
    season = SeasonalProfileDetector().fit(seasonal.iloc[:1400])
    glob = GlobalZScoreDetector().fit(seasonal.iloc[:1400])
    assert season.predict(test)[peak] == 1 and glob.predict(test)[peak] == 0


# --- synthetic experiments and evaluation ------------------------------------------------------


def test_inject_anomalies_ground_truth(seasonal: pd.Series) -> None:
    mod, seg = inject_anomalies(seasonal, n_per_kind=2, start_fraction=0.5, seed=4)
    again, seg2 = inject_anomalies(seasonal, n_per_kind=2, start_fraction=0.5, seed=4)
    pd.testing.assert_series_equal(mod, again)
    pd.testing.assert_frame_equal(seg, seg2)
    other, _ = inject_anomalies(seasonal, n_per_kind=2, start_fraction=0.5, seed=5)
    assert not mod.equals(other)
    assert sorted(seg["kind"]) == ["dip", "dip", "level_shift", "level_shift", "spike", "spike"]
    assert (seg["start_pos"] >= len(seasonal) // 2).all()
    assert (seg["start_pos"].iloc[1:].to_numpy() > seg["end_pos"].iloc[:-1].to_numpy()).all()
    labels = segments_to_labels(mod.index, seg)
    changed = ~np.isclose(mod.to_numpy(), seasonal.to_numpy())
    np.testing.assert_array_equal(changed, labels["is_anomaly"].to_numpy() == 1)
    assert labels["is_anomaly"].sum() == (seg["end_pos"] - seg["start_pos"] + 1).sum()
    assert set(labels["incident_id"].dropna()) == set(seg["segment_id"])
    assert (seg.loc[seg["kind"] == "spike", "offset"] > 0).all()
    assert (seg.loc[seg["kind"] == "dip", "offset"] < 0).all()


def test_inject_anomalies_errors(seasonal: pd.Series) -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        inject_anomalies(seasonal, kinds=("spike", "trend"))
    with pytest.raises(ValueError, match="not enough room"):
        inject_anomalies(seasonal.iloc[:200], n_per_kind=5, shift_length=48)
    with pytest.raises(TypeError, match="pandas Series"):
        inject_anomalies(seasonal.to_frame())


def test_alert_runs() -> None:
    alerts = pd.Series([0, 1, 1, 0, 0, 1, 0, 1], index=np.arange(8) * 1000, dtype=bool)
    runs = alert_runs(alerts)
    assert runs[["start_pos", "end_pos", "length"]].to_numpy().tolist() == [
        [1, 2, 2],
        [5, 5, 1],
        [7, 7, 1],
    ]


def test_evaluate_series_alerts_crafted() -> None:
    index = pd.date_range("2024-01-01", periods=10, freq="1min", tz="UTC")
    seg = pd.DataFrame(
        {
            "segment_id": ["a", "b"],
            "kind": ["level_shift", "spike"],
            "start_pos": [2, 8],
            "end_pos": [5, 8],
        }
    )
    labels = segments_to_labels(index, seg)
    alerts = pd.Series([0, 0, 0, 0, 1, 1, 1, 0, 0, 1], index=index, dtype=bool)
    scores = pd.Series(np.arange(10.0), index=index)
    res = evaluate_series_alerts(scores, alerts, labels)
    assert res["incident_recall"] == 0.5 and res["n_detected"] == 1
    assert res["median_delay_s"] == 120.0  # incident a starts at 00:02, first alert 00:04
    assert res["precision"] == pytest.approx(2 / 4) and res["recall"] == pytest.approx(2 / 5)
    assert res["n_alert_runs"] == 2 and res["n_false_alarm_runs"] == 1


def test_evaluate_detector_on_injected_series(seasonal: pd.Series) -> None:
    mod, seg = inject_anomalies(seasonal, n_per_kind=2, start_fraction=0.5, seed=4)
    labels = segments_to_labels(mod.index, seg)
    det = SeasonalProfileDetector().fit(mod.iloc[:1008])
    res = evaluate_detector(det, mod.iloc[1008:], labels.iloc[1008:])
    assert res["n_incidents"] == 6
    assert res["roc_auc"] > 0.6 and res["incident_recall"] >= 0.5


# --- generator metrics per service --------------------------------------------------------------


def _long_metrics() -> pd.DataFrame:
    """Two services, three days of minutes; 'api' has an obvious incident on the last day."""
    rng = np.random.default_rng(5)
    times = np.arange(3 * 1440, dtype=np.int64) * 60_000 + 1_700_000_000_000
    frames = []
    for service in ("api", "db"):
        cpu = (
            30
            + 10 * np.sin(2 * np.pi * np.arange(times.size) / 1440)
            + rng.normal(0, 1, times.size)
        )
        frame = pd.DataFrame(
            {
                "time": times,
                "service": service,
                "cpu_pct": cpu,
                "is_anomaly": False,
                "anomaly_type": "normal",
                "incident_id": pd.array([None] * times.size, dtype="string"),
            }
        )
        if service == "api":
            sl = slice(3 * 1440 - 300, 3 * 1440 - 280)
            frame.loc[frame.index[sl], "cpu_pct"] += 60
            frame.loc[frame.index[sl], "is_anomaly"] = True
            frame.loc[frame.index[sl], "anomaly_type"] = "cpu_storm"
            frame.loc[frame.index[sl], "incident_id"] = "inc-1"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=0)


def _three_day_split(metrics: pd.DataFrame) -> BookSplit:
    start = int(metrics["time"].min())
    day = 86_400_000
    return BookSplit(start, start + day, start + 3 * day // 2, start + 3 * day)


def test_service_split() -> None:
    metrics = _long_metrics()
    periods = _three_day_split(metrics)
    split = service_split(metrics, "api", columns=("cpu_pct",), split=periods)
    assert (
        isinstance(split.train.index, pd.DatetimeIndex)
        and split.train.index.is_monotonic_increasing
    )
    assert len(split.train) == 1440 and len(split.validation) == 720
    assert len(split.train) + len(split.validation) + len(split.test) == 3 * 1440
    assert split.train.index.max() < split.validation.index.min()
    assert split.validation.index.max() < split.test.index.min()
    assert split.after_train.index.equals(split.validation.index.append(split.test.index))
    assert (
        split.test_labels["is_anomaly"].sum() == 20 and split.train_labels["is_anomaly"].sum() == 0
    )
    other = service_split(metrics, "db", columns=("cpu_pct",), split=periods)
    assert other.test.index[0] == split.test.index[0]  # same cut for every service
    with pytest.raises(ValueError, match="service 'web' not in metrics"):
        service_split(metrics, "web", columns=("cpu_pct",), split=periods)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['memory_mb'\]"):
        service_split(metrics, "api", columns=("cpu_pct", "memory_mb"), split=periods)


def test_service_split_defaults_to_the_book_split() -> None:
    from anomaly_tutorial.data import book_split, default_dataset

    metrics = default_dataset().metrics
    split = service_split(metrics, sorted(metrics["service"].unique())[0])
    periods = book_split()
    first = split.test.index[0].value // 1_000_000
    assert periods.validation_end_ms <= first < periods.validation_end_ms + 60_000
    assert split.train.index[-1].value // 1_000_000 < periods.train_end_ms


def test_evaluate_per_service_and_event_metrics() -> None:
    metrics = _long_metrics()
    table = evaluate_per_service(
        lambda: SeasonalProfileDetector(),
        metrics,
        columns=("cpu_pct",),
        split=_three_day_split(metrics),
    )
    assert list(table.index) == ["api", "db"]
    assert table.loc["api", "n_incidents"] == 1 and table.loc["api", "n_detected"] == 1
    assert table.loc["api", "median_delay_s"] == 0.0
    assert table.loc["db", "n_incidents"] == 0 and np.isnan(table.loc["db", "incident_recall"])
    assert table["test_days"].to_numpy() == pytest.approx([1.5, 1.5])


def test_incidents_by_type_and_event_metrics_without_incidents() -> None:
    index = pd.date_range("2024-01-01", periods=12, freq="1min", tz="UTC")
    seg = pd.DataFrame(
        {
            "segment_id": ["a", "b", "c"],
            "kind": ["spike", "spike", "level_shift"],
            "start_pos": [1, 4, 7],
            "end_pos": [1, 4, 10],
        }
    )
    labels = segments_to_labels(index, seg)
    alerts = pd.Series(np.isin(np.arange(12), [1, 9]), index=index)
    table = incidents_by_type(alerts, labels)
    assert table.loc["spike", "incident_recall"] == 0.5
    assert table.loc["level_shift", "median_delay_s"] == 120.0
    quiet = event_metrics(alerts, segments_to_labels(index, seg.iloc[:0]))
    assert quiet["n_incidents"] == 0 and quiet["n_false_alarm_runs"] == 2


# --- exercise checkers of the chapter ----------------------------------------------------------


def test_chapter_exercises_ts1_ts2() -> None:
    from anomaly_tutorial.exercises import check

    exp = controlled_experiment()
    det = CenteredRollingZScoreDetector(window=24).fit(exp.train)
    moved = exp.test.copy()
    moved.iloc[300:] += 50.0
    changed = int((det.score_samples(exp.test)[:300] != det.score_samples(moved)[:300]).sum())
    assert changed == 12
    assert check("ts-1", changed, quiet=True) and not check("ts-1", 11, quiet=True)
    assert not check("ts-2", "ten", quiet=True)


# --- missing points, online adaptation ---------------------------------------------------------


@pytest.mark.parametrize("det", CAUSAL_DETECTORS, ids=_ids(CAUSAL_DETECTORS))
def test_gaps_are_skipped(det, seasonal: pd.Series) -> None:
    gappy = seasonal.copy()
    gappy.iloc[50:60] = np.nan  # a gap in training
    gappy.iloc[1600:1620] = np.nan  # and one in the scored stretch
    det = clone(det).fit(gappy.iloc[:1440])
    scores = det.score_samples(gappy.iloc[1440:])
    gap = np.arange(160, 180)
    assert np.isnan(scores[gap]).all()
    assert np.isfinite(np.delete(scores, gap)).all()
    assert det.predict(gappy.iloc[1440:])[gap].sum() == 0
    with_spike = gappy.iloc[1440:].copy()
    with_spike.iloc[300] += 100.0  # as in test_every_detector_finds_an_obvious_spike
    assert det.predict(with_spike)[300] == 1  # still detects after the gap


def test_windowed_gaussian_follows_level_drift(seasonal: pd.Series) -> None:
    x = seasonal.copy()
    x.iloc[1200:] += 60.0  # a permanent level change of 20 noise units
    wg = WindowedGaussianDetector(window=48, min_periods=30).fit(x.iloc[:1000])
    fixed = GlobalZScoreDetector().fit(x.iloc[:1000])
    later = slice(1200 + 2 * 48, None)
    assert wg.predict(x.iloc[1000:])[200] == 1  # the change itself is flagged
    assert wg.predict(x)[later].mean() < 0.05  # then the new level is normal
    assert fixed.predict(x)[later].mean() > 0.5  # a detector fitted once keeps alerting


def test_windowed_gaussian_score_is_the_tail_probability(seasonal: pd.Series) -> None:
    from scipy.stats import norm

    from anomaly_tutorial.timeseries import causal_rolling_stats, gaussian_surprise

    det = WindowedGaussianDetector(window=100, min_periods=100, threshold=None).fit(
        seasonal.iloc[:800]
    )
    scores = det.score_samples(seasonal.iloc[:800])
    mean, std = causal_rolling_stats(seasonal.to_numpy()[:800], 100, 100)
    z = np.abs(seasonal.to_numpy()[500] - mean[500]) / std[500]
    assert 10 ** -scores[500] == pytest.approx(2 * norm.sf(z), rel=1e-9)
    assert gaussian_surprise(np.array([3.0]))[0] == pytest.approx(-np.log10(2 * norm.sf(3.0)))
    assert np.isfinite(gaussian_surprise(np.array([40.0]))[0])  # no saturation far in the tail
