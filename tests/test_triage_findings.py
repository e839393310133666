"""Detection Findings validate against the schema; broken ones are refused with the field named."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.triage import DetectionFinding, FindingError, to_findings, validate_finding


def _triaged(**changes) -> pd.DataFrame:
    row = {
        "event_id": "evt-1",
        "time": 1_700_000_000_000,
        "class_uid": ocsf.AUTHENTICATION,
        "severity": "high",
        "score": 61.4,
        "p_value": 0.0004,
        "detector_score": 88.2,
        "kind": "collective",
        "category": "brute_force",
        "explanation": "48 failed logins from this source IP in 5 min (training median 0)",
        "user": "u0042",
    }
    row.update(changes)
    return pd.DataFrame([row])


def test_findings_validate_and_carry_the_alert():
    (finding,) = to_findings(_triaged(), analytic="ecod")
    DetectionFinding.model_validate(finding)
    assert finding["class_uid"] == 2004 and finding["category_uid"] == 2
    assert finding["type_uid"] == 200401
    assert finding["severity_id"] == 4 and finding["severity"] == "High"
    assert finding["risk_score"] == 61
    assert finding["finding_info"]["related_events"][0]["uid"] == "evt-1"
    assert finding["unmapped"]["p_value"] == pytest.approx(0.0004)
    assert finding["message"].startswith("48 failed logins")
    assert json.loads(json.dumps(finding)) == finding  # JSON-ready


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("class_uid",), 2001, "class_uid"),
        (("risk_score",), 140, "risk_score: Input should be less than or equal to 100"),
        (("unmapped", "p_value"), 0.0, "unmapped.p_value"),
        (("unmapped", "anomaly_kind"), "burst", "unmapped.anomaly_kind"),
        (("finding_info", "related_events"), [], "finding_info.related_events"),
        (("severity",), "Low", "severity: 'Low' does not match severity_id 4"),
        (("type_uid",), 200402, "type_uid: expected 200401"),
        (("surprise",), 1, "surprise: Extra inputs are not permitted"),
    ],
)
def test_a_broken_finding_is_refused_with_the_field_named(path, value, words):
    (finding,) = to_findings(_triaged(), analytic="ecod")
    broken = copy.deepcopy(finding)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(FindingError, match="finding 'finding-evt-1'") as error:
        validate_finding(broken)
    assert words in str(error.value)


def test_a_missing_field_is_named():
    (finding,) = to_findings(_triaged(), analytic="ecod")
    del finding["finding_info"]["uid"]
    with pytest.raises(FindingError, match=r"finding_info\.uid: Field required"):
        validate_finding(finding)


def test_to_findings_refuses_bad_tables():
    with pytest.raises(ValueError, match=r"missing columns \['p_value'\]"):
        to_findings(_triaged().drop(columns="p_value"), analytic="ecod")
    with pytest.raises(ValueError, match=r"unknown names \['severe'\]"):
        to_findings(_triaged(severity="severe"), analytic="ecod")
    with pytest.raises(FindingError, match=r"unmapped\.p_value"):
        to_findings(_triaged(p_value=float("nan")), analytic="ecod")
    with pytest.raises(FindingError, match=r"unmapped\.anomaly_kind"):
        to_findings(_triaged(kind="odd"), analytic="ecod")
    with pytest.raises(ValueError, match="analytic: needs the detector's name"):
        to_findings(_triaged(), analytic=" ")
