"""Outlier tasks built from datasets bundled with scikit-learn (no download).

* ``"breast_cancer"``: benign tumours are normal; a random ``anomaly_fraction`` of the rows are
  malignant ones (Wisconsin Diagnostic Breast Cancer data, 357 benign, 212 malignant; the usual
  outlier framing subsamples the malignant class, as ODDS's WDBC does).
* ``"digits"``: one digit is normal; anomalies are a sample of the other nine digits
  (one-vs-rest).
* ``"wine"``: one cultivar is normal; anomalies are a sample of the other two.

Every task is split 70/30 stratified and min-max scaled on the training part, like the ADBench
protocol (without its up-sampling), so that only labels-free training rows shape the detector.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from anomaly_tutorial.detectors import BaseDetector
from anomaly_tutorial.evaluate import pr_auc, precision_at_k, roc_auc

__all__ = ["TASKS", "evaluate_on_task", "outlier_task", "split_task"]

TASKS = ("breast_cancer", "digits", "wine")


def outlier_task(
    name: str, anomaly_fraction: float = 0.05, seed: int = 0, normal_class: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Build an outlier-detection task from a bundled scikit-learn dataset.

    Parameters
    ----------
    name : {"breast_cancer", "digits", "wine"}
    anomaly_fraction : float, default=0.05
        Share of anomalies in the returned rows, in (0, 0.5).
    seed : int, default=0
        Seed of the anomaly subsample.
    normal_class : int, optional
        Class taken as normal; default benign (1) for breast cancer, 0 otherwise.

    Returns
    -------
    X : numpy.ndarray of shape (n, d)
    y : numpy.ndarray of shape (n,), 1 = anomaly
        All normal rows first, then the sampled anomalies.
    """
    loaders = {"breast_cancer": load_breast_cancer, "digits": load_digits, "wine": load_wine}
    if name not in loaders:
        raise ValueError(f"name must be one of {TASKS}, got {name!r}")
    if not 0.0 < float(anomaly_fraction) < 0.5:
        raise ValueError(f"anomaly_fraction must be in (0, 0.5), got {anomaly_fraction}")
    data = loaders[name]()
    X, target = data.data.astype(np.float64), data.target
    if normal_class is None:
        normal_class = 1 if name == "breast_cancer" else 0
    if normal_class not in set(target.tolist()):
        raise ValueError(f"normal_class {normal_class} is not a class of {name!r}")
    normal = np.flatnonzero(target == normal_class)
    others = np.flatnonzero(target != normal_class)
    n_anom = max(2, round(anomaly_fraction * len(normal) / (1.0 - anomaly_fraction)))
    rng = np.random.default_rng(seed)
    anomalies = rng.choice(others, size=min(n_anom, len(others)), replace=False)
    rows = np.concatenate([normal, np.sort(anomalies)])
    y = np.r_[np.zeros(len(normal), dtype=np.int64), np.ones(len(anomalies), dtype=np.int64)]
    return X[rows], y


def split_task(
    X: np.ndarray, y: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """70/30 stratified split, ``MinMaxScaler`` fitted on the training part only."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    scaler = MinMaxScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def evaluate_on_task(
    detectors: Mapping[str, Callable[[], BaseDetector]],
    name: str,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    anomaly_fraction: float = 0.05,
    normal_class: int | None = None,
) -> pd.DataFrame:
    """Fit each detector on the training part of each seed's task and score the test part.

    Parameters
    ----------
    detectors : mapping of name -> zero-argument factory
        Each factory returns a fresh, unfitted detector.
    name, anomaly_fraction, normal_class
        See :func:`outlier_task`.
    seeds : sequence of int
        One task (anomaly subsample and split) per seed.

    Returns
    -------
    pandas.DataFrame
        One row per detector and seed: ``detector, seed, roc_auc, pr_auc, precision_at_k,
        base_rate, fit_s, score_s`` (``k`` = number of test anomalies).
    """
    rows = []
    for seed in seeds:
        X, y = outlier_task(name, anomaly_fraction, seed, normal_class)
        X_train, X_test, _, y_test = split_task(X, y, seed)
        for label, factory in detectors.items():
            det = factory()
            t0 = time.perf_counter()
            det.fit(X_train)
            t1 = time.perf_counter()
            scores = det.score_samples(X_test)
            t2 = time.perf_counter()
            rows.append(
                {
                    "detector": label,
                    "seed": seed,
                    "roc_auc": roc_auc(y_test, scores),
                    "pr_auc": pr_auc(y_test, scores),
                    "precision_at_k": precision_at_k(y_test, scores, int(y_test.sum())),
                    "base_rate": float(y_test.mean()),
                    "fit_s": t1 - t0,
                    "score_s": t2 - t1,
                }
            )
    return pd.DataFrame(rows)
