"""Cyclical calendar features from OCSF ``time`` (epoch milliseconds, UTC)."""

from __future__ import annotations

import numpy as np

__all__ = ["TIME_FEATURE_NAMES", "time_features"]

_MS_PER_DAY = 86_400_000
_MS_PER_HOUR = 3_600_000

#: Column names of :func:`time_features`, in order.
TIME_FEATURE_NAMES: tuple[str, ...] = ("hour_sin", "hour_cos", "dow_sin", "dow_cos", "is_weekend")


def time_features(time_ms: np.ndarray) -> np.ndarray:
    """Encode timestamps as hour-of-day and day-of-week on the unit circle, plus a weekend flag.

    The hour is continuous (``13:30`` is ``13.5``), so 23:59 and 00:00 are neighbours on the
    circle. Days of the week count from Monday = 0; the weekend is Saturday and Sunday. All
    calendar arithmetic is in UTC.

    Parameters
    ----------
    time_ms
        Epoch milliseconds, integer array of shape ``(n,)``.

    Returns
    -------
    numpy.ndarray
        ``float64`` array ``(n, 5)`` with columns :data:`TIME_FEATURE_NAMES`.
    """
    t = np.asarray(time_ms, dtype=np.int64)
    hour = (t % _MS_PER_DAY) / _MS_PER_HOUR
    days = t // _MS_PER_DAY
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    hour_angle = 2.0 * np.pi * hour / 24.0
    dow_angle = 2.0 * np.pi * dow / 7.0
    return np.column_stack(
        [
            np.sin(hour_angle),
            np.cos(hour_angle),
            np.sin(dow_angle),
            np.cos(dow_angle),
            (dow >= 5).astype(np.float64),
        ]
    )
