"""Ensembles: normalise each member's scores, then combine them; or take a majority vote.

Raw scores of different detectors live on different scales (a LOF near 1, a k-NN distance in
feature units), so they are first mapped to a common scale using the member's *training*
scores [Aggarwal & Sathe 2017]:

* ``"rank"``: the share of training scores below the score (an empirical CDF, in [0, 1]);
* ``"robust_z"``: ``(score - median) / mad_scale`` of the training scores
  (:func:`anomaly_tutorial.stats.mad_scale`, 1.4826 x MAD).

Then ``"mean"`` or ``"max"`` combines the normalised scores. ``combination="vote"`` instead
counts the members whose own ``predict`` flags the row; the score is the share of votes and
the default threshold 0.5 makes ``predict`` a strict majority vote.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from anomaly_tutorial.detectors.base import BaseDetector
from anomaly_tutorial.stats import mad_scale

__all__ = ["EnsembleDetector", "normalize_scores"]

_NORMALIZATIONS = ("rank", "robust_z")
_COMBINATIONS = ("mean", "max", "vote")


def normalize_scores(scores: np.ndarray, reference: np.ndarray, method: str) -> np.ndarray:
    """Map ``scores`` onto a scale defined by ``reference`` (a member's training scores).

    Parameters
    ----------
    scores : numpy.ndarray
        Scores to normalise.
    reference : numpy.ndarray
        Training scores of the same detector.
    method : {"rank", "robust_z"}
        ``"rank"``: share of reference scores strictly below, plus half the ties;
        ``"robust_z"``: robust z-score with the median and the scaled median absolute deviation
        (a MAD of zero is replaced by the standard deviation, then by 1).

    Returns
    -------
    numpy.ndarray
    """
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    scores = np.asarray(scores, dtype=np.float64)
    if method == "rank":
        below = np.searchsorted(ref, scores, side="left")
        upto = np.searchsorted(ref, scores, side="right")
        return (below + upto) / (2.0 * ref.size)
    if method == "robust_z":
        median = float(np.median(ref))
        spread = float(mad_scale(ref))
        if spread <= 0:
            spread = float(ref.std()) or 1.0
        return (scores - median) / spread
    raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {method!r}")


class EnsembleDetector(BaseDetector):
    """Combination of several detectors.

    Parameters
    ----------
    detectors : list of (str, detector) or None, default=None
        Named members (unfitted; they are cloned). ``None`` uses Isolation Forest and k-NN
        (k-th neighbour distance) with their defaults: a global and a local view of the data.
    normalization : {"rank", "robust_z"}, default="rank"
        How member scores are put on one scale (ignored by ``"vote"``).
    combination : {"mean", "max", "vote"}, default="max"
        ``"vote"``: score = share of members whose ``predict`` is 1.
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None (for ``"vote"``
        the default threshold is 0.5, a strict majority, instead).
    threshold : float or None, default=None
        Explicit score threshold.

    Attributes
    ----------
    detectors_ : list of (str, detector)
        The fitted members.
    """

    def __init__(
        self,
        detectors: list | None = None,
        normalization: str = "rank",
        combination: str = "max",
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.detectors = detectors
        self.normalization = normalization
        self.combination = combination
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        from anomaly_tutorial.detectors.isolation import IsolationForestDetector
        from anomaly_tutorial.detectors.neighbors import KNNDetector

        if self.normalization not in _NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {_NORMALIZATIONS}, got {self.normalization!r}"
            )
        if self.combination not in _COMBINATIONS:
            raise ValueError(
                f"combination must be one of {_COMBINATIONS}, got {self.combination!r}"
            )
        members = self.detectors
        if members is None:
            members = [
                ("iforest", IsolationForestDetector()),
                ("knn", KNNDetector()),
            ]
        if len(members) == 0:
            raise ValueError("detectors must hold at least one (name, detector) pair")
        fitted = []
        for item in members:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError(f"detectors must be (name, detector) pairs, got {item!r}")
            fitted.append((item[0], clone(item[1]).fit(X)))
        self.detectors_ = fitted

    def fit(self, X, y=None):
        """Fit every member on ``X``, then set ``threshold_`` (0.5 for a vote by default)."""
        super().fit(X, y)
        if self.combination == "vote" and self.threshold is None:
            self.threshold_ = 0.5
        return self

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        return self._combine(X, training=True)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._combine(X, training=False)

    def member_scores(self, X) -> dict[str, np.ndarray]:
        """Normalised score of every member (raw 0/1 votes for ``"vote"``), keyed by name."""
        X = self._validate_for_scoring(X)
        return dict(zip(self._names(), self._member_matrix(X, training=False).T, strict=True))

    def _names(self) -> list[str]:
        return [name for name, _ in self.detectors_]

    def _member_matrix(self, X: np.ndarray, training: bool) -> np.ndarray:
        columns = []
        for _, det in self.detectors_:
            raw = det.training_scores_ if training else det._score(X)
            if self.combination == "vote":
                columns.append((raw > det.threshold_).astype(np.float64))
            else:
                columns.append(normalize_scores(raw, det.training_scores_, self.normalization))
        return np.column_stack(columns)

    def _combine(self, X: np.ndarray, training: bool) -> np.ndarray:
        matrix = self._member_matrix(X, training)
        if self.combination == "max":
            return matrix.max(axis=1)
        return matrix.mean(axis=1)
