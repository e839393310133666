"""Anomaly types, the deterministic incident plan and the injectors that realise it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anomaly_tutorial import ocsf
from anomaly_tutorial.data.config import ALL_ANOMALY_TYPES, GeneratorConfig
from anomaly_tutorial.data.traffic import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    Block,
    api_events,
    auth_events,
    concat_blocks,
    http_events,
    network_events,
)
from anomaly_tutorial.data.world import (
    ATTACKER_PREFIXES,
    COUNTRIES,
    ENDPOINTS,
    FAR_COUNTRY,
    World,
    public_ip,
)


@dataclass(frozen=True)
class AnomalyTypeInfo:
    """Description of one anomaly type.

    Attributes
    ----------
    name, kind, domain, description
        Kind is ``"point"``, ``"contextual"`` or ``"collective"``; domain is ``"operations"``
        or ``"security"``.
    shows_in
        Where the anomaly is visible: ``"events"``, ``"metrics"`` or ``"both"``.
    share
        Share of the anomalous-event budget the plan gives this type (0 for metric-only types).
    size_range
        Typical (min, max) number of events of one incident before budget scaling.
    min_size
        Smallest number of events one incident of this type needs.
    """

    name: str
    kind: str
    domain: str
    description: str
    shows_in: str
    share: float = 0.0
    size_range: tuple[int, int] = field(default=(1, 1))
    min_size: int = 1


ANOMALY_TYPES: dict[str, AnomalyTypeInfo] = {
    info.name: info
    for info in [
        AnomalyTypeInfo(
            "latency_spike",
            "collective",
            "operations",
            "one service slows down for a while; some incidents only x1.8-2.5",
            "both",
            0.13,
            (25, 60),
            3,
        ),
        AnomalyTypeInfo(
            "slow_query",
            "point",
            "operations",
            "single very slow requests on database-backed endpoints",
            "events",
            0.03,
            (1, 3),
            1,
        ),
        AnomalyTypeInfo(
            "db_timeout_burst",
            "collective",
            "operations",
            "database timeouts: 504/500 with ~30 s durations on orders/inventory",
            "both",
            0.08,
            (15, 40),
            3,
        ),
        AnomalyTypeInfo(
            "error_burst_5xx",
            "collective",
            "operations",
            "one service answers 503 Service Unavailable for a few minutes",
            "both",
            0.10,
            (20, 50),
            3,
        ),
        AnomalyTypeInfo(
            "memory_leak",
            "collective",
            "operations",
            "memory ramps up for hours until the service restarts; latency creeps up",
            "metrics",
            0.0,
            (0, 0),
            0,
        ),
        AnomalyTypeInfo(
            "cache_miss_storm",
            "collective",
            "operations",
            "cache misses on search/inventory: latency and bytes up moderately, CPU up",
            "both",
            0.10,
            (20, 50),
            3,
        ),
        AnomalyTypeInfo(
            "brute_force",
            "collective",
            "security",
            "many failed logins for one user from one external IP within minutes",
            "events",
            0.12,
            (30, 80),
            3,
        ),
        AnomalyTypeInfo(
            "credential_stuffing",
            "collective",
            "security",
            "one IP tries many different users at a low rate; a few succeed",
            "events",
            0.10,
            (30, 70),
            3,
        ),
        AnomalyTypeInfo(
            "data_exfiltration",
            "contextual",
            "security",
            "a legitimate user downloads far more than usual at odd hours",
            "events",
            0.06,
            (1, 30),
            1,
        ),
        AnomalyTypeInfo(
            "port_scan",
            "collective",
            "security",
            "one IP probes many destination ports; refused/reset, tiny byte counts",
            "events",
            0.10,
            (30, 80),
            3,
        ),
        AnomalyTypeInfo(
            "impossible_travel",
            "contextual",
            "security",
            "successful login from a far country minutes after one from home",
            "events",
            0.02,
            (1, 2),
            1,
        ),
        AnomalyTypeInfo(
            "privilege_escalation",
            "contextual",
            "security",
            "a non-admin user calls admin-only API operations",
            "events",
            0.05,
            (1, 4),
            1,
        ),
        AnomalyTypeInfo(
            "account_takeover",
            "collective",
            "security",
            "brute force, successful login, admin API calls, then exfiltration",
            "events",
            0.11,
            (12, 28),
            5,
        ),
    ]
}
assert tuple(ANOMALY_TYPES) == ALL_ANOMALY_TYPES

OPS_SERVICES = {
    "latency_spike": ("frontend", "orders", "payments", "inventory", "search", "reports"),
    "db_timeout_burst": ("orders", "inventory"),
    "error_burst_5xx": ("orders", "payments", "inventory", "search", "auth"),
    "cache_miss_storm": ("search", "inventory"),
    "memory_leak": ("orders", "payments", "inventory", "search", "reports"),
    "slow_query": ("orders", "payments", "inventory", "reports"),
}


def _allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    if len(weights) == 0:
        return np.zeros(0, dtype=np.int64)
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(np.int64)
    rest = int(total - out.sum())
    if rest > 0:
        out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return np.maximum(out, minimum)


def _positions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Incident start positions in [0, 1): spread out, the last one late in the period."""
    if n == 0:
        return np.zeros(0)
    if n == 1:
        return rng.uniform(0.05, 0.9, 1)
    first = 0.03 + 0.72 * (np.arange(n - 1) + rng.uniform(0.15, 0.85, n - 1)) / (n - 1)
    return np.append(first, rng.uniform(0.82, 0.95))


#: Types realised on a window of existing traffic: typical window length in minutes.
WINDOW_MINUTES: dict[str, tuple[float, float]] = {
    "latency_spike": (15, 45),
    "db_timeout_burst": (10, 30),
    "error_burst_5xx": (5, 20),
    "cache_miss_storm": (20, 60),
}


def _service_share(service: str, db_only: bool = False) -> float:
    e = ENDPOINTS
    mask = e["service"] == service
    if db_only:
        mask &= e["db_backed"]
    return float(e.loc[mask, "weight"].sum() / e["weight"].sum())


def plan_incidents(config: GeneratorConfig) -> pd.DataFrame:
    """Deterministic incident plan of a configuration.

    Operations incidents on a window of existing traffic (latency spikes, DB timeouts, 5xx
    bursts, cache-miss storms) get the number of events the chosen service is expected to
    serve in a window of 5-60 minutes at the planned time (09-17 UTC). The rest of the
    anomalous-event budget ``anomaly_rate * n_events`` is split over the other selected types
    by their share; each gets ``max(2, budget / typical size)`` incidents (or the number in
    ``incidents_per_type``) whose sizes add up to the type's budget. Memory leaks show in
    metrics only and have no events. Larger ``incident_scale`` gives fewer, larger incidents
    and longer operations windows.

    Returns
    -------
    DataFrame
        One row per incident: ``incident_id``, ``anomaly_type``, ``anomaly_kind``, ``domain``,
        ``service`` (operations types), ``planned_start`` (epoch ms), ``window_minutes``,
        ``n_events`` (planned labelled events) and ``strength`` (a uniform draw in [0, 1) that
        sets how strong the incident is).
    """
    from anomaly_tutorial.data.traffic import CLASS_SHARES, intensity

    budget = config.anomaly_rate * config.n_events
    selected = [t for t in ALL_ANOMALY_TYPES if t in config.anomaly_types]
    overrides = dict(config.incidents_per_type or {})
    length = config.end_ms - config.start_ms
    minutes = config.start_ms + MINUTE_MS * np.arange(config.days * 1440, dtype=np.int64)
    load = intensity(minutes)
    cum_load = np.r_[0.0, np.cumsum(load)] / load.sum()
    n_http = config.n_events * (1 - config.anomaly_rate) * CLASS_SHARES[ocsf.HTTP_ACTIVITY]
    rows = []
    window_total = 0

    def default_count(name: str) -> int:
        # a window incident needs a few events: skip them when the budget is tiny
        return 0 if budget < 30 else max(2, round(3 * config.days / 14))

    for name in ALL_ANOMALY_TYPES:
        sub = np.random.default_rng([config.seed, 203, ALL_ANOMALY_TYPES.index(name)])
        if name not in selected or not (name in WINDOW_MINUTES or name == "memory_leak"):
            continue
        info = ANOMALY_TYPES[name]
        n = overrides.get(name, default_count(name))
        pos = _positions(sub, n)
        starts = config.start_ms + (pos * length).astype(np.int64)
        if name != "memory_leak":  # traffic-driven failures strike in busy hours, 09-17 UTC
            starts = (
                starts
                - (starts - config.start_ms) % DAY_MS
                + sub.integers(9 * HOUR_MS, 17 * HOUR_MS, n)
            )
        options = OPS_SERVICES[name]
        shares = np.array([_service_share(o, name == "db_timeout_burst") for o in options])
        for i in range(n):
            strength = float(sub.random())
            service = options[int(sub.choice(len(options), p=shares / shares.sum()))]
            if name == "memory_leak":
                rows.append(
                    (
                        name,
                        info.kind,
                        info.domain,
                        service,
                        int(starts[i]),
                        60.0 * (3 + 6 * strength),
                        0,
                        strength,
                    )
                )
                continue
            lo, hi = WINDOW_MINUTES[name]
            win = float(sub.uniform(lo, hi)) * config.incident_scale
            m0 = int((starts[i] - config.start_ms) // MINUTE_MS)
            m1 = min(m0 + max(int(win), 1), len(load))
            share = _service_share(service, name == "db_timeout_burst")
            expected = n_http * share * 0.95 * (cum_load[m1] - cum_load[m0])
            size = max(info.min_size, round(expected))
            window_total += size
            rows.append(
                (name, info.kind, info.domain, service, int(starts[i]), win, size, strength)
            )
    rest = [t for t in selected if t not in WINDOW_MINUTES and t != "memory_leak"]
    share_sum = sum(ANOMALY_TYPES[t].share for t in rest) or 1.0
    remaining = max(budget - window_total, 0.0)
    for name in rest:
        info = ANOMALY_TYPES[name]
        sub = np.random.default_rng([config.seed, 203, ALL_ANOMALY_TYPES.index(name)])
        target = round(remaining * info.share / share_sum)
        lo, hi = info.size_range
        mean = (lo + hi) / 2 * config.incident_scale
        if name in overrides:
            n = overrides[name]
        else:
            n = max(2, round(target / mean)) if target > 0 else 0
            n = min(n, target // info.min_size)
        u = sub.uniform(lo, hi, n) * config.incident_scale
        sizes = _allocate(max(target, n * info.min_size), u, info.min_size)
        pos = _positions(sub, n)
        starts = config.start_ms + (pos * length).astype(np.int64)
        if name == "data_exfiltration":  # odd hours: 00:00-04:00 UTC of that day
            starts = starts - (starts - config.start_ms) % DAY_MS + sub.integers(0, 4 * HOUR_MS, n)
        services = OPS_SERVICES.get(name)
        for i in range(n):
            service = None
            if services is not None:
                shares = np.array([_service_share(o, True) for o in services])
                service = services[int(sub.choice(len(services), p=shares / shares.sum()))]
            rows.append(
                (
                    name,
                    info.kind,
                    info.domain,
                    service,
                    int(starts[i]),
                    np.nan,
                    int(sizes[i]),
                    float(sub.random()),
                )
            )
    plan = pd.DataFrame(
        rows,
        columns=[
            "anomaly_type",
            "anomaly_kind",
            "domain",
            "service",
            "planned_start",
            "window_minutes",
            "n_events",
            "strength",
        ],
    )
    plan = plan.sort_values(["planned_start", "anomaly_type"], kind="stable", ignore_index=True)
    plan.insert(0, "incident_id", [f"inc-{i + 1:04d}" for i in range(len(plan))])
    for c in ("incident_id", "anomaly_type", "anomaly_kind", "domain", "service"):
        plan[c] = plan[c].astype("string")
    plan["n_events"] = plan["n_events"].astype("int64")
    plan["planned_start"] = plan["planned_start"].astype("int64")
    return plan


# --- realisation -----------------------------------------------------------------------------


@dataclass
class Injection:
    """Working state shared by the injectors of one generation run."""

    rng: np.random.Generator
    world: World
    config: GeneratorConfig
    base: Block
    taken: np.ndarray
    frames: list[Block] = field(default_factory=list)
    #: metric effects: (incident_id, type, service, start ms, end ms, strength)
    effects: list[tuple] = field(default_factory=list)
    info: dict[str, dict] = field(default_factory=dict)


def _label(frame: Block, row: pd.Series) -> Block:
    n = len(frame["time"])
    frame["is_anomaly"] = np.ones(n, bool)
    frame["anomaly_type"] = np.full(n, row["anomaly_type"], dtype=object)
    frame["anomaly_kind"] = np.full(n, row["anomaly_kind"], dtype=object)
    frame["incident_id"] = np.full(n, row["incident_id"], dtype=object)
    return frame


def _pick_rows(ctx: Injection, mask: np.ndarray, start: int, k: int) -> np.ndarray:
    """First ``k`` untaken base rows matching ``mask`` at or after ``start`` (else the last k)."""
    cand = np.flatnonzero(mask & ~ctx.taken)
    times = ctx.base["time"][cand]
    sort = np.argsort(times, kind="stable")
    order = cand[sort]
    after = order[times[sort] >= start]
    rows = after[:k] if len(after) >= k else order[-k:]
    ctx.taken[rows] = True
    return rows


def _mark(ctx: Injection, rows: np.ndarray, row: pd.Series) -> None:
    for col, value in (
        ("is_anomaly", True),
        ("anomaly_type", row["anomaly_type"]),
        ("anomaly_kind", row["anomaly_kind"]),
        ("incident_id", row["incident_id"]),
    ):
        ctx.base[col][rows] = value


def _set(ctx: Injection, rows: np.ndarray, col: str, values) -> None:
    ctx.base[col][rows] = values


def _ops_rows(ctx: Injection, row: pd.Series, service: str, extra: np.ndarray | None = None):
    b = ctx.base
    mask = (b["class_uid"] == ocsf.HTTP_ACTIVITY) & (b["dst_endpoint.svc_name"] == service)
    mask &= b["http_response.code"] < 400
    if extra is not None:
        mask &= extra
    rows = _pick_rows(ctx, mask, int(row["planned_start"]), int(row["n_events"]))
    times = b["time"][rows]
    return rows, (int(times.min()), int(times.max())) if len(rows) else (0, 0)


def _service_choice(ctx: Injection, name: str, row: pd.Series) -> str:
    return str(row["service"])


def inject_latency_spike(ctx: Injection, row: pd.Series) -> None:
    service = _service_choice(ctx, "latency_spike", row)
    rows, (t0, t1) = _ops_rows(ctx, row, service)
    s = float(row["strength"])
    factor = 1.8 + 0.7 * s / 0.45 if s < 0.45 else 3.0 + 5.0 * (s - 0.45)
    dur = ctx.base["duration"][rows]
    _set(ctx, rows, "duration", np.round(dur * factor * ctx.rng.uniform(0.9, 1.1, len(rows)), 1))
    _mark(ctx, rows, row)
    ctx.effects.append((row["incident_id"], "latency_spike", service, t0, t1, factor))
    ctx.info[row["incident_id"]] = {
        "service": service,
        "entity": service,
        "description": f"{service} latency x{factor:.1f}",
    }


def inject_slow_query(ctx: Injection, row: pd.Series) -> None:
    service = _service_choice(ctx, "slow_query", row)
    db = ENDPOINTS["db_backed"].to_numpy(bool)
    ep = ctx.base["_ep"]
    rows, _ = _ops_rows(ctx, row, service, extra=(ep >= 0) & db[np.maximum(ep, 0)])
    _set(ctx, rows, "duration", np.round(ctx.rng.uniform(4_000, 15_000, len(rows)), 1))
    _set(ctx, rows, "_kind", "query")
    _mark(ctx, rows, row)
    ctx.info[row["incident_id"]] = {
        "service": service,
        "entity": service,
        "description": f"slow database query on {service}",
    }


def inject_db_timeout_burst(ctx: Injection, row: pd.Series) -> None:
    service = _service_choice(ctx, "db_timeout_burst", row)
    db = ENDPOINTS["db_backed"].to_numpy(bool)
    ep = ctx.base["_ep"]
    rows, (t0, t1) = _ops_rows(ctx, row, service, extra=(ep >= 0) & db[np.maximum(ep, 0)])
    n = len(rows)
    is504 = ctx.rng.random(n) < 0.7
    code = np.where(is504, 504, 500)
    _set(ctx, rows, "http_response.code", code)
    _set(
        ctx,
        rows,
        "duration",
        np.round(
            np.where(is504, ctx.rng.normal(30_000, 40, n), ctx.rng.uniform(5_000, 10_000, n)), 1
        ),
    )
    _set(ctx, rows, "status_id", ocsf.STATUS_FAILURE)
    _set(ctx, rows, "severity_id", 3)
    _set(ctx, rows, "status_detail", np.where(is504, "Gateway Timeout", "Internal Server Error"))
    _set(ctx, rows, "traffic.bytes_out", ctx.rng.integers(150, 700, n))
    _set(ctx, rows, "_kind", np.where(is504, "timeout", "db_error"))
    _mark(ctx, rows, row)
    ctx.effects.append((row["incident_id"], "db_timeout_burst", service, t0, t1, 1.0))
    ctx.info[row["incident_id"]] = {
        "service": service,
        "entity": "postgres",
        "description": f"database timeouts on {service}",
    }


def inject_error_burst_5xx(ctx: Injection, row: pd.Series) -> None:
    service = _service_choice(ctx, "error_burst_5xx", row)
    rows, (t0, t1) = _ops_rows(ctx, row, service)
    n = len(rows)
    _set(ctx, rows, "http_response.code", 503)
    _set(ctx, rows, "duration", np.round(ctx.rng.uniform(1, 12, n), 1))
    _set(ctx, rows, "status_id", ocsf.STATUS_FAILURE)
    _set(ctx, rows, "severity_id", 3)
    _set(ctx, rows, "status_detail", "Service Unavailable")
    _set(ctx, rows, "traffic.bytes_out", ctx.rng.integers(150, 400, n))
    _set(ctx, rows, "_kind", "upstream_503")
    _mark(ctx, rows, row)
    ctx.effects.append((row["incident_id"], "error_burst_5xx", service, t0, t1, 1.0))
    ctx.info[row["incident_id"]] = {
        "service": service,
        "entity": service,
        "description": f"{service} returns 503",
    }


def inject_cache_miss_storm(ctx: Injection, row: pd.Series) -> None:
    service = _service_choice(ctx, "cache_miss_storm", row)
    rows, (t0, t1) = _ops_rows(ctx, row, service)
    n = len(rows)
    b = ctx.base
    _set(ctx, rows, "duration", np.round(b["duration"][rows] * ctx.rng.uniform(1.3, 2.0, n), 1))
    out = b["traffic.bytes_out"][rows].astype(float)
    _set(ctx, rows, "traffic.bytes_out", (out * ctx.rng.uniform(1.1, 1.5, n)).astype(np.int64))
    _set(ctx, rows, "_kind", "cache_miss")
    _mark(ctx, rows, row)
    ctx.effects.append((row["incident_id"], "cache_miss_storm", service, t0, t1, 1.0))
    ctx.info[row["incident_id"]] = {
        "service": service,
        "entity": f"{service}-cache",
        "description": f"cache miss storm on {service}",
    }


def inject_memory_leak(ctx: Injection, row: pd.Series) -> None:
    service = _service_choice(ctx, "memory_leak", row)
    t0 = int(row["planned_start"])
    t1 = min(t0 + int((3 + 6 * row["strength"]) * HOUR_MS), ctx.config.end_ms - MINUTE_MS)
    ctx.effects.append((row["incident_id"], "memory_leak", service, t0, t1, 1.0))
    ctx.info[row["incident_id"]] = {
        "service": service,
        "entity": service,
        "description": f"{service} leaks memory for {(t1 - t0) / HOUR_MS:.1f} h until restart",
    }


def _attacker(ctx: Injection) -> tuple[str, str]:
    k = int(ctx.rng.integers(0, len(ATTACKER_PREFIXES)))
    prefix, country = ATTACKER_PREFIXES[k]
    ip = public_ip(ctx.rng, np.array([prefix], dtype=object))[0]
    return ip, country


def _regular_user(ctx: Injection, corp: bool | None = None) -> int:
    u = ctx.world.users
    ok = (u["role"] == "user").to_numpy(copy=True)
    if corp is not None:
        ok &= (u["corp"] == corp).to_numpy()
    w = u["weight"].to_numpy() * ok
    return int(ctx.rng.choice(len(u), p=w / w.sum()))


def _spread(ctx: Injection, start: int, n: int, span_ms: float) -> np.ndarray:
    return np.sort(start + ctx.rng.uniform(0, span_ms, n).astype(np.int64))


def inject_brute_force(ctx: Injection, row: pd.Series) -> None:
    n = int(row["n_events"])
    ip, country = _attacker(ctx)
    user = _regular_user(ctx)
    ssh = row["strength"] < 0.4
    t = _spread(ctx, int(row["planned_start"]), n, ctx.rng.uniform(2, 10) * MINUTE_MS)
    f = auth_events(
        ctx.rng,
        ctx.world,
        t,
        np.full(n, user),
        channel=np.full(n, 1 if ssh else 0),
        activity=np.ones(n),
        failed=np.ones(n, bool),
        src_ip=np.full(n, ip, object),
        country=np.full(n, country, object),
        detail=np.full(n, "Invalid password", object),
    )
    ctx.frames.append(_label(f, row))
    name = ctx.world.users["name"].iloc[user]
    ctx.info[row["incident_id"]] = {
        "service": "bastion" if ssh else "auth",
        "entity": ip,
        "description": f"{n} failed logins for {name} from {ip}",
    }


def inject_credential_stuffing(ctx: Injection, row: pd.Series) -> None:
    n = int(row["n_events"])
    ip, country = _attacker(ctx)
    u = ctx.world.users
    cand = np.flatnonzero((u["role"] != "service").to_numpy())
    users = ctx.rng.choice(cand, size=n, replace=n > len(cand))
    t = _spread(ctx, int(row["planned_start"]), n, ctx.rng.uniform(1, 3) * HOUR_MS)
    failed = ctx.rng.random(n) >= 0.06
    detail = np.where(ctx.rng.random(n) < 0.8, "Invalid password", "Unknown user").astype(object)
    f = auth_events(
        ctx.rng,
        ctx.world,
        t,
        users,
        channel=np.zeros(n, int),
        activity=np.ones(n),
        failed=failed,
        src_ip=np.full(n, ip, object),
        country=np.full(n, country, object),
        detail=detail,
    )
    ctx.frames.append(_label(f, row))
    ctx.info[row["incident_id"]] = {
        "service": "auth",
        "entity": ip,
        "description": f"{ip} tried {len(set(users))} accounts, {int((~failed).sum())} succeeded",
    }


def _downloads(
    ctx: Injection, t: np.ndarray, user: int, big: bool, src_ip=None, country=None, ua=None
) -> Block:
    n = len(t)
    ep_export = int(np.flatnonzero(ENDPOINTS["path"] == "/api/reports/export")[0])
    ep_file = int(np.flatnonzero(ENDPOINTS["path"] == "/api/files/{id}/download")[0])
    ep = np.where(ctx.rng.random(n) < 0.5, ep_export, ep_file)
    size = ctx.rng.uniform(150e6, 1.5e9, n) if big else ctx.rng.uniform(12e6, 60e6, n)
    f = http_events(
        ctx.rng,
        ctx.world,
        t,
        ep,
        np.full(n, user),
        code=np.full(n, 200),
        bytes_out=size.astype(np.int64),
        src_ip=src_ip,
        country=country,
        ua=ua,
    )
    f["duration"] = np.round(np.maximum(f["duration"], size / 8_000.0), 1)
    return f


def inject_data_exfiltration(ctx: Injection, row: pd.Series) -> None:
    n = int(row["n_events"])
    user = _regular_user(ctx)
    big = n <= 3
    span = ctx.rng.uniform(5, 30) * MINUTE_MS if big else ctx.rng.uniform(1, 3) * HOUR_MS
    t = _spread(ctx, int(row["planned_start"]), n, span)
    f = _downloads(ctx, t, user, big)
    ctx.frames.append(_label(f, row))
    name = ctx.world.users["name"].iloc[user]
    total = f["traffic.bytes_out"].sum() / 1e6
    ctx.info[row["incident_id"]] = {
        "service": "reports",
        "entity": name,
        "description": f"{name} downloaded {total:,.0f} MB in {n} requests at night",
    }


def inject_port_scan(ctx: Injection, row: pd.Series) -> None:
    n = int(row["n_events"])
    ip, country = _attacker(ctx)
    target = ctx.world.service_ips["frontend"][int(ctx.rng.integers(0, 3))]
    t = _spread(ctx, int(row["planned_start"]), n, ctx.rng.uniform(1, 5) * MINUTE_MS)
    ports = ctx.rng.permutation(np.arange(1, 10_000))[:n]
    act = ctx.rng.choice([5, 3, 1], size=n, p=[0.7, 0.2, 0.1])
    f = network_events(
        ctx.rng,
        ctx.world,
        t,
        flow=np.full(n, 3),
        activity=act,
        src_ip=np.full(n, ip, object),
        dst_ip=np.full(n, target, object),
        dst_port=ports,
        country=np.full(n, country, object),
        user=np.full(n, -1),
        svc_name=np.full(n, "frontend", object),
        direction=np.full(n, 1),
    )
    ctx.frames.append(_label(f, row))
    ctx.info[row["incident_id"]] = {
        "service": "frontend",
        "entity": ip,
        "description": f"{ip} probed {n} ports of {target}",
    }


def inject_impossible_travel(ctx: Injection, row: pd.Series) -> None:
    n = int(row["n_events"])
    b = ctx.base
    u = ctx.world.users
    names = u["name"].to_numpy(dtype=object)
    ok_user = ((u["role"] != "service") & ~u["corp"]).to_numpy()
    user_col = b["_user"].astype(np.int64)
    mask = (
        (b["class_uid"] == ocsf.AUTHENTICATION)
        & (b["activity_id"] == 1)
        & (b["status_id"] == 1)
        & (b["dst_endpoint.port"] == 443)
        & (user_col >= 0)
        & ok_user[np.maximum(user_col, 0)]
    )
    home_row = _pick_rows(ctx, mask, int(row["planned_start"]), 1)[0]
    user = int(user_col[home_row])
    name = names[user]
    home = u["country"].iloc[user]
    far = FAR_COUNTRY[home]
    t0 = int(b["time"][home_row])
    t = _spread(ctx, t0 + int(ctx.rng.uniform(5, 40) * MINUTE_MS), n, 20 * MINUTE_MS)
    # the far address is an ordinary residential one there (another user's, via a proxy)
    locals_ = np.flatnonzero(((u["country"] == far) & ~u["corp"]).to_numpy())
    if len(locals_):
        ips = np.array([u["ips"].iloc[int(ctx.rng.choice(locals_))][0]], dtype=object)
    else:
        prefixes = np.array(COUNTRIES[far][1], dtype=object)
        ips = public_ip(ctx.rng, ctx.rng.choice(prefixes, size=1))
    f = auth_events(
        ctx.rng,
        ctx.world,
        t,
        np.full(n, user),
        channel=np.zeros(n, int),
        activity=np.ones(n),
        failed=np.zeros(n, bool),
        src_ip=np.repeat(ips, n),
        country=np.full(n, far, object),
    )
    ctx.frames.append(_label(f, row))
    ctx.info[row["incident_id"]] = {
        "service": "auth",
        "entity": name,
        "description": f"{name} logged in from {home} then {far} "
        f"{(t[0] - t0) / MINUTE_MS:.0f} min later",
    }


def inject_privilege_escalation(ctx: Injection, row: pd.Series) -> None:
    n = int(row["n_events"])
    user = _regular_user(ctx)
    ops = np.array(
        ["AttachRolePolicy", "CreateAccessKey", "CreateUser", "UpdateConfig", "ListUsers"],
        dtype=object,
    )
    op = ops[ctx.rng.integers(0, len(ops), n)]
    failed = np.zeros(n, bool)
    if n >= 2 and row["strength"] < 0.5:
        failed[0] = True
    t = _spread(ctx, int(row["planned_start"]), n, ctx.rng.uniform(2, 20) * MINUTE_MS)
    f = api_events(ctx.rng, ctx.world, t, np.full(n, user), op=op, failed=failed)
    ctx.frames.append(_label(f, row))
    name = ctx.world.users["name"].iloc[user]
    ctx.info[row["incident_id"]] = {
        "service": "iam",
        "entity": name,
        "description": f"non-admin {name} called {', '.join(dict.fromkeys(op))}",
    }


def inject_account_takeover(ctx: Injection, row: pd.Series) -> None:
    n = int(row["n_events"])
    rng = ctx.rng
    ip, country = _attacker(ctx)
    user = _regular_user(ctx, corp=False)
    n_fail = max(1, round(0.45 * n))
    n_api = max(1, round(0.2 * (n - n_fail - 1)))
    n_out = n - n_fail - 1 - n_api
    n_net = 1 if n_out >= 3 else 0
    n_dl = n_out - n_net
    start = int(row["planned_start"])
    t_fail = _spread(ctx, start, n_fail, rng.uniform(3, 10) * MINUTE_MS)
    t_ok = int(t_fail[-1] + rng.uniform(1, 5) * MINUTE_MS)
    t_api = _spread(ctx, t_ok + int(rng.uniform(3, 10) * MINUTE_MS), n_api, 10 * MINUTE_MS)
    t_dl = _spread(
        ctx, int(t_api[-1] + rng.uniform(3, 10) * MINUTE_MS), n_out, rng.uniform(10, 40) * MINUTE_MS
    )
    ipa = np.full(n_fail + 1, ip, object)
    ca = np.full(n_fail + 1, country, object)
    failed = np.r_[np.ones(n_fail, bool), False]
    parts = [
        auth_events(
            rng,
            ctx.world,
            np.r_[t_fail, t_ok],
            np.full(n_fail + 1, user),
            channel=np.zeros(n_fail + 1, int),
            activity=np.ones(n_fail + 1),
            failed=failed,
            src_ip=ipa,
            country=ca,
            detail=np.full(n_fail + 1, "Invalid password", object),
        )
    ]
    ops = np.array(["AttachRolePolicy", "CreateAccessKey", "CreateUser"], dtype=object)
    parts.append(
        api_events(
            rng,
            ctx.world,
            t_api,
            np.full(n_api, user),
            op=ops[np.arange(n_api) % 3],
            failed=np.zeros(n_api, bool),
            src_ip=np.full(n_api, ip, object),
            country=np.full(n_api, country, object),
        )
    )
    if n_dl:
        parts.append(
            _downloads(
                ctx,
                t_dl[:n_dl],
                user,
                big=False,
                src_ip=np.full(n_dl, ip, object),
                country=np.full(n_dl, country, object),
                ua=np.full(n_dl, "python-requests/2.31.0", object),
            )
        )
    if n_net:
        src = ctx.world.service_ips["reports"][0]
        parts.append(
            network_events(
                rng,
                ctx.world,
                t_dl[n_dl:],
                flow=np.full(1, 4),
                activity=np.full(1, 6),
                src_ip=np.full(1, src, object),
                dst_ip=np.full(1, ip, object),
                dst_port=np.full(1, 443),
                country=np.full(1, None, object),
                user=np.full(1, -1),
                bytes_out=rng.uniform(3e8, 2e9, 1),
                svc_name=np.full(1, "egress-https", object),
            )
        )
    f = concat_blocks(parts)
    ctx.frames.append(_label(f, row))
    name = ctx.world.users["name"].iloc[user]
    ctx.info[row["incident_id"]] = {
        "service": "auth",
        "entity": ip,
        "description": f"{ip} took over {name}: {n_fail} failed logins, login, {n_api} admin "
        f"calls, {n_out} large transfers",
    }


INJECTORS = {
    "latency_spike": inject_latency_spike,
    "slow_query": inject_slow_query,
    "db_timeout_burst": inject_db_timeout_burst,
    "error_burst_5xx": inject_error_burst_5xx,
    "memory_leak": inject_memory_leak,
    "cache_miss_storm": inject_cache_miss_storm,
    "brute_force": inject_brute_force,
    "credential_stuffing": inject_credential_stuffing,
    "data_exfiltration": inject_data_exfiltration,
    "port_scan": inject_port_scan,
    "impossible_travel": inject_impossible_travel,
    "privilege_escalation": inject_privilege_escalation,
    "account_takeover": inject_account_takeover,
}

#: Types whose incidents add new events (the others modify existing traffic or only metrics).
INJECTING_TYPES = frozenset(
    {
        "brute_force",
        "credential_stuffing",
        "data_exfiltration",
        "port_scan",
        "impossible_travel",
        "privilege_escalation",
        "account_takeover",
    }
)


# --- propagation along the call graph (GeneratorConfig.propagate_incidents) -------------------

#: Incident types that spread to the callers of the service they hit. Slow queries (single
#: requests) and memory leaks (a slow ramp inside one process) stay where they are injected.
PROPAGATING_TYPES: tuple[str, ...] = (
    "latency_spike",
    "db_timeout_burst",
    "error_burst_5xx",
    "cache_miss_storm",
)
#: Strength kept per hop: a caller ``k`` hops away feels ``PROPAGATION_ATTENUATION ** k`` of it.
PROPAGATION_ATTENUATION = 0.6
#: Each hop starts (and ends) this much later than the one it waits on.
PROPAGATION_LAG_MS = 2 * MINUTE_MS
#: Typical slow-down of a cache miss storm (the middle of its 1.3-2.0 range).
_CACHE_MISS_FACTOR = 1.65


def service_callers() -> dict[str, dict[str, tuple[int, ...]]]:
    """Who calls whom among the application services of ``world.ENDPOINTS``.

    Returns
    -------
    dict
        ``{callee: {caller: endpoint indices of the caller that call the callee}}``, for the
        callees that have callers (infrastructure such as ``db`` is not a key).
    """
    out: dict[str, dict[str, list[int]]] = {}
    for e, (caller, calls) in enumerate(zip(ENDPOINTS["service"], ENDPOINTS["calls"], strict=True)):
        for call in calls:
            callee = call.split(":")[0]
            if callee in set(ENDPOINTS["service"]):
                out.setdefault(callee, {}).setdefault(caller, []).append(e)
    return {c: {k: tuple(v) for k, v in callers.items()} for c, callers in out.items()}


def blast_radius(service: str) -> list[tuple[str, int, str]]:
    """The callers an incident in ``service`` reaches, breadth first.

    Returns
    -------
    list of (caller, hop, via)
        ``hop`` is the number of calls between the caller and ``service`` (1 = direct caller)
        and ``via`` the service it calls on the way (``service`` itself for hop 1). A caller
        reachable by several paths appears once, at its shortest hop.
    """
    callers = service_callers()
    seen, out, frontier = {service}, [], [service]
    hop = 0
    while frontier:
        hop += 1
        nxt = []
        for callee in frontier:
            for caller in sorted(callers.get(callee, {})):
                if caller not in seen:
                    seen.add(caller)
                    out.append((caller, hop, callee))
                    nxt.append(caller)
        frontier = nxt
    return out


def propagate_to_callers(ctx: Injection, plan: pd.DataFrame) -> dict[str, list[str]]:
    """Spread every operations incident of the plan to the callers of its service.

    For an incident of a type in :data:`PROPAGATING_TYPES` in service ``S`` over ``[t0, t1]``,
    every caller ``C`` that :func:`blast_radius` reaches at hop ``k`` is affected over
    ``[t0 + k * lag, t1 + k * lag]`` (``lag`` = :data:`PROPAGATION_LAG_MS`) with strength
    ``a = PROPAGATION_ATTENUATION ** k``, on the requests of the endpoints of ``C`` that call
    the service on the way (``via``), among the normal ones not used by another incident:

    * latency spike (factor ``f``) and cache miss storm (``f`` = 1.65): every such request
      takes ``1 + (f - 1) * a`` times longer;
    * database timeouts: a share ``a`` of them waits for the callee's 30 s timeout and answers
      504 Gateway Timeout;
    * 5xx burst: a share ``a`` of them answers 502 Bad Gateway.

    Symptom requests carry the incident's labels (they are part of its blast radius); the
    private columns ``_hop`` (0 = not a symptom) and ``_via`` say which callee they waited on,
    for the trace spans. A metric effect with attenuation ``a`` is added for every caller.
    The draws come from their own generator, so the injected incidents are unchanged.

    Returns
    -------
    dict
        ``{incident_id: [affected caller services, in hop order]}``.
    """
    rng = np.random.default_rng([ctx.config.seed, 407])
    b = ctx.base
    n = len(b["time"])
    b["_hop"] = np.zeros(n, np.int64)
    b["_via"] = np.full(n, None, dtype=object)
    windows = {e[0]: e for e in ctx.effects}
    http = b["class_uid"] == ocsf.HTTP_ACTIVITY
    affected: dict[str, list[str]] = {}
    for _, row in plan.iterrows():
        inc, kind = row["incident_id"], row["anomaly_type"]
        if kind not in PROPAGATING_TYPES or inc not in windows:
            continue
        _, _, service, t0, t1, strength = windows[inc]
        if t1 <= t0:
            continue
        factor = {"latency_spike": strength, "cache_miss_storm": _CACHE_MISS_FACTOR}.get(kind)
        callers = service_callers()
        for caller, hop, via in blast_radius(service):
            a = PROPAGATION_ATTENUATION**hop
            lo, hi = t0 + hop * PROPAGATION_LAG_MS, t1 + hop * PROPAGATION_LAG_MS
            eps = np.array(callers[via][caller])
            mask = http & np.isin(b["_ep"], eps) & (b["http_response.code"] < 400)
            mask &= (b["time"] >= lo) & (b["time"] <= hi) & ~ctx.taken
            rows = np.flatnonzero(mask)
            if factor is None:  # failures: a share a of the requests fails
                rows = rows[rng.random(len(rows)) < a]
            if len(rows) == 0:
                continue
            k = len(rows)
            if factor is not None:
                slow = (1 + (factor - 1) * a) * rng.uniform(0.9, 1.1, k)
                _set(ctx, rows, "duration", np.round(b["duration"][rows] * slow, 1))
            else:
                timeout = kind == "db_timeout_burst"
                extra = rng.normal(30_000, 40, k) if timeout else rng.uniform(1, 12, k)
                _set(ctx, rows, "duration", np.round(b["duration"][rows] * 0.2 + extra, 1))
                _set(ctx, rows, "http_response.code", 504 if timeout else 502)
                _set(ctx, rows, "status_id", ocsf.STATUS_FAILURE)
                _set(ctx, rows, "severity_id", 3)
                _set(ctx, rows, "status_detail", "Gateway Timeout" if timeout else "Bad Gateway")
                _set(ctx, rows, "traffic.bytes_out", rng.integers(150, 700, k))
                _set(ctx, rows, "_kind", "timeout" if timeout else "upstream_503")
            ctx.taken[rows] = True
            _mark(ctx, rows, row)
            b["_hop"][rows] = hop
            b["_via"][rows] = via
            ctx.effects.append((inc, kind, caller, int(lo), int(hi), strength, a))
            affected.setdefault(inc, []).append(caller)
    return affected
