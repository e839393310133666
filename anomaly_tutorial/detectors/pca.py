"""PCA-based scores: reconstruction error and variance-weighted projections [Shyu et al. 2003].

Normal rows lie close to a low-dimensional linear subspace; anomalies have large components
along the directions of small training variance. Cost: ``O(n d^2 + d^3)`` to fit, ``O(d^2)``
per scored row. Failure mode: a linear subspace cannot follow curved or multimodal structure.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from anomaly_tutorial.detectors.base import BaseDetector

__all__ = ["PCADetector"]

_METHODS = ("weighted", "reconstruction", "pyod")


class PCADetector(BaseDetector):
    """PCA anomaly score; higher = more anomalous.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Components kept: an int, a float in (0, 1) for a share of variance, or ``None`` for all
        components (``"weighted"``, ``"pyod"``) or the components explaining 90 % of the
        variance (``"reconstruction"``).
    method : {"weighted", "reconstruction", "pyod"}, default="weighted"
        ``"weighted"``: ``sum_j (x . v_j)^2 / lambda_j`` over the kept components (with all
        components this is the squared Mahalanobis distance of the standardised row).
        ``"reconstruction"``: squared error of the row rebuilt from the kept components.
        ``"pyod"``: PyOD ``PCA``'s score, ``sum_j ||x - v_j|| / r_j`` with ``r_j`` the explained
        variance ratio of component ``v_j`` (a distance to each unit eigenvector taken as a
        point), kept to compare with the ADBench paper.
    standardize : bool, default=True
        Standardise features (mean 0, variance 1 on the training rows) before the PCA, as PyOD.
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold; overrides ``contamination``.

    Attributes
    ----------
    pca_ : sklearn.decomposition.PCA
        The fitted PCA (on standardised data when ``standardize``).
    kept_ : numpy.ndarray of bool
        Components used by the score (components with zero variance are never used).
    """

    needs_variation = True

    def __init__(
        self,
        n_components: int | float | None = None,
        method: str = "weighted",
        standardize: bool = True,
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.n_components = n_components
        self.method = method
        self.standardize = standardize
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}")
        self.scaler_ = StandardScaler().fit(X) if self.standardize else None
        Z = self._standardize(X)
        self.pca_ = PCA(svd_solver="full").fit(Z)
        var = self.pca_.explained_variance_
        nonzero = var > 1e-12 * max(float(var.max()), 1e-300)
        n_total = var.size
        n_keep = self._n_keep(n_total)
        position = np.arange(n_total)
        self.kept_ = nonzero & (position < n_keep)
        if not self.kept_.any():
            self.kept_ = position == 0

    def _n_keep(self, n_total: int) -> int:
        n = self.n_components
        if n is None:
            if self.method != "reconstruction":
                return n_total
            n = 0.9
        if isinstance(n, bool) or not isinstance(n, int | float | np.integer | np.floating):
            raise ValueError(f"n_components must be an int, a float in (0, 1) or None, got {n!r}")
        if isinstance(n, float | np.floating):
            if not 0.0 < n < 1.0:
                raise ValueError(f"a float n_components must be in (0, 1), got {n}")
            cumulative = np.cumsum(self.pca_.explained_variance_ratio_)
            return int(np.searchsorted(cumulative, n) + 1)
        if n < 1:
            raise ValueError(f"n_components must be >= 1, got {n}")
        return min(int(n), n_total)

    def _standardize(self, X: np.ndarray) -> np.ndarray:
        return self.scaler_.transform(X) if self.scaler_ is not None else X

    def _score(self, X: np.ndarray) -> np.ndarray:
        Z = self._standardize(X)
        comps = self.pca_.components_[self.kept_]
        if self.method == "pyod":
            ratio = self.pca_.explained_variance_ratio_[self.kept_]
            return (cdist(Z, comps) / ratio).sum(axis=1)
        proj = (Z - self.pca_.mean_) @ comps.T
        if self.method == "weighted":
            return (proj**2 / self.pca_.explained_variance_[self.kept_]).sum(axis=1)
        centred = Z - self.pca_.mean_
        return ((centred - proj @ comps) ** 2).sum(axis=1)
