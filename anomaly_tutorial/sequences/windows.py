"""Shared machinery of the sequence detectors: validation, vocabulary, sliding windows.

Every detector of :mod:`anomaly_tutorial.sequences` predicts (or counts) the event at each
position of a session from the ``window`` events before it, DeepLog's formulation
(Du et al., 2017). This module turns ragged lists of integer ids into the arrays that need:

* :func:`unique_sequences` validates the input and removes duplicate sessions (real logs repeat
  the same session shape many times: scoring each distinct one once is the largest saving);
* :class:`Vocabulary` maps arbitrary integer ids to contiguous indices, with two reserved
  indices: :data:`PAD` for the left padding of positions that have fewer than ``window``
  predecessors, and :data:`UNK` for ids never seen in training;
* :func:`sliding_windows` builds, for every position of every session, the window of the
  preceding indices (left-padded) and the target index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "PAD",
    "UNK",
    "Vocabulary",
    "padded_positions",
    "row_keys",
    "sliding_windows",
    "unique_sequences",
]

#: Index used to left-pad windows of positions with fewer than ``window`` predecessors.
PAD = 0
#: Index of every id not seen in training.
UNK = 1
#: Number of reserved indices before the first known id.
N_RESERVED = 2

_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def unique_sequences(
    sequences: Sequence[Sequence[int]], *, name: str = "sequences"
) -> tuple[list[np.ndarray], np.ndarray]:
    """Validate sessions of integer ids and return the distinct ones with the inverse map.

    Parameters
    ----------
    sequences
        A list (or other sequence) of sessions, each a list, tuple or 1-D integer array of ids.
    name
        Argument name used in error messages.

    Returns
    -------
    uniques : list of numpy.ndarray
        The distinct sessions as int64 arrays, in order of first appearance.
    inverse : numpy.ndarray
        ``inverse[i]`` is the index in ``uniques`` of session ``i``.

    Raises
    ------
    TypeError
        If ``sequences`` is a string, a mapping or not a sequence of sessions.
    ValueError
        If a session holds something other than integers, or is not one-dimensional.
    """
    if isinstance(sequences, (str, bytes, dict)) or not hasattr(sequences, "__len__"):
        raise TypeError(
            f"{name} must be a list of sessions (each a list of integer event ids), "
            f"got {type(sequences).__name__}"
        )
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2 and sequences.dtype.kind in "iu":
        sequences = list(sequences)
    index: dict[tuple, int] = {}
    inverse = np.empty(len(sequences), dtype=np.int64)
    first_at: list[int] = []
    for i, seq in enumerate(sequences):
        if isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__"):
            raise ValueError(
                f"{name}[{i}] must be a sequence of integer event ids, got {type(seq).__name__} "
                f"{seq!r:.60}"
            )
        key = tuple(seq.tolist()) if isinstance(seq, np.ndarray) else tuple(seq)
        j = index.get(key)
        if j is None:
            j = len(index)
            index[key] = j
            first_at.append(i)
        inverse[i] = j
    uniques: list[np.ndarray] = []
    for key, i in zip(index, first_at, strict=True):
        arr = np.asarray(key)
        if arr.size == 0:
            uniques.append(np.zeros(0, dtype=np.int64))
            continue
        if arr.ndim != 1:
            raise ValueError(f"{name}[{i}] must be a flat sequence of event ids, got {key!r:.80}")
        if arr.dtype.kind not in "iu" or arr.dtype == np.bool_:
            too_large = next(
                (
                    v
                    for v in key
                    if isinstance(v, (int, np.integer))
                    and not isinstance(v, bool)
                    and not _INT64_MIN <= int(v) <= _INT64_MAX
                ),
                None,
            )
            if too_large is not None:
                raise ValueError(
                    f"{name}[{i}]: event id {too_large} is outside the int64 range "
                    f"[{_INT64_MIN}, {_INT64_MAX}]"
                )
            bad = next(
                (v for v in key if isinstance(v, bool) or not isinstance(v, (int, np.integer))),
                key[0],
            )
            raise ValueError(
                f"{name}[{i}] must hold integer event ids; found {bad!r} "
                f"({type(bad).__name__}) in {key!r:.80}"
            )
        uniques.append(arr.astype(np.int64, copy=False))
    return uniques, inverse


class Vocabulary:
    """Map arbitrary integer ids to contiguous indices ``N_RESERVED, N_RESERVED + 1, ...``.

    Parameters
    ----------
    ids
        The ids seen in training (any order, repeats allowed).

    Attributes
    ----------
    classes : numpy.ndarray
        Sorted distinct known ids; id ``classes[i]`` has index ``i + N_RESERVED``.
    """

    def __init__(self, ids: np.ndarray) -> None:
        self.classes = np.unique(np.asarray(ids, dtype=np.int64))

    def __len__(self) -> int:
        """Number of indices, reserved ones included."""
        return int(self.classes.size) + N_RESERVED

    def encode(self, ids: np.ndarray) -> np.ndarray:
        """Return the index of each id: known ids ``>= N_RESERVED``, unknown ones :data:`UNK`."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.classes.size == 0:
            return np.full(ids.shape, UNK, dtype=np.int64)
        pos = np.searchsorted(self.classes, ids)
        pos_clipped = np.minimum(pos, self.classes.size - 1)
        known = self.classes[pos_clipped] == ids
        return np.where(known, pos_clipped + N_RESERVED, UNK).astype(np.int64)


def sliding_windows(
    encoded: Sequence[np.ndarray], window: int, *, end_index: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the window before every position of every session, and the position's index.

    Each session is left-padded with ``window`` :data:`PAD` indices, so that its first event is
    predicted from ``[PAD] * window``, its second from ``[PAD] * (window - 1) + [first]``, and so
    on: every event of every session is a target, however short the session.

    Parameters
    ----------
    encoded
        Sessions as arrays of vocabulary indices.
    window
        Number of preceding events in each window (DeepLog's ``h``).
    end_index
        If given, an end-of-session target with this index is appended to each session, so
        that a session that stops too early (or runs on too long) can be noticed.

    Returns
    -------
    windows : numpy.ndarray
        ``(n_positions, window)`` int64 indices.
    targets : numpy.ndarray
        ``(n_positions,)`` int64 index of the event at each position.
    owner : numpy.ndarray
        ``(n_positions,)`` index into ``encoded`` of the session each position belongs to.
    """
    lengths = np.fromiter((len(s) for s in encoded), dtype=np.int64, count=len(encoded))
    if end_index is not None:
        lengths = lengths + 1
    flat_size, positions, owner = padded_positions(lengths, window)
    if positions.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros((0, window), dtype=np.int64), empty, empty
    flat = np.full(flat_size, PAD, dtype=np.int64)
    parts = list(encoded)
    if end_index is not None:
        tail = np.array([end_index], dtype=np.int64)
        parts = [np.concatenate([s, tail]) for s in parts]
    targets = np.concatenate(parts).astype(np.int64, copy=False)
    flat[positions] = targets
    if window == 0:
        return np.zeros((positions.size, 0), dtype=np.int64), targets, owner
    view = np.lib.stride_tricks.sliding_window_view(flat, window)
    windows = view[positions - window]
    return np.ascontiguousarray(windows), targets, owner


def padded_positions(lengths: np.ndarray, window: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Lay sessions end to end, each after ``window`` padding slots.

    Parameters
    ----------
    lengths
        Number of targets of each session.
    window
        Padding slots before each session.

    Returns
    -------
    flat_size : int
        Length of the padded, concatenated array.
    positions : numpy.ndarray
        Index in that array of every target, sessions in order.
    owner : numpy.ndarray
        Session of every target.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n_targets = int(lengths.sum())
    spans = lengths + window
    starts = np.concatenate([[0], np.cumsum(spans)[:-1]]).astype(np.int64)
    owner = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    offset_in_session = np.arange(n_targets) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = starts[owner] + window + offset_in_session
    return int(spans.sum()), positions.astype(np.int64), owner


def row_keys(matrix: np.ndarray) -> np.ndarray:
    """Return one hashable, sortable key per row of an integer matrix (a void-dtype view)."""
    mat = np.ascontiguousarray(matrix, dtype=np.int64)
    if mat.ndim != 2:
        raise ValueError(f"row_keys needs a 2-D matrix, got shape {mat.shape}")
    width = mat.dtype.itemsize * mat.shape[1]
    if width == 0:
        return np.zeros(mat.shape[0], dtype=np.dtype((np.void, 1)))
    return mat.view(np.dtype((np.void, width))).ravel()
