"""Conformal p-values, the 0-100 score, Benjamini-Hochberg (anomaly_tutorial.thresholds)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anomaly_tutorial.thresholds import (
    ConformalCalibrator,
    anomaly_score_0_100,
    benjamini_hochberg,
    false_discovery_proportion,
)

# --- conformal p-values ------------------------------------------------------------------


def test_p_values_by_hand() -> None:
    calibrator = ConformalCalibrator().fit([1.0, 2.0, 2.0, 3.0])
    # (1 + #{c >= s}) / (n + 1) with n = 4
    np.testing.assert_allclose(
        calibrator.p_values([0.0, 2.0, 2.5, 3.0, 9.0]), [5 / 5, 4 / 5, 2 / 5, 2 / 5, 1 / 5]
    )
    assert calibrator.n_calibration_ == 4


def test_p_values_decrease_as_scores_increase() -> None:
    rng = np.random.default_rng(0)
    calibrator = ConformalCalibrator().fit(rng.normal(size=200))
    p = calibrator.p_values(np.linspace(-4, 4, 101))
    assert np.all(np.diff(p) <= 0)
    assert p.min() == pytest.approx(1 / 201) and p.max() == 1.0


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(5, 60),
    level=st.sampled_from([0.05, 0.1, 0.2, 0.5]),
)
def test_p_values_are_super_uniform_on_exchangeable_data(seed: int, n: int, level: float) -> None:
    """P(p <= a) <= a when the test score comes from the calibration distribution.

    For each drawn configuration, 4,000 independent repetitions of (calibration set, one new
    score); the share of p-values at or below ``a`` must not exceed ``a`` by more than four
    binomial standard errors. The exact value is floor(a (n + 1)) / (n + 1) <= a.
    """
    rng = np.random.default_rng(seed)
    reps = 4000
    data = rng.standard_t(df=3, size=(reps, n + 1))  # heavy tails: no normality assumed
    calibration, new = data[:, :n], data[:, n]
    p = (1 + (calibration >= new[:, None]).sum(axis=1)) / (n + 1)
    # the vectorised formula is the calibrator's
    np.testing.assert_allclose(
        p[:3], [ConformalCalibrator().fit(calibration[i]).p_values([new[i]])[0] for i in range(3)]
    )
    exact = np.floor(level * (n + 1)) / (n + 1)
    share = float((p <= level).mean())
    se = np.sqrt(level * (1 - level) / reps)
    assert share <= level + 4 * se
    assert share == pytest.approx(exact, abs=4 * se + 1e-12)


def test_p_values_of_anomalies_are_small_and_contamination_makes_them_larger() -> None:
    rng = np.random.default_rng(1)
    clean = rng.normal(size=2000)
    anomalies = rng.normal(loc=4.0, size=200)
    clean_p = ConformalCalibrator().fit(clean).p_values(anomalies)
    dirty_p = ConformalCalibrator().fit(np.r_[clean, anomalies[:100]]).p_values(anomalies[100:])
    assert np.median(clean_p) < 0.01
    assert np.median(dirty_p) > np.median(clean_p[100:])


@pytest.mark.parametrize(
    ("values", "words"),
    [([], "calibration_scores.*empty"), ([1.0, np.nan], "NaN"), ([[1.0]], "one-dimensional")],
)
def test_calibrator_rejects_bad_calibration(values, words) -> None:
    with pytest.raises(ValueError, match=words):
        ConformalCalibrator().fit(np.asarray(values, dtype=float))


def test_calibrator_rejects_nan_scores_and_unfitted_use() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ConformalCalibrator().p_values([1.0])
    with pytest.raises(ValueError, match="scores: 1 value"):
        ConformalCalibrator().fit([1.0, 2.0]).p_values([np.nan, 1.0])


def test_anomaly_score_0_100() -> None:
    np.testing.assert_allclose(
        anomaly_score_0_100([1.0, 1e-2, 1e-4, 1e-6, 1e-9]), [0, 100 / 3, 200 / 3, 100, 100]
    )
    p = np.geomspace(1e-7, 1, 50)
    assert np.all(np.diff(anomaly_score_0_100(p)) <= 0)
    for bad in (0.0, 1.5, np.nan):
        with pytest.raises(ValueError, match="p_values: must lie in"):
            anomaly_score_0_100([0.5, bad])


# --- Benjamini-Hochberg ----------------------------------------------------------------------


def test_benjamini_hochberg_by_hand() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.5, 0.02])
    # sorted: 0.01 0.02 0.03 0.04 0.5 vs q i / m = 0.02 0.04 0.06 0.08 0.1 at q = 0.1:
    # the 4 smallest pass; step-up keeps all four
    assert benjamini_hochberg(p, 0.1).tolist() == [True, True, True, False, True]
    # at q = 0.05: bounds 0.01 0.02 0.03 0.04 0.05 -> the four smallest pass again
    assert benjamini_hochberg(p, 0.05).tolist() == [True, True, True, False, True]
    # at q = 0.04: bounds 0.008 0.016 0.024 0.032 0.04: none passes (step-up, largest i)
    assert not benjamini_hochberg(p, 0.04).any()
    # step-up: a p-value above its own bound is rejected when a larger one passes
    assert benjamini_hochberg([0.03, 0.031], 0.062).tolist() == [True, True]


@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, 1.5, np.nan, "0.1", True])
def test_benjamini_hochberg_rejects_q_outside_the_unit_interval(q) -> None:
    with pytest.raises(ValueError, match="q: must be"):
        benjamini_hochberg([0.1, 0.2], q)


def test_benjamini_hochberg_rejects_bad_p_values() -> None:
    with pytest.raises(ValueError, match="p_values: must lie in"):
        benjamini_hochberg([0.1, 1.2], 0.1)
    with pytest.raises(ValueError, match="p_values: 1 value"):
        benjamini_hochberg([0.1, np.nan], 0.1)


def _simulated_fdp(seed: int, q: float, rule: str) -> tuple[float, int]:
    rng = np.random.default_rng(seed)
    calibration = rng.normal(size=500)
    nulls, alternatives = rng.normal(size=450), rng.normal(loc=3.0, size=50)
    scores = np.r_[nulls, alternatives]
    y = np.r_[np.zeros(450, bool), np.ones(50, bool)]
    p = ConformalCalibrator().fit(calibration).p_values(scores)
    flags = benjamini_hochberg(p, q) if rule == "bh" else p <= q
    return false_discovery_proportion(flags, y), int((flags & y).sum())


def test_benjamini_hochberg_controls_the_fdr_on_conformal_p_values() -> None:
    """Average false discovery proportion over 400 seeds <= q (within two standard errors).

    The naive rule "alert when p <= q" on the same p-values must exceed q by far, so the test
    can tell a procedure that controls the FDR from one that does not.
    """
    q = 0.1
    bh = np.array([_simulated_fdp(seed, q, "bh") for seed in range(400)])
    fdr, se = bh[:, 0].mean(), bh[:, 0].std(ddof=1) / np.sqrt(len(bh))
    assert fdr <= q + 2 * se
    assert fdr > 0.5 * q * 0.9  # BH spends close to q * m0 / m = 0.09, not zero
    assert bh[:, 1].mean() > 20  # it finds most of the 50 alternatives
    naive = np.array([_simulated_fdp(seed, q, "naive")[0] for seed in range(50)])
    assert naive.mean() > 2 * q


def test_false_discovery_proportion() -> None:
    assert false_discovery_proportion([1, 1, 0, 1], [1, 0, 0, 0]) == pytest.approx(2 / 3)
    assert false_discovery_proportion([0, 0], [1, 0]) == 0.0
    with pytest.raises(ValueError, match="same length"):
        false_discovery_proportion([1, 0], [1])
