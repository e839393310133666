"""Severity tiers: hand-made alerts, custom policies, vectorised = row-by-row, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.triage import (
    SEVERITY_LEVELS,
    SeverityPolicy,
    SeverityRules,
    alert_context,
    external_source,
    privileged_accounts,
    severity_ids,
    severity_of,
)


def _alerts(**columns) -> pd.DataFrame:
    base = {"score": [50.0], "service_tier": [3], "privileged": [False], "external_source": [False]}
    base.update({k: list(v) for k, v in columns.items()})
    n = max(len(v) for v in base.values())
    return pd.DataFrame({k: v * n if len(v) == 1 else v for k, v in base.items()})


@pytest.mark.parametrize(
    ("score", "tier", "privileged", "external", "expected"),
    [
        (30.0, 3, False, False, "low"),
        (44.99, 3, False, False, "low"),
        (45.0, 3, False, False, "medium"),  # thresholds are inclusive
        (59.0, 3, False, False, "medium"),
        (60.0, 3, False, False, "high"),
        (67.0, 3, False, False, "high"),  # no context: at most high
        (67.0, 1, False, False, "critical"),  # 67 + 10 = 77
        (58.0, 1, True, False, "critical"),  # 58 + 10 + 10 = 78
        (40.0, 2, False, True, "medium"),  # 40 + 5 + 5 = 50
        (35.0, 3, True, False, "medium"),  # 35 + 10 = 45
    ],
)
def test_default_policy_on_hand_made_alerts(score, tier, privileged, external, expected):
    assert severity_of(score, tier, privileged, external) == expected
    alerts = _alerts(
        score=[score], service_tier=[tier], privileged=[privileged], external_source=[external]
    )
    result = SeverityRules().classify(alerts)
    assert result["severity"].iloc[0] == expected
    assert result["severity_id"].iloc[0] == ocsf.TRIAGE_SEVERITY_IDS[expected]
    assert ocsf.SEVERITY_NAMES[int(result["severity_id"].iloc[0])].lower() == expected


def test_context_can_only_raise_severity():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 100, 500)
    plain = _alerts(score=scores)
    boosted = plain.assign(privileged=True, external_source=True, service_tier=1)
    rules = SeverityRules()
    a = rules.classify(plain)["severity"].cat.codes.to_numpy()
    b = rules.classify(boosted)["severity"].cat.codes.to_numpy()
    assert (b >= a).all() and (b > a).any()


def test_custom_policy_overrides_only_its_domain():
    strict = SeverityPolicy(thresholds={"medium": 30, "high": 40, "critical": 50})
    rules = SeverityRules(domains={"payments": strict})
    alerts = _alerts(score=[42.0, 42.0], service=["payments", "reports"])
    result = rules.classify(alerts)
    assert result["severity"].tolist() == ["high", "low"]
    assert result["policy"].tolist() == ["payments", "default"]
    # a custom policy can also change the context points
    generous = SeverityPolicy(privileged_points=50.0)
    result = SeverityRules(domains={"iam-api": generous}).classify(
        _alerts(score=[30.0, 30.0], privileged=[True, True], service=["iam-api", "reports"])
    )
    assert result["severity"].tolist() == ["critical", "low"]


def test_vectorised_equals_row_by_row_reference():
    rng = np.random.default_rng(1)
    n = 3_000
    services = np.array(["payments", "auth", "reports", "search"], dtype=object)
    alerts = pd.DataFrame(
        {
            "score": rng.uniform(0, 100, n).round(1),
            "service_tier": rng.integers(1, 5, n),
            "privileged": rng.random(n) < 0.2,
            "external_source": rng.random(n) < 0.4,
            "service": services[rng.integers(0, 4, n)],
        }
    )
    strict = SeverityPolicy(
        thresholds={"medium": 35, "high": 45, "critical": 60}, tier_points={1: 15, 4: -5}
    )
    rules = SeverityRules(domains={"payments": strict})
    fast = rules.classify(alerts)["severity"].astype(str).to_numpy()
    slow = [
        severity_of(
            r.score, r.service_tier, r.privileged, r.external_source, rules.policy_for(r.service)
        )
        for r in alerts.itertuples()
    ]
    assert (fast == np.asarray(slow)).all()


def test_a_million_alerts_in_seconds():
    import time

    rng = np.random.default_rng(2)
    n = 1_000_000
    alerts = pd.DataFrame(
        {
            "score": rng.uniform(0, 100, n),
            "service_tier": rng.integers(1, 4, n),
            "privileged": rng.random(n) < 0.1,
            "external_source": rng.random(n) < 0.3,
            "service": np.where(rng.random(n) < 0.1, "payments", "search"),
        }
    )
    rules = SeverityRules(
        domains={"payments": SeverityPolicy(thresholds={"medium": 30, "high": 40, "critical": 55})}
    )
    start = time.perf_counter()
    result = rules.classify(alerts)
    assert time.perf_counter() - start < 10.0  # generous: the machine may be loaded
    assert len(result) == n and set(result["severity"].astype(str)) <= set(SEVERITY_LEVELS)


def test_policy_refuses_bad_thresholds():
    with pytest.raises(ValueError, match=r"unknown severity names \['severe'\]"):
        SeverityPolicy(thresholds={"medium": 40, "high": 60, "critical": 80, "severe": 90})
    with pytest.raises(ValueError, match="'low' is everything below"):
        SeverityPolicy(thresholds={"low": 0, "medium": 40, "high": 60, "critical": 80})
    with pytest.raises(ValueError, match=r"missing severity names \['critical'\]"):
        SeverityPolicy(thresholds={"medium": 40, "high": 60})
    with pytest.raises(ValueError, match="must not decrease"):
        SeverityPolicy(thresholds={"medium": 70, "high": 60, "critical": 80})
    with pytest.raises(ValueError, match=r"thresholds\['high'\]: must be a finite number"):
        SeverityPolicy(thresholds={"medium": 40, "high": float("nan"), "critical": 80})
    with pytest.raises(TypeError, match="expected a SeverityPolicy"):
        SeverityRules(domains={"payments": {"medium": 1}})


def test_classify_refuses_bad_input():
    rules = SeverityRules()
    with pytest.raises(ValueError, match=r"missing columns \['privileged'\]"):
        rules.classify(_alerts().drop(columns="privileged"))
    with pytest.raises(ValueError, match="column 'score' is missing a value at row 1"):
        rules.classify(_alerts(score=[50.0, np.nan]))
    with pytest.raises(ValueError, match="finite numbers; row 0 has inf"):
        rules.classify(_alerts(score=[np.inf]))
    with pytest.raises(ValueError, match=r"missing columns \['service'\]"):
        SeverityRules(domains={"payments": SeverityPolicy()}).classify(_alerts())
    with pytest.raises(ValueError, match="score: must be a finite number"):
        severity_of(float("nan"), 1, False, False)
    with pytest.raises(ValueError, match=r"unknown names \['severe'\]"):
        severity_ids(["low", "severe"])
    assert severity_ids(["low", "critical"]).tolist() == [2, 5]


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4"],
            "time": [1, 2, 3, 4],
            "class_uid": [ocsf.API_ACTIVITY] * 3 + [ocsf.HTTP_ACTIVITY],
            "status_id": [1, 1, 2, 1],
            "api.operation": ["CreateUser", "CreateUser", "CreateUser", None],
            "actor.user.name": ["admin1", "admin1", "u2", "u2"],
            "dst_endpoint.svc_name": ["iam-api", "iam-api", "iam-api", "payments"],
            "src_endpoint.ip": ["10.0.0.5", "10.0.0.5", "81.2.69.160", None],
        }
    )


def test_context_from_events():
    events = _events()
    privileged = privileged_accounts(events)
    assert privileged == frozenset({"admin1"})  # u2's attempt failed
    assert external_source(events).tolist() == [False, False, True, False]
    context = alert_context(events, [10.0, 20.0, 30.0, 40.0], {"payments": 1}, privileged)
    assert context["service_tier"].tolist() == [3, 3, 3, 1]
    assert context["privileged"].tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match=r"expected one score per event \(4\)"):
        alert_context(events, [1.0, 2.0], {}, privileged)
    with pytest.raises(ValueError, match="event 'e2'"):
        alert_context(events, [1.0, np.nan, 3.0, 4.0], {}, privileged)
    with pytest.raises(ValueError, match=r"missing columns \['src_endpoint.ip'\]"):
        alert_context(events.drop(columns="src_endpoint.ip"), [1.0] * 4, {})
