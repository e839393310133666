"""Correlating alerts across detector families and ranking root-cause services.

* :mod:`~anomaly_tutorial.correlation.graph`: the service call graph from trace spans
  (:func:`service_graph`, :class:`ServiceGraph`);
* :mod:`~anomaly_tutorial.correlation.alerts`: the four families' scores on one dataset
  (:func:`family_scores`), one shared alert budget (:func:`budget_alerts`) and the correlated
  incidents (:func:`correlate`);
* :mod:`~anomaly_tutorial.correlation.rootcause`: root-cause ranking over the call graph with
  an explanation per candidate (:func:`rank_root_causes`) and its baselines;
* :mod:`~anomaly_tutorial.correlation.evaluation`: incident recall and precision per family and
  for the correlated view, detection delay, root-cause top-k accuracy against the
  generator's ground truth.
"""

from anomaly_tutorial.correlation.alerts import (
    ALERT_COLUMNS,
    FAMILIES,
    BudgetedAlerts,
    budget_alerts,
    correlate,
    family_scores,
    log_window_scores,
    propagated_config,
    propagated_dataset,
)
from anomaly_tutorial.correlation.evaluation import (
    CORRELATED,
    candidates_of,
    choose_min_alerts,
    detection_by_type,
    family_report,
    incident_truth,
    root_cause_accuracy,
    root_cause_report,
)
from anomaly_tutorial.correlation.graph import ServiceGraph, graph_from_edges, service_graph
from anomaly_tutorial.correlation.rootcause import (
    CANDIDATE_COLUMNS,
    EVIDENCE_WEIGHTS,
    rank_by_alert_count,
    rank_by_first_alert,
    rank_root_causes,
    top_k_hit,
)

__all__ = [
    "ALERT_COLUMNS",
    "CANDIDATE_COLUMNS",
    "CORRELATED",
    "EVIDENCE_WEIGHTS",
    "FAMILIES",
    "BudgetedAlerts",
    "ServiceGraph",
    "budget_alerts",
    "candidates_of",
    "choose_min_alerts",
    "correlate",
    "detection_by_type",
    "family_report",
    "family_scores",
    "graph_from_edges",
    "incident_truth",
    "log_window_scores",
    "propagated_config",
    "propagated_dataset",
    "rank_by_alert_count",
    "rank_by_first_alert",
    "rank_root_causes",
    "root_cause_accuracy",
    "root_cause_report",
    "service_graph",
    "top_k_hit",
]
