"""Call graph, root-cause ranking, shared budget, correlation and evaluation on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import correlation as co
from anomaly_tutorial.thresholds.book import SCORE_COLUMNS

MIN = 60_000
T0 = 1_772_445_600_000  # 2026-03-02 10:00 UTC


def candidates(**rows: tuple[float, int]) -> pd.DataFrame:
    """``service=(minutes after T0, n_alerts)``."""
    return pd.DataFrame(
        {
            "service": list(rows),
            "first_alert_time": [T0 + int(m * MIN) for m, _ in rows.values()],
            "n_alerts": [n for _, n in rows.values()],
        }
    )


# --- graph -------------------------------------------------------------------------------------


def spans_of(calls: list[tuple[str, str]]) -> pd.DataFrame:
    rows = []
    for i, (caller, callee) in enumerate(calls):
        rows.append((f"r{i}", None, caller))
        rows.append((f"c{i}", f"r{i}", callee))
    return pd.DataFrame(rows, columns=["span_id", "parent_span_id", "service"])


def test_graph_from_spans_counts_calls_between_services() -> None:
    spans = spans_of([("web", "api"), ("web", "api"), ("api", "db")])
    spans.loc[len(spans)] = ("x", None, "batch")  # a root span only
    spans.loc[len(spans)] = ("y", "x", "batch")  # a call inside one service is no edge
    graph = co.service_graph(spans)
    assert graph.services == ("api", "batch", "db", "web")
    assert graph.edges.values.tolist() == [["api", "db", 1], ["web", "api", 2]]
    assert graph.callees("web") == ("api",) and graph.callers("api") == ("web",)
    assert graph.downstream("web") == {"api", "db"} and graph.upstream("db") == {"api", "web"}
    assert graph.components() == {"api": "api", "db": "api", "web": "api", "batch": "batch"}


def test_graph_of_the_generated_traces_is_the_shop() -> None:
    graph = co.service_graph(co.propagated_dataset().spans)
    assert graph.downstream("payments") == {"payments-db", "payment-provider"}
    assert graph.upstream("payments") == {"orders", "frontend"}
    assert graph.callers("auth") == ()


@pytest.mark.parametrize(
    ("edges", "words"),
    [
        ([("a", "b"), ("b", "c"), ("c", "a")], "cycle a -> b -> c -> a"),
        ([("a", "b"), ("b", "a")], "cycle a -> b -> a"),
    ],
)
def test_a_cycle_is_refused(edges: list[tuple[str, str]], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        co.graph_from_edges(edges)
    with pytest.raises(ValueError, match="cycle"):
        co.service_graph(spans_of(edges))


def test_bad_spans_and_edges_give_clear_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        co.service_graph(spans_of([]))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['parent_span_id'\]"):
        co.service_graph(spans_of([("a", "b")]).drop(columns="parent_span_id"))
    orphan = spans_of([("a", "b")])
    orphan.loc[1, "parent_span_id"] = "nope"
    with pytest.raises(ValueError, match="span 'c0' has parent_span_id 'nope'"):
        co.service_graph(orphan)
    nameless = spans_of([("a", "b")])
    nameless.loc[1, "service"] = None
    with pytest.raises(ValueError, match="span 'c0' has no 'service'"):
        co.service_graph(nameless)
    with pytest.raises(ValueError, match="calls itself"):
        co.graph_from_edges([("a", "a")])
    with pytest.raises(ValueError, match="item 0 must be a"):
        co.graph_from_edges([("a",)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"unknown service\(s\) \['zzz'\]"):
        co.graph_from_edges([("a", "b")]).callers("zzz")


# --- root-cause ranking ------------------------------------------------------------------------

CHAIN = co.graph_from_edges([("web", "api"), ("api", "db")])
FAN_IN = co.graph_from_edges([("web", "left"), ("web", "right")])


def test_chain_blames_the_deepest_anomalous_service() -> None:
    ranking = co.rank_root_causes(candidates(web=(3, 40), api=(1, 10), db=(0, 2)), CHAIN)
    assert ranking["service"].tolist() == ["db", "api", "web"]
    top = ranking.iloc[0]
    assert top["healthy_dependencies"] == 1 and top["explains_others"] == 1
    assert top["started_first"] == 1 and top["score"] == pytest.approx(3.5)
    assert ranking.index.tolist() == [1, 2, 3]
    assert "db: anomalous from 10:00, 1 min before its caller(s) api and web" in top["explanation"]
    assert "no anomalous callee" in top["explanation"]
    assert "depends on anomalous api and db" in ranking.iloc[2]["explanation"]
    # the baselines get it wrong here: web has most alerts; the first alert is right
    assert (
        co.rank_by_alert_count(candidates(web=(3, 40), api=(1, 10), db=(0, 2)))["service"].iloc[0]
        == "web"
    )


def test_the_call_graph_beats_first_alert_when_the_caller_alerts_first() -> None:
    ranking = co.rank_root_causes(candidates(web=(0, 5), api=(2, 5)), CHAIN)
    assert ranking["service"].iloc[0] == "api"
    assert "2 min after its caller(s) web" in ranking.iloc[0]["explanation"]
    assert co.rank_by_first_alert(candidates(web=(0, 5), api=(2, 5)))["service"].iloc[0] == "web"


def test_root_with_a_healthy_caller_and_a_single_candidate() -> None:
    ranking = co.rank_root_causes(candidates(db=(0, 3)), CHAIN)
    assert ranking["service"].tolist() == ["db"]
    assert ranking.iloc[0]["score"] == pytest.approx(3.5)  # nothing else to explain: 1
    assert ranking.iloc[0]["explanation"] == "db: anomalous from 10:00; no anomalous callee"
    two = co.rank_root_causes(candidates(api=(0, 3), db=(5, 1)), CHAIN)
    assert two["service"].iloc[0] == "db"  # web is healthy; api depends on anomalous db


def test_fan_in_two_anomalous_callees_tie_on_evidence_the_earlier_wins() -> None:
    ranking = co.rank_root_causes(candidates(web=(4, 30), left=(1, 5), right=(0, 5)), FAN_IN)
    assert ranking["service"].tolist() == ["right", "left", "web"]
    assert ranking.loc[1, "explains_others"] == pytest.approx(0.5)
    assert ranking.loc[1, "healthy_dependencies"] == ranking.loc[2, "healthy_dependencies"] == 1


def test_exact_ties_go_to_more_alerts_then_the_name() -> None:
    graph = co.graph_from_edges([], services=["a", "b", "c"])
    ranking = co.rank_root_causes(candidates(c=(0, 5), b=(0, 9), a=(0, 5)), graph)
    assert ranking["service"].tolist() == ["b", "a", "c"]
    assert ranking["score"].nunique() == 1
    assert co.rank_by_alert_count(candidates(c=(0, 5), a=(0, 5)))["service"].tolist() == [
        "a",
        "c",
    ]


def test_min_alerts_ignores_a_stray_alert_in_a_callee() -> None:
    table = candidates(web=(2, 40), api=(0, 30), db=(1, 1))
    assert co.rank_root_causes(table, CHAIN)["service"].iloc[0] == "db"
    ranking = co.rank_root_causes(table, CHAIN, min_alerts=2)
    assert ranking["service"].iloc[0] == "api"
    assert "db" in ranking["service"].tolist()  # still a candidate
    with pytest.raises(ValueError, match="min_alerts: must be a positive integer"):
        co.rank_root_causes(table, CHAIN, min_alerts=0)


def test_bad_candidates_give_clear_errors() -> None:
    with pytest.raises(ValueError, match="no anomalous service to rank"):
        co.rank_root_causes(candidates(), CHAIN)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['n_alerts'\]"):
        co.rank_root_causes(candidates(db=(0, 1)).drop(columns="n_alerts"), CHAIN)
    with pytest.raises(ValueError, match=r"unknown service\(s\) \['cache'\]"):
        co.rank_root_causes(candidates(db=(0, 1), cache=(0, 1)), CHAIN)
    with pytest.raises(ValueError, match="service 'db' appears more than once"):
        co.rank_root_causes(pd.concat([candidates(db=(0, 1))] * 2, ignore_index=True), CHAIN)
    with pytest.raises(ValueError, match="row 0 has n_alerts < 1"):
        co.rank_root_causes(candidates(db=(0, 0)), CHAIN)
    bad_time = candidates(db=(0, 1)).assign(first_alert_time=["10:00"])
    with pytest.raises(ValueError, match="'first_alert_time' must be numeric"):
        co.rank_root_causes(bad_time, CHAIN)
    with pytest.raises(ValueError, match="row 0 has no 'first_alert_time'"):
        co.rank_root_causes(candidates(db=(0, 1)).assign(first_alert_time=np.nan), CHAIN)
    with pytest.raises(ValueError, match="k: must be a positive integer"):
        co.top_k_hit(co.rank_by_first_alert(candidates(db=(0, 1))), "db", 0)


# --- shared budget, correlation, evaluation -----------------------------------------------------


def score_table(period_scores: dict[str, list[float]], anomalous: set[int] = frozenset()):
    rows = []
    for period, scores in period_scores.items():
        day = 0 if period == "validation" else 1
        for i, s in enumerate(scores):
            rows.append(
                {
                    "id": f"{period}-{i}",
                    "time": T0 + day * 86_400_000 + i * MIN,
                    "period": period,
                    "score": s,
                    "is_anomaly": (period, i) in anomalous,
                    "anomaly_type": "latency_spike" if (period, i) in anomalous else "normal",
                    "incident_id": "inc-1" if (period, i) in anomalous else None,
                    "entity": "api",
                    "service": "api",
                }
            )
    return pd.DataFrame(rows)[list(SCORE_COLUMNS)]


def test_conformal_budget_sets_the_expected_false_alerts_per_day() -> None:
    validation = list(np.linspace(0, 1, 100))  # 100 normal items in one day
    table = score_table({"validation": validation, "test": [0.5, 0.96, 0.99, 2.0]})
    out = co.budget_alerts({"x": table}, alerts_per_day=5, days={"validation": 1, "test": 1})
    decision = out.decisions["x"]
    assert decision["alpha"] == pytest.approx(0.05)
    # p(s) = (1 + #{c >= s}) / 101 <= 0.05 needs at most 4 calibration scores >= s
    assert np.sum(np.asarray(validation) >= decision["threshold"]) == 4
    assert out.alerts["score"].tolist() == [0.96, 0.99, 2.0]  # 0.96: four above, p = 5/101
    # the same decision as the conformal p-values themselves, on a grid of new scores
    from anomaly_tutorial.thresholds import ConformalCalibrator

    grid = np.linspace(-0.5, 1.5, 2001)
    p = ConformalCalibrator().fit(validation).p_values(grid)
    np.testing.assert_array_equal(grid >= decision["threshold"], p <= 0.05)
    assert out.alerts["family"].tolist() == ["x"] * 3 and out.items == {"x": 4}


def test_alert_budget_counts_true_alerts_against_the_budget() -> None:
    validation = [0.1, 0.2, 5.0, 5.1, 5.2]
    table = score_table(
        {"validation": validation, "test": [0.3, 4.0, 6.0]},
        anomalous={("validation", 2), ("validation", 3), ("validation", 4)},
    )
    days = {"validation": 1, "test": 1}
    capped = co.budget_alerts({"x": table}, alerts_per_day=2, days=days, method="alert_budget")
    assert capped.alerts["score"].tolist() == [6.0]  # above the second-highest validation score
    conformal = co.budget_alerts({"x": table}, alerts_per_day=1, days=days)
    assert conformal.decisions["x"]["threshold"] <= 0.3  # only normal items calibrate


def test_budget_bad_input() -> None:
    table = score_table({"validation": [0.1, 0.2], "test": [0.3]})
    days = {"validation": 1, "test": 1}
    with pytest.raises(ValueError, match="give at least one family"):
        co.budget_alerts({}, alerts_per_day=1, days=days)
    with pytest.raises(ValueError, match=r"tables\['x'\]: missing column\(s\) \['score'\]"):
        co.budget_alerts({"x": table.drop(columns="score")}, alerts_per_day=1, days=days)
    with pytest.raises(ValueError, match="no rows for period 'validation' or 'test'"):
        co.budget_alerts({"x": table[table["period"] == "test"]}, alerts_per_day=1, days=days)
    with pytest.raises(ValueError, match="alerts_per_day: must be a positive integer"):
        co.budget_alerts({"x": table}, alerts_per_day=0, days=days)
    with pytest.raises(ValueError, match="method: must be"):
        co.budget_alerts({"x": table}, alerts_per_day=1, days=days, method="top")


def alerts_frame(rows: list[tuple]) -> pd.DataFrame:
    """(family, id, minute, service, entity, incident_id)."""
    frame = pd.DataFrame(
        [
            {
                "family": f,
                "id": i,
                "time": T0 + int(m * MIN),
                "period": "test",
                "score": 1.0,
                "is_anomaly": inc is not None,
                "anomaly_type": "latency_spike" if inc else "normal",
                "incident_id": inc,
                "entity": entity,
                "service": service,
            }
            for f, i, m, service, entity, inc in rows
        ]
    )
    return frame[list(co.ALERT_COLUMNS)]


SHOP = co.graph_from_edges([("web", "api"), ("api", "db"), ("auth", "auth-db")])


def test_correlate_groups_by_graph_component_entity_and_time() -> None:
    alerts = alerts_frame(
        [
            ("metrics", "api@1", 0, "api", "api", "inc-1"),
            ("events", "e1", 3, "web", "u1", "inc-1"),
            ("events", "e1", 3, "web", "u1", "inc-1"),  # the same alert twice
            ("metrics", "auth@1", 4, "auth", "auth", None),  # another component
            ("sessions", "s1", 5, None, "10.0.0.1", None),  # no service: by entity
            ("events", "e2", 60, "web", "u2", None),  # an hour later: a new incident
        ]
    )
    grouped = co.correlate(alerts, SHOP, max_gap_s=900)
    incidents = grouped.incidents
    assert incidents["key"].tolist() == ["api", "auth", "10.0.0.1", "api"]
    assert incidents["n_alerts"].tolist() == [2, 1, 1, 1]
    assert incidents["n_duplicates"].tolist() == [1, 0, 0, 0]
    assert grouped.alerts["component"].tolist()[:4] == ["api", "api", "api", "auth"]
    with pytest.raises(ValueError, match="no alerts to correlate"):
        co.correlate(alerts.iloc[:0], SHOP)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['family'\]"):
        co.correlate(alerts.drop(columns="family"), SHOP)


def test_family_report_and_root_cause_report_by_hand() -> None:
    alerts = alerts_frame(
        [
            ("metrics", "db@1", 1, "db", "db", "inc-1"),
            ("metrics", "api@3", 3, "api", "api", "inc-1"),
            ("metrics", "api@4", 4, "api", "api", "inc-1"),
            ("events", "e1", 5, "web", "u1", "inc-1"),
            ("events", "e2", 200, "web", "u2", None),  # a false alert, its own group
        ]
    )
    truth = pd.DataFrame(
        {
            "anomaly_type": ["db_timeout_burst", "brute_force"],
            "domain": ["operations", "security"],
            "start_time": [T0, T0 + 100 * MIN],
            "end_time": [T0 + 10 * MIN, T0 + 110 * MIN],
            "root_cause_service": ["db", "auth"],
            "affected_services": ["api,web", ""],
        },
        index=pd.Index(["inc-1", "inc-2"], name="incident_id"),
    )
    budgeted = co.BudgetedAlerts(alerts, {"events": {}, "metrics": {}}, {})
    report = co.family_report(budgeted, truth, SHOP, period_days=2.0, lag_ms={})
    assert report.loc["metrics", "incidents_caught"] == 1
    assert report.loc["metrics", "median_delay_min"] == pytest.approx(1.0)
    assert report.loc["events", "incident_precision"] == pytest.approx(0.5)
    assert report.loc["events", "groups_per_day"] == pytest.approx(1.0)
    row = report.loc[co.CORRELATED]
    assert row["incident_recall"] == pytest.approx(0.5) and row["alerts_per_day"] == 2.5
    assert row["incident_precision"] == pytest.approx(0.5)  # one true group, one false
    lagged = co.family_report(budgeted, truth, SHOP, period_days=2.0)  # metrics + 1 min
    assert lagged.loc["metrics", "median_delay_min"] == pytest.approx(2.0)
    by_type = co.detection_by_type(budgeted, truth, lag_ms={})
    caught = by_type.set_index(["anomaly_type", "family"])["caught"]
    assert caught["db_timeout_burst", "metrics"] == 1 and caught["brute_force", co.CORRELATED] == 0

    grouped = co.correlate(alerts, SHOP, max_gap_s=900)
    rca = co.root_cause_report(grouped, truth, SHOP)
    assert rca.index.tolist() == ["inc-1"]  # security incidents are not ranked
    assert rca.loc["inc-1", "candidates"] == "db,api,web"
    assert rca.loc["inc-1", "call graph rank"] == 1 and rca.loc["inc-1", "most alerts rank"] == 2
    accuracy = co.root_cause_accuracy(rca)
    assert accuracy.loc["call graph", "top-1"] == 1 and accuracy.loc["most alerts", "top-1"] == 0
    assert accuracy.loc["most alerts", "top-3"] == 1
    with pytest.raises(ValueError, match="no incident to score"):
        co.root_cause_accuracy(rca.iloc[:0])


def test_log_window_scores_have_the_score_columns_and_name_their_service() -> None:
    from anomaly_tutorial.data import GeneratorConfig, generate_dataset

    dataset = generate_dataset(GeneratorConfig(n_events=6_000, days=7, seed=2))
    scores = co.log_window_scores(dataset)
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert set(scores["period"]) == {"validation", "test"}
    assert scores["id"].is_unique
    assert (scores["entity"] == scores["service"]).all()
    prefix = scores["id"].str.split("@").str[0]
    assert (prefix == scores["service"]).all()
    assert scores["score"].notna().all()


# --- figures ------------------------------------------------------------------------------------


def test_graph_layout_puts_callees_to_the_right_of_their_callers() -> None:
    from anomaly_tutorial.correlation.plots import graph_layout

    pos = graph_layout(co.graph_from_edges([("web", "api"), ("api", "db"), ("web", "db")]))
    assert {s: x for s, (x, _) in pos.items()} == {"web": 0.0, "api": 1.0, "db": 2.0}
    assert set(graph_layout(SHOP, ["auth", "auth-db"])) == {"auth", "auth-db"}
    with pytest.raises(ValueError, match=r"unknown service\(s\) \['nope'\]"):
        graph_layout(SHOP, ["nope"])


def test_figures_draw_what_they_are_given() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from anomaly_tutorial.correlation.plots import (
        alert_timeline,
        recall_heatmap,
        service_graph_plot,
    )

    fig, (ax0, ax1, ax2) = plt.subplots(1, 3)
    ranking = co.rank_root_causes(candidates(web=(3, 40), api=(1, 10), db=(0, 2)), CHAIN)
    service_graph_plot(CHAIN, ranking, truth="db", ax=ax0)
    labels = sorted(t.get_text() for t in ax0.texts if t.get_text())  # arrows have no text
    assert labels == ["#1 db", "#2 api", "#3 web"]
    alerts = alerts_frame(
        [("metrics", "db@1", 1, "db", "db", "inc-1"), ("events", "e2", 5, "web", "u2", None)]
    )
    truth = pd.DataFrame(
        {
            "start_time": [T0],
            "end_time": [T0 + 10 * MIN],
            "root_cause_service": ["db"],
            "anomaly_type": ["db_timeout_burst"],
        },
        index=["inc-1"],
    )
    alert_timeline(alerts, truth, start_ms=T0, end_ms=T0 + 20 * MIN, ax=ax1)
    assert [t.get_text() for t in ax1.get_yticklabels()] == ["db", "web"]
    recall = pd.DataFrame({"a": [1.0, 0.0]}, index=["x", "y"])
    delay = pd.DataFrame({"a": [2.0, np.nan]}, index=["x", "y"])
    recall_heatmap(recall, delay, pd.Series({"x": 3, "y": 1}), ax=ax2)
    assert [t.get_text() for t in ax2.texts] == ["100%\n2 min", "0%"]
    plt.close(fig)


def test_benchmark_pools_hits_over_seeds() -> None:
    from anomaly_tutorial.correlation.benchmark import _summary

    families = pd.DataFrame(
        {
            "alerts of": ["events", "events"],
            "incidents_caught": [1, 3],
            "n_incidents": [4, 4],
            "alerts_per_day": [10.0, 20.0],
            "false_alerts_per_day": [5.0, 7.0],
            "groups_per_day": [2.0, 4.0],
            "incident_precision": [0.5, 0.25],
            "median_delay_min": [1.0, 3.0],
        }
    )
    root_cause = pd.DataFrame(
        {
            "ranking": ["call graph", "call graph"],
            "hits_top1": [1, 2],
            "hits_top3": [2, 3],
            "n_incidents": [2, 4],
        }
    )
    summary = _summary(families, root_cause)
    assert summary["families"]["events"]["incident_recall"] == pytest.approx(0.5)
    assert summary["families"]["events"]["alerts_per_day"] == pytest.approx(15.0)
    assert summary["root_cause"]["call graph"]["top1"] == pytest.approx(0.5)
    assert summary["root_cause"]["call graph"]["top3"] == pytest.approx(5 / 6, abs=1e-4)
