"""Exercises of the chapter "Methods on real benchmarks" (``book/real_benchmarks.md``).

Expected answers are computed here with package functions (bundled scikit-learn data and the
committed ADBench results file), never typed in, and never printed.
"""

from __future__ import annotations

from functools import cache

from anomaly_tutorial.exercises.registry import AnswerTypeError, close_to, exercise

#: Detectors compared in exercise real-benchmarks-3.
CANDIDATES = ("iforest", "knn", "lof", "ecod", "hbos", "pca")
SEEDS = (0, 1, 2, 3, 4)


@cache
def knn_mean_breast_cancer() -> float:
    """Mean test ROC-AUC of KNNDetector(n_neighbors=20, method="mean") on breast cancer."""
    from anomaly_tutorial.benchmarks.bundled import evaluate_on_task
    from anomaly_tutorial.detectors import KNNDetector

    table = evaluate_on_task(
        {"knn": lambda: KNNDetector(n_neighbors=20, method="mean")}, "breast_cancer", SEEDS
    )
    return float(table["roc_auc"].mean())


@cache
def lof_beats_iforest_count() -> int:
    """Number of ADBench datasets where our LOF's mean ROC-AUC is above our IForest's."""
    from anomaly_tutorial.benchmarks.adbench import load_results

    summary, _ = load_results()
    wide = summary.pivot(index="dataset", columns="method", values="roc_auc")
    return int((wide["LOF"] > wide["IForest"]).sum())


@cache
def best_on_wine_class1() -> tuple[str, ...]:
    """Detectors with the highest mean PR-AUC on wine with cultivar 1 normal (ties kept)."""
    from anomaly_tutorial.benchmarks.bundled import evaluate_on_task
    from anomaly_tutorial.detectors import make_detector

    factories = {name: (lambda name=name: make_detector(name)) for name in CANDIDATES}
    table = evaluate_on_task(factories, "wine", SEEDS, normal_class=1)
    means = table.groupby("detector")["pr_auc"].mean().round(6)
    return tuple(sorted(means.index[means == means.max()]))


@exercise(
    "real-benchmarks-1",
    hint=(
        "Use evaluate_on_task with {'knn': lambda: KNNDetector(n_neighbors=20, method='mean')}, "
        "the task 'breast_cancer' and seeds 0-4, and average the roc_auc column (a number "
        "between 0 and 1)."
    ),
    why="A larger k smooths the score; compare it with the default k = 5 in the table.",
)
def _knn_mean(answer: object) -> bool:
    return close_to(answer, knn_mean_breast_cancer(), rtol=0.002)


@exercise(
    "real-benchmarks-2",
    hint=(
        "load_results() gives one row per dataset and method; pivot roc_auc to one column per "
        "method and count the datasets where the LOF column is strictly above IForest."
    ),
    why="LOF's mean is low, yet it wins where anomalies are local (letter, vowels...).",
)
def _lof_wins(answer: object) -> bool:
    return close_to(answer, lof_beats_iforest_count(), atol=0.0, rtol=0.0)


@exercise(
    "real-benchmarks-3",
    hint=(
        "evaluate_on_task(..., 'wine', seeds=(0, 1, 2, 3, 4), normal_class=1) with the six "
        "detectors iforest, knn, lof, ecod, hbos, pca built by make_detector; average pr_auc "
        "per detector and answer with the name of the best one."
    ),
    why="Which method wins depends on the task: rerun with another normal cultivar to see.",
)
def _best_wine(answer: object) -> bool:
    if not isinstance(answer, str):
        raise AnswerTypeError(f"expected a detector name (a str), got {type(answer).__name__}")
    return answer.strip().lower() in best_on_wine_class1()
