"""Validation reports: exact record numbers, field paths and problems for bad OCSF records."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anomaly_tutorial import ocsf
from anomaly_tutorial.io import (
    BadRecord,
    OCSFValidationError,
    events_to_frame,
    read_ocsf_jsonl,
    read_ocsf_parquet,
    validate_events,
    write_ocsf_jsonl,
    write_ocsf_parquet,
)
from tests.test_io import CLASSES, T0, make_event


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def without(event: dict[str, Any], dotted: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    *parents, leaf = dotted.split(".")
    node = event
    for part in parents:
        node = node[part]
    del node[leaf]
    return event


@pytest.fixture
def crafted(tmp_path: Path) -> Path:
    """A JSONL file with valid records and one bad record per kind of problem."""
    bad_ip = make_event(2, ocsf.NETWORK_ACTIVITY)
    bad_ip["src_endpoint"]["ip"] = "10.0.0.300"
    lines = [
        json.dumps(make_event(1)),  # 1 valid
        json.dumps(bad_ip),  # 2 bad IP
        json.dumps(make_event(3, type_uid=400299)),  # 3 wrong type_uid
        "",  # 4 blank
        json.dumps(make_event(5, class_uid=ocsf.HTTP_ACTIVITY) | {"class_uid": 9999}),  # 5
        json.dumps(make_event(6, time=1_772_409_600)),  # 6 seconds, not ms
        '{"class_uid": 4002 "time": 1}',  # 7 invalid JSON
        json.dumps(without(make_event(8), "http_request.url.path")),  # 8 missing field
        json.dumps(
            make_event(9, ocsf.NETWORK_ACTIVITY, traffic={"bytes_out": -5})
        ),  # 9 negative bytes
        "[1, 2]",  # 10 JSON but not an object
        json.dumps(make_event(11, ocsf.AUTHENTICATION)),  # 11 valid
    ]
    return write_lines(tmp_path / "crafted.jsonl", lines)


EXPECTED = [
    (2, "src_endpoint.ip", "'10.0.0.300' is not a valid IP address"),
    (3, "type_uid", "400299 does not match class_uid 4002 and activity_id 3"),
    (5, "class_uid", "9999 is not a supported OCSF class; supported: 3002 (Authentication)"),
    (6, "time", "1772409600 looks like seconds, expected milliseconds"),
    (7, None, "not valid JSON: Expecting ',' delimiter at column 20"),
    (8, "http_request.url.path", "required field is missing"),
    (9, "traffic.bytes_out", "-5 must be >= 0"),
    (10, None, "not a JSON object but a JSON array"),
]


def test_quarantine_reports_each_bad_record(crafted: Path) -> None:
    result = read_ocsf_jsonl(crafted, on_error="quarantine")
    got = [(b.record_number, b.field, b.problem) for b in result.quarantined]
    assert [(n, f) for n, f, _ in got] == [(n, f) for n, f, _ in EXPECTED]
    for (_, _, problem), (_, _, expected) in zip(got, EXPECTED, strict=True):
        assert problem.startswith(expected), (problem, expected)
    assert result.n_records == 10  # the blank line is not a record
    assert result.n_records == len(result.events) + len(result.quarantined)
    assert result.events["event_id"].tolist() == ["evt-00001", "evt-00011"]
    assert isinstance(result.quarantined[0].raw, dict)
    assert result.quarantined[4].raw == '{"class_uid": 4002 "time": 1}'


def test_raise_lists_bad_records(crafted: Path) -> None:
    with pytest.raises(OCSFValidationError) as info:
        read_ocsf_jsonl(crafted)
    error = info.value
    assert isinstance(error, ValueError)
    assert [b.record_number for b in error.bad_records] == [n for n, _, _ in EXPECTED]
    message = str(error)
    assert message.startswith(f"8 bad OCSF records of 10 in {crafted}:")
    assert "record 2, field 'src_endpoint.ip': '10.0.0.300' is not a valid IP address" in message
    assert "record 7: not valid JSON" in message


def test_message_lists_at_most_ten(tmp_path: Path) -> None:
    lines = [json.dumps(make_event(i, time=5)) for i in range(14)]
    with pytest.raises(OCSFValidationError) as info:
        read_ocsf_jsonl(write_lines(tmp_path / "many.jsonl", lines))
    message = str(info.value)
    assert len(info.value.bad_records) == 14
    assert "record 10," in message and "record 11," not in message
    assert "and 4 more" in message


def test_bad_record_str_and_frozen() -> None:
    bad = BadRecord(17, "src_endpoint.ip", "'10.0.0.300' is not a valid IP address", {})
    assert str(bad) == "record 17, field 'src_endpoint.ip': '10.0.0.300' is not a valid IP address"
    assert str(BadRecord(3, None, "not valid JSON", "x")) == "record 3: not valid JSON"
    with pytest.raises(AttributeError):
        bad.field = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("event", "field", "problem"),
    [
        (make_event(0, category_uid=6), "category_uid", "6 does not match class_uid 4002"),
        (
            make_event(0, activity_id=42, type_uid=400242),
            "activity_id",
            "42 is not a valid activity_id for class_uid 4002 (HTTP Activity); valid: 0 (Unknown)",
        ),
        (make_event(0, severity_id=9), "severity_id", "9 is not a valid severity_id; valid:"),
        (make_event(0, status_id=3), "status_id", "3 is not a valid status_id"),
        (make_event(0, time=T0 * 1000), "time", f"{T0 * 1000} looks like microseconds"),
        (
            make_event(0, time=T0 + 0.5),
            "time",
            f"expected an integer, found {T0 + 0.5} (a number)",
        ),
        (make_event(0, duration=-1.0), "duration", "-1.0 must be >= 0"),
        (make_event(0, http_response={"code": 700}), "http_response.code", "700 must be <= 599"),
        (
            make_event(0, src_endpoint={"ip": "10.0.0.1", "port": 70000}),
            "src_endpoint.port",
            "70000 must be <= 65535",
        ),
        (without(make_event(0), "metadata.uid"), "metadata.uid", "required field is missing"),
        (without(make_event(0), "class_uid"), "class_uid", "required field is missing"),
        (
            make_event(0) | {"class_uid": "4002"},
            "class_uid",
            "'4002' is not a supported OCSF class",
        ),
        (
            without(make_event(0, ocsf.AUTHENTICATION), "user"),
            "user",
            "required field is missing: an Authentication event needs 'user' or 'actor.user'",
        ),
        (
            without(make_event(0, ocsf.NETWORK_ACTIVITY), "dst_endpoint"),
            "dst_endpoint",
            "required field is missing",
        ),
        (
            without(make_event(0, ocsf.API_ACTIVITY), "api.operation"),
            "api.operation",
            "required field is missing",
        ),
        (
            make_event(0, ocsf.AUTHENTICATION, is_mfa="maybe"),
            "is_mfa",
            "expected a boolean (true or false), found 'maybe' (a string)",
        ),
        (
            make_event(0, metadata={"uid": 5, "version": "1.3.0"}),
            "metadata.uid",
            "expected a string, found 5 (an integer)",
        ),
    ],
)
def test_single_problem_reports(event: dict[str, Any], field: str, problem: str) -> None:
    valid, bad = validate_events([make_event(1), event])
    assert len(valid) == 1 and len(bad) == 1
    assert bad[0].record_number == 2
    assert bad[0].field == field
    assert bad[0].problem.startswith(problem), bad[0].problem


def test_authentication_accepts_actor_user() -> None:
    event = without(make_event(0, ocsf.AUTHENTICATION), "user")
    event["actor"] = {"user": {"name": "svc-backup"}}
    valid, bad = validate_events([event])
    assert bad == [] and valid[0]["actor"]["user"]["name"] == "svc-backup"


def test_all_problems_of_a_record_are_reported() -> None:
    event = make_event(0, ocsf.NETWORK_ACTIVITY, severity_id=8)
    event["dst_endpoint"]["ip"] = "not-an-ip"
    _, bad = validate_events([event])
    assert len(bad) == 1
    assert bad[0].field == "severity_id"
    assert bad[0].other_problems == (
        "field 'dst_endpoint.ip': 'not-an-ip' is not a valid IP address",
    )
    assert "also field 'dst_endpoint.ip'" in str(bad[0])


def test_parquet_rows_are_validated(tmp_path: Path) -> None:
    frame = events_to_frame([make_event(i, CLASSES[i % 4]) for i in range(8)])
    frame.loc[2, "src_endpoint.ip"] = "999.1.1.1"
    frame.loc[5, "time"] = 1_772_409_600
    path = tmp_path / "bad.parquet"
    write_ocsf_parquet(frame, path)
    result = read_ocsf_parquet(path, on_error="quarantine")
    assert [(b.record_number, b.field) for b in result.quarantined] == [
        (3, "src_endpoint.ip"),
        (6, "time"),
    ]
    assert result.quarantined[0].raw["event_id"] == "evt-00002"
    assert result.n_records == 8 and len(result.events) == 6
    expected = frame.drop(index=[2, 5]).reset_index(drop=True)
    pd.testing.assert_frame_equal(result.events, expected)
    with pytest.raises(OCSFValidationError, match=r"record 3, field 'src_endpoint\.ip'"):
        read_ocsf_parquet(path)


# --- properties --------------------------------------------------------------------------------

event_specs = st.lists(
    st.tuples(st.sampled_from(CLASSES), st.integers(0, 10_000)), min_size=1, max_size=15
)

#: (class, dotted field, bad value, expected start of the problem)
CORRUPTIONS = [
    (ocsf.NETWORK_ACTIVITY, "src_endpoint.ip", "1.2.3", "'1.2.3' is not a valid IP address"),
    (ocsf.NETWORK_ACTIVITY, "traffic.bytes_in", -1, "-1 must be >= 0"),
    (ocsf.HTTP_ACTIVITY, "http_response.code", 42, "42 must be >= 100"),
    (ocsf.HTTP_ACTIVITY, "http_request.http_method", None, "expected a string, found None"),
    (ocsf.AUTHENTICATION, "type_uid", 1, "1 does not match class_uid 3002"),
    (ocsf.API_ACTIVITY, "time", 1_700_000_000, "1700000000 looks like seconds"),
    (ocsf.API_ACTIVITY, "severity_id", 7, "7 is not a valid severity_id"),
]


NO_FIXTURE_CHECK = [HealthCheck.function_scoped_fixture]


def build(specs: list[tuple[int, int]]) -> list[dict[str, Any]]:
    return [make_event(i, cls) for cls, i in specs]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=event_specs)
def test_random_valid_events_round_trip(tmp_path: Path, specs: list[tuple[int, int]]) -> None:
    events = build(specs)
    path = tmp_path / "prop.jsonl"
    write_ocsf_jsonl(events, path)
    result = read_ocsf_jsonl(path)
    assert result.n_records == len(events)
    pd.testing.assert_frame_equal(result.events, events_to_frame(events))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=event_specs, where=st.integers(0, 10_000), corruption=st.sampled_from(CORRUPTIONS))
def test_one_corrupted_field_is_reported(
    tmp_path: Path,
    specs: list[tuple[int, int]],
    where: int,
    corruption: tuple[int, str, Any, str],
) -> None:
    cls, field, value, problem = corruption
    events = build(specs)
    index = where % len(events)
    events[index] = make_event(index, cls)
    *parents, leaf = field.split(".")
    node = events[index]
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    path = tmp_path / "corrupt.jsonl"
    write_ocsf_jsonl(events, path)
    result = read_ocsf_jsonl(path, on_error="quarantine")
    assert len(result.quarantined) == 1
    bad = result.quarantined[0]
    assert (bad.record_number, bad.field) == (index + 1, field)
    assert bad.problem.startswith(problem), bad.problem
    assert len(result.events) == len(events) - 1
