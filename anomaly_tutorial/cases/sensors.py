"""Industrial sensors of a small plant: a seeded generator with ground truth per reading and fault.

The plant is one production line: a control system sets the **load** (``load_setpoint_pct``),
a pump moves coolant and product, a motor drives it. Eight sensors are read every
``interval_s`` seconds, and they are physically coupled:

* load drives flow (``flow_m3_h``), production (``production_rate_u_h``), pump speed and so
  vibration (``pump_vibration_mm_s``), electrical power (``power_kw``) and, through first-order
  thermal lags, the motor and coolant temperatures (``motor_temp_c``, ``coolant_temp_c``);
* discharge pressure (``pressure_bar``) follows the pump curve, about the square of the flow;
* both temperatures also follow the ambient temperature (``ambient_temp_c``, a daily cycle).

Normal operation has **regimes**: three shifts with different loads (day, evening, night;
weekends run lighter), a planned weekly shutdown on Sundays and short maintenance stops, each
with a shut-down ramp and a start-up ramp. None of these is an anomaly. While the line is
stopped the production counter reads exactly 0 (physically right: nothing is produced); every
other sensor keeps its measurement noise, so no column is constant.

**Faults** (:data:`FAULT_KINDS`), each with ground truth per reading and a row in the fault
table:

* ``stuck``: a sensor freezes at its last value for hours (no noise, no response to load);
* ``drift``: a sensor's calibration drifts linearly away from the true value, then is reset;
* ``spike``: one reading of one sensor jumps;
* ``bearing``: the pump's bearing degrades for hours (vibration rises slowly, then faster; the
  motor warms and draws a little more power) until the pump **fails** and the flow drops to a
  third for one to two hours;
* ``cooling``: a cooling failure that moves several sensors together (coolant and motor
  temperatures rise, power rises) until the motor reaches its trip temperature and the line
  **trips**: an unplanned stop of about an hour.

The two failure kinds have a ``failure_time``: the moment of the flow drop or the trip, against
which early warning is measured. Faults never overlap each other or a planned stop, and each kind
is spread over the calendar (fault ``i`` of ``n`` falls in the ``i``-th ``n``-th of the period),
so every period of the book's split holds faults of several kinds.

Public objects: :class:`PlantConfig`, :class:`PlantData`, :func:`generate_plant`,
:func:`plant_split`, :data:`SENSORS`, :data:`FAULT_KINDS`, :data:`SAFETY_LIMITS`,
:data:`EQUIPMENT`. The detection pipeline (load residuals, causal window features, the alarm-
limit baseline, the real-time monitor, severity and early warning) is in
:mod:`anomaly_tutorial.cases.sensors_features`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from anomaly_tutorial.data import book_split
from anomaly_tutorial.data.config import GeneratorConfig
from anomaly_tutorial.data.splits import BookSplit

__all__ = [
    "EQUIPMENT",
    "FAULT_KINDS",
    "SAFETY_LIMITS",
    "SENSORS",
    "SETPOINT",
    "PlantConfig",
    "PlantData",
    "generate_plant",
    "plant_split",
]

#: The control system's commanded load in percent: an input, not a sensor (it has no faults).
SETPOINT = "load_setpoint_pct"
#: The measured signals, in the order of the readings table.
SENSORS: tuple[str, ...] = (
    "ambient_temp_c",
    "motor_temp_c",
    "coolant_temp_c",
    "pressure_bar",
    "pump_vibration_mm_s",
    "flow_m3_h",
    "power_kw",
    "production_rate_u_h",
)
FAULT_KINDS: tuple[str, ...] = ("stuck", "drift", "spike", "bearing", "cooling")
#: Trip (safety) limits: above these the protection system stops the line. Vibration 7.1 mm/s
#: is the ISO 10816 zone C/D boundary for a medium-size machine on a rigid foundation.
SAFETY_LIMITS: dict[str, float] = {
    "motor_temp_c": 95.0,
    "coolant_temp_c": 60.0,
    "pressure_bar": 8.0,
    "pump_vibration_mm_s": 7.1,
    "power_kw": 240.0,
}
#: Equipment each sensor belongs to, and its criticality tier (1 = a failure stops the line).
EQUIPMENT: dict[str, tuple[str, int]] = {
    "ambient_temp_c": ("building", 3),
    "motor_temp_c": ("motor", 1),
    "coolant_temp_c": ("cooling loop", 2),
    "pressure_bar": ("pump", 1),
    "pump_vibration_mm_s": ("pump", 1),
    "flow_m3_h": ("pump", 1),
    "power_kw": ("motor", 1),
    "production_rate_u_h": ("line", 2),
}

# Measurement noise (standard deviation of an AR(1) with coefficient _NOISE_AR).
_NOISE_SD = {
    "ambient_temp_c": 0.25,
    "motor_temp_c": 0.4,
    "coolant_temp_c": 0.3,
    "pressure_bar": 0.06,
    "pump_vibration_mm_s": 0.08,
    "flow_m3_h": 1.2,
    "power_kw": 2.0,
    "production_rate_u_h": 1.0,
}
_NOISE_AR = 0.6
# Size of a drift (at its end) and of a spike, per sensor.
_DRIFT = {
    "motor_temp_c": 9.0,
    "coolant_temp_c": 6.0,
    "pressure_bar": 0.8,
    "pump_vibration_mm_s": 1.0,
    "flow_m3_h": 14.0,
}
_SPIKE = {
    "motor_temp_c": 14.0,
    "coolant_temp_c": 9.0,
    "pressure_bar": 1.8,
    "pump_vibration_mm_s": 2.5,
    "flow_m3_h": 25.0,
    "power_kw": 45.0,
}
_SHIFT_LOAD = {"day": 0.9, "evening": 0.75, "night": 0.55}
_WEEKEND_LOAD = 0.15  # lighter load on Saturdays and Sundays
_RAMP_DOWN_MIN = 30.0
_RAMP_UP_MIN = 60.0
_SHIFT_RAMP_MIN = 20.0
_TAU_MOTOR_MIN = 25.0
_TAU_COOLANT_MIN = 40.0
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class PlantConfig:
    """Settings of :func:`generate_plant`.

    Parameters
    ----------
    days : int, default 14
        Length of the data; with the default start it matches the book's 14-day dataset, so
        :func:`plant_split` gives the book's train / validation / test days.
    interval_s : int, default 120
        Seconds between two readings.
    seed : int, default 0
    start : str
        First reading (UTC); the book's dataset start (a Monday) by default.
    n_stuck, n_drift, n_spikes, n_bearing, n_cooling : int
        Number of faults of each kind.
    weekly_shutdown_hours : tuple of (int, float)
        Start hour and length in hours of the planned Sunday shutdown.
    maintenance_stops : tuple of float
        Start of each short maintenance stop, in days since ``start``.
    stop_hours : float, default 3.0
        Length of a maintenance stop.
    """

    days: int = 14
    interval_s: int = 120
    seed: int = 0
    start: str = GeneratorConfig().start
    n_stuck: int = 4
    n_drift: int = 4
    n_spikes: int = 16
    n_bearing: int = 3
    n_cooling: int = 4
    weekly_shutdown_hours: tuple[int, float] = (0, 8.0)
    maintenance_stops: tuple[float, ...] = (4.4, 9.45, 12.4)
    stop_hours: float = 3.0

    def __post_init__(self) -> None:
        def check_int(name: str, low: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ValueError(f"PlantConfig.{name}: must be an integer >= {low}, got {value!r}")

        check_int("days", 2)
        check_int("interval_s", 10)
        check_int("seed", 0)
        for kind in ("stuck", "drift", "spikes", "bearing", "cooling"):
            check_int(f"n_{kind}", 0)
        if self.interval_s > 600:
            raise ValueError(
                f"PlantConfig.interval_s: at most 600 s (thermal lags of minutes), got "
                f"{self.interval_s}"
            )
        for day in self.maintenance_stops:
            if not 0 <= float(day) < self.days:
                raise ValueError(
                    f"PlantConfig.maintenance_stops: {day!r} is outside [0, days={self.days})"
                )
        try:
            pd.Timestamp(self.start)
        except (ValueError, TypeError) as error:
            raise ValueError(f"PlantConfig.start: not a timestamp: {self.start!r}") from error

    @property
    def start_ms(self) -> int:
        """Epoch milliseconds of the first reading."""
        stamp = pd.Timestamp(self.start)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int(stamp.value // 1_000_000)


@dataclass
class PlantData:
    """Output of :func:`generate_plant`.

    Attributes
    ----------
    readings : pandas.DataFrame
        One row per reading time: ``time`` (epoch ms), :data:`SETPOINT`, the :data:`SENSORS`,
        ``regime`` (``day``, ``evening``, ``night``, ``shut-down``, ``stopped``, ``start-up``;
        what the line was doing, all normal), and the ground truth ``is_anomaly``,
        ``fault_id`` (``<NA>`` outside faults), ``fault_kind`` and ``fault_sensor`` (the faulty
        sensor of a stuck / drift / spike, else ``<NA>``).
    faults : pandas.DataFrame
        One row per fault, index ``fault_id``: ``kind``, ``sensor`` (or ``<NA>`` for faults of
        the machine, not of a sensor), ``start`` and ``end`` (epoch ms, inclusive),
        ``failure_time`` (epoch ms of the flow drop or trip; ``<NA>`` for faults that are not
        failures), ``n_readings``.
    config : PlantConfig
    """

    readings: pd.DataFrame
    faults: pd.DataFrame
    config: PlantConfig = field(repr=False)


def plant_split(config: PlantConfig | None = None) -> BookSplit:
    """The book's train / validation / test periods for the plant's calendar."""
    config = PlantConfig() if config is None else config
    return book_split(GeneratorConfig(days=config.days, start=config.start))


def _ar_noise(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    """AR(1) noise with stationary standard deviation ``sd``."""
    shocks = rng.normal(0.0, sd * np.sqrt(1 - _NOISE_AR**2), n)
    shocks[0] = rng.normal(0.0, sd)
    return lfilter([1.0], [1.0, -_NOISE_AR], shocks)


def _lag(target: np.ndarray, tau_min: float, dt_min: float) -> np.ndarray:
    """First-order lag (thermal inertia) of ``target`` with time constant ``tau_min``."""
    a = 1.0 - np.exp(-dt_min / tau_min)
    # y[i] = (1 - a) y[i-1] + a x[i], started at y[0] = x[0]
    out, _ = lfilter([a], [1.0, -(1.0 - a)], target[1:], zi=[(1.0 - a) * target[0]])
    return np.r_[target[0], out]


def _stops(config: PlantConfig, times: np.ndarray) -> list[tuple[int, int]]:
    """Planned stops as (start, end) epoch ms, end exclusive, sorted."""
    start_ms = config.start_ms
    hour, length = config.weekly_shutdown_hours
    stops = []
    for day in range(config.days):
        stamp = pd.Timestamp(start_ms + day * DAY_MS, unit="ms", tz="UTC")
        if stamp.day_of_week == 6:  # Sunday
            begin = start_ms + day * DAY_MS + int(hour * HOUR_MS)
            stops.append((begin, begin + int(length * HOUR_MS)))
    for day in config.maintenance_stops:
        begin = start_ms + round(float(day) * DAY_MS / MINUTE_MS) * MINUTE_MS
        stops.append((begin, begin + int(config.stop_hours * HOUR_MS)))
    stops.sort()
    for (s0, e0), (s1, _) in itertools.pairwise(stops):
        if s1 < e0 + int((_RAMP_UP_MIN + _RAMP_DOWN_MIN) * MINUTE_MS):
            raise ValueError(
                "PlantConfig.maintenance_stops: two planned stops overlap or leave no time to "
                f"start up (stops at {pd.Timestamp(s0, unit='ms')} and "
                f"{pd.Timestamp(s1, unit='ms')})"
            )
    return stops


def _schedule(config: PlantConfig, times: np.ndarray, stops: list[tuple[int, int]]):
    """Load fraction (0..1) and regime name of every reading, before faults."""
    stamps = pd.to_datetime(times, unit="ms", utc=True)
    hour = stamps.hour.to_numpy() + stamps.minute.to_numpy() / 60.0
    weekend = stamps.day_of_week.to_numpy() >= 5
    regime = np.where(
        hour < 6, "night", np.where(hour < 14, "day", np.where(hour < 22, "evening", "night"))
    )
    level = np.array([_SHIFT_LOAD[r] for r in regime]) - _WEEKEND_LOAD * weekend
    # smooth shift changes: a moving average over the shift-change ramp (causal is not
    # needed here: this is the plan the control system follows)
    k = max(1, round(_SHIFT_RAMP_MIN * 60 / config.interval_s))
    load = pd.Series(level).rolling(k, min_periods=1).mean().to_numpy().copy()
    regime = regime.astype(object)
    for begin, end in stops:
        down = (times >= begin - _RAMP_DOWN_MIN * MINUTE_MS) & (times < begin)
        frac = (begin - times[down]) / (_RAMP_DOWN_MIN * MINUTE_MS)
        load[down] = load[down] * frac
        regime[down] = "shut-down"
        off = (times >= begin) & (times < end)
        load[off] = 0.0
        regime[off] = "stopped"
        up = (times >= end) & (times < end + _RAMP_UP_MIN * MINUTE_MS)
        frac = (times[up] - end) / (_RAMP_UP_MIN * MINUTE_MS)
        load[up] = load[up] * frac
        regime[up] = "start-up"
    return load, regime


_DURATION_H = {  # (low, high) hours of each fault kind; spike = one reading
    "stuck": (2.0, 4.0),
    "drift": (3.0, 6.0),
    "bearing": (6.0, 12.0),
    "cooling": (1.5, 3.0),
}
_FAILURE_H = {"bearing": (1.0, 2.0), "cooling": (0.75, 1.25)}  # after the failure time
_STUCK_SENSORS = (
    "motor_temp_c",
    "coolant_temp_c",
    "pressure_bar",
    "flow_m3_h",
    "pump_vibration_mm_s",
)
_DRIFT_SENSORS = tuple(_DRIFT)
_SPIKE_SENSORS = tuple(_SPIKE)


def _place_faults(config: PlantConfig, rng: np.random.Generator, stops) -> list[dict]:
    """Non-overlapping fault intervals, each kind spread over the calendar."""
    step = config.interval_s * 1000
    start_ms, end_ms = config.start_ms, config.start_ms + config.days * DAY_MS
    margin = HOUR_MS
    busy = [
        (b - int(_RAMP_DOWN_MIN * MINUTE_MS) - margin, e + int(_RAMP_UP_MIN * MINUTE_MS) + margin)
        for b, e in stops
    ]
    counts = {
        "bearing": config.n_bearing,
        "cooling": config.n_cooling,
        "drift": config.n_drift,
        "stuck": config.n_stuck,
        "spike": config.n_spikes,
    }
    faults = []
    for kind in ("bearing", "cooling", "drift", "stuck", "spike"):  # longest first
        n = counts[kind]
        for i in range(n):
            lo = start_ms + 2 * HOUR_MS + (end_ms - start_ms - 2 * HOUR_MS) * i // n
            hi = start_ms + 2 * HOUR_MS + (end_ms - start_ms - 2 * HOUR_MS) * (i + 1) // n
            for _ in range(500):
                if kind == "spike":
                    length, after = step, 0
                else:
                    length = int(rng.uniform(*_DURATION_H[kind]) * HOUR_MS) // step * step
                    after = (
                        int(rng.uniform(*_FAILURE_H[kind]) * HOUR_MS) // step * step
                        if kind in _FAILURE_H
                        else 0
                    )
                total = length + after
                if hi - lo <= total + step:
                    break
                begin = int(rng.integers(lo, hi - total)) // step * step
                end = begin + total  # exclusive
                if end > end_ms - step:
                    continue
                if all(end + margin <= b or begin >= e + margin for b, e in busy):
                    break
            else:
                raise ValueError(
                    f"PlantConfig: could not place {n} {kind} faults without overlap in "
                    f"{config.days} days; ask for fewer faults or more days"
                )
            if hi - lo <= total + step:
                raise ValueError(f"PlantConfig: {n} {kind} faults do not fit in {config.days} days")
            busy.append((begin, end))
            sensor = None
            if kind == "stuck":
                sensor = _STUCK_SENSORS[int(rng.integers(len(_STUCK_SENSORS)))]
            elif kind == "drift":
                sensor = _DRIFT_SENSORS[int(rng.integers(len(_DRIFT_SENSORS)))]
            elif kind == "spike":
                sensor = _SPIKE_SENSORS[int(rng.integers(len(_SPIKE_SENSORS)))]
            faults.append(
                {
                    "kind": kind,
                    "sensor": sensor,
                    "start": begin,
                    "end": end - step,
                    "failure_time": begin + length if kind in _FAILURE_H else None,
                    "sign": float(rng.choice([-1.0, 1.0])) if kind in ("drift", "spike") else 1.0,
                }
            )
    faults.sort(key=lambda f: f["start"])
    for number, fault in enumerate(faults):
        fault["fault_id"] = f"F{number:03d}-{fault['kind']}"
    return faults


def generate_plant(config: PlantConfig | None = None) -> PlantData:
    """Readings of the plant's sensors with faults and ground truth (deterministic per seed).

    Parameters
    ----------
    config : PlantConfig, optional
        Defaults: 14 days of 2-minute readings from the book's start date.

    Returns
    -------
    PlantData

    Raises
    ------
    ValueError
        If the faults or stops do not fit in the period (the message says which).
    """
    config = PlantConfig() if config is None else config
    if not isinstance(config, PlantConfig):
        raise TypeError(f"config: expected a PlantConfig, got {type(config).__name__}")
    rng = np.random.default_rng(config.seed)
    step = config.interval_s * 1000
    dt_min = config.interval_s / 60.0
    n = config.days * DAY_MS // step
    times = config.start_ms + np.arange(n, dtype=np.int64) * step
    stops = _stops(config, times)
    load, regime = _schedule(config, times, stops)
    faults = _place_faults(config, rng, stops)
    noise = {name: _ar_noise(rng, n, sd) for name, sd in _NOISE_SD.items()}
    load = load * (1.0 + 0.02 * _ar_noise(rng, n, 1.0))  # the process wanders a little

    # Machine faults change the physics; sensor faults change only the readings.
    flow_factor = np.ones(n)
    bearing = np.zeros(n)  # 0..1 degradation
    cooling = np.zeros(n)  # 0..1 loss of cooling
    for f in faults:
        sel = (times >= f["start"]) & (times <= f["end"])
        if f["kind"] == "bearing":
            ramp = sel & (times < f["failure_time"])
            u = (times[ramp] - f["start"]) / (f["failure_time"] - f["start"])
            bearing[ramp] = (np.exp(4 * u) - 1) / (np.exp(4) - 1)
            failed = sel & (times >= f["failure_time"])
            bearing[failed] = 1.0
            flow_factor[failed] = 0.35
        elif f["kind"] == "cooling":
            ramp = sel & (times < f["failure_time"])
            cooling[ramp] = (times[ramp] - f["start"]) / (f["failure_time"] - f["start"])
            tripped = sel & (times >= f["failure_time"])
            # the trip stops the line; it restarts (ramp up) once the fault is cleared
            load[tripped] = 0.0
            after = (times > f["end"]) & (times <= f["end"] + _RAMP_UP_MIN * MINUTE_MS)
            load[after] *= (times[after] - f["end"]) / (_RAMP_UP_MIN * MINUTE_MS)
            regime[after] = "start-up"
            cooling[tripped] = np.linspace(1.0, 0.0, int(tripped.sum()))
    running = load > 0.01
    hour = ((times // MINUTE_MS) % 1440) / 60.0
    ambient = 20.0 + 4.0 * np.sin(2 * np.pi * (hour - 9.0) / 24.0)
    flow = 90.0 * load * flow_factor
    motor_target = ambient + 45.0 * load + 6.0 * bearing + 32.0 * cooling * running
    coolant_target = ambient + 18.0 * load + 20.0 * cooling
    true = {
        "ambient_temp_c": ambient,
        "motor_temp_c": _lag(motor_target, _TAU_MOTOR_MIN, dt_min),
        "coolant_temp_c": _lag(coolant_target, _TAU_COOLANT_MIN, dt_min),
        "pressure_bar": 1.0 + 6.0 * (flow / 90.0) ** 2,
        "pump_vibration_mm_s": running * (0.6 + 2.0 * load) + 4.2 * bearing * running + 0.05,
        "flow_m3_h": flow,
        "power_kw": 12.0 + 190.0 * load + 10.0 * bearing * running + 14.0 * cooling * running,
        "production_rate_u_h": 100.0 * load * flow_factor,
    }
    readings = {name: true[name] + noise[name] for name in SENSORS}
    readings["pump_vibration_mm_s"] = np.abs(readings["pump_vibration_mm_s"])
    readings["flow_m3_h"] = np.abs(readings["flow_m3_h"])
    readings["production_rate_u_h"] = np.where(
        running, np.maximum(readings["production_rate_u_h"], 0.0), 0.0
    )
    fault_id = np.full(n, None, dtype=object)
    fault_kind = np.full(n, None, dtype=object)
    fault_sensor = np.full(n, None, dtype=object)
    for f in faults:
        sel = (times >= f["start"]) & (times <= f["end"])
        sensor = f["sensor"]
        if f["kind"] == "stuck":
            first = int(np.flatnonzero(sel)[0])
            readings[sensor][sel] = readings[sensor][max(first - 1, 0)]
        elif f["kind"] == "drift":
            u = np.linspace(0.0, 1.0, int(sel.sum()))
            readings[sensor][sel] += f["sign"] * _DRIFT[sensor] * u
        elif f["kind"] == "spike":
            readings[sensor][sel] += f["sign"] * _SPIKE[sensor] * rng.uniform(0.8, 1.2)
            readings[sensor][sel] = np.abs(readings[sensor][sel])
        fault_id[sel], fault_kind[sel], fault_sensor[sel] = f["fault_id"], f["kind"], sensor
    frame = pd.DataFrame({"time": times, SETPOINT: 100.0 * load})
    for name in SENSORS:
        frame[name] = readings[name]
    frame["regime"] = pd.Series(regime, dtype="string")
    frame["is_anomaly"] = pd.notna(fault_id)
    frame["fault_id"] = pd.Series(fault_id, dtype="string")
    frame["fault_kind"] = pd.Series(fault_kind, dtype="string")
    frame["fault_sensor"] = pd.Series(fault_sensor, dtype="string")
    table = pd.DataFrame(
        {
            "kind": [f["kind"] for f in faults],
            "sensor": pd.array([f["sensor"] for f in faults], dtype="string"),
            "start": np.array([f["start"] for f in faults], dtype=np.int64),
            "end": np.array([f["end"] for f in faults], dtype=np.int64),
            "failure_time": pd.array([f["failure_time"] for f in faults], dtype="Int64"),
        },
        index=pd.Index([f["fault_id"] for f in faults], name="fault_id"),
    )
    table["n_readings"] = frame.groupby("fault_id").size().reindex(table.index).astype(int)
    return PlantData(readings=frame, faults=table, config=config)
