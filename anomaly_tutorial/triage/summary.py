"""A dashboard summary of triaged alerts: counts by severity, kind and category; top entities.

:func:`dashboard_summary` turns a triage table (one row per alert) into the few small tables
an on-call dashboard shows: how many alerts of each severity (every tier listed, zero
included, most severe first), of each kind and of each category, and the entities (accounts,
source addresses, services) with the most alerts, with their worst severity.

Public objects: :class:`TriageSummary`, :func:`dashboard_summary`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from anomaly_tutorial.triage.kind import KINDS
from anomaly_tutorial.triage.severity import SEVERITY_LEVELS

#: Entity columns of the triage table and the names the dashboard gives them.
ENTITY_COLUMNS: Mapping[str, str] = {"user": "account", "src_ip": "source IP", "service": "service"}


@dataclass(frozen=True)
class TriageSummary:
    """The tables of :func:`dashboard_summary`.

    Attributes
    ----------
    by_severity, by_kind, by_category : pandas.DataFrame
        ``alerts`` and ``share`` per value (severity most severe first, every tier listed).
    top_entities : pandas.DataFrame
        ``entity type``, ``entity``, ``alerts`` and ``worst severity`` of the ``top`` entities
        of each type with the most alerts.
    n_alerts : int
    """

    by_severity: pd.DataFrame
    by_kind: pd.DataFrame
    by_category: pd.DataFrame
    top_entities: pd.DataFrame
    n_alerts: int

    def overview(self) -> pd.DataFrame:
        """Severity, kind and category counts stacked into one two-column table."""
        parts = [
            t["alerts"].rename(lambda v, g=group: f"{g}: {v}")
            for group, t in (
                ("severity", self.by_severity),
                ("kind", self.by_kind),
                ("category", self.by_category),
            )
        ]
        return pd.concat(parts).rename_axis("group: value").to_frame()


def _counts(values: pd.Series, order: list[str] | None) -> pd.DataFrame:
    counts = values.astype(object).value_counts()
    if order is not None:
        counts = counts.reindex(order, fill_value=0)
    else:
        counts = counts.sort_values(ascending=False, kind="stable")
    total = max(int(counts.sum()), 1)
    return pd.DataFrame({"alerts": counts.astype("int64"), "share": counts / total})


def dashboard_summary(triaged: pd.DataFrame, top: int = 5) -> TriageSummary:
    """Counts of alerts by severity, kind and category, and the top entities.

    Parameters
    ----------
    triaged
        One row per alert with ``severity``, ``kind``, ``category`` and the entity columns of
        :data:`ENTITY_COLUMNS` (missing entity values are not ranked).
    top
        Entities listed per entity type.

    Raises
    ------
    ValueError
        If a column is missing, ``top`` is below 1, or a severity or kind name is unknown.
    """
    if not isinstance(triaged, pd.DataFrame):
        raise TypeError(f"triaged: expected a pandas DataFrame, got {type(triaged).__name__}")
    needed = ["severity", "kind", "category", *ENTITY_COLUMNS]
    missing = [c for c in needed if c not in triaged.columns]
    if missing:
        raise ValueError(f"triaged: missing columns {missing}")
    if int(top) < 1:
        raise ValueError(f"top: must be >= 1, got {top!r}")
    for column, allowed in (("severity", SEVERITY_LEVELS), ("kind", KINDS)):
        unknown = sorted({str(v) for v in triaged[column].astype(object)} - set(allowed))
        if unknown:
            raise ValueError(
                f"triaged: column {column!r} has unknown names {unknown}; expected {list(allowed)}"
            )
    rank = {name: i for i, name in enumerate(SEVERITY_LEVELS)}
    severity_rank = triaged["severity"].astype(object).map(rank)
    rows = []
    for column, label in ENTITY_COLUMNS.items():
        values = triaged[column].astype(object)
        ok = values.notna()
        grouped = pd.DataFrame({"entity": values[ok], "rank": severity_rank[ok]}).groupby("entity")
        table = pd.DataFrame({"alerts": grouped.size(), "worst": grouped["rank"].max()})
        table = table.sort_values(["alerts", "worst"], ascending=False, kind="stable").head(
            int(top)
        )
        for entity, r in table.iterrows():
            rows.append(
                {
                    "entity type": label,
                    "entity": entity,
                    "alerts": int(r["alerts"]),
                    "worst severity": SEVERITY_LEVELS[int(r["worst"])],
                }
            )
    return TriageSummary(
        by_severity=_counts(triaged["severity"], list(SEVERITY_LEVELS[::-1])),
        by_kind=_counts(triaged["kind"], list(KINDS)),
        by_category=_counts(triaged["category"], None),
        top_entities=pd.DataFrame(
            rows, columns=["entity type", "entity", "alerts", "worst severity"]
        ),
        n_alerts=len(triaged),
    )
