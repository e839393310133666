"""Per-service metric time series driven by the same seasonal load as the events."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from anomaly_tutorial.data.config import GeneratorConfig
from anomaly_tutorial.data.traffic import intensity
from anomaly_tutorial.data.world import ENDPOINTS, SERVICES

METRIC_COLUMNS = (
    "cpu_pct",
    "memory_mb",
    "latency_p95_ms",
    "error_rate",
    "queue_depth",
    "request_rate",
)
_BASE_MEMORY = {
    "frontend": 420.0,
    "auth": 610.0,
    "orders": 1250.0,
    "payments": 900.0,
    "inventory": 980.0,
    "search": 2100.0,
    "reports": 1600.0,
}


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float, sigma: float):
    """AR(1) noise along axis 0 with stationary standard deviation ``sigma``."""
    e = rng.standard_normal(shape) * sigma * np.sqrt(1 - phi**2)
    return lfilter([1.0], [1.0, -phi], e, axis=0)


def base_metrics(config: GeneratorConfig) -> pd.DataFrame:
    """Normal metric series for every service (long format, sorted by time then service)."""
    rng = np.random.default_rng([config.seed, 303])
    step = config.metric_interval_s * 1000
    times = np.arange(config.start_ms, config.end_ms, step, dtype=np.int64)
    t_n, s_n = len(times), len(SERVICES)
    load = intensity(times)[:, None] * np.ones((1, s_n))
    e = ENDPOINTS
    share = np.array([e.loc[e["service"] == s, "weight"].sum() for s in SERVICES])
    share = share / share.sum()
    p95 = np.array(
        [
            np.average(
                e.loc[e["service"] == s, "median_ms"]
                * np.exp(1.645 * e.loc[e["service"] == s, "sigma"]),
                weights=e.loc[e["service"] == s, "weight"],
            )
            for s in SERVICES
        ]
    )
    rate = load * share * 2400.0 * np.exp(_ar1(rng, (t_n, s_n), 0.9, 0.06))
    cpu = 6.0 + 50.0 * load / 1.45 * (0.6 + share * 3) + _ar1(rng, (t_n, s_n), 0.95, 2.5)
    minutes = (times - times[0]) / 60_000.0
    gc = (minutes[:, None] % np.array([37, 53, 41, 29, 61, 47, 43])[None, :]) / 60.0
    mem = (
        np.array([_BASE_MEMORY[s] for s in SERVICES]) * (1 + 0.08 * gc)
        + 60 * load
        + _ar1(rng, (t_n, s_n), 0.97, 15.0)
    )
    lat = p95 * (0.85 + 0.3 * load) * np.exp(_ar1(rng, (t_n, s_n), 0.8, 0.08))
    err = 0.003 + 0.002 * load + np.abs(_ar1(rng, (t_n, s_n), 0.7, 0.002))
    queue = rng.poisson(1.5 + 6 * load**2).astype(float)
    frame = pd.DataFrame(
        {
            "time": np.repeat(times, s_n),
            "service": pd.array(np.tile(np.array(SERVICES, dtype=object), t_n), dtype="string"),
            "cpu_pct": np.clip(cpu, 0.5, 100).ravel().round(2),
            "memory_mb": mem.ravel().round(1),
            "latency_p95_ms": lat.ravel().round(1),
            "error_rate": err.ravel().round(5),
            "queue_depth": queue.ravel(),
            "request_rate": rate.ravel().round(2),
        }
    )
    return frame


def apply_effects(
    metrics: pd.DataFrame, effects: list[tuple], config: GeneratorConfig
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply incident effects to the metric series and label the affected points.

    Each effect is ``(incident_id, type, service, start ms, end ms, strength)``, or the same
    with a seventh entry, the attenuation ``a`` in (0, 1] of an effect that reached a caller of
    the incident's service (:func:`~anomaly_tutorial.data.anomalies.propagate_to_callers`): a
    caller only waits on its callee, so it shows the latency and errors, scaled by ``a``, and
    none of the callee's CPU, memory or queue symptoms.

    Returns the labelled frame and the number of labelled points per incident.
    """
    rng = np.random.default_rng([config.seed, 304])
    m = {c: metrics[c].to_numpy(copy=True) for c in METRIC_COLUMNS}
    time = metrics["time"].to_numpy()
    service = metrics["service"].to_numpy(dtype=object)
    step = config.metric_interval_s * 1000
    n = len(metrics)
    is_anom = np.zeros(n, bool)
    a_type = np.full(n, "normal", dtype=object)
    inc_id = np.full(n, None, dtype=object)
    points: dict[str, int] = {}
    for inc, kind, svc, t0, t1, strength, *attenuation in effects:
        lo = t0 - (t0 - config.start_ms) % step
        sel = np.flatnonzero((service == svc) & (time >= lo) & (time <= t1) & ~is_anom)
        points[inc] = points.get(inc, 0) + len(sel)
        if len(sel) == 0:
            continue
        k = len(sel)
        if attenuation:
            _caller_effect(m, sel, kind, strength, float(attenuation[0]), rng)
        elif kind == "latency_spike":
            m["latency_p95_ms"][sel] *= strength * rng.uniform(0.9, 1.1, k)
            m["queue_depth"][sel] += rng.poisson(4 * strength, k)
            m["cpu_pct"][sel] += rng.uniform(5, 12, k)
        elif kind == "db_timeout_burst":
            m["error_rate"][sel] += rng.uniform(0.2, 0.5, k)
            m["latency_p95_ms"][sel] = np.maximum(
                m["latency_p95_ms"][sel], rng.normal(29_500, 300, k)
            )
            m["queue_depth"][sel] += rng.poisson(25, k)
        elif kind == "error_burst_5xx":
            m["error_rate"][sel] += rng.uniform(0.3, 0.8, k)
            m["latency_p95_ms"][sel] *= 0.7
        elif kind == "cache_miss_storm":
            m["cpu_pct"][sel] += rng.uniform(20, 35, k)
            m["latency_p95_ms"][sel] *= rng.uniform(1.3, 1.8, k)
            m["request_rate"][sel] *= 1.05
        elif kind == "memory_leak":
            ramp = (time[sel] - lo) / max(t1 - lo, 1)
            m["memory_mb"][sel] += ramp * rng.uniform(1800, 2600) + rng.normal(0, 10, k)
            m["latency_p95_ms"][sel] *= 1 + 0.35 * ramp
            m["cpu_pct"][sel] += 6 * ramp
        is_anom[sel] = True
        a_type[sel] = kind
        inc_id[sel] = inc
    out = metrics.copy()
    for c in METRIC_COLUMNS:
        out[c] = m[c]
    out["cpu_pct"] = out["cpu_pct"].clip(0, 100)
    out["error_rate"] = out["error_rate"].clip(0, 1)
    out["is_anomaly"] = is_anom
    out["anomaly_type"] = pd.array(a_type, dtype="string")
    out["incident_id"] = pd.array(inc_id, dtype="string")
    return out, points


def _caller_effect(
    m: dict[str, np.ndarray],
    sel: np.ndarray,
    kind: str,
    strength: float,
    attenuation: float,
    rng: np.random.Generator,
) -> None:
    """What a caller's metrics show while it waits on a failing callee (scaled by ``a``)."""
    k, a = len(sel), attenuation
    if kind == "latency_spike":
        m["latency_p95_ms"][sel] *= (1 + (strength - 1) * a) * rng.uniform(0.9, 1.1, k)
    elif kind == "cache_miss_storm":
        m["latency_p95_ms"][sel] *= 1 + rng.uniform(0.3, 0.8, k) * a
    elif kind == "db_timeout_burst":
        m["error_rate"][sel] += rng.uniform(0.2, 0.5, k) * a
        m["latency_p95_ms"][sel] = np.maximum(
            m["latency_p95_ms"][sel], a * rng.normal(29_500, 300, k)
        )
    elif kind == "error_burst_5xx":
        m["error_rate"][sel] += rng.uniform(0.3, 0.8, k) * a
    else:
        raise ValueError(f"effects: type {kind!r} does not propagate to callers")
