"""Control charts for level shifts: EWMA (Roberts, 1959) and CUSUM (Page, 1954).

Both standardise each metric with the robust median and spread of the training stretch
(after subtracting the training seasonal profile when ``season`` is given), then accumulate
evidence over time, so a small but persistent shift is flagged even when no single point is
extreme. Both recursions only use past points: they are causal. A missing point (NaN) is
skipped: the statistic carries over it unchanged and the point scores NaN.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from anomaly_tutorial.timeseries.base import BaseSeriesDetector, robust_location_scale
from anomaly_tutorial.timeseries.seasonal import SEASONS, SeasonalProfile

__all__ = ["CUSUMDetector", "EWMADetector", "cusum_statistics", "ewma"]


def ewma(values: np.ndarray, lam: float, start: float = 0.0) -> np.ndarray:
    """Exponentially weighted moving average ``z[t] = lam * x[t] + (1 - lam) * z[t-1]``.

    Parameters
    ----------
    values : array-like of shape (n_points,)
    lam : float
        Weight of the newest point, in (0, 1].
    start : float
        ``z[-1]``, the value before the first point.

    Returns
    -------
    ndarray of shape (n_points,)
    """
    if not 0 < lam <= 1:
        raise ValueError(f"lam must be in (0, 1], got {lam!r}")
    x = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(x)
    out = np.full_like(x, np.nan)
    zi = np.array([(1 - lam) * start])
    out[present], _ = lfilter([lam], [1.0, -(1.0 - lam)], x[present], zi=zi)
    return out


def cusum_statistics(
    z: np.ndarray, k: float, cap: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Page's two-sided tabular CUSUM of standardised values.

    ``S+[t] = max(0, S+[t-1] + z[t] - k)`` and ``S-[t] = max(0, S-[t-1] - z[t] - k)``;
    a NaN ``z[t]`` is skipped (NaN out, the statistics carry over it).

    Parameters
    ----------
    z : array-like of shape (n_points,)
        Standardised values (in-control mean 0, spread 1).
    k : float
        Allowance (slack), usually half the shift to detect, in spread units.
    cap : float or None
        Clip both statistics at this value so they recover within ``cap / k`` points after a
        shift ends (``None``: the classical unbounded statistic).

    Returns
    -------
    (upper, lower) : tuple of ndarray
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k!r}")
    hi_cap = np.inf if cap is None else float(cap)
    z = np.asarray(z, dtype=np.float64)
    upper = np.empty_like(z)
    lower = np.empty_like(z)
    s_hi = s_lo = 0.0
    for t, v in enumerate(z.tolist()):
        if v != v:  # NaN: a missing point is skipped
            upper[t] = lower[t] = np.nan
            continue
        s_hi = min(max(0.0, s_hi + v - k), hi_cap)
        s_lo = min(max(0.0, s_lo - v - k), hi_cap)
        upper[t] = s_hi
        lower[t] = s_lo
    return upper, lower


class _ControlChartBase(BaseSeriesDetector):
    season: str | None
    min_scale_fraction: float

    def _min_train_points(self) -> int:
        return 10

    def _residuals(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        if self.season is None:
            return values
        median, _ = self.profile_.lookup(times)
        return values - median

    def _fit_standardiser(self, values: np.ndarray, times: np.ndarray) -> None:
        if self.season is not None and self.season not in SEASONS:
            raise ValueError(
                f"season must be None or one of {sorted(SEASONS)}, got {self.season!r}"
            )
        columns = [str(c) for c in self.feature_names_in_]
        if self.season is not None:
            self.profile_ = SeasonalProfile.fit(
                values, times, self.season, columns, min_scale_fraction=self.min_scale_fraction
            )
        resid = self._residuals(values, times)
        stats = [robust_location_scale(resid[:, j], columns[j]) for j in range(values.shape[1])]
        self.center_ = np.array([m for m, _ in stats])
        self.scale_ = np.array([s for _, s in stats])

    def _standardised(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        return (self._residuals(values, times) - self.center_) / self.scale_


class EWMADetector(_ControlChartBase):
    """EWMA control chart on robustly standardised (optionally de-seasonalised) values.

    ``u[t] = (x[t] - profile(t) - median) / spread`` and ``z[t] = lam u[t] + (1 - lam) z[t-1]``;
    the score is ``|z[t]| / sd_z`` with ``sd_z`` the robust spread of ``z`` on the training
    stretch (measured rather than taken from the i.i.d. formula ``sqrt(lam / (2 - lam))``,
    because metric noise is autocorrelated). ``threshold`` plays the role of the control
    limit ``L``.

    Parameters
    ----------
    lam : float, default 0.1
        Weight of the newest point; small values detect smaller, more persistent shifts.
    season : {None, "hour_of_day", "hour_of_week"}, default None
        Subtract the training seasonal profile before charting.
    min_scale_fraction : float, default 0.1
        Spread floor of the seasonal profile (see :class:`SeasonalProfile`).
    threshold : float or None, default 3.0
    train_quantile : float, default 0.99
    """

    def __init__(
        self,
        lam: float = 0.1,
        season: str | None = None,
        min_scale_fraction: float = 0.1,
        threshold: float | None = 3.0,
        train_quantile: float = 0.99,
    ) -> None:
        self.lam = lam
        self.season = season
        self.min_scale_fraction = min_scale_fraction
        self.threshold = threshold
        self.train_quantile = train_quantile

    def _context_length(self) -> int:
        if not 0 < self.lam < 1:
            return 1
        return int(np.ceil(np.log(1e-10) / np.log(1 - self.lam)))

    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        if not 0 < self.lam <= 1:
            raise ValueError(f"lam must be in (0, 1], got {self.lam!r}")
        self._fit_standardiser(values, times)
        u = self._standardised(values, times)
        z = np.column_stack([ewma(u[:, j], self.lam) for j in range(u.shape[1])])
        self.ewma_scale_ = np.array(
            [
                robust_location_scale(z[:, j], str(c))[1]
                for j, c in enumerate(self.feature_names_in_)
            ]
        )

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        u = self._standardised(values, times)
        z = np.column_stack([ewma(u[:, j], self.lam) for j in range(u.shape[1])])
        return np.abs(z) / self.ewma_scale_


class CUSUMDetector(_ControlChartBase):
    """Two-sided tabular CUSUM on robustly standardised (optionally de-seasonalised) values.

    The score is ``max(S+[t], S-[t])`` (see :func:`cusum_statistics`); ``threshold`` is the
    decision interval ``h``. With ``k = 0.5`` and ``h = 5`` the chart is tuned to shifts of about
    one spread unit. Autocorrelated noise makes the in-control statistic wander more than the
    textbook run lengths assume; ``threshold=None`` calibrates ``h`` on the training scores.

    Parameters
    ----------
    k : float, default 0.5
        Allowance in spread units.
    cap : float or None, default 10.0
        Clip of the statistics (recovery within ``cap / k`` points after a shift ends).
    season : {None, "hour_of_day", "hour_of_week"}, default None
    min_scale_fraction : float, default 0.1
    threshold : float or None, default 5.0
    train_quantile : float, default 0.99
    warmup : int, default 500
        Training points prepended as history when scoring a stretch that follows the training
        data, so the statistic continues instead of restarting from 0.
    """

    def __init__(
        self,
        k: float = 0.5,
        cap: float | None = 10.0,
        season: str | None = None,
        min_scale_fraction: float = 0.1,
        threshold: float | None = 5.0,
        train_quantile: float = 0.99,
        warmup: int = 500,
    ) -> None:
        self.k = k
        self.cap = cap
        self.season = season
        self.min_scale_fraction = min_scale_fraction
        self.threshold = threshold
        self.train_quantile = train_quantile
        self.warmup = warmup

    def _context_length(self) -> int:
        return max(int(self.warmup), 0)

    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        if self.k < 0:
            raise ValueError(f"k must be >= 0, got {self.k!r}")
        if self.cap is not None and self.cap <= 0:
            raise ValueError(f"cap must be positive or None, got {self.cap!r}")
        self._fit_standardiser(values, times)

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        u = self._standardised(values, times)
        out = np.empty_like(u)
        for j in range(u.shape[1]):
            upper, lower = cusum_statistics(u[:, j], self.k, self.cap)
            out[:, j] = np.maximum(upper, lower)
        return out
