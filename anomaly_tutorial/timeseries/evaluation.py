"""Point-wise and event-wise evaluation of metric detectors.

Point-wise metrics (ROC-AUC, PR-AUC, precision/recall/F1 of the alerts) treat every time point
as a sample. Operators care about incidents instead: was each anomaly *event* caught, and how
long after it began? The incident part uses
:func:`anomaly_tutorial.evaluate.incident_detection` with time points as ids; this module adds
what is specific to time series: alert runs (consecutive alerted points) and the number of
false-alarm runs, i.e. alert runs that touch no labelled anomaly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial.evaluate import (
    evaluate_scores,
    incident_detection,
    incident_summary,
    prf_at_threshold,
)
from anomaly_tutorial.timeseries._input import as_series_frame, to_epoch_ms
from anomaly_tutorial.timeseries.base import BaseSeriesDetector

__all__ = [
    "alert_runs",
    "evaluate_detector",
    "evaluate_series_alerts",
    "event_metrics",
    "incidents_by_type",
]


def alert_runs(alerts: pd.Series) -> pd.DataFrame:
    """Maximal runs of consecutive alerted points.

    Parameters
    ----------
    alerts : pandas.Series of bool or 0/1
        Alert flags in time order.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``start_pos``, ``end_pos`` (inclusive), ``start``, ``end`` (index
        labels) and ``length``.
    """
    flags = np.asarray(alerts, dtype=bool)
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2] - 1
    return pd.DataFrame(
        {
            "start_pos": starts,
            "end_pos": ends,
            "start": alerts.index[starts],
            "end": alerts.index[ends],
            "length": ends - starts + 1,
        }
    )


def event_metrics(alerts: pd.Series, labels: pd.DataFrame) -> dict[str, Any]:
    """Event-wise scores of alerts: incidents detected, delays and false-alarm runs.

    Unlike the point-wise metrics this also works on a stretch without any incident (then
    ``incident_recall`` is NaN and only the false alarms count).

    Parameters
    ----------
    alerts : pandas.Series
        Alert flags (bool or 0/1) indexed by time.
    labels : pandas.DataFrame
        Indexed like ``alerts``, with ``is_anomaly`` and ``incident_id``.

    Returns
    -------
    dict
        ``n_incidents``, ``n_detected``, ``incident_recall``, ``median_delay_s``,
        ``n_alert_runs`` and ``n_false_alarm_runs`` (alert runs touching no labelled point).
    """
    if not alerts.index.equals(labels.index):
        raise ValueError("alerts and labels must share the same time index")
    times = pd.Series(to_epoch_ms(alerts.index, "alerts"), index=alerts.index)
    incidents = incident_detection(alerts.astype(bool), labels, times)
    summary = incident_summary(incidents)
    y = labels["is_anomaly"].to_numpy(dtype=np.int64)
    runs = alert_runs(alerts)
    positive = np.concatenate([[0], np.cumsum(y)])
    hits = positive[runs["end_pos"].to_numpy() + 1] - positive[runs["start_pos"].to_numpy()]
    return {
        "n_incidents": summary["n_incidents"],
        "n_detected": summary["n_detected"],
        "incident_recall": summary["incident_recall"],
        "median_delay_s": summary["median_delay_s"],
        "n_alert_runs": len(runs),
        "n_false_alarm_runs": int((hits == 0).sum()),
    }


def evaluate_series_alerts(
    scores: pd.Series, alerts: pd.Series, labels: pd.DataFrame
) -> dict[str, Any]:
    """Point-wise and event-wise scores of one detector on one labelled stretch.

    Parameters
    ----------
    scores : pandas.Series
        Anomaly scores indexed by time.
    alerts : pandas.Series
        Alert flags (bool or 0/1) with the same index.
    labels : pandas.DataFrame
        Indexed by the same times, with ``is_anomaly`` and ``incident_id`` (as returned by
        :func:`~anomaly_tutorial.timeseries.synthetic.segments_to_labels`, or the label columns
        of ``default_dataset().metrics`` for one service). Both classes must be present.

    Returns
    -------
    dict
        ``roc_auc``, ``pr_auc``, ``base_rate``, ``precision``, ``recall``, ``f1`` (of the
        alerts) and the entries of :func:`event_metrics`.
    """
    if not scores.index.equals(alerts.index) or not scores.index.equals(labels.index):
        raise ValueError("scores, alerts and labels must share the same time index")
    point = evaluate_scores(scores, labels)
    y = labels["is_anomaly"].to_numpy(dtype=np.int64)
    prf = prf_at_threshold(y, alerts.to_numpy(dtype=bool).astype(np.float64), 0.5)
    return {
        "roc_auc": point["roc_auc"],
        "pr_auc": point["pr_auc"],
        "base_rate": point["base_rate"],
        "precision": prf["precision"],
        "recall": prf["recall"],
        "f1": prf["f1"],
        **event_metrics(alerts, labels),
    }


def evaluate_detector(
    detector: BaseSeriesDetector, X: pd.Series | pd.DataFrame, labels: pd.DataFrame
) -> dict[str, Any]:
    """Score a fitted detector on ``X`` and evaluate it with :func:`evaluate_series_alerts`.

    Parameters
    ----------
    detector : BaseSeriesDetector
        Already fitted on a training stretch that precedes ``X``.
    X : pandas.Series or pandas.DataFrame
        The held-out stretch.
    labels : pandas.DataFrame
        Labels indexed like ``X``.

    Returns
    -------
    dict
    """
    frame = as_series_frame(X, "X")
    scores = pd.Series(detector.score_samples(X), index=frame.index)
    alerts = pd.Series(scores.to_numpy() > detector.threshold_, index=frame.index)
    return evaluate_series_alerts(scores, alerts, labels)


def incidents_by_type(alerts: pd.Series, labels: pd.DataFrame) -> pd.DataFrame:
    """Incident recall and detection delay per anomaly type.

    Parameters
    ----------
    alerts : pandas.Series
        Alert flags (bool or 0/1) indexed by time.
    labels : pandas.DataFrame
        Indexed like ``alerts`` with ``is_anomaly``, ``incident_id`` and ``anomaly_type``.

    Returns
    -------
    pandas.DataFrame
        Index ``anomaly_type``; columns ``n_incidents``, ``n_detected``, ``incident_recall`` and
        ``median_delay_s`` (over detected incidents, NaN when none).
    """
    if "anomaly_type" not in labels.columns:
        raise ValueError("labels: an 'anomaly_type' column is needed to group incidents by type")
    if not alerts.index.equals(labels.index):
        raise ValueError("alerts and labels must share the same time index")
    times = pd.Series(to_epoch_ms(alerts.index, "alerts"), index=alerts.index)
    table = incident_detection(alerts.astype(bool), labels, times)
    grouped = table.groupby("anomaly_type", sort=True)
    out = pd.DataFrame(
        {
            "n_incidents": grouped.size(),
            "n_detected": grouped["detected"].sum().astype(int),
        }
    )
    out["incident_recall"] = out["n_detected"] / out["n_incidents"]
    out["median_delay_s"] = table[table["detected"]].groupby("anomaly_type")["delay_s"].median()
    return out
