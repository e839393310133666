"""Tests of anomaly_tutorial.data.drift: benign drift scenarios with ground truth."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.data import GeneratorConfig, book_split, generate_dataset
from anomaly_tutorial.data.drift import (
    SCENARIOS,
    DriftConfig,
    generate_drift_dataset,
    production_split,
)

DAY_MS = 86_400_000
#: sha256 of pandas' row hashes of GeneratorConfig()'s events, computed on main before the
#: drift scenarios existed (commit a344c02): the default dataset must not change.
DEFAULT_EVENTS_SHA256 = "8d6b73b7fc706fece6392751d6fda5019d71642518734d82949af4cd21f9320f"

SMALL = DriftConfig(
    days=21,
    events_per_day=600,
    slow_deploy_day=12,
    client_release_day=13,
    new_service_day=14,
    holiday_day=16,
    broken_feature_day=18,
)


@pytest.fixture(scope="module")
def month():
    return generate_drift_dataset(SMALL)


def _sha(frame: pd.DataFrame) -> str:
    return hashlib.sha256(
        pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    ).hexdigest()


def test_default_dataset_is_unchanged():
    assert _sha(generate_dataset(GeneratorConfig()).events) == DEFAULT_EVENTS_SHA256


def test_identity_hook_changes_nothing():
    config = GeneratorConfig(n_events=3_000, days=3, seed=3)
    plain = generate_dataset(config).events
    hooked = generate_dataset(config, normal_traffic_hook=lambda block, world: block).events
    pd.testing.assert_frame_equal(plain, hooked)


def test_reproducible(month):
    again = generate_drift_dataset(SMALL)
    pd.testing.assert_frame_equal(month.events, again.events)
    pd.testing.assert_frame_equal(month.drifts, again.drifts)
    pd.testing.assert_frame_equal(month.affected, again.affected)
    other = generate_drift_dataset(DriftConfig(**{**SMALL.__dict__, "seed": 8}))
    assert not month.events["time"].equals(other.events["time"])


def test_drifts_table_is_labelled(month):
    drifts = month.drifts
    assert list(drifts["scenario"]) == list(SCENARIOS)
    assert not drifts["is_incident"].any()
    assert drifts["drift_id"].is_unique
    for row in drifts.itertuples():
        assert row.start_time == SMALL.day_start_ms(row.start_day)
        assert row.end_time > row.start_time
        assert row.columns and row.description
    assert set(month.affected.columns) == set(drifts["drift_id"])


def test_no_scenario_touches_events_before_it_starts(month):
    t = month.events["time"].to_numpy()
    for row in month.drifts.itertuples():
        hit = month.affected[row.drift_id].to_numpy()
        assert hit.any(), row.scenario
        assert (t[hit] >= row.start_time).all() and (t[hit] < row.end_time).all(), row.scenario


def test_client_release_and_new_service(month):
    events, c = month.events, SMALL
    ua = events["http_request.user_agent"].eq(c.client_user_agent).fillna(False).to_numpy(bool)
    assert ua.any()
    assert (events["time"].to_numpy()[ua] >= c.day_start_ms(c.client_release_day)).all()
    new = events["dst_endpoint.svc_name"].eq(c.new_service).fillna(False).to_numpy(bool)
    assert (events.loc[new, "http_request.url.path"] == f"/api/{c.new_service}").all()
    assert (events["time"].to_numpy()[new] >= c.day_start_ms(c.new_service_day)).all()
    # the new service takes about new_service_share of the HTTP traffic once live
    after = events["time"].to_numpy() >= c.day_start_ms(c.new_service_day)
    http = (events["class_uid"] == ocsf.HTTP_ACTIVITY).to_numpy()
    share = new[after].sum() / (http & after & ~new).sum()
    assert 0.7 * c.new_service_share < share < 1.3 * c.new_service_share
    # log lines agree with the fields
    assert events.loc[new, "message"].str.contains(c.new_service).all()


def test_slow_deploy_multiplies_latency(month):
    events, c = month.events, SMALL
    normal = ~events["is_anomaly"].to_numpy(bool)
    path = events["http_request.url.path"].astype(object).fillna("")
    endpoint = path.str.match(r"^/api/orders/\d+$").to_numpy(bool) & (
        events["http_request.http_method"] == "GET"
    ).fillna(False).to_numpy(bool)
    t = events["time"].to_numpy()
    ok = (events["http_response.code"].fillna(0) < 400).to_numpy(bool)
    before = endpoint & ok & normal & (t < c.day_start_ms(c.slow_deploy_day))
    after = endpoint & ok & normal & (t >= c.day_start_ms(c.slow_deploy_day))
    ratio = np.median(events.loc[after, "duration"]) / np.median(events.loc[before, "duration"])
    assert 0.7 * c.slow_factor < ratio < 1.3 * c.slow_factor


def test_holiday_has_weekend_volume(month):
    day = (month.events["time"] - SMALL.generator_config.start_ms) // DAY_MS + 1
    counts = day.value_counts()
    weekday_of = {d: (d - 1) % 7 for d in counts.index}
    weekdays = [counts[d] for d in counts.index if weekday_of[d] < 5 and d != SMALL.holiday_day]
    assert counts[SMALL.holiday_day] < 0.65 * np.median(weekdays)


def test_broken_feature_is_missing_and_kept(month):
    events, c = month.events, SMALL
    http = (events["class_uid"] == ocsf.HTTP_ACTIVITY).to_numpy()
    after = events["time"].to_numpy() >= c.day_start_ms(c.broken_feature_day)
    assert events.loc[http & after, c.broken_field].isna().all()
    assert events.loc[http & ~after, c.broken_field].notna().mean() > 0.99
    assert set(month.intact_values.index) == set(events.index[http & after])
    assert month.intact_values.notna().all()


def test_incidents_are_still_there(month):
    assert len(month.incidents) > 10
    assert month.events["is_anomaly"].sum() > 0


def test_production_split_extends_the_book_split():
    split, book = production_split(SMALL), book_split()
    assert (split.start_ms, split.train_end_ms, split.validation_end_ms) == (
        book.start_ms,
        book.train_end_ms,
        book.validation_end_ms,
    )
    assert split.end_ms == SMALL.generator_config.end_ms


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"holiday_day": 13}, "weekend"),
        ({"slow_deploy_day": 5}, "slow_deploy_day"),
        ({"slow_endpoint": "GET /nowhere"}, "unknown endpoint"),
        ({"new_service": "orders"}, "already exists"),
        ({"broken_field": "time"}, "broken_field"),
        ({"client_share": 1.5}, "client_share"),
        ({"days": 7}, "days"),
    ],
)
def test_bad_config_is_refused(changes, words):
    with pytest.raises(ValueError, match=words):
        DriftConfig(**{**SMALL.__dict__, **changes})


def test_generate_refuses_other_configs():
    with pytest.raises(TypeError, match="DriftConfig"):
        generate_drift_dataset(GeneratorConfig())
