"""Triage: from alerts to what an analyst reads first.

One module per idea:

* :mod:`~anomaly_tutorial.triage.context`: service tier, privileged account, external source;
* :mod:`~anomaly_tutorial.triage.severity`: ``low / medium / high / critical`` and OCSF
  ``severity_id`` from the calibrated score and the context, with per-domain policies;
* :mod:`~anomaly_tutorial.triage.explain`: per-field deviations and explanations in words;
* :mod:`~anomaly_tutorial.triage.kind`: point, contextual or collective;
* :mod:`~anomaly_tutorial.triage.category`: brute force, exfiltration, port scan, ...;
* :mod:`~anomaly_tutorial.triage.findings`: OCSF Detection Finding records (class_uid 2004);
* :mod:`~anomaly_tutorial.triage.summary`: the dashboard summary.

Scores come from any detector; :mod:`anomaly_tutorial.thresholds` turns them into p-values
and 0-100 scores first.
"""

from anomaly_tutorial.triage.category import (
    CategoryClassifier,
    category_features,
    tune_category_depth,
)
from anomaly_tutorial.triage.context import (
    PRIVILEGED_OPERATIONS,
    alert_context,
    external_source,
    privileged_accounts,
)
from anomaly_tutorial.triage.explain import FeatureDeviations
from anomaly_tutorial.triage.findings import (
    DetectionFinding,
    FindingError,
    to_findings,
    validate_finding,
)
from anomaly_tutorial.triage.kind import KINDS, KindRule, burst_size, kind_signals
from anomaly_tutorial.triage.severity import (
    SEVERITY_LEVELS,
    SeverityPolicy,
    SeverityRules,
    severity_ids,
    severity_of,
)
from anomaly_tutorial.triage.summary import TriageSummary, dashboard_summary

__all__ = [
    "KINDS",
    "PRIVILEGED_OPERATIONS",
    "SEVERITY_LEVELS",
    "CategoryClassifier",
    "DetectionFinding",
    "FeatureDeviations",
    "FindingError",
    "KindRule",
    "SeverityPolicy",
    "SeverityRules",
    "TriageSummary",
    "alert_context",
    "burst_size",
    "category_features",
    "dashboard_summary",
    "external_source",
    "kind_signals",
    "privileged_accounts",
    "severity_ids",
    "severity_of",
    "to_findings",
    "tune_category_depth",
    "validate_finding",
]
