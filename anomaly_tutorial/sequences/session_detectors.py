"""The simple session detectors of Landauer, Skopik and Wurzenberger (2024), with one API.

Landauer et al. showed that on the common log benchmarks (HDFS, BGL, Hadoop, OpenStack) a few
detectors that need no deep learning reach F1 0.96-0.99 where LSTMs are usually reported. This
module gives each of them the session API of the package (``fit(list_of_sessions)``,
``score_samples`` higher = more anomalous, ``predict`` 0/1) and a decision threshold learned from
the *training sessions only* (``threshold_``); none of them is tuned on test data.

* :class:`SessionLengthDetector` flags a session shorter or longer than every training session:
  it catches sessions that *stop early* (a VM that never finishes booting, a block never
  acknowledged) and runaway loops.
* :class:`EventCountVectorDetector` (ECVC) compares a session's event *count vector* (how many
  times each event occurs, order ignored), optionally idf-weighted, with the nearest training
  vector (or the nearest of a few cluster leaders): it catches sessions whose events are each
  plausible but whose *counts* are not (an event repeated, one missing).
* :class:`EditDistanceDetector` scores a session by its normalised Levenshtein distance to the
  nearest training session: it catches reorderings, insertions and deletions, at a cost that
  grows with the number of training shapes.
* :class:`CombinedSessionDetector` flags a session when enough of its members do (Landauer et
  al.'s combinations, e.g. new events *or* length *or* counts).

The two counting detectors of :mod:`.baselines`, :class:`~.baselines.NewEventDetector` (an event
never seen in training) and :class:`~.baselines.NGramDetector` (an n-gram never seen; with
``end_event=True`` the end of a session is an event too, as in Landauer et al.'s padding), follow
the same API.

Distance thresholds (ECVC, edit distance) come from a *leave-one-out* pass over the training
sessions: each training session's distance to the nearest *other* training session is what
"normal" looks like, and ``threshold_`` is the ``threshold_quantile`` quantile of those
distances (the largest one by default): a test session is flagged when it is farther from the
training data than the training sessions are from one another.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial.sequences.windows import Vocabulary, unique_sequences

__all__ = [
    "CombinedSessionDetector",
    "EditDistanceDetector",
    "EventCountVectorDetector",
    "SessionLengthDetector",
    "edit_distances",
]

#: Largest number of float64 cells one broadcast distance block may hold (about 128 MB).
_BLOCK_CELLS = 16_000_000


def _check_quantile(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(
            f"parameter 'threshold_quantile' must be a number in [0, 1], got {value!r}"
        )
    return float(value)


def _non_empty_training(uniques: list[np.ndarray]) -> None:
    if not any(len(s) for s in uniques):
        raise ValueError("sequences: need at least one non-empty training session")


class _SessionDetector(BaseEstimator):
    """Shared machinery: deduplicate sessions, score the distinct ones, threshold the scores."""

    def _fit(self, uniques: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
        """Learn from the distinct sessions; return the leave-one-out score of each."""
        raise NotImplementedError

    def _score(self, uniques: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def fit(self, sequences: Sequence[Sequence[int]], y: None = None) -> _SessionDetector:
        """Learn normal behaviour from (normal) training sessions; ``y`` is ignored.

        Parameters
        ----------
        sequences
            Training sessions, each a sequence of integer event ids.
        y
            Ignored; present for scikit-learn compatibility.
        """
        uniques, inverse = unique_sequences(sequences, name="sequences")
        _non_empty_training(uniques)
        counts = np.bincount(inverse, minlength=len(uniques))
        loo = self._fit(uniques, counts)
        self.training_scores_ = loo[inverse]
        self.threshold_ = self._threshold(self.training_scores_)
        return self

    def _threshold(self, training_scores: np.ndarray) -> float:
        return 0.0

    def score_samples(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return one anomaly score per session (higher = more anomalous).

        Parameters
        ----------
        sequences
            Sessions of integer event ids.

        Returns
        -------
        numpy.ndarray
            ``(n_sessions,)`` float scores.
        """
        check_is_fitted(self, "threshold_")
        uniques, inverse = unique_sequences(sequences, name="sequences")
        if not uniques:
            return np.zeros(0)
        return np.asarray(self._score(uniques), dtype=np.float64)[inverse]

    def predict(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return 1 for sessions whose score exceeds ``threshold_``, else 0."""
        return (self.score_samples(sequences) > self.threshold_).astype(np.int64)


class SessionLengthDetector(_SessionDetector):
    """Flag sessions shorter or longer than every training session.

    The score is the number of events by which a session falls outside the training range
    ``[min_length_, max_length_]`` (0 inside it); ``predict`` flags a positive score.

    Attributes
    ----------
    min_length_, max_length_ : int
        Shortest and longest training session.
    threshold_ : float
        0: any session outside the range is flagged.
    training_scores_ : numpy.ndarray
        Score of each training session (all 0).

    Notes
    -----
    Catches sessions that stop early or run on; blind to everything that keeps the length.
    With few training sessions the range is narrow, and a normal but unusually short session
    is a false positive.
    """

    def _fit(self, uniques: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
        lengths = np.array([len(s) for s in uniques])
        self.min_length_ = int(lengths.min())
        self.max_length_ = int(lengths.max())
        return np.zeros(len(uniques))

    def _score(self, uniques: list[np.ndarray]) -> np.ndarray:
        lengths = np.array([len(s) for s in uniques], dtype=np.float64)
        return np.maximum(self.min_length_ - lengths, 0) + np.maximum(lengths - self.max_length_, 0)


def _nearest_distance(
    queries: np.ndarray, refs: np.ndarray, exclude: np.ndarray | None = None
) -> np.ndarray:
    """Ruzicka distance ``1 - sum(min) / sum(max)`` of each query row to its nearest ref row.

    ``exclude[i]`` (optional) is a ref column that query ``i`` may not use (-1: none).
    Two empty vectors are at distance 0; an empty and a non-empty one at distance 1.
    """
    n_q = queries.shape[0]
    out = np.empty(n_q)
    if refs.shape[0] == 0:
        out[:] = 1.0
        return out
    q_sum = queries.sum(axis=1)
    r_sum = refs.sum(axis=1)
    width = max(refs.shape[0] * max(refs.shape[1], 1), 1)
    step = max(1, _BLOCK_CELLS // width)
    for start in range(0, n_q, step):
        block = queries[start : start + step]
        inter = np.minimum(block[:, None, :], refs[None, :, :]).sum(axis=2)
        union = q_sum[start : start + step, None] + r_sum[None, :] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.where(union > 0, 1.0 - inter / np.where(union > 0, union, 1.0), 0.0)
        if exclude is not None:
            rows = np.flatnonzero(exclude[start : start + step] >= 0)
            dist[rows, exclude[start : start + step][rows]] = np.inf
        out[start : start + step] = dist.min(axis=1)
    out[~np.isfinite(out)] = 1.0
    return np.clip(out, 0.0, 1.0)


class EventCountVectorDetector(_SessionDetector):
    """Event count vector (ECVC) detector: distance to the nearest training count vector.

    Each session becomes a vector of event counts (one column per event seen in training and
    one for all unseen events), optionally divided by the session's length and weighted by
    inverse document frequency. Its score is the weighted Ruzicka (min/max) distance
    ``1 - sum(min(a, b)) / sum(max(a, b))`` to the nearest reference vector: 0 for a count
    vector seen in training, 1 for one that shares no event with any.

    Parameters
    ----------
    idf : bool, default False
        Weight event ``e`` by ``log10((1 + N) / df(e))`` (``N`` training sessions, ``df`` the
        number holding ``e``), so that events every session has count for nothing and rare
        ones for much; unseen events get the largest weight, ``log10(1 + N)``.
    normalize : bool, default False
        Divide each count vector by its total (compare proportions instead of counts).
    reference : {"vectors", "clusters"}, default "vectors"
        Compare with every distinct training vector, or only with cluster leaders: distinct
        vectors, most frequent first, each joining the first leader within ``cluster_radius``
        or becoming a leader itself (faster when training has many shapes).
    cluster_radius : float, default 0.1
        See ``reference``.
    threshold_quantile : float, default 1.0
        ``threshold_`` is this quantile of the training sessions' leave-one-out distances (to
        the nearest other distinct training vector); with ``reference="clusters"``, plus
        ``cluster_radius``, since a session within the threshold of a training vector is within
        threshold plus radius of that vector's leader.

    Attributes
    ----------
    vocabulary_ : Vocabulary
        Events seen in training.
    weights_ : numpy.ndarray
        Weight of each column (ones without idf); the last column is "unseen events".
    reference_vectors_ : numpy.ndarray
        The weighted reference vectors.
    threshold_ : float
        Decision threshold on the distance.
    training_scores_ : numpy.ndarray
        Leave-one-out distance of each training session.

    Notes
    -----
    Follows the ECVC detector of Landauer et al. (2024), who pick the best threshold on the test
    data; here it comes from the training sessions alone. Order is ignored: a session with its
    events swapped has distance 0.
    """

    def __init__(
        self,
        idf: bool = False,
        normalize: bool = False,
        reference: str = "vectors",
        cluster_radius: float = 0.1,
        threshold_quantile: float = 1.0,
    ) -> None:
        self.idf = idf
        self.normalize = normalize
        self.reference = reference
        self.cluster_radius = cluster_radius
        self.threshold_quantile = threshold_quantile

    def _raw_counts(self, uniques: list[np.ndarray]) -> np.ndarray:
        n_cols = self.vocabulary_.classes.size + 1
        matrix = np.zeros((len(uniques), n_cols))
        for i, s in enumerate(uniques):
            if len(s):
                idx = self.vocabulary_.encode(s) - 2  # UNK (1) -> -1 -> the last column
                matrix[i] = np.bincount(np.where(idx < 0, n_cols - 1, idx), minlength=n_cols)
        return matrix

    def _vectors(self, uniques: list[np.ndarray]) -> np.ndarray:
        matrix = self._raw_counts(uniques)
        if self.normalize:
            totals = matrix.sum(axis=1, keepdims=True)
            matrix = matrix / np.where(totals > 0, totals, 1.0)
        return matrix * self.weights_

    def _fit(self, uniques: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
        _check_quantile(self.threshold_quantile)
        if self.reference not in ("vectors", "clusters"):
            raise ValueError(
                f"parameter 'reference' must be 'vectors' or 'clusters', got {self.reference!r}"
            )
        if not (
            isinstance(self.cluster_radius, (int, float))
            and not isinstance(self.cluster_radius, bool)
            and 0 <= self.cluster_radius <= 1
        ):
            raise ValueError(
                "parameter 'cluster_radius' must be a number in [0, 1], "
                f"got {self.cluster_radius!r}"
            )
        self.vocabulary_ = Vocabulary(np.concatenate(uniques))
        n_cols = self.vocabulary_.classes.size + 1
        self.weights_ = np.ones(n_cols)
        raw = self._raw_counts(uniques)
        if self.idf:
            n_sessions = float(counts.sum())
            df = ((raw[:, :-1] > 0) * counts[:, None]).sum(axis=0)
            self.weights_[:-1] = np.log10((1.0 + n_sessions) / np.maximum(df, 1.0))
            self.weights_[-1] = math.log10(1.0 + n_sessions)
        vectors = self._vectors(uniques)
        # distinct vectors (different sessions can share counts) and their multiplicity
        distinct, vec_inv = np.unique(vectors, axis=0, return_inverse=True)
        vec_inv = vec_inv.ravel()
        multiplicity = np.bincount(vec_inv, weights=counts, minlength=distinct.shape[0])
        if self.reference == "vectors":
            leaders = np.arange(distinct.shape[0])
        else:
            order = np.argsort(-multiplicity, kind="stable")
            chosen: list[int] = []
            for j in order:
                if chosen:
                    d = _nearest_distance(distinct[j : j + 1], distinct[chosen])[0]
                    if d <= self.cluster_radius:
                        continue
                chosen.append(int(j))
            leaders = np.array(sorted(chosen))
        self.reference_vectors_ = distinct[leaders]
        # leave-one-out over all distinct vectors: one held by one session may not match itself
        exclude = np.where(multiplicity <= 1, np.arange(distinct.shape[0]), -1)
        loo_distinct = _nearest_distance(distinct, distinct, exclude)
        return loo_distinct[vec_inv]

    def _threshold(self, training_scores: np.ndarray) -> float:
        q = _check_quantile(self.threshold_quantile)
        threshold = float(np.quantile(training_scores, q, method="higher"))
        if self.reference == "clusters":
            # the distance is a metric: to a leader it is at most the radius farther
            threshold = min(threshold + float(self.cluster_radius), 1.0)
        return threshold

    def _score(self, uniques: list[np.ndarray]) -> np.ndarray:
        # sessions that differ only in order share a vector: compute each distance once
        vectors, inverse = np.unique(self._vectors(uniques), axis=0, return_inverse=True)
        return _nearest_distance(vectors, self.reference_vectors_)[inverse.ravel()]


def edit_distances(queries: Sequence[np.ndarray], refs: Sequence[np.ndarray]) -> np.ndarray:
    """Levenshtein distance between every query and every reference sequence of integers.

    A dynamic programme vectorised over all (query, reference) pairs: the loops run over the
    positions of the longest query and reference, each step a numpy operation on every pair.

    Parameters
    ----------
    queries, refs
        Integer sequences.

    Returns
    -------
    numpy.ndarray
        ``(len(queries), len(refs))`` int64 distances (insertions, deletions and substitutions
        of one event each cost 1).
    """
    n_q, n_r = len(queries), len(refs)
    out = np.zeros((n_q, n_r), dtype=np.int64)
    if n_q == 0 or n_r == 0:
        return out
    q_len = np.array([len(s) for s in queries])
    r_len = np.array([len(s) for s in refs])
    max_r = int(r_len.max())
    r_pad = np.full((n_r, max(max_r, 1)), -1, dtype=np.int64)
    for j, s in enumerate(refs):
        r_pad[j, : len(s)] = s
    # group queries of similar length so the loops stop early
    order = np.argsort(q_len, kind="stable")
    step = max(1, 4_000_000 // max(n_r * (max_r + 1), 1))
    for start in range(0, n_q, step):
        idx = order[start : start + step]
        m = int(q_len[idx].max())
        q_pad = np.full((idx.size, max(m, 1)), -2, dtype=np.int64)
        for row, i in enumerate(idx):
            q_pad[row, : q_len[i]] = queries[i]
        prev = np.broadcast_to(np.arange(max_r + 1), (idx.size, n_r, max_r + 1)).copy()
        result = np.zeros((idx.size, n_r), dtype=np.int64)
        done = q_len[idx] == 0
        result[done] = r_len[None, :].repeat(done.sum(), axis=0)
        for i in range(1, m + 1):
            cur = np.empty_like(prev)
            cur[:, :, 0] = i
            cost = (q_pad[:, i - 1][:, None, None] != r_pad[None, :, :]).astype(np.int64)
            diag = prev[:, :, :-1] + cost
            up = prev[:, :, 1:] + 1
            best = np.minimum(diag, up)
            for j in range(1, max_r + 1):
                cur[:, :, j] = np.minimum(best[:, :, j - 1], cur[:, :, j - 1] + 1)
            prev = cur
            ends = np.flatnonzero(q_len[idx] == i)
            if ends.size:
                result[ends] = np.take_along_axis(
                    prev[ends], np.broadcast_to(r_len[None, :, None], (ends.size, n_r, 1)), axis=2
                )[:, :, 0]
        out[idx] = result
    return out


class EditDistanceDetector(_SessionDetector):
    """Normalised edit distance to the nearest training session.

    The score of a session is ``min over training sessions t of lev(s, t) / max(len(s),
    len(t))``: 0 for a session seen in training, 1 for one that shares nothing with any.

    Parameters
    ----------
    threshold_quantile : float, default 1.0
        ``threshold_`` is this quantile of the training sessions' leave-one-out distances.

    Attributes
    ----------
    reference_sessions_ : list of numpy.ndarray
        The distinct training sessions.
    threshold_ : float
        Decision threshold on the distance.
    training_scores_ : numpy.ndarray
        Leave-one-out distance of each training session.

    Notes
    -----
    Catches insertions, deletions and reorderings; the cost is one dynamic programme per pair of
    distinct (test, training) sessions, so it suits tens to a few hundred training shapes, not
    tens of thousands (use :class:`EventCountVectorDetector` or n-grams there).
    """

    def __init__(self, threshold_quantile: float = 1.0) -> None:
        self.threshold_quantile = threshold_quantile

    def _normalised(self, uniques: list[np.ndarray]) -> np.ndarray:
        dist = edit_distances(uniques, self.reference_sessions_).astype(np.float64)
        q_len = np.array([len(s) for s in uniques], dtype=np.float64)
        r_len = np.array([len(s) for s in self.reference_sessions_], dtype=np.float64)
        norm = np.maximum(q_len[:, None], r_len[None, :])
        return np.where(norm > 0, dist / np.where(norm > 0, norm, 1.0), 0.0)

    def _fit(self, uniques: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
        _check_quantile(self.threshold_quantile)
        self.reference_sessions_ = list(uniques)
        dist = self._normalised(uniques)
        single = np.flatnonzero(counts <= 1)
        dist[single, single] = np.inf
        loo = dist.min(axis=1)
        return np.where(np.isfinite(loo), loo, 1.0)

    def _threshold(self, training_scores: np.ndarray) -> float:
        q = _check_quantile(self.threshold_quantile)
        return float(np.quantile(training_scores, q, method="higher"))

    def _score(self, uniques: list[np.ndarray]) -> np.ndarray:
        return self._normalised(uniques).min(axis=1)


class CombinedSessionDetector(BaseEstimator):
    """Flag a session when at least ``min_votes`` of the member detectors flag it.

    Parameters
    ----------
    detectors : list of (name, detector)
        Unfitted session detectors (anything with ``fit`` and ``predict`` on sessions); they
        are cloned when fitting.
    min_votes : int, default 1
        1 is Landauer et al.'s "any of" combination.

    Attributes
    ----------
    detectors_ : list of (name, fitted detector)
    threshold_ : float
        ``min_votes - 0.5``: ``predict`` flags a score above it.

    Notes
    -----
    ``score_samples`` is the number of members that flag a session (0 to ``len(detectors)``),
    a coarse ranking; ``member_predictions`` says which member flagged what.
    """

    def __init__(self, detectors: Sequence[tuple[str, object]], min_votes: int = 1) -> None:
        self.detectors = detectors
        self.min_votes = min_votes

    def fit(self, sequences: Sequence[Sequence[int]], y: None = None) -> CombinedSessionDetector:
        """Fit a clone of every member on the training sessions; ``y`` is ignored."""
        members = list(self.detectors)
        if not members or not all(isinstance(m, tuple) and len(m) == 2 for m in members):
            raise ValueError("parameter 'detectors' must be a non-empty list of (name, detector)")
        names = [name for name, _ in members]
        if len(set(names)) != len(names):
            raise ValueError(f"parameter 'detectors': names must be unique, got {names}")
        if (
            isinstance(self.min_votes, bool)
            or not isinstance(self.min_votes, (int, np.integer))
            or not 1 <= self.min_votes <= len(members)
        ):
            raise ValueError(
                f"parameter 'min_votes' must be an integer in [1, {len(members)}], "
                f"got {self.min_votes!r}"
            )
        self.detectors_ = [(name, clone(det).fit(sequences)) for name, det in members]
        self.threshold_ = float(self.min_votes) - 0.5
        return self

    def member_predictions(self, sequences: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        """Return each member's 0/1 predictions, by name."""
        check_is_fitted(self, "detectors_")
        return {name: det.predict(sequences) for name, det in self.detectors_}

    def score_samples(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return the number of members that flag each session."""
        votes = self.member_predictions(sequences)
        return np.sum(list(votes.values()), axis=0).astype(np.float64)

    def predict(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return 1 for sessions flagged by at least ``min_votes`` members, else 0."""
        return (self.score_samples(sequences) > self.threshold_).astype(np.int64)
