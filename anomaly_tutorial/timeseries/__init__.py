"""Anomaly detection on metric time series (one or several metrics indexed by time).

Every detector has the same API (see :class:`~anomaly_tutorial.timeseries.base.BaseSeriesDetector`):
``fit`` on a training stretch, ``score_samples`` (higher = more anomalous), ``predict``
(1 = anomaly), ``score_features`` (per-metric scores). Families:

* point-wise statistics: :class:`GlobalZScoreDetector`, :class:`RobustZScoreDetector`,
  :class:`IQRDetector`;
* rolling windows: :class:`RollingZScoreDetector` (causal),
  :class:`WindowedGaussianDetector` (NAB's online baseline: tail probability under a normal
  fitted to a sliding past window) and :class:`CenteredRollingZScoreDetector` (non-causal, for
  demonstration only);
* seasonal baselines: :class:`SeasonalProfileDetector` (hour-of-day / hour-of-week profile) and
  :class:`STLDetector` (STL seasonal profile fitted on training, causal level);
* control charts for level shifts: :class:`EWMADetector`, :class:`CUSUMDetector`;
* neural: :class:`LSTMAutoencoderDetector` (:class:`LSTMAutoencoder` +
  :func:`train_lstm_autoencoder`).

Raw data: :func:`prepare_series` (sort, aggregate repeated timestamps, resample, mark gaps as
NaN; the detectors skip NaN points). Generator metrics: :func:`service_split`,
:func:`evaluate_per_service`. NAB scoring: :mod:`anomaly_tutorial.timeseries.nab`.
Controlled experiments: :func:`make_seasonal_series`, :func:`inject_anomalies`,
:func:`segments_to_labels`, :func:`controlled_experiment`. Evaluation: :func:`evaluate_detector`,
:func:`evaluate_series_alerts`, :func:`event_metrics`, :func:`incidents_by_type`,
:func:`alert_runs`.
"""

from anomaly_tutorial.timeseries._input import (
    MAX_ABS_VALUE,
    SeriesFrame,
    as_series_frame,
    to_epoch_ms,
)
from anomaly_tutorial.timeseries.base import (
    MIN_SCALE_ABSOLUTE,
    MIN_SCALE_RELATIVE,
    BaseSeriesDetector,
    floor_scale,
    robust_location_scale,
)
from anomaly_tutorial.timeseries.control_charts import (
    CUSUMDetector,
    EWMADetector,
    cusum_statistics,
    ewma,
)
from anomaly_tutorial.timeseries.evaluation import (
    alert_runs,
    evaluate_detector,
    evaluate_series_alerts,
    event_metrics,
    incidents_by_type,
)
from anomaly_tutorial.timeseries.lstm_autoencoder import (
    LSTMAutoencoder,
    LSTMAutoencoderDetector,
    TrainingResult,
    series_windows,
    train_lstm_autoencoder,
)
from anomaly_tutorial.timeseries.prepare import PreparationReport, prepare_series
from anomaly_tutorial.timeseries.rolling import (
    CenteredRollingZScoreDetector,
    RollingZScoreDetector,
    WindowedGaussianDetector,
    causal_rolling_stats,
    centered_rolling_stats,
    gaussian_surprise,
)
from anomaly_tutorial.timeseries.seasonal import (
    SEASONS,
    SeasonalProfile,
    SeasonalProfileDetector,
    season_bucket,
)
from anomaly_tutorial.timeseries.services import (
    METRIC_COLUMNS,
    ServiceSplit,
    evaluate_per_service,
    service_split,
)
from anomaly_tutorial.timeseries.statistical import (
    GlobalZScoreDetector,
    IQRDetector,
    RobustZScoreDetector,
)
from anomaly_tutorial.timeseries.stl import STLDetector
from anomaly_tutorial.timeseries.synthetic import (
    ANOMALY_KINDS,
    ControlledExperiment,
    controlled_experiment,
    inject_anomalies,
    make_seasonal_series,
    segments_to_labels,
)

__all__ = [
    "ANOMALY_KINDS",
    "MAX_ABS_VALUE",
    "METRIC_COLUMNS",
    "MIN_SCALE_ABSOLUTE",
    "MIN_SCALE_RELATIVE",
    "SEASONS",
    "BaseSeriesDetector",
    "CUSUMDetector",
    "CenteredRollingZScoreDetector",
    "ControlledExperiment",
    "EWMADetector",
    "GlobalZScoreDetector",
    "IQRDetector",
    "LSTMAutoencoder",
    "LSTMAutoencoderDetector",
    "PreparationReport",
    "RobustZScoreDetector",
    "RollingZScoreDetector",
    "STLDetector",
    "SeasonalProfile",
    "SeasonalProfileDetector",
    "SeriesFrame",
    "ServiceSplit",
    "TrainingResult",
    "WindowedGaussianDetector",
    "alert_runs",
    "as_series_frame",
    "causal_rolling_stats",
    "centered_rolling_stats",
    "controlled_experiment",
    "cusum_statistics",
    "evaluate_detector",
    "evaluate_per_service",
    "evaluate_series_alerts",
    "event_metrics",
    "ewma",
    "floor_scale",
    "gaussian_surprise",
    "incidents_by_type",
    "inject_anomalies",
    "make_seasonal_series",
    "prepare_series",
    "robust_location_scale",
    "season_bucket",
    "segments_to_labels",
    "series_windows",
    "service_split",
    "to_epoch_ms",
    "train_lstm_autoencoder",
]
