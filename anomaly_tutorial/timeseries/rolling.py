"""Rolling-window statistics and z-score detectors: causal versus centred windows.

A *causal* window at time ``t`` holds only earlier points, ``x[t-window], ..., x[t-1]``: the
score at ``t`` can be computed the moment ``x[t]`` arrives, so the detector runs online.
A *centred* window, ``x[t-h], ..., x[t+h]`` (``h = window // 2``, without ``x[t]`` itself),
also looks ``h`` points into the future. That is what ``pandas.Series.rolling(center=True)``
does, and it is a common silent mistake: the scores look better in an offline evaluation and
cannot be reproduced in production. :class:`CenteredRollingZScoreDetector` exists only to show
the difference; it is named as the non-causal one on purpose.

:class:`WindowedGaussianDetector` is the online baseline of the Numenta Anomaly Benchmark
(Lavin and Ahmad, 2015): a normal distribution fitted to the past ``window`` points follows a
drifting level, and the score is the (log) tail probability of the new point under it.

Missing points (NaN) are skipped: the windows hold the last ``window`` rows and their statistics
use the values present (at least ``min_periods``); a missing point scores NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from anomaly_tutorial.timeseries.base import BaseSeriesDetector, floor_scale

__all__ = [
    "CenteredRollingZScoreDetector",
    "RollingZScoreDetector",
    "WindowedGaussianDetector",
    "causal_rolling_stats",
    "centered_rolling_stats",
    "gaussian_surprise",
]


def _check_window(window: int, min_periods: int | None) -> int:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ValueError(f"window must be an integer >= 2, got {window!r}")
    mp = max(2, window // 2) if min_periods is None else min_periods
    if isinstance(mp, bool) or not isinstance(mp, int | np.integer) or not 2 <= mp <= window:
        raise ValueError(f"min_periods must be an integer in [2, window={window}], got {mp!r}")
    return int(mp)


def causal_rolling_stats(
    values: np.ndarray, window: int, min_periods: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the ``window`` points *before* each point.

    Parameters
    ----------
    values : array-like of shape (n_points,)
    window : int
        Number of past points.
    min_periods : int or None
        Fewer past points than this gives NaN (default ``max(2, window // 2)``).

    Returns
    -------
    (mean, std) : tuple of ndarray
        ``mean[t]`` and ``std[t]`` depend on ``values[t-window:t]`` only.
    """
    mp = _check_window(window, min_periods)
    past = pd.Series(np.asarray(values, dtype=np.float64)).shift(1)
    rolling = past.rolling(window, min_periods=mp)
    return rolling.mean().to_numpy(), rolling.std(ddof=1).to_numpy()


def centered_rolling_stats(
    values: np.ndarray, window: int, min_periods: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of a window centred on each point (NON-CAUSAL).

    The window holds ``h = window // 2`` points before and ``h`` points after ``t``, without
    ``values[t]`` itself, so ``mean[t]`` depends on future values. Use it only to demonstrate
    why it must not be used for online detection.

    Parameters
    ----------
    values : array-like of shape (n_points,)
    window : int
    min_periods : int or None
        Fewer available neighbours than this gives NaN (default ``max(2, window // 2)``).

    Returns
    -------
    (mean, std) : tuple of ndarray
    """
    mp = _check_window(window, min_periods)
    x = np.asarray(values, dtype=np.float64)
    shift = float(x[0]) if x.size else 0.0  # reduces cancellation in the sums of squares
    s = pd.Series(x - shift)
    half = window // 2
    span = 2 * half + 1
    total = s.rolling(span, center=True, min_periods=1).sum().to_numpy() - s.to_numpy()
    sq = (s**2).rolling(span, center=True, min_periods=1).sum().to_numpy() - s.to_numpy() ** 2
    present = (~np.isnan(x)).astype(np.float64)  # missing neighbours do not count
    count = pd.Series(present).rolling(span, center=True, min_periods=1).sum().to_numpy() - present
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        var = np.maximum(sq - count * mean**2, 0.0) / (count - 1)
    ok = count >= mp
    return np.where(ok, mean + shift, np.nan), np.where(ok, np.sqrt(var), np.nan)


class _RollingZScoreBase(BaseSeriesDetector):
    _centered = False

    def __init__(
        self,
        window: int = 60,
        min_periods: int | None = None,
        min_scale_fraction: float = 0.1,
        threshold: float | None = 3.0,
        train_quantile: float = 0.99,
    ) -> None:
        self.window = window
        self.min_periods = min_periods
        self.min_scale_fraction = min_scale_fraction
        self.threshold = threshold
        self.train_quantile = train_quantile

    def _context_length(self) -> int:
        return int(self.window)

    def _min_train_points(self) -> int:
        _check_window(self.window, self.min_periods)
        return int(self.window) + 1

    def _min_train_reason(self) -> str:
        return f"(window={self.window} plus one point)"

    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        if not 0 < self.min_scale_fraction <= 1:
            raise ValueError(
                f"min_scale_fraction must be in (0, 1], got {self.min_scale_fraction!r}"
            )
        self.mean_ = np.nanmean(values, axis=0)
        self.scale_ = floor_scale(np.nanstd(values, axis=0, ddof=1), self.mean_)

    def _zscores(self, values: np.ndarray) -> np.ndarray:
        stats = centered_rolling_stats if self._centered else causal_rolling_stats
        out = np.empty_like(values)
        for j in range(values.shape[1]):
            mean, std = stats(values[:, j], self.window, self.min_periods)
            # warm-up (too few neighbours): fall back to the training statistics
            mean = np.where(np.isnan(mean), self.mean_[j], mean)
            std = np.where(np.isnan(std), self.scale_[j], std)
            std = floor_scale(np.maximum(std, self.min_scale_fraction * self.scale_[j]), mean)
            out[:, j] = np.abs(values[:, j] - mean) / std
        return out

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        return self._zscores(values)


class RollingZScoreDetector(_RollingZScoreBase):
    """Causal rolling z-score: distance to the mean of the previous ``window`` points.

    ``score[t] = |x[t] - mean(x[t-window:t])| / max(std(x[t-window:t]), floor)`` with
    ``floor = min_scale_fraction x training std``. The window excludes ``x[t]``, so a spike does
    not inflate its own baseline. Points with fewer than ``min_periods`` past points (the start
    of a stretch that does not follow the training data) use the training mean and std instead.

    Parameters
    ----------
    window : int, default 60
        Number of past points in the baseline.
    min_periods : int or None, default None
        Minimum past points for a rolling estimate (``max(2, window // 2)`` when None).
    min_scale_fraction : float, default 0.1
        Floor of the rolling std, as a fraction of the training std.
    threshold : float or None, default 3.0
    train_quantile : float, default 0.99
    """


class CenteredRollingZScoreDetector(_RollingZScoreBase):
    """NON-CAUSAL rolling z-score on a centred window (for demonstration only).

    Identical to :class:`RollingZScoreDetector` except that the window holds ``window // 2``
    points before *and after* ``t``: every score uses the future and cannot be computed online.

    Parameters
    ----------
    window, min_periods, min_scale_fraction, threshold, train_quantile
        As in :class:`RollingZScoreDetector`.
    """

    _centered = True


def gaussian_surprise(z: np.ndarray) -> np.ndarray:
    """``-log10`` of the two-sided normal tail probability ``P(|Z| >= |z|)``.

    A monotone transform of the tail probability that does not saturate: ``1 - p`` rounds to
    1.0 beyond ``|z| ~ 8.3``, so many points would tie at the top, while ``-log10 p`` keeps
    ranking them (``z = 3`` gives 2.57, ``z = 10`` gives 23.2). NaN stays NaN.
    """
    z = np.abs(np.asarray(z, dtype=np.float64))
    return -(norm.logsf(z) + np.log(2.0)) / np.log(10.0)


class WindowedGaussianDetector(_RollingZScoreBase):
    """NAB's windowed Gaussian: tail probability of each point under a normal fitted to the past.

    The mean and standard deviation of the previous ``window`` points (causal, as in
    :class:`RollingZScoreDetector`) define a normal distribution; the score of ``x[t]`` is the
    surprise ``-log10 P(|Z| >= |z_t|)`` of its two-sided tail probability (see
    :func:`gaussian_surprise`), so ``score > 4`` means a tail probability below 1e-4. The window
    slides, so the baseline follows a drifting level: after a level change the new level becomes
    normal within about ``window`` points, where a detector fitted once keeps alerting.

    Following NAB's ``windowedGaussian`` detector (Lavin and Ahmad, 2015), the default window
    holds 1,000 points (the value in NAB's detector, which NAB's authors tuned on NAB itself) and
    is filled from the start of the stream: until it is full, all past points (at least
    ``min_periods``) are used. NAB's detector scores the one-sided normal tail probability and
    floors the std at 1e-6; this one scores both tails and floors the std as
    :class:`RollingZScoreDetector` does.

    Parameters
    ----------
    window : int, default 1000
        Number of past points in the baseline.
    min_periods : int or None, default 30
        Minimum past points for a rolling estimate; before that, the training mean and std.
    min_scale_fraction : float, default 0.1
        Floor of the rolling std as a fraction of the training std.
    threshold : float or None, default 4.0
        On the surprise scale: 4 = tail probability 1e-4.
    train_quantile : float, default 0.99
    """

    def __init__(
        self,
        window: int = 1000,
        min_periods: int | None = 30,
        min_scale_fraction: float = 0.1,
        threshold: float | None = 4.0,
        train_quantile: float = 0.99,
    ) -> None:
        super().__init__(window, min_periods, min_scale_fraction, threshold, train_quantile)

    def _min_train_points(self) -> int:
        _check_window(self.window, self.min_periods)
        return max(int(self.min_periods or 2), 3)

    def _min_train_reason(self) -> str:
        return f"(min_periods={self.min_periods})"

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        return gaussian_surprise(self._zscores(values))
