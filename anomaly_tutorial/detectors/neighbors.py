"""Neighbour-based detectors: k-NN distance and Local Outlier Factor.

* :class:`KNNDetector` scores a row by its distance to the k-th nearest training row
  (``method="largest"``) or by the mean distance to its k nearest training rows
  (``method="mean"``) [Ramaswamy et al. 2000; Angiulli & Pizzuti 2002]. The neighbour search uses
  an exact scikit-learn index or a FAISS index (``index="faiss"``) [Johnson et al. 2019].
* :class:`LOFDetector` wraps scikit-learn's ``LocalOutlierFactor`` in novelty mode, so rows not
  seen in training can be scored [Breunig et al. 2000].

Cost: fitting stores the data (an index build); scoring costs one k-nearest-neighbour query per
row, ``O(n_train * d)`` per row with a brute-force index.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

from anomaly_tutorial.detectors.base import BaseDetector

__all__ = ["KNNDetector", "LOFDetector", "knn_distances"]

_INDEXES = ("exact", "faiss")
_METHODS = ("largest", "mean")


def _check_n_neighbors(n_neighbors: int) -> int:
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, int | np.integer):
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
    if n_neighbors < 1:
        raise ValueError(f"n_neighbors must be >= 1, got {n_neighbors}")
    return int(n_neighbors)


class _FaissIndex:
    """Minimal neighbour index over FAISS with the ``kneighbors`` call we need."""

    def __init__(self, factory: str, X: np.ndarray) -> None:
        import faiss

        data = np.ascontiguousarray(X, dtype=np.float32)
        self.index = faiss.index_factory(data.shape[1], factory)
        if not self.index.is_trained:
            self.index.train(data)
        self.index.add(data)

    def kneighbors(self, X: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices ``(n, n_neighbors)``, nearest first (``-1``: not found)."""
        query = np.ascontiguousarray(X, dtype=np.float32)
        squared, indices = self.index.search(query, n_neighbors)
        # FAISS returns squared L2 distances in float32; rounding can make them slightly negative.
        return np.sqrt(np.clip(squared.astype(np.float64), 0.0, None)), indices

    def __getstate__(self) -> dict:
        import faiss

        return {"blob": faiss.serialize_index(self.index)}

    def __setstate__(self, state: dict) -> None:
        import faiss

        self.index = faiss.deserialize_index(state["blob"])


def knn_distances(index, X: np.ndarray, n_neighbors: int, exclude_self: bool) -> np.ndarray:
    """Distances from each row of ``X`` to its ``n_neighbors`` nearest indexed rows.

    Parameters
    ----------
    index : sklearn.neighbors.NearestNeighbors or FAISS wrapper
        Fitted index over the training rows; ``kneighbors(X, n_neighbors=k)`` returns
        ``(distances, indices)``.
    X : numpy.ndarray of shape (n_samples, n_features)
        Query rows.
    n_neighbors : int
        Number of neighbours.
    exclude_self : bool
        ``True`` when ``X`` is the indexed training data (row ``i`` of ``X`` is indexed row
        ``i``): one extra neighbour is fetched and row ``i`` is removed from the neighbours of
        row ``i`` *by index*, wherever it appears. With duplicate rows the row itself need not
        come first (a duplicate at the same distance may), and an approximate index (FAISS
        HNSW) may not return it at all; then the farthest of the fetched neighbours is dropped.

    Returns
    -------
    numpy.ndarray of shape (n_samples, n_neighbors)
        Sorted distances, nearest first.
    """
    k = n_neighbors + 1 if exclude_self else n_neighbors
    if isinstance(index, NearestNeighbors):
        dist, idx = index.kneighbors(X, n_neighbors=k)
    else:
        dist, idx = index.kneighbors(X, k)
    if not exclude_self:
        return dist
    own = idx == np.arange(len(X))[:, None]
    # Rows whose own index was not returned drop their last (farthest) neighbour instead.
    own[~own.any(axis=1), -1] = True
    own &= np.cumsum(own, axis=1) == 1  # drop one entry per row
    return dist[~own].reshape(len(X), n_neighbors)


class KNNDetector(BaseDetector):
    """Distance to the k nearest training rows; higher = more anomalous.

    Parameters
    ----------
    n_neighbors : int, default=5
        k. Capped at ``n_train - 1`` when the training set is smaller (``n_neighbors_``).
    method : {"largest", "mean"}, default="largest"
        ``"largest"`` scores by the distance to the k-th neighbour, ``"mean"`` by the mean
        distance to the k neighbours.
    index : {"exact", "faiss"}, default="exact"
        ``"exact"``: scikit-learn ``NearestNeighbors`` (tree or brute force, exact).
        ``"faiss"``: a FAISS index built with ``faiss.index_factory(d, faiss_factory)`` on
        float32 data; ``"Flat"`` is exact brute force, ``"HNSW32"`` an approximate graph index.
    faiss_factory : str, default="Flat"
        FAISS index description, used only with ``index="faiss"``.
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold; overrides ``contamination``.

    Attributes
    ----------
    n_neighbors_ : int
        The k used.
    threshold_ : float
        Score above which :meth:`predict` returns 1.
    training_scores_ : numpy.ndarray
        Scores of the training rows, each excluded from its own neighbours.

    Notes
    -----
    Scores of training rows exclude the row itself; rows scored later (``score_samples``) are
    compared with all training rows, as in PyOD's ``KNN``.
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        method: str = "largest",
        index: str = "exact",
        faiss_factory: str = "Flat",
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.method = method
        self.index = index
        self.faiss_factory = faiss_factory
        self.contamination = contamination
        self.threshold = threshold

    @property
    def max_abs_value(self) -> float:
        """Input magnitude limit: FAISS works in float32 (squared distances overflow near 1e19)."""
        return 1e15 if self.index == "faiss" else 1e100

    def _fit(self, X: np.ndarray) -> None:
        k = _check_n_neighbors(self.n_neighbors)
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}")
        if self.index not in _INDEXES:
            raise ValueError(f"index must be one of {_INDEXES}, got {self.index!r}")
        self.n_neighbors_ = min(k, X.shape[0] - 1)
        if self.index == "exact":
            self.index_ = NearestNeighbors().fit(X)
        else:
            self.index_ = _FaissIndex(str(self.faiss_factory), X)

    def _aggregate(self, dist: np.ndarray) -> np.ndarray:
        return dist[:, -1] if self.method == "largest" else dist.mean(axis=1)

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        return self._aggregate(knn_distances(self.index_, X, self.n_neighbors_, True))

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._aggregate(knn_distances(self.index_, X, self.n_neighbors_, False))


class LOFDetector(BaseDetector):
    """Local Outlier Factor in novelty mode; score = LOF (about 1 for inliers, larger = outlier).

    Parameters
    ----------
    n_neighbors : int, default=20
        Neighbourhood size (PyOD's default). Capped at ``n_train - 1`` (``n_neighbors_``).
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold; overrides ``contamination``.

    Attributes
    ----------
    lof_ : sklearn.neighbors.LocalOutlierFactor
        The fitted scikit-learn model (``novelty=True``).
    threshold_ : float
        Score above which :meth:`predict` returns 1.

    Notes
    -----
    The score is ``-LocalOutlierFactor.score_samples``, i.e. the local outlier factor itself.
    Failure mode: with more than ``n_neighbors`` identical training rows their local
    reachability density is infinite, so the factor of rows near them explodes (scikit-learn adds
    ``1e-10`` to avoid a division by zero).
    """

    def __init__(
        self,
        n_neighbors: int = 20,
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        k = _check_n_neighbors(self.n_neighbors)
        self.n_neighbors_ = min(k, X.shape[0] - 1)
        self.lof_ = LocalOutlierFactor(n_neighbors=self.n_neighbors_, novelty=True).fit(X)

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        return -self.lof_.negative_outlier_factor_

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.lof_.score_samples(X)
