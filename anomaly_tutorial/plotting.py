"""Plots of the generator's incidents and traces, shared by the chapters.

Each function draws on a given matplotlib ``Axes`` (or a new one) and returns it, so that the
caller keeps control of the figure, its size and its caption.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from anomaly_tutorial.data.traces import SPAN_COLUMNS

__all__ = ["TRACE_COLUMNS", "incident_timeline", "trace_waterfall", "type_colours"]

#: Span columns :func:`trace_waterfall` reads.
TRACE_COLUMNS: tuple[str, ...] = SPAN_COLUMNS[:7]
_INCIDENT_COLUMNS: tuple[str, ...] = ("anomaly_type", "start_time", "end_time")


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], argument: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{argument}: expected a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{argument}: missing column(s) {missing}")


def type_colours(names: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """One distinct colour per name (tab10, then Dark2, then tab20), in the given order.

    Raises
    ------
    ValueError
        If there are more than 38 names, or a name is repeated.
    """
    names = list(names)
    if len(set(names)) != len(names):
        raise ValueError(f"names: duplicates in {names}")
    palette = [
        *plt.get_cmap("tab10").colors,
        *plt.get_cmap("Dark2").colors,
        *plt.get_cmap("tab20").colors,
    ]
    if len(names) > len(palette):
        raise ValueError(f"names: at most {len(palette)} distinct colours, got {len(names)} names")
    return {name: tuple(palette[i]) for i, name in enumerate(names)}


def incident_timeline(
    incidents: pd.DataFrame,
    types: Sequence[str] | None = None,
    *,
    min_width_minutes: float = 40.0,
    ax: Axes | None = None,
) -> Axes:
    """Draw incidents as bars on a UTC time axis, one row and one colour per anomaly type.

    Parameters
    ----------
    incidents
        Frame with ``anomaly_type``, ``start_time`` and ``end_time`` (epoch milliseconds),
        such as ``OCSFDataset.incidents``.
    types
        Row order (top to bottom); default: the types of ``incidents`` in order of first
        appearance. Types without incidents get an empty row.
    min_width_minutes
        Shorter incidents are drawn this wide so that they stay visible.
    ax
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If a column is missing, a time is missing, an incident ends before it starts, or an
        incident's type is not in ``types``.
    """
    _require_columns(incidents, _INCIDENT_COLUMNS, "incidents")
    if not min_width_minutes >= 0:
        raise ValueError(f"min_width_minutes must be >= 0, got {min_width_minutes!r}")
    for column in ("start_time", "end_time"):
        if incidents[column].isna().any():
            rows = np.flatnonzero(incidents[column].isna().to_numpy())
            raise ValueError(f"incidents: column {column!r} is missing in rows {rows[:5].tolist()}")
    start_ms = incidents["start_time"].to_numpy(dtype=np.int64)
    end_ms = incidents["end_time"].to_numpy(dtype=np.int64)
    backwards = np.flatnonzero(end_ms < start_ms)
    if backwards.size:
        raise ValueError(f"incidents: end_time < start_time in rows {backwards[:5].tolist()}")
    kinds = incidents["anomaly_type"].astype(str).to_numpy()
    order = list(dict.fromkeys(kinds)) if types is None else list(types)
    unknown = sorted(set(kinds) - set(order))
    if unknown:
        raise ValueError(f"incidents: anomaly_type(s) {unknown} are not in types {order}")
    colours = type_colours(order)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.35 * len(order) + 1.5))
    start = pd.to_datetime(start_ms, unit="ms", utc=True)
    width = pd.to_timedelta(end_ms - start_ms, unit="ms")
    width = width.where(
        width >= pd.Timedelta(minutes=min_width_minutes), pd.Timedelta(minutes=min_width_minutes)
    )
    row = {name: i for i, name in enumerate(order)}
    for name in order:
        mask = kinds == name
        if mask.any():
            ax.barh(
                np.full(int(mask.sum()), row[name]),
                width[mask],
                left=start[mask],
                height=0.6,
                color=colours[name],
            )
    ax.set_yticks(range(len(order)), order)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("anomaly type")
    return ax


def trace_waterfall(spans: pd.DataFrame, trace_id: str, *, ax: Axes | None = None) -> Axes:
    """Draw the spans of one trace as a waterfall: one bar per span, in start order.

    The root span (no parent) is orange, the others blue; the x axis is milliseconds since the
    start of the earliest span, and each row is labelled ``service: operation``.

    Parameters
    ----------
    spans
        Span table with the columns :data:`TRACE_COLUMNS` (``start_time`` in epoch
        milliseconds), such as ``OCSFDataset.spans``.
    trace_id
        The trace to draw.
    ax
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If a column is missing or no span has this ``trace_id``.
    """
    _require_columns(spans, TRACE_COLUMNS, "spans")
    trace = spans[spans["trace_id"] == trace_id]
    if trace.empty:
        raise ValueError(f"spans: no span has trace_id {trace_id!r}")
    trace = trace.sort_values("start_time", kind="stable")
    offset = trace["start_time"].to_numpy(dtype=np.float64)
    offset = offset - offset.min()
    is_root = trace["parent_span_id"].isna().to_numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(trace) + 1.2))
    ax.barh(
        np.arange(len(trace)),
        trace["duration_ms"].to_numpy(dtype=np.float64),
        left=offset,
        color=np.where(is_root, "tab:orange", "tab:blue"),
    )
    labels = (trace["service"].astype(str) + ": " + trace["operation"].astype(str)).tolist()
    ax.set_yticks(range(len(trace)), labels)
    ax.set_ylim(len(trace) - 0.5, -0.5)
    ax.set_xlabel("milliseconds since the start of the trace")
    ax.set_ylabel("span (service: operation)")
    return ax
