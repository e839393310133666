"""From anomaly scores to alerts: calibration, threshold policies, alert budgets, incidents.

* Calibration (:mod:`~anomaly_tutorial.thresholds.calibration`): :class:`ConformalCalibrator`
  (conformal p-values against a normal period), :func:`anomaly_score_0_100` (a 0-100 score for
  people), :func:`benjamini_hochberg` and :func:`false_discovery_proportion`.
* Threshold policies (:mod:`~anomaly_tutorial.thresholds.policies`), each fitted on a
  validation period and applied unchanged to a later one, each recording a JSON-serialisable
  :class:`ThresholdDecision`: :class:`ContaminationQuantile`, :class:`BestFBeta`,
  :class:`AlertBudget`, :class:`ExpectedCost`, :class:`BenjaminiHochberg`, :class:`MADFence`,
  :class:`IQRFence`, :class:`Otsu`; :func:`load_decision`, :func:`alerts_per_bucket`.
* Alerts to incidents (:mod:`~anomaly_tutorial.thresholds.grouping`): :func:`group_alerts`,
  :func:`daily_counts`.
* The book's score tables (:mod:`~anomaly_tutorial.thresholds.book`): :func:`book_scores`
  (validation and test scores of an event, a metric and a session detector),
  :func:`book_policies`, :func:`evaluate_decision`, :func:`compare_policies`.
"""

from anomaly_tutorial.thresholds.book import (
    DETECTOR_NAMES,
    FAMILIES,
    SCORE_COLUMNS,
    book_policies,
    book_scores,
    compare_policies,
    evaluate_decision,
)
from anomaly_tutorial.thresholds.calibration import (
    ConformalCalibrator,
    anomaly_score_0_100,
    benjamini_hochberg,
    false_discovery_proportion,
)
from anomaly_tutorial.thresholds.grouping import GroupedAlerts, daily_counts, group_alerts
from anomaly_tutorial.thresholds.policies import (
    POLICIES,
    AlertBudget,
    BenjaminiHochberg,
    BestFBeta,
    ContaminationQuantile,
    ExpectedCost,
    IQRFence,
    MADFence,
    Otsu,
    ThresholdDecision,
    ThresholdPolicy,
    alerts_per_bucket,
    load_decision,
)

__all__ = [
    "DETECTOR_NAMES",
    "FAMILIES",
    "POLICIES",
    "SCORE_COLUMNS",
    "AlertBudget",
    "BenjaminiHochberg",
    "BestFBeta",
    "ConformalCalibrator",
    "ContaminationQuantile",
    "ExpectedCost",
    "GroupedAlerts",
    "IQRFence",
    "MADFence",
    "Otsu",
    "ThresholdDecision",
    "ThresholdPolicy",
    "alerts_per_bucket",
    "anomaly_score_0_100",
    "benjamini_hochberg",
    "book_policies",
    "book_scores",
    "compare_policies",
    "daily_counts",
    "evaluate_decision",
    "false_discovery_proportion",
    "group_alerts",
    "load_decision",
]
