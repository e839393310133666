"""Per-feature distribution detectors that assume independent features: ECOD and HBOS.

* :class:`ECODDetector`: empirical-cumulative-distribution outlier detection [Li et al. 2022].
  Each feature's tail probability under the training ECDF; the score adds their negative logs.
* :class:`HBOSDetector`: histogram-based outlier score [Goldstein & Dengel 2012]; the score adds
  the negative log of each feature's histogram density.

Both cost ``O(n d log n)`` to fit and ``O(d log n)`` per scored row, have (almost) no
hyperparameters, and share one failure mode: an anomaly that is unusual only in a combination
of features, each value being common on its own, scores as normal.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import skew

from anomaly_tutorial.detectors.base import BaseDetector

__all__ = ["ECODDetector", "HBOSDetector"]


class ECODDetector(BaseDetector):
    """ECOD: sum of negative log tail probabilities under per-feature training ECDFs.

    Parameters
    ----------
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold; overrides ``contamination``.

    Attributes
    ----------
    sorted_train_ : numpy.ndarray of shape (n_train, n_features)
        Each training column sorted (the ECDFs).
    skew_negative_ : numpy.ndarray of bool
        Features whose training skewness is negative (their left tail is the outlying one).

    Notes
    -----
    Implemented from the paper, not copied from PyOD. For feature ``j`` the left tail is
    ``F_l(x_j) = (#{train <= x_j} + 1) / (n + 1)`` and the right tail
    ``F_r(x_j) = (#{train >= x_j} + 1) / (n + 1)`` (the ``+1`` counts the scored row as if it
    were added to the sample, so values outside the training range stay finite). With
    ``O_l = -sum_j log F_l``, ``O_r = -sum_j log F_r`` and ``O_s`` the same sum using, per
    feature, the tail on the side of its skewness, the score is ``max(O_l, O_r, O_s)``
    (Algorithm 1 of Li et al. 2022; PyOD instead takes the maximum per feature before summing).
    """

    #: ECOD uses only ranks (and the sign of the skewness), so any finite magnitude is fine.
    max_abs_value = None

    def __init__(self, contamination: float = 0.1, threshold: float | None = None) -> None:
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        self.sorted_train_ = np.sort(X, axis=0)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # a constant column has no skewness: scipy warns and returns NaN, taken as 0 below
            warnings.filterwarnings("ignore", message="Precision loss occurred in moment")
            skewness = skew(X, axis=0)
        self.skew_negative_ = np.nan_to_num(skewness, nan=0.0) < 0

    def _score(self, X: np.ndarray) -> np.ndarray:
        n = self.sorted_train_.shape[0]
        log_left = np.empty_like(X)
        log_right = np.empty_like(X)
        for j in range(X.shape[1]):
            col = self.sorted_train_[:, j]
            below = np.searchsorted(col, X[:, j], side="right")
            above = n - np.searchsorted(col, X[:, j], side="left")
            log_left[:, j] = -np.log((below + 1.0) / (n + 1.0))
            log_right[:, j] = -np.log((above + 1.0) / (n + 1.0))
        o_left = log_left.sum(axis=1)
        o_right = log_right.sum(axis=1)
        o_skew = np.where(self.skew_negative_, log_left, log_right).sum(axis=1)
        return np.maximum(np.maximum(o_left, o_right), o_skew)


class HBOSDetector(BaseDetector):
    """HBOS: sum over features of ``-log2(histogram density + alpha)``.

    Parameters
    ----------
    n_bins : int, default=10
        Equal-width bins per feature.
    alpha : float, default=0.1
        Added to every density before the log (keeps empty bins finite).
    tol : float, default=0.5
        A value outside the training range by at most ``tol`` bin widths gets the edge bin's
        density; further out it gets the lowest density of that feature.
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold; overrides ``contamination``.

    Attributes
    ----------
    bin_edges_ : numpy.ndarray of shape (n_bins + 1, n_features)
    log_density_ : numpy.ndarray of shape (n_bins, n_features)
        ``log2(density + alpha)`` of each bin.

    Notes
    -----
    Follows PyOD's ``HBOS`` with static bins (same defaults and out-of-range rule).
    """

    def __init__(
        self,
        n_bins: int = 10,
        alpha: float = 0.1,
        tol: float = 0.5,
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.n_bins = n_bins
        self.alpha = alpha
        self.tol = tol
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        if isinstance(self.n_bins, bool) or not isinstance(self.n_bins, int | np.integer):
            raise ValueError(f"n_bins must be a positive integer, got {self.n_bins!r}")
        if self.n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {self.n_bins}")
        n_bins = int(self.n_bins)
        edges = np.empty((n_bins + 1, X.shape[1]))
        log_density = np.empty((n_bins, X.shape[1]))
        for j in range(X.shape[1]):
            hist, edges[:, j] = np.histogram(X[:, j], bins=n_bins, density=True)
            log_density[:, j] = np.log2(hist + self.alpha)
        self.bin_edges_ = edges
        self.log_density_ = log_density

    def _score(self, X: np.ndarray) -> np.ndarray:
        n_bins = self.log_density_.shape[0]
        total = np.zeros(X.shape[0])
        for j in range(X.shape[1]):
            edges = self.bin_edges_[:, j]
            dens = self.log_density_[:, j]
            x = X[:, j]
            inds = np.digitize(x, edges, right=False)
            vals = dens[np.clip(inds - 1, 0, n_bins - 1)]
            low_width = edges[1] - edges[0]
            high_width = edges[-1] - edges[-2]
            too_low = (inds == 0) & (edges[0] - x > low_width * self.tol)
            too_high = (inds == n_bins + 1) & (x - edges[-1] > high_width * self.tol)
            vals = np.where(too_low | too_high, dens.min(), vals)
            total += vals
        return -total
