"""Common base class of every detector: validation, threshold, ``predict``.

Conventions (shared by every detector in :mod:`anomaly_tutorial.detectors`):

* ``fit(X)`` learns from training rows only; labels are never used.
* ``score_samples(X)`` returns one float per row, **higher = more anomalous**. This is the
  opposite sign of scikit-learn's ``OutlierMixin`` estimators (``IsolationForest``,
  ``LocalOutlierFactor``), whose ``score_samples`` is higher = more normal.
* ``predict(X)`` returns ``1`` for an anomaly and ``0`` for a normal row (scikit-learn outlier
  detectors return ``-1``/``+1``). A row is an anomaly when its score is strictly above
  ``threshold_``.
* ``threshold_`` is the explicit ``threshold`` parameter when given, otherwise the
  ``1 - contamination`` quantile of the training scores.

Because of the two sign/label differences the detectors do **not** declare scikit-learn's
outlier-detector estimator type; the scikit-learn checks that would assume it are not run on
them (see ``tests/test_detectors_sklearn_checks.py``).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["BaseDetector", "check_contamination"]


def check_contamination(contamination: float) -> float:
    """Validate a contamination rate and return it as a float.

    Parameters
    ----------
    contamination : float
        Expected share of anomalies in the training data, in ``(0, 0.5]``.

    Returns
    -------
    float
        The validated rate.

    Raises
    ------
    ValueError
        If ``contamination`` is not a number in ``(0, 0.5]``.
    """
    if isinstance(contamination, bool) or not isinstance(contamination, Real):
        raise ValueError(f"contamination must be a number in (0, 0.5], got {contamination!r}")
    value = float(contamination)
    if not 0.0 < value <= 0.5:
        raise ValueError(f"contamination must be in (0, 0.5], got {value}")
    return value


class BaseDetector(BaseEstimator):
    """Base class: subclasses implement ``_fit(X)`` and ``_score(X)`` on validated arrays.

    Subclasses may override ``_training_scores(X)`` when scoring the training rows needs care
    (for example excluding each row from its own neighbours).

    Parameters of every subclass include ``contamination`` (float in ``(0, 0.5]``, default 0.1)
    and ``threshold`` (float or ``None``): see :meth:`fit`.
    """

    def fit(self, X, y=None):
        """Fit the detector on training rows and set ``threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; must be finite (no NaN or inf).
        y : ignored
            Accepted for pipeline compatibility; labels are not used.

        Returns
        -------
        self
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        contamination = check_contamination(self.contamination)
        self._fit(X)
        scores = np.asarray(self._training_scores(X), dtype=np.float64)
        self.training_scores_ = scores
        if self.threshold is None:
            self.threshold_ = float(np.quantile(scores, 1.0 - contamination))
        else:
            if isinstance(self.threshold, bool) or not isinstance(self.threshold, Real):
                raise ValueError(f"threshold must be a number or None, got {self.threshold!r}")
            if not np.isfinite(self.threshold):
                raise ValueError(f"threshold must be finite, got {self.threshold}")
            self.threshold_ = float(self.threshold)
        return self

    def _validate_for_scoring(self, X) -> np.ndarray:
        check_is_fitted(self, "threshold_")
        return validate_data(self, X, dtype=np.float64, reset=False)

    def score_samples(self, X) -> np.ndarray:
        """Anomaly score of each row: higher = more anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score, with the same columns as the training data.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        X = self._validate_for_scoring(X)
        return np.asarray(self._score(X), dtype=np.float64)

    def decision_function(self, X) -> np.ndarray:
        """Score minus ``threshold_``: positive means the row is flagged as an anomaly."""
        return self.score_samples(X) - self.threshold_

    def predict(self, X) -> np.ndarray:
        """Label each row: ``1`` = anomaly (score above ``threshold_``), ``0`` = normal."""
        return (self.score_samples(X) > self.threshold_).astype(np.int64)

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit on ``X`` and return its labels (``1`` = anomaly, ``0`` = normal)."""
        return self.fit(X).predict(X)

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        return self._score(X)

    def _fit(self, X: np.ndarray) -> None:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must implement _fit")

    def _score(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must implement _score")
