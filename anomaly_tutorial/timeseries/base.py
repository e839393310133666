"""Shared machinery of the metric time-series detectors.

All detectors follow one API:

* ``fit(X_train)`` learns baseline statistics from a training stretch (a Series or a DataFrame
  with one column per metric, indexed by time) and a decision threshold ``threshold_``;
* ``score_samples(X)`` returns one score per time point, higher = more anomalous;
* ``predict(X)`` returns 1 (anomaly) where the score exceeds ``threshold_``, else 0;
* ``score_features(X)`` returns the per-metric scores as a DataFrame.

With several metrics, each column is scored against its own baseline and a time point gets the
score of its most anomalous metric (the maximum), unless a detector documents otherwise.

Missing points (NaN values, e.g. the gaps that
:func:`~anomaly_tutorial.timeseries.prepare_series` marks) are skipped: fitting ignores them, their
score is NaN, ``predict`` gives 0 there, and recursive statistics carry on over them. A time point
with several metrics gets the maximum over the metrics it has.

Detectors that look back over a window need context at the start of a scored stretch. When the
stretch begins after the end of the training data, the last training points are prepended as
history (still causal: only the past is used). Otherwise each detector documents its warm-up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from anomaly_tutorial.stats import mad_scale
from anomaly_tutorial.timeseries._input import SeriesFrame, as_series_frame

__all__ = [
    "MIN_SCALE_ABSOLUTE",
    "MIN_SCALE_RELATIVE",
    "BaseSeriesDetector",
    "floor_scale",
    "robust_location_scale",
]

_MEAN_AD_TO_SD = 1.2533  # sqrt(pi / 2): mean absolute deviation -> sd of a normal

#: A spread is never smaller than MIN_SCALE_RELATIVE x |location| ...
MIN_SCALE_RELATIVE = 1e-3
#: ... nor smaller than MIN_SCALE_ABSOLUTE (for a metric flat at 0, such as an error count).
MIN_SCALE_ABSOLUTE = 1e-9


def floor_scale(scale: np.ndarray | float, location: np.ndarray | float) -> np.ndarray:
    """The documented floor of every spread in :mod:`anomaly_tutorial.timeseries`.

    ``max(scale, MIN_SCALE_RELATIVE * |location|, MIN_SCALE_ABSOLUTE)``. A training stretch
    that is flat (a metric constant for days, an error count that stays 0) has spread 0; with
    the floor it still gives a usable detector: any departure from the flat value scores high
    (one unit above a flat 0 scores 1e9, a 1 % change of a flat level scores 10).

    Parameters
    ----------
    scale, location : float or ndarray
        Spread estimates (NaN is treated as 0) and the matching locations.

    Returns
    -------
    ndarray (or float for scalar input)
    """
    scale = np.nan_to_num(np.asarray(scale, dtype=np.float64), nan=0.0)
    location = np.nan_to_num(np.asarray(location, dtype=np.float64), nan=0.0)
    out = np.maximum(np.maximum(scale, MIN_SCALE_RELATIVE * np.abs(location)), MIN_SCALE_ABSOLUTE)
    return float(out) if out.ndim == 0 else out


def robust_location_scale(values: np.ndarray, column: str = "value") -> tuple[float, float]:
    """Median and a robust standard deviation of a 1-D array (NaN = missing, ignored).

    The scale is :func:`anomaly_tutorial.stats.mad_scale` (1.4826 x MAD); when more than half
    of the values are equal (MAD = 0) it falls back to 1.2533 x the mean absolute deviation
    from the median, and when that is 0 too (a flat stretch) to :func:`floor_scale`.

    Parameters
    ----------
    values : ndarray
        Values; NaN entries are missing points and are ignored.
    column : str
        Name used in error messages.

    Returns
    -------
    (median, scale) : tuple of float

    Raises
    ------
    ValueError
        If every value is missing.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        raise ValueError(f"column '{column}': every training value is missing (NaN)")
    median = float(np.median(x))
    scale = float(mad_scale(x))
    if scale <= 0:
        scale = _MEAN_AD_TO_SD * float(np.mean(np.abs(x - median)))
    return median, float(floor_scale(scale, median))


def nan_combine_max(per_feature: np.ndarray) -> np.ndarray:
    """Row-wise maximum ignoring NaN; NaN where a row is all NaN (every metric missing)."""
    filled = np.where(np.isnan(per_feature), -np.inf, per_feature)
    out = filled.max(axis=1)
    return np.where(np.isneginf(out), np.nan, out)


class BaseSeriesDetector(BaseEstimator):
    """Base class: input validation, threshold, history handling and column combination.

    Subclasses implement ``_fit_values(values, times)`` and ``_score_values(values, times)``
    (both on float matrices of shape (n_points, n_features)), and may override
    ``_context_length()`` (number of past points needed; default 0), ``_min_train_points()``
    and ``_combine(per_feature)``.

    Parameters common to subclasses
    -------------------------------
    threshold : float or None
        Score above which ``predict`` flags a point. ``None`` takes the ``train_quantile``
        quantile of the training scores.
    train_quantile : float
        Quantile of training scores used when ``threshold`` is ``None``.

    Attributes (after ``fit``)
    --------------------------
    threshold_ : float
        The decision threshold used by ``predict`` (``score > threshold_`` is an anomaly).
    train_scores_ : ndarray
        Scores of the training points (with the warm-up behaviour of a stretch scored alone).
    feature_names_in_ : ndarray of str
        Metric names seen in ``fit``; later inputs must have the same columns.
    n_features_in_ : int
    train_end_ : int
        Epoch milliseconds of the last training point.
    history_values_, history_times_ : ndarray
        The last training points kept as context for a stretch that follows the training data.
    """

    threshold: float | None
    train_quantile: float

    # --- hooks -----------------------------------------------------------------------------
    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        raise AttributeError(f"{type(self).__name__} must implement _fit_values")

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        raise AttributeError(f"{type(self).__name__} must implement _score_values")

    def _context_length(self) -> int:
        return 0

    def _min_train_points(self) -> int:
        return 3

    def _min_train_reason(self) -> str:
        return "to estimate a spread"

    def _combine(self, per_feature: np.ndarray) -> np.ndarray:
        return nan_combine_max(per_feature)

    # --- API -------------------------------------------------------------------------------
    def _check_common_params(self) -> None:
        threshold = getattr(self, "threshold", None)
        if threshold is not None and not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number or None, got {threshold!r}")
        q = getattr(self, "train_quantile", 0.99)
        if not 0.5 <= q < 1:
            raise ValueError(f"train_quantile must be in [0.5, 1), got {q!r}")

    def fit(self, X: pd.Series | pd.DataFrame, y: object = None) -> BaseSeriesDetector:
        """Learn the baseline from a training stretch.

        Parameters
        ----------
        X : pandas.Series or pandas.DataFrame
            Training values indexed by time (DatetimeIndex or int epoch ms).
        y : ignored

        Returns
        -------
        self
        """
        self._check_common_params()
        frame = as_series_frame(X, "X")
        needed = self._min_train_points()
        observed = int((~np.isnan(frame.values)).all(axis=1).sum())
        if observed < needed:
            missing = frame.n_points - observed
            note = f" ({missing} of {frame.n_points} missing)" if missing else ""
            raise ValueError(
                f"X: the training stretch has {observed} points{note}; {type(self).__name__} "
                f"needs at least {needed} {self._min_train_reason()}"
            )
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = len(frame.columns)
        self._fit_values(frame.values, frame.times)
        k = self._context_length()
        self.history_values_ = frame.values[-k:].copy() if k > 0 else frame.values[:0].copy()
        self.history_times_ = frame.times[-k:].copy() if k > 0 else frame.times[:0].copy()
        self.train_end_ = int(frame.times[-1])
        train_scores = self._combine(self._score_values(frame.values, frame.times))
        self.train_scores_ = train_scores
        if self.threshold is None:
            self.threshold_ = float(np.nanquantile(train_scores, self.train_quantile))
        else:
            self.threshold_ = float(self.threshold)
        return self

    def _validated(self, X: pd.Series | pd.DataFrame) -> SeriesFrame:
        if not hasattr(self, "threshold_"):
            raise AttributeError(f"this {type(self).__name__} is not fitted yet; call fit first")
        frame = as_series_frame(X, "X")
        expected = [str(c) for c in self.feature_names_in_]
        if frame.columns != expected:
            if len(expected) == 1 and len(frame.columns) == 1:
                return frame  # a single unnamed/renamed series is the same metric
            raise ValueError(
                f"X: columns {frame.columns} differ from the columns seen in fit {expected}"
            )
        return frame

    def _per_feature(self, frame: SeriesFrame) -> np.ndarray:
        k = self._context_length()
        if k > 0 and self.history_times_.size and frame.times[0] > self.train_end_:
            values = np.vstack([self.history_values_, frame.values])
            times = np.concatenate([self.history_times_, frame.times])
            return self._score_values(values, times)[len(self.history_times_) :]
        return self._score_values(frame.values, frame.times)

    def score_features(self, X: pd.Series | pd.DataFrame) -> pd.DataFrame:
        """Per-metric anomaly scores, indexed like ``X``.

        Parameters
        ----------
        X : pandas.Series or pandas.DataFrame

        Returns
        -------
        pandas.DataFrame
            One column per metric, higher = more anomalous.
        """
        frame = self._validated(X)
        per = self._per_feature(frame)
        return pd.DataFrame(per, index=frame.index, columns=frame.columns)

    def score_samples(self, X: pd.Series | pd.DataFrame) -> np.ndarray:
        """Anomaly score per time point (higher = more anomalous).

        Parameters
        ----------
        X : pandas.Series or pandas.DataFrame

        Returns
        -------
        ndarray of shape (n_points,)
            NaN at points whose every metric is missing.
        """
        frame = self._validated(X)
        return self._combine(self._per_feature(frame))

    def predict(self, X: pd.Series | pd.DataFrame) -> np.ndarray:
        """1 where the score exceeds ``threshold_`` (anomaly), else 0 (also at missing points).

        Parameters
        ----------
        X : pandas.Series or pandas.DataFrame

        Returns
        -------
        ndarray of int64
        """
        return (self.score_samples(X) > self.threshold_).astype(np.int64)
