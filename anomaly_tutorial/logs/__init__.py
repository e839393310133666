"""Log analysis over time windows: template mining, window features and window detectors.

* :mod:`~anomaly_tutorial.logs.templates`: :class:`TemplateMiner` (Drain-style), grouping
  accuracy and pairwise F1 of a parse;
* :mod:`~anomaly_tutorial.logs.windows`: fixed and sliding windows, counts and labels per
  window, train / validation / test periods by time;
* :mod:`~anomaly_tutorial.logs.text_features`: template counts, TF-IDF and rarity per window;
* :mod:`~anomaly_tutorial.logs.detection`: the package's detectors
  (:mod:`anomaly_tutorial.detectors`) behind a window pipeline, a one-column baseline and
  validation-period tuning;
* :mod:`~anomaly_tutorial.logs.bgl`: reader for the loghub BGL log format.
"""

from anomaly_tutorial.logs.bgl import bgl_to_events, parse_bgl_lines, read_bgl
from anomaly_tutorial.logs.detection import (
    WINDOW_DETECTORS,
    FeatureThresholdDetector,
    TuningResult,
    evaluate_windows,
    make_window_detector,
    parameter_grid,
    report_on_test,
    tune_on_validation,
)
from anomaly_tutorial.logs.templates import (
    DEFAULT_MASKS,
    UNSEEN_TEMPLATE,
    WILDCARD,
    TemplateMiner,
    grouping_accuracy,
    pairwise_f1,
)
from anomaly_tutorial.logs.text_features import (
    TemplateRarity,
    TemplateTfidf,
    template_count_matrix,
    window_rarity,
)
from anomaly_tutorial.logs.windows import (
    Windows,
    aggregate_per_window,
    assign_periods,
    make_windows,
    period_cuts,
    window_counts,
    window_labels,
)

__all__ = [
    "DEFAULT_MASKS",
    "UNSEEN_TEMPLATE",
    "WILDCARD",
    "WINDOW_DETECTORS",
    "FeatureThresholdDetector",
    "TemplateMiner",
    "TemplateRarity",
    "TemplateTfidf",
    "TuningResult",
    "Windows",
    "aggregate_per_window",
    "assign_periods",
    "bgl_to_events",
    "evaluate_windows",
    "grouping_accuracy",
    "make_window_detector",
    "make_windows",
    "pairwise_f1",
    "parameter_grid",
    "parse_bgl_lines",
    "period_cuts",
    "read_bgl",
    "report_on_test",
    "template_count_matrix",
    "tune_on_validation",
    "window_counts",
    "window_labels",
    "window_rarity",
]
