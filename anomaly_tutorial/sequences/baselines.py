"""Counting baselines for session anomaly detection: new events and n-grams.

* :class:`NewEventDetector` flags sessions that contain an event id never seen in training,
  the cheapest possible sequence detector and a surprisingly strong one on logs, where many
  failures write error lines that a healthy system never writes.
* :class:`NGramDetector` is Forrest et al.'s (1996) "sense of self": remember every run of
  ``n`` consecutive events seen in normal sessions, and count the runs of a new session that
  were never seen. With ``top_k`` it applies DeepLog's rule with counts instead of a network:
  the next event must be among the ``top_k`` most frequent continuations of the ``n - 1``
  events before it. Both share the left padding of :mod:`.windows`, so the first events of a
  session are checked too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial.sequences.windows import (
    UNK,
    Vocabulary,
    row_keys,
    sliding_windows,
    unique_sequences,
)

__all__ = ["NGramDetector", "NewEventDetector"]


def _positive_int(name: str, value: object, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"parameter {name!r} must be an integer >= {minimum}, got {value!r}")


class NewEventDetector(BaseEstimator):
    """Flag sessions holding event ids never seen in the training sessions.

    Parameters
    ----------
    scoring : {"count", "fraction"}, default "count"
        :meth:`score_samples` returns the number of unseen events in a session, or that number
        divided by the session's length (0 for an empty session).

    Attributes
    ----------
    vocabulary_ : Vocabulary
        The ids seen in training (``vocabulary_.classes``).
    threshold_ : float
        0: ``predict`` flags any session with an unseen event.

    Notes
    -----
    Catches error events a healthy system never writes; blind to everything made of known
    events (reorderings, truncation, abnormal counts).
    """

    def __init__(self, scoring: Literal["count", "fraction"] = "count") -> None:
        self.scoring = scoring

    def fit(self, sequences: Sequence[Sequence[int]], y: None = None) -> NewEventDetector:
        """Remember the ids of the training sessions; ``y`` is ignored."""
        if self.scoring not in ("count", "fraction"):
            raise ValueError(
                f"parameter 'scoring' must be 'count' or 'fraction', got {self.scoring!r}"
            )
        uniques, _ = unique_sequences(sequences, name="sequences")
        ids = np.concatenate(uniques) if uniques else np.zeros(0, dtype=np.int64)
        self.vocabulary_ = Vocabulary(ids)
        self.threshold_ = 0.0
        return self

    def score_samples(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return the number (or fraction) of unseen events per session; higher = anomalous."""
        check_is_fitted(self, "vocabulary_")
        uniques, inverse = unique_sequences(sequences, name="sequences")
        unseen = np.array(
            [float((self.vocabulary_.encode(s) == UNK).sum()) for s in uniques], dtype=np.float64
        )
        if self.scoring == "fraction":
            lengths = np.array([max(len(s), 1) for s in uniques], dtype=np.float64)
            unseen = unseen / lengths
        return unseen[inverse] if uniques else np.zeros(0)

    def predict(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return 1 for sessions with at least one unseen event id, else 0."""
        return (self.score_samples(sequences) > 0).astype(np.int64)


class NGramDetector(BaseEstimator):
    """Forrest-style n-gram detector: count a session's n-grams never seen in training.

    Position ``t`` of a session is a *miss* when the n-gram ending at ``t`` (the ``n - 1``
    events before it, left-padded, and the event itself) is not allowed: with ``top_k=None``,
    when it never occurred in training; with an integer ``top_k``, when the event is not among
    the ``top_k`` most frequent continuations of its ``n - 1`` predecessors in training (ties
    broken by the smaller id). Events never seen in training are always misses.

    Parameters
    ----------
    n : int, default 3
        Length of the n-grams (``n - 1`` events of context). ``n = 1`` reduces to
        :class:`NewEventDetector`.
    top_k : int or None, default None
        See above; ``None`` is Forrest et al.'s exact-match rule.
    end_event : bool, default False
        Also check an end-of-session event after each session's last event.
    scoring : {"misses", "miss_fraction"}, default "misses"
        :meth:`score_samples` returns the number of misses per session or their fraction of
        the session's positions.

    Attributes
    ----------
    vocabulary_ : Vocabulary
        Known ids.
    allowed_ : numpy.ndarray
        Sorted keys of the allowed (context, next event) pairs (int64 codes when the
        vocabulary is small enough, else byte strings).
    n_ngrams_ : int
        Distinct n-grams seen in training.
    threshold_ : float
        0: ``predict`` flags any session with a missed position.

    Notes
    -----
    Catches reorderings and insertions of known events; with ``end_event=True`` also sessions
    that end after an event no training session ends with (truncation). Blind to a repeated
    event inside a loop whose n-grams all occur in training, which count vectors see.
    """

    def __init__(
        self,
        n: int = 3,
        top_k: int | None = None,
        *,
        end_event: bool = False,
        scoring: Literal["misses", "miss_fraction"] = "misses",
    ) -> None:
        self.n = n
        self.top_k = top_k
        self.end_event = end_event
        self.scoring = scoring

    def _check_params(self) -> None:
        _positive_int("n", self.n)
        if self.top_k is not None:
            _positive_int("top_k", self.top_k)
        if self.scoring not in ("misses", "miss_fraction"):
            raise ValueError(
                f"parameter 'scoring' must be 'misses' or 'miss_fraction', got {self.scoring!r}"
            )

    def _pairs(self, uniques: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        encoded = [self.vocabulary_.encode(s) for s in uniques]
        end = len(self.vocabulary_) if self.end_event else None
        windows, targets, owner = sliding_windows(encoded, int(self.n) - 1, end_index=end)
        return np.column_stack([windows, targets]), targets, owner

    def fit(self, sequences: Sequence[Sequence[int]], y: None = None) -> NGramDetector:
        """Count the n-grams of the (normal) training sessions; ``y`` is ignored."""
        self._check_params()
        uniques, inverse = unique_sequences(sequences, name="sequences")
        if not any(len(s) for s in uniques):
            raise ValueError("sequences: need at least one non-empty training session")
        self.vocabulary_ = Vocabulary(np.concatenate(uniques))
        pairs, _, owner = self._pairs(uniques)
        weights = np.bincount(inverse, minlength=len(uniques))[owner]
        keys, inv = np.unique(self._keys(pairs), return_inverse=True)
        inv = inv.ravel()
        counts = np.bincount(inv, weights=weights)
        first = np.zeros(keys.size, dtype=np.int64)
        first[inv] = np.arange(inv.size)
        grams = pairs[first]
        self.n_ngrams_ = int(keys.size)
        if self.top_k is None:
            allowed = np.ones(keys.size, dtype=bool)
        else:
            ctx_keys = row_keys(grams[:, :-1])
            _, ctx_inv = np.unique(ctx_keys, return_inverse=True)
            ctx_inv = ctx_inv.ravel()
            # rank continuations within each context: by count (desc), then by index (asc)
            order = np.lexsort((grams[:, -1], -counts, ctx_inv))
            sorted_ctx = ctx_inv[order]
            group_start = np.r_[0, np.flatnonzero(np.diff(sorted_ctx)) + 1]
            starts = np.repeat(group_start, np.diff(np.r_[group_start, sorted_ctx.size]))
            rank = np.empty(keys.size, dtype=np.int64)
            rank[order] = np.arange(sorted_ctx.size) - starts
            allowed = rank < int(self.top_k)
        self.allowed_ = np.sort(keys[allowed])
        self.threshold_ = 0.0
        return self

    def position_misses(self, sequences: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """Return, per session, a boolean array marking the positions that are misses."""
        check_is_fitted(self, "allowed_")
        uniques, inverse = unique_sequences(sequences, name="sequences")
        miss, owner = self._unique_misses(uniques)
        bounds = np.searchsorted(owner, np.arange(len(uniques) + 1))
        parts = [miss[bounds[i] : bounds[i + 1]] for i in range(len(uniques))]
        return [parts[j] for j in inverse]

    def _keys(self, pairs: np.ndarray) -> np.ndarray:
        """One sortable key per n-gram: an int64 code when it fits, else the row's bytes."""
        base = len(self.vocabulary_) + 1
        if pairs.shape[1] * math.log2(base) < 62:
            weights = base ** np.arange(pairs.shape[1] - 1, -1, -1, dtype=np.int64)
            return pairs.astype(np.int64) @ weights
        return row_keys(pairs)

    def _unique_misses(self, uniques: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        pairs, targets, owner = self._pairs(uniques)
        keys = self._keys(pairs)
        allowed = self.allowed_
        if allowed.size:
            at = np.minimum(np.searchsorted(allowed, keys), allowed.size - 1)
            ok = allowed[at] == keys
        else:
            ok = np.zeros(keys.size, dtype=bool)
        miss = ~ok | (targets == UNK)
        return miss, owner

    def score_samples(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return the number (or fraction) of missed positions per session; higher = anomalous."""
        check_is_fitted(self, "allowed_")
        uniques, inverse = unique_sequences(sequences, name="sequences")
        miss, owner = self._unique_misses(uniques)
        n_u = len(uniques)
        misses = np.bincount(owner, weights=miss, minlength=n_u)
        if self.scoring == "miss_fraction":
            positions = np.bincount(owner, minlength=n_u)
            misses = misses / np.maximum(positions, 1)
        return misses[inverse].astype(np.float64)

    def predict(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return 1 for sessions with at least one missed position, else 0."""
        return (self.score_samples(sequences) > 0).astype(np.int64)
