"""Distributed-trace spans for HTTP events, built from the per-endpoint call graph."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly_tutorial.data.traffic import hex_ids
from anomaly_tutorial.data.world import ENDPOINTS

SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "service",
    "operation",
    "start_time",
    "duration_ms",
    "status",
    "event_id",
)
_INFRA = {
    "db": "postgres",
    "cache": "redis",
    "index": "search-index",
    "storage": "object-storage",
    "psp": "payment-provider",
}


def infra_service(target: str, caller: str, per_service_infra: bool = False) -> str:
    """Span service name of a downstream call target (``db``, ``cache``, ... or a service).

    Application services keep their name. Infrastructure gets the shared name of
    :data:`_INFRA` (every database is ``postgres``), or with ``per_service_infra`` a name of
    its owner for databases and caches (``orders-db``, ``search-cache``), so that a trace says
    *whose* database was slow.
    """
    if per_service_infra and target in ("db", "cache"):
        return f"{caller}-{target}"
    return _INFRA.get(target, target)


def build_spans(
    events: pd.DataFrame,
    endpoint: np.ndarray,
    seed: int,
    *,
    symptoms: tuple[np.ndarray, np.ndarray] | None = None,
    per_service_infra: bool = False,
) -> pd.DataFrame:
    """Root span per HTTP event plus one child span per downstream call of its endpoint.

    Parameters
    ----------
    events
        The flat event frame (sorted, with ``event_id`` and label columns).
    endpoint
        Endpoint index per event row (``-1`` for non-HTTP events).
    seed
        Seed of the span ids and timing jitter.
    symptoms
        For a dataset generated with ``propagate_incidents``: per event row the hop (0 = not a
        symptom) and the callee it waited on. A symptom request's child span to that callee
        covers almost the whole request and is an error when the request failed; the
        database and latency-spike rules below then apply to the injected requests only,
        and a latency spike, being in the service's own code, no longer stretches its first
        child span.
    per_service_infra
        Name databases and caches after their owner (:func:`infra_service`).

    Returns
    -------
    DataFrame
        Columns :data:`SPAN_COLUMNS`; children lie inside their parent in time. A database
        timeout or slow query makes the database child span almost as long as the request.
    """
    rng = np.random.default_rng([seed, 505])
    http = np.flatnonzero(endpoint >= 0)
    ep = endpoint[http]
    n = len(http)
    trace = events["trace.uid"].to_numpy(dtype=object)[http]
    start = events["time"].to_numpy()[http]
    dur = events["duration"].to_numpy(dtype=float)[http]
    code = events["http_response.code"].to_numpy(dtype=float)[http]
    a_type = events["anomaly_type"].to_numpy(dtype=object)[http]
    root_id = hex_ids(rng, n, 16)
    tmpl = (
        ENDPOINTS["method"].to_numpy(dtype=object) + " " + ENDPOINTS["path"].to_numpy(dtype=object)
    )
    parts = [
        pd.DataFrame(
            {
                "trace_id": trace,
                "span_id": root_id,
                "parent_span_id": None,
                "service": ENDPOINTS["service"].to_numpy(dtype=object)[ep],
                "operation": tmpl[ep],
                "start_time": start,
                "duration_ms": dur,
                "status": np.where(code >= 500, "error", "ok"),
                "event_id": events["event_id"].to_numpy(dtype=object)[http],
                "_order": np.arange(n) * 10,
            }
        )
    ]
    db_slow = np.isin(a_type, ["db_timeout_burst", "slow_query"])
    spike = a_type == "latency_spike"
    hop = via = None
    if symptoms is not None:
        hop = np.asarray(symptoms[0])[http]
        via = np.asarray(symptoms[1], dtype=object)[http]
        db_slow &= hop == 0
        spike = np.zeros(n, bool)
    service = ENDPOINTS["service"].to_numpy(dtype=object)
    for e, calls in enumerate(ENDPOINTS["calls"]):
        rows = np.flatnonzero(ep == e)
        m = len(calls)
        if m == 0 or len(rows) == 0:
            continue
        k = len(rows)
        for j, call in enumerate(calls):
            target, op = call.split(":")
            lo = 0.03 + 0.94 * j / m
            c_start = start[rows] + dur[rows] * (lo + 0.01 / m)
            c_dur = dur[rows] * (0.9 / m) * rng.uniform(0.5, 0.97, k)
            status = np.full(k, "ok", dtype=object)
            if target == "db":
                long = db_slow[rows]
                c_start = np.where(long, start[rows] + dur[rows] * 0.02, c_start)
                c_dur = np.where(long, dur[rows] * rng.uniform(0.93, 0.97, k), c_dur)
                status[code[rows] == 504] = "error"
                status[long & (code[rows] >= 500)] = "error"
            if j == 0:
                c_start = np.where(spike[rows], start[rows] + dur[rows] * 0.02, c_start)
                c_dur = np.where(spike[rows], dur[rows] * 0.9, c_dur)
            if hop is not None:
                waits = (hop[rows] > 0) & (via[rows] == target)
                c_start = np.where(waits, start[rows] + dur[rows] * 0.02, c_start)
                c_dur = np.where(waits, dur[rows] * rng.uniform(0.9, 0.96, k), c_dur)
                status[waits & (code[rows] >= 500)] = "error"
            parts.append(
                pd.DataFrame(
                    {
                        "trace_id": trace[rows],
                        "span_id": hex_ids(rng, k, 16),
                        "parent_span_id": root_id[rows],
                        "service": infra_service(target, service[e], per_service_infra),
                        "operation": op,
                        "start_time": np.floor(c_start).astype(np.int64),
                        "duration_ms": np.round(c_dur, 2),
                        "status": status,
                        "event_id": None,
                        "_order": rows * 10 + 1 + j,
                    }
                )
            )
    spans = pd.concat(parts, ignore_index=True).sort_values("_order", kind="stable")
    spans = spans.drop(columns="_order").reset_index(drop=True)
    for c in (
        "trace_id",
        "span_id",
        "parent_span_id",
        "service",
        "operation",
        "status",
        "event_id",
    ):
        spans[c] = spans[c].astype("string")
    spans["start_time"] = spans["start_time"].astype("int64")
    spans["duration_ms"] = spans["duration_ms"].astype("float64")
    return spans
