"""Evaluation of anomaly scores with labels matched by id.

Scores are pandas Series indexed by event id; :func:`align` joins them with the label table
and refuses any mismatch (:class:`IdAlignmentError`), so metrics are never computed against the
wrong rows. Array-level functions are there for benchmarks whose rows have no ids.
"""

from anomaly_tutorial.evaluate.alignment import IdAlignmentError, align
from anomaly_tutorial.evaluate.incidents import incident_detection, incident_summary
from anomaly_tutorial.evaluate.metrics import (
    compare_scores,
    confusion,
    evaluate_scores,
    pr_auc,
    precision_at_k,
    prf_at_threshold,
    recall_by_type,
    roc_auc,
)
from anomaly_tutorial.evaluate.thresholds import threshold_from_contamination

__all__ = [
    "IdAlignmentError",
    "align",
    "compare_scores",
    "confusion",
    "evaluate_scores",
    "incident_detection",
    "incident_summary",
    "pr_auc",
    "precision_at_k",
    "prf_at_threshold",
    "recall_by_type",
    "roc_auc",
    "threshold_from_contamination",
]
