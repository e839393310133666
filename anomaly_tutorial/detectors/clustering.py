"""Clustering-based scores: distance to k-means centroids, DBSCAN and HDBSCAN noise scores.

* :class:`KMeansDetector`: distance to the nearest k-means centroid. Cost ``O(n k d)`` per
  iteration; fails when clusters are not round or when anomalies form their own small cluster
  (they then get a centroid of their own).
* :class:`DBSCANDetector`: distance to the nearest DBSCAN core sample divided by ``eps``
  [Ester et al. 1996]. A score above 1 means DBSCAN would call the row noise. Very sensitive to
  ``eps``: too small and everything is noise, too large and nothing is.
* :class:`HDBSCANDetector`: a GLOSH-style outlier score [Campello et al. 2013; 2015] from
  scikit-learn's ``HDBSCAN`` clustering, usable on new rows (see the class notes).
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.neighbors import NearestNeighbors

from anomaly_tutorial.detectors.base import BaseDetector

__all__ = ["DBSCANDetector", "HDBSCANDetector", "KMeansDetector"]


class KMeansDetector(BaseDetector):
    """Distance to the nearest k-means centroid; higher = more anomalous.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of centroids; capped at the number of training rows (``n_clusters_``).
    random_state : int or None, default=0
        Seed of the k-means initialisation.
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold; overrides ``contamination``.

    Attributes
    ----------
    kmeans_ : sklearn.cluster.KMeans
        The fitted clustering.
    threshold_ : float
        Score above which :meth:`predict` returns 1.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        random_state: int | None = 0,
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        if isinstance(self.n_clusters, bool) or not isinstance(self.n_clusters, int | np.integer):
            raise ValueError(f"n_clusters must be a positive integer, got {self.n_clusters!r}")
        if self.n_clusters < 1:
            raise ValueError(f"n_clusters must be >= 1, got {self.n_clusters}")
        self.n_clusters_ = min(int(self.n_clusters), X.shape[0])
        self.kmeans_ = KMeans(
            n_clusters=self.n_clusters_, n_init=10, random_state=self.random_state
        ).fit(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.kmeans_.transform(X).min(axis=1)


class DBSCANDetector(BaseDetector):
    """Distance to the nearest DBSCAN core sample, in units of ``eps``.

    A training row is DBSCAN noise exactly when its score is above 1 (border rows are within
    ``eps`` of a core sample, core rows score 0), so ``threshold=1.0`` reproduces DBSCAN's own
    noise labels; new rows are scored the same way.

    Parameters
    ----------
    eps : float, default=0.5
        Neighbourhood radius of DBSCAN.
    min_samples : int, default=5
        Rows (the row itself included) within ``eps`` that make a core sample.
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold; ``1.0`` gives DBSCAN's noise rule.

    Attributes
    ----------
    labels_ : numpy.ndarray
        DBSCAN cluster label of each training row (``-1`` = noise).
    core_index_ : sklearn.neighbors.NearestNeighbors
        Index over the core samples.

    Raises
    ------
    ValueError
        From :meth:`fit` when DBSCAN finds no core sample (every row is noise): ``eps`` is too
        small or ``min_samples`` too large for the data.
    """

    def __init__(
        self,
        eps: float = 0.5,
        min_samples: int = 5,
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        model = DBSCAN(eps=self.eps, min_samples=self.min_samples).fit(X)
        if model.core_sample_indices_.size == 0:
            raise ValueError(
                f"DBSCAN found no core sample with eps={self.eps} and "
                f"min_samples={self.min_samples}: every training row is noise; increase eps "
                "or decrease min_samples"
            )
        self.labels_ = model.labels_
        self.core_index_ = NearestNeighbors(n_neighbors=1).fit(X[model.core_sample_indices_])

    def _score(self, X: np.ndarray) -> np.ndarray:
        dist, _ = self.core_index_.kneighbors(X, n_neighbors=1)
        return dist[:, 0] / float(self.eps)


class HDBSCANDetector(BaseDetector):
    """GLOSH-style outlier score from scikit-learn's HDBSCAN, in [0, 1); higher = more anomalous.

    Parameters
    ----------
    min_cluster_size : int, default=5
        Smallest cluster HDBSCAN keeps.
    min_samples : int or None, default=None
        Neighbours that define the core distance (``None``: ``min_cluster_size``).
    n_candidates : int, default=50
        Nearest clustered training rows searched for the smallest mutual-reachability distance.
    allow_single_cluster : bool, default=True
        Passed to ``HDBSCAN``. ``True`` (unlike scikit-learn's default) lets unimodal data form
        one cluster; otherwise HDBSCAN calls every row of such data noise and no score exists.
    contamination : float, default=0.1
        Share of training rows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold; overrides ``contamination``.

    Attributes
    ----------
    labels_ : numpy.ndarray
        HDBSCAN label of each training row (negative = noise).
    cluster_min_core_ : numpy.ndarray
        Per cluster, the smallest core distance of its members (its densest point).

    Notes
    -----
    GLOSH scores a row ``x`` by ``1 - eps_min(C) / eps(x)``, where ``C`` is the cluster ``x`` is
    attached to, ``eps(x)`` the density level at which ``x`` joins it and ``eps_min(C)`` the
    level of ``C``'s densest point [Campello et al. 2015]. scikit-learn's ``HDBSCAN`` does not
    expose GLOSH scores or score new rows, so this class computes the score itself:
    ``eps(x)`` is the smallest mutual-reachability distance ``max(core(x), core(p), d(x, p))``
    over the ``n_candidates`` nearest clustered training rows ``p``, ``C`` is the cluster of the
    minimising ``p``, and ``core(.)`` is the distance to the ``min_samples - 1``-th nearest
    training row other than the row itself (scikit-learn counts the row as its own first
    neighbour). This approximates the hierarchy-based GLOSH and agrees with it on how rows rank
    within a cluster; it is exact for rows whose nearest clustered neighbours are among the
    candidates.

    Raises
    ------
    ValueError
        From :meth:`fit` when HDBSCAN labels every training row as noise.
    """

    def __init__(
        self,
        min_cluster_size: int = 5,
        min_samples: int | None = None,
        n_candidates: int = 50,
        allow_single_cluster: bool = True,
        contamination: float = 0.1,
        threshold: float | None = None,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.n_candidates = n_candidates
        self.allow_single_cluster = allow_single_cluster
        self.contamination = contamination
        self.threshold = threshold

    def _min_training_rows(self) -> tuple[int, str]:
        min_samples = self.min_cluster_size if self.min_samples is None else self.min_samples
        needed = max(2, int(self.min_cluster_size), int(min_samples))
        return needed, f" (min_cluster_size={self.min_cluster_size}, min_samples={min_samples})"

    def _fit(self, X: np.ndarray) -> None:
        min_samples = self.min_cluster_size if self.min_samples is None else self.min_samples
        model = HDBSCAN(
            min_cluster_size=self.min_cluster_size,
            min_samples=min_samples,
            allow_single_cluster=self.allow_single_cluster,
            copy=True,
        ).fit(X)
        labels = model.labels_
        clustered = np.flatnonzero(labels >= 0)
        if clustered.size == 0:
            raise ValueError(
                f"HDBSCAN labelled every training row as noise (min_cluster_size="
                f"{self.min_cluster_size}, min_samples={min_samples}); lower them"
            )
        self.labels_ = labels
        self.k_core_ = max(min(int(min_samples) - 1, X.shape[0] - 1), 1)
        self.train_index_ = NearestNeighbors().fit(X)
        core_train = self._core_distance(X, exclude_self=True)
        self.clustered_core_ = core_train[clustered]
        self.clustered_labels_ = labels[clustered]
        self.cluster_min_core_ = np.array(
            [core_train[labels == c].min() for c in range(labels.max() + 1)]
        )
        self.clustered_index_ = NearestNeighbors().fit(X[clustered])

    def _core_distance(self, X: np.ndarray, exclude_self: bool) -> np.ndarray:
        k = self.k_core_ + 1 if exclude_self else self.k_core_
        dist, _ = self.train_index_.kneighbors(X, n_neighbors=k)
        return dist[:, -1]

    def _glosh(self, X: np.ndarray, core_x: np.ndarray) -> np.ndarray:
        m = min(int(self.n_candidates), self.clustered_core_.size)
        dist, idx = self.clustered_index_.kneighbors(X, n_neighbors=m)
        mreach = np.maximum(np.maximum(dist, self.clustered_core_[idx]), core_x[:, None])
        best = mreach.argmin(axis=1)
        rows = np.arange(X.shape[0])
        eps_x = mreach[rows, best]
        eps_min = self.cluster_min_core_[self.clustered_labels_[idx[rows, best]]]
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(eps_x > 0, 1.0 - eps_min / eps_x, 0.0)
        return np.clip(score, 0.0, 1.0)

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        return self._glosh(X, self._core_distance(X, exclude_self=True))

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._glosh(X, self._core_distance(X, exclude_self=False))
