"""STL decomposition fitted on the past and applied causally.

STL (Cleveland et al., 1990; :class:`statsmodels.tsa.seasonal.STL`) splits a series into
trend + seasonal + remainder with loess smoothers whose windows are *centred*: the components at
time ``t`` use points after ``t``, and re-running STL on a growing series rewrites the past. Run
as is on the scored stretch, it looks ahead.

:class:`STLDetector` uses STL only where that is allowed, on the training stretch:

1. STL (robust) on the training values gives a seasonal component; its median at each phase of
   the period (position within the day, say) is frozen as the **seasonal profile**;
2. at scoring time the **level** at ``t`` is the median of the de-seasonalised values of the
   ``level_window`` points before ``t`` (causal, it follows drift);
3. the score is ``|x[t] - seasonal(phase(t)) - level(t)| / scale``, with ``scale`` the robust
   spread of the same causal residual on the training stretch (floored by
   :func:`~anomaly_tutorial.timeseries.base.floor_scale`).

Nothing after ``t`` enters the score of ``t``. Compare with
:class:`~anomaly_tutorial.timeseries.seasonal.SeasonalProfileDetector`, which learns a median per
clock hour and no level: STL's profile follows the data's own period at its own resolution.

Public object: :class:`STLDetector`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly_tutorial.timeseries.base import BaseSeriesDetector, robust_location_scale

__all__ = ["STLDetector"]

_DAY_MS = 86_400_000


class STLDetector(BaseSeriesDetector):
    """Robust z-score of the remainder after a frozen STL seasonal profile and a causal level.

    Parameters
    ----------
    period : int or None, default None
        Season length in points; ``None`` takes one day at the training stretch's median step
        (288 for 5-minute points). The training stretch must hold at least two periods.
    level_window : int or None, default None
        Past points whose de-seasonalised median is the level (``None``: one period).
    robust : bool, default True
        Robust STL fit (outliers in training are down-weighted).
    threshold : float or None, default 3.5
    train_quantile : float, default 0.99

    Attributes
    ----------
    period_ : int
    step_ms_ : int
        Median spacing of the training times; phases are counted in this step.
    origin_ms_ : int
        Time of the first training point (phase 0).
    seasonal_ : ndarray of shape (period_, n_features)
        The frozen seasonal profile.
    train_level_ : ndarray of shape (n_features,)
        Median de-seasonalised training value: the level of a point that has no past.
    center_, scale_ : ndarray of shape (n_features,)
        Median and robust spread of the causal training residuals.

    Notes
    -----
    Missing training values are linearly interpolated for the STL fit only (STL needs a
    complete series); the profile and the spread come from the points that were present.
    Phases assume a regular step: pass the series through
    :func:`~anomaly_tutorial.timeseries.prepare_series` first.
    """

    def __init__(
        self,
        period: int | None = None,
        level_window: int | None = None,
        robust: bool = True,
        threshold: float | None = 3.5,
        train_quantile: float = 0.99,
    ) -> None:
        self.period = period
        self.level_window = level_window
        self.robust = robust
        self.threshold = threshold
        self.train_quantile = train_quantile

    def _context_length(self) -> int:
        return int(getattr(self, "level_window_", 0))

    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        from statsmodels.tsa.seasonal import STL

        self.step_ms_ = int(np.median(np.diff(times)))
        period = self.period
        if period is None:
            period = max(2, round(_DAY_MS / self.step_ms_))
        if isinstance(period, bool) or not isinstance(period, int | np.integer) or period < 2:
            raise ValueError(f"period must be an integer >= 2 or None, got {self.period!r}")
        self.period_ = int(period)
        if values.shape[0] < 2 * self.period_:
            raise ValueError(
                f"X: the training stretch has {values.shape[0]} points; STLDetector needs two "
                f"periods (2 x period={self.period_}) to fit STL"
            )
        lw = self.period_ if self.level_window is None else self.level_window
        if isinstance(lw, bool) or not isinstance(lw, int | np.integer) or lw < 1:
            raise ValueError(f"level_window must be a positive integer or None, got {lw!r}")
        self.level_window_ = int(lw)
        self.origin_ms_ = int(times[0])
        phase = self._phase(times)
        seasonal = np.empty((self.period_, values.shape[1]))
        for j in range(values.shape[1]):
            filled = pd.Series(values[:, j]).interpolate(limit_direction="both").to_numpy()
            fit = STL(filled, period=self.period_, robust=self.robust).fit()
            comp = np.where(np.isnan(values[:, j]), np.nan, fit.seasonal)
            profile = pd.Series(comp).groupby(phase).median()
            seasonal[:, j] = profile.reindex(range(self.period_)).fillna(0.0).to_numpy()
        self.seasonal_ = seasonal
        self.train_level_ = np.nanmedian(values - seasonal[phase], axis=0)
        resid = self._residuals(values, times)
        stats = [
            robust_location_scale(resid[:, j], str(c)) for j, c in enumerate(self.feature_names_in_)
        ]
        self.center_ = np.array([m for m, _ in stats])
        self.scale_ = np.array([s for _, s in stats])

    def _phase(self, times: np.ndarray) -> np.ndarray:
        steps = np.rint((np.asarray(times) - self.origin_ms_) / self.step_ms_).astype(np.int64)
        return np.mod(steps, self.period_)

    def _residuals(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        deseasonalised = values - self.seasonal_[self._phase(times)]
        past = pd.DataFrame(deseasonalised).shift(1)
        level = past.rolling(self.level_window_, min_periods=1).median().to_numpy()
        # a point without any past value (start of a stretch scored alone): the training level
        level = np.where(np.isnan(level), self.train_level_, level)
        return deseasonalised - level

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        return np.abs(self._residuals(values, times) - self.center_) / self.scale_
