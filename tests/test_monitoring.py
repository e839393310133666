"""Tests of anomaly_tutorial.monitoring: drift statistics, the MMD test, score drift, alert
precision, against scipy / statsmodels and on samples with known shift and none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from anomaly_tutorial import monitoring as mon
from anomaly_tutorial.monitoring.mmd import _squared_distances

LEVEL = 0.05


def _frame(rng, n, shift=0.0, new_category=0.0):
    category = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    category[rng.random(n) < new_category] = "z"
    return pd.DataFrame(
        {
            "latency": rng.lognormal(mean=shift, size=n),
            "kind": category,
            "segment": np.where(rng.random(n) < 0.5, "http", "auth"),
        }
    )


COLUMNS = {"latency": "numeric", "kind": "categorical"}


# --- PSI ----------------------------------------------------------------------------------


def test_psi_hand_computed_categorical():
    reference = ["x"] * 50 + ["y"] * 50
    current = ["x"] * 80 + ["y"] * 20
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert mon.psi(reference, current, kind="categorical") == pytest.approx(expected)


def test_psi_unseen_value_uses_epsilon():
    value = mon.psi(["x"] * 10, ["x"] * 9 + ["new"], kind="categorical")
    eps = mon.PSI_EPSILON
    expected = (0.9 - 1.0) * np.log(0.9) + (0.1 - eps) * np.log(0.1 / eps)
    assert value == pytest.approx(expected)


def test_psi_is_zero_for_identical_samples_and_unit_free():
    x = np.random.default_rng(0).lognormal(size=5_000)
    assert mon.psi(x, x) == pytest.approx(0.0, abs=1e-12)
    y = np.random.default_rng(1).lognormal(mean=0.3, size=5_000)
    # quantile bins: a monotone change of units leaves the index unchanged
    assert mon.psi(np.log(x), np.log(y)) == pytest.approx(mon.psi(x, y))
    assert mon.psi(1000 * x, 1000 * y) == pytest.approx(mon.psi(x, y))


def test_psi_decides_right_over_seeds():
    no_shift, shift = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        reference = rng.normal(size=2_000)
        no_shift.append(mon.psi(reference, rng.normal(size=2_000)))
        shift.append(mon.psi(reference, rng.normal(0.5, 1.0, size=2_000)))
    assert np.mean(np.array(no_shift) > 0.1) <= 0.05
    assert np.mean(np.array(shift) > 0.1) == 1.0


@pytest.mark.parametrize(
    ("reference", "current", "words"),
    [
        ([], [1.0], "reference: empty"),
        ([1.0, 2.0], [], "current: empty"),
        ([1.0, np.nan], [1.0], "NaN or infinite"),
        ([1.0, 2.0], [np.inf], "current: 1 values are NaN or infinite"),
    ],
)
def test_psi_bad_input(reference, current, words):
    with pytest.raises(ValueError, match=words):
        mon.psi(reference, current)


def test_psi_bad_parameters():
    with pytest.raises(ValueError, match="kind"):
        mon.psi([1.0], [1.0], kind="ordinal")
    with pytest.raises(ValueError, match="n_bins"):
        mon.psi([1.0], [1.0], n_bins=1)


# --- FeatureDriftMonitor ------------------------------------------------------------------


def test_report_matches_scipy():
    rng = np.random.default_rng(3)
    reference, current = _frame(rng, 3_000), _frame(rng, 800, shift=0.2, new_category=0.05)
    monitor = mon.FeatureDriftMonitor(COLUMNS, segment=None).fit(reference)
    report = monitor.report(current).set_index("column")
    ks = stats.ks_2samp(reference["latency"], current["latency"])
    assert report.loc["latency", "ks_statistic"] == pytest.approx(ks.statistic)
    assert report.loc["latency", "ks_p_value"] == pytest.approx(ks.pvalue)
    q1, q3 = np.quantile(reference["latency"], [0.25, 0.75])
    w = stats.wasserstein_distance(reference["latency"], current["latency"]) / (q3 - q1)
    assert report.loc["latency", "wasserstein_iqr"] == pytest.approx(w)
    assert report.loc["latency", "psi"] == pytest.approx(
        mon.psi(reference["latency"], current["latency"])
    )
    ref_counts = reference["kind"].value_counts()
    cur_counts = current["kind"].value_counts()
    unseen = int(cur_counts.get("z", 0))
    table = np.array(
        [
            np.r_[ref_counts.to_numpy(), 0],
            np.r_[cur_counts.reindex(ref_counts.index).to_numpy(), unseen],
        ]
    )
    chi2 = stats.chi2_contingency(table, correction=False)
    assert report.loc["kind", "chi2_statistic"] == pytest.approx(chi2.statistic)
    assert report.loc["kind", "chi2_p_value"] == pytest.approx(chi2.pvalue)
    assert report.loc["kind", "unseen_rate"] == pytest.approx(unseen / len(current))
    assert report.loc["kind", "psi"] == pytest.approx(
        mon.psi(reference["kind"], current["kind"], kind="categorical")
    )


def test_report_ks_level_and_power_over_seeds():
    rejected_null, rejected_shift = 0, 0
    n_seeds = 100
    for seed in range(n_seeds):
        rng = np.random.default_rng(100 + seed)
        reference = _frame(rng, 1_000)
        monitor = mon.FeatureDriftMonitor(COLUMNS, segment=None).fit(reference)
        null = monitor.report(_frame(rng, 500)).set_index("column")
        shifted = monitor.report(_frame(rng, 500, shift=0.3)).set_index("column")
        rejected_null += null.loc["latency", "ks_p_value"] < LEVEL
        rejected_shift += shifted.loc["latency", "ks_p_value"] < LEVEL
    # binomial(100, 0.05): 13 or more rejections has probability below 0.1 %
    assert rejected_null <= 12
    assert rejected_shift >= 95


def test_chi_square_level_over_seeds():
    rejected = 0
    for seed in range(100):
        rng = np.random.default_rng(500 + seed)
        monitor = mon.FeatureDriftMonitor(COLUMNS, segment=None).fit(_frame(rng, 1_000))
        report = monitor.report(_frame(rng, 500)).set_index("column")
        rejected += report.loc["kind", "chi2_p_value"] < LEVEL
    assert rejected <= 12


def test_missing_values_are_drift_not_noise():
    rng = np.random.default_rng(4)
    reference, current = _frame(rng, 2_000), _frame(rng, 1_000)
    broken = current["segment"] == "http"
    current.loc[broken, "latency"] = np.nan
    monitor = mon.FeatureDriftMonitor(COLUMNS).fit(
        reference.rename(columns={"segment": "class_name"})
    )
    report = monitor.report(current.rename(columns={"segment": "class_name"})).set_index("column")
    assert report.loc["latency", "missing_rate"] == pytest.approx(broken.mean())
    assert report.loc["latency", "reference_missing_rate"] == 0.0
    # within the http segment the field went from always present to always missing
    assert report.loc["latency", "missing_change"] == pytest.approx(1.0)
    assert report.loc["latency", "psi"] > 1.0


def test_segment_missing_rate_ignores_class_mix():
    rng = np.random.default_rng(5)
    reference = _frame(rng, 2_000).rename(columns={"segment": "class_name"})
    reference.loc[reference["class_name"] == "auth", "latency"] = np.nan  # field of http only
    current = _frame(rng, 1_000).rename(columns={"segment": "class_name"})
    current["class_name"] = np.where(rng.random(1_000) < 0.9, "http", "auth")  # another mix
    current.loc[current["class_name"] == "auth", "latency"] = np.nan
    report = mon.FeatureDriftMonitor(COLUMNS).fit(reference).report(current).set_index("column")
    overall = abs(
        report.loc["latency", "missing_rate"] - report.loc["latency", "reference_missing_rate"]
    )
    assert overall > 0.3
    assert report.loc["latency", "missing_change"] == pytest.approx(0.0)


def test_monitor_bad_input():
    rng = np.random.default_rng(6)
    reference = _frame(rng, 200)
    monitor = mon.FeatureDriftMonitor(COLUMNS, segment=None).fit(reference)
    with pytest.raises(ValueError, match="current: the window is empty"):
        monitor.report(reference.iloc[:0])
    with pytest.raises(ValueError, match=r"columns \['kind'\] are missing"):
        monitor.report(reference.drop(columns="kind"))
    bad = reference.copy()
    bad.loc[bad.index[3], "latency"] = np.inf
    with pytest.raises(ValueError, match="'latency' holds 1 infinite values"):
        monitor.report(bad)
    with pytest.raises(ValueError, match="kind must be"):
        mon.FeatureDriftMonitor({"latency": "text"}).fit(reference)
    with pytest.raises(ValueError, match="reference: the window is empty"):
        mon.FeatureDriftMonitor(COLUMNS).fit(reference.iloc[:0])
    with pytest.raises(TypeError, match="DataFrame"):
        monitor.report(reference.to_numpy())


def test_drift_by_window_stacks_days_and_refuses_empty_days():
    rng = np.random.default_rng(7)
    frame = _frame(rng, 600).assign(time=np.repeat([0, 86_400_000, 2 * 86_400_000], 200))
    monitor = mon.FeatureDriftMonitor(COLUMNS, segment=None).fit(frame)
    report = mon.drift_by_window(monitor, frame, start_ms=0, end_ms=3 * 86_400_000)
    assert list(report["window_start"].unique()) == [0, 86_400_000, 2 * 86_400_000]
    with pytest.raises(ValueError, match="has no rows"):
        mon.drift_by_window(monitor, frame, start_ms=0, end_ms=4 * 86_400_000)
    sliding = mon.drift_by_window(
        monitor,
        frame,
        start_ms=0,
        end_ms=3 * 86_400_000,
        window_ms=2 * 86_400_000,
        step_ms=86_400_000,
    )
    assert list(sliding["window_start"].unique()) == [0, 86_400_000]
    assert (sliding["n_current"] == 400).all()
    with pytest.raises(ValueError, match="step_ms"):
        mon.drift_by_window(monitor, frame, start_ms=0, end_ms=86_400_000, step_ms=0)


# --- MMD ----------------------------------------------------------------------------------


def test_mmd_statistic_is_the_unbiased_estimate():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(30, 3)), rng.normal(0.5, 1.0, size=(40, 3))
    result = mon.mmd_test(x, y, n_permutations=10, bandwidth=1.3)
    k = lambda a, b: np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * 1.3**2))  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    m, n = len(x), len(y)
    expected = (
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * kxy.mean()
    )
    assert result.statistic == pytest.approx(expected)


def test_median_bandwidth():
    z = np.random.default_rng(9).normal(size=(50, 4))
    d = np.sqrt(_squared_distances(z)[np.triu_indices(50, k=1)])
    assert mon.median_bandwidth(z) == pytest.approx(np.median(d))


def test_mmd_level_and_power_over_seeds():
    null_p, shift_p = [], []
    for seed in range(40):
        rng = np.random.default_rng(1_000 + seed)
        x = rng.normal(size=(150, 5))
        null_p.append(
            mon.mmd_test(x, rng.normal(size=(150, 5)), n_permutations=100, seed=seed).p_value
        )
        y = rng.normal(size=(150, 5)) + np.r_[0.6, np.zeros(4)]
        shift_p.append(mon.mmd_test(x, y, n_permutations=100, seed=seed).p_value)
    # binomial(40, 0.05): 7 or more rejections has probability below 0.5 %
    assert np.sum(np.array(null_p) < LEVEL) <= 6
    assert np.mean(np.array(shift_p) < LEVEL) >= 0.9


def test_mmd_is_deterministic_and_bounded():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(500, 2)), rng.normal(size=(400, 2))
    a = mon.mmd_test(x, y, max_samples=100, n_permutations=50, seed=3)
    b = mon.mmd_test(x, y, max_samples=100, n_permutations=50, seed=3)
    assert a == b
    assert (a.n_reference, a.n_current) == (100, 100)
    assert 1 / 51 <= a.p_value <= 1.0
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checking the legacy global RNG)
    mon.mmd_test(x, y, max_samples=50, n_permutations=5)
    assert (np.random.get_state()[1] == state).all()  # noqa: NPY002 (no global side effect)


def test_mmd_bad_input():
    x = np.zeros((5, 3))
    with pytest.raises(ValueError, match="same columns"):
        mon.mmd_test(x, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        mon.mmd_test(x, np.zeros((1, 3)))
    y = np.zeros((5, 3))
    y[2, 1] = np.nan
    with pytest.raises(ValueError, match="row 2, column 1"):
        mon.mmd_test(x, y)
    with pytest.raises(ValueError, match="n_permutations"):
        mon.mmd_test(x, x, n_permutations=0)


# --- scores and alerts --------------------------------------------------------------------


def test_p_value_uniformity_matches_scipy_and_decides_right():
    rng = np.random.default_rng(11)
    p = rng.uniform(size=2_000)
    result = stats.kstest(p, "uniform")
    assert mon.p_value_uniformity(p) == pytest.approx((result.statistic, result.pvalue))
    rejected = sum(
        mon.p_value_uniformity(np.random.default_rng(s).uniform(size=500))[1] < LEVEL
        for s in range(100)
    )
    assert rejected <= 12
    skewed = rng.uniform(size=500) ** 1.5  # too many small p-values: drift or incidents
    assert mon.p_value_uniformity(skewed)[1] < 1e-6


def test_p_value_uniformity_bad_input():
    with pytest.raises(ValueError, match="empty"):
        mon.p_value_uniformity([])
    with pytest.raises(ValueError, match="position 1"):
        mon.p_value_uniformity([0.2, 1.5])
    with pytest.raises(ValueError, match="NaN"):
        mon.p_value_uniformity([np.nan])


def test_alert_rate_counts_per_window():
    day = 86_400_000
    counts = mon.alert_rate(
        [True, False, True, True], [10, 20, day + 5, day + 6], start_ms=0, end_ms=3 * day
    )
    assert counts.tolist() == [1, 2, 0]
    with pytest.raises(ValueError, match="outside"):
        mon.alert_rate([True], [5 * day], start_ms=0, end_ms=day)
    with pytest.raises(ValueError, match="must match"):
        mon.alert_rate([True, False], [1], start_ms=0, end_ms=day)


@pytest.mark.parametrize("method", ["wilson", "beta"])
def test_alert_precision_matches_statsmodels(method):
    labels = [True] * 17 + [False] * 3
    estimate = mon.alert_precision(labels, method=method)
    low, high = proportion_confint(17, 20, alpha=0.05, method=method)
    assert (estimate.precision, estimate.low, estimate.high) == pytest.approx((0.85, low, high))
    assert (estimate.n_labelled, estimate.n_true) == (20, 17)


def test_alert_precision_bad_input():
    with pytest.raises(ValueError, match="no alert was labelled"):
        mon.alert_precision([])
    with pytest.raises(ValueError, match="position 1 has no label"):
        mon.alert_precision([True, None])
    with pytest.raises(ValueError, match="method"):
        mon.alert_precision([True], method="normal")


def test_review_sample_is_seeded_and_ordered():
    ids = np.arange(100)
    a, b = mon.review_sample(ids, 10, seed=1), mon.review_sample(ids, 10, seed=1)
    assert (a == b).all() and len(a) == 10 and (np.diff(a) > 0).all()
    assert len(mon.review_sample(ids[:5], 10)) == 5


# --- the retraining policy ----------------------------------------------------------------


def _days(*rows):
    names = ("input_drift", "breakage", "over_budget", "too_many_false_alarms")
    return pd.DataFrame([dict(zip(names, r, strict=True)) for r in rows])


def test_policy_actions():
    policy = mon.RetrainingPolicy(sustained_days=2)
    assert policy.action(_days((False, False, False, False))) == "ok"
    assert policy.action(_days((True, False, False, False))) == "watch"
    assert (
        policy.action(_days((False, False, False, False), (False, False, True, False))) == "watch"
    )
    assert (
        policy.action(_days((False, False, True, False), (False, False, False, True))) == "retrain"
    )
    # a broken field pages and blocks retraining, even with sustained harm
    assert policy.action(_days((False, False, True, False), (False, True, True, False))) == "page"
    assert policy.action(_days((False, True, True, False), (False, False, True, False))) == "watch"
    with pytest.raises(ValueError, match="no day"):
        policy.action(_days())


def test_policy_bad_parameters():
    with pytest.raises(ValueError, match="sustained_days"):
        mon.RetrainingPolicy(sustained_days=0)
    with pytest.raises(ValueError, match="mmd_level"):
        mon.RetrainingPolicy(mmd_level=1.5)
