"""Tests of the shared robust statistics."""

import numpy as np

from anomaly_tutorial.stats import MAD_TO_SD, mad_scale


def test_mad_scale_estimates_the_standard_deviation_of_normal_data():
    x = np.random.default_rng(0).normal(5.0, 2.0, size=200_000)
    assert abs(mad_scale(x) - 2.0) < 0.02


def test_mad_scale_by_hand_and_along_an_axis():
    assert mad_scale([1.0, 2.0, 3.0, 4.0, 100.0]) == MAD_TO_SD * 1.0
    rows = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 9.0]])
    assert np.allclose(mad_scale(rows, axis=1), [MAD_TO_SD, 0.0])
    assert mad_scale([1.0, np.nan, 3.0]) == MAD_TO_SD * 1.0
