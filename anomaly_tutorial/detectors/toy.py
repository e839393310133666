"""Small 2-D data sets and score grids for pictures of detectors' score surfaces."""

from __future__ import annotations

import numpy as np

from anomaly_tutorial.detectors.base import BaseDetector

__all__ = ["score_grid", "toy_data"]


def toy_data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clusters of different density plus scattered outliers, in 2-D.

    Parameters
    ----------
    n : int, default=300
        Number of normal rows (60 % in a wide cluster, 40 % in a tight one).
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    X : numpy.ndarray of shape (n + n // 20, 2)
    y : numpy.ndarray, 1 for the uniform outliers (last ``n // 20`` rows)
    """
    if n < 20:
        raise ValueError(f"n must be >= 20, got {n}")
    rng = np.random.default_rng(seed)
    n_wide = int(0.6 * n)
    wide = rng.normal(loc=(-2.0, 0.0), scale=1.0, size=(n_wide, 2))
    tight = rng.normal(loc=(3.0, 2.0), scale=0.3, size=(n - n_wide, 2))
    outliers = rng.uniform(low=(-6.0, -5.0), high=(6.0, 6.0), size=(n // 20, 2))
    X = np.vstack([wide, tight, outliers])
    y = np.r_[np.zeros(n, dtype=np.int64), np.ones(n // 20, dtype=np.int64)]
    return X, y


def score_grid(
    detector: BaseDetector,
    xlim: tuple[float, float] = (-7.0, 7.0),
    ylim: tuple[float, float] = (-6.0, 7.0),
    resolution: int = 80,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of a fitted 2-D detector on a regular grid, for ``contourf``.

    Returns
    -------
    xx, yy, zz : numpy.ndarray of shape (resolution, resolution)
        Grid coordinates and scores (higher = more anomalous).
    """
    if getattr(detector, "n_features_in_", None) != 2:
        raise ValueError("detector must be fitted on 2-D data (n_features_in_ == 2)")
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    xx, yy = np.meshgrid(xs, ys)
    zz = detector.score_samples(np.column_stack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    return xx, yy, zz
