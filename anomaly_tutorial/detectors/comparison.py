"""Fit several detectors on (subsamples of) the same training rows and score the same test rows.

Public objects: :class:`Comparison`, :func:`fit_and_score`.

The chapter "Density, tree and distance methods" compares every detector on the OCSF events;
this module holds the loop, so the chapter shows only which detector sees which rows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly_tutorial.detectors.base import BaseDetector

__all__ = ["Comparison", "fit_and_score"]


@dataclass(frozen=True)
class Comparison:
    """Outcome of :func:`fit_and_score`, keyed by detector name.

    Attributes
    ----------
    scores : dict of name -> pandas.Series
        Test scores indexed by the given test index (higher = more anomalous).
    thresholds : dict of name -> float
        Each detector's ``threshold_`` moved up by one floating-point step: ``predict`` flags
        ``score > threshold_``, the functions of :mod:`anomaly_tutorial.evaluate` flag
        ``score >= threshold``, and this value makes the two agree.
    fitted : dict of name -> BaseDetector
        The fitted detectors.
    timing : pandas.DataFrame
        One row per detector: ``fit_s``, ``score_s`` (wall-clock seconds) and ``train_rows``.
    """

    scores: dict[str, pd.Series]
    thresholds: dict[str, float]
    fitted: dict[str, BaseDetector]
    timing: pd.DataFrame


def fit_and_score(
    detectors: Mapping[str, tuple[BaseDetector, np.ndarray]],
    X_train: np.ndarray,
    X_test: np.ndarray,
    test_index: pd.Index | np.ndarray,
    contamination: float | None = None,
) -> Comparison:
    """Fit each detector on its rows of ``X_train`` and score every row of ``X_test``.

    Parameters
    ----------
    detectors : mapping of name -> (detector, training row positions)
        Unfitted detectors, each with the positions of the training rows it is fitted on.
    X_train, X_test : numpy.ndarray
        Training and test features (same columns).
    test_index : index-like
        Labels of the test rows (e.g. event ids), one per row of ``X_test``.
    contamination : float, optional
        Set on every detector before fitting (``set_params``) when given.

    Returns
    -------
    Comparison
    """
    test_index = pd.Index(test_index)
    if len(test_index) != len(X_test):
        raise ValueError(
            f"test_index: {len(test_index)} labels for {len(X_test)} test rows; give one per row"
        )
    scores, thresholds, fitted, timing = {}, {}, {}, {}
    for name, item in detectors.items():
        if not (isinstance(item, tuple) and len(item) == 2):
            raise ValueError(
                f"detectors[{name!r}]: expected (detector, row positions), got {item!r}"
            )
        det, rows = item
        if contamination is not None:
            det.set_params(contamination=contamination)
        t0 = time.perf_counter()
        det.fit(X_train[np.asarray(rows)])
        t1 = time.perf_counter()
        scores[name] = pd.Series(det.score_samples(X_test), index=test_index)
        t2 = time.perf_counter()
        thresholds[name] = float(np.nextafter(det.threshold_, np.inf))
        fitted[name] = det
        timing[name] = {"fit_s": t1 - t0, "score_s": t2 - t1, "train_rows": len(rows)}
    frame = pd.DataFrame(timing).T.astype({"train_rows": "int64"})
    return Comparison(scores, thresholds, fitted, frame)
