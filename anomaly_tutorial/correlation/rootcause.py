"""Rank the services of one correlated incident by how likely each is its root cause.

A fault in a service makes its callers slow or failing too, so an incident shows up in
several services at once; the one to fix is the one whose anomaly the others inherit. Three
pieces of evidence from the call graph and the alert timeline point at it
(Soldani and Brogi 2022 survey the field):

* **healthy dependencies**: the root cause is anomalous while everything it depends on
  (its callees, and theirs) is healthy; a caller of a failing service has an anomalous callee;
* **it explains the others**: the other anomalous services are its callers, directly or
  through others (they sit upstream of it and inherit its fault);
* **it started first**: a symptom needs the fault to exist before it, so the root cause's
  first alert tends to come first (a weak clue: detectors notice different services at
  different speeds).

:func:`rank_root_causes` combines the three into one score with fixed weights
(:data:`EVIDENCE_WEIGHTS`, set from the reasoning above and not tuned on any data) and
explains every candidate in words. :func:`rank_by_alert_count` and :func:`rank_by_first_alert`
are the simple baselines it must beat.

Public objects: :func:`rank_root_causes`, :func:`rank_by_alert_count`,
:func:`rank_by_first_alert`, :data:`EVIDENCE_WEIGHTS`, :data:`CANDIDATE_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from anomaly_tutorial.correlation.graph import ServiceGraph

__all__ = [
    "CANDIDATE_COLUMNS",
    "EVIDENCE_WEIGHTS",
    "rank_by_alert_count",
    "rank_by_first_alert",
    "rank_root_causes",
    "top_k_hit",
]

#: Columns of the anomalous-service table the rankings read.
CANDIDATE_COLUMNS = ("service", "first_alert_time", "n_alerts")
#: Weight of each piece of evidence in the root-cause score.
EVIDENCE_WEIGHTS: Mapping[str, float] = {
    "healthy_dependencies": 2.0,
    "explains_others": 1.0,
    "started_first": 0.5,
}


def _check_candidates(anomalous: pd.DataFrame, graph: ServiceGraph | None) -> pd.DataFrame:
    if not isinstance(anomalous, pd.DataFrame):
        raise TypeError(f"anomalous: expected a pandas DataFrame, got {type(anomalous).__name__}")
    missing = [c for c in CANDIDATE_COLUMNS if c not in anomalous.columns]
    if missing:
        raise ValueError(
            f"anomalous: missing column(s) {missing}; expected one row per anomalous service "
            f"with {list(CANDIDATE_COLUMNS)}"
        )
    if anomalous.empty:
        raise ValueError("anomalous: no anomalous service to rank (the table is empty)")
    for column in CANDIDATE_COLUMNS:
        bad = anomalous[column].isna().to_numpy()
        if bad.any():
            row = anomalous.index[int(bad.argmax())]
            raise ValueError(f"anomalous: row {row!r} has no {column!r}")
    dup = anomalous["service"][anomalous["service"].duplicated()]
    if len(dup):
        raise ValueError(f"anomalous: service {dup.iloc[0]!r} appears more than once")
    for column in ("first_alert_time", "n_alerts"):
        values = anomalous[column]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            raise ValueError(f"anomalous: {column!r} must be numeric, got dtype {values.dtype}")
    if (anomalous["n_alerts"] < 1).any():
        row = anomalous.index[int((anomalous["n_alerts"] < 1).to_numpy().argmax())]
        raise ValueError(f"anomalous: row {row!r} has n_alerts < 1; list anomalous services only")
    if graph is not None:
        graph.check_known(anomalous["service"], "anomalous")
    out = anomalous.reset_index(drop=True).copy()
    out["service"] = out["service"].astype(str)
    return out


def _clock(ms: float) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%H:%M")


def _names(services: list[str]) -> str:
    if len(services) <= 1:
        return "".join(services)
    return ", ".join(services[:-1]) + " and " + services[-1]


def _minutes(ms: float) -> str:
    minutes = ms / 60_000
    return f"{minutes:.0f} min" if minutes >= 1 else f"{ms / 1000:.0f} s"


def rank_root_causes(
    anomalous: pd.DataFrame, graph: ServiceGraph, *, min_alerts: int = 1
) -> pd.DataFrame:
    """Rank the anomalous services of one incident as root-cause candidates.

    Parameters
    ----------
    anomalous : pandas.DataFrame
        One row per anomalous service: ``service`` (a node of ``graph``),
        ``first_alert_time`` (epoch ms) and ``n_alerts`` (>= 1).
    graph : ServiceGraph
        The call graph (:func:`~anomaly_tutorial.correlation.service_graph`).
    min_alerts : int, default 1
        Alerts a service needs to count as anomalous *when judging the others*: a callee
        with fewer alerts does not take the healthy-dependencies evidence away from its
        callers, and a caller with fewer does not need explaining. Every service stays a
        candidate. One stray false alert in a callee otherwise moves the blame to it.

    Returns
    -------
    pandas.DataFrame
        One row per candidate, best first, index ``rank`` (1, 2, ...): ``service``, ``score``,
        the three evidence columns (``healthy_dependencies`` 1/0, ``explains_others`` the share
        of the other anomalous services upstream of it, ``started_first`` 1 for the earliest
        first alert down to 0 for the latest), ``first_alert_time``, ``n_alerts``,
        ``anomalous_callees`` and ``anomalous_callers`` (comma-separated, transitive) and
        ``explanation`` (words). Ties of the score go to the earlier first alert, then the
        service with more alerts, then the name.

    Raises
    ------
    ValueError
        An empty table, a missing column or value, a repeated service, or a service the graph
        does not know.

    Notes
    -----
    The score is ``sum(EVIDENCE_WEIGHTS[k] * evidence_k)``. It assumes that faults travel
    from callee to caller (a slow database slows its callers), that the graph is complete
    and that every anomalous service of the incident is anomalous for the same reason. A
    fault that shows in its callers but not in itself (a database without its own
    detector) makes the deepest *observed* service the best candidate: name it as the owner
    of the unobserved part. Microservice root-cause methods such as MicroRCA
    (Wu et al. 2020) or CauseInfer (Chen et al. 2014) weigh the same evidence with
    personalised PageRank on an attributed graph or with causal tests on metrics.
    """
    if (
        isinstance(min_alerts, bool)
        or not isinstance(min_alerts, int | np.integer)
        or min_alerts < 1
    ):
        raise ValueError(f"min_alerts: must be a positive integer, got {min_alerts!r}")
    table = _check_candidates(anomalous, graph)
    services = table["service"].tolist()
    anomalous_set = set(table.loc[table["n_alerts"] >= min_alerts, "service"])
    start = table["first_alert_time"].to_numpy(dtype=float)
    earliest, latest = start.min(), start.max()
    start_of = dict(zip(services, start, strict=True))
    rows = []
    for service, t0, n in zip(services, start, table["n_alerts"], strict=True):
        callees = sorted(graph.downstream(service) & anomalous_set)
        callers = sorted(graph.upstream(service) & anomalous_set)
        others = len(anomalous_set - {service})
        evidence = {
            "healthy_dependencies": float(not callees),
            "explains_others": len(callers) / others if others else 1.0,
            "started_first": (latest - t0) / (latest - earliest) if latest > earliest else 1.0,
        }
        score = sum(EVIDENCE_WEIGHTS[k] * v for k, v in evidence.items())
        words = [f"{service}: anomalous from {_clock(t0)}"]
        if callers:
            lead = min(start_of[c] for c in callers) - t0
            when = (
                f"{_minutes(lead)} before"
                if lead > 0
                else "at the same time as"
                if lead == 0
                else f"{_minutes(-lead)} after"
            )
            words.append(f", {when} its caller(s) {_names(callers)}")
        if callees:
            since = _clock(min(start_of[c] for c in callees))
            words.append(f"; depends on anomalous {_names(callees)} (from {since})")
        else:
            words.append("; no anomalous callee")
        if not callers and others:
            words.append("; explains none of the other anomalous services")
        rows.append(
            {
                "service": service,
                "score": score,
                **evidence,
                "first_alert_time": int(t0),
                "n_alerts": int(n),
                "anomalous_callees": ",".join(callees),
                "anomalous_callers": ",".join(callers),
                "explanation": "".join(words),
            }
        )
    out = pd.DataFrame(rows)
    out = out.sort_values(
        ["score", "first_alert_time", "n_alerts", "service"],
        ascending=[False, True, False, True],
        kind="stable",
    )
    out.index = pd.RangeIndex(1, len(out) + 1, name="rank")
    return out


def _baseline(anomalous: pd.DataFrame, by: list[str], ascending: list[bool]) -> pd.DataFrame:
    table = _check_candidates(anomalous, None)[list(CANDIDATE_COLUMNS)]
    out = table.sort_values(by, ascending=ascending, kind="stable")
    out["first_alert_time"] = out["first_alert_time"].astype("int64")
    out.index = pd.RangeIndex(1, len(out) + 1, name="rank")
    return out


def rank_by_alert_count(anomalous: pd.DataFrame) -> pd.DataFrame:
    """Baseline: the service with the most alerts first (ties: earlier first alert, name)."""
    return _baseline(anomalous, ["n_alerts", "first_alert_time", "service"], [False, True, True])


def rank_by_first_alert(anomalous: pd.DataFrame) -> pd.DataFrame:
    """Baseline: the service that alerted first first (ties: more alerts, name)."""
    return _baseline(anomalous, ["first_alert_time", "n_alerts", "service"], [True, False, True])


def top_k_hit(ranking: pd.DataFrame, truth: str, k: int) -> bool:
    """True when ``truth`` is among the first ``k`` services of a ranking."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k: must be a positive integer, got {k!r}")
    return truth in ranking["service"].head(k).tolist()
