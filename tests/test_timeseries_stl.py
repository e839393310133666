"""Tests of the causal STL detector (anomaly_tutorial.timeseries.stl)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.seasonal import STL

from anomaly_tutorial.timeseries import STLDetector, make_seasonal_series


@pytest.fixture(scope="module")
def series() -> pd.Series:
    return make_seasonal_series(2016, weekend_factor=1.0, seed=4)  # one week, 5-minute points


@pytest.fixture(scope="module")
def fitted(series: pd.Series) -> STLDetector:
    return STLDetector().fit(series.iloc[:1152])  # four days


def test_period_defaults_to_one_day(fitted: STLDetector) -> None:
    assert fitted.period_ == 288 and fitted.step_ms_ == 300_000
    assert fitted.seasonal_.shape == (288, 1)


def test_seasonal_profile_is_the_median_of_statsmodels_stl(series: pd.Series) -> None:
    det = STLDetector(period=288).fit(series.iloc[:1152])
    reference = STL(series.iloc[:1152].to_numpy(), period=288, robust=True).fit().seasonal
    expected = np.median(reference.reshape(4, 288), axis=0)
    np.testing.assert_allclose(det.seasonal_[:, 0], expected)


def test_no_look_ahead(fitted: STLDetector, series: pd.Series) -> None:
    test = series.iloc[1152:]
    changed = test.copy()
    changed.iloc[300:] += 40.0
    a, b = fitted.score_samples(test), fitted.score_samples(changed)
    np.testing.assert_array_equal(a[:300], b[:300])  # a future change leaves the past alone
    assert b[300] > a[300] + 5


def test_spike_scores_highest(fitted: STLDetector, series: pd.Series) -> None:
    test = series.iloc[1152:].copy()
    test.iloc[400] += 25.0  # about 8 noise units
    scores = fitted.score_samples(test)
    assert int(np.argmax(scores)) == 400 and fitted.predict(test)[400] == 1
    normal = fitted.predict(series.iloc[1152:])
    assert normal.mean() < 0.02


def test_level_drift_is_followed(fitted: STLDetector, series: pd.Series) -> None:
    test = series.iloc[1152:].copy()
    test.iloc[200:] += 15.0  # a permanent level change of five noise units
    scores = fitted.score_samples(test)
    assert scores[200:210].max() > fitted.threshold_  # flagged when it happens
    assert np.mean(scores[600:] > fitted.threshold_) < 0.05  # then the level is followed


def test_missing_points_are_skipped(series: pd.Series) -> None:
    gappy = series.copy()
    gappy.iloc[100:130] = np.nan
    gappy.iloc[1300:1310] = np.nan
    det = STLDetector().fit(gappy.iloc[:1152])
    scores = det.score_samples(gappy.iloc[1152:])
    assert np.isnan(scores[148:158]).all() and np.isfinite(np.delete(scores, range(148, 158))).all()


def test_errors(series: pd.Series) -> None:
    with pytest.raises(ValueError, match=r"needs two periods \(2 x period=288\)"):
        STLDetector().fit(series.iloc[:500])
    with pytest.raises(ValueError, match="period must be an integer >= 2"):
        STLDetector(period=1).fit(series)
    with pytest.raises(ValueError, match="level_window must be a positive integer"):
        STLDetector(level_window=0).fit(series)
