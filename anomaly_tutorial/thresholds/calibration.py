"""Conformal calibration: turn any detector's scores into p-values against a normal period.

Scores of different detectors live on different scales; a p-value does not. Given the scores
``c_1 .. c_n`` of a held-out calibration period (normal, or mostly normal), the conformal
p-value of a new score ``s`` is

    p(s) = (1 + #{i : c_i >= s}) / (n + 1).

When the new score and the calibration scores are exchangeable (same distribution, e.g. both
normal traffic), ``P(p(s) <= a) <= a`` for every level ``a``: the p-value is super-uniform,
whatever the detector (Vovk et al. 2005; Bates et al. 2023). Anomalies in the calibration
period inflate the upper tail of the calibration scores, so p-values of real anomalies become
larger (fewer alerts, lost power) while p-values of normal traffic stay valid: contamination
makes the calibrator conservative, not wrong.

Public objects: :class:`ConformalCalibrator`, :func:`anomaly_score_0_100`,
:func:`benjamini_hochberg`, :func:`false_discovery_proportion`.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial.evaluate.metrics import as_binary, as_scores


class ConformalCalibrator(BaseEstimator):
    """Conformal p-values of anomaly scores against a calibration period.

    Attributes
    ----------
    calibration_scores_ : numpy.ndarray
        The sorted calibration scores.
    n_calibration_ : int
        How many there are (the smallest possible p-value is ``1 / (n + 1)``).

    Notes
    -----
    Fit on scores the detector gave to a period it was **not** trained on (a validation
    period): training scores are optimistically low, which makes p-values too small.
    """

    def fit(self, calibration_scores: ArrayLike) -> ConformalCalibrator:
        """Store the calibration scores.

        Raises
        ------
        ValueError
            If the scores are empty, not one-dimensional, or contain NaN or inf.
        """
        scores = as_scores(np.asarray(calibration_scores), "calibration_scores")
        if scores.size == 0:
            raise ValueError("calibration_scores: empty; a calibration period needs scores")
        self.calibration_scores_ = np.sort(scores)
        self.n_calibration_ = int(scores.size)
        return self

    def p_values(self, scores: ArrayLike) -> np.ndarray:
        """Conformal p-value of each score, in ``[1 / (n + 1), 1]``; smaller = more anomalous."""
        check_is_fitted(self, "calibration_scores_")
        s = as_scores(np.asarray(scores), "scores")
        n_at_least = self.n_calibration_ - np.searchsorted(self.calibration_scores_, s, side="left")
        return (1.0 + n_at_least) / (self.n_calibration_ + 1.0)


def anomaly_score_0_100(p_values: ArrayLike) -> np.ndarray:
    """A 0-100 score for people, derived from p-values and monotone in them.

    ``100 * log10(p) / log10(1e-6)``, clipped to [0, 100]: 0 for ``p = 1`` and 100 for
    ``p = 1e-6`` or below, on a log scale so that 1 in 100 reads 33, 1 in 10,000 reads 67 and
    1 in 1,000,000 reads 100 (the shape of Elastic ML's 0-100 anomaly score, which is also a
    normalised log-probability).

    Raises
    ------
    ValueError
        If a p-value is NaN or outside (0, 1].
    """
    p = np.asarray(p_values, dtype="float64")
    if p.ndim != 1 and p.ndim != 0:
        raise ValueError(f"p_values: expected a 1-d array, got shape {p.shape}")
    bad = ~np.isfinite(p) | (p <= 0) | (p > 1)
    if bad.any():
        i = int(np.flatnonzero(np.atleast_1d(bad))[0])
        value = np.atleast_1d(p)[i]
        raise ValueError(f"p_values: must lie in (0, 1], got {value!r} at position {i}")
    return np.clip(100.0 * np.log10(p) / np.log10(1e-6), 0.0, 100.0) + 0.0


def _check_level(q: object, name: str = "q") -> float:
    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not np.isfinite(float(q)):
        raise ValueError(f"{name}: must be a number strictly between 0 and 1, got {q!r}")
    if not 0.0 < float(q) < 1.0:
        raise ValueError(f"{name}: must be strictly between 0 and 1, got {q!r}")
    return float(q)


def benjamini_hochberg(p_values: ArrayLike, q: float) -> np.ndarray:
    """Benjamini-Hochberg step-up procedure: which hypotheses to reject at FDR level ``q``.

    With the ``m`` p-values sorted, ``p_(1) <= ... <= p_(m)``, let ``k`` be the largest ``i``
    with ``p_(i) <= q * i / m``; reject the ``k`` smallest (none when there is no such ``i``).
    On conformal p-values of a batch of new scores against one calibration set, the expected
    share of false alarms among the alerts (the false discovery rate) is at most
    ``q * m0 / m <= q``, where ``m0`` counts the normal items in the batch (Bates et al., 2023:
    conformal p-values are positively dependent in the way BH needs).

    Parameters
    ----------
    p_values : array-like
        One p-value per item of the batch, in [0, 1].
    q : float
        Target false discovery rate, strictly between 0 and 1.

    Returns
    -------
    numpy.ndarray of bool
        True for the rejected hypotheses (the alerts), in the input order.

    Raises
    ------
    ValueError
        If ``q`` is outside (0, 1), or a p-value is NaN or outside [0, 1] (the message gives
        its position).
    """
    level = _check_level(q)
    p = as_scores(np.asarray(p_values), "p_values")
    bad = (p < 0) | (p > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"p_values: must lie in [0, 1], got {p[i]!r} at position {i}")
    m = p.size
    order = np.argsort(p, kind="stable")
    below = p[order] <= level * np.arange(1, m + 1) / m
    rejected = np.zeros(m, dtype=bool)
    if below.any():
        k = int(np.flatnonzero(below)[-1]) + 1
        rejected[order[:k]] = True
    return rejected


def false_discovery_proportion(alerts: ArrayLike, is_anomaly: ArrayLike) -> float:
    """Share of false alarms among the alerts (0.0 when there are no alerts).

    Averaged over repetitions this estimates the false discovery rate.

    Raises
    ------
    ValueError
        If the two arrays are not 0/1 or differ in length.
    """
    flags = as_binary(alerts, "alerts")
    y = as_binary(is_anomaly, "is_anomaly")
    if flags.shape != y.shape:
        raise ValueError(
            f"alerts and is_anomaly must have the same length, got {flags.size} and {y.size}"
        )
    n_alerts = int(flags.sum())
    return float((flags & ~y).sum() / n_alerts) if n_alerts else 0.0
