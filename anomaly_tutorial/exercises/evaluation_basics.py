"""Exercises on the evaluation metrics of :mod:`anomaly_tutorial.evaluate`.

The data are small fixed arrays shown to the reader; the expected answers are computed here
with the package's own functions, never typed in.
"""

from __future__ import annotations

import numpy as np

from anomaly_tutorial.evaluate import precision_at_k
from anomaly_tutorial.exercises.registry import close_to, exercise

#: Labels of exercise ``evaluation-basics-1`` (1 = anomaly).
BASE_RATE_LABELS: tuple[int, ...] = (0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1)

#: Labels and scores of exercise ``evaluation-basics-2``.
TOP_K_LABELS: tuple[int, ...] = (0, 1, 0, 0, 1, 0, 1, 0)
TOP_K_SCORES: tuple[float, ...] = (0.2, 0.9, 0.7, 0.7, 0.4, 0.1, 0.7, 0.3)
TOP_K_K = 3


@exercise(
    "evaluation-basics-1",
    hint=(
        "A detector that ranks events at random finds anomalies at the same rate at every "
        "cut-off. Which fraction of BASE_RATE_LABELS is anomalous?"
    ),
    why=(
        "A random ranking has expected precision equal to the prevalence at every recall "
        "level, so its PR-AUC (average precision) is the base rate."
    ),
)
def _random_detector_pr_auc(answer: object) -> bool:
    expected = float(np.mean(BASE_RATE_LABELS))
    return close_to(answer, expected, rtol=1e-3)


@exercise(
    "evaluation-basics-2",
    hint=(
        "Sort by score, highest first; among equal scores keep the original order (stable "
        "sort), take the first k=3 rows and compute the fraction that are anomalies."
    ),
    why="precision_at_k breaks ties by original order, which makes it reproducible.",
)
def _precision_at_3_with_ties(answer: object) -> bool:
    expected = precision_at_k(np.array(TOP_K_LABELS), np.array(TOP_K_SCORES), TOP_K_K)
    return close_to(answer, expected, rtol=1e-3)
