"""Geometry of an embedding: alignment and uniformity (Wang & Isola 2020), linear CKA.

Alignment and uniformity are computed on L2-normalised rows (points on the unit sphere), the
geometry a contrastive loss with cosine similarity shapes:

* ``alignment(z, z_view) = mean ||z_i - z_view_i||^alpha``: how close an event stays to its
  corrupted view (lower is better, 0 = the corruption is ignored entirely);
* ``uniformity(z) = log mean_{i<j} exp(-t ||z_i - z_j||^2)``: how evenly the events spread over
  the sphere (lower is better; about ``-2t`` (``-4`` for ``t=2``) for points spread uniformly
  over a high-dimensional sphere, ``0`` when every event maps to one point).

Linear CKA (Kornblith et al. 2019) compares two representations of the same rows; it is
invariant to rotations and isotropic scaling, so two encoders trained with different seeds can
be compared although their coordinates differ.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_embeddings, subsample_rows

__all__ = ["alignment", "l2_normalize", "linear_cka", "uniformity"]


def l2_normalize(embeddings: ArrayLike) -> np.ndarray:
    """Rows scaled to unit Euclidean length (all-zero rows stay zero)."""
    X = as_embeddings(embeddings, min_rows=1)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def alignment(embeddings: ArrayLike, view_embeddings: ArrayLike, *, alpha: float = 2.0) -> float:
    """Mean distance (to the power ``alpha``) between each row and its view, after L2 norm.

    Parameters
    ----------
    embeddings, view_embeddings
        ``(n, d)``: embeddings of events and of their corrupted views, row by row.
    alpha
        Exponent (Wang & Isola use 2).

    Returns
    -------
    float
        In ``[0, 2**alpha]``; lower = the views stay closer together.
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    A = l2_normalize(as_embeddings(embeddings, "embeddings", min_rows=1))
    B = l2_normalize(as_embeddings(view_embeddings, "view_embeddings", min_rows=1))
    if A.shape != B.shape:
        raise ValueError(
            f"embeddings have shape {A.shape} but view_embeddings {B.shape}; they must match"
        )
    return float(np.mean(np.linalg.norm(A - B, axis=1) ** alpha))


def uniformity(
    embeddings: ArrayLike,
    *,
    t: float = 2.0,
    sample_size: int | None = 2000,
    random_state: int = 0,
) -> float:
    """Log of the mean Gaussian potential between distinct rows, after L2 norm.

    Parameters
    ----------
    embeddings
        ``(n, d)`` array.
    t
        Scale of the Gaussian potential (Wang & Isola use 2).
    sample_size
        Rows drawn with ``random_state`` (the cost is quadratic); ``None`` for all.
    random_state
        Seed of the subsample.

    Returns
    -------
    float
        ``<= 0``; lower = spread more uniformly over the sphere.
    """
    if t <= 0:
        raise ValueError(f"t must be > 0, got {t!r}")
    X = l2_normalize(as_embeddings(embeddings))
    X = X[subsample_rows(X.shape[0], sample_size, random_state)]
    sq = np.clip(2.0 - 2.0 * (X @ X.T), 0.0, 4.0)
    upper = sq[np.triu_indices(X.shape[0], k=1)]
    # log-mean-exp, stable
    a = -t * upper
    m = a.max()
    return float(m + np.log(np.mean(np.exp(a - m))))


def linear_cka(embeddings_a: ArrayLike, embeddings_b: ArrayLike) -> float:
    """Linear centred kernel alignment of two representations of the same rows.

    ``CKA = ||B^T A||_F^2 / (||A^T A||_F ||B^T B||_F)`` with column-centred ``A`` and ``B``
    (Kornblith et al. 2019). 1 = identical up to rotation and scale; near 0 = unrelated.

    Parameters
    ----------
    embeddings_a, embeddings_b
        ``(n, d_a)`` and ``(n, d_b)``, the same rows in the same order.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    A = as_embeddings(embeddings_a, "embeddings_a")
    B = as_embeddings(embeddings_b, "embeddings_b")
    if A.shape[0] != B.shape[0]:
        raise ValueError(
            f"embeddings_a has {A.shape[0]} rows but embeddings_b has {B.shape[0]}; "
            "both must describe the same rows"
        )
    A = A - A.mean(axis=0)
    B = B - B.mean(axis=0)
    denominator = np.linalg.norm(A.T @ A) * np.linalg.norm(B.T @ B)
    if denominator == 0:
        raise ValueError("linear_cka: a representation is constant over the rows")
    return float(np.linalg.norm(B.T @ A) ** 2 / denominator)
