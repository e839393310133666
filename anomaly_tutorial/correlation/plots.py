"""Figures of the correlation chapter: recall per type, the alert timeline, the service graph.

Each function draws on a given matplotlib ``Axes`` and returns it; the caller keeps the
figure, its size and its caption.

Public objects: :func:`alert_timeline`, :func:`graph_layout`, :func:`recall_heatmap`,
:func:`service_graph_plot`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from anomaly_tutorial.correlation.graph import ServiceGraph

__all__ = ["alert_timeline", "graph_layout", "recall_heatmap", "service_graph_plot"]

_MARKERS = {"events": "o", "metrics": "s", "log windows": "^", "sessions": "D"}


def _datetimes(ms: np.ndarray | pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(ms, dtype="int64"), unit="ms", utc=True))


def alert_timeline(
    alerts: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    start_ms: int,
    end_ms: int,
    rows: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Alerts of every family between two times, one row per service or entity.

    Parameters
    ----------
    alerts : pandas.DataFrame
        Alert table (:data:`~anomaly_tutorial.correlation.ALERT_COLUMNS`); each alert sits on
        the row of its service, else its entity, with a marker per family, filled when the
        alert belongs to a ground-truth incident.
    incidents : pandas.DataFrame
        Ground-truth incidents (``start_time``, ``end_time``, ``root_cause_service``,
        ``anomaly_type``), drawn as bands on the row of their root-cause service.
    start_ms, end_ms : int
        The time range shown (epoch ms).
    rows : sequence of str, optional
        The rows to show, top to bottom (default: every row with an alert, sorted).
    """
    ax = ax or plt.gca()
    part = alerts[(alerts["time"] >= start_ms) & (alerts["time"] < end_ms)]
    label = part["service"].fillna(part["entity"]).astype(str)
    rows = list(rows) if rows is not None else sorted(label.unique())
    y_of = {r: i for i, r in enumerate(rows)}
    shown = label.isin(rows).to_numpy()
    part, label = part[shown], label[shown]
    for _, inc in incidents.iterrows():
        if inc["end_time"] < start_ms or inc["start_time"] > end_ms:
            continue
        y = y_of.get(str(inc["root_cause_service"]))
        if y is None:
            continue
        t0, t1 = _datetimes([inc["start_time"], inc["end_time"]])
        ax.axvspan(t0, t1, ymin=0, ymax=1, color="0.9", zorder=0)
        ax.annotate(
            f"{inc.name}: {inc['anomaly_type']} in {inc['root_cause_service']}",
            (t0, len(rows) - 0.45),
            fontsize=8,
            va="bottom",
        )
    for family, marker in _MARKERS.items():
        mine = (part["family"] == family).to_numpy()
        if not mine.any():
            continue
        y = label[mine].map(y_of).to_numpy(dtype=float)
        offset = list(_MARKERS).index(family) * 0.12 - 0.18
        true = part.loc[mine, "is_anomaly"].to_numpy(dtype=bool)
        times = _datetimes(part.loc[mine, "time"])
        colour = f"C{list(_MARKERS).index(family)}"
        ax.scatter(times[true], y[true] + offset, marker=marker, color=colour, s=22, label=family)
        ax.scatter(
            times[~true],
            y[~true] + offset,
            marker=marker,
            facecolors="none",
            edgecolors=colour,
            s=22,
        )
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(-0.6, len(rows) + 0.2)
    ax.invert_yaxis()
    ax.set_xlim(*_datetimes([start_ms, end_ms]))
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("service or entity")
    return ax


def graph_layout(
    graph: ServiceGraph, services: Sequence[str] | None = None
) -> dict[str, tuple[float, float]]:
    """Positions for a layered drawing: x = depth below the entry points, y = order in layer.

    A service's depth is the length of the longest call path to it from a service nobody
    calls; within a layer, services are ordered by the mean height of their callers, so that
    edges cross less. ``services`` restricts the drawing to a subset (default: all).
    """
    shown = list(graph.services) if services is None else list(services)
    graph.check_known(shown, "services")
    keep = set(shown)
    depth: dict[str, int] = {}

    def visit(service: str) -> int:
        if service not in depth:
            callers = [c for c in graph.callers(service) if c in keep]
            depth[service] = 1 + max((visit(c) for c in callers), default=-1)
        return depth[service]

    for service in shown:
        visit(service)
    positions: dict[str, tuple[float, float]] = {}
    for d in sorted(set(depth.values())):
        members = [s for s in shown if depth[s] == d]

        def height(service: str) -> float:
            above = [positions[c][1] for c in graph.callers(service) if c in positions]
            return -float(np.mean(above)) if above else 0.0

        members.sort(key=lambda s: (height(s), s))
        for i, service in enumerate(members):
            positions[service] = (float(d), -(i - (len(members) - 1) / 2))
    return positions


def service_graph_plot(
    graph: ServiceGraph,
    ranking: pd.DataFrame | None = None,
    *,
    truth: str | None = None,
    services: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the call graph (caller -> callee, left to right) with a root-cause ranking.

    Parameters
    ----------
    graph : ServiceGraph
    ranking : pandas.DataFrame, optional
        :func:`~anomaly_tutorial.correlation.rank_root_causes` output: candidates are coloured
        by score and labelled with their rank.
    truth : str, optional
        The true root-cause service, outlined in black.
    services : sequence of str, optional
        Draw only these services (for instance one connected component).
    """
    ax = ax or plt.gca()
    pos = graph_layout(graph, services)
    for caller, callee in zip(graph.edges["caller"], graph.edges["callee"], strict=True):
        if caller in pos and callee in pos:
            ax.annotate(
                "",
                xy=pos[callee],
                xytext=pos[caller],
                arrowprops={"arrowstyle": "->", "color": "0.55", "shrinkA": 9, "shrinkB": 9},
            )
    scores = {} if ranking is None else dict(zip(ranking["service"], ranking["score"], strict=True))
    ranks = {} if ranking is None else {s: r for r, s in ranking["service"].items()}
    top = max(scores.values(), default=1.0) or 1.0
    cmap = plt.get_cmap("OrRd")
    for service, (x, y) in pos.items():
        colour = cmap(0.25 + 0.75 * scores[service] / top) if service in scores else "0.92"
        outline = service == truth
        ax.scatter(
            [x],
            [y],
            s=260,
            color=colour,
            edgecolors="black" if outline else "0.5",
            linewidths=2.5 if outline else 1,
            zorder=3,
        )
        text = service if service not in ranks else f"#{ranks[service]} {service}"
        ax.annotate(
            text,
            (x, y),
            xytext=(0, 10),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            zorder=4,
        )
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.8)
    ax.set_xticks(sorted(set(xs)), [f"{int(x)}" for x in sorted(set(xs))])
    ax.set_xlabel("call depth (0 = entry point; arrows point from caller to callee)")
    ax.set_yticks([])
    ax.grid(False)
    return ax


def recall_heatmap(
    recall: pd.DataFrame,
    delay: pd.DataFrame,
    counts: pd.Series,
    *,
    column_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Incident recall per incident type (rows) and family (columns), with the median delay.

    Parameters
    ----------
    recall, delay : pandas.DataFrame
        Same index and columns: recall in [0, 1] and median delay in minutes (NaN when
        nothing was caught), for instance pivots of
        :func:`~anomaly_tutorial.correlation.detection_by_type`.
    counts : pandas.Series
        Number of incidents per type, shown beside the row labels.
    column_labels : sequence of str, optional
        Shorter labels for the columns.
    """
    ax = ax or plt.gca()
    values = recall.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        minutes = delay.iloc[i, j]
        text = f"{value:.0%}" + ("" if np.isnan(minutes) else f"\n{minutes:.0f} min")
        colour = "black" if value > 0.6 else "white"
        ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(recall.shape[1]), column_labels or list(recall.columns))
    ax.set_yticks(range(len(recall)), [f"{t} ({counts[t]})" for t in recall.index])
    ax.grid(False)
    ax.figure.colorbar(image, ax=ax, label="incident recall")
    return ax
