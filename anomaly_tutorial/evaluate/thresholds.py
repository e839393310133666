"""Turn anomaly scores into alerts with a threshold chosen on training data."""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

from anomaly_tutorial.evaluate.metrics import as_scores

__all__ = ["threshold_from_contamination"]


def threshold_from_contamination(train_scores: ArrayLike, contamination: float) -> float:
    """Score threshold that flags a fraction ``contamination`` of the training scores.

    The threshold is the ``1 - contamination`` quantile (linear interpolation) of the
    training scores; flag an event when ``score >= threshold``. Choose it on training
    scores only and apply it unchanged to the test period.

    Parameters
    ----------
    train_scores : array-like or pandas.Series
        Finite anomaly scores of the training events (higher = more anomalous).
    contamination : float
        Expected fraction of anomalies, strictly between 0 and 0.5.

    Returns
    -------
    float
        The threshold.

    Raises
    ------
    ValueError
        ``contamination`` outside (0, 0.5), or empty/non-finite/non-numeric scores.
    """
    if isinstance(contamination, bool) or not isinstance(contamination, numbers.Real):
        raise ValueError(f"contamination must be a number, got {contamination!r}")
    if not 0.0 < float(contamination) < 0.5:
        raise ValueError(f"contamination must be strictly between 0 and 0.5, got {contamination!r}")
    scores = as_scores(np.asarray(train_scores), "train_scores")
    return float(np.quantile(scores, 1.0 - float(contamination)))
