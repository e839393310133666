"""Mahalanobis distance to a robust or shrunk covariance estimate, with its chi-square threshold.

If normal rows follow a ``d``-dimensional Gaussian with mean ``mu`` and covariance ``Sigma``, the
squared Mahalanobis distance ``(x - mu)^T Sigma^{-1} (x - mu)`` of a normal row follows a
chi-square distribution with ``d`` degrees of freedom. :func:`chi2_threshold` turns a tail
probability into a score threshold from that fact, without looking at any anomaly: pass it as
``threshold=`` to flag rows beyond, e.g., the 97.5 % quantile.

The estimate of ``mu`` and ``Sigma`` matters: the plain sample covariance is pulled toward the
anomalies it should expose (masking). The Minimum Covariance Determinant [Rousseeuw 1984;
Rousseeuw & Van Driessen 1999] *seeks* the half of the rows whose covariance has the smallest
determinant; Ledoit-Wolf shrinkage [Ledoit & Wolf 2004] keeps the inverse stable when features
are many or collinear.

What ``covariance="mcd"`` returns is scikit-learn's ``MinCovDet``, and two of its steps matter:

* its FastMCD search starts each trial from a random *half* of the rows (not, as Rousseeuw &
  Van Driessen do, from random ``d + 1``-subsets) and improves it by C-steps, so it can stop in
  a local optimum. On two separated clusters a random half always holds both, and the search
  ends on a flat strip across them even when one cluster plus a few rows has a far smaller
  determinant (``raw_support_`` is the half it found; the chapter "Density, tree and distance
  methods" measures both determinants);
* the scoring covariance (``covariance_``, used by :meth:`MahalanobisDetector.score_samples`) is
  the *reweighted* estimate: the covariance of every row within the 97.5 % chi-square distance
  of the consistency-corrected raw fit, usually far more than half of the rows.

scikit-learn's documentation says ``MinCovDet`` is not meant for multimodal data.

Cost: ``O(n d^2 + d^3)`` to fit (MCD repeats this over many random subsets), ``O(d^2)`` per
scored row. Failure mode: a single ellipse cannot describe multimodal data; a point between
two clusters sits near the pooled mean and looks normal.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2
from sklearn.covariance import EmpiricalCovariance, LedoitWolf, MinCovDet

from anomaly_tutorial.detectors.base import BaseDetector

__all__ = ["MahalanobisDetector", "chi2_threshold"]

_COVARIANCES = ("mcd", "ledoit_wolf", "empirical")


def chi2_threshold(n_features: int, level: float = 0.975) -> float:
    """Squared-Mahalanobis threshold a Gaussian normal row exceeds with probability ``1 - level``.

    Parameters
    ----------
    n_features : int
        Dimension ``d`` (degrees of freedom of the chi-square distribution).
    level : float, default=0.975
        Quantile, in (0, 1).

    Returns
    -------
    float
        ``scipy.stats.chi2.ppf(level, n_features)``.
    """
    if isinstance(n_features, bool) or not isinstance(n_features, int | np.integer):
        raise ValueError(f"n_features must be a positive integer, got {n_features!r}")
    if n_features < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return float(chi2.ppf(level, n_features))


def _check_full_rank(X: np.ndarray, covariance: str) -> None:
    """Refuse training rows whose covariance is singular (constant or collinear columns).

    The inverse of a singular covariance ignores the missing directions, so a row that differs
    from the training rows only there would get a normal score.
    """
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
    rank = np.linalg.matrix_rank(X - X.mean(axis=0))
    if constant.size or rank < X.shape[1]:
        detail = (
            f"columns {constant.tolist()} are constant" if constant.size else "collinear columns"
        )
        raise ValueError(
            f"MahalanobisDetector: X: the training covariance is singular (rank {rank} of "
            f"{X.shape[1]}; {detail}), so rows that differ only along the missing directions "
            "would look normal; drop those columns or use covariance='ledoit_wolf'"
        )


class MahalanobisDetector(BaseDetector):
    """Squared Mahalanobis distance to a fitted location and covariance; higher = more anomalous.

    Parameters
    ----------
    covariance : {"mcd", "ledoit_wolf", "empirical"}, default="mcd"
        ``"mcd"``: scikit-learn's ``MinCovDet`` (robust to up to half of the rows being
        outliers on unimodal data; see the module notes on its search and reweighting);
        ``"ledoit_wolf"``: Ledoit-Wolf shrinkage (stable with many or collinear
        features); ``"empirical"``: plain sample mean and covariance.
    support_fraction : float or None, default=None
        Share of rows the MCD fits on (``None``: scikit-learn's default ``(n + d + 1) / 2n``).
    random_state : int or None, default=0
        Seed of the MCD's random subsets.
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit threshold, e.g. ``chi2_threshold(n_features, 0.975)``.

    Attributes
    ----------
    covariance_estimator_ : sklearn covariance estimator
        The fitted estimator (``location_``, ``covariance_``, ``precision_``).
    threshold_ : float
        Score above which :meth:`predict` returns 1.
    """

    def __init__(
        self,
        covariance: str = "mcd",
        support_fraction: float | None = None,
        random_state: int | None = 0,
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.covariance = covariance
        self.support_fraction = support_fraction
        self.random_state = random_state
        self.contamination = contamination
        self.threshold = threshold

    needs_variation = True

    def _fit(self, X: np.ndarray) -> None:
        if self.covariance in ("mcd", "empirical"):
            _check_full_rank(X, self.covariance)
        if self.covariance == "mcd":
            est = MinCovDet(support_fraction=self.support_fraction, random_state=self.random_state)
        elif self.covariance == "ledoit_wolf":
            est = LedoitWolf()
        elif self.covariance == "empirical":
            est = EmpiricalCovariance()
        else:
            raise ValueError(f"covariance must be one of {_COVARIANCES}, got {self.covariance!r}")
        self.covariance_estimator_ = est.fit(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.covariance_estimator_.mahalanobis(X)
