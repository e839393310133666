"""Ranking and threshold metrics for anomaly scores.

Two layers:

* array functions (:func:`roc_auc`, :func:`pr_auc`, :func:`precision_at_k`,
  :func:`prf_at_threshold`, :func:`confusion`) for benchmarks where rows have no ids;
* id-aware functions (:func:`evaluate_scores`, :func:`compare_scores`) that first
  :func:`~anomaly_tutorial.evaluate.alignment.align` scores with labels by id.

Conventions: higher scores are more anomalous; an event is flagged when
``score >= threshold``; label 1/True means anomalous.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, roc_auc_score

from anomaly_tutorial.evaluate.alignment import align
from anomaly_tutorial.ocsf import ID_COLUMN

__all__ = [
    "compare_scores",
    "confusion",
    "evaluate_scores",
    "pr_auc",
    "precision_at_k",
    "prf_at_threshold",
    "roc_auc",
]


def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    return array


def as_binary(values: ArrayLike, name: str = "y_true") -> np.ndarray:
    """Validate 0/1 or boolean values and return them as a bool array.

    Raises
    ------
    ValueError
        When ``values`` is not 1-D, is empty, or holds anything but 0/1/True/False.
    """
    array = _as_1d(values, name)
    if array.dtype == bool:
        return array
    try:
        numeric = array.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold 0/1 or True/False, got dtype {array.dtype}") from None
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"{name}: {bad.sum()} value(s) are not 0/1 (rows {', '.join(map(str, rows[:5]))}"
            f"{', ...' if rows.size > 5 else ''}: {', '.join(map(repr, array[rows[:5]]))})"
        )
    return numeric.astype(bool)


def as_scores(values: ArrayLike, name: str = "y_score") -> np.ndarray:
    """Validate finite numeric scores and return them as a float64 array."""
    array = _as_1d(values, name)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    array = array.astype(float)
    bad = ~np.isfinite(array)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"{name}: {bad.sum()} value(s) are NaN or infinite "
            f"(rows {', '.join(map(str, rows[:5]))}{', ...' if rows.size > 5 else ''})"
        )
    return array


def _pair(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = as_binary(y_true, "y_true")
    s = as_scores(y_score, "y_score")
    if y.shape != s.shape:
        raise ValueError(f"y_true and y_score must have the same length, got {y.size} and {s.size}")
    return y, s


def _require_both_classes(y: np.ndarray, metric: str) -> None:
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        present = "anomalous" if n_pos else "normal"
        raise ValueError(
            f"{metric} is undefined: all {y.size} labels are {present}; "
            f"the evaluation set needs both normal and anomalous events"
        )


def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the ROC curve (probability a random anomaly outscores a random normal event).

    Ties count one half. 0.5 is a random detector.

    Raises
    ------
    ValueError
        Bad shapes or values, or only one class present (AUC undefined).
    """
    y, s = _pair(y_true, y_score)
    _require_both_classes(y, "ROC-AUC")
    return float(roc_auc_score(y, s))


def pr_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the precision-recall curve, computed as average precision.

    A random detector scores the prevalence (fraction of anomalies) in expectation, so compare
    against that base rate, not against 0.5.

    Raises
    ------
    ValueError
        Bad shapes or values, or only one class present.
    """
    y, s = _pair(y_true, y_score)
    _require_both_classes(y, "PR-AUC")
    return float(average_precision_score(y, s))


def top_k_order(y_score: np.ndarray) -> np.ndarray:
    """Row order by decreasing score; ties keep their original order (stable sort)."""
    return np.argsort(-y_score, kind="stable")


def precision_at_k(y_true: ArrayLike, y_score: ArrayLike, k: int) -> float:
    """Fraction of anomalies among the ``k`` highest-scoring rows.

    Tie rule: rows are ranked by score, descending, with a stable sort, so among equal scores
    the row that comes first in the input is taken first. For id-aligned data
    (:func:`evaluate_scores`) the input order is the sorted id order, so the result does not
    depend on how the caller ordered the rows.

    Raises
    ------
    ValueError
        Bad shapes or values, or ``k`` not an integer in ``1..len(y_true)``.
    """
    y, s = _pair(y_true, y_score)
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f"k must be an integer, got {type(k).__name__}")
    if not 1 <= k <= y.size:
        raise ValueError(f"k must be between 1 and the number of rows ({y.size}), got {k}")
    return float(y[top_k_order(s)[:k]].mean())


def _counts(y: np.ndarray, pred: np.ndarray) -> dict[str, int]:
    return {
        "tp": int(np.sum(y & pred)),
        "fp": int(np.sum(~y & pred)),
        "fn": int(np.sum(y & ~pred)),
        "tn": int(np.sum(~y & ~pred)),
    }


def _prf(counts: dict[str, int]) -> dict[str, float]:
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else float("nan")
    if np.isnan(recall):
        f1 = float("nan")
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def prf_at_threshold(y_true: ArrayLike, y_score: ArrayLike, threshold: float) -> dict[str, Any]:
    """Precision, recall and F1 when every row with ``score >= threshold`` is flagged.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (floats) and the counts ``tp``, ``fp``, ``fn``,
        ``tn`` (ints). Precision is 0.0 when nothing is flagged; recall and F1 are NaN when
        there are no anomalies (undefined).

    Raises
    ------
    ValueError
        Bad shapes or values, or a threshold that is not a finite number.
    """
    y, s = _pair(y_true, y_score)
    if isinstance(threshold, bool) or not np.isfinite(_as_float(threshold, "threshold")):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    counts = _counts(y, s >= float(threshold))
    return {**_prf(counts), **counts}


def _as_float(value: object, name: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def confusion(y_true: ArrayLike, y_pred: ArrayLike) -> pd.DataFrame:
    """2x2 confusion matrix with labelled rows (``actual``) and columns (``predicted``).

    Returns
    -------
    pandas.DataFrame
        Index ``actual`` = [normal, anomaly], columns ``predicted`` = [normal, anomaly];
        cell values are row counts.
    """
    y = as_binary(y_true, "y_true")
    pred = as_binary(y_pred, "y_pred")
    if y.shape != pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {y.size} and {pred.size}"
        )
    c = _counts(y, pred)
    return pd.DataFrame(
        [[c["tn"], c["fp"]], [c["fn"], c["tp"]]],
        index=pd.Index(["normal", "anomaly"], name="actual"),
        columns=pd.Index(["normal", "anomaly"], name="predicted"),
    )


def evaluate_scores(
    scores: pd.Series,
    labels: pd.DataFrame | pd.Series,
    *,
    threshold: float | None = None,
    k: int | None = None,
    allow_subset: bool = False,
    id_column: str = ID_COLUMN,
    label_column: str = "is_anomaly",
) -> dict[str, Any]:
    """All headline metrics for one detector, with scores matched to labels by id.

    Parameters
    ----------
    scores : pandas.Series
        Anomaly scores indexed by id (higher = more anomalous).
    labels : pandas.DataFrame or pandas.Series
        Labels, see :func:`~anomaly_tutorial.evaluate.alignment.align`.
    threshold : float, optional
        When given, also report precision, recall, F1 and the confusion counts for
        ``score >= threshold``.
    k : int, optional
        Cut-off for precision@k; defaults to the number of anomalies (then precision@k equals
        recall@k, also called R-precision).
    allow_subset, id_column, label_column
        Passed to :func:`~anomaly_tutorial.evaluate.alignment.align`.

    Returns
    -------
    dict
        ``n``, ``n_anomalies``, ``base_rate`` (prevalence = expected PR-AUC of a random
        detector), ``roc_auc``, ``pr_auc``, ``k``, ``precision_at_k`` and, with a threshold,
        ``threshold``, ``precision``, ``recall``, ``f1``, ``tp``, ``fp``, ``fn``, ``tn``.
    """
    frame = align(
        scores, labels, id_column=id_column, label_column=label_column, allow_subset=allow_subset
    )
    y = frame["is_anomaly"].to_numpy(dtype=bool)
    s = frame["score"].to_numpy(dtype=float)
    n_pos = int(y.sum())
    if k is None:
        if n_pos == 0:
            raise ValueError("precision@k: no anomalies among the labels; pass k explicitly")
        k = n_pos
    result: dict[str, Any] = {
        "n": int(y.size),
        "n_anomalies": n_pos,
        "base_rate": float(y.mean()),
        "roc_auc": roc_auc(y, s),
        "pr_auc": pr_auc(y, s),
        "k": int(k),
        "precision_at_k": precision_at_k(y, s, k),
    }
    if threshold is not None:
        result["threshold"] = float(threshold)
        result.update(prf_at_threshold(y, s, threshold))
    return result


def compare_scores(
    scores: Mapping[str, pd.Series],
    labels: pd.DataFrame | pd.Series,
    *,
    thresholds: Mapping[str, float] | None = None,
    k: int | None = None,
    allow_subset: bool = False,
    id_column: str = ID_COLUMN,
    label_column: str = "is_anomaly",
) -> pd.DataFrame:
    """Evaluate several detectors on the same labels; one row per method.

    Parameters
    ----------
    scores : mapping of str to pandas.Series
        Method name -> scores indexed by id.
    labels : pandas.DataFrame or pandas.Series
        Shared labels.
    thresholds : mapping of str to float, optional
        Per-method thresholds; methods without one get only the ranking metrics.
    k, allow_subset, id_column, label_column
        As in :func:`evaluate_scores`.

    Returns
    -------
    pandas.DataFrame
        Index ``method`` (in the mapping's order), one column per metric.
    """
    if not isinstance(scores, Mapping) or not scores:
        raise TypeError("scores must be a non-empty mapping {method name: pd.Series of scores}")
    thresholds = dict(thresholds or {})
    unknown = sorted(set(thresholds) - set(scores))
    if unknown:
        raise ValueError(f"thresholds given for unknown method(s): {unknown}")
    rows = {}
    for name, method_scores in scores.items():
        try:
            rows[name] = evaluate_scores(
                method_scores,
                labels,
                threshold=thresholds.get(name),
                k=k,
                allow_subset=allow_subset,
                id_column=id_column,
                label_column=label_column,
            )
        except (TypeError, ValueError) as err:
            raise type(err)(f"method {name!r}: {err}") from err
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "method"
    return out


def as_alerts(alerts: pd.Series, name: str = "alerts") -> pd.Series:
    """Validate a boolean (or 0/1) alert Series indexed by id and return it as bool."""
    if not isinstance(alerts, pd.Series):
        raise TypeError(
            f"{name} must be a pandas Series of booleans indexed by id, got "
            f"{type(alerts).__name__}; wrap the values with their ids: pd.Series(flags, index=ids)"
        )
    missing = alerts.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"{name}: {int(missing.sum())} value(s) are missing "
            f"(ids {', '.join(map(repr, alerts.index[missing][:5]))})"
        )
    values = as_binary(alerts.to_numpy(), name) if len(alerts) else np.zeros(0, dtype=bool)
    return pd.Series(values, index=alerts.index, name=name)


def recall_by_type(
    alerts: pd.Series,
    labels: pd.DataFrame,
    *,
    allow_subset: bool = False,
    id_column: str = ID_COLUMN,
    label_column: str = "is_anomaly",
    type_column: str = "anomaly_type",
) -> pd.DataFrame:
    """Recall of a set of alerts per anomaly type, plus the false-positive rate on normal events.

    Parameters
    ----------
    alerts : pandas.Series of bool
        True where the detector raised an alert, indexed by id.
    labels : pandas.DataFrame
        Label table with ``id_column``, ``label_column`` and ``type_column``.
    allow_subset, id_column, label_column
        As in :func:`~anomaly_tutorial.evaluate.alignment.align`.
    type_column : str, default "anomaly_type"
        Column naming the kind of anomaly.

    Returns
    -------
    pandas.DataFrame
        Index ``anomaly_type``: one row per anomaly type (sorted by name) with ``n`` (events),
        ``detected`` (events alerted on) and ``recall``; then a last row ``"normal"`` where
        ``n`` counts normal events, ``detected`` the false alarms and ``false_positive_rate``
        their share (``recall`` is NaN there, and ``false_positive_rate`` NaN on type rows).
    """
    from anomaly_tutorial.evaluate.alignment import align_values

    flags = as_alerts(alerts)
    frame = align_values(
        flags,
        labels,
        value_column="alert",
        name="alerts",
        id_column=id_column,
        label_column=label_column,
        allow_subset=allow_subset,
    )
    if type_column not in frame.columns:
        label_frame = labels if isinstance(labels, pd.DataFrame) else labels.to_frame()
        if type_column not in label_frame.columns:
            raise ValueError(
                f"labels: no {type_column!r} column (columns: {list(label_frame.columns)})"
            )
        ids = label_frame.set_index(id_column) if id_column in label_frame.columns else label_frame
        frame[type_column] = ids[type_column].reindex(frame.index).to_numpy()
    anomalous = frame[frame[label_column]]
    types = anomalous[type_column].astype(object).where(anomalous[type_column].notna(), "unknown")
    grouped = anomalous["alert"].groupby(types.to_numpy(), sort=True)
    table = pd.DataFrame({"n": grouped.size(), "detected": grouped.sum().astype(int)})
    table["recall"] = table["detected"] / table["n"]
    table["false_positive_rate"] = np.nan
    normal = frame.loc[~frame[label_column], "alert"]
    n_normal = len(normal)
    table.loc["normal"] = {
        "n": n_normal,
        "detected": int(normal.sum()),
        "recall": np.nan,
        "false_positive_rate": float(normal.mean()) if n_normal else np.nan,
    }
    table[["n", "detected"]] = table[["n", "detected"]].astype(int)
    table.index.name = type_column
    return table
