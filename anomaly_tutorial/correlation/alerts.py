"""Alerts of every detector family on one timeline, under one alert budget.

Each family of data has its own detector, score and unit: an event, a metric point of one
service and minute, a log window of one service, a session of one source address. This module
puts them side by side on one dataset and one split:

* :func:`propagated_config` / :func:`propagated_dataset`: the dataset of the correlation
  chapter, the book's default configuration with ``propagate_incidents=True`` and more
  operations incidents (so that root cause is a real, repeated question), generated once per
  process;
* :func:`log_window_scores`: the log-window detector of the chapter "Log windows" (templates
  mined on training lines, template counts and rarity per window, Isolation Forest), here on
  5-minute windows *per service*, so that a log alert names the service it concerns;
* :func:`family_scores`: the four score tables (:data:`FAMILIES`), all with the columns
  :data:`~anomaly_tutorial.thresholds.book.SCORE_COLUMNS`;
* :func:`budget_alerts`: one shared alert budget (alerts per day, every family alike), each
  family's threshold chosen on the validation period by conformal p-values against its
  normal items (or with :class:`~anomaly_tutorial.thresholds.AlertBudget`) and applied to the
  test period;
* :func:`correlate`: the alerts of all families grouped into incidents by
  :func:`~anomaly_tutorial.thresholds.group_alerts`, keyed by the connected part of the call
  graph the alert's service belongs to (else by its entity) and by time.

Public objects: :data:`FAMILIES`, :data:`ALERT_COLUMNS`, :func:`propagated_config`,
:func:`propagated_dataset`, :func:`log_window_scores`, :func:`family_scores`,
:func:`budget_alerts`, :func:`correlate`, :class:`BudgetedAlerts`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial.correlation.graph import ServiceGraph
from anomaly_tutorial.data import GeneratorConfig, book_split
from anomaly_tutorial.data.anomalies import PROPAGATING_TYPES
from anomaly_tutorial.thresholds.book import SCORE_COLUMNS, book_dataset, book_scores, score_table
from anomaly_tutorial.thresholds.calibration import ConformalCalibrator
from anomaly_tutorial.thresholds.grouping import GroupedAlerts, group_alerts
from anomaly_tutorial.thresholds.policies import AlertBudget

__all__ = [
    "ALERT_COLUMNS",
    "FAMILIES",
    "BudgetedAlerts",
    "budget_alerts",
    "correlate",
    "family_scores",
    "log_window_scores",
    "propagated_config",
    "propagated_dataset",
]

FAMILIES = ("events", "metrics", "log windows", "sessions")
#: Columns of an alert table: the family, then the score-table columns.
ALERT_COLUMNS = ("family", *SCORE_COLUMNS)
#: Incidents of each propagating operations type in the correlation dataset (the default plan
#: has 3 of each).
OPS_INCIDENTS_PER_TYPE = 9
_UA_MASK = [(r'ua="[^"]*"', "ua=<*>")]


def propagated_config() -> GeneratorConfig:
    """The configuration of the correlation chapter's dataset.

    The book's default (14 days, 60,000 events, seed 7) with ``propagate_incidents=True`` and
    :data:`OPS_INCIDENTS_PER_TYPE` incidents of each operations type that propagates (latency
    spikes, database timeouts, 5xx bursts, cache miss storms); the other types keep the
    default plan.
    """
    return GeneratorConfig(
        propagate_incidents=True,
        incidents_per_type=dict.fromkeys(PROPAGATING_TYPES, OPS_INCIDENTS_PER_TYPE),
    )


def propagated_dataset() -> Any:
    """The dataset of :func:`propagated_config`, generated once per process."""
    return book_dataset(propagated_config())


def log_window_scores(dataset: Any, *, size: str = "5min", seed: int = 0) -> pd.DataFrame:
    """Scores of 5-minute log windows per service, fitted on the training period.

    The log lines of each service (``dst_endpoint.svc_name``, else the event class) are cut
    into fixed windows; templates are mined on the training lines (user agents masked, as in
    the chapter "Log windows"), every window gets its counts by severity, status and class,
    the rarity of its templates and its number of unseen templates, and one Isolation Forest
    (``logs.make_window_detector``, seeded) fitted on the training windows of all services
    scores the validation and test windows. A window is timed at its end, when it can first
    be scored.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~anomaly_tutorial.thresholds.book.SCORE_COLUMNS`, one row per
        validation or test window that holds at least one line; ``id`` is
        ``"<service>@<window start ms>"`` and ``entity`` the service.
    """
    from anomaly_tutorial import logs

    events = dataset.events
    split = book_split(dataset.config)
    cuts = [split.train_end_ms, split.validation_end_ms]
    in_train = events["time"].to_numpy() < cuts[0]
    miner = logs.TemplateMiner(line_masks=_UA_MASK).fit(events.loc[in_train, "message"])
    template_ids = miner.transform(events["message"])
    rarity = logs.TemplateRarity().fit(template_ids[in_train])
    source = events["dst_endpoint.svc_name"].fillna(events["class_name"]).astype(str)
    parts = []
    for service in sorted(source.unique()):
        rows = np.flatnonzero((source == service).to_numpy())
        part = events.iloc[rows]
        windows = logs.make_windows(part, size=size, origin=dataset.config.start_ms)
        features = pd.concat(
            [
                logs.window_counts(part, windows, columns=("severity_id", "status_id")),
                logs.window_rarity(rarity, template_ids[rows], windows),
            ],
            axis=1,
        )
        labels = logs.window_labels(part, windows)
        table = windows.table.join(labels).join(features[["n_events"]])
        table["service"] = service
        table["period"] = logs.assign_periods(windows, cuts)
        parts.append((table, features))
    table = pd.concat([t for t, _ in parts], ignore_index=True)
    features = pd.concat([f for _, f in parts], ignore_index=True).fillna(0)
    keep = (table["n_events"] > 0).to_numpy()
    train = keep & (table["period"] == "train").to_numpy()
    detector = logs.make_window_detector("isolation_forest", n_estimators=100, random_state=seed)
    detector.fit(features[train])
    scored = keep & table["period"].isin(["validation", "test"]).to_numpy()
    rows = table[scored]
    return score_table(
        id=(rows["service"] + "@" + rows["start"].astype(str)).to_numpy(),
        time=rows["end"].to_numpy() - 1,
        period=rows["period"].to_numpy(),
        score=detector.score_samples(features[scored]),
        is_anomaly=rows["is_anomaly"].to_numpy(),
        anomaly_type=rows["anomaly_type"].to_numpy(),
        incident_id=rows["incident_id"].to_numpy(),
        entity=rows["service"].to_numpy(),
        service=rows["service"].to_numpy(),
    ).sort_values(["time", "id"], kind="stable", ignore_index=True)


@functools.cache
def _family_scores(config: GeneratorConfig) -> dict[str, pd.DataFrame]:
    return {
        "events": book_scores("events", config),
        "metrics": book_scores("metrics", config),
        "log windows": log_window_scores(book_dataset(config)),
        "sessions": book_scores("sessions", config),
    }


def family_scores(config: GeneratorConfig | None = None) -> dict[str, pd.DataFrame]:
    """The validation and test score tables of the four families (:data:`FAMILIES`).

    Parameters
    ----------
    config : GeneratorConfig, optional
        Default: :func:`propagated_config`.

    Returns
    -------
    dict
        Family -> a fresh copy of its score table; the detectors are those of
        :func:`~anomaly_tutorial.thresholds.book_scores` (events, metrics, sessions) and
        :func:`log_window_scores`, each fitted on the training period only. Computed once
        per process and configuration.
    """
    config = propagated_config() if config is None else config
    if not isinstance(config, GeneratorConfig):
        raise TypeError(f"config: expected a GeneratorConfig, got {type(config).__name__}")
    return {k: v.copy() for k, v in _family_scores(config).items()}


@dataclass(frozen=True)
class BudgetedAlerts:
    """The result of :func:`budget_alerts`.

    Attributes
    ----------
    alerts : pandas.DataFrame
        The alerts of every family on the ``apply_to`` period, columns :data:`ALERT_COLUMNS`,
        in time order.
    decisions : dict
        Family -> what was chosen on the ``fit_on`` period, JSON-ready: ``method``,
        ``alerts_per_day`` (the budget), ``threshold`` (alert when ``score >= threshold``),
        ``alpha`` (conformal route: the p-value level) and ``reason`` (words).
    items : dict
        Family -> number of scored items on the ``apply_to`` period.
    """

    alerts: pd.DataFrame
    decisions: dict[str, dict[str, Any]]
    items: dict[str, int]


def _check_table(family: str, table: pd.DataFrame) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"tables[{family!r}]: expected a DataFrame, got {type(table).__name__}")
    missing = [c for c in SCORE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"tables[{family!r}]: missing column(s) {missing}")


def _conformal_threshold(
    scores: np.ndarray, normal: np.ndarray, period_days: float, alerts_per_day: int
) -> dict[str, Any]:
    calibration = ConformalCalibrator().fit(scores[normal])
    n = calibration.n_calibration_
    alpha = min(1.0, alerts_per_day * period_days / n)
    # p(s) <= alpha  <=>  at most alpha (n + 1) - 1 calibration scores are >= s
    allowed = int(np.floor(alpha * (n + 1) - 1))
    ordered = calibration.calibration_scores_[::-1]
    threshold = float(np.nextafter(ordered[allowed], np.inf)) if allowed < n else -np.inf
    if allowed < 0:
        threshold = np.inf
    return {
        "method": "conformal",
        "alerts_per_day": alerts_per_day,
        "alpha": alpha,
        "threshold": threshold,
        "reason": (
            f"conformal p-value <= {alpha:.3g} against the {n:,} normal items of the fitting "
            f"period ({n / period_days:,.0f} per day), so that normal traffic is expected to "
            f"raise {alerts_per_day} alerts per day"
        ),
    }


def budget_alerts(
    tables: Mapping[str, pd.DataFrame],
    *,
    alerts_per_day: int,
    days: Mapping[str, float],
    method: str = "conformal",
    fit_on: str = "validation",
    apply_to: str = "test",
) -> BudgetedAlerts:
    """One alert budget for every family: thresholds chosen on one period, applied to a later one.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Family -> score table (columns :data:`~anomaly_tutorial.thresholds.book.SCORE_COLUMNS`
        with rows of both periods), for instance :func:`family_scores`.
    alerts_per_day : int
        The budget, the same for every family.
    days : mapping
        Period lengths in days (``book_split().days``).
    method : {"conformal", "alert_budget"}
        ``"conformal"``: conformal p-values (:class:`~anomaly_tutorial.thresholds.
        ConformalCalibrator`) against the *normal* items of ``fit_on``, alerting at the level
        ``alpha = alerts_per_day / (normal items per day)``, so that the budget is the
        expected number of *false* alerts per day, whatever the family's unit.
        ``"alert_budget"``: :class:`~anomaly_tutorial.thresholds.AlertBudget`, no day of
        ``fit_on`` with more than ``alerts_per_day`` alerts, true ones included (a family
        whose incidents fill the budget on ``fit_on`` falls silent).
    fit_on, apply_to : str

    Raises
    ------
    ValueError
        No tables, a table without the score columns or without rows in one of the periods,
        a budget that is not a positive integer or an unknown method.
    """
    if not tables:
        raise ValueError("tables: give at least one family's score table")
    if (
        isinstance(alerts_per_day, bool)
        or not isinstance(alerts_per_day, int | np.integer)
        or alerts_per_day < 1
    ):
        raise ValueError(f"alerts_per_day: must be a positive integer, got {alerts_per_day!r}")
    if method not in ("conformal", "alert_budget"):
        raise ValueError(f"method: must be 'conformal' or 'alert_budget', got {method!r}")
    parts, decisions, items = [], {}, {}
    for family, table in tables.items():
        _check_table(family, table)
        fit_rows = table[table["period"] == fit_on]
        apply_rows = table[table["period"] == apply_to]
        if fit_rows.empty or apply_rows.empty:
            raise ValueError(f"tables[{family!r}]: no rows for period {fit_on!r} or {apply_to!r}")
        scores = fit_rows["score"].to_numpy()
        y = fit_rows["is_anomaly"].to_numpy(dtype=bool)
        if method == "conformal":
            if y.all():
                raise ValueError(f"tables[{family!r}]: no normal item on {fit_on!r} to calibrate")
            decision = _conformal_threshold(scores, ~y, days[fit_on], int(alerts_per_day))
        else:
            policy = AlertBudget(int(alerts_per_day), "day").fit(
                scores, y, times=fit_rows["time"].to_numpy(), period_days=days[fit_on]
            )
            decision = {
                "method": "alert_budget",
                "alerts_per_day": int(alerts_per_day),
                "alpha": None,
                "threshold": float(policy.decision_.threshold),
                "reason": policy.decision_.reason,
            }
        decisions[family] = decision
        items[family] = len(apply_rows)
        flagged = apply_rows[apply_rows["score"].to_numpy() >= decision["threshold"]]
        parts.append(flagged.assign(family=family))
    alerts = pd.concat(parts, ignore_index=True)[list(ALERT_COLUMNS)]
    alerts["family"] = alerts["family"].astype("string")
    alerts = alerts.sort_values(["time", "family", "id"], kind="stable", ignore_index=True)
    return BudgetedAlerts(alerts, decisions, items)


def correlate(
    alerts: pd.DataFrame, graph: ServiceGraph, *, max_gap_s: float = 900.0
) -> GroupedAlerts:
    """Group the alerts of all families into incidents by call-graph component, entity and time.

    An alert whose service is in the call graph is keyed by the connected part of the graph
    it belongs to (:meth:`ServiceGraph.components`): a slow database and its callers' alerts
    share one key, so they can form one incident. Any other alert (a session, a login) is
    keyed by its entity. Alerts of the same key at most ``max_gap_s`` apart chain into one
    incident (:func:`~anomaly_tutorial.thresholds.group_alerts`); the same item flagged
    twice counts once.

    Returns
    -------
    GroupedAlerts
        Its ``alerts`` have the input columns plus ``component`` and the grouping columns.

    Raises
    ------
    ValueError
        An alert table without the columns :data:`ALERT_COLUMNS` or without any row.
    """
    if not isinstance(alerts, pd.DataFrame):
        raise TypeError(f"alerts: expected a pandas DataFrame, got {type(alerts).__name__}")
    missing = [c for c in ALERT_COLUMNS if c not in alerts.columns]
    if missing:
        raise ValueError(f"alerts: missing column(s) {missing}")
    if alerts.empty:
        raise ValueError("alerts: no alerts to correlate (the table is empty)")
    component = graph.components()
    frame = alerts.copy()
    frame["component"] = pd.array(
        [component.get(s) if isinstance(s, str) else None for s in frame["service"]],
        dtype="string",
    )
    return group_alerts(
        frame,
        key=("component", "entity"),
        max_gap_s=max_gap_s,
        dedup_on=("family", "id"),
    )
