"""Anomaly detectors with one scikit-learn-style API.

Every detector: ``fit(X)`` on training rows (no labels), ``score_samples(X)`` with
**higher = more anomalous**, ``predict(X)`` with ``1`` = anomaly and ``0`` = normal against
``threshold_`` (the ``1 - contamination`` quantile of the training scores, or the explicit
``threshold`` parameter), ``get_params``/``set_params``. NaN/inf input, a wrong number of
columns at score time and scoring before fitting raise clear errors.

>>> from anomaly_tutorial.detectors import make_detector, available_detectors
>>> det = make_detector("iforest", contamination=0.05)
"""

from anomaly_tutorial.detectors.base import BaseDetector, check_contamination
from anomaly_tutorial.detectors.clustering import DBSCANDetector, HDBSCANDetector, KMeansDetector
from anomaly_tutorial.detectors.comparison import Comparison, fit_and_score
from anomaly_tutorial.detectors.ensemble import EnsembleDetector, normalize_scores
from anomaly_tutorial.detectors.histogram import ECODDetector, HBOSDetector
from anomaly_tutorial.detectors.isolation import IsolationForestDetector
from anomaly_tutorial.detectors.mahalanobis import MahalanobisDetector, chi2_threshold
from anomaly_tutorial.detectors.neighbors import KNNDetector, LOFDetector
from anomaly_tutorial.detectors.pca import PCADetector
from anomaly_tutorial.detectors.registry import (
    DEFAULT_CONFIGURATION,
    DETECTORS,
    available_detectors,
    default_detector,
    make_detector,
)
from anomaly_tutorial.detectors.svm import OCSVMDetector
from anomaly_tutorial.detectors.toy import score_grid, toy_data

__all__ = [
    "DEFAULT_CONFIGURATION",
    "DETECTORS",
    "BaseDetector",
    "Comparison",
    "DBSCANDetector",
    "ECODDetector",
    "EnsembleDetector",
    "HBOSDetector",
    "HDBSCANDetector",
    "IsolationForestDetector",
    "KMeansDetector",
    "KNNDetector",
    "LOFDetector",
    "MahalanobisDetector",
    "OCSVMDetector",
    "PCADetector",
    "available_detectors",
    "check_contamination",
    "chi2_threshold",
    "default_detector",
    "fit_and_score",
    "make_detector",
    "normalize_scores",
    "score_grid",
    "toy_data",
]
