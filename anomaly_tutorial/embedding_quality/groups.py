"""Do known groups show in the embedding? Cluster indices and linear probes.

* :func:`group_separation`: silhouette (Rousseeuw 1987; higher is better, in ``[-1, 1]``) and
  Davies-Bouldin index (Davies & Bouldin 1979; lower is better, ``>= 0``) of known groups
  such as the service, the endpoint or the OCSF event class, on a seeded subsample.
* :func:`linear_probe`: a logistic regression trained on the embeddings of the training
  period predicts a label of the test period (Alain & Bengio 2016); its balanced accuracy
  says how much of that label a linear read-out finds in the embedding.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, davies_bouldin_score, silhouette_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._checks import as_embeddings, as_labels, as_positive_int, subsample_rows

__all__ = ["cap_per_class", "group_separation", "linear_probe"]


def group_separation(
    embeddings: ArrayLike,
    groups: Mapping[str, ArrayLike],
    *,
    sample_size: int | None = 5000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Silhouette and Davies-Bouldin index of each grouping of the rows.

    Parameters
    ----------
    embeddings
        ``(n, d)`` array.
    groups
        Grouping name -> ``n`` group labels, e.g. ``{"service": frame["dst_endpoint.svc_name"]}``.
        Missing labels are an error (fill them with a value such as ``"<none>"`` first).
    sample_size
        Rows drawn once with ``random_state`` and used for every grouping (silhouette is
        quadratic in the rows); ``None`` for all.
    random_state
        Seed of the subsample.

    Returns
    -------
    pandas.DataFrame
        Indexed by grouping name: ``n_groups``, ``silhouette``, ``davies_bouldin``, ``n``.
    """
    X = as_embeddings(embeddings)
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError("groups: expected a non-empty mapping {name: labels}")
    rows = subsample_rows(X.shape[0], sample_size, random_state)
    records = {}
    for name, values in groups.items():
        labels = as_labels(values, X.shape[0], f"groups[{name!r}]")[rows].astype(str)
        n_groups = np.unique(labels).size
        if not 2 <= n_groups < rows.size:
            raise ValueError(
                f"groups[{name!r}]: silhouette needs between 2 and n-1 groups, "
                f"got {n_groups} groups in {rows.size} sampled rows"
            )
        records[name] = {
            "n_groups": n_groups,
            "silhouette": float(silhouette_score(X[rows], labels)),
            "davies_bouldin": float(davies_bouldin_score(X[rows], labels)),
            "n": int(rows.size),
        }
    return pd.DataFrame.from_dict(records, orient="index").rename_axis("grouping")


def cap_per_class(labels: np.ndarray, max_per_class: int | None, random_state: int) -> np.ndarray:
    """Sorted row indices keeping at most ``max_per_class`` rows of each label (seeded draw)."""
    if max_per_class is None:
        return np.arange(labels.size)
    max_per_class = as_positive_int(max_per_class, "max_per_class")
    rng = np.random.default_rng(random_state)
    keep = []
    for label in pd.unique(labels):
        rows = np.flatnonzero(labels == label)
        if rows.size > max_per_class:
            rows = rng.choice(rows, size=max_per_class, replace=False)
        keep.append(rows)
    return np.sort(np.concatenate(keep))


def linear_probe(
    train_embeddings: ArrayLike,
    train_labels: ArrayLike,
    test_embeddings: ArrayLike,
    test_labels: ArrayLike,
    *,
    C: float = 1.0,
    max_per_class: int | None = 2000,
    max_iter: int = 500,
    random_state: int = 0,
) -> dict[str, float]:
    """Balanced accuracy of a logistic regression from train embeddings to test labels.

    The probe standardises the embeddings (statistics of the training rows), fits a
    multinomial logistic regression with balanced class weights on the training period and
    predicts the test period. Test labels never seen in training stay in the score (their
    recall is 0), so nothing is dropped silently.

    Parameters
    ----------
    train_embeddings, train_labels
        Training rows and their labels (e.g. event class, service or anomaly type).
    test_embeddings, test_labels
        Held-out rows and labels.
    C
        Inverse L2 regularisation strength.
    max_per_class
        At most this many training rows per label, drawn with ``random_state`` (keeps the fit
        fast when one label, such as ``normal``, dominates); ``None`` uses all.
    max_iter
        Iterations of the solver.
    random_state
        Seed of the per-class cap.

    Returns
    -------
    dict
        ``balanced_accuracy`` (mean recall over the labels present in the test rows),
        ``accuracy``, ``chance`` (balanced accuracy of always predicting one label:
        ``1 / n_test_labels``), ``n_train``, ``n_test``, ``n_labels`` (training labels),
        ``n_unseen_test_labels``.
    """
    Xtr = as_embeddings(train_embeddings, "train_embeddings")
    Xte = as_embeddings(test_embeddings, "test_embeddings", min_rows=1)
    if Xtr.shape[1] != Xte.shape[1]:
        raise ValueError(
            f"train_embeddings have {Xtr.shape[1]} dimensions but test_embeddings {Xte.shape[1]}"
        )
    ytr = as_labels(train_labels, Xtr.shape[0], "train_labels").astype(str)
    yte = as_labels(test_labels, Xte.shape[0], "test_labels").astype(str)
    if np.unique(ytr).size < 2:
        raise ValueError("train_labels: a probe needs at least 2 distinct labels")
    rows = cap_per_class(ytr, max_per_class, random_state)
    probe = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=C, class_weight="balanced", max_iter=max_iter),
    )
    probe.fit(Xtr[rows], ytr[rows])
    predicted = probe.predict(Xte)
    with warnings.catch_warnings():
        # Predictions of labels absent from the test rows count as errors; the warning that
        # says so is expected here.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = balanced_accuracy_score(yte, predicted)
    test_labels_seen = np.unique(yte)
    return {
        "balanced_accuracy": float(balanced),
        "accuracy": float(np.mean(predicted == yte)),
        "chance": 1.0 / test_labels_seen.size,
        "n_train": int(rows.size),
        "n_test": int(yte.size),
        "n_labels": int(np.unique(ytr).size),
        "n_unseen_test_labels": int(np.setdiff1d(test_labels_seen, np.unique(ytr)).size),
    }
