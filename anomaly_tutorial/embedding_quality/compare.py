"""Compare representations of OCSF events: detection quality plus embedding-quality metrics.

A *representation* maps events to vectors. :func:`compare_representations` embeds a training
and a test period with each one, then reports per representation

* k-NN-distance detection on the test period: each test event is scored by its Euclidean
  distance to its ``k``-th nearest *training* event (the score of
  :class:`anomaly_tutorial.detectors.KNNDetector` with ``method="largest"``; exact search),
  evaluated by id with :func:`anomaly_tutorial.evaluate.evaluate_scores` (ROC-AUC, PR-AUC);
* the quality metrics of this package on the test period: k-NN agreement of anomaly types,
  silhouette and Davies-Bouldin index of known groups, a linear probe (train -> test) and
  the uniformity of the L2-normalised embedding.

The representations used in the book are built with :func:`featurizer_representation` (raw
scaled features), :func:`pca_representation` and :func:`encoder_representation`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial.ocsf import ID_COLUMN

from ._checks import as_embeddings, as_positive_int
from .geometry import uniformity
from .groups import group_separation, linear_probe
from .neighbors import knn_agreement

__all__ = [
    "DEFAULT_GROUPS",
    "Representation",
    "compare_representations",
    "embed_representations",
    "encoder_representation",
    "featurizer_representation",
    "knn_distance_scores",
    "pca_representation",
    "quality_sample",
]

#: ``(fit_fn, transform_fn)``: ``fit_fn(train_frame)`` learns from the training period,
#: ``transform_fn(frame, history)`` returns a ``(len(frame), d)`` array (``history`` is the
#: training frame when the test period is embedded, else ``None``); or precomputed
#: ``(train_embeddings, test_embeddings)``.
Representation = tuple[Any, Any]

#: Groupings whose separation is reported: name -> column of the events.
DEFAULT_GROUPS: Mapping[str, str] = {"service": "dst_endpoint.svc_name", "class": "class_name"}


def featurizer_representation(featurizer: Any = None) -> Representation:
    """Raw scaled features: ``OCSFFeaturizer.transform``.

    Parameters
    ----------
    featurizer
        An :class:`~anomaly_tutorial.features.OCSFFeaturizer`; fitted ones are used as they
        are (they must have been fitted on the training period), others are fitted on the
        training frame. Default a new ``OCSFFeaturizer()``.
    """
    from sklearn.base import clone

    from anomaly_tutorial.features import OCSFFeaturizer

    state: dict[str, Any] = {}

    def fit(train_frame: pd.DataFrame) -> None:
        if featurizer is not None and hasattr(featurizer, "scaler_"):
            state["featurizer"] = featurizer
        else:
            base = OCSFFeaturizer() if featurizer is None else clone(featurizer)
            state["featurizer"] = base.fit(train_frame)

    def transform(frame: pd.DataFrame, history: pd.DataFrame | None) -> np.ndarray:
        return state["featurizer"].transform(frame, history=history)

    return fit, transform


def pca_representation(
    n_components: int, featurizer: Any = None, *, random_state: int = 0
) -> Representation:
    """PCA of the raw scaled features, fitted on the training period.

    Parameters
    ----------
    n_components
        Width of the representation (the book uses the embedding width).
    featurizer
        As for :func:`featurizer_representation`.
    random_state
        Seed of the PCA solver.
    """
    from sklearn.decomposition import PCA

    n_components = as_positive_int(n_components, "n_components")
    fit_features, transform_features = featurizer_representation(featurizer)
    state: dict[str, Any] = {}

    def fit(train_frame: pd.DataFrame) -> None:
        fit_features(train_frame)
        X = transform_features(train_frame, None)
        state["pca"] = PCA(n_components=n_components, random_state=random_state).fit(X)

    def transform(frame: pd.DataFrame, history: pd.DataFrame | None) -> np.ndarray:
        return state["pca"].transform(transform_features(frame, history)).astype(np.float32)

    return fit, transform


def encoder_representation(encoder: Any, *, batch_size: int = 4096) -> Representation:
    """Embeddings of a trained encoder (``TrainedEncoder.embed``).

    The encoder must already be trained on the training period only (for example
    :func:`anomaly_tutorial.models.pretrained_encoder`); ``fit_fn`` does nothing.
    """

    def fit(train_frame: pd.DataFrame) -> None:
        return None

    def transform(frame: pd.DataFrame, history: pd.DataFrame | None) -> np.ndarray:
        return encoder.embed(frame, batch_size, history=history)

    return fit, transform


def _check_frame(frame: Any, name: str) -> pd.Index:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name}: expected a DataFrame of events, got {type(frame).__name__}")
    if ID_COLUMN not in frame.columns:
        raise ValueError(f"{name}: has no {ID_COLUMN!r} column")
    ids = pd.Index(frame[ID_COLUMN])
    if ids.has_duplicates:
        raise ValueError(f"{name}: {int(ids.duplicated().sum())} duplicated {ID_COLUMN} values")
    return ids


def embed_representations(
    train_frame: pd.DataFrame,
    test_frame: pd.DataFrame,
    representations: Mapping[str, Representation],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Embed both periods with every representation.

    Parameters
    ----------
    train_frame, test_frame
        Flat OCSF events of the training and the test period.
    representations
        Name -> :data:`Representation`.

    Returns
    -------
    dict
        Name -> ``(train_embeddings, test_embeddings)`` as float32 arrays, rows in frame
        order. Precomputed pairs are checked and passed through.
    """
    n_train, n_test = (
        len(_check_frame(train_frame, "train_frame")),
        len(_check_frame(test_frame, "test_frame")),
    )
    if not isinstance(representations, Mapping) or not representations:
        raise ValueError("representations: expected a non-empty mapping {name: representation}")
    out = {}
    for name, rep in representations.items():
        out[name] = _embed_one(name, rep, train_frame, test_frame, n_train, n_test)[:2]
    return out


def _embed_one(
    name: str,
    rep: Any,
    train_frame: pd.DataFrame,
    test_frame: pd.DataFrame,
    n_train: int,
    n_test: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    if not isinstance(rep, tuple | list) or len(rep) != 2:
        raise TypeError(
            f"representations[{name!r}]: expected (fit_fn, transform_fn) or "
            f"(train_embeddings, test_embeddings), got {type(rep).__name__}"
        )
    start = time.perf_counter()
    first, second = rep
    if callable(first) and callable(second):
        first(train_frame)
        z_train, z_test = second(train_frame, None), second(test_frame, train_frame)
    elif callable(first) or callable(second):
        raise TypeError(f"representations[{name!r}]: both items must be callables or arrays")
    else:
        z_train, z_test = first, second
    seconds = time.perf_counter() - start
    z_train = as_embeddings(z_train, f"{name} train embeddings").astype(np.float32)
    z_test = as_embeddings(z_test, f"{name} test embeddings", min_rows=1).astype(np.float32)
    for period, z, n in (("train", z_train, n_train), ("test", z_test, n_test)):
        if z.shape[0] != n:
            raise ValueError(
                f"representations[{name!r}]: {z.shape[0]} {period} embeddings for "
                f"{n} {period} events"
            )
    if z_train.shape[1] != z_test.shape[1]:
        raise ValueError(
            f"representations[{name!r}]: train embeddings have {z_train.shape[1]} dimensions, "
            f"test embeddings {z_test.shape[1]}"
        )
    return z_train, z_test, seconds


def knn_distance_scores(
    train_embeddings: np.ndarray, test_embeddings: np.ndarray, k: int = 10
) -> np.ndarray:
    """Distance of each test row to its ``k``-th nearest training row (exact search).

    Uses an exact FAISS index (``IndexFlatL2``, float32 arithmetic); the same score as
    ``KNNDetector(n_neighbors=k, method="largest").fit(train).score_samples(test)``, without
    scoring the training rows.
    """
    import faiss

    train = np.ascontiguousarray(as_embeddings(train_embeddings, "train_embeddings"), np.float32)
    test = np.ascontiguousarray(
        as_embeddings(test_embeddings, "test_embeddings", min_rows=1), np.float32
    )
    k = as_positive_int(k, "k")
    if k > train.shape[0]:
        raise ValueError(f"k={k} is larger than the {train.shape[0]} training rows")
    if train.shape[1] != test.shape[1]:
        raise ValueError(
            f"train_embeddings have {train.shape[1]} dimensions, test_embeddings {test.shape[1]}"
        )
    index = faiss.IndexFlatL2(train.shape[1])
    index.add(train)
    squared, _ = index.search(test, k)
    return np.sqrt(np.clip(squared[:, -1].astype(np.float64), 0.0, None))


def quality_sample(
    is_anomaly: np.ndarray, sample_size: int | None, random_state: int
) -> np.ndarray:
    """Rows for the quality metrics: every anomalous row, filled up with normal rows.

    Anomalies are rare, so a uniform subsample would leave few of them for the k-NN
    agreement; this sample keeps all of them (or ``sample_size`` drawn among them if there
    are more) and draws normal rows up to ``sample_size`` in total, with ``random_state``.
    """
    is_anomaly = np.asarray(is_anomaly, dtype=bool)
    n = is_anomaly.size
    if sample_size is None or sample_size >= n:
        return np.arange(n)
    sample_size = as_positive_int(sample_size, "sample_size")
    rng = np.random.default_rng(random_state)
    anomalous, normal = np.flatnonzero(is_anomaly), np.flatnonzero(~is_anomaly)
    if anomalous.size >= sample_size:
        return np.sort(rng.choice(anomalous, size=sample_size, replace=False))
    fill = rng.choice(normal, size=sample_size - anomalous.size, replace=False)
    return np.sort(np.concatenate([anomalous, fill]))


def _labels_for(labels: pd.DataFrame, ids: pd.Index, name: str) -> pd.DataFrame:
    if not isinstance(labels, pd.DataFrame):
        raise TypeError(f"labels: expected a DataFrame, got {type(labels).__name__}")
    table = labels.set_index(ID_COLUMN) if ID_COLUMN in labels.columns else labels
    for column in ("is_anomaly", "anomaly_type"):
        if column not in table.columns:
            raise ValueError(f"labels: has no {column!r} column")
    if table.index.has_duplicates:
        raise ValueError(f"labels: {int(table.index.duplicated().sum())} duplicated event ids")
    missing = ids.difference(table.index)
    if len(missing):
        raise ValueError(
            f"labels: {len(missing)} {name} events have no label (e.g. {list(missing[:3])})"
        )
    return table.loc[ids]


def _group_labels(frame: pd.DataFrame, column: str, name: str) -> np.ndarray:
    if column not in frame.columns:
        raise ValueError(f"groups: column {column!r} (for {name!r}) is not in the events")
    # Events without the field form their own group, so none is dropped.
    return frame[column].astype(object).where(frame[column].notna(), "<missing>").to_numpy()


def compare_representations(
    train_frame: pd.DataFrame,
    test_frame: pd.DataFrame,
    labels: pd.DataFrame,
    representations: Mapping[str, Representation],
    *,
    k: int = 10,
    agreement_k: int = 10,
    groups: Mapping[str, str] | None = None,
    probe_label: str | None = "anomaly_type",
    sample_size: int | None = 5000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Detection quality and embedding quality of several representations, side by side.

    Parameters
    ----------
    train_frame, test_frame
        Flat OCSF events of the training and the (later) test period, with ``event_id``.
    labels
        Label table (``event_id``, ``is_anomaly``, ``anomaly_type``) covering both periods,
        e.g. ``OCSFDataset.labels``; matched by id, never by position.
    representations
        Name -> ``(fit_fn, transform_fn)`` or precomputed ``(train_embeddings,
        test_embeddings)``, see :data:`Representation`.
    k
        Neighbours of the k-NN-distance detector.
    agreement_k
        Neighbours of the k-NN agreement of anomaly types.
    groups
        Name -> event column whose groups are scored with silhouette / Davies-Bouldin;
        default :data:`DEFAULT_GROUPS`; ``{}`` skips these columns.
    probe_label
        Label column (of ``labels``, else of the events) predicted by the linear probe;
        ``None`` skips the probe (the column is then absent).
    sample_size
        Test rows for the agreement, group and uniformity metrics (:func:`quality_sample`);
        ``None`` for all. Detection always uses every test event.
    random_state
        Seed of the samples.

    Returns
    -------
    pandas.DataFrame
        One row per representation: ``dim``, ``roc_auc``, ``pr_auc``, ``base_rate``,
        ``precision_at_k`` (k = number of test anomalies), ``knn_agreement_anomalous``,
        ``knn_agreement_overall``, ``silhouette_<group>``, ``davies_bouldin_<group>``,
        ``probe_balanced_accuracy``, ``uniformity``, ``seconds`` (fit + embed time).
    """
    from anomaly_tutorial.evaluate import evaluate_scores

    train_ids = _check_frame(train_frame, "train_frame")
    test_ids = _check_frame(test_frame, "test_frame")
    shared = train_ids.intersection(test_ids)
    if len(shared):
        raise ValueError(
            f"train_frame and test_frame share {len(shared)} event ids (e.g. {list(shared[:3])})"
        )
    if not isinstance(representations, Mapping) or not representations:
        raise ValueError("representations: expected a non-empty mapping {name: representation}")
    k = as_positive_int(k, "k")
    agreement_k = as_positive_int(agreement_k, "agreement_k")
    groups = DEFAULT_GROUPS if groups is None else groups
    train_labels = _labels_for(labels, train_ids, "train")
    test_labels = _labels_for(labels, test_ids, "test")
    is_anomaly = test_labels["is_anomaly"].to_numpy(dtype=bool)
    if not is_anomaly.any() or is_anomaly.all():
        raise ValueError("labels: the test period needs both normal and anomalous events")
    rows = quality_sample(is_anomaly, sample_size, random_state)
    types = test_labels["anomaly_type"].astype(object).to_numpy()
    group_values = {
        name: _group_labels(test_frame, col, name)[rows] for name, col in groups.items()
    }
    if probe_label is None:
        probe_train = probe_test = None
    elif probe_label in train_labels.columns:
        probe_train = train_labels[probe_label].astype(object).to_numpy()
        probe_test = test_labels[probe_label].astype(object).to_numpy()
    else:
        probe_train = _group_labels(train_frame, probe_label, "probe_label")
        probe_test = _group_labels(test_frame, probe_label, "probe_label")

    records = {}
    for name, rep in representations.items():
        z_train, z_test, seconds = _embed_one(
            name, rep, train_frame, test_frame, len(train_ids), len(test_ids)
        )
        scores = pd.Series(knn_distance_scores(z_train, z_test, k), index=test_ids)
        detection = evaluate_scores(scores, labels, allow_subset=True)
        agreement = knn_agreement(z_test[rows], types[rows], agreement_k)
        separation = (
            group_separation(z_test[rows], group_values, sample_size=None)
            if group_values
            else pd.DataFrame(columns=["silhouette", "davies_bouldin"])
        )
        record = {
            "dim": z_train.shape[1],
            "roc_auc": detection["roc_auc"],
            "pr_auc": detection["pr_auc"],
            "base_rate": detection["base_rate"],
            "precision_at_k": detection["precision_at_k"],
            "knn_agreement_anomalous": agreement.anomalous,
            "knn_agreement_overall": agreement.overall,
        }
        for group in separation.index:
            record[f"silhouette_{group}"] = separation.loc[group, "silhouette"]
            record[f"davies_bouldin_{group}"] = separation.loc[group, "davies_bouldin"]
        if probe_train is not None:
            probe = linear_probe(
                z_train, probe_train, z_test, probe_test, random_state=random_state
            )
            record["probe_balanced_accuracy"] = probe["balanced_accuracy"]
        record["uniformity"] = uniformity(z_test[rows], random_state=random_state)
        record["seconds"] = seconds
        records[name] = record
    table = pd.DataFrame.from_dict(records, orient="index")
    table.index.name = "representation"
    return table
