"""Exercises of the chapter "Sequences of events" (``book/event_sequences.md``).

The data are small fixed sessions or the chapter's seeded synthetic benchmark; expected answers
are computed here with the package's own functions, never typed in.
"""

from __future__ import annotations

import numpy as np

from anomaly_tutorial.exercises.registry import close_to, exercise
from anomaly_tutorial.sequences import EventCountVectorDetector, NGramDetector, make_block_sessions

#: Training sessions of exercise ``seq-1``.
BIGRAM_TRAIN: tuple[tuple[int, ...], ...] = ((1, 2, 3, 4), (1, 2, 2, 3, 4), (1, 3, 4))
#: Session scored in exercise ``seq-1``.
BIGRAM_TEST: tuple[int, ...] = (1, 2, 4, 3, 4, 1)

#: Ranks of the true event at the positions of one session (exercise ``seq-2``).
RANKS: tuple[int, ...] = (0, 2, 0, 7, 1, 4, 0)

#: Training sessions of exercise ``seq-4``.
COUNT_TRAIN: tuple[tuple[int, ...], ...] = ((1, 2, 3, 4), (1, 2, 2, 3, 4), (1, 2, 3, 4, 4))
#: Session scored in exercise ``seq-4``.
COUNT_TEST: tuple[int, ...] = (1, 2, 3, 3, 4, 9)

#: Synthetic benchmark of exercise ``seq-3``: normal training sessions, test sessions, seeds.
BENCH_TRAIN = (1000, 0, 1)
BENCH_TEST = (1500, 200, 2)


@exercise(
    "seq-1",
    hint=(
        "Pad the start with one padding symbol, list the bigrams (previous event, event) of the "
        "training sessions, then count the bigrams of the test session that are not in that "
        "list. NGramDetector(n=2).fit(...).score_samples(...) does exactly this."
    ),
    why="Forrest-style detection counts the n-grams never seen in normal behaviour.",
)
def _bigram_misses(answer: object) -> bool:
    det = NGramDetector(n=2).fit([list(s) for s in BIGRAM_TRAIN])
    expected = float(det.score_samples([list(BIGRAM_TEST)])[0])
    return close_to(answer, expected, atol=0.0)


@exercise(
    "seq-2",
    hint=(
        "A position is a miss when the true event's rank is >= top_k (rank 0 = the model's "
        "first guess). Which top_k makes no position a miss?"
    ),
    why="DeepLog's session is normal when every true event is among the top_k predictions.",
)
def _smallest_top_k(answer: object) -> bool:
    expected = int(np.max(RANKS)) + 1
    return close_to(answer, expected, atol=0.0)


@exercise(
    "seq-3",
    hint=(
        "Use the chapter's benchmark (train: make_block_sessions(1000, 0, seed=1), test: "
        "make_block_sessions(1500, 200, seed=2)), fit "
        "NGramDetector(n=5) on the training sessions, predict the test sessions and average "
        "the predictions over the sessions whose kind is 'missing_step'."
    ),
    why=(
        "Longer n-grams see more context and catch more 'missing step' sessions, at the price "
        "of more false positives on unseen but normal interleavings."
    ),
)
def _ngram5_missing_step_recall(answer: object) -> bool:
    n_normal, n_anomalous, seed = BENCH_TRAIN
    train = make_block_sessions(n_normal, n_anomalous, seed=seed)
    n_normal, n_anomalous, seed = BENCH_TEST
    test = make_block_sessions(n_normal, n_anomalous, seed=seed)
    pred = NGramDetector(n=5).fit(train.sessions).predict(test.sessions)
    expected = float(pred[test.kinds == "missing_step"].mean())
    return close_to(answer, expected, atol=0.005)


@exercise(
    "seq-4",
    hint=(
        "Count each event in the test session and in each training session (events never "
        "seen in training go into one shared column). For each training session add up the "
        "element-wise minima and maxima; the distance is 1 - min-sum / max-sum, and the score "
        "is the smallest distance."
    ),
    why=(
        "An event-count vector ignores order: it sees a step repeated, missing or unseen, "
        "and the leave-one-out threshold says how far normal sessions are from one another."
    ),
)
def _count_vector_distance(answer: object) -> bool:
    det = EventCountVectorDetector().fit([list(s) for s in COUNT_TRAIN])
    expected = float(det.score_samples([list(COUNT_TEST)])[0])
    return close_to(answer, expected, atol=1e-9)
