"""Detection pipeline of the industrial-sensors case study (readings of :mod:`.sensors`).

* :func:`check_readings`: refuses bad readings with the record, the field and the problem;
* :class:`LoadResiduals`: each sensor minus what the load set-point (through causal
  exponential lags, the thermal inertia) and the hour of day predict, a linear model fitted on
  training readings. Shift changes, shut-downs and start-ups move the load, so they move the
  prediction too: in residuals, regimes are normal;
* :func:`window_features`: causal rolling mean, standard deviation and range of each column
  over the last ``window`` readings (a stuck sensor has a rolling standard deviation of 0);
* :class:`AlarmLimits`: the baseline an operator writes first, fixed high and low alarm
  limits per sensor;
* :class:`PlantPipeline` (residuals -> window features -> a :mod:`anomaly_tutorial.detectors`
  detector) and :class:`PlantMonitor`, which scores readings one at a time as they arrive and
  gives the same scores as the batch pipeline;
* :func:`limit_proximity` and :func:`severity`: how close a reading is to a safety (trip)
  limit, as a 0-100 score cut into tiers by :class:`anomaly_tutorial.triage.SeverityRules`;
* :func:`early_warning`: for each failure, how long before it the first alert came.

Also :func:`candidate_scores` (every detector of the chapter with the options it chooses
among on validation, :data:`CANDIDATES`), :func:`score_table` (scores in the form of the
threshold policies) and :func:`fault_labels`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial import timeseries as ts
from anomaly_tutorial.cases.sensors import EQUIPMENT, SAFETY_LIMITS, SENSORS, SETPOINT
from anomaly_tutorial.detectors import make_detector
from anomaly_tutorial.triage import SeverityPolicy, SeverityRules

__all__ = [
    "CANDIDATES",
    "LIMIT_QUANTILES",
    "AlarmLimits",
    "LoadResiduals",
    "PlantMonitor",
    "PlantPipeline",
    "candidate_scores",
    "check_readings",
    "early_warning",
    "fault_labels",
    "limit_proximity",
    "score_table",
    "severity",
    "window_features",
]

MINUTE_MS = 60_000


def check_readings(
    readings: object, columns: Sequence[str], name: str = "readings"
) -> pd.DataFrame:
    """Validate a readings table: a ``time`` column and finite numbers in ``columns``.

    Raises
    ------
    TypeError
        If ``readings`` is not a DataFrame.
    ValueError
        A missing column, a value that is not a finite number, or times that are missing or
        do not increase; the message names the reading (row and time) and the field.
    """
    if not isinstance(readings, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame, got {type(readings).__name__}")
    missing = [c for c in ["time", *columns] if c not in readings.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}")
    if len(readings) == 0:
        raise ValueError(f"{name}: no readings")
    times = pd.to_numeric(readings["time"], errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(times)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: reading {i} has no valid 'time' ({readings['time'].iloc[i]!r}); "
            "times are epoch milliseconds"
        )
    steps = np.diff(times)
    if steps.size and (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise ValueError(
            f"{name}: reading {i} (time {int(times[i])}) is not after the previous reading "
            f"(time {int(times[i - 1])}); sort the readings and drop repeated times"
        )
    for column in columns:
        values = pd.to_numeric(readings[column], errors="coerce").to_numpy(dtype="float64")
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            cell = readings[column].iloc[i]
            cell = cell.item() if hasattr(cell, "item") else cell
            raise ValueError(
                f"{name}: reading {i} (time {int(times[i])}): field {column!r} is "
                f"{cell!r}, not a finite number ({int(bad.sum())} such "
                "values in this field); a sensor that did not report must be repaired or the "
                "reading removed before scoring"
            )
    return readings


def _ewm_step(state: np.ndarray, value: float, alphas: np.ndarray) -> np.ndarray:
    return state + alphas * (value - state)


class LoadResiduals(BaseEstimator, TransformerMixin):
    """Each sensor minus its prediction from the load set-point and the hour of day.

    The design matrix at reading ``t`` holds 1, the load ``L_t`` (fraction), ``L_t**2``,
    causal exponential moving averages of ``L`` with the ``time_constants_min`` (first-order
    lags: a temperature follows the load with a delay), ``1[L_t > 1 %]`` (running) and the sine
    and cosine of the hour of day (the ambient cycle). One least-squares fit per sensor on the
    training readings. Everything depends on the past only.

    Parameters
    ----------
    time_constants_min : sequence of float, default (10, 30, 90)
        Time constants of the load's moving averages, in minutes.

    Attributes
    ----------
    interval_ms_ : int
        Time between readings in training; later readings must keep it.
    coef_ : ndarray of shape (n_design, n_sensors)
    scale_ : ndarray of shape (n_sensors,)
        Standard deviation of the training residuals per sensor.
    feature_names_out_ : list of str
        The sensors (residual columns).

    Notes
    -----
    The training readings hold faults too (as history does); least squares is pulled a little
    by them. The residual of the production counter is exactly 0 while the line is stopped.
    """

    def __init__(self, time_constants_min: Sequence[float] = (10.0, 30.0, 90.0)) -> None:
        self.time_constants_min = time_constants_min

    def _alphas(self) -> np.ndarray:
        return 1.0 - np.exp(-(self.interval_ms_ / MINUTE_MS) / np.asarray(self.time_constants_min))

    def _check_interval(self, times: np.ndarray, name: str) -> None:
        steps = np.diff(times)
        wrong = np.flatnonzero(steps != self.interval_ms_)
        if wrong.size:
            i = int(wrong[0]) + 1
            raise ValueError(
                f"{name}: reading {i} (time {int(times[i])}) comes {steps[i - 1] / 1000:g} s after "
                f"the previous one; expected every {self.interval_ms_ / 1000:g} s (the training "
                "interval): fill the gap or resample"
            )

    def _design(self, load: np.ndarray, times: np.ndarray, state: np.ndarray | None):
        alphas = self._alphas()
        lags = np.empty((load.size, alphas.size))
        s = np.full(alphas.size, load[0]) if state is None else state
        for i, value in enumerate(load):
            s = _ewm_step(s, value, alphas)
            lags[i] = s
        hour = ((times // MINUTE_MS) % 1440) / 60.0
        design = np.column_stack(
            [
                np.ones_like(load),
                load,
                load**2,
                lags,
                (load > 0.01).astype(float),
                np.sin(2 * np.pi * hour / 24),
                np.cos(2 * np.pi * hour / 24),
            ]
        )
        return design, s

    def fit(self, readings: pd.DataFrame, y: object = None) -> LoadResiduals:
        """Fit the per-sensor linear models on training readings."""
        constants = np.asarray(self.time_constants_min, dtype=float)
        if constants.ndim != 1 or constants.size == 0 or not (constants > 0).all():
            raise ValueError(
                "time_constants_min: must be a non-empty sequence of positive minutes, got "
                f"{self.time_constants_min!r}"
            )
        check_readings(readings, [SETPOINT, *SENSORS])
        times = readings["time"].to_numpy(dtype=np.int64)
        if times.size < 50:
            raise ValueError(f"readings: {times.size} training readings; need at least 50")
        self.interval_ms_ = int(np.median(np.diff(times)))
        self._check_interval(times, "readings")
        design, _ = self._design(readings[SETPOINT].to_numpy(float) / 100.0, times, None)
        values = readings[list(SENSORS)].to_numpy(float)
        self.coef_, *_ = np.linalg.lstsq(design, values, rcond=None)
        self.scale_ = np.maximum((values - design @ self.coef_).std(axis=0), 1e-9)
        self.feature_names_out_ = list(SENSORS)
        return self

    def transform(self, readings: pd.DataFrame) -> pd.DataFrame:
        """Residuals (reading minus prediction) indexed by time, one column per sensor."""
        check_is_fitted(self, "coef_")
        check_readings(readings, [SETPOINT, *SENSORS])
        times = readings["time"].to_numpy(dtype=np.int64)
        self._check_interval(times, "readings")
        design, _ = self._design(readings[SETPOINT].to_numpy(float) / 100.0, times, None)
        residual = readings[list(SENSORS)].to_numpy(float) - design @ self.coef_
        return pd.DataFrame(residual, index=pd.Index(times, name="time"), columns=list(SENSORS))


def window_features(frame: pd.DataFrame, window: int) -> pd.DataFrame:
    """Causal rolling features of each column over the last ``window`` rows (current included).

    For each column ``c``: ``c`` (the value), ``c:mean``, ``c:std`` (population standard
    deviation) and ``c:range`` (max - min). The first ``window - 1`` rows use the rows that
    exist (a shorter window). Row ``t`` depends on rows ``t - window + 1 .. t`` only.
    """
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ValueError(f"window: must be an integer >= 2, got {window!r}")
    values = frame.to_numpy(dtype=np.float64)
    padded = np.vstack([np.full((window - 1, values.shape[1]), np.nan), values])
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (n, f, w)
    out = {}
    mean = np.nanmean(view, axis=2)
    std = np.sqrt(np.nanmean((view - mean[:, :, None]) ** 2, axis=2))
    spread = np.nanmax(view, axis=2) - np.nanmin(view, axis=2)
    for j, column in enumerate(frame.columns):
        out[str(column)] = values[:, j]
        out[f"{column}:mean"] = mean[:, j]
        out[f"{column}:std"] = std[:, j]
        out[f"{column}:range"] = spread[:, j]
    return pd.DataFrame(out, index=frame.index)


class AlarmLimits(BaseEstimator):
    """Fixed high and low alarm limits per sensor: the rule an operator writes first.

    The limits are the ``1 - quantile`` and ``quantile`` quantiles of each sensor over the
    training readings (the operator's "normal range"). The score of a reading is its largest
    excursion beyond a limit, in units of the sensor's normal range (negative inside every
    range); ``predict`` alarms when it is above 0.

    Parameters
    ----------
    quantile : float, default 0.999
    sensors : sequence of str, default :data:`SENSORS`

    Attributes
    ----------
    low_, high_ : pandas.Series
        The limits per sensor.
    """

    def __init__(self, quantile: float = 0.999, sensors: Sequence[str] = SENSORS) -> None:
        self.quantile = quantile
        self.sensors = sensors

    def fit(self, readings: pd.DataFrame, y: object = None) -> AlarmLimits:
        """Set the limits from training readings."""
        if not 0.5 < float(self.quantile) <= 1.0:
            raise ValueError(f"quantile: must be in (0.5, 1], got {self.quantile!r}")
        columns = list(self.sensors)
        check_readings(readings, columns)
        values = readings[columns]
        self.low_ = values.quantile(1.0 - float(self.quantile))
        self.high_ = values.quantile(float(self.quantile))
        return self

    def score_features(self, readings: pd.DataFrame) -> pd.DataFrame:
        """Excursion beyond the nearer limit per sensor (negative inside the range)."""
        check_is_fitted(self, "high_")
        columns = list(self.sensors)
        check_readings(readings, columns)
        values = readings[columns]
        width = (self.high_ - self.low_).clip(lower=1e-9)
        excursion = np.maximum(values - self.high_, self.low_ - values) / width
        return excursion.set_axis(pd.Index(readings["time"].to_numpy(), name="time"))

    def score_samples(self, readings: pd.DataFrame) -> np.ndarray:
        """Largest excursion of each reading (higher = more anomalous)."""
        return self.score_features(readings).max(axis=1).to_numpy()

    def predict(self, readings: pd.DataFrame) -> np.ndarray:
        """1 where some sensor is beyond its limits."""
        return (self.score_samples(readings) > 0).astype(np.int64)


_POINTWISE = (ts.RobustZScoreDetector, ts.GlobalZScoreDetector, ts.IQRDetector)


class PlantPipeline(BaseEstimator):
    """Load residuals, then either a point-wise series detector or window features + a detector.

    Parameters
    ----------
    detector : estimator or None
        With ``features="window"``: an unfitted :mod:`anomaly_tutorial.detectors` detector
        (``None``: Isolation Forest, 200 trees, seed 0), fitted on the standardised window
        features. With ``features="residuals"``: a point-wise :mod:`anomaly_tutorial.timeseries`
        detector (robust z-score, global z-score or IQR fences; ``None``: robust z-score) on the
        residuals, whose ``score_features`` gives one score per sensor.
    features : {"window", "residuals"}, default "window"
    window : int, default 15
        Readings in the rolling window (15 readings of 2 minutes = 30 minutes).
    time_constants_min : sequence of float
        Passed to :class:`LoadResiduals`.

    Attributes
    ----------
    residuals_ : LoadResiduals
    scaler_ : StandardScaler or None
    detector_ : fitted detector
    """

    def __init__(
        self,
        detector=None,
        features: str = "window",  # type: ignore[no-untyped-def]
        window: int = 15,
        time_constants_min: Sequence[float] = (10.0, 30.0, 90.0),
    ) -> None:
        self.detector = detector
        self.features = features
        self.window = window
        self.time_constants_min = time_constants_min

    def _inputs(self, residuals: pd.DataFrame) -> pd.DataFrame:
        if self.features == "window":
            return window_features(residuals, self.window)
        return residuals

    def fit(self, readings: pd.DataFrame, y: object = None) -> PlantPipeline:
        """Fit residual model, scaler and detector on training readings."""
        if self.features not in ("window", "residuals"):
            raise ValueError(f"features: must be 'window' or 'residuals', got {self.features!r}")
        self.residuals_ = LoadResiduals(self.time_constants_min).fit(readings)
        inputs = self._inputs(self.residuals_.transform(readings))
        if self.features == "window":
            self.scaler_ = StandardScaler().fit(inputs.to_numpy())
            detector = (
                make_detector("iforest", n_estimators=200, random_state=0)
                if self.detector is None
                else clone(self.detector)
            )
            self.detector_ = detector.fit(self.scaler_.transform(inputs.to_numpy()))
        else:
            self.scaler_ = None
            detector = ts.RobustZScoreDetector() if self.detector is None else clone(self.detector)
            if not isinstance(detector, _POINTWISE):
                raise ValueError(
                    "detector: with features='residuals' it must be a point-wise series detector "
                    f"({', '.join(c.__name__ for c in _POINTWISE)}), got {type(detector).__name__}"
                )
            self.detector_ = detector.fit(inputs)
        return self

    def _score(self, inputs: pd.DataFrame) -> np.ndarray:
        if self.features == "window":
            return self.detector_.score_samples(self.scaler_.transform(inputs.to_numpy()))
        return self.detector_.score_samples(inputs)

    def score_samples(self, readings: pd.DataFrame) -> np.ndarray:
        """Batch scores of a stretch of readings, scored from its first reading on."""
        check_is_fitted(self, "detector_")
        return self._score(self._inputs(self.residuals_.transform(readings)))

    def score_features(self, readings: pd.DataFrame) -> pd.DataFrame:
        """Per-sensor scores (``features="residuals"`` only): which sensor raised the score."""
        check_is_fitted(self, "detector_")
        if self.features != "residuals":
            raise ValueError("score_features: only with features='residuals'")
        return self.detector_.score_features(self.residuals_.transform(readings))

    def monitor(self) -> PlantMonitor:
        """A real-time monitor with this pipeline's fitted parts and an empty history."""
        check_is_fitted(self, "detector_")
        return PlantMonitor(self)


class PlantMonitor:
    """Scores readings one at a time, as they arrive, with a fitted :class:`PlantPipeline`.

    It keeps only what the next score needs: the states of the load's moving averages, the
    last reading's time and the last ``window`` residual rows. ``update`` on the readings of a
    stretch, in order, gives the scores of ``pipeline.score_samples`` on that stretch (the
    tests check it).

    Parameters
    ----------
    pipeline : PlantPipeline
        Fitted.
    """

    def __init__(self, pipeline: PlantPipeline) -> None:
        check_is_fitted(pipeline, "detector_")
        self.pipeline = pipeline
        self._state: np.ndarray | None = None
        self._last_time: int | None = None
        size = pipeline.window if pipeline.features == "window" else 1
        self._buffer: deque[np.ndarray] = deque(maxlen=size)
        self.n_seen = 0

    def update(self, reading: Mapping[str, float]) -> float:
        """Score one reading (a mapping with ``time``, the set-point and every sensor)."""
        record = f"reading {self.n_seen}"
        row = {}
        for field in ("time", SETPOINT, *SENSORS):
            if field not in reading:
                raise ValueError(f"{record}: field {field!r} is missing")
            try:
                value = float(reading[field])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{record}: field {field!r} is {reading[field]!r}, not a number"
                ) from None
            if not np.isfinite(value):
                raise ValueError(f"{record}: field {field!r} is {value}, not a finite number")
            row[field] = value
        time = int(row["time"])
        residuals = self.pipeline.residuals_
        if self._last_time is not None and time - self._last_time != residuals.interval_ms_:
            raise ValueError(
                f"{record} (time {time}) comes {(time - self._last_time) / 1000:g} s after the "
                f"previous one; expected {residuals.interval_ms_ / 1000:g} s"
            )
        load = np.array([row[SETPOINT] / 100.0])
        design, self._state = residuals._design(load, np.array([time]), self._state)
        values = np.array([row[s] for s in SENSORS])
        self._buffer.append(values - (design @ residuals.coef_)[0])
        self._last_time = time
        self.n_seen += 1
        n = len(self._buffer)
        frame = pd.DataFrame(
            np.array(self._buffer),
            columns=list(SENSORS),
            index=pd.Index(time - residuals.interval_ms_ * np.arange(n - 1, -1, -1), name="time"),
        )
        return float(self.pipeline._score(self.pipeline._inputs(frame))[-1])


def fault_labels(readings: pd.DataFrame) -> pd.DataFrame:
    """Labels indexed by time in the form of :func:`anomaly_tutorial.timeseries.
    incidents_by_type`: ``is_anomaly``, ``incident_id`` (the fault id), ``anomaly_type``."""
    return pd.DataFrame(
        {
            "is_anomaly": readings["is_anomaly"].to_numpy(bool),
            "incident_id": readings["fault_id"].to_numpy(object),
            "anomaly_type": readings["fault_kind"].to_numpy(object),
        },
        index=pd.Index(readings["time"].to_numpy(), name="time"),
    )


def limit_proximity(
    readings: pd.DataFrame,
    ceilings: Mapping[str, float],
    limits: Mapping[str, float] = SAFETY_LIMITS,
) -> pd.DataFrame:
    """How far each reading has gone from its normal ceiling towards the trip limit, 0-100.

    ``100 * (x - ceiling) / (limit - ceiling)`` clipped to [0, 100] per sensor with a safety
    limit: 0 at or below the normal ceiling (for instance the training 99th percentile), 100
    at the trip limit. Columns: one per sensor in ``limits``, plus ``proximity`` (the maximum)
    and ``nearest_limit`` (the sensor it comes from).
    """
    columns = list(limits)
    check_readings(readings, columns)
    out = {}
    for sensor in columns:
        ceiling, limit = float(ceilings[sensor]), float(limits[sensor])
        if not ceiling < limit:
            raise ValueError(
                f"ceilings[{sensor!r}] = {ceiling:g} is not below the safety limit {limit:g}"
            )
        x = readings[sensor].to_numpy(float)
        out[sensor] = np.clip(100.0 * (x - ceiling) / (limit - ceiling), 0.0, 100.0)
    table = pd.DataFrame(out, index=readings.index)
    table["proximity"] = table[columns].max(axis=1)
    table["nearest_limit"] = table[columns].idxmax(axis=1)
    return table


def severity(proximity: pd.DataFrame, policy: SeverityPolicy | None = None) -> pd.DataFrame:
    """Severity tiers from :func:`limit_proximity` with the triage package's rules.

    The 0-100 proximity is the score; the criticality tier of the equipment the nearest sensor
    belongs to (:data:`~anomaly_tutorial.cases.sensors.EQUIPMENT`) adds the policy's tier
    points. There are no accounts or networks in a plant, so ``privileged`` and
    ``external_source`` are False. Default policy: medium from 20, high from 50, critical from
    80, +10 for tier-1 equipment (a failure there stops the line).
    """
    policy = policy or SeverityPolicy(
        thresholds={"medium": 20.0, "high": 50.0, "critical": 80.0}, tier_points={1: 10.0}
    )
    context = pd.DataFrame(
        {
            "score": proximity["proximity"].to_numpy(float),
            "service_tier": [EQUIPMENT[s][1] for s in proximity["nearest_limit"]],
            "privileged": False,
            "external_source": False,
        },
        index=proximity.index,
    )
    return SeverityRules(default=policy).classify(context)


def early_warning(alert_times: Sequence[int] | np.ndarray, faults: pd.DataFrame) -> pd.DataFrame:
    """Lead time of the first alert before each failure.

    Parameters
    ----------
    alert_times : array-like of int
        Epoch milliseconds of the alerts.
    faults : pandas.DataFrame
        The fault table of :class:`~anomaly_tutorial.cases.sensors.PlantData` (rows with a
        ``failure_time`` are used).

    Returns
    -------
    pandas.DataFrame
        Index ``fault_id``: ``kind``, ``first_alert`` (epoch ms of the first alert from the
        fault's start on, before the failure; ``<NA>`` when none), ``lead_time_min`` (failure
        time minus first alert, in minutes; NaN when none), ``warned`` (an alert came before
        the failure) and ``caught`` (an alert came at any time during the fault).
    """
    times = np.sort(np.asarray(alert_times, dtype=np.int64))
    failures = faults[faults["failure_time"].notna()]
    rows = {}
    for fault_id, f in failures.iterrows():
        failure = int(f["failure_time"])
        before = times[(times >= int(f["start"])) & (times < failure)]
        during = times[(times >= int(f["start"])) & (times <= int(f["end"]))]
        first = int(before[0]) if before.size else None
        rows[fault_id] = {
            "kind": f["kind"],
            "first_alert": first,
            "lead_time_min": (failure - first) / MINUTE_MS if first is not None else np.nan,
            "warned": first is not None,
            "caught": bool(during.size),
        }
    out = pd.DataFrame.from_dict(
        rows, orient="index", columns=["kind", "first_alert", "lead_time_min", "warned", "caught"]
    )
    out["first_alert"] = out["first_alert"].astype("Int64")
    out.index.name = "fault_id"
    return out


#: The detectors of the chapter and the options each one chooses among on validation.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "alarm limits (baseline)": ("quantile 0.99", "quantile 0.995", "quantile 0.999", "max"),
    "robust z on residuals": ("robust z-score",),
    "EWMA on residuals": ("lambda 0.05", "lambda 0.2"),
    "Isolation Forest on windows": ("window 15", "window 30"),
    "LSTM autoencoder": ("raw readings", "load residuals"),
}
LIMIT_QUANTILES = {
    "quantile 0.99": 0.99,
    "quantile 0.995": 0.995,
    "quantile 0.999": 0.999,
    "max": 1.0,
}


def candidate_scores(
    readings: pd.DataFrame, period: np.ndarray, *, lstm_epochs: int = 8
) -> pd.DataFrame:
    """Scores of every detector and option on the validation and test readings.

    Every detector is fitted on the ``"train"`` readings only and scores the later readings in
    one causal pass (so the first test readings see the validation readings as history).

    Parameters
    ----------
    readings : pandas.DataFrame
        The plant's readings (:func:`~anomaly_tutorial.cases.sensors.generate_plant`).
    period : array of str
        ``"train"``, ``"validation"`` or ``"test"`` per reading, training first.
    lstm_epochs : int, default 8

    Returns
    -------
    pandas.DataFrame
        Index: the time of every non-training reading; columns: a MultiIndex
        (detector, option) over :data:`CANDIDATES`.
    """
    period = np.asarray(period, dtype=object)
    if period.size != len(readings):
        raise ValueError(f"period: {period.size} labels for {len(readings)} readings")
    train_rows = period == "train"
    if not train_rows.any() or train_rows[np.argmin(train_rows) :].any():
        raise ValueError("period: the training readings must come first and not be empty")
    train, later = readings[train_rows], readings[~train_rows]
    out: dict[tuple[str, str], np.ndarray] = {}
    for option, q in LIMIT_QUANTILES.items():
        out[("alarm limits (baseline)", option)] = AlarmLimits(q).fit(train).score_samples(later)
    residual_model = LoadResiduals().fit(train)
    residuals = residual_model.transform(readings)
    r_train, r_later = residuals[train_rows], residuals[~train_rows]
    out[("robust z on residuals", "robust z-score")] = (
        ts.RobustZScoreDetector().fit(r_train).score_samples(r_later)
    )
    for option, lam in (("lambda 0.05", 0.05), ("lambda 0.2", 0.2)):
        out[("EWMA on residuals", option)] = (
            ts.EWMADetector(lam=lam).fit(r_train).score_samples(r_later)
        )
    for option, window in (("window 15", 15), ("window 30", 30)):
        pipeline = PlantPipeline(window=window).fit(train)
        out[("Isolation Forest on windows", option)] = pipeline.score_samples(readings)[~train_rows]
    raw = readings.set_index("time")[[SETPOINT, *SENSORS]]
    inputs = {"raw readings": raw, "load residuals": residuals / residual_model.scale_}
    for option, frame in inputs.items():
        lstm = ts.LSTMAutoencoderDetector(
            window=30, hidden_size=16, epochs=lstm_epochs, stride=4, batch_size=64, seed=0
        )
        out[("LSTM autoencoder", option)] = lstm.fit(frame[train_rows]).score_samples(
            frame[~train_rows]
        )
    table = pd.DataFrame(out, index=pd.Index(later["time"].to_numpy(), name="time"))
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["detector", "option"])
    return table


def score_table(
    readings: pd.DataFrame, scores: np.ndarray | pd.Series, period: np.ndarray
) -> pd.DataFrame:
    """Scores in the book's score-table form (:data:`anomaly_tutorial.thresholds.SCORE_COLUMNS`),
    so that the threshold policies and :func:`~anomaly_tutorial.thresholds.evaluate_decision`
    apply; one fault is one incident, the line is the entity."""
    from anomaly_tutorial.thresholds import SCORE_COLUMNS

    values = np.asarray(scores, dtype=float)
    if values.size != len(readings):
        raise ValueError(f"scores: {values.size} values for {len(readings)} readings")
    table = pd.DataFrame(
        {
            "id": readings["time"].astype(str).to_numpy(),
            "time": readings["time"].to_numpy(np.int64),
            "period": np.asarray(period, dtype=object),
            "score": values,
            "is_anomaly": readings["is_anomaly"].to_numpy(bool),
            "anomaly_type": readings["fault_kind"].to_numpy(object),
            "incident_id": readings["fault_id"].to_numpy(object),
            "entity": "line 1",
            "service": "line 1",
        }
    )
    for name in ("id", "period", "anomaly_type", "incident_id", "entity", "service"):
        table[name] = table[name].astype("string")
    return table[list(SCORE_COLUMNS)]
