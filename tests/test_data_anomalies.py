"""Tests of the anomaly registry, the incident plan and what each injector produces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.data import (
    ALL_ANOMALY_TYPES,
    ANOMALY_TYPES,
    GeneratorConfig,
    default_dataset,
    generate_dataset,
    plan_incidents,
    single_field_separability,
    time_split,
)
from anomaly_tutorial.data.traffic import ADMIN_OPS

EXPECTED_TYPES = {
    "latency_spike", "slow_query", "db_timeout_burst", "error_burst_5xx", "memory_leak",
    "cache_miss_storm", "brute_force", "credential_stuffing", "data_exfiltration", "port_scan",
    "impossible_travel", "privilege_escalation", "account_takeover",
}


@pytest.fixture(scope="module")
def ds():
    return default_dataset()


@pytest.fixture(scope="module")
def ev(ds):
    return ds.events


def test_registry():
    assert set(ANOMALY_TYPES) == EXPECTED_TYPES == set(ALL_ANOMALY_TYPES)
    for name, info in ANOMALY_TYPES.items():
        assert info.name == name
        assert info.kind in {"point", "contextual", "collective"}
        assert info.domain in {"operations", "security"}
        assert info.shows_in in {"events", "metrics", "both"}
        assert info.description
    assert ANOMALY_TYPES["port_scan"].domain == "security"
    assert ANOMALY_TYPES["memory_leak"].shows_in == "metrics"


def test_default_dataset_is_memoised(ds):
    assert default_dataset() is ds
    assert ds.config == GeneratorConfig()


def test_plan_is_deterministic_and_realised(ds, ev):
    plan = plan_incidents(ds.config)
    pd.testing.assert_frame_equal(plan, plan_incidents(GeneratorConfig()))
    pd.testing.assert_frame_equal(plan, ds.plan)
    inc = ds.incidents
    assert list(inc["incident_id"]) == list(plan["incident_id"])
    assert (inc["anomaly_type"].value_counts().sort_index()
            == plan["anomaly_type"].value_counts().sort_index()).all()
    assert (inc["n_events"].to_numpy() == plan["n_events"].to_numpy()).all()
    labelled = ev.loc[ev["is_anomaly"], "incident_id"].value_counts()
    with_events = inc[inc["n_events"] > 0].set_index("incident_id")["n_events"]
    assert labelled.to_dict() == with_events.to_dict()
    assert inc["incident_id"].str.fullmatch(r"inc-\d{4}").all()


def test_labels_consistent(ds, ev):
    normal = ev[~ev["is_anomaly"]]
    assert (normal["anomaly_type"] == "normal").all()
    assert (normal["anomaly_kind"] == "normal").all()
    assert normal["incident_id"].isna().all()
    anom = ev[ev["is_anomaly"]]
    assert anom["incident_id"].notna().all()
    kinds = anom["anomaly_type"].map({k: v.kind for k, v in ANOMALY_TYPES.items()})
    assert (anom["anomaly_kind"] == kinds).all()
    labels = ds.labels
    assert list(labels.columns) == ["event_id", *ocsf.LABEL_COLUMNS]
    assert labels["event_id"].equals(ev["event_id"])


def test_anomaly_rate_within_tolerance(ev):
    rate = ev["is_anomaly"].mean()
    assert abs(rate - 0.015) <= 0.2 * 0.015


@pytest.mark.parametrize("rate", [0.005, 0.05])
def test_anomaly_rate_follows_config(rate):
    ds = generate_dataset(GeneratorConfig(n_events=10_000, days=7, seed=5, anomaly_rate=rate))
    assert abs(ds.events["is_anomaly"].mean() - rate) <= 0.2 * rate + 0.001


def test_overrides_and_subsets():
    cfg = GeneratorConfig(n_events=6_000, days=5, seed=2, anomaly_rate=0.03,
                          anomaly_types=("port_scan", "brute_force", "latency_spike"),
                          incidents_per_type={"port_scan": 3})
    ds = generate_dataset(cfg)
    counts = ds.incidents["anomaly_type"].value_counts()
    assert counts["port_scan"] == 3
    assert set(ds.events.loc[ds.events["is_anomaly"], "anomaly_type"]) <= set(cfg.anomaly_types)
    none = generate_dataset(GeneratorConfig(n_events=3_000, days=3, anomaly_rate=0.0))
    assert not none.events["is_anomaly"].any() and len(none.incidents) == 0


def test_incident_scale_makes_fewer_larger_incidents():
    base = plan_incidents(GeneratorConfig())
    big = plan_incidents(GeneratorConfig(incident_scale=2.0))
    sec = ["brute_force", "port_scan", "credential_stuffing"]
    nb = base[base["anomaly_type"].isin(sec)]
    ng = big[big["anomaly_type"].isin(sec)]
    assert len(ng) < len(nb)
    assert ng["n_events"].mean() > nb["n_events"].mean()


def test_every_event_type_in_both_parts_of_a_time_split(ds, ev):
    train, test = time_split(ev, 0.7)
    counts = ds.incidents[ds.incidents["n_events"] > 0]["anomaly_type"].value_counts()
    for name, n in counts.items():
        if n >= 2:
            assert (train["anomaly_type"] == name).any(), name
            assert (test["anomaly_type"] == name).any(), name


def _of(ev, name):
    return ev[ev["anomaly_type"] == name]


def test_ops_anomalies_modify_service_traffic(ev):
    normal_http = ev[~ev["is_anomaly"] & (ev["class_uid"] == ocsf.HTTP_ACTIVITY)]
    ls = _of(ev, "latency_spike")
    assert (ls["class_uid"] == ocsf.HTTP_ACTIVITY).all()
    assert ls.groupby("incident_id")["dst_endpoint.svc_name"].nunique().eq(1).all()
    assert ls["duration"].median() > 1.5 * normal_http["duration"].median()
    db = _of(ev, "db_timeout_burst")
    assert db["http_response.code"].isin([500, 504]).all()
    assert db["dst_endpoint.svc_name"].isin(["orders", "inventory"]).all()
    assert (db.loc[db["http_response.code"] == 504, "duration"] > 29_000).all()
    assert db["message"].str.contains("timed out|statement timeout").all()
    eb = _of(ev, "error_burst_5xx")
    assert (eb["http_response.code"] == 503).all() and (eb["status_id"] == 2).all()
    sq = _of(ev, "slow_query")
    assert (sq["duration"] >= 4_000).all()
    assert sq["message"].str.startswith("query ").all()
    cm = _of(ev, "cache_miss_storm")
    assert cm["dst_endpoint.svc_name"].isin(["search", "inventory"]).all()
    assert cm["message"].str.startswith("cache miss for key").all()
    # the same template also occurs in normal traffic: the anomaly is in the rate
    assert normal_http["message"].str.startswith("cache miss for key").sum() > 100


def test_latency_spikes_include_subtle_ones(ds):
    plan = ds.plan[ds.plan["anomaly_type"] == "latency_spike"]
    assert (plan["strength"] < 0.45).any() or len(plan) < 3


def test_brute_force_and_port_scan(ev):
    bf = _of(ev, "brute_force")
    g = bf.groupby("incident_id")
    assert g["src_endpoint.ip"].nunique().eq(1).all()
    assert g["user.name"].nunique().eq(1).all()
    assert (bf["status_id"] == 2).all()
    assert ((g["time"].max() - g["time"].min()) < 15 * 60_000).all()
    ps = _of(ev, "port_scan")
    g = ps.groupby("incident_id")
    assert g["src_endpoint.ip"].nunique().eq(1).all()
    assert (g["dst_endpoint.port"].nunique() == g.size()).all()
    assert ps["activity_name"].isin(["Refuse", "Reset", "Open"]).all()
    assert (ps["traffic.bytes_out"] < 200).all()


def test_credential_stuffing_is_low_and_slow(ev):
    cs = _of(ev, "credential_stuffing")
    g = cs.groupby("incident_id")
    assert g["src_endpoint.ip"].nunique().eq(1).all()
    assert (g["user.name"].nunique() >= 0.8 * g.size()).all()
    assert (cs["status_id"] == 1).any() and (cs["status_id"] == 2).mean() > 0.8
    assert ((g["time"].max() - g["time"].min()) > 30 * 60_000).all()


def test_data_exfiltration_is_large_and_at_night(ev):
    ex = _of(ev, "data_exfiltration")
    hours = pd.to_datetime(ex["time"], unit="ms", utc=True).dt.hour
    assert (hours < 8).all()
    normal = ev[~ev["is_anomaly"]]
    assert ex["traffic.bytes_out"].median() > 20 * normal["traffic.bytes_out"].median()
    assert ex.groupby("incident_id")["actor.user.name"].nunique().eq(1).all()


def test_impossible_travel(ds, ev):
    it = _of(ev, "impossible_travel")
    from anomaly_tutorial.data.world import build_world

    world = build_world(ds.config.n_users, ds.config.seed)
    home = world.users.set_index("name")["country"]
    assert (it["status_id"] == 1).all() and (it["activity_id"] == 1).all()
    assert (it["src_endpoint.location.country"].to_numpy()
            != home.loc[it["user.name"]].to_numpy()).all()
    normal_auth = ev[~ev["is_anomaly"] & (ev["class_uid"] == ocsf.AUTHENTICATION)]
    for _, row in it.iterrows():
        prior = normal_auth[(normal_auth["user.name"] == row["user.name"])
                            & (normal_auth["time"] < row["time"])
                            & (normal_auth["time"] > row["time"] - 90 * 60_000)
                            & (normal_auth["src_endpoint.location.country"]
                               == home[row["user.name"]])]
        assert len(prior) >= 1
    # each event alone looks ordinary: the message template is the normal one
    assert it["message"].str.startswith("login succeeded").all()


def test_privilege_escalation(ds, ev):
    from anomaly_tutorial.data.world import build_world

    world = build_world(ds.config.n_users, ds.config.seed)
    role = world.users.set_index("name")["role"]
    pe = _of(ev, "privilege_escalation")
    assert (pe["class_uid"] == ocsf.API_ACTIVITY).all()
    assert (role.loc[pe["actor.user.name"]] == "user").all()
    assert pe["api.operation"].isin(list(ADMIN_OPS)).all()
    assert (pe["status_id"] == 2).any() and (pe["status_id"] == 1).any()


def test_account_takeover_chains(ev):
    at = _of(ev, "account_takeover")
    assert at["incident_id"].nunique() >= 2
    for _, g in at.groupby("incident_id"):
        g = g.sort_values("time")
        ext = g[g["class_uid"] != ocsf.NETWORK_ACTIVITY]
        assert ext["src_endpoint.ip"].nunique() == 1
        auth = g[g["class_uid"] == ocsf.AUTHENTICATION]
        ok_login = auth[auth["status_id"] == 1]
        assert len(ok_login) == 1 and (auth["status_id"] == 2).sum() >= 1
        t_ok = ok_login["time"].iloc[0]
        assert (auth.loc[auth["status_id"] == 2, "time"] <= t_ok).all()
        api = g[g["class_uid"] == ocsf.API_ACTIVITY]
        assert len(api) >= 1 and (api["time"] > t_ok).all()
        assert api["api.operation"].isin(list(ADMIN_OPS)).all()
        out = g[g["class_uid"].isin([ocsf.HTTP_ACTIVITY, ocsf.NETWORK_ACTIVITY])]
        assert len(out) >= 1 and (out["time"] > api["time"].max()).all()
        assert (out["traffic.bytes_out"] > 5e6).all()
        span = (g["time"].max() - g["time"].min()) / 60_000
        assert 10 <= span <= 110


def test_subtlety_diagnostics(ev):
    table = single_field_separability(ev)
    assert set(table.columns) == {"anomaly_type", "n_events", "best_field", "best_auc",
                                  "direction"}
    assert table["best_field"].isin(ev.columns).all()
    assert (table["best_auc"] < 0.9).sum() >= 3, table
    assert (table["best_auc"] > 0.95).sum() >= 2, table
    obvious = set(table.loc[table["best_auc"] > 0.95, "anomaly_type"])
    assert {"db_timeout_burst", "port_scan"} <= obvious


def test_separability_validates_input(ev):
    with pytest.raises(ValueError, match="is_anomaly"):
        single_field_separability(ev.drop(columns="is_anomaly"))
    with pytest.raises(ValueError, match="normal and anomalous"):
        single_field_separability(ev[~ev["is_anomaly"]])


def test_auc_helper_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    from anomaly_tutorial.data.diagnostics import _auc

    rng = np.random.default_rng(0)
    pos = rng.normal(1, 1, 50).round(1)
    neg = rng.normal(0, 1, 300).round(1)
    y = np.r_[np.ones(50), np.zeros(300)]
    assert _auc(pos, np.sort(neg)) == pytest.approx(roc_auc_score(y, np.r_[pos, neg]))
