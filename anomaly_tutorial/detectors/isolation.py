"""Isolation Forest: anomalies are isolated by fewer random axis-aligned splits [Liu et al. 2008].

Cost: ``O(n_estimators * max_samples * log max_samples)`` to fit, ``O(n_estimators * log
max_samples)`` per scored row, independent of the training-set size. Failure mode: axis-aligned
splits miss anomalies that are only unusual in a combination of features lying inside the range
of every single feature (e.g. points between two clusters, or off a diagonal).
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest

from anomaly_tutorial.detectors.base import BaseDetector

__all__ = ["IsolationForestDetector"]


class IsolationForestDetector(BaseDetector):
    """Isolation Forest; score in (0, 1], higher = shorter average path = more anomalous.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees (PyOD's default).
    max_samples : int, float or "auto", default="auto"
        Rows per tree; ``"auto"`` is ``min(256, n_samples)`` as in the original paper.
    max_features : float or int, default=1.0
        Features drawn per tree.
    random_state : int or None, default=0
        Seed of the random trees (fixed by default, so two fits give the same scores).
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold; overrides ``contamination``.

    Attributes
    ----------
    forest_ : sklearn.ensemble.IsolationForest
        The fitted scikit-learn forest.
    threshold_ : float
        Score above which :meth:`predict` returns 1.

    Notes
    -----
    The score is ``-IsolationForest.score_samples``: the paper's ``s(x, n) = 2 ** (-E[h(x)] /
    c(n))``.
    """

    #: scikit-learn's forest works in float32, whose largest value is 3.4e38.
    max_abs_value = 1e38

    def __init__(
        self,
        n_estimators: int = 100,
        max_samples: int | float | str = "auto",
        max_features: float | int = 1.0,
        random_state: int | None = 0,
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.random_state = random_state
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            max_features=self.max_features,
            random_state=self.random_state,
        ).fit(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.forest_.score_samples(X)
