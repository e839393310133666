"""Input checks shared by the embedding-quality functions (clear errors, no silent drops)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["as_embeddings", "as_labels", "as_positive_int", "subsample_rows"]


def as_embeddings(values: ArrayLike, name: str = "embeddings", min_rows: int = 2) -> np.ndarray:
    """``values`` as a finite float64 ``(n, d)`` array, or a ``ValueError`` naming ``name``."""
    if isinstance(values, pd.DataFrame):
        values = values.to_numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: expected a numeric 2-D array, got {type(values).__name__}"
        ) from None
    if array.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array (rows, dimensions), got shape {array.shape}"
        )
    if array.shape[0] < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} rows, got {array.shape[0]}")
    if array.shape[1] < 1:
        raise ValueError(f"{name}: has no columns")
    bad = ~np.isfinite(array)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        shown = ", ".join(map(str, rows[:5])) + (", ..." if rows.size > 5 else "")
        raise ValueError(f"{name}: {int(bad.sum())} values are NaN or infinite (rows {shown})")
    return array


def as_labels(values: ArrayLike, n: int, name: str = "labels") -> np.ndarray:
    """``values`` as a 1-D object array of length ``n`` without missing values."""
    if isinstance(values, pd.Series | pd.Index):
        missing = values.isna().to_numpy()
        array = values.astype(object).to_numpy()
    else:
        array = np.asarray(values, dtype=object)
        missing = pd.isna(array) if array.ndim == 1 else np.zeros(0, dtype=bool)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of labels, got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"{name}: has {array.shape[0]} values but the embeddings have {n} rows")
    if missing.any():
        rows = np.flatnonzero(missing)
        shown = ", ".join(map(str, rows[:5])) + (", ..." if rows.size > 5 else "")
        raise ValueError(f"{name}: {rows.size} values are missing (rows {shown})")
    return array


def as_positive_int(value: object, name: str) -> int:
    """``value`` as a positive ``int`` or a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def subsample_rows(n: int, sample_size: int | None, random_state: int) -> np.ndarray:
    """Sorted indices of ``min(n, sample_size)`` rows drawn without replacement (all when None)."""
    if sample_size is None or sample_size >= n:
        return np.arange(n)
    sample_size = as_positive_int(sample_size, "sample_size")
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=sample_size, replace=False))
