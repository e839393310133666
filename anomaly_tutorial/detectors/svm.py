"""One-Class SVM: a kernel boundary around the training data [Schölkopf et al. 2001].

Cost: fitting solves a quadratic programme, between ``O(n^2)`` and ``O(n^3)`` in the number of
training rows, so subsample beyond a few thousand rows; scoring costs one kernel evaluation per
support vector. Failure mode: the RBF width ``gamma`` sets everything; ``gamma`` too large makes
every unseen row look anomalous, too small gives an ellipse that ignores structure.
"""

from __future__ import annotations

import numpy as np
from sklearn.svm import OneClassSVM

from anomaly_tutorial.detectors.base import BaseDetector

__all__ = ["OCSVMDetector"]


class OCSVMDetector(BaseDetector):
    """One-Class SVM; score = minus the SVM decision value (higher = further outside the boundary).

    Parameters
    ----------
    kernel : str, default="rbf"
        Kernel of ``sklearn.svm.OneClassSVM``.
    nu : float, default=0.5
        Upper bound on the share of training rows outside the boundary (PyOD's default 0.5).
    gamma : float or {"auto", "scale"}, default="auto"
        RBF width; ``"auto"`` is ``1 / n_features`` (PyOD's default).
    tol : float, default=1e-3
        Stopping tolerance of the solver.
    max_iter : int, default=-1
        Iteration cap of the solver (``-1``: none).
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit threshold; ``0.0`` reproduces the SVM's own boundary.

    Attributes
    ----------
    svm_ : sklearn.svm.OneClassSVM
        The fitted model.
    threshold_ : float
        Score above which :meth:`predict` returns 1.
    """

    def __init__(
        self,
        kernel: str = "rbf",
        nu: float = 0.5,
        gamma: float | str = "auto",
        tol: float = 1e-3,
        max_iter: int = -1,
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.kernel = kernel
        self.nu = nu
        self.gamma = gamma
        self.tol = tol
        self.max_iter = max_iter
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        self.svm_ = OneClassSVM(
            kernel=self.kernel, nu=self.nu, gamma=self.gamma, tol=self.tol, max_iter=self.max_iter
        ).fit(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.svm_.decision_function(X)
