"""Bad input for the OCSF readers: every case states its outcome and the words of its message.

Outcome classes (the ``outcome`` of each case, also the first part of its test id):

* ``quarantined``: with ``on_error="quarantine"`` the bad record is returned as a
  :class:`~anomaly_tutorial.io.BadRecord` with its line (or row) number and field, every other
  record loads, and with ``on_error="raise"`` the error names the file and the record;
* ``error``: the file as a whole cannot be read; a clear exception that names the file;
* ``handled``: the input is unusual but valid and loads correctly.

For every case and reader the invariant ``len(events) + len(quarantined) == n_records`` holds.
"""

from __future__ import annotations

import copy
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anomaly_tutorial import ocsf
from anomaly_tutorial.io import (
    OCSFFileError,
    OCSFValidationError,
    events_to_frame,
    read_ocsf_jsonl,
    read_ocsf_parquet,
    validate_events,
    write_ocsf_jsonl,
    write_ocsf_parquet,
)
from tests.test_io import CLASSES, make_event

GOOD = [make_event(i, CLASSES[i % 4]) for i in range(6)]


def set_path(event: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    event = copy.deepcopy(event)
    *parents, leaf = dotted.split(".")
    node = event
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return event


def line_of(event: dict[str, Any]) -> str:
    return json.dumps(event, allow_nan=True)


@dataclass(frozen=True)
class LineCase:
    """A JSONL file of good lines around ``bad`` lines inserted after the second good line."""

    name: str
    bad: tuple[str | bytes, ...]
    outcome: str  # "quarantined" or "handled"
    fields: tuple[str | None, ...] = ()  # field of each bad record, in order
    words: tuple[str, ...] = ()  # words every problem text of the case contains
    max_message: int = 600  # longest acceptable str(BadRecord)


def http(i: int = 90, **fields: Any) -> dict[str, Any]:
    return make_event(i, ocsf.HTTP_ACTIVITY, **fields)


AUTH = make_event(91, ocsf.AUTHENTICATION)
HUGE_INT = "9" * 5000
LONG = "9" * 1_000_000

LINE_CASES = [
    # non-finite numbers
    LineCase(
        "duration-Infinity",
        (line_of(http(duration=float("inf"))),),
        "quarantined",
        ("duration",),
        ("finite", "inf"),
    ),
    LineCase(
        "duration-1e400",
        (line_of(http(duration=1.0)).replace('"duration": 1.0', '"duration": 1e400'),),
        "quarantined",
        ("duration",),
        ("finite",),
    ),
    LineCase(
        "duration-NaN",
        (line_of(http(duration=float("nan"))),),
        "quarantined",
        ("duration",),
        ("finite", "nan"),
    ),
    LineCase(
        "time-inf",
        (line_of(http(time=float("inf"))),),
        "quarantined",
        ("time",),
        ("expected an integer",),
    ),
    LineCase(
        "time-1e30-float",
        (line_of(http(time=1e30)),),
        "quarantined",
        ("time",),
        ("expected an integer",),
    ),
    LineCase(
        "time-1e30-int",
        (line_of(http(time=10**30)),),
        "quarantined",
        ("time",),
        ("microseconds", "expected milliseconds"),
    ),
    LineCase(
        "time-seconds",
        (line_of(http(time=1_772_409_600)),),
        "quarantined",
        ("time",),
        ("looks like seconds", "expected milliseconds"),
    ),
    LineCase(
        "time-nanoseconds",
        (line_of(http(time=1_772_409_600 * 10**9)),),
        "quarantined",
        ("time",),
        ("nanoseconds", "expected milliseconds"),
    ),
    LineCase("time-negative", (line_of(http(time=-5)),), "quarantined", ("time",), ("negative",)),
    # strict types
    LineCase(
        "port-true",
        (line_of(set_path(http(), "src_endpoint.port", True)),),
        "quarantined",
        ("src_endpoint.port",),
        ("expected an integer", "boolean"),
    ),
    LineCase(
        "port-string",
        (line_of(set_path(http(), "src_endpoint.port", "443")),),
        "quarantined",
        ("src_endpoint.port",),
        ("expected an integer", "string"),
    ),
    LineCase(
        "port-float",
        (line_of(set_path(http(), "src_endpoint.port", 443.0)),),
        "quarantined",
        ("src_endpoint.port",),
        ("expected an integer",),
    ),
    LineCase(
        "port-fullwidth-digits",
        (line_of(set_path(http(), "src_endpoint.port", "４４３")),),
        "quarantined",
        ("src_endpoint.port",),
        ("expected an integer",),
    ),
    LineCase(
        "severity-true",
        (line_of(http(severity_id=True)),),
        "quarantined",
        ("severity_id",),
        ("expected an integer", "boolean"),
    ),
    LineCase(
        "activity-float",
        (line_of(http(activity_id=3.0)),),
        "quarantined",
        ("activity_id",),
        ("expected an integer",),
    ),
    LineCase(
        "class-uid-float",
        (line_of(set_path(http(), "class_uid", 4002.0)),),
        "quarantined",
        ("class_uid",),
        ("not a supported OCSF class",),
    ),
    LineCase(
        "class-uid-string",
        (line_of(set_path(http(), "class_uid", "4002")),),
        "quarantined",
        ("class_uid",),
        ("must be an integer",),
    ),
    LineCase(
        "is-mfa-string",
        (line_of(set_path(AUTH, "is_mfa", "yes")),),
        "quarantined",
        ("is_mfa",),
        ("expected a boolean",),
    ),
    LineCase(
        "event-id-integer",
        (line_of(set_path(http(), "metadata.uid", 5)),),
        "quarantined",
        ("metadata.uid",),
        ("expected a string", "integer"),
    ),
    # integers beyond int64 (the schema's and the frame's)
    LineCase(
        "bytes-beyond-int64",
        (line_of(set_path(make_event(92, ocsf.NETWORK_ACTIVITY), "traffic.bytes_in", 2**70)),),
        "quarantined",
        ("traffic.bytes_in",),
        ("64-bit",),
    ),
    LineCase(
        "extra-field-beyond-int64",
        (line_of(http(vendor_counter=2**64)),),
        "quarantined",
        ("vendor_counter",),
        ("64-bit",),
    ),
    LineCase(
        "integer-of-5000-digits",
        (line_of(http(duration=1.0)).replace('"duration": 1.0', f'"duration": {HUGE_INT}'),),
        "quarantined",
        (None,),
        ("not valid JSON", "number"),
    ),
    # a field of another class with the wrong type
    LineCase(
        "is-mfa-maybe-on-http",
        (line_of(http(is_mfa="maybe")),),
        "quarantined",
        ("is_mfa",),
        ("expected a boolean", "maybe"),
    ),
    LineCase(
        "response-code-string-on-auth",
        (line_of(set_path(AUTH, "http_response.code", "200")),),
        "quarantined",
        ("http_response.code",),
        ("expected an integer",),
    ),
    LineCase(
        "api-operation-number-on-http",
        (line_of(set_path(http(), "api.operation", 7)),),
        "quarantined",
        ("api.operation",),
        ("expected a string",),
    ),
    # text
    LineCase(
        "lone-surrogate",
        ('{"message": "a\\ud800b", ' + line_of(http())[1:],),
        "quarantined",
        ("message",),
        ("surrogate",),
    ),
    LineCase(
        "lone-surrogate-extra-field",
        ('{"note": "\\udc00", ' + line_of(http())[1:],),
        "quarantined",
        ("note",),
        ("surrogate",),
    ),
    LineCase(
        "not-utf8",
        (line_of(http()).encode().replace(b"GET", b"G\xffT"),),
        "quarantined",
        (None,),
        ("not valid UTF-8",),
    ),
    # structure
    LineCase(
        "nested-5000-deep",
        ('{"x": ' + "[" * 5000 + "]" * 5000 + ", " + line_of(http())[1:],),
        "quarantined",
        (None,),
        ("nested too deeply",),
    ),
    LineCase(
        "objects-100-deep",
        ('{"x": ' + '{"a": ' * 100 + "1" + "}" * 100 + ", " + line_of(http())[1:],),
        "quarantined",
        ("x." + ".".join(["a"] * 63),),
        ("nested more than 64 levels",),
    ),
    LineCase(
        "two-objects-on-a-line",
        (line_of(http(93)) + "," + line_of(http(94)),),
        "quarantined",
        (None,),
        ("2 JSON values", "exactly one object per line"),
    ),
    LineCase(
        "two-objects-space",
        (line_of(http(93)) + " " + line_of(http(94)),),
        "quarantined",
        (None,),
        ("not valid JSON",),
    ),
    LineCase(
        "event-split-over-two-lines",
        (line_of(http())[:50], line_of(http())[50:]),
        "quarantined",
        (None, None),
        ("not valid JSON",),
    ),
    LineCase(
        "trailing-comma", (line_of(http()) + ",",), "quarantined", (None,), ("not valid JSON",)
    ),
    LineCase(
        "truncated-last-line", (line_of(http())[:-7],), "quarantined", (None,), ("not valid JSON",)
    ),
    LineCase("array", ("[1, 2]",), "quarantined", (None,), ("not a JSON object", "array")),
    LineCase("null", ("null",), "quarantined", (None,), ("not a JSON object", "null")),
    LineCase("string", ('"event"',), "quarantined", (None,), ("not a JSON object", "string")),
    LineCase(
        "class-uid-missing",
        (line_of({k: v for k, v in http().items() if k != "class_uid"}),),
        "quarantined",
        ("class_uid",),
        ("missing",),
    ),
    LineCase(
        "required-field-missing",
        (line_of({k: v for k, v in http().items() if k != "time"}),),
        "quarantined",
        ("time",),
        ("missing",),
    ),
    LineCase(
        "type-uid-mismatch",
        (line_of(http(type_uid=1)),),
        "quarantined",
        ("type_uid",),
        ("does not match",),
    ),
    LineCase(
        "status-out-of-enum",
        (line_of(http(status_id=3)),),
        "quarantined",
        ("status_id",),
        ("not a valid status_id",),
    ),
    LineCase(
        "port-out-of-range",
        (line_of(set_path(http(), "src_endpoint.port", 70000)),),
        "quarantined",
        ("src_endpoint.port",),
        ("<= 65535",),
    ),
    LineCase(
        "negative-bytes",
        (line_of(set_path(make_event(95, ocsf.NETWORK_ACTIVITY), "traffic.bytes_out", -1)),),
        "quarantined",
        ("traffic.bytes_out",),
        (">= 0",),
    ),
    # long values are quoted, not repeated
    LineCase(
        "ip-of-1MB",
        (line_of(set_path(http(), "src_endpoint.ip", LONG)),),
        "quarantined",
        ("src_endpoint.ip",),
        ("not a valid IP address", "characters"),
        400,
    ),
    LineCase(
        "method-list-of-1MB",
        (line_of(set_path(http(), "http_request.http_method", [LONG])),),
        "quarantined",
        ("http_request.http_method",),
        ("expected a string", "characters"),
        400,
    ),
    # unusual but valid
    LineCase("extra-fields-kept", (line_of(http(vendor={"rule": "r1", "score": 0.5})),), "handled"),
    LineCase("unicode-text", (line_of(http(message="Zugriff verweigert: Müller ✓")),), "handled"),
    LineCase("blank-and-space-lines", ("", "   ", line_of(http())), "handled"),
    LineCase("surrounding-whitespace", ("  " + line_of(http()) + "  ",), "handled"),
    LineCase("int-at-int64-max", (line_of(http(vendor_counter=2**63 - 1)),), "handled"),
]


def write_case(path: Path, case: LineCase, *, gz: bool = False, crlf: bool = False) -> Path:
    lines = [line_of(GOOD[0]), line_of(GOOD[1]), *case.bad, *(line_of(e) for e in GOOD[2:])]
    encoded = [x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass") for x in lines]
    data = (b"\r\n" if crlf else b"\n").join(encoded) + b"\n"
    if gz:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def first_bad_line(case: LineCase) -> int:
    return 3  # two good lines come first


def assert_invariant(result) -> None:
    assert len(result.events) + len(result.quarantined) == result.n_records


@pytest.mark.parametrize("layout", ["plain", "gzip", "crlf"])
@pytest.mark.parametrize("case", LINE_CASES, ids=[f"{c.outcome}-{c.name}" for c in LINE_CASES])
def test_jsonl_case(tmp_path: Path, case: LineCase, layout: str) -> None:
    path = write_case(tmp_path / "case.jsonl", case, gz=layout == "gzip", crlf=layout == "crlf")
    result = read_ocsf_jsonl(path, on_error="quarantine")
    assert_invariant(result)
    n_bad_lines = sum(1 for line in case.bad if line.strip())  # blank lines are no records
    assert result.n_records == len(GOOD) + n_bad_lines
    if case.outcome == "handled":
        assert result.quarantined == []
        assert len(result.events) == result.n_records
        assert result.events["event_id"].tolist()[:2] == ["evt-00000", "evt-00001"]
        read_ocsf_jsonl(path)  # and nothing raises
        return
    assert case.outcome == "quarantined"
    assert [b.field for b in result.quarantined] == list(case.fields)
    numbers = [b.record_number for b in result.quarantined]
    assert numbers[0] == first_bad_line(case)
    assert numbers == sorted(numbers)
    for bad in result.quarantined:
        for word in case.words:
            assert word in bad.problem, (word, bad.problem)
        assert len(str(bad)) <= case.max_message, len(str(bad))
    # every good line loads
    good_ids = [e["metadata"]["uid"] for e in GOOD]
    assert result.events["event_id"].tolist() == good_ids
    with pytest.raises(OCSFValidationError) as info:
        read_ocsf_jsonl(path)
    message = str(info.value)
    assert str(path) in message and f"record {numbers[0]}" in message
    assert len(message) < 2_000


# --- file-level problems ------------------------------------------------------------------------


def _good_jsonl_gz(path: Path) -> bytes:
    write_ocsf_jsonl(GOOD, path)
    return path.read_bytes()


FILE_CASES = {
    "gzip-truncated": (lambda p: p.write_bytes(_good_jsonl_gz(p)[:-20]), ("gzip", "truncated")),
    "gzip-corrupt": (
        lambda p: p.write_bytes((d := _good_jsonl_gz(p))[:12] + b"\x00" * 40 + d[52:]),
        ("gzip", "corrupt"),
    ),
    "gzip-header-only": (lambda p: p.write_bytes(b"\x1f\x8b"), ("gzip",)),
    "directory": (lambda p: p.mkdir(), ("cannot be read",)),
}


@pytest.mark.parametrize("name", sorted(FILE_CASES), ids=[f"error-{n}" for n in sorted(FILE_CASES)])
def test_jsonl_file_error_names_the_file(tmp_path: Path, name: str) -> None:
    make, words = FILE_CASES[name]
    path = tmp_path / "events.jsonl.gz"
    make(path)
    with pytest.raises(OCSFFileError) as info:
        read_ocsf_jsonl(path, on_error="quarantine")
    assert str(info.value).startswith(str(path))
    for word in words:
        assert word in str(info.value)


def test_error_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_ocsf_jsonl(tmp_path / "absent.jsonl")
    with pytest.raises(FileNotFoundError, match=r"absent\.parquet"):
        read_ocsf_parquet(tmp_path / "absent.parquet")


def test_handled_empty_file_and_byte_order_mark(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    result = read_ocsf_jsonl(empty)
    assert result.n_records == 0 and len(result.events) == 0
    assert list(result.events.columns[: len(ocsf.FLAT_COLUMNS)]) == list(ocsf.FLAT_COLUMNS)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + "\n".join(line_of(e) for e in GOOD).encode())
    assert len(read_ocsf_jsonl(bom).events) == len(GOOD)


def test_quarantined_a_parquet_file_read_as_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    write_ocsf_parquet(GOOD, path)
    result = read_ocsf_jsonl(path, on_error="quarantine")
    assert_invariant(result)
    assert len(result.events) == 0 and result.n_records == len(result.quarantined) > 0
    assert all("UTF-8" in b.problem or "JSON" in b.problem for b in result.quarantined)


def test_quarantined_bad_label_with_labels_as_columns(tmp_path: Path) -> None:
    labelled = [set_path(e, "unmapped.ground_truth.is_anomaly", False) for e in GOOD]
    labelled.insert(2, set_path(http(), "unmapped.ground_truth.is_anomaly", "yes"))
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(line_of(e) for e in labelled) + "\n")
    result = read_ocsf_jsonl(path, on_error="quarantine", labels="columns")
    assert_invariant(result)
    assert [(b.record_number, b.field) for b in result.quarantined] == [
        (3, "unmapped.ground_truth.is_anomaly")
    ]
    assert "expected a boolean" in result.quarantined[0].problem
    assert result.events["is_anomaly"].tolist() == [False] * len(GOOD)


# --- parquet ------------------------------------------------------------------------------------


def flat_good() -> pd.DataFrame:
    return events_to_frame(GOOD)


def _parquet_with(column: str, values: list[Any], arrow_type: pa.DataType | None = None):
    def make(path: Path) -> None:
        table = pa.Table.from_pandas(flat_good(), preserve_index=False)
        array = pa.array(values, type=arrow_type)
        if column in table.column_names:
            table = table.set_column(table.column_names.index(column), column, array)
        else:
            table = table.append_column(column, array)
        pq.write_table(table, path)

    return make


N = len(GOOD)
PARQUET_CASES = {
    # name: (writer, outcome, quarantined rows, field, words)
    "duration-inf": (
        _parquet_with("duration", [1.0, float("inf"), *[2.0] * (N - 2)]),
        "quarantined",
        [2],
        "duration",
        ("finite",),
    ),
    "time-seconds": (
        _parquet_with("time", [1_772_409_600_000, 1_772_409_601, *[1_772_409_602_000] * (N - 2)]),
        "quarantined",
        [2],
        "time",
        ("looks like seconds",),
    ),
    "bytes-uint64-beyond-int64": (
        _parquet_with("traffic.bytes_in", [None, 2**63 + 5, *[None] * (N - 2)], pa.uint64()),
        "quarantined",
        [2],
        "traffic.bytes_in",
        ("64-bit",),
    ),
    "is-mfa-string-column": (
        _parquet_with("is_mfa", [None, "maybe", *[None] * (N - 2)], pa.string()),
        "quarantined",
        [2],
        "is_mfa",
        ("expected a boolean",),
    ),
    "port-bool-column": (
        _parquet_with("dst_endpoint.port", [None, True, *[None] * (N - 2)], pa.bool_()),
        "quarantined",
        [2],
        "dst_endpoint.port",
        ("expected an integer", "boolean"),
    ),
    "extra-float-column-inf": (
        _parquet_with("vendor.score", [0.5, 0.5, float("-inf"), *[0.5] * (N - 3)]),
        "quarantined",
        [3],
        "vendor.score",
        ("finite",),
    ),
}


@pytest.mark.parametrize(
    "name", sorted(PARQUET_CASES), ids=[f"{PARQUET_CASES[n][1]}-{n}" for n in sorted(PARQUET_CASES)]
)
def test_parquet_case(tmp_path: Path, name: str) -> None:
    make, outcome, rows, field_name, words = PARQUET_CASES[name]
    path = tmp_path / "case.parquet"
    make(path)
    result = read_ocsf_parquet(path, on_error="quarantine")
    assert_invariant(result)
    assert outcome == "quarantined"
    assert [(b.record_number, b.field) for b in result.quarantined] == [
        (r, field_name) for r in rows
    ]
    for word in words:
        assert word in result.quarantined[0].problem, result.quarantined[0].problem
    with pytest.raises(OCSFValidationError, match=rf"in {path}"):
        read_ocsf_parquet(path)


def nested_table(events: list[dict[str, Any]]) -> pa.Table:
    """OCSF as data lakes store it: one struct column per object."""
    return pa.Table.from_struct_array(pa.array(events))


def test_handled_nested_struct_parquet_reads_like_the_flat_file(tmp_path: Path) -> None:
    pq.write_table(nested_table(GOOD), tmp_path / "lake.parquet")
    write_ocsf_parquet(GOOD, tmp_path / "flat.parquet")
    lake = read_ocsf_parquet(tmp_path / "lake.parquet")
    flat = read_ocsf_parquet(tmp_path / "flat.parquet")
    columns = list(ocsf.FLAT_COLUMNS)
    pd.testing.assert_frame_equal(lake.events[columns], flat.events[columns])
    assert lake.events["event_id"].notna().all()
    assert lake.events["src_endpoint.ip"].notna().all()


def test_quarantined_bad_value_inside_a_struct_column(tmp_path: Path) -> None:
    events = copy.deepcopy(GOOD)
    events[3]["src_endpoint"]["ip"] = "10.0.0.300"
    pq.write_table(nested_table(events), tmp_path / "lake.parquet")
    result = read_ocsf_parquet(tmp_path / "lake.parquet", on_error="quarantine")
    assert_invariant(result)
    assert [(b.record_number, b.field) for b in result.quarantined] == [(4, "src_endpoint.ip")]


def test_handled_parquet_timestamp_time_column(tmp_path: Path) -> None:
    table = pa.Table.from_pandas(flat_good(), preserve_index=False)
    millis = flat_good()["time"].to_numpy()
    stamps = pa.array(pd.to_datetime(millis, unit="ms", utc=True), pa.timestamp("us", tz="UTC"))
    table = table.set_column(table.column_names.index("time"), "time", stamps)
    pq.write_table(table, tmp_path / "ts.parquet")
    assert read_ocsf_parquet(tmp_path / "ts.parquet").events["time"].tolist() == millis.tolist()


PARQUET_FILE_CASES = {
    "maps-to-nothing": (
        lambda p: pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), p),
        ("has no OCSF column", "'a'"),
    ),
    "truncated": (
        lambda p: (write_ocsf_parquet(GOOD, p), p.write_bytes(p.read_bytes()[:200])),
        ("not a readable parquet file",),
    ),
    "not-parquet": (
        lambda p: p.write_text("class_uid,time\n4002,1\n"),
        ("not a readable parquet",),
    ),
    "event-id-and-metadata-uid": (
        lambda p: pq.write_table(
            nested_table(GOOD).append_column("event_id", pa.array(["x"] * N)), p
        ),
        ("both 'event_id' and 'metadata.uid'",),
    ),
}


@pytest.mark.parametrize(
    "name", sorted(PARQUET_FILE_CASES), ids=[f"error-{n}" for n in sorted(PARQUET_FILE_CASES)]
)
def test_parquet_file_error_names_the_file(tmp_path: Path, name: str) -> None:
    make, words = PARQUET_FILE_CASES[name]
    path = tmp_path / "events.parquet"
    make(path)
    with pytest.raises(OCSFFileError) as info:
        read_ocsf_parquet(path, on_error="quarantine")
    assert str(info.value).startswith(str(path))
    for word in words:
        assert word in str(info.value)


# --- validate_events (Python objects) -------------------------------------------------------------

PYTHON_CASES = {
    # name: (event, outcome, field, words)
    "numpy-int64": (set_path(http(), "src_endpoint.port", np.int64(443)), "handled", None, ()),
    "numpy-float-inf": (http(duration=np.float64("inf")), "quarantined", "duration", ("finite",)),
    "pandas-NA": (http(duration=pd.NA), "quarantined", "duration", ("expected a number",)),
    "bool-port": (
        set_path(http(), "src_endpoint.port", np.True_),
        "quarantined",
        "src_endpoint.port",
        ("expected an integer",),
    ),
    "not-a-mapping": ([1, 2], "quarantined", None, ("expected a JSON object",)),
    "dict-nested-5000-deep": ("deep", "quarantined", "x" + ".a" * 63, ("nested more than 64",)),
    "surrogate-string": (http(message="\ud800"), "quarantined", "message", ("surrogate",)),
}


def _deep(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"a": 1}
    for _ in range(depth):
        node = {"a": node}
    return http(x=node)


@pytest.mark.parametrize(
    "name", sorted(PYTHON_CASES), ids=[f"{PYTHON_CASES[n][1]}-{n}" for n in sorted(PYTHON_CASES)]
)
def test_validate_events_case(name: str) -> None:
    event, outcome, field_name, words = PYTHON_CASES[name]
    if event == "deep":
        event = _deep(5000)
    valid, bad = validate_events([GOOD[0], event, GOOD[1]])
    assert len(valid) + len(bad) == 3
    if outcome == "handled":
        assert bad == [] and len(valid) == 3
        return
    assert [(b.record_number, b.field) for b in bad] == [(2, field_name)]
    for word in words:
        assert word in bad[0].problem, bad[0].problem


# --- properties: random OCSF records and files -------------------------------------------------

#: Fields of the flat frame with the JSON kind each takes.
TYPED_FIELDS = {
    "duration": "number",
    "src_endpoint.port": "integer",
    "src_endpoint.ip": "ip",
    "is_mfa": "boolean",
    "message": "string",
    "http_response.code": "integer",
    "traffic.bytes_in": "integer",
    "severity_id": "integer",
}

json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 9), max_size=2),
)


def acceptable(kind: str, value: Any) -> bool:
    """Whether a strict reader may accept ``value`` for a field of this kind unchanged."""
    if value is None:
        return True
    if kind == "number":
        return type(value) in (int, float) and np.isfinite(value) and value >= 0
    if kind == "integer":
        return type(value) is int
    if kind == "boolean":
        return type(value) is bool
    return type(value) is str


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    classes=st.lists(st.sampled_from(CLASSES), min_size=1, max_size=6),
    where=st.integers(0, 100),
    field_name=st.sampled_from(sorted(TYPED_FIELDS)),
    value=json_values,
)
def test_property_a_corrupted_field_is_kept_exactly_or_quarantined_with_its_field(
    tmp_path: Path, classes: list[int], where: int, field_name: str, value: Any
) -> None:
    events = [make_event(i, c) for i, c in enumerate(classes)]
    index = where % len(events)
    events[index] = set_path(events[index], field_name, value)
    path = tmp_path / "prop.jsonl"
    path.write_text(
        "\n".join(line_of(e) for e in events) + "\n", encoding="utf-8", errors="surrogatepass"
    )
    result = read_ocsf_jsonl(path, on_error="quarantine")
    assert_invariant(result)
    assert result.n_records == len(events)
    bad = {b.record_number: b for b in result.quarantined}
    assert set(bad) <= {index + 1}, "only the corrupted line may be quarantined"
    if index + 1 in bad:
        record = bad[index + 1]
        assert record.field is not None and (
            record.field == field_name
            or field_name.startswith(record.field)
            or record.field.startswith(field_name)
        ), (record.field, field_name)
        return
    # accepted: the value must be a legitimate one, stored unchanged
    kind = TYPED_FIELDS[field_name]
    if kind == "ip":
        assert value is None or isinstance(value, str)
    else:
        assert acceptable(kind, value), (field_name, value)
    row = result.events[result.events["event_id"] == f"evt-{index:05d}"].iloc[0]
    stored = row[field_name]
    if value is None:
        assert pd.isna(stored)
    elif kind == "number":
        assert float(stored) == float(value)
    else:
        assert stored == value and not (type(value) is int and isinstance(stored, (bool, np.bool_)))


line_noise = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40),
    st.sampled_from(["{", "}", "[]", "{}", "null", '{"class_uid": 4002}', "{,}", "\\ud800"]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(noise=st.lists(line_noise, max_size=6), gz=st.booleans(), positions=st.randoms())
def test_property_any_file_of_lines_reads_with_the_invariant(
    tmp_path: Path, noise: list[Any], gz: bool, positions: Any
) -> None:
    """Random garbage lines between valid events: never an exception, good lines all load."""
    lines: list[bytes] = [line_of(e).encode() for e in GOOD]
    for item in noise:
        data = item if isinstance(item, bytes) else item.encode("utf-8", "surrogatepass")
        for part in data.splitlines() or [data]:
            lines.insert(positions.randint(0, len(lines)), part)
    blob = b"\n".join(lines) + b"\n"
    path = tmp_path / "noise.jsonl"
    path.write_bytes(gzip.compress(blob) if gz else blob)
    if not gz and blob.startswith(b"\x1f\x8b"):
        # A plain file that starts with the gzip magic is taken for gzip, and refused as a
        # corrupt one with a file-level error rather than read as lines.
        with pytest.raises(OCSFFileError, match="gzip"):
            read_ocsf_jsonl(path, on_error="quarantine")
        return
    result = read_ocsf_jsonl(path, on_error="quarantine")
    assert_invariant(result)
    assert set(result.events["event_id"]) >= {e["metadata"]["uid"] for e in GOOD}
    for bad in result.quarantined:
        assert len(str(bad)) < 1_000


def test_plain_file_starting_with_the_gzip_magic_is_refused_as_corrupt_gzip(tmp_path: Path) -> None:
    """The case hypothesis found: b'\\x1f\\x8b' as the first line of a plain JSONL file."""
    path = tmp_path / "magic.jsonl"
    path.write_bytes(b"\x1f\x8b\n" + line_of(GOOD[0]).encode() + b"\n")
    with pytest.raises(OCSFFileError, match=r"magic\.jsonl.*gzip"):
        read_ocsf_jsonl(path, on_error="quarantine")
