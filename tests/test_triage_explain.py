"""Explanations name the field that made a hand-made event unusual."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.triage import FeatureDeviations

HOUR = 3_600_000


def _training(n_users: int = 4, per_user: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for u in range(n_users):
        for i in range(per_user):
            rows.append(
                {
                    "event_id": f"t{u}-{i}",
                    "time": (9 + i % 8) * HOUR + i * 24 * HOUR,  # office hours
                    "class_uid": ocsf.HTTP_ACTIVITY,
                    "status_id": 1,
                    "actor.user.name": f"u{u}",
                    "src_endpoint.ip": f"10.0.{u}.1",
                    "src_endpoint.location.country": "DE",
                    "duration": float(rng.uniform(80, 120)),
                    "traffic.bytes_out": float(rng.uniform(900, 1100) * (u + 1)),
                    "traffic.bytes_in": 500.0,
                    "dst_endpoint.svc_name": "frontend",
                }
            )
    return pd.DataFrame(rows)


def _event(**fields) -> pd.DataFrame:
    row = {
        "event_id": "new",
        "time": 100 * 24 * HOUR + 10 * HOUR,
        "class_uid": ocsf.HTTP_ACTIVITY,
        "status_id": 1,
        "actor.user.name": "u0",
        "src_endpoint.ip": "10.0.0.1",
        "src_endpoint.location.country": "DE",
        "duration": 100.0,
        "traffic.bytes_out": 1000.0,
        "traffic.bytes_in": 500.0,
        "dst_endpoint.svc_name": "frontend",
    }
    row.update(fields)
    return pd.DataFrame([row])


@pytest.fixture(scope="module")
def explainer() -> FeatureDeviations:
    return FeatureDeviations(top_k=1).fit(_training())


def test_an_ordinary_event_has_no_explanation(explainer):
    assert explainer.explain(_event()).iloc[0] == "no single field stands out"
    assert (explainer.deviations(_event()).to_numpy() < 2.0).all()


def test_bytes_out_against_the_accounts_median(explainer):
    # 40x u0's median, but only 10x u3's: only the account's baseline makes it extreme
    event = _event(**{"traffic.bytes_out": 40_000.0})
    deviations = explainer.deviations(event)
    assert deviations.iloc[0].idxmax() in {"entity:traffic.bytes_out", "global:traffic.bytes_out"}
    training = _training()
    median = training.loc[training["actor.user.name"] == "u0", "traffic.bytes_out"].median()
    sentence = FeatureDeviations(top_k=2).fit(training).explain(event).iloc[0]
    assert f"traffic.bytes_out {40_000 / median:,.0f}x the account's median for HTTP" in sentence
    assert deviations.loc[0, "entity:traffic.bytes_out"] > 2.0


def test_never_seen_country(explainer):
    sentence = explainer.explain(_event(**{"src_endpoint.location.country": "BR"})).iloc[0]
    assert sentence == "source country BR never seen for this account in 120 training events"


def test_slow_request_against_its_class(explainer):
    event = _event(duration=30_000.0)
    deviations = explainer.deviations(event)
    assert deviations.loc[0, "global:duration"] == pytest.approx(-np.log10(1 / 481))
    sentence = FeatureDeviations(top_k=3).fit(_training()).explain(event).iloc[0]
    assert "duration 30,000 ms" in sentence


def test_window_counts_use_history(explainer):
    history = pd.concat(
        [
            _event(
                event_id=f"f{i}",
                status_id=2,
                time=100 * 24 * HOUR + i * 1000,
                class_uid=ocsf.AUTHENTICATION,
            )
            for i in range(30)
        ],
        ignore_index=True,
    )
    event = _event(
        status_id=2, class_uid=ocsf.AUTHENTICATION, time=100 * 24 * HOUR + 31_000, event_id="last"
    )
    with_history = explainer.deviations(event, history=history)
    assert with_history.loc[0, "window:src_ip_failed_auth_300s"] > 2.0
    alone = FeatureDeviations(top_k=2).fit(_training()).explain(event).iloc[0]
    assert "1 failed logins from this source IP" in alone  # the event itself only
    sentence = FeatureDeviations(top_k=2).fit(_training()).explain(event, history).iloc[0]
    assert "31 failed logins from this source IP in 5 min (training median 0)" in sentence


def test_a_new_account_has_no_baseline(explainer):
    event = _event(**{"actor.user.name": "stranger", "src_endpoint.location.country": "BR"})
    deviations = explainer.deviations(event)
    assert deviations.filter(like="novel:").to_numpy().max() == 0.0


def test_bad_input(explainer):
    with pytest.raises(ValueError, match=r"missing columns \['class_uid'\]"):
        explainer.deviations(_event().drop(columns="class_uid"))
    with pytest.raises(ValueError, match="column 'time' is missing at event 'new'"):
        explainer.deviations(_event(time=None))
    with pytest.raises(ValueError, match="min_surprise: must be a number >= 0"):
        FeatureDeviations(min_surprise=-1).fit(_training())
    with pytest.raises(ValueError, match="index must equal"):
        explainer.explain(_event(), deviations=explainer.deviations(_event()).iloc[:0])


def test_a_field_that_is_not_a_number_is_refused(explainer):
    with pytest.raises(
        ValueError, match="event 'new': field 'duration' must be a number, got 'slow'"
    ):
        explainer.deviations(_event(duration="slow"))
    with pytest.raises(ValueError, match="column 'class_uid' is missing at event 'new'"):
        explainer.deviations(_event(class_uid=None))
