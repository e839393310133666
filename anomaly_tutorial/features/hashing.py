"""Stable hashing of strings into buckets, identical across processes and machines.

Python's built-in :func:`hash` is salted per process (``PYTHONHASHSEED``), so two runs of the
same notebook would put the same user name into different buckets. This module uses
:func:`hashlib.blake2b` instead: the digest of the UTF-8 bytes depends only on the string.
Only the distinct values are hashed, so a column with many repeats costs one digest per
distinct value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["hash_buckets", "stable_hash"]


def _digest(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "little")


def stable_hash(values: str | Iterable[str]) -> int | np.ndarray:
    """Return a deterministic unsigned 64-bit hash (BLAKE2b, 8-byte digest) of strings.

    Parameters
    ----------
    values
        One string, or an iterable of strings.

    Returns
    -------
    int or numpy.ndarray
        An ``int`` for a single string, otherwise a ``uint64`` array with one hash per value.

    Raises
    ------
    TypeError
        If a value is not a string.
    """
    if isinstance(values, str):
        return _digest(values)
    items = list(values)
    bad = [v for v in items if not isinstance(v, str)]
    if bad:
        raise TypeError(f"stable_hash expects strings, got {type(bad[0]).__name__} {bad[0]!r}")
    if not items:
        return np.zeros(0, dtype=np.uint64)
    codes, uniques = pd.factorize(np.asarray(items, dtype=object))
    hashed = np.fromiter((_digest(u) for u in uniques), dtype=np.uint64, count=len(uniques))
    return hashed[codes]


def hash_buckets(values: Iterable[str], n_buckets: int) -> np.ndarray:
    """Map strings to bucket numbers ``0 .. n_buckets - 1`` with :func:`stable_hash`.

    Parameters
    ----------
    values
        Strings to bucket.
    n_buckets
        Number of buckets, at least 1.

    Returns
    -------
    numpy.ndarray
        ``int64`` bucket per value.
    """
    if int(n_buckets) < 1:
        raise ValueError(f"n_buckets must be at least 1, got {n_buckets!r}")
    hashed = stable_hash(list(values))
    return (np.asarray(hashed, dtype=np.uint64) % np.uint64(n_buckets)).astype(np.int64)
