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

Input validation is central (:meth:`BaseDetector.fit` and :meth:`BaseDetector.score_samples`),
so that every detector refuses bad input with a message naming the row, the column and the
problem, before the algorithm runs:

* a cell that is not a number (``"n/a"``), rows of different lengths, NaN or infinity;
* magnitudes beyond :attr:`BaseDetector.max_abs_value` (``1e100`` unless a detector says
  otherwise), where squared distances, variances or histogram widths overflow or lose all
  precision (``HDBSCAN`` on values near ``1e200`` otherwise exhausts memory; ``k-NN`` and
  ``k-means`` return NaN);
* fewer training rows than the detector needs (:meth:`BaseDetector._min_training_rows`);
* identical training rows for detectors that need variation (:attr:`BaseDetector.needs_variation`).

After fitting and scoring, a detector never returns a NaN or infinite score or ``threshold_``
silently: it raises a ``ValueError`` that says which rows and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["BaseDetector", "check_contamination", "locate_bad_cell"]

#: Default :attr:`BaseDetector.max_abs_value`: squares of differences of such values (1e200)
#: and sums of millions of them stay far from float64's overflow at 1.8e308.
MAX_ABS_VALUE = 1e100


def _cell(value: Any) -> str:
    """``repr`` of a cell for a message, cut to 60 characters (the detectors do not import io)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}... ({len(text)} characters)"


def _column_name(X: Any, j: int) -> str:
    columns = getattr(X, "columns", None)
    if columns is not None and j < len(columns):
        return f"column {j} ({columns[j]!r})"
    return f"column {j}"


def locate_bad_cell(X: Any) -> str | None:
    """Where ``X`` cannot become a finite 2-D float array: ``"row 3, column 1: ..."``, or ``None``.

    Finds rows of unequal length, cells that are not numbers (``"n/a"``, ``None``, a dict) and
    NaN or infinite cells. Used to turn numpy's and scikit-learn's messages, which name no
    cell, into ones a user can act on. Slow (a Python loop), so only called after an error.
    """
    if hasattr(X, "iloc"):  # a DataFrame
        try:
            values = X.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            values = X.to_numpy(dtype=object)
    elif isinstance(X, np.ndarray):
        values = X
    elif isinstance(X, Sequence) and not isinstance(X, (str, bytes)):
        rows = list(X)
        for i, row in enumerate(rows):
            if not isinstance(row, Sequence) or isinstance(row, (str, bytes)):
                return f"row {i}: expected a sequence of numbers, found {_cell(row)}"
        lengths = [len(row) for row in rows]
        for i, length in enumerate(lengths):
            if length != lengths[0]:
                return (
                    f"row {i} has {length} values but row 0 has {lengths[0]}; every row needs "
                    "the same number of columns"
                )
        values = np.empty((len(rows), lengths[0] if rows else 0), dtype=object)
        for i, row in enumerate(rows):
            for j, cell in enumerate(row):
                values[i, j] = cell
    else:
        return None
    if values.ndim != 2:
        return None
    if values.dtype == object:
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                cell = values[i, j]
                if isinstance(cell, (bool, np.bool_)):
                    continue
                try:
                    number = float(cell)
                except (TypeError, ValueError):
                    return f"row {i}, {_column_name(X, j)}: {_cell(cell)} is not a number"
                if not np.isfinite(number):
                    kind = "NaN" if number != number else "infinite"
                    return f"row {i}, {_column_name(X, j)} is {kind}; detectors need finite numbers"
        return None
    if values.dtype.kind in "fc":
        bad = np.argwhere(~np.isfinite(values))
        if bad.size:
            i, j = (int(k) for k in bad[0])
            kind = "NaN" if np.isnan(values[i, j]) else "infinite"
            return (
                f"row {i}, {_column_name(X, j)} is {kind} ({bad.shape[0]} non-finite cells "
                "in all); impute or drop missing values first"
            )
    return None


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

    #: Largest absolute input value accepted (``None``: no limit). Detectors whose arithmetic
    #: is scale-free (ranks, random axis-aligned splits) set ``None``.
    max_abs_value: float | None = MAX_ABS_VALUE
    #: Whether identical training rows are refused (detectors that estimate directions or a
    #: covariance learn nothing from them and would score every new row the same).
    needs_variation: bool = False

    def _min_training_rows(self) -> tuple[int, str]:
        """Fewest training rows the detector can fit, and why (for the message)."""
        return 2, ""

    def _validated(self, X, *, reset: bool) -> np.ndarray:
        """``validate_data`` with messages that name the bad cell, then the magnitude check."""
        name = type(self).__name__
        try:
            if reset:
                X_checked = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
            else:
                X_checked = validate_data(self, X, dtype=np.float64, reset=False)
        except (TypeError, ValueError) as exc:
            try:
                where = locate_bad_cell(X)
            except Exception:  # the diagnosis must never hide the original error
                where = None
            if where is None:
                raise
            original = str(exc).strip().splitlines()[0][:160]
            raise type(exc)(f"{name}: X: {where} ({original})") from exc
        limit = self.max_abs_value
        if limit is not None and X_checked.size:
            magnitude = np.abs(X_checked)
            if float(magnitude.max()) > limit:
                i, j = (int(k) for k in np.unravel_index(np.argmax(magnitude), X_checked.shape))
                raise ValueError(
                    f"{name}: X: row {i}, {_column_name(X, j)} holds {X_checked[i, j]:.3g}, beyond "
                    f"the {limit:.0e} this detector accepts: its squared distances, variances or "
                    "bin widths would overflow or lose all precision. Rescale the features first "
                    "(for example StandardScaler, or log1p for counts)"
                )
        return X_checked

    def _check_scores(self, scores: np.ndarray, what: str) -> np.ndarray:
        bad = np.flatnonzero(~np.isfinite(scores))
        if bad.size:
            rows = ", ".join(str(r) for r in bad[:5]) + (" ..." if bad.size > 5 else "")
            raise ValueError(
                f"{type(self).__name__}: {bad.size} of {scores.size} {what} are NaN or infinite "
                f"(rows {rows}); the data is degenerate for this detector (identical rows, "
                "constant or collinear columns, or extreme magnitudes)"
            )
        return scores

    def fit(self, X, y=None):
        """Fit the detector on training rows and set ``threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data: finite numbers (no NaN, inf or non-numeric cells), at most
            :attr:`max_abs_value` in magnitude.
        y : ignored
            Accepted for pipeline compatibility; labels are not used.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Naming the row and column of a bad cell, or saying why the data cannot be fitted
            (too few rows, identical rows, magnitudes too large), or if fitting produced
            non-finite scores.
        """
        X = self._validated(X, reset=True)
        contamination = check_contamination(self.contamination)
        name = type(self).__name__
        needed, why = self._min_training_rows()
        if X.shape[0] < needed:
            raise ValueError(f"{name} needs at least {needed} training rows{why}, got {X.shape[0]}")
        if self.needs_variation and not np.any(X != X[0]):
            raise ValueError(
                f"{name}: X: all {X.shape[0]} training rows are identical; this detector "
                "estimates directions of variation and can learn nothing from them"
            )
        self._fit(X)
        scores = np.asarray(self._training_scores(X), dtype=np.float64)
        self.training_scores_ = self._check_scores(scores, "training scores")
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
        return self._validated(X, reset=False)

    def score_samples(self, X) -> np.ndarray:
        """Anomaly score of each row: higher = more anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score, with the same columns as the training data (validated as in
            :meth:`fit`).

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            Finite scores; a non-finite score raises ``ValueError`` instead.
        """
        X = self._validate_for_scoring(X)
        return self._check_scores(np.asarray(self._score(X), dtype=np.float64), "scores")

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
