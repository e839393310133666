"""The dashboard summary counts what it is given and refuses unknown names."""

from __future__ import annotations

import pandas as pd
import pytest

from anomaly_tutorial.triage import dashboard_summary


def _triaged() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "severity": ["high", "low", "high", "critical", "low"],
            "kind": ["collective", "point", "collective", "contextual", "point"],
            "category": [
                "brute_force",
                "slow_query",
                "brute_force",
                "data_exfiltration",
                "slow_query",
            ],
            "user": ["u1", "u2", "u1", "u3", None],
            "src_ip": ["1.2.3.4", "10.0.0.1", "1.2.3.4", "10.0.0.2", "10.0.0.1"],
            "service": ["auth", "orders", "auth", "storage-api", "orders"],
        }
    )


def test_counts_and_top_entities():
    summary = dashboard_summary(_triaged(), top=2)
    assert summary.n_alerts == 5
    assert summary.by_severity["alerts"].to_dict() == {
        "critical": 1,
        "high": 2,
        "medium": 0,
        "low": 2,
    }
    assert summary.by_kind["alerts"].to_dict() == {"point": 2, "contextual": 1, "collective": 2}
    assert summary.by_category["alerts"].sum() == 5
    top = summary.top_entities
    accounts = top[top["entity type"] == "account"]
    assert accounts.iloc[0].to_dict() == {
        "entity type": "account",
        "entity": "u1",
        "alerts": 2,
        "worst severity": "high",
    }
    assert len(accounts) == 2  # the missing account is not ranked
    assert summary.overview()["alerts"].sum() == 15


def test_bad_input():
    with pytest.raises(ValueError, match=r"missing columns \['service'\]"):
        dashboard_summary(_triaged().drop(columns="service"))
    with pytest.raises(ValueError, match=r"column 'severity' has unknown names \['urgent'\]"):
        dashboard_summary(_triaged().assign(severity="urgent"))
    with pytest.raises(ValueError, match=r"column 'kind' has unknown names \['odd'\]"):
        dashboard_summary(_triaged().assign(kind="odd"))
    with pytest.raises(ValueError, match="top: must be >= 1"):
        dashboard_summary(_triaged(), top=0)
