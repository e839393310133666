"""Per-incident detection: was each incident caught, and how long after it started?

An incident is a group of labelled events (or metric points) sharing an ``incident_id``. It is
detected when at least one of its own events raised an alert; the delay runs from the
incident's first event to the first alert on one of its events.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial.evaluate.alignment import IdAlignmentError, align_values
from anomaly_tutorial.evaluate.metrics import as_alerts
from anomaly_tutorial.ocsf import ID_COLUMN

__all__ = ["incident_detection", "incident_summary"]


def _times_for(times: pd.Series, ids: pd.Index) -> np.ndarray:
    if not isinstance(times, pd.Series):
        raise TypeError(
            f"times must be a pandas Series of epoch milliseconds indexed by id, got "
            f"{type(times).__name__}"
        )
    if not pd.api.types.is_numeric_dtype(times.dtype) or pd.api.types.is_bool_dtype(times.dtype):
        raise TypeError(f"times must be numeric epoch milliseconds, got dtype {times.dtype}")
    dup = times.index[times.index.duplicated()]
    if len(dup):
        raise IdAlignmentError(
            f"times: {len(dup)} duplicated id(s), e.g. {', '.join(map(repr, dup.unique()[:5]))}"
        )
    positions = times.index.get_indexer(ids)
    present = positions >= 0
    if not present.all():
        missing = ids[~present]
        raise IdAlignmentError(
            f"times: {int((~present).sum())} id(s) have no time, "
            f"e.g. {', '.join(map(repr, missing[:5]))}"
        )
    values = times.to_numpy(dtype=float, na_value=np.nan)[positions]
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"times: {int(bad.sum())} value(s) are missing or infinite "
            f"(ids {', '.join(map(repr, ids[bad][:5]))})"
        )
    return values


def incident_detection(
    alerts: pd.Series,
    labels: pd.DataFrame,
    times: pd.Series,
    *,
    allow_subset: bool = False,
    id_column: str = ID_COLUMN,
    label_column: str = "is_anomaly",
    incident_column: str = "incident_id",
) -> pd.DataFrame:
    """Detection and delay for every incident.

    Parameters
    ----------
    alerts : pandas.Series of bool
        True where the detector alerted, indexed by id (event ids, metric-point ids: any
        hashable).
    labels : pandas.DataFrame
        Label table with ``id_column`` (or indexed by id), ``label_column`` and
        ``incident_column`` (missing for events outside any incident).
    times : pandas.Series
        Epoch milliseconds indexed by id; must cover every aligned id (extra ids are ignored).
    allow_subset, id_column, label_column
        As in :func:`~anomaly_tutorial.evaluate.alignment.align`. With ``allow_subset=True``
        an incident counts only the events that received an alert decision.
    incident_column : str, default "incident_id"
        Column grouping events into incidents.

    Returns
    -------
    pandas.DataFrame
        Index ``incident_id`` (ordered by start time), columns ``n_events``, ``detected``
        (bool), ``first_event_time`` and ``first_alert_time`` (epoch ms; nullable ``Int64`` when
        ``times`` are integers, the latter missing when undetected), ``delay_s`` (seconds,
        NaN when undetected) and ``anomaly_type`` when the labels have it (type of the
        incident's first event).
    """
    flags = as_alerts(alerts)
    frame = align_values(
        flags,
        labels,
        value_column="alert",
        name="alerts",
        id_column=id_column,
        label_column=label_column,
        allow_subset=allow_subset,
    )
    if incident_column not in frame.columns:
        raise ValueError(f"labels: no {incident_column!r} column to group events into incidents")
    frame["time"] = _times_for(times, frame.index)
    events = frame[frame[incident_column].notna()]
    columns = ["n_events", "detected", "first_event_time", "first_alert_time", "delay_s"]
    if events.empty:
        out = pd.DataFrame(columns=columns)
        out.index.name = incident_column
        return out
    events = events.sort_values("time", kind="stable")
    groups = events.groupby(incident_column, sort=False)
    first_event = groups["time"].min()
    alert_times = events["time"].where(events["alert"])
    first_alert = alert_times.groupby(events[incident_column], sort=False).min()
    out = pd.DataFrame(
        {
            "n_events": groups.size(),
            "detected": groups["alert"].any().astype(bool),
            "first_event_time": first_event,
            "first_alert_time": first_alert,
        }
    )
    out["delay_s"] = (out["first_alert_time"] - out["first_event_time"]) / 1000.0
    if pd.api.types.is_integer_dtype(times.dtype):
        for column in ("first_event_time", "first_alert_time"):
            out[column] = out[column].round().astype("Int64")
    if "anomaly_type" in events.columns:
        out["anomaly_type"] = groups["anomaly_type"].first()
    out = out.sort_values("first_event_time", kind="stable")
    out.index.name = incident_column
    return out


def incident_summary(incidents: pd.DataFrame) -> dict[str, Any]:
    """Headline numbers of an :func:`incident_detection` table.

    Returns
    -------
    dict
        ``n_incidents``, ``n_detected``, ``incident_recall`` (share detected; NaN when there
        are no incidents) and ``median_delay_s`` over detected incidents (NaN when none).
    """
    required = {"detected", "delay_s"}
    if not isinstance(incidents, pd.DataFrame) or not required <= set(incidents.columns):
        raise ValueError(
            "incident_summary expects the DataFrame returned by incident_detection "
            f"(columns {sorted(required)} needed)"
        )
    n = len(incidents)
    detected = incidents["detected"].astype(bool)
    delays = incidents.loc[detected, "delay_s"].astype(float)
    return {
        "n_incidents": int(n),
        "n_detected": int(detected.sum()),
        "incident_recall": float(detected.mean()) if n else float("nan"),
        "median_delay_s": float(delays.median()) if len(delays) else float("nan"),
    }
