"""Correlated alerts against the generator's ground truth.

Every measure here is per *incident* of the ground truth (the generator's incidents table),
on one period (the test period of :func:`~anomaly_tutorial.data.book_split`):

* :func:`incident_truth`: the incidents that start in the period, with their root-cause
  service;
* :func:`family_report`: for each family alone and for the correlated view, the alerts per
  day, the alert groups per day, incident precision (share of alert groups that contain an
  alert of a real incident), incident recall (share of incidents with at least one alert) and
  the median detection delay (first alert after the incident's start);
* :func:`detection_by_type`: which family catches which incident type, and how early;
* :func:`candidates_of` and :func:`root_cause_report`: the anomalous services of each
  correlated incident, ranked by :func:`~anomaly_tutorial.correlation.rank_root_causes` and by
  the two baselines, against the service where the incident was injected (top-1 and top-3).

An alert belongs to an incident when the ground truth of the item it flags carries that
incident's id (an event, a metric point, a log window's dominant incident, a session's first
incident); a metric point is timed at the end of its interval, when it can first be scored.

Public objects: :func:`incident_truth`, :func:`family_report`, :func:`detection_by_type`,
:func:`candidates_of`, :func:`root_cause_report`, :func:`root_cause_accuracy`,
:func:`choose_min_alerts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial.correlation.alerts import ALERT_COLUMNS, BudgetedAlerts, correlate
from anomaly_tutorial.correlation.graph import ServiceGraph
from anomaly_tutorial.correlation.rootcause import (
    rank_by_alert_count,
    rank_by_first_alert,
    rank_root_causes,
)
from anomaly_tutorial.data import book_split
from anomaly_tutorial.thresholds.grouping import GroupedAlerts

__all__ = [
    "CORRELATED",
    "candidates_of",
    "choose_min_alerts",
    "detection_by_type",
    "family_report",
    "incident_truth",
    "root_cause_accuracy",
    "root_cause_report",
]

#: Row name of the correlated view (all families pooled) in the reports.
CORRELATED = "correlated (all families)"
#: Rankings compared by :func:`root_cause_report`: :func:`~anomaly_tutorial.correlation.
#: rank_root_causes` and the baselines :func:`~anomaly_tutorial.correlation.rank_by_alert_count`
#: and :func:`~anomaly_tutorial.correlation.rank_by_first_alert`.
RANKINGS = ("call graph", "most alerts", "first alert")


def incident_truth(dataset: Any, period: str = "test") -> pd.DataFrame:
    """The ground-truth incidents that start in one period of the book split.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``incident_id``: ``anomaly_type``, ``domain``, ``start_time``,
        ``end_time``, ``root_cause_service`` (``service`` for a dataset generated without
        propagation) and ``affected_services`` (empty without propagation).
    """
    split = book_split(dataset.config)
    incidents = dataset.incidents
    period_of = split.period_of(incidents["start_time"].to_numpy())
    out = incidents[period_of == period].set_index("incident_id")
    if "root_cause_service" not in out.columns:
        out = out.assign(root_cause_service=out["service"], affected_services="")
    columns = [
        "anomaly_type",
        "domain",
        "start_time",
        "end_time",
        "root_cause_service",
        "affected_services",
    ]
    return out[columns].copy()


def _alert_times(alerts: pd.DataFrame, lag_ms: Mapping[str, int]) -> np.ndarray:
    shift = alerts["family"].map(lambda f: lag_ms.get(f, 0)).to_numpy(dtype="int64")
    return alerts["time"].to_numpy(dtype="int64") + shift


def _caught(alerts: pd.DataFrame, truth: pd.DataFrame, lag_ms: Mapping[str, int]) -> pd.Series:
    """First alert time per caught truth incident."""
    hit = alerts[alerts["incident_id"].isin(truth.index)]
    times = pd.Series(_alert_times(hit, lag_ms), index=hit.index)
    return times.groupby(hit["incident_id"].to_numpy()).min()


def _check_alerts(alerts: pd.DataFrame) -> None:
    missing = [c for c in ALERT_COLUMNS if c not in alerts.columns]
    if missing:
        raise ValueError(f"alerts: missing column(s) {missing}")


def family_report(
    budgeted: BudgetedAlerts,
    truth: pd.DataFrame,
    graph: ServiceGraph,
    *,
    period_days: float,
    max_gap_s: float = 900.0,
    lag_ms: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Incident-level cost and catch of each family alone and of all families correlated.

    Parameters
    ----------
    budgeted : BudgetedAlerts
        :func:`~anomaly_tutorial.correlation.budget_alerts` on the period of ``truth``.
    truth : pandas.DataFrame
        :func:`incident_truth` of that period.
    graph : ServiceGraph
        Call graph used to group alerts (:func:`~anomaly_tutorial.correlation.correlate`).
    period_days : float
        Length of the period in days.
    max_gap_s : float
        Gap that chains alerts into one alert group.
    lag_ms : mapping, optional
        Family -> delay between an item's time and when it can be scored; default: one
        minute for metric points (a point summarises the minute that follows its time).

    Returns
    -------
    pandas.DataFrame
        One row per family and one for the correlated view: ``alerts_per_day``,
        ``false_alerts_per_day`` (alerts on items of no incident), ``groups_per_day``,
        ``incident_precision`` (NaN without alerts), ``incidents_caught``, ``n_incidents``,
        ``incident_recall`` and ``median_delay_min`` (NaN when nothing is caught).
    """
    lag_ms = {"metrics": 60_000} if lag_ms is None else dict(lag_ms)
    alerts = budgeted.alerts
    _check_alerts(alerts)
    rows = {}
    views = [(f, alerts[alerts["family"] == f]) for f in budgeted.decisions]
    for name, part in [*views, (CORRELATED, alerts)]:
        if part.empty:
            n_groups, true_groups = 0, 0
        else:
            grouped = correlate(part, graph, max_gap_s=max_gap_s)
            true_groups = int(grouped.alerts.groupby("incident")["is_anomaly"].any().sum())
            n_groups = len(grouped.incidents)
        first = _caught(part, truth, lag_ms)
        delay = (first - truth.loc[first.index, "start_time"]) / 60_000
        rows[name] = {
            "alerts_per_day": len(part) / period_days,
            "false_alerts_per_day": int((~part["is_anomaly"].to_numpy(dtype=bool)).sum())
            / period_days,
            "groups_per_day": n_groups / period_days,
            "incident_precision": true_groups / n_groups if n_groups else float("nan"),
            "incidents_caught": len(first),
            "n_incidents": len(truth),
            "incident_recall": len(first) / len(truth) if len(truth) else float("nan"),
            "median_delay_min": float(delay.median()) if len(delay) else float("nan"),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "alerts of"
    return out


def detection_by_type(
    budgeted: BudgetedAlerts, truth: pd.DataFrame, lag_ms: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Which family catches which incident type, and how early.

    Returns
    -------
    pandas.DataFrame
        One row per (``anomaly_type``, ``family``), the correlated view included:
        ``n_incidents``, ``caught``, ``recall`` and ``median_delay_min``.
    """
    lag_ms = {"metrics": 60_000} if lag_ms is None else dict(lag_ms)
    alerts = budgeted.alerts
    _check_alerts(alerts)
    rows = []
    families = [*budgeted.decisions, CORRELATED]
    for kind, incidents in truth.groupby("anomaly_type", sort=True):
        for family in families:
            part = alerts if family == CORRELATED else alerts[alerts["family"] == family]
            first = _caught(part, incidents, lag_ms)
            delay = (first - incidents.loc[first.index, "start_time"]) / 60_000
            rows.append(
                {
                    "anomaly_type": kind,
                    "family": family,
                    "n_incidents": len(incidents),
                    "caught": len(first),
                    "recall": len(first) / len(incidents),
                    "median_delay_min": float(delay.median()) if len(delay) else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def candidates_of(alerts: pd.DataFrame, graph: ServiceGraph) -> pd.DataFrame:
    """The anomalous services of a group of alerts: one row per service of the call graph.

    Returns
    -------
    pandas.DataFrame
        ``service``, ``first_alert_time``, ``n_alerts`` (duplicates excluded when the alerts
        come from :func:`~anomaly_tutorial.correlation.correlate`) and ``families``
        (comma-separated), sorted by first alert; empty when no alert names a service of
        the graph.
    """
    part = alerts
    if "duplicate" in part.columns:
        part = part[~part["duplicate"].to_numpy(dtype=bool)]
    part = part[part["service"].isin(graph.services)]
    columns = ["service", "first_alert_time", "n_alerts", "families"]
    if part.empty:
        return pd.DataFrame(columns=columns)
    groups = part.groupby(part["service"].astype(str), sort=True)
    out = pd.DataFrame(
        {
            "first_alert_time": groups["time"].min().astype("int64"),
            "n_alerts": groups.size().astype("int64"),
            "families": groups["family"].agg(lambda f: ",".join(sorted(set(f)))),
        }
    )
    out = out.rename_axis("service").reset_index()
    return out.sort_values(["first_alert_time", "service"], kind="stable", ignore_index=True)


def _located_incidents(
    correlated: GroupedAlerts, truth: pd.DataFrame, graph: ServiceGraph
) -> list[tuple[str, pd.Series, int, pd.DataFrame]]:
    """(incident id, truth row, correlated incident, candidates) per caught operations incident."""
    alerts = correlated.alerts
    kept = alerts[~alerts["duplicate"].to_numpy(dtype=bool)]
    ids = kept["incident_id"].astype(object).where(kept["incident_id"].notna(), None).to_numpy()
    group_of = kept["incident"].to_numpy()
    times = kept["time"].to_numpy(dtype="float64")
    in_graph = kept["service"].isin(graph.services).to_numpy(dtype=bool)
    in_graph_truth = truth["root_cause_service"].isin(graph.services)
    ops = truth[(truth["domain"] == "operations") & in_graph_truth]
    candidates: dict[int, pd.DataFrame] = {}
    out = []
    for incident_id, info in ops.iterrows():
        own = ids == incident_id
        if not own.any():
            continue
        if (own & in_graph).any():
            own &= in_graph
        groups, counts = np.unique(group_of[own], return_counts=True)
        first = np.array([times[own & (group_of == g)].min() for g in groups])
        group = int(groups[np.lexsort((first, -counts))[0]])
        if group not in candidates:
            candidates[group] = candidates_of(kept[group_of == group], graph)
        out.append((str(incident_id), info, group, candidates[group]))
    return out


def _ranked(
    located: list[tuple[str, pd.Series, int, pd.DataFrame]], graph: ServiceGraph, min_alerts: int
) -> pd.DataFrame:
    rows = {}
    for incident_id, info, group, candidates in located:
        row: dict[str, Any] = {
            "anomaly_type": info["anomaly_type"],
            "root_cause_service": info["root_cause_service"],
            "correlated_incident": group,
            "n_candidates": len(candidates),
            "candidates": ",".join(candidates["service"]),
        }
        rankings = {}
        if len(candidates):
            rankings = {
                "call graph": rank_root_causes(candidates, graph, min_alerts=min_alerts),
                "most alerts": rank_by_alert_count(candidates),
                "first alert": rank_by_first_alert(candidates),
            }
        for name in RANKINGS:
            ranking = rankings.get(name)
            where = (
                np.flatnonzero(ranking["service"].to_numpy() == info["root_cause_service"])
                if ranking is not None
                else []
            )
            row[f"{name} rank"] = float(where[0] + 1) if len(where) else float("nan")
            row[f"{name} top"] = ranking["service"].iloc[0] if ranking is not None else None
        row["explanation"] = (
            rankings["call graph"]["explanation"].iloc[0] if rankings else "no service alerted"
        )
        rows[incident_id] = row
    columns = [
        "anomaly_type",
        "root_cause_service",
        "correlated_incident",
        "n_candidates",
        "candidates",
    ]
    columns += [f"{name} {what}" for name in RANKINGS for what in ("rank", "top")]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=[*columns, "explanation"])
    out.index.name = "incident_id"
    return out


def root_cause_report(
    correlated: GroupedAlerts, truth: pd.DataFrame, graph: ServiceGraph, *, min_alerts: int = 1
) -> pd.DataFrame:
    """Root-cause rankings of the correlated incidents against the injected service.

    For every operations incident of ``truth`` with at least one alert, the correlated
    incident holding most of its alerts that name a service of the graph (ties: the one
    whose first such alert is earliest; all its alerts when none names a service) is ranked by
    the call-graph method (with ``min_alerts``, see
    :func:`~anomaly_tutorial.correlation.rank_root_causes`) and by the two baselines.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``incident_id``: ``anomaly_type``, ``root_cause_service``,
        ``correlated_incident``, ``n_candidates``, ``candidates`` (in first-alert order),
        for each ranking of :data:`RANKINGS` the rank of the true service (NaN when it
        raised no alert) and its top candidate (``"<name> top"``), and ``explanation`` (the
        call-graph method's words for its top candidate).
    """
    return _ranked(_located_incidents(correlated, truth, graph), graph, min_alerts)


def root_cause_accuracy(report: pd.DataFrame, ks: tuple[int, ...] = (1, 3)) -> pd.DataFrame:
    """Top-k accuracy of each ranking in a :func:`root_cause_report` (rows: rankings)."""
    if report.empty:
        raise ValueError("report: no incident to score (was any operations incident caught?)")
    out = {
        name: {f"top-{k}": float((report[f"{name} rank"] <= k).mean()) for k in ks}
        for name in RANKINGS
    }
    frame = pd.DataFrame.from_dict(out, orient="index")
    frame.index.name = "ranking"
    frame["n_incidents"] = len(report)
    return frame


def choose_min_alerts(
    correlated: GroupedAlerts,
    truth: pd.DataFrame,
    graph: ServiceGraph,
    candidates: tuple[int, ...] = (1, 2, 3, 5, 10),
) -> tuple[int, pd.DataFrame]:
    """Choose ``min_alerts`` of the call-graph ranking on one period (the validation period).

    Returns the value with the best top-1 accuracy (ties: the best top-3, then the smallest
    value) and the table of every candidate's accuracies (index ``min_alerts``).
    """
    if not candidates:
        raise ValueError("candidates: give at least one value of min_alerts")
    located = _located_incidents(correlated, truth, graph)
    rows = {}
    for value in candidates:
        rows[value] = root_cause_accuracy(_ranked(located, graph, value)).loc["call graph"]
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "min_alerts"
    best = table.sort_values(["top-1", "top-3"], ascending=False, kind="stable").index[0]
    return int(best), table
