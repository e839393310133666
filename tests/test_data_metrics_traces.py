"""Tests of the per-service metrics and of the trace spans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.data import GeneratorConfig, generate_dataset
from anomaly_tutorial.data.metrics import METRIC_COLUMNS
from anomaly_tutorial.data.traffic import intensity
from anomaly_tutorial.data.world import SERVICES

CFG = GeneratorConfig(n_events=10_000, days=7, seed=21, anomaly_rate=0.04)


@pytest.fixture(scope="module")
def ds():
    return generate_dataset(CFG)


def test_metrics_shape_and_columns(ds):
    m = ds.metrics
    n_steps = CFG.days * 86_400 // CFG.metric_interval_s
    assert len(m) == n_steps * len(SERVICES)
    assert list(m.columns) == ["time", "service", *METRIC_COLUMNS, "is_anomaly",
                               "anomaly_type", "incident_id"]
    assert m[list(METRIC_COLUMNS)].notna().all().all()
    assert set(m["service"]) == set(SERVICES)
    assert (m.groupby("service").size() == n_steps).all()
    assert m["time"].min() == CFG.start_ms and m["time"].max() < CFG.end_ms
    assert m["cpu_pct"].between(0, 100).all() and m["error_rate"].between(0, 1).all()


def test_metrics_follow_the_seasonal_load(ds):
    m = ds.metrics[(ds.metrics["service"] == "frontend") & ~ds.metrics["is_anomaly"]]
    load = intensity(m["time"].to_numpy())
    assert np.corrcoef(load, m["request_rate"])[0, 1] > 0.8
    assert np.corrcoef(load, m["cpu_pct"])[0, 1] > 0.5
    # autocorrelated noise: neighbouring points are close
    cpu = m["cpu_pct"].to_numpy()
    assert np.corrcoef(cpu[:-1], cpu[1:])[0, 1] > 0.8


def test_metric_labels_match_incidents(ds):
    m = ds.metrics
    counts = m.loc[m["is_anomaly"], "incident_id"].value_counts().to_dict()
    inc = ds.incidents.set_index("incident_id")
    for incident_id, n in counts.items():
        assert inc.at[incident_id, "n_metric_points"] == n
    assert (m.loc[~m["is_anomaly"], "anomaly_type"] == "normal").all()
    assert m.loc[~m["is_anomaly"], "incident_id"].isna().all()
    labelled_types = set(m.loc[m["is_anomaly"], "anomaly_type"])
    assert "memory_leak" in labelled_types
    assert labelled_types <= {"latency_spike", "db_timeout_burst", "error_burst_5xx",
                              "cache_miss_storm", "memory_leak"}


def _window(ds, incident_id):
    m = ds.metrics
    sel = m["incident_id"] == incident_id
    svc = m.loc[sel, "service"].iloc[0]
    same = m[(m["service"] == svc) & ~m["is_anomaly"]]
    return m[sel], same


def test_incidents_are_visible_in_metrics(ds):
    inc = ds.incidents
    for _, row in inc[inc["n_metric_points"] > 0].iterrows():
        win, normal = _window(ds, row["incident_id"])
        kind = row["anomaly_type"]
        if kind == "memory_leak":
            assert win["memory_mb"].iloc[-5:].mean() > normal["memory_mb"].quantile(0.99)
        elif kind in ("db_timeout_burst", "error_burst_5xx"):
            assert win["error_rate"].mean() > 10 * normal["error_rate"].median()
        elif kind == "cache_miss_storm":
            assert win["cpu_pct"].mean() > normal["cpu_pct"].mean() + 10
        elif kind == "latency_spike":
            assert win["latency_p95_ms"].median() > 1.4 * normal["latency_p95_ms"].median()


def test_spans_link_to_http_events(ds):
    sp = ds.spans
    assert ds.spans is sp  # cached
    assert list(sp.columns) == ["trace_id", "span_id", "parent_span_id", "service",
                                "operation", "start_time", "duration_ms", "status", "event_id"]
    http = ds.events[ds.events["class_uid"] == ocsf.HTTP_ACTIVITY]
    roots = sp[sp["parent_span_id"].isna()]
    assert len(roots) == len(http)
    assert roots["event_id"].tolist() == http["event_id"].tolist()
    assert roots["trace_id"].tolist() == http["trace.uid"].tolist()
    assert sp["span_id"].is_unique
    children = sp[sp["parent_span_id"].notna()]
    assert len(children) > len(roots) * 0.8
    assert children["event_id"].isna().all()
    assert {"postgres", "redis", "payments", "inventory"} <= set(children["service"])


def test_children_nest_within_parents(ds):
    sp = ds.spans
    parent = sp.set_index("span_id")
    ch = sp[sp["parent_span_id"].notna()]
    p = parent.loc[ch["parent_span_id"]]
    assert (ch["trace_id"].to_numpy() == p["trace_id"].to_numpy()).all()
    assert (ch["start_time"].to_numpy() >= p["start_time"].to_numpy()).all()
    end_c = ch["start_time"].to_numpy() + ch["duration_ms"].to_numpy()
    end_p = p["start_time"].to_numpy() + p["duration_ms"].to_numpy()
    assert (end_c <= end_p + 1e-6).all()


def test_db_timeouts_propagate_to_db_spans(ds):
    ev = ds.events
    sp = ds.spans
    bad = ev.loc[ev["anomaly_type"].isin(["db_timeout_burst", "slow_query"]), "trace.uid"]
    assert len(bad) > 0
    db = sp[(sp["service"] == "postgres") & sp["trace_id"].isin(bad)]
    root = sp[sp["parent_span_id"].isna()].set_index("trace_id")["duration_ms"]
    share = db["duration_ms"].to_numpy() / root.loc[db["trace_id"]].to_numpy()
    assert (share > 0.9).all()
    normal_db = sp[(sp["service"] == "postgres") & ~sp["trace_id"].isin(bad)]
    normal_share = normal_db["duration_ms"].to_numpy() / root.loc[
        normal_db["trace_id"]].to_numpy()
    assert np.median(normal_share) < 0.9
    assert (sp.loc[sp["trace_id"].isin(ev.loc[ev["http_response.code"] >= 500, "trace.uid"])
                   & sp["parent_span_id"].isna(), "status"] == "error").all()


def test_spans_deterministic(ds):
    again = generate_dataset(CFG)
    pd.testing.assert_frame_equal(ds.spans, again.spans)
