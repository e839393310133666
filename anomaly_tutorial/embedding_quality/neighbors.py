"""Neighbourhood metrics: k-NN label agreement, k-NN overlap between two embeddings, retrieval.

All neighbour searches are exact (scikit-learn ``NearestNeighbors``, Euclidean distance) and a
point is never counted as its own neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.neighbors import NearestNeighbors

from anomaly_tutorial.ocsf import ID_COLUMN

from ._checks import as_embeddings, as_labels, as_positive_int, subsample_rows

__all__ = [
    "DEFAULT_RETRIEVAL_COLUMNS",
    "KNNAgreement",
    "knn_agreement",
    "knn_indices",
    "knn_overlap",
    "nearest_events",
]

#: Fields shown for each retrieved event by :func:`nearest_events` (those present are used).
DEFAULT_RETRIEVAL_COLUMNS: tuple[str, ...] = (
    "class_name",
    "activity_name",
    "dst_endpoint.svc_name",
    "actor.user.name",
    "src_endpoint.ip",
    "http_request.url.path",
    "status_id",
    "anomaly_type",
)


def knn_indices(X: np.ndarray, k: int) -> np.ndarray:
    """Indices ``(n, k)`` of the ``k`` nearest other rows of ``X`` (nearest first, exact).

    Raises
    ------
    ValueError
        If ``k`` is not below the number of rows.
    """
    n = X.shape[0]
    if k >= n:
        raise ValueError(f"k={k} neighbours need more than {k} rows, got {n}")
    index = NearestNeighbors(n_neighbors=k + 1).fit(X)
    _, idx = index.kneighbors(X)
    # Drop each row itself. With duplicate rows the row may not come first, so remove it
    # wherever it appears and keep the first k others.
    own = idx == np.arange(n)[:, None]
    has_own = own.any(axis=1)
    out = np.where(has_own[:, None], 0, idx[:, :k])
    if has_own.any():
        rows = np.flatnonzero(has_own)
        out[rows] = idx[rows][~own[rows]].reshape(rows.size, k)
    return out


@dataclass(frozen=True)
class KNNAgreement:
    """Result of :func:`knn_agreement`.

    Attributes
    ----------
    overall
        Mean over all points of the share of their ``k`` neighbours with the same label.
    anomalous
        The same mean over the points whose label is not ``normal_label`` (NaN if none).
    chance_overall, chance_anomalous
        The expected values of the two means if the neighbours were drawn at random from the
        other points (label frequencies), the level an embedding must beat.
    per_label
        Mean agreement per label, with the count of points (``DataFrame`` indexed by label,
        columns ``n``, ``agreement``, ``chance``).
    k
        Number of neighbours.
    """

    overall: float
    anomalous: float
    chance_overall: float
    chance_anomalous: float
    per_label: pd.DataFrame
    k: int


def knn_agreement(
    embeddings: ArrayLike,
    labels: ArrayLike,
    k: int = 10,
    *,
    normal_label: object = "normal",
) -> KNNAgreement:
    """Share of each point's ``k`` nearest neighbours that carry its label.

    With ``labels`` the anomaly type of each event, a high agreement among anomalous points
    means that events of the same attack or fault lie together in the embedding, so a
    neighbour-based detector or an analyst browsing neighbours sees them as one group.

    Parameters
    ----------
    embeddings
        ``(n, d)`` finite array.
    labels
        ``n`` labels (e.g. ``anomaly_type``), no missing values.
    k
        Number of neighbours (each point excluded from its own neighbours).
    normal_label
        Label of normal points, excluded from ``anomalous``.

    Returns
    -------
    KNNAgreement
    """
    X = as_embeddings(embeddings)
    y = as_labels(labels, X.shape[0])
    k = as_positive_int(k, "k")
    idx = knn_indices(X, k)
    share = (y[idx] == y[:, None]).mean(axis=1)
    names, codes, counts = np.unique(y.astype(str), return_inverse=True, return_counts=True)
    n = X.shape[0]
    # Random neighbours among the other n - 1 points: (count - 1) / (n - 1) share the label.
    chance_of_label = (counts - 1) / (n - 1)
    chance = chance_of_label[codes]
    per_label = pd.DataFrame(
        {
            "n": counts,
            "agreement": np.bincount(codes, weights=share) / counts,
            "chance": chance_of_label,
        },
        index=pd.Index(names, name="label"),
    )
    is_anomalous = y.astype(str) != str(normal_label)
    if is_anomalous.any():
        anomalous = float(share[is_anomalous].mean())
        chance_anomalous = float(chance[is_anomalous].mean())
    else:
        anomalous = chance_anomalous = float("nan")
    return KNNAgreement(
        overall=float(share.mean()),
        anomalous=anomalous,
        chance_overall=float(chance.mean()),
        chance_anomalous=chance_anomalous,
        per_label=per_label,
        k=k,
    )


def knn_overlap(
    embeddings_a: ArrayLike,
    embeddings_b: ArrayLike,
    k: int = 10,
    *,
    sample_size: int | None = 5000,
    random_state: int = 0,
) -> float:
    """Mean share of common neighbours of the same rows in two embeddings.

    For every row, the ``k`` nearest other rows are found in ``embeddings_a`` and in
    ``embeddings_b``; the result is the mean of ``|N_a ∩ N_b| / k``: 1 when both embeddings
    give every row the same neighbours, about ``k / (n - 1)`` when they are unrelated.

    Parameters
    ----------
    embeddings_a, embeddings_b
        Two representations of the same rows, in the same order (widths may differ).
    k
        Number of neighbours.
    sample_size
        Rows drawn (with ``random_state``) before the search, for speed; ``None`` for all.
    random_state
        Seed of the subsample.

    Returns
    -------
    float
    """
    A = as_embeddings(embeddings_a, "embeddings_a")
    B = as_embeddings(embeddings_b, "embeddings_b")
    if A.shape[0] != B.shape[0]:
        raise ValueError(
            f"embeddings_a has {A.shape[0]} rows but embeddings_b has {B.shape[0]}; "
            "both must embed the same rows in the same order"
        )
    k = as_positive_int(k, "k")
    rows = subsample_rows(A.shape[0], sample_size, random_state)
    ia, ib = knn_indices(A[rows], k), knn_indices(B[rows], k)
    common = [np.intersect1d(a, b, assume_unique=True).size for a, b in zip(ia, ib, strict=True)]
    return float(np.mean(common) / k)


def _ids_of(frame: pd.DataFrame, name: str) -> pd.Index:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name}: expected a DataFrame, got {type(frame).__name__}")
    if ID_COLUMN not in frame.columns:
        raise ValueError(f"{name}: has no {ID_COLUMN!r} column")
    ids = pd.Index(frame[ID_COLUMN].astype(str))
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique()[:3].tolist()
        raise ValueError(f"{name}: {ID_COLUMN} values are not unique (e.g. {dup})")
    return ids


def nearest_events(
    query_ids: Sequence[str] | str,
    query_embeddings: ArrayLike,
    query_frame: pd.DataFrame,
    reference_embeddings: ArrayLike,
    reference_frame: pd.DataFrame,
    *,
    k: int = 5,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``k`` nearest reference events of each query event, with their key fields.

    Parameters
    ----------
    query_ids
        ``event_id`` value(s) of ``query_frame`` to look up.
    query_embeddings, query_frame
        Embeddings and events of the queries' period, row ``i`` of one is row ``i`` of the other.
    reference_embeddings, reference_frame
        Embeddings and events searched, e.g. the training period.
    k
        Neighbours per query.
    columns
        Fields to show; default :data:`DEFAULT_RETRIEVAL_COLUMNS` that exist in both frames.

    Returns
    -------
    pandas.DataFrame
        One row per query and rank: ``query_id``, ``rank`` (``0`` = the query itself, then
        ``1..k`` nearest first), ``event_id``, ``distance`` and the chosen fields.
    """
    Q = as_embeddings(query_embeddings, "query_embeddings", min_rows=1)
    R = as_embeddings(reference_embeddings, "reference_embeddings", min_rows=1)
    if Q.shape[1] != R.shape[1]:
        raise ValueError(
            f"query_embeddings have {Q.shape[1]} dimensions but reference_embeddings "
            f"have {R.shape[1]}"
        )
    q_ids, r_ids = _ids_of(query_frame, "query_frame"), _ids_of(reference_frame, "reference_frame")
    for name, ids, arr in (("query", q_ids, Q), ("reference", r_ids, R)):
        if len(ids) != arr.shape[0]:
            raise ValueError(
                f"{name}_frame has {len(ids)} rows but {name}_embeddings has {arr.shape[0]}"
            )
    k = as_positive_int(k, "k")
    if k > R.shape[0]:
        raise ValueError(f"k={k} is larger than the {R.shape[0]} reference events")
    wanted = [str(query_ids)] if isinstance(query_ids, str) else [str(i) for i in query_ids]
    missing = [i for i in wanted if i not in q_ids]
    if missing:
        raise KeyError(f"query_ids not in query_frame: {missing[:5]}")
    if columns is None:
        columns = [
            c
            for c in DEFAULT_RETRIEVAL_COLUMNS
            if c in query_frame.columns and c in reference_frame.columns
        ]
    else:
        columns = list(columns)
        for name, frame in (("query_frame", query_frame), ("reference_frame", reference_frame)):
            absent = [c for c in columns if c not in frame.columns]
            if absent:
                raise ValueError(f"columns {absent} are not in {name}")
    rows = q_ids.get_indexer(wanted)
    dist, idx = NearestNeighbors(n_neighbors=k).fit(R).kneighbors(Q[rows])
    parts = []
    for qi, (row, d, nb) in enumerate(zip(rows, dist, idx, strict=True)):
        head = query_frame.iloc[[row]][columns].assign(event_id=wanted[qi], distance=0.0, rank=0)
        tail = reference_frame.iloc[nb][columns].assign(
            event_id=r_ids[nb].to_numpy(), distance=d, rank=np.arange(1, k + 1)
        )
        part = pd.concat([head, tail], ignore_index=True)
        part.insert(0, "query_id", wanted[qi])
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out[["query_id", "rank", "event_id", "distance", *columns]]
