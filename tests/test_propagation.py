"""Incidents that propagate along the call graph (``GeneratorConfig.propagate_incidents``)."""

from __future__ import annotations

import hashlib
from functools import cache

import pandas as pd
import pytest

from anomaly_tutorial.data import GeneratorConfig, default_dataset, generate_dataset
from anomaly_tutorial.data.anomalies import (
    PROPAGATING_TYPES,
    PROPAGATION_ATTENUATION,
    PROPAGATION_LAG_MS,
    blast_radius,
    service_callers,
)
from anomaly_tutorial.data.metrics import apply_effects, base_metrics

#: Digests of the default dataset computed on main before propagation existed (same code path,
#: flag off): the book's figures must not move.
DEFAULT_DIGESTS = {
    "events": "e03f9df94bf86944ef15f6103ed34187e373dae9e27f85db5e04114b608b6196",
    "metrics": "091a6c29aa7428ea0ad11ab9b4c1a964995934f0143b5386087287fbf9a1d5df",
    "spans": "2301d35dd975f0b559a319dbfb40d71216ab27586f2bf8774e7ba78a87d1bfa6",
    "incidents": "b8c964136076143d41e70522d39ed0a0e870bdab2f5256d2b4034ede6cabf1d5",
}
OPS = dict.fromkeys(PROPAGATING_TYPES, 5)
SMALL = GeneratorConfig(n_events=20_000, days=7, seed=7, incidents_per_type=OPS)
SMALL_ON = GeneratorConfig(
    n_events=20_000, days=7, seed=7, incidents_per_type=OPS, propagate_incidents=True
)


def digest(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(",".join(map(str, frame.columns)).encode())
    h.update(",".join(map(str, frame.dtypes)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


@cache
def on():  # type: ignore[no-untyped-def]
    return generate_dataset(SMALL_ON)


@cache
def off():  # type: ignore[no-untyped-def]
    return generate_dataset(SMALL)


def test_default_dataset_is_byte_identical_to_before() -> None:
    dataset = default_dataset()
    for name, expected in DEFAULT_DIGESTS.items():
        assert digest(getattr(dataset, name)) == expected, name


def test_flag_is_off_by_default_and_validated() -> None:
    assert GeneratorConfig().propagate_incidents is False
    assert hash(SMALL) != hash(SMALL_ON) and SMALL != SMALL_ON
    with pytest.raises(ValueError, match="propagate_incidents: must be True or False"):
        GeneratorConfig(propagate_incidents=1)  # type: ignore[arg-type]


def test_flag_off_keeps_postgres_and_the_incident_columns() -> None:
    dataset = off()
    assert "postgres" in set(dataset.spans["service"])
    assert "root_cause_service" not in dataset.incidents.columns


def test_blast_radius_follows_callers_not_callees() -> None:
    radius = {caller: (hop, via) for caller, hop, via in blast_radius("payments")}
    assert radius == {"orders": (1, "payments"), "frontend": (2, "orders")}
    assert blast_radius("frontend") == []  # nobody calls the entry point
    assert {c for c, _, _ in blast_radius("inventory")} == {"frontend", "orders"}
    assert "inventory" not in {c for c, _, _ in blast_radius("orders")}  # orders calls it
    assert set(service_callers()["orders"]) == {"frontend"}


def test_symptoms_reach_the_callers_only_later_per_hop() -> None:
    dataset = on()
    events = dataset.events
    incidents = dataset.incidents.set_index("incident_id")
    spread = incidents[incidents["affected_services"].str.len() > 0]
    assert len(spread) >= 5
    for inc, row in spread.iterrows():
        root = row["root_cause_service"]
        hops = {caller: hop for caller, hop, _ in blast_radius(root)}
        own = events[events["incident_id"] == inc]
        where = own["dst_endpoint.svc_name"].astype(str)
        symptoms = own[where != root]
        assert set(where[where != root]) <= set(hops), inc
        assert set(row["affected_services"].split(",")) == set(where[where != root]), inc
        assert len(symptoms) == row["n_symptom_events"]
        root_start = int(own.loc[where == root, "time"].min())
        for caller, hop in hops.items():
            times = symptoms.loc[where[where != root] == caller, "time"]
            if len(times):
                assert times.min() >= root_start + hop * PROPAGATION_LAG_MS, (inc, caller)


def _spike_factor(strength: float) -> float:
    # inject_latency_spike: x1.8-2.5 for weak incidents, x3-5.75 for the others
    return 1.8 + 0.7 * strength / 0.45 if strength < 0.45 else 3.0 + 5.0 * (strength - 0.45)


def test_symptoms_are_slower_or_failing_like_their_cause_and_weaker_per_hop() -> None:
    before = off().events.set_index("event_id")
    after = on().events.set_index("event_id")
    plan = on().plan.set_index("incident_id")
    incidents = on().incidents.set_index("incident_id")
    seen_hops = set()
    for inc, row in incidents[incidents["n_symptom_events"] > 0].iterrows():
        own = after[after["incident_id"] == inc]
        symptoms = own[own["dst_endpoint.svc_name"] != row["root_cause_service"]]
        code = symptoms["http_response.code"].to_numpy(dtype=float)
        if row["anomaly_type"] == "db_timeout_burst":
            assert (code == 504).all() and (symptoms["duration"] > 29_000).all()
            continue
        if row["anomaly_type"] == "error_burst_5xx":
            assert (code == 502).all()
            continue
        factor = (
            _spike_factor(plan.at[inc, "strength"])
            if row["anomaly_type"] == "latency_spike"
            else 1.65
        )
        hops = {c: hop for c, hop, _ in blast_radius(row["root_cause_service"])}
        ratio = symptoms["duration"] / before.loc[symptoms.index, "duration"]
        hop = symptoms["dst_endpoint.svc_name"].map(hops).to_numpy(dtype=int)
        expected = 1 + (factor - 1) * PROPAGATION_ATTENUATION**hop
        assert (ratio.to_numpy() >= 0.9 * expected - 0.02).all(), inc
        assert (ratio.to_numpy() <= 1.1 * expected + 0.02).all(), inc
        seen_hops |= set(hop)
    assert seen_hops == {1, 2}  # both hops were exercised


def test_caller_metric_effect_is_attenuated_per_hop() -> None:
    config = SMALL_ON
    base = base_metrics(config)
    t0 = config.start_ms + 2 * 86_400_000 + 10 * 3_600_000
    t1 = t0 + 30 * 60_000
    window = (base["service"] == "orders") & base["time"].between(t0, t1)
    increase = {}
    for kind, column in [("latency_spike", "latency_p95_ms"), ("error_burst_5xx", "error_rate")]:
        for a in (PROPAGATION_ATTENUATION, PROPAGATION_ATTENUATION**2):
            out, points = apply_effects(base, [("inc-x", kind, "orders", t0, t1, 4.0, a)], config)
            assert points["inc-x"] == int(window.sum())
            assert out.loc[window, "is_anomaly"].all() and not out.loc[~window, "is_anomaly"].any()
            increase[kind, a] = float((out.loc[window, column] - base.loc[window, column]).mean())
        assert increase[kind, PROPAGATION_ATTENUATION] > increase[kind, PROPAGATION_ATTENUATION**2]
        assert increase[kind, PROPAGATION_ATTENUATION**2] > 0
    with pytest.raises(ValueError, match="does not propagate"):
        apply_effects(base, [("inc-y", "memory_leak", "orders", t0, t1, 1.0, 0.6)], config)


def test_metrics_of_callers_carry_the_incident() -> None:
    dataset = on()
    metrics = dataset.metrics
    incidents = dataset.incidents.set_index("incident_id")
    spread = incidents[incidents["affected_services"].str.len() > 0]
    for inc, row in spread.iterrows():
        services = set(metrics.loc[metrics["incident_id"] == inc, "service"])
        assert row["root_cause_service"] in services
        assert services <= {row["root_cause_service"], *row["affected_services"].split(",")}


def test_spans_of_symptoms_cover_the_slow_callee_and_name_owned_databases() -> None:
    dataset = on()
    spans = dataset.spans
    services = set(spans["service"])
    assert "postgres" not in services and {"orders-db", "inventory-db"} <= services
    events = dataset.events.set_index("event_id")
    incidents = dataset.incidents.set_index("incident_id")
    roots = spans[spans["parent_span_id"].isna()].set_index("span_id")
    children = spans[spans["parent_span_id"].notna()]
    checked = 0
    for inc, row in incidents[incidents["n_symptom_events"] > 0].iterrows():
        root = row["root_cause_service"]
        hop1 = {c for c, hop, _ in blast_radius(root) if hop == 1}
        ids = events.index[
            (events["incident_id"] == inc) & events["dst_endpoint.svc_name"].isin(hop1)
        ]
        parents = roots[roots["event_id"].isin(ids)]
        calls = children[
            children["parent_span_id"].isin(parents.index) & (children["service"] == root)
        ]
        if calls.empty:
            continue
        parent = parents.loc[calls["parent_span_id"]]
        assert (calls["duration_ms"].to_numpy() >= 0.89 * parent["duration_ms"].to_numpy()).all()
        failed = parent["status"].to_numpy() == "error"
        assert (calls["status"].to_numpy()[failed] == "error").all()
        checked += len(calls)
    assert checked > 10


def test_propagation_is_deterministic() -> None:
    again = generate_dataset(SMALL_ON)
    for name in ("events", "metrics", "incidents", "spans"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(on(), name))


def test_unpropagated_part_matches_the_flag_off_dataset() -> None:
    # the injected incidents are the same; only symptoms in callers are added
    a, b = off(), on()
    symptom = (a.events["is_anomaly"] != b.events["is_anomaly"]).to_numpy()
    assert symptom.any() and (~a.events["is_anomaly"].to_numpy()[symptom]).all()
    pd.testing.assert_frame_equal(a.events[~symptom], b.events[~symptom])
    grown = ["end_time", "n_events", "n_metric_points"]
    pd.testing.assert_frame_equal(
        a.incidents.drop(columns=grown), b.incidents[a.incidents.columns].drop(columns=grown)
    )


def test_symptom_hops_mark_exactly_the_symptom_events() -> None:
    assert off().symptom_hops is None
    hops = on().symptom_hops
    events = on().events.set_index("event_id")
    assert hops.index.equals(events.index)
    symptom = hops["hop"] > 0
    incidents = on().incidents.set_index("incident_id")
    assert int(symptom.sum()) == int(incidents["n_symptom_events"].sum())
    assert events.loc[symptom, "is_anomaly"].all()
    assert hops.loc[~symptom, "waits_on"].isna().all()
    roots = events.loc[symptom, "incident_id"].map(incidents["root_cause_service"])
    hop1 = symptom & (hops["hop"] == 1)
    assert (hops.loc[hop1, "waits_on"] == roots[hop1[symptom]]).all()
