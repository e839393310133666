"""From anomaly scores to alerts: calibration and threshold policies.

Public objects: :class:`ConformalCalibrator`, :func:`anomaly_score_0_100`.
"""

from anomaly_tutorial.thresholds.calibration import ConformalCalibrator, anomaly_score_0_100

__all__ = ["ConformalCalibrator", "anomaly_score_0_100"]
