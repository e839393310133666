"""The service call graph, read from trace spans.

A span whose parent span belongs to another service is a call from the parent's service to
its own. :func:`service_graph` counts those calls over a span table and returns a
:class:`ServiceGraph`; :func:`graph_from_edges` builds one from a list of ``(caller, callee)``
pairs (for hand-made examples and tests). The graph must be acyclic: root-cause ranking reads
"downstream" and "upstream" from it, which a cycle makes meaningless.

Public objects: :class:`ServiceGraph`, :func:`service_graph`, :func:`graph_from_edges`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

__all__ = ["ServiceGraph", "graph_from_edges", "service_graph"]

SPAN_FIELDS = ("span_id", "parent_span_id", "service")


@dataclass(frozen=True)
class ServiceGraph:
    """A directed acyclic graph of calls between services.

    Attributes
    ----------
    edges : pandas.DataFrame
        One row per (caller, callee) pair: ``caller``, ``callee``, ``n_calls`` (spans seen),
        sorted by caller then callee.
    services : tuple of str
        Every service, callers and callees, in sorted order (a service seen only in root spans
        is included, with no edge).
    """

    edges: pd.DataFrame
    services: tuple[str, ...]

    def __post_init__(self) -> None:
        cycle = _find_cycle(self.services, self._callees)
        if cycle:
            raise ValueError(
                "service graph: calls form a cycle " + " -> ".join(cycle) + "; root-cause "
                "ranking needs an acyclic graph (drop or merge the spans that close the loop)"
            )

    @cached_property
    def _callees(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {s: [] for s in self.services}
        for caller, callee in zip(self.edges["caller"], self.edges["callee"], strict=True):
            out[caller].append(callee)
        return {s: tuple(sorted(v)) for s, v in out.items()}

    @cached_property
    def _callers(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {s: [] for s in self.services}
        for caller, callee in zip(self.edges["caller"], self.edges["callee"], strict=True):
            out[callee].append(caller)
        return {s: tuple(sorted(v)) for s, v in out.items()}

    def check_known(self, services: Iterable[str], name: str = "services") -> None:
        """Raise a ValueError naming the services that are not in the graph."""
        unknown = sorted({str(s) for s in services} - set(self.services))
        if unknown:
            raise ValueError(
                f"{name}: unknown service(s) {unknown}; the graph knows {list(self.services)}"
            )

    def callees(self, service: str) -> tuple[str, ...]:
        """Services that ``service`` calls directly."""
        self.check_known([service], "service")
        return self._callees[service]

    def callers(self, service: str) -> tuple[str, ...]:
        """Services that call ``service`` directly."""
        self.check_known([service], "service")
        return self._callers[service]

    def downstream(self, service: str) -> frozenset[str]:
        """Every service ``service`` depends on, directly or through others."""
        return self._reach(service, self._callees)

    def upstream(self, service: str) -> frozenset[str]:
        """Every service that depends on ``service``, directly or through others."""
        return self._reach(service, self._callers)

    def _reach(self, service: str, step: dict[str, tuple[str, ...]]) -> frozenset[str]:
        self.check_known([service], "service")
        seen: set[str] = set()
        todo = list(step[service])
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo.extend(step[s])
        return frozenset(seen)

    def components(self) -> dict[str, str]:
        """Service -> name of its weakly connected component (its alphabetically first member).

        Services that never call each other, even through a third, are in different
        components: an alert in one cannot be a symptom of a fault in the other.
        """
        parent = {s: s for s in self.services}

        def find(s: str) -> str:
            while parent[s] != s:
                parent[s] = parent[parent[s]]
                s = parent[s]
            return s

        for caller, callee in zip(self.edges["caller"], self.edges["callee"], strict=True):
            a, b = find(caller), find(callee)
            if a != b:
                parent[max(a, b)] = min(a, b)
        return {s: find(s) for s in self.services}


def _find_cycle(services: tuple[str, ...], callees: dict[str, tuple[str, ...]]) -> list[str]:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in services:
        if state.get(root):
            continue
        path: list[str] = []
        stack = [(root, iter(callees[root]))]
        state[root] = 1
        path.append(root)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(callees[child])))
    return []


def graph_from_edges(
    edges: Iterable[tuple[str, str]], services: Iterable[str] = ()
) -> ServiceGraph:
    """A :class:`ServiceGraph` from ``(caller, callee)`` pairs (repeats count as calls).

    Parameters
    ----------
    edges : iterable of (str, str)
    services : iterable of str, optional
        Extra services without any edge.

    Raises
    ------
    ValueError
        A pair that is not two non-empty names, a service calling itself, or a cycle.
    """
    pairs = []
    for i, edge in enumerate(edges):
        if (
            not isinstance(edge, tuple | list)
            or len(edge) != 2
            or not all(isinstance(s, str) and s for s in edge)
        ):
            raise ValueError(
                f"edges: item {i} must be a (caller, callee) pair of names, got {edge!r}"
            )
        if edge[0] == edge[1]:
            raise ValueError(f"edges: item {i}: service {edge[0]!r} calls itself")
        pairs.append((edge[0], edge[1]))
    frame = pd.DataFrame(pairs, columns=["caller", "callee"])
    return _graph(frame, set(services))


def _graph(calls: pd.DataFrame, extra: set[str]) -> ServiceGraph:
    counts = (
        calls.groupby(["caller", "callee"], sort=True).size().rename("n_calls").reset_index()
        if len(calls)
        else pd.DataFrame({"caller": [], "callee": [], "n_calls": []})
    )
    counts["caller"] = counts["caller"].astype(str)
    counts["callee"] = counts["callee"].astype(str)
    counts["n_calls"] = counts["n_calls"].astype("int64")
    services = tuple(sorted(set(counts["caller"]) | set(counts["callee"]) | extra))
    return ServiceGraph(edges=counts, services=services)


def service_graph(spans: pd.DataFrame) -> ServiceGraph:
    """The call graph of a span table: parent span's service -> child span's service.

    Parameters
    ----------
    spans : pandas.DataFrame
        One row per span with ``span_id``, ``parent_span_id`` (missing for a root span) and
        ``service`` (for instance :attr:`~anomaly_tutorial.data.OCSFDataset.spans`).

    Raises
    ------
    ValueError
        An empty table, a missing column, a span without a service (the message names the
        span), a parent span id that is not in the table, or a cycle of calls.
    """
    if not isinstance(spans, pd.DataFrame):
        raise TypeError(f"spans: expected a pandas DataFrame, got {type(spans).__name__}")
    missing = [c for c in SPAN_FIELDS if c not in spans.columns]
    if missing:
        raise ValueError(f"spans: missing column(s) {missing}")
    if spans.empty:
        raise ValueError("spans: the table is empty; a call graph needs at least one span")
    no_service = spans["service"].isna().to_numpy()
    if no_service.any():
        span = spans["span_id"].iloc[int(no_service.argmax())]
        raise ValueError(f"spans: span {span!r} has no 'service'")
    service_of = pd.Series(
        spans["service"].astype(str).to_numpy(), index=spans["span_id"].astype(str).to_numpy()
    )
    if service_of.index.duplicated().any():
        dup = service_of.index[service_of.index.duplicated()][0]
        raise ValueError(f"spans: span_id {dup!r} appears more than once")
    children = spans[spans["parent_span_id"].notna()]
    parent_ids = children["parent_span_id"].astype(str).to_numpy()
    known = service_of.index.get_indexer(parent_ids)
    if (known < 0).any():
        i = int((known < 0).argmax())
        raise ValueError(
            f"spans: span {children['span_id'].iloc[i]!r} has parent_span_id "
            f"{parent_ids[i]!r}, which is not in the table"
        )
    calls = pd.DataFrame(
        {
            "caller": service_of.to_numpy()[known],
            "callee": children["service"].astype(str).to_numpy(),
        }
    )
    calls = calls[calls["caller"] != calls["callee"]]
    return _graph(calls, set(service_of.to_numpy()))
