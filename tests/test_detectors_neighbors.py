"""Training scores of the k-NN detector exclude each training row by index, not by position."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_tutorial.detectors import KNNDetector


def _with_duplicates() -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(60, 3))
    # rows 60.. are exact copies of rows 0..19, so their nearest neighbour is at distance 0
    # and the row itself may come second in the neighbour list
    return np.vstack([base, base[:20]])


def _brute_force_training_scores(X: np.ndarray, k: int) -> np.ndarray:
    d = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)  # exclude the row itself, by index
    return np.sort(d, axis=1)[:, k - 1]


@pytest.mark.parametrize(
    ("index", "factory"), [("exact", "Flat"), ("faiss", "Flat"), ("faiss", "HNSW32")]
)
def test_training_scores_with_duplicate_rows_match_brute_force(index: str, factory: str) -> None:
    if index == "faiss":
        pytest.importorskip("faiss")
    X = _with_duplicates()
    detector = KNNDetector(n_neighbors=3, index=index, faiss_factory=factory).fit(X)
    expected = _brute_force_training_scores(X, 3)
    # float32 arithmetic in FAISS
    np.testing.assert_allclose(detector.training_scores_, expected, rtol=1e-4, atol=1e-4)


def test_a_duplicated_row_has_training_score_zero_with_one_neighbour() -> None:
    X = _with_duplicates()
    detector = KNNDetector(n_neighbors=1).fit(X)
    assert np.all(detector.training_scores_[:20] == 0.0)
    assert np.all(detector.training_scores_[60:] == 0.0)
    assert np.all(detector.training_scores_[20:60] > 0.0)


class _ApproximateIndex:
    """Stands in for an HNSW index: fixed answers in which a row's own index may come
    second (a duplicate first) or be missing altogether."""

    def __init__(self, distances: np.ndarray, indices: np.ndarray) -> None:
        self.distances, self.indices = distances, indices

    def kneighbors(self, X: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
        return self.distances[:, :n_neighbors], self.indices[:, :n_neighbors]


def test_knn_distances_removes_the_row_by_index_wherever_it_appears() -> None:
    from anomaly_tutorial.detectors.neighbors import knn_distances

    distances = np.array(
        [
            [0.0, 0.0, 1.0],  # row 0: its duplicate (row 2) comes first, itself second
            [0.5, 1.5, 2.5],  # row 1: the approximate index did not return row 1 at all
            [0.0, 0.0, 1.0],  # row 2: itself first
        ]
    )
    indices = np.array([[2, 0, 1], [0, 2, 3], [2, 0, 1]])
    index = _ApproximateIndex(distances, indices)
    out = knn_distances(index, np.zeros((3, 2)), n_neighbors=2, exclude_self=True)
    # row 1 keeps its two nearest returned neighbours: dropping by position would lose 0.5
    np.testing.assert_array_equal(out, [[0.0, 1.0], [0.5, 1.5], [0.0, 1.0]])
    assert knn_distances(index, np.zeros((3, 2)), 2, exclude_self=False).shape == (3, 2)
