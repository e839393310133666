"""Multivariate drift: the maximum mean discrepancy (MMD) two-sample test.

Per-column statistics miss a change in how columns go *together* (the same durations, but on
another endpoint). The MMD (Gretton et al. 2012) compares two samples through a kernel: with
the Gaussian (RBF) kernel ``k(x, y) = exp(-||x - y||^2 / (2 s^2))`` it is zero exactly when
the two distributions are equal. :func:`mmd_test` computes the unbiased estimate of MMD²,
sets the bandwidth ``s`` by the median heuristic (the median pairwise distance of the pooled
sample) and turns it into a p-value by permutations: under "no drift" the labels
"reference" / "current" are exchangeable, so the p-value
``(1 + #{MMD²_perm >= MMD²_obs}) / (1 + n_permutations)`` is valid at every level.

Both samples are subsampled to at most ``max_samples`` rows (seeded), which bounds the cost to
``O(max_samples² x n_permutations)``; with the defaults one test takes well under a second.
Rabanser et al. (2019), "Failing loudly", compare this test with univariate tests on
dimension-reduced representations of the data as detectors of dataset shift.

Public objects: :func:`mmd_test`, :class:`MMDResult`, :func:`median_bandwidth`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MMDResult", "median_bandwidth", "mmd_test"]


@dataclass(frozen=True)
class MMDResult:
    """Outcome of :func:`mmd_test`.

    Attributes
    ----------
    statistic : float
        Unbiased MMD² estimate of the (subsampled) samples.
    p_value : float
        Permutation p-value, in ``[1 / (n_permutations + 1), 1]``.
    bandwidth : float
        The RBF kernel's ``s``.
    n_reference, n_current, n_permutations : int
    """

    statistic: float
    p_value: float
    bandwidth: float
    n_reference: int
    n_current: int
    n_permutations: int


def _matrix(values: Any, name: str) -> np.ndarray:
    x = np.asarray(values, dtype="float64")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (rows x features), got {x.ndim} dims")
    if x.shape[0] < 2:
        raise ValueError(f"{name}: needs at least 2 rows, got {x.shape[0]} (an empty window?)")
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}: {int(bad.sum())} values are NaN or infinite (first at row {row}, "
            f"column {col}); impute them before a kernel test"
        )
    return x


def _squared_distances(z: np.ndarray) -> np.ndarray:
    norms = np.einsum("ij,ij->i", z, z)
    return np.maximum(norms[:, None] + norms[None, :] - 2.0 * z @ z.T, 0.0)


def median_bandwidth(z: Any) -> float:
    """Median heuristic: the median of the pairwise Euclidean distances of the rows of ``z``
    (1 when all rows are equal)."""
    d2 = _squared_distances(_matrix(z, "z"))
    upper = d2[np.triu_indices_from(d2, k=1)]
    median = float(np.sqrt(np.median(upper)))
    return median if median > 0 else 1.0


def _mmd2(kernel: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Unbiased MMD² for each column of the boolean membership matrix ``first`` (n x P)."""
    a = first.astype(float)
    b = 1.0 - a
    m, n = a.sum(axis=0), b.sum(axis=0)
    ka, kb = kernel @ a, kernel @ b
    diag = np.diag(kernel)[:, None]
    xx = (np.sum(a * ka, axis=0) - np.sum(a * diag, axis=0)) / (m * (m - 1))
    yy = (np.sum(b * kb, axis=0) - np.sum(b * diag, axis=0)) / (n * (n - 1))
    xy = np.sum(a * kb, axis=0) / (m * n)
    return xx + yy - 2.0 * xy


def mmd_test(
    reference: Any,
    current: Any,
    *,
    n_permutations: int = 200,
    max_samples: int = 300,
    bandwidth: float | None = None,
    seed: int = 0,
) -> MMDResult:
    """Permutation test of "``current`` comes from the distribution of ``reference``".

    Parameters
    ----------
    reference, current
        Rows x features (the same features, on the same scale: standardise first, or the
        column with the largest unit decides alone).
    n_permutations
        Random relabellings of the pooled sample.
    max_samples
        Each side is subsampled (without replacement) to at most this many rows.
    bandwidth
        The RBF kernel's ``s``; ``None`` for the median heuristic on the pooled sample.
    seed
        Seed of the subsampling and the permutations (a local generator: no global state).

    Raises
    ------
    ValueError
        If a side has fewer than 2 rows, the numbers of features differ, a value is NaN or
        infinite, or a parameter is out of range.
    """
    x, y = _matrix(reference, "reference"), _matrix(current, "current")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"reference has {x.shape[1]} features and current {y.shape[1]}; the two samples "
            "must have the same columns"
        )
    for name, value, low in (
        ("n_permutations", n_permutations, 1),
        ("max_samples", max_samples, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")
    if bandwidth is not None and not (np.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"bandwidth: must be a positive number or None, got {bandwidth!r}")
    rng = np.random.default_rng(seed)
    if len(x) > max_samples:
        x = x[np.sort(rng.choice(len(x), max_samples, replace=False))]
    if len(y) > max_samples:
        y = y[np.sort(rng.choice(len(y), max_samples, replace=False))]
    z = np.vstack([x, y])
    d2 = _squared_distances(z)
    if bandwidth is None:
        median = float(np.sqrt(np.median(d2[np.triu_indices_from(d2, k=1)])))
        bandwidth = median if median > 0 else 1.0
    kernel = np.exp(-d2 / (2.0 * bandwidth**2))
    first = np.zeros((len(z), n_permutations + 1), dtype=bool)
    first[: len(x), 0] = True
    for j in range(1, n_permutations + 1):
        first[rng.permutation(len(z))[: len(x)], j] = True
    values = _mmd2(kernel, first)
    observed = float(values[0])
    p_value = (1.0 + float(np.sum(values[1:] >= observed))) / (1.0 + n_permutations)
    return MMDResult(observed, p_value, float(bandwidth), len(x), len(y), n_permutations)
