"""Exercises of the chapter "Correlating alerts and finding the root cause".

The chapter is ``book/correlation.md``.

Expected answers are computed here with the package's own functions on the chapter's
deterministic dataset (:func:`anomaly_tutorial.correlation.propagated_dataset`), never typed in.
"""

from __future__ import annotations

from functools import cache

from anomaly_tutorial.exercises.registry import close_to, equals_text, exercise

#: The chapter's budget, in expected false alerts per day and family.
BUDGET = 10
#: Exercise correlation-3: the smaller budget.
SMALL_BUDGET = 3


@cache
def _toy_top() -> str:
    import pandas as pd

    from anomaly_tutorial.correlation import graph_from_edges, rank_root_causes

    graph = graph_from_edges([("web", "api"), ("api", "db"), ("web", "search")])
    ten = pd.Timestamp("2026-03-02T10:00:00Z").value // 1_000_000
    alerts = pd.DataFrame(
        {
            "service": ["db", "api", "web", "search"],
            "first_alert_time": [ten, ten + 120_000, ten + 180_000, ten + 60_000],
            "n_alerts": [5, 12, 30, 2],
        }
    )
    return str(rank_root_causes(alerts, graph)["service"].iloc[0])


def _setting():  # type: ignore[no-untyped-def]
    from anomaly_tutorial.correlation import family_scores, propagated_dataset
    from anomaly_tutorial.data import book_split

    dataset = propagated_dataset()
    return dataset, book_split(dataset.config), family_scores()


@cache
def _metric_alerts_per_day_capped() -> float:
    from anomaly_tutorial.correlation import budget_alerts

    _, split, tables = _setting()
    capped = budget_alerts(tables, alerts_per_day=BUDGET, days=split.days, method="alert_budget")
    n = int((capped.alerts["family"] == "metrics").sum())
    return n / split.days["test"]


@cache
def _correlated_recall_small_budget() -> float:
    from anomaly_tutorial.correlation import (
        CORRELATED,
        budget_alerts,
        family_report,
        incident_truth,
        service_graph,
    )

    dataset, split, tables = _setting()
    small = budget_alerts(tables, alerts_per_day=SMALL_BUDGET, days=split.days)
    report = family_report(
        small,
        incident_truth(dataset, "test"),
        service_graph(dataset.spans),
        period_days=split.days["test"],
    )
    return float(report.loc[CORRELATED, "incident_recall"])


@exercise(
    "correlation-1",
    hint="co.rank_root_causes(table, graph) with columns service, first_alert_time, n_alerts; "
    "answer with the service name in the first row.",
    why="The root cause is the anomalous service with healthy dependencies that explains "
    "the others, not the one with the most alerts.",
)
def _check_correlation_1(answer: object) -> bool:
    return equals_text(answer, _toy_top())


@exercise(
    "correlation-2",
    hint="co.budget_alerts(tables, alerts_per_day=10, days=split.days, method='alert_budget'), "
    "then count the rows of family 'metrics' and divide by the test period's days.",
)
def _check_correlation_2(answer: object) -> bool:
    return close_to(answer, _metric_alerts_per_day_capped(), atol=1e-9)


@exercise(
    "correlation-3",
    hint="co.budget_alerts with alerts_per_day=3, then co.family_report(...) and read the "
    "incident_recall of the row co.CORRELATED.",
)
def _check_correlation_3(answer: object) -> bool:
    return close_to(answer, _correlated_recall_small_budget(), atol=1e-9)
