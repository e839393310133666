"""Score drift and alert quality: is the detector still calibrated, and are its alerts good?

* :func:`p_value_uniformity`: conformal p-values of traffic like the calibration period's are
  uniform; the Kolmogorov-Smirnov test against U(0, 1) (:func:`scipy.stats.kstest`) says how
  far a window is from that. Incidents make a few p-values small; drift shifts the whole
  distribution (many small p-values: false alarms; too few: a detector gone quiet).
* :func:`alert_rate`: alerts per window against the alert budget.
* :func:`alert_precision`: precision of the alerts from an analyst-labelled sample, with a
  Wilson (or exact Clopper-Pearson) interval from :func:`statsmodels.stats.proportion.
  proportion_confint`; :func:`review_sample` draws that sample (seeded).

Public objects: :func:`p_value_uniformity`, :func:`alert_rate`, :func:`alert_precision`,
:func:`review_sample`, :class:`PrecisionEstimate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "PrecisionEstimate",
    "alert_precision",
    "alert_rate",
    "p_value_uniformity",
    "review_sample",
]

DAY_MS = 86_400_000


def p_value_uniformity(p_values: Any) -> tuple[float, float]:
    """KS statistic and p-value of ``p_values`` against the uniform distribution on [0, 1].

    Conformal p-values are discrete (multiples of ``1 / (n + 1)``); with a calibration set of a
    few thousand scores the effect on the test is negligible.

    Raises
    ------
    ValueError
        If ``p_values`` is empty, holds NaN, or a value outside [0, 1].
    """
    p = np.asarray(p_values, dtype="float64").ravel()
    if p.size == 0:
        raise ValueError("p_values: empty; a window needs scored events to test")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"p_values: {int(bad.sum())} values are NaN or outside [0, 1] (first at position "
            f"{i}: {p[i]!r})"
        )
    result = stats.kstest(p, "uniform")
    return float(result.statistic), float(result.pvalue)


def alert_rate(
    alerts: Any, times: Any, *, start_ms: int, end_ms: int, window_ms: int = DAY_MS
) -> pd.Series:
    """Number of alerts in each window ``[start + k w, start + (k+1) w)``, indexed by the
    window start (epoch ms); windows without alerts count 0.

    Raises
    ------
    ValueError
        If the lengths differ, a time is missing or outside the period.
    """
    flags = np.asarray(alerts, dtype=bool).ravel()
    t = np.asarray(times, dtype="float64").ravel()
    if flags.size != t.size:
        raise ValueError(f"alerts has {flags.size} values and times {t.size}; they must match")
    outside = ~np.isfinite(t) | (t < start_ms) | (t >= end_ms)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"times: {int(outside.sum())} values are missing or outside [{start_ms}, {end_ms}) "
            f"(first at position {i}: {t[i]!r})"
        )
    n_windows = int(np.ceil((end_ms - start_ms) / window_ms))
    index = ((t[flags] - start_ms) // window_ms).astype(np.int64)
    counts = np.bincount(index, minlength=n_windows)
    starts = start_ms + window_ms * np.arange(n_windows, dtype=np.int64)
    return pd.Series(counts, index=pd.Index(starts, name="window_start"), name="alerts")


@dataclass(frozen=True)
class PrecisionEstimate:
    """Precision of alerts estimated from a labelled sample.

    Attributes
    ----------
    precision : float
        True alerts / labelled alerts.
    low, high : float
        The confidence interval.
    n_labelled, n_true : int
    confidence : float
    method : str
    """

    precision: float
    low: float
    high: float
    n_labelled: int
    n_true: int
    confidence: float
    method: str


def alert_precision(
    labels: Any, *, confidence: float = 0.95, method: str = "wilson"
) -> PrecisionEstimate:
    """Precision of alerts from analyst labels (``True`` = a real problem) with an interval.

    Parameters
    ----------
    labels
        One boolean per reviewed alert.
    confidence
        Coverage of the interval.
    method
        ``"wilson"`` (Wilson score interval, good coverage for small samples) or ``"beta"``
        (Clopper-Pearson, exact and conservative), as in statsmodels.

    Raises
    ------
    ValueError
        If no alert was labelled, a label is missing, or a parameter is invalid.
    """
    from statsmodels.stats.proportion import proportion_confint

    if method not in ("wilson", "beta"):
        raise ValueError(f"method: must be 'wilson' or 'beta', got {method!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: must be in (0, 1), got {confidence!r}")
    series = pd.Series(labels, dtype=object)
    if series.empty:
        raise ValueError("labels: no alert was labelled; precision needs a reviewed sample")
    if series.isna().any():
        i = int(np.flatnonzero(series.isna().to_numpy())[0])
        raise ValueError(f"labels: alert at position {i} has no label; label it or leave it out")
    flags = series.astype(bool).to_numpy()
    n, k = int(flags.size), int(flags.sum())
    low, high = proportion_confint(k, n, alpha=1 - confidence, method=method)
    return PrecisionEstimate(k / n, float(low), float(high), n, k, float(confidence), method)


def review_sample(alert_ids: Any, n: int, *, seed: int = 0) -> np.ndarray:
    """A uniform random sample (without replacement) of ``n`` alert ids for analyst review,
    in their original order; all of them when there are fewer."""
    ids = np.asarray(alert_ids, dtype=object).ravel()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: must be a positive integer, got {n!r}")
    if ids.size <= n:
        return ids.copy()
    rng = np.random.default_rng(seed)
    return ids[np.sort(rng.choice(ids.size, n, replace=False))]
