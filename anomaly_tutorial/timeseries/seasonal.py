"""Seasonal baseline: a median profile per hour of the day or of the week, learned on training.

Operational metrics follow the working day: CPU at 14:00 on a Tuesday should be compared with
other Tuesdays at 14:00, not with the global mean. :class:`SeasonalProfile` learns, for every
hour-of-day (24 buckets) or hour-of-week (168 buckets), the median and a robust spread of each
metric on the *training* stretch. Scoring a new point is a table look-up: it uses nothing after
the point, so the detector is causal and runs online.

Relation to STL (Cleveland et al., 1990): STL splits a series into trend + seasonal + remainder
with loess smoothers whose windows are centred, so the decomposition at time ``t`` uses points
after ``t``, and re-running it on a growing series changes past components. Anomaly scores from
STL remainders are therefore not causal unless the seasonal part is frozen after training and
the trend is estimated from the past only; :class:`~anomaly_tutorial.timeseries.stl.STLDetector`
does exactly that. The profile here is a frozen seasonal component learned per clock hour;
:class:`~anomaly_tutorial.timeseries.control_charts.EWMADetector` and
:class:`~anomaly_tutorial.timeseries.control_charts.CUSUMDetector` with ``season=...`` track the
level of the de-seasonalised residuals causally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly_tutorial.stats import mad_scale
from anomaly_tutorial.timeseries.base import (
    BaseSeriesDetector,
    floor_scale,
    robust_location_scale,
)

__all__ = ["SEASONS", "SeasonalProfile", "SeasonalProfileDetector", "season_bucket"]

SEASONS = {"hour_of_day": 24, "hour_of_week": 168}
_HOUR_MS = 3_600_000


def season_bucket(times_ms: np.ndarray, season: str) -> np.ndarray:
    """Bucket index of each epoch-millisecond time (UTC).

    Parameters
    ----------
    times_ms : ndarray of int64
    season : {"hour_of_day", "hour_of_week"}

    Returns
    -------
    ndarray of int64
        0..23 for ``hour_of_day``; 0..167 for ``hour_of_week`` (0 = Monday 00:00 UTC).
    """
    if season not in SEASONS:
        raise ValueError(f"season must be one of {sorted(SEASONS)}, got {season!r}")
    hours = np.floor_divide(np.asarray(times_ms, dtype=np.int64), _HOUR_MS)
    if season == "hour_of_day":
        return np.mod(hours, 24)
    # 1970-01-01 was a Thursday: shift so that 0 is Monday 00:00
    return np.mod(hours + 3 * 24, 168)


@dataclass
class SeasonalProfile:
    """Median and robust spread per season bucket and metric, learned on training data.

    Attributes
    ----------
    season : str
    median : ndarray of shape (n_buckets, n_features)
        NaN for buckets with fewer than ``min_points`` training points.
    scale : ndarray of shape (n_buckets, n_features)
    counts : ndarray of shape (n_buckets, n_features)
        Non-missing training points per bucket and metric.
    columns : list of str
    """

    season: str
    median: np.ndarray
    scale: np.ndarray
    counts: np.ndarray
    columns: list[str]

    @classmethod
    def fit(
        cls,
        values: np.ndarray,
        times: np.ndarray,
        season: str,
        columns: list[str],
        min_points: int = 3,
        min_scale_fraction: float = 0.1,
    ) -> SeasonalProfile:
        """Learn the profile.

        Parameters
        ----------
        values : ndarray of shape (n_points, n_features)
        times : ndarray of int64 epoch ms
        season : {"hour_of_day", "hour_of_week"}
        columns : list of str
        min_points : int
            Buckets with fewer training points are left unknown.
        min_scale_fraction : float
            Floor of a bucket's spread, as a fraction of the metric's overall robust spread.

        Returns
        -------
        SeasonalProfile
        """
        buckets = season_bucket(times, season)
        n_buckets = SEASONS[season]
        n_features = values.shape[1]
        frame = pd.DataFrame(values)
        grouped = frame.groupby(buckets)
        counts = np.zeros((n_buckets, n_features), dtype=np.int64)
        median = np.full((n_buckets, n_features), np.nan)
        scale = np.full((n_buckets, n_features), np.nan)
        observed = grouped.count()  # non-missing points per bucket and metric
        known = observed.index.to_numpy()
        counts[known] = observed.to_numpy()
        median[known] = grouped.median().to_numpy()
        scale[known] = grouped.agg(lambda v: mad_scale(v.to_numpy())).to_numpy()
        floors = np.array(
            [
                min_scale_fraction * robust_location_scale(values[:, j], columns[j])[1]
                for j in range(n_features)
            ]
        )
        scale = floor_scale(np.maximum(np.nan_to_num(scale, nan=0.0), floors), median)
        sparse = counts < min_points
        median[sparse] = np.nan
        scale[sparse] = np.nan
        return cls(season, median, scale, counts, list(columns))

    def lookup(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected median and spread at each time.

        Parameters
        ----------
        times : ndarray of int64 epoch ms

        Returns
        -------
        (median, scale) : ndarrays of shape (n_points, n_features)

        Raises
        ------
        ValueError
            If a time falls in a bucket the training data did not cover.
        """
        buckets = season_bucket(times, self.season)
        unknown = np.isnan(self.median[buckets]).any(axis=1)
        if unknown.any():
            missing = np.unique(buckets[unknown])
            known = int((~np.isnan(self.median).any(axis=1)).sum())
            hint = " or use season='hour_of_day'" if self.season == "hour_of_week" else ""
            raise ValueError(
                f"{unknown.sum()} points fall in {self.season} buckets {missing[:5].tolist()}"
                f"{'...' if missing.size > 5 else ''} that the training stretch did not cover "
                f"(it covers {known} of {self.median.shape[0]} buckets); train on a longer "
                f"stretch{hint}"
            )
        return self.median[buckets], self.scale[buckets]


class SeasonalProfileDetector(BaseSeriesDetector):
    """Robust z-score against the training profile of the same hour of the day or week.

    ``score[t] = |x[t] - median_b| / scale_b`` where ``b`` is the season bucket of ``t`` and
    ``median_b``, ``scale_b`` (1.4826 x MAD, floored at ``min_scale_fraction`` of the metric's
    overall robust spread and by :func:`~anomaly_tutorial.timeseries.base.floor_scale`) come
    from the training points of bucket ``b``. Causal: a look-up in a table frozen at fit time.
    Missing training points are ignored; a missing point scores NaN.

    Parameters
    ----------
    season : {"hour_of_day", "hour_of_week"}, default "hour_of_day"
    min_points : int, default 3
        Minimum training points per bucket; scoring a point of an uncovered bucket raises.
    min_scale_fraction : float, default 0.1
        Floor of a bucket's spread as a fraction of the metric's overall robust spread.
    threshold : float or None, default 3.5
    train_quantile : float, default 0.99
    """

    def __init__(
        self,
        season: str = "hour_of_day",
        min_points: int = 3,
        min_scale_fraction: float = 0.1,
        threshold: float | None = 3.5,
        train_quantile: float = 0.99,
    ) -> None:
        self.season = season
        self.min_points = min_points
        self.min_scale_fraction = min_scale_fraction
        self.threshold = threshold
        self.train_quantile = train_quantile

    def _fit_values(self, values: np.ndarray, times: np.ndarray) -> None:
        if self.season not in SEASONS:
            raise ValueError(f"season must be one of {sorted(SEASONS)}, got {self.season!r}")
        self.profile_ = SeasonalProfile.fit(
            values,
            times,
            self.season,
            [str(c) for c in self.feature_names_in_],
            self.min_points,
            self.min_scale_fraction,
        )

    def _score_values(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        median, scale = self.profile_.lookup(times)
        return np.abs(values - median) / scale
