"""Monitoring a detector in production: drift of its inputs and scores, the quality of its
alerts, and when to retrain it.

* :mod:`.features`: per-column drift (PSI, Kolmogorov-Smirnov, Wasserstein, chi-square,
  unseen-category and missing rates) with :class:`FeatureDriftMonitor`;
* :mod:`.mmd`: the multivariate MMD two-sample test with a permutation p-value;
* :mod:`.scores`: uniformity of calibrated p-values, alerts per day, alert precision from
  analyst labels with a confidence interval;
* :mod:`.policy`: thresholds calibrated before production, the :class:`RetrainingPolicy` and
  :func:`run_production`, the day-by-day loop with champion / challenger roll-out.
"""

from anomaly_tutorial.monitoring.features import (
    EVENT_COLUMNS,
    PSI_EPSILON,
    REPORT_COLUMNS,
    FeatureDriftMonitor,
    drift_by_window,
    event_view,
    psi,
)
from anomaly_tutorial.monitoring.mmd import MMDResult, median_bandwidth, mmd_test
from anomaly_tutorial.monitoring.policy import (
    ACTIONS,
    ProductionRun,
    RetrainingPolicy,
    calibrate_thresholds,
    compare_models,
    false_alarms_by_drift,
    flag_delays,
    run_production,
)
from anomaly_tutorial.monitoring.scores import (
    PrecisionEstimate,
    alert_precision,
    alert_rate,
    p_value_uniformity,
    review_sample,
)

__all__ = [
    "ACTIONS",
    "EVENT_COLUMNS",
    "PSI_EPSILON",
    "REPORT_COLUMNS",
    "FeatureDriftMonitor",
    "MMDResult",
    "PrecisionEstimate",
    "ProductionRun",
    "RetrainingPolicy",
    "alert_precision",
    "alert_rate",
    "calibrate_thresholds",
    "compare_models",
    "drift_by_window",
    "event_view",
    "false_alarms_by_drift",
    "flag_delays",
    "median_bandwidth",
    "mmd_test",
    "p_value_uniformity",
    "psi",
    "review_sample",
    "run_production",
]
