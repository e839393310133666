"""Point-wise statistical detectors: global z-score, robust z-score, IQR fences.

Each point is compared with statistics of the whole training stretch, ignoring time order:
no look-ahead is possible, but also no adaptation to daily cycles or slow drifts. Missing
training points are ignored, and a flat training stretch does not raise: every spread is floored
by :func:`~anomaly_tutorial.timeseries.base.floor_scale`.
"""

from __future__ import annotations

import numpy as np

from anomaly_tutorial.timeseries.base import (
    BaseSeriesDetector,
    floor_scale,
    robust_location_scale,
)

__all__ = ["GlobalZScoreDetector", "IQRDetector", "RobustZScoreDetector"]


class GlobalZScoreDetector(BaseSeriesDetector):
    """Absolute z-score against the training mean and standard deviation.

    ``score = |x - mean_train| / std_train`` per metric, with ``std_train`` floored by
    :func:`~anomaly_tutorial.timeseries.base.floor_scale` (a flat training stretch works).

    Parameters
    ----------
    threshold : float or None, default 3.0
        The classical "three sigma" rule; ``None`` uses the ``train_quantile`` of training scores.
    train_quantile : float, default 0.99
    """

    def __init__(self, threshold: float | None = 3.0, train_quantile: float = 0.99) -> None:
        self.threshold = threshold
        self.train_quantile = train_quantile

    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        self.mean_ = np.nanmean(values, axis=0)
        self.scale_ = floor_scale(np.nanstd(values, axis=0, ddof=1), self.mean_)

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        return np.abs(values - self.mean_) / self.scale_


class RobustZScoreDetector(BaseSeriesDetector):
    """Robust z-score: distance to the training median in units of 1.4826 x MAD.

    Median and MAD are barely moved by the anomalies that a training stretch may contain
    (Iglewicz and Hoaglin's modified z-score uses the same idea with threshold 3.5).

    Parameters
    ----------
    threshold : float or None, default 3.5
    train_quantile : float, default 0.99
    """

    def __init__(self, threshold: float | None = 3.5, train_quantile: float = 0.99) -> None:
        self.threshold = threshold
        self.train_quantile = train_quantile

    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        stats = [
            robust_location_scale(values[:, j], str(self.feature_names_in_[j]))
            for j in range(values.shape[1])
        ]
        self.median_ = np.array([m for m, _ in stats])
        self.scale_ = np.array([s for _, s in stats])

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        return np.abs(values - self.median_) / self.scale_


class IQRDetector(BaseSeriesDetector):
    """Tukey's fences: distance outside the training quartiles, in units of the IQR.

    ``score = max(q1 - x, x - q3) / IQR``; it is negative inside the box, and
    ``score > 1.5`` is exactly "outside Tukey's fences". When at least half of the training
    values are equal the IQR is 0; it is then floored by
    :func:`~anomaly_tutorial.timeseries.base.floor_scale`.

    Parameters
    ----------
    threshold : float or None, default 1.5
        Fence multiplier (1.5 = Tukey's inner fences, 3 = outer fences).
    train_quantile : float, default 0.99
    """

    def __init__(self, threshold: float | None = 1.5, train_quantile: float = 0.99) -> None:
        self.threshold = threshold
        self.train_quantile = train_quantile

    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        self.q1_ = np.nanquantile(values, 0.25, axis=0)
        self.q3_ = np.nanquantile(values, 0.75, axis=0)
        self.iqr_ = floor_scale(self.q3_ - self.q1_, np.nanmedian(values, axis=0))

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        return np.maximum(self.q1_ - values, values - self.q3_) / self.iqr_
