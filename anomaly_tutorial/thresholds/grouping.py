"""From alerts to incidents: what an on-call person is actually paged for.

A detector alerts on items (events, metric points, sessions). A burst of failed logins from
one address is fifty alerts but one problem. :func:`group_alerts` groups alerts into incidents
by a key (the entity or service they concern) and a maximum gap in time, removes duplicates
(the same item reported twice), and applies a cool-down between two pages for the same key.

Public objects: :func:`group_alerts`, :class:`GroupedAlerts`, :func:`daily_counts`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["GroupedAlerts", "daily_counts", "group_alerts"]


@dataclass(frozen=True)
class GroupedAlerts:
    """The result of :func:`group_alerts`.

    Attributes
    ----------
    alerts : pandas.DataFrame
        The input alerts in their input order, every row kept, with ``key`` (the grouping
        value), ``key_field`` (the column it came from), ``duplicate`` (True for a repeat of
        an earlier alert, not counted) and ``incident`` (integer id, in order of start time).
    incidents : pandas.DataFrame
        One row per incident, index ``incident``: ``key``, ``key_field``, ``start_time``,
        ``end_time`` (epoch ms), ``n_alerts`` (without duplicates), ``n_duplicates``,
        ``max_score`` (when a score column was given) and ``paged`` (False when the key was
        paged less than ``cooldown_s`` before the incident started).
    """

    alerts: pd.DataFrame
    incidents: pd.DataFrame

    @property
    def n_pages(self) -> int:
        """Incidents that paged someone."""
        return int(self.incidents["paged"].sum())


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: must be a number of seconds, got {value!r}")
    if not (np.isfinite(float(value)) and float(value) >= 0):
        raise ValueError(f"{name}: must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def _keys(alerts: pd.DataFrame, key: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    values = np.full(len(alerts), None, dtype=object)
    fields = np.full(len(alerts), None, dtype=object)
    for column in key:
        column_values = alerts[column]
        present = column_values.notna().to_numpy() & pd.isna(values)
        values[present] = column_values.to_numpy(dtype=object)[present]
        fields[present] = column
    missing = pd.isna(values)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"alerts: row {alerts.index[i]!r} has no value in any key column {list(key)}; "
            "give it one (for instance the service) so that it can be grouped"
        )
    return values.astype(str), fields


def group_alerts(
    alerts: pd.DataFrame,
    *,
    key: str | Sequence[str],
    max_gap_s: float = 1800.0,
    cooldown_s: float = 0.0,
    time_column: str = "time",
    dedup_on: Sequence[str] | None = None,
    score_column: str | None = "score",
) -> GroupedAlerts:
    """Group alerts into incidents by key and gap in time, with de-duplication and cool-down.

    Parameters
    ----------
    alerts : pandas.DataFrame
        One row per alert, with ``time_column`` (epoch milliseconds) and the key column(s).
    key : str or sequence of str
        The column(s) that say what an alert is about. With several columns, each alert uses
        the first that is not missing, in order: ``("actor.user.name", "src_endpoint.ip",
        "service")`` groups by user, else source address, else service. Alerts with
        different key *columns* never share an incident.
    max_gap_s : float, default 1800
        Two consecutive alerts of the same key belong to the same incident when they are at
        most this many seconds apart (chaining: an incident lasts as long as its alerts keep
        coming).
    cooldown_s : float, default 0
        Minimum time between two pages for the same key: an incident that starts less than
        this many seconds after the key's last page is kept but marked ``paged=False``.
    time_column : str, default "time"
    dedup_on : sequence of str, optional
        Columns that identify the same alert reported twice (for instance ``("id",)`` when two
        detectors or overlapping windows flag the same item). Default: the key and the time.
        Duplicates stay in the output, marked, and are not counted.
    score_column : str or None, default "score"
        Column whose maximum per incident is reported (ignored when absent).

    Returns
    -------
    GroupedAlerts

    Raises
    ------
    ValueError
        A missing column, a time that is missing or not a number, a row without any key
        value (the message names the row), or a negative gap or cool-down.

    Examples
    --------
    >>> import pandas as pd
    >>> alerts = pd.DataFrame({"time": [0, 60_000, 7_200_000], "user": ["a", "a", "a"]})
    >>> group_alerts(alerts, key="user", max_gap_s=600).incidents["n_alerts"].tolist()
    [2, 1]
    """
    if not isinstance(alerts, pd.DataFrame):
        raise TypeError(f"alerts: expected a pandas DataFrame, got {type(alerts).__name__}")
    keys = [key] if isinstance(key, str) else list(key)
    if not keys:
        raise ValueError("key: give at least one column")
    gap_ms = 1000.0 * _seconds(max_gap_s, "max_gap_s")
    cooldown_ms = 1000.0 * _seconds(cooldown_s, "cooldown_s")
    dedup = [*keys, time_column] if dedup_on is None else list(dedup_on)
    needed = [time_column, *keys, *dedup]
    missing = [c for c in dict.fromkeys(needed) if c not in alerts.columns]
    if missing:
        raise ValueError(f"alerts: missing column(s) {missing}")
    times = alerts[time_column]
    if pd.api.types.is_bool_dtype(times) or not pd.api.types.is_numeric_dtype(times):
        raise ValueError(f"alerts: {time_column!r} must be numeric epoch milliseconds")
    t = times.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(t)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"alerts: row {alerts.index[i]!r} has no valid {time_column!r}")
    key_values, key_fields = _keys(alerts, keys)

    n = len(alerts)
    out = alerts.copy()
    out["key"], out["key_field"] = key_values, key_fields
    if n:
        codes = alerts.groupby(dedup, dropna=False, sort=False).ngroup().to_numpy()
        first_of = np.unique(codes, return_index=True)[1][codes]
    else:
        first_of = np.zeros(0, dtype="int64")
    duplicate = np.arange(n) != first_of
    out["duplicate"] = duplicate
    # New incident: first kept alert of a key, or a kept alert more than max_gap after the
    # previous kept alert of the same key. Duplicates join the incident of their original.
    group_key = np.asarray([f"{f}\x00{v}" for f, v in zip(key_fields, key_values, strict=True)])
    kept = np.flatnonzero(~duplicate)
    order = kept[np.lexsort((t[kept], group_key[kept]))]
    gk, tk = group_key[order], t[order]
    new = np.r_[True, (gk[1:] != gk[:-1]) | (np.diff(tk) > gap_ms)] if gk.size else []
    incident = np.full(n, -1, dtype="int64")
    incident[order] = np.cumsum(new) - 1
    incident[duplicate] = incident[first_of[duplicate]]
    out["incident"] = incident

    columns = ["key", "key_field", "start_time", "end_time", "n_alerts", "n_duplicates"]
    if n == 0:
        incidents = pd.DataFrame(columns=[*columns, "paged"])
        incidents.index.name = "incident"
        out["incident"] = out["incident"].astype("int64")
        return GroupedAlerts(out, incidents)
    originals = pd.DataFrame(
        {
            "incident": incident[kept],
            "time": t[kept],
            "key": key_values[kept],
            "key_field": key_fields[kept],
        }
    ).groupby("incident", sort=True)
    incidents = pd.DataFrame(
        {
            "key": originals["key"].first(),
            "key_field": originals["key_field"].first(),
            "start_time": originals["time"].min(),
            "end_time": originals["time"].max(),
            "n_alerts": originals.size().astype("int64"),
            "n_duplicates": pd.Series(incident[duplicate])
            .value_counts()
            .reindex(originals.size().index, fill_value=0)
            .astype("int64"),
        }
    )
    if score_column is not None and score_column in out.columns:
        incidents["max_score"] = out.groupby("incident")[score_column].max()
    # Renumber in order of start time (ties: by key) and apply the cool-down per key.
    incidents = incidents.sort_values(["start_time", "key_field", "key"], kind="stable")
    renumber = pd.Series(np.arange(len(incidents)), index=incidents.index)
    out["incident"] = renumber.loc[out["incident"].to_numpy()].to_numpy()
    incidents.index = pd.Index(np.arange(len(incidents)), name="incident")
    paged = np.ones(len(incidents), dtype=bool)
    last_page: dict[tuple[str, str], float] = {}
    for i, (field, value, start) in enumerate(
        zip(incidents["key_field"], incidents["key"], incidents["start_time"], strict=True)
    ):
        previous = last_page.get((field, value))
        if previous is not None and start - previous < cooldown_ms:
            paged[i] = False
        else:
            last_page[(field, value)] = start
    incidents["paged"] = paged
    if pd.api.types.is_integer_dtype(times.dtype):
        for column in ("start_time", "end_time"):
            incidents[column] = incidents[column].round().astype("int64")
    return GroupedAlerts(out, incidents)


def daily_counts(
    grouped: GroupedAlerts, start_ms: int, end_ms: int, time_column: str = "time"
) -> pd.DataFrame:
    """Alerts, incidents and pages per UTC day of a period: the on-call load, day by day.

    Parameters
    ----------
    grouped : GroupedAlerts
        The output of :func:`group_alerts`.
    start_ms, end_ms : int
        The period in epoch milliseconds (``end_ms`` exclusive), whole UTC days.
    time_column : str, default "time"
        The alerts' time column, as passed to :func:`group_alerts`.

    Returns
    -------
    pandas.DataFrame
        Index: the days (UTC midnight, empty days included); columns ``alerts`` (without
        duplicates), ``incidents`` (by start day) and ``pages``.

    Raises
    ------
    ValueError
        If the period is not a whole number of days or an alert falls outside it.
    """
    day_ms = 86_400_000
    if start_ms % day_ms or end_ms % day_ms or end_ms <= start_ms:
        raise ValueError(
            f"start_ms, end_ms: must be UTC midnights with start < end, got {start_ms}, {end_ms}"
        )
    n_days = (end_ms - start_ms) // day_ms

    def per_day(times: pd.Series) -> np.ndarray:
        index = (times.to_numpy(dtype="float64") - start_ms) // day_ms
        if ((index < 0) | (index >= n_days)).any():
            raise ValueError("grouped: an alert or incident falls outside [start_ms, end_ms)")
        return np.bincount(index.astype("int64"), minlength=n_days)

    alerts = grouped.alerts.loc[~grouped.alerts["duplicate"], time_column]
    incidents = grouped.incidents
    days = pd.DatetimeIndex(
        pd.to_datetime(start_ms + day_ms * np.arange(n_days), unit="ms", utc=True), name="day"
    )
    return pd.DataFrame(
        {
            "alerts": per_day(alerts),
            "incidents": per_day(incidents["start_time"]),
            "pages": per_day(incidents.loc[incidents["paged"], "start_time"]),
        },
        index=days,
    )
