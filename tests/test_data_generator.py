"""Tests of the OCSF data generator: configuration, schema, realism, round trips, speed."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.data import (
    GeneratorConfig,
    generate_dataset,
    time_split,
)

SMALL = GeneratorConfig(n_events=8_000, days=7, seed=3, anomaly_rate=0.03)


@pytest.fixture(scope="module")
def small():
    return generate_dataset(SMALL)


@pytest.fixture(scope="module")
def events(small):
    return small.events


def test_same_config_gives_identical_frames(small):
    again = generate_dataset(GeneratorConfig(n_events=8_000, days=7, seed=3, anomaly_rate=0.03))
    pd.testing.assert_frame_equal(small.events, again.events)
    pd.testing.assert_frame_equal(small.metrics, again.metrics)
    pd.testing.assert_frame_equal(small.incidents, again.incidents)


def test_different_seeds_differ(small):
    other = generate_dataset(GeneratorConfig(n_events=8_000, days=7, seed=4, anomaly_rate=0.03))
    assert not small.events["message"].equals(other.events["message"])
    assert not np.array_equal(small.events["time"], other.events["time"])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_events": 10}, "n_events"),
        ({"n_events": 1000.0}, "n_events"),
        ({"days": 0}, "days"),
        ({"seed": -1}, "seed"),
        ({"n_users": 5}, "n_users"),
        ({"anomaly_rate": 0.5}, "anomaly_rate"),
        ({"anomaly_rate": float("nan")}, "anomaly_rate"),
        ({"anomaly_types": ("nope",)}, "anomaly_types"),
        ({"anomaly_types": "port_scan"}, "anomaly_types"),
        ({"incidents_per_type": {"nope": 1}}, "incidents_per_type"),
        ({"incidents_per_type": {"port_scan": -1}}, "incidents_per_type"),
        ({"incident_scale": 0}, "incident_scale"),
        ({"metric_interval_s": 1}, "metric_interval_s"),
        ({"start": "not a date"}, "start"),
    ],
)
def test_config_validation_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"GeneratorConfig.{field}"):
        GeneratorConfig(**kwargs)


def test_config_is_frozen_and_hashable():
    cfg = GeneratorConfig()
    with pytest.raises(AttributeError):
        cfg.seed = 3  # type: ignore[misc]
    assert hash(cfg) == hash(GeneratorConfig())
    assert pd.Timestamp(cfg.start_ms, unit="ms").day_name() == "Monday"


def test_generate_rejects_wrong_config_type():
    with pytest.raises(TypeError, match="config"):
        generate_dataset({"n_events": 100})  # type: ignore[arg-type]


def test_columns_dtypes_and_order(events):
    expected = list(ocsf.FLAT_COLUMNS) + list(ocsf.LABEL_COLUMNS)
    assert list(events.columns) == expected
    for col, dtype in ocsf.FLAT_COLUMNS.items():
        assert str(events[col].dtype) == dtype, col
    assert events["is_anomaly"].dtype == bool
    assert len(events) == SMALL.n_events


def test_sorted_unique_ids_and_period(events):
    assert events["time"].is_monotonic_increasing
    assert events["event_id"].is_unique
    assert events["event_id"].iloc[0] == "evt-00000001"
    assert events["time"].min() >= SMALL.start_ms
    assert events["time"].max() < SMALL.end_ms


def test_ocsf_consistency(events):
    assert (events["type_uid"] == events["class_uid"] * 100 + events["activity_id"]).all()
    for cls, group in events.groupby("class_uid"):
        assert (group["category_uid"] == ocsf.CATEGORY_OF_CLASS[cls]).all()
        assert (group["class_name"] == ocsf.CLASS_NAMES[cls]).all()
        names = group["activity_id"].map(ocsf.ACTIVITY_NAMES[cls])
        assert (group["activity_name"] == names).all()
        assert group["status_id"].isin([1, 2]).all()
        assert group["severity_id"].isin(list(ocsf.SEVERITY_NAMES)).all()
    http = events[events["class_uid"] == ocsf.HTTP_ACTIVITY]
    act = http["http_request.http_method"].map(ocsf.HTTP_METHOD_ACTIVITY)
    assert (http["activity_id"] == act).all()
    failed = events["status_id"] == ocsf.STATUS_FAILURE
    assert events.loc[failed, "status_detail"].notna().all()
    assert (http["status_id"] == np.where(http["http_response.code"] >= 400, 2, 1)).all()


def test_every_class_present_with_realistic_shares(events):
    share = events["class_uid"].value_counts(normalize=True)
    assert 0.50 < share[ocsf.HTTP_ACTIVITY] < 0.65
    assert 0.10 < share[ocsf.AUTHENTICATION] < 0.22
    assert 0.12 < share[ocsf.NETWORK_ACTIVITY] < 0.24
    assert 0.06 < share[ocsf.API_ACTIVITY] < 0.12


def test_auth_events_name_the_same_user(events):
    auth = events[events["class_uid"] == ocsf.AUTHENTICATION]
    assert (auth["user.name"] == auth["actor.user.name"]).all()
    assert (auth["user.uid"] == auth["actor.user.uid"]).all()
    assert auth["activity_name"].isin(["Logon", "Logoff", "Authentication Ticket"]).all()


def test_user_activity_is_skewed(events):
    counts = events["actor.user.name"].value_counts()
    top = counts.iloc[: max(1, len(counts) // 10)].sum()
    assert top / counts.sum() > 0.4


def test_weekday_and_hour_seasonality(events):
    t = pd.to_datetime(events["time"], unit="ms", utc=True)
    weekday = t.dt.day_of_week < 5
    hour = t.dt.hour
    day_rate = ((hour >= 12) & (hour < 17) & weekday).sum() / 5 / 5
    night_rate = ((hour >= 1) & (hour < 6) & weekday).sum() / 5 / 5
    assert day_rate > 2.5 * night_rate
    per_weekday = weekday.sum() / 5
    per_weekend_day = (~weekday).sum() / 2
    assert per_weekend_day < 0.7 * per_weekday


def test_no_constant_columns_and_few_duplicates(events):
    defining = {"class_uid", "class_name", "category_uid", "category_name"}
    for col in events.columns:
        assert events[col].nunique() > 1, col
    for cls, group in events[~events["is_anomaly"]].groupby("class_uid"):
        for col in ocsf.FLAT_COLUMNS:
            if col in defining or group[col].isna().all():
                continue
            assert group[col].nunique() > 1, (cls, col)
    dup = events.drop(columns=["event_id"]).duplicated().mean()
    assert dup < 0.01


def test_status_code_mix_is_realistic(events):
    codes = events["http_response.code"].dropna().astype(int)
    share = codes.value_counts(normalize=True)
    assert share.get(200, 0) > 0.7
    assert {200, 201, 204, 304, 401, 404, 500}.issubset(set(share.index))
    assert share[share.index >= 500].sum() < 0.05


def test_ip_address_pools(events, small):
    src = events["src_endpoint.ip"]
    assert src.str.startswith("10.").mean() > 0.2
    external = events.loc[~src.str.startswith("10."), "src_endpoint.location.country"]
    assert external.notna().all()
    assert external.nunique() >= 8
    svc = events.loc[events["class_uid"] == ocsf.HTTP_ACTIVITY, "dst_endpoint.svc_name"]
    assert svc.nunique() >= 6


def test_network_flows_have_correlated_bytes_and_packets(events):
    net = events[events["class_uid"] == ocsf.NETWORK_ACTIVITY]
    assert {"tcp", "udp"} == set(net["connection_info.protocol_name"].unique())
    assert {443, 53, 5432, 6379, 22}.issubset(set(net["dst_endpoint.port"].astype(int)))
    b = np.log1p(net["traffic.bytes_out"].astype(float))
    p = np.log1p(net["traffic.packets_out"].astype(float))
    assert np.corrcoef(b, p)[0, 1] > 0.7


def test_admin_only_operations_are_normally_done_by_admins(events, small):
    from anomaly_tutorial.data.traffic import ADMIN_OPS

    api = events[(events["class_uid"] == ocsf.API_ACTIVITY) & ~events["is_anomaly"]]
    admin_ops = api[api["api.operation"].isin(list(ADMIN_OPS))]
    granted = admin_ops[admin_ops["status_id"] == 1]
    assert len(granted) > 0
    assert granted["message"].str.contains("granted|version=", regex=True).all()
    denied = admin_ops[admin_ops["status_id"] == 2]
    assert (denied["status_detail"] == "AccessDenied").all()


def test_messages_follow_a_moderate_number_of_templates(events):
    msg = events["message"]
    assert msg.notna().all() and (msg.str.len() > 10).all()
    masked = msg.str.replace(r'"[^"]*"', "<Q>", regex=True)
    masked = masked.str.replace(r"[0-9a-f]{8,}|\d[\w.:/-]*|u\d{4}|/\S*", "<*>", regex=True)
    masked = masked.str.replace(r"\w+=<\*>", "k=<*>", regex=True)
    n_templates = masked.nunique()
    assert 25 <= n_templates <= 150, n_templates
    assert msg.str.contains(r"^Failed password for u\d{4} from [\d.]+ port \d+ ssh2$").any()
    assert msg.str.match(r"^(GET|POST|PUT|DELETE) /\S* \d{3} \d+ms user=").any()


def test_to_ocsf_round_trip(small):
    nested = list(small.to_ocsf())
    assert nested[0]["metadata"]["uid"] == small.events["event_id"].iloc[0]
    assert "unmapped" not in nested[0]
    back = pd.DataFrame(ocsf.flatten_events(nested))
    cols = list(ocsf.FLAT_COLUMNS)
    assert set(back.columns) <= set(cols)
    back = back.reindex(columns=cols).astype(ocsf.FLAT_COLUMNS)
    pd.testing.assert_frame_equal(back, small.events[cols])


def test_to_ocsf_with_labels(small):
    ev = small.events
    i = int(np.flatnonzero(ev["is_anomaly"].to_numpy())[0])
    for k, event in enumerate(small.to_ocsf(include_labels=True)):
        if k == i:
            truth = event["unmapped"]["ground_truth"]
            assert truth["is_anomaly"] is True
            assert truth["incident_id"] == ev["incident_id"].iloc[i]
            break


def test_time_split_no_overlap_keeps_order(small):
    train, test = time_split(small.events, train_fraction=0.7)
    assert len(train) + len(test) == len(small.events)
    assert train["time"].max() < test["time"].min()
    assert train["time"].is_monotonic_increasing and test["time"].is_monotonic_increasing
    assert abs(len(train) / len(small.events) - 0.7) < 0.01
    train.loc[train.index[0], "message"] = "changed"
    assert small.events["message"].iloc[0] != "changed"
    t2, _ = small.time_split(0.7)
    pd.testing.assert_frame_equal(t2, time_split(small.events, 0.7)[0])


def test_time_split_sorts_unsorted_input_and_validates(small):
    shuffled = small.events.sample(frac=1.0, random_state=0)
    train, test = time_split(shuffled, 0.5)
    assert train["time"].max() < test["time"].min()
    for bad in (0, 1, 1.5, "0.5", True):
        with pytest.raises(ValueError, match="train_fraction"):
            time_split(small.events, bad)
    with pytest.raises(ValueError, match="'time'"):
        time_split(small.events.drop(columns="time"), 0.5)


def test_generation_speed():
    cfg = GeneratorConfig(n_events=100_000, days=14, seed=11)
    t0 = time.process_time()  # CPU time of this process: robust to other busy processes
    ds = generate_dataset(cfg)
    elapsed = time.process_time() - t0
    assert len(ds.events) == 100_000 and len(ds.metrics) > 0
    assert elapsed < 15.0, f"{elapsed:.1f} s for 100,000 events"


def test_event_ids_look_right(events):
    assert events["event_id"].str.fullmatch(r"evt-\d{8}").all()
    assert events["trace.uid"].dropna().str.fullmatch(r"[0-9a-f]{32}").all()
    assert re.fullmatch(r"\d+\.\d+\.\d+", events["metadata.version"].iloc[0])
