"""Tests of anomaly_tutorial.cases.network: campaign injection, case features, rules, budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.cases import network
from anomaly_tutorial.data import GeneratorConfig, generate_dataset
from anomaly_tutorial.io import validate_events


@pytest.fixture(scope="module")
def base():
    return generate_dataset(
        GeneratorConfig(n_events=6_000, days=14, anomaly_types=(), anomaly_rate=0.0, seed=3)
    )


@pytest.fixture(scope="module")
def injected(base):
    config = network.CampaignConfig(campaigns_per_type={"beaconing": 3, "port_scan": 0},
                                    default_count=2, seed=5)  # fmt: skip
    return network.inject_campaigns(base, config)


# --- injection ---------------------------------------------------------------------------------
def test_campaigns_counted_as_configured(injected):
    events, incidents = injected
    counts = incidents["anomaly_type"].value_counts().to_dict()
    expected = {name: 2 for name in network.CAMPAIGNS if name not in ("beaconing", "port_scan")}
    expected["beaconing"] = 3
    assert counts == expected
    labelled = events[events["is_anomaly"]]
    assert labelled["incident_id"].nunique() == len(incidents)
    per_incident = labelled.groupby("incident_id").size()
    assert per_incident.loc[incidents["incident_id"]].tolist() == incidents["n_events"].tolist()
    kinds = labelled.groupby("anomaly_type")["anomaly_kind"].first()
    assert all(kinds[name] == network.CAMPAIGNS[name][0] for name in kinds.index)


def test_injection_is_deterministic_and_seeded(base, injected):
    config = network.CampaignConfig(campaigns_per_type={"beaconing": 3, "port_scan": 0},
                                    default_count=2, seed=5)  # fmt: skip
    again, _ = network.inject_campaigns(base, config)
    pd.testing.assert_frame_equal(again, injected[0])
    other, _ = network.inject_campaigns(base, network.CampaignConfig(default_count=2, seed=6))
    assert not other[other["is_anomaly"]]["time"].equals(
        injected[0][injected[0]["is_anomaly"]]["time"]
    )


def test_base_events_kept_unchanged(base, injected):
    events, _ = injected
    kept = events[~events["is_anomaly"]].set_index("event_id").sort_index()
    original = base.events.set_index("event_id").sort_index()
    pd.testing.assert_frame_equal(kept, original, check_like=False)
    assert events["time"].is_monotonic_increasing
    assert events["event_id"].is_unique
    assert list(events.columns) == list(base.events.columns)
    assert (events.dtypes == base.events.dtypes).all()


def test_injected_events_validate_as_ocsf(injected):
    events, _ = injected
    new = events[events["is_anomaly"]]
    names = list(ocsf.FLAT_COLUMNS)
    records = [ocsf.unflatten_event(dict(zip(names, row, strict=True)))
               for row in new[names].itertuples(index=False, name=None)]  # fmt: skip
    valid, bad = validate_events(records)
    assert bad == [] and len(valid) == len(new)
    assert set(new["class_uid"]) == {ocsf.AUTHENTICATION, ocsf.NETWORK_ACTIVITY, ocsf.API_ACTIVITY}


def test_campaign_shapes(injected):
    events, _ = injected
    spray = events[events["anomaly_type"] == "password_spray"]
    for _, g in spray.groupby("incident_id"):
        assert g["user.name"].is_unique  # one try per account
        assert np.diff(g["time"].to_numpy()).min() >= 15 * 60_000  # low and slow
    beacon = events[events["anomaly_type"] == "beaconing"]
    for _, g in beacon.groupby("incident_id"):
        assert g["dst_endpoint.ip"].nunique() == 1
        assert network.beacon_periodicity(g["time"].to_numpy()) > 0.8


def test_bad_config_and_input(base):
    with pytest.raises(ValueError, match="unknown campaign 'ddos'"):
        network.CampaignConfig(campaigns_per_type={"ddos": 1})
    with pytest.raises(ValueError, match="'beaconing': count must be an int >= 0"):
        network.CampaignConfig(campaigns_per_type={"beaconing": -1})
    with pytest.raises(ValueError, match="default_count"):
        network.CampaignConfig(default_count=1.5)
    with pytest.raises(TypeError, match="dataset: expected an OCSFDataset"):
        network.inject_campaigns(base.events)
    with pytest.raises(TypeError, match="config: expected a CampaignConfig"):
        network.inject_campaigns(base, {"beaconing": 1})


# --- beacon periodicity ------------------------------------------------------------------------
def test_beacon_periodicity_hand_made():
    clock = np.arange(0, 10 * 60_000, 60_000)
    assert network.beacon_periodicity(clock) == pytest.approx(1.0)
    # gaps 60 and 120 s alternating: mean 90, std 30 -> 1 - 1/3
    alternating = np.cumsum([0, 60, 120, 60, 120, 60, 120]) * 1000
    assert network.beacon_periodicity(alternating) == pytest.approx(2 / 3)
    rng = np.random.default_rng(0)
    jittered = np.cumsum(600_000 * rng.uniform(0.85, 1.15, 200))
    assert 0.85 < network.beacon_periodicity(jittered) < 0.95
    poisson = np.cumsum(rng.exponential(600_000, 200))
    assert network.beacon_periodicity(poisson) < 0.2
    assert network.beacon_periodicity(clock[:5]) == 0.0  # 4 gaps < min_gaps


def test_beacon_periodicity_bad_input():
    with pytest.raises(ValueError, match="not in increasing order at position 2"):
        network.beacon_periodicity([0, 10, 5, 20])
    with pytest.raises(ValueError, match="finite"):
        network.beacon_periodicity([0, np.nan, 5])


# --- case features and rules on hand-made events -----------------------------------------------
def _events(rows: list[dict]) -> pd.DataFrame:
    columns = ["time", "class_uid", "status_id", "src_endpoint.ip", "dst_endpoint.ip",
               "dst_endpoint.port", "traffic.bytes_out", "actor.user.name", "user.name",
               "src_endpoint.location.country"]  # fmt: skip
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows])
    for c in ("dst_endpoint.port", "traffic.bytes_out"):
        frame[c] = frame[c].astype("Float64")
    return frame


def _login(t_s, src, user, ok=False, country="GB"):  # type: ignore[no-untyped-def]
    return {
        "time": int(t_s * 1000),
        "class_uid": ocsf.AUTHENTICATION,
        "status_id": 1 if ok else 2,
        "src_endpoint.ip": src,
        "user.name": user,
        "src_endpoint.location.country": country,
    }


def _flow(t_s, src, dst, port=443, bytes_out=500):  # type: ignore[no-untyped-def]
    return {
        "time": int(t_s * 1000),
        "class_uid": ocsf.NETWORK_ACTIVITY,
        "status_id": 1,
        "src_endpoint.ip": src,
        "dst_endpoint.ip": dst,
        "dst_endpoint.port": port,
        "traffic.bytes_out": bytes_out,
    }


def test_brute_force_versus_spray_features_and_rules():
    brute = [_login(10 * i, "6.6.6.6", "u1") for i in range(12)]  # 12 failures in 2 minutes
    spray = [_login(5_000 + 900 * i, "7.7.7.7", f"u{i}") for i in range(12)]  # one per 15 min
    events = _events(brute + spray)
    f = network.case_features(events)
    assert f["src_failed_logins_10m"].iloc[:12].tolist() == list(range(1, 13))
    assert f["src_failed_logins_10m"].iloc[12:].max() == 1
    assert f["src_accounts_failed_24h"].iloc[:12].max() == 1
    assert f["src_accounts_failed_24h"].iloc[-1] == 12
    assert f["src_failed_ratio_24h"].iloc[-1] == 1.0
    fired = network.SignatureRules(failed_logins=10).fire(f)
    assert fired["brute_force_rule"].iloc[:12].tolist() == [False] * 9 + [True] * 3
    assert not fired["any"].iloc[12:].any()  # the spray passes every rule


def test_scan_and_exfiltration_features_and_rules():
    port_scan = [_flow(i, "6.6.6.6", "10.0.0.1", port=1000 + i) for i in range(25)]
    host_scan = [_flow(100 + i, "10.0.0.9", f"10.0.1.{i}", port=445) for i in range(12)]
    exfil = [_flow(3_000 + 60 * i, "10.0.0.7", "8.8.4.4", bytes_out=40_000_000) for i in range(3)]
    f = network.case_features(_events(port_scan + host_scan + exfil))
    assert f["src_distinct_ports_10m"].iloc[24] == 25
    assert f["src_distinct_hosts_10m"].iloc[24] == 1
    assert f["src_distinct_hosts_10m"].iloc[36] == 12
    assert f["src_bytes_out_mb_1h"].iloc[-1] == pytest.approx(120.0)
    fired = network.SignatureRules().fire(f)
    assert fired["port_scan_rule"].iloc[:25].sum() == 5  # more than 20: the 21st to 25th
    assert fired["host_scan_rule"].iloc[25:37].sum() == 2  # 11th and 12th host
    assert fired["exfiltration_rule"].iloc[-3:].tolist() == [False, False, True]


def test_windows_forget_old_events():
    old = [_login(0, "6.6.6.6", "u1") for _ in range(5)]
    new = [_login(601, "6.6.6.6", "u1")]  # more than 10 minutes later
    f = network.case_features(_events(old + new))
    assert f["src_failed_logins_10m"].iloc[-1] == 1


def test_pair_periodicity_and_new_country():
    beacon = [_flow(300 * i, "10.0.0.5", "198.51.100.7") for i in range(10)]
    logins = [_login(10, "1.1.1.1", "u1", ok=True, country="GB"),
              _login(20, "1.1.1.1", "u1", ok=True, country="GB"),
              _login(30, "2.2.2.2", "u1", ok=True, country="KP")]  # fmt: skip
    f = network.case_features(_events(beacon + logins))
    assert f["pair_beacon_periodicity"].iloc[9] == pytest.approx(1.0)
    assert f["pair_beacon_periodicity"].iloc[:5].max() == 0.0  # too few gaps yet
    assert f["account_new_country"].iloc[-3:].tolist() == [0.0, 0.0, 1.0]


def test_case_features_are_causal(injected):
    events, _ = injected
    full = network.case_features(events)
    prefix = events.iloc[: len(events) // 2]
    pd.testing.assert_frame_equal(network.case_features(prefix), full.iloc[: len(prefix)])


def test_case_features_bad_input():
    events = _events([_login(0, "6.6.6.6", "u1")])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['status_id'\]"):
        network.case_features(events.drop(columns="status_id"))
    broken = events.astype({"time": "Float64"})
    broken.loc[0, "time"] = pd.NA
    with pytest.raises(ValueError, match="row 0, field 'time': missing value"):
        network.case_features(broken)
    with pytest.raises(ValueError, match="failed_logins: must be a positive number"):
        network.SignatureRules(failed_logins=0).fire(network.case_features(events))
    with pytest.raises(ValueError, match="use case_features"):
        network.SignatureRules().fire(pd.DataFrame({"x": [1]}))


# --- incident budget and evaluation ------------------------------------------------------------
def test_incident_budget_keeps_the_budget_on_its_period():
    rng = np.random.default_rng(1)
    n = 2_000
    times = np.sort(rng.integers(0, 2 * 86_400_000, n))
    events = pd.DataFrame({"time": times, "src_endpoint.ip": [f"1.1.1.{i % 50}" for i in range(n)],
                           "is_anomaly": np.zeros(n, bool)})  # fmt: skip
    scores = rng.normal(size=n)
    policy = network.IncidentBudget(max_incidents=3).fit(scores, events, period_days=2.0)
    flagged = events[policy.predict(scores)]
    grouped = network.IncidentBudget(3)._busiest_day(flagged)
    assert 0 < grouped <= 3
    looser = network.IncidentBudget(max_incidents=30).fit(scores, events, period_days=2.0)
    assert looser.threshold_ <= policy.threshold_
    assert policy.decision_["policy"] == "incident_budget"
    with pytest.raises(ValueError, match="max_incidents: must be a positive integer"):
        network.IncidentBudget(max_incidents=0).fit(scores, events, 2.0)
    with pytest.raises(ValueError, match="scores: expected 2000 values"):
        network.IncidentBudget().fit(scores[:5], events, 2.0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        network.IncidentBudget().fit(np.full(n, np.nan), events, 2.0)


def test_evaluate_alerts_counts_campaigns(injected):
    events, incidents = injected
    truth = events["is_anomaly"].to_numpy()
    first_of_each = (~events.duplicated("incident_id")).to_numpy() & truth
    result = network.evaluate_alerts(first_of_each, truth.astype(float), events, days=14.0)
    assert result["campaign recall"] == 1.0
    assert result["precision"] == 1.0
    assert result["PR-AUC"] == pytest.approx(1.0)
    assert result["alerts per day"] == pytest.approx(len(incidents) / 14.0)
    with pytest.raises(ValueError, match="one per event"):
        network.evaluate_alerts(first_of_each[:3], truth, events, days=14.0)


def test_explanations_name_what_stands_out():
    reference = pd.DataFrame(0.0, index=range(100), columns=list(network.CASE_FEATURES))
    alerts = reference.iloc[:2].copy()
    alerts.iloc[0, 0] = 25.0
    text = network.case_explanations(alerts, reference)
    assert text.iloc[0] == "25 failed logins from this source in 10 min"
    assert text.iloc[1] == "no case feature stands out"
