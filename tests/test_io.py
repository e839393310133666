"""Round trips of OCSF events through JSONL (plain and gzip) and parquet."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.io import (
    LABEL_PREFIX,
    LoadResult,
    events_to_frame,
    labels_from_unmapped,
    read_ocsf_jsonl,
    read_ocsf_parquet,
    validate_events,
    write_ocsf_jsonl,
    write_ocsf_parquet,
)
from anomaly_tutorial.io.frame import unflatten_row

T0 = 1_772_409_600_000  # 2026-03-02 00:00 UTC in epoch milliseconds


def make_event(i: int, class_uid: int = ocsf.HTTP_ACTIVITY, **fields: Any) -> dict[str, Any]:
    """A valid nested OCSF event of ``class_uid``; ``fields`` override top-level keys."""
    activity = 1 if class_uid != ocsf.HTTP_ACTIVITY else 3
    event: dict[str, Any] = {
        "class_uid": class_uid,
        "category_uid": ocsf.CATEGORY_OF_CLASS[class_uid],
        "activity_id": activity,
        "type_uid": ocsf.type_uid(class_uid, activity),
        "severity_id": 1,
        "status_id": 1,
        "time": T0 + 1000 * i,
        "duration": 12.5 + i,
        "metadata": {"uid": f"evt-{i:05d}", "version": ocsf.OCSF_VERSION},
        "src_endpoint": {"ip": f"10.0.{i % 250}.{1 + i % 200}", "port": 40000 + i},
    }
    if class_uid == ocsf.AUTHENTICATION:
        event["user"] = {"name": f"user{i}", "uid": f"u{i}"}
        event["is_mfa"] = i % 2 == 0
    elif class_uid == ocsf.NETWORK_ACTIVITY:
        event["dst_endpoint"] = {"ip": "192.168.1.10", "port": 443}
        event["traffic"] = {"bytes_in": 100 * i, "bytes_out": 7 * i}
    elif class_uid == ocsf.HTTP_ACTIVITY:
        event["http_request"] = {"http_method": "GET", "url": {"path": f"/api/items/{i}"}}
        event["http_response"] = {"code": 200 if i % 5 else 503}
    elif class_uid == ocsf.API_ACTIVITY:
        event["api"] = {"operation": "GetObject", "service": {"name": "s3"}}
    event.update(fields)
    return event


CLASSES = (ocsf.AUTHENTICATION, ocsf.NETWORK_ACTIVITY, ocsf.HTTP_ACTIVITY, ocsf.API_ACTIVITY)


def mixed_events(n: int = 12) -> list[dict[str, Any]]:
    return [make_event(i, CLASSES[i % len(CLASSES)]) for i in range(n)]


def labelled_frame(n: int = 12) -> pd.DataFrame:
    frame = events_to_frame(mixed_events(n))
    anomalous = np.arange(n) % 4 == 1
    frame["is_anomaly"] = anomalous
    frame["anomaly_type"] = pd.array(
        np.where(anomalous, "brute_force", "normal").tolist(), dtype="string"
    )
    frame["anomaly_kind"] = pd.array(
        np.where(anomalous, "point", "normal").tolist(), dtype="string"
    )
    frame["incident_id"] = pd.array(
        [f"inc-{i // 4}" if a else None for i, a in enumerate(anomalous)], dtype="string"
    )
    return frame


def assert_flat_dtypes(frame: pd.DataFrame) -> None:
    assert list(frame.columns[: len(ocsf.FLAT_COLUMNS)]) == list(ocsf.FLAT_COLUMNS)
    for name, dtype in ocsf.FLAT_COLUMNS.items():
        assert frame[name].dtype == pd.Series([], dtype=dtype).dtype, name


def test_events_to_frame_order_dtypes_and_values() -> None:
    events = mixed_events(8)
    frame = events_to_frame(events)
    assert_flat_dtypes(frame)
    assert len(frame) == 8
    assert frame["event_id"].tolist() == [f"evt-{i:05d}" for i in range(8)]
    assert frame["time"].tolist() == [T0 + 1000 * i for i in range(8)]
    # class-specific columns are missing for the other classes
    assert frame["http_response.code"].isna().tolist() == [c != 4002 for c in frame["class_uid"]]
    assert frame.loc[1, "traffic.bytes_in"] == 100


def test_unflatten_row_matches_ocsf() -> None:
    frame = labelled_frame(8)
    rows = pa.Table.from_pandas(frame, preserve_index=False).to_pylist()
    paths: dict[str, list[str]] = {}
    for row, record in zip(rows, frame.to_dict("records"), strict=True):
        assert unflatten_row(row, paths) == ocsf.unflatten_event(record)
    with pytest.raises(ValueError, match="both a value and an object"):
        unflatten_row({"a": 1, "a.b": 2}, {})
    with pytest.raises(ValueError, match="both a value and an object"):
        unflatten_row({"a.b": 2, "a": 1}, {})


def test_events_to_frame_empty_has_all_flat_columns() -> None:
    frame = events_to_frame([])
    assert len(frame) == 0
    assert_flat_dtypes(frame)


def test_jsonl_round_trip(tmp_path: Path) -> None:
    events = mixed_events(20)
    path = tmp_path / "events.jsonl"
    assert write_ocsf_jsonl(events, path) == 20
    lines = path.read_text().splitlines()
    assert len(lines) == 20
    assert json.loads(lines[3]) == events[3]
    result = read_ocsf_jsonl(path)
    assert isinstance(result, LoadResult)
    assert result.n_records == 20
    assert result.quarantined == []
    assert_flat_dtypes(result.events)
    pd.testing.assert_frame_equal(result.events, events_to_frame(events))


def test_flat_frame_round_trip_through_jsonl_with_labels(tmp_path: Path) -> None:
    frame = labelled_frame(16)
    path = tmp_path / "labelled.jsonl"
    write_ocsf_jsonl(frame, path)
    first = json.loads(path.read_text().splitlines()[1])
    assert first["unmapped"]["ground_truth"] == {
        "is_anomaly": True,
        "anomaly_type": "brute_force",
        "anomaly_kind": "point",
        "incident_id": "inc-0",
    }
    assert "is_anomaly" not in first
    assert first["metadata"]["uid"] == "evt-00001"

    as_read = read_ocsf_jsonl(path)
    assert LABEL_PREFIX + "is_anomaly" in as_read.events.columns
    assert "is_anomaly" not in as_read.events.columns
    with_labels = read_ocsf_jsonl(path, labels="columns").events
    pd.testing.assert_frame_equal(with_labels, frame)
    pd.testing.assert_frame_equal(labels_from_unmapped(as_read.events), frame)


def test_labels_from_unmapped_integer_incident_ids() -> None:
    frame = pd.DataFrame(
        {LABEL_PREFIX + "incident_id": [3.0, np.nan, 7.0], LABEL_PREFIX + "is_anomaly": [1, 0, 1]}
    )
    out = labels_from_unmapped(frame)
    assert out["incident_id"].dtype == "Int64"
    assert out["incident_id"].tolist()[0] == 3 and out["incident_id"].isna().tolist()[1]
    assert out["is_anomaly"].dtype == bool
    with_missing = labels_from_unmapped(frame.assign(**{LABEL_PREFIX + "is_anomaly": [1, None, 0]}))
    assert with_missing["is_anomaly"].dtype == "boolean"


def test_parquet_round_trip_keeps_labels_and_extras(tmp_path: Path) -> None:
    frame = labelled_frame(16)
    frame["unmapped.note"] = pd.array([f"n{i}" for i in range(16)], dtype="string")
    path = tmp_path / "events.parquet"
    assert write_ocsf_parquet(frame, path) == 16
    result = read_ocsf_parquet(path)
    assert result.n_records == 16 and result.quarantined == []
    pd.testing.assert_frame_equal(result.events, frame)


def test_parquet_from_nested_events_matches_jsonl(tmp_path: Path) -> None:
    events = mixed_events(10)
    write_ocsf_parquet(events, tmp_path / "e.parquet")
    write_ocsf_jsonl(events, tmp_path / "e.jsonl")
    pd.testing.assert_frame_equal(
        read_ocsf_parquet(tmp_path / "e.parquet").events,
        read_ocsf_jsonl(tmp_path / "e.jsonl").events,
    )


def test_gzip_round_trip(tmp_path: Path) -> None:
    events = mixed_events(9)
    path = tmp_path / "events.jsonl.gz"
    write_ocsf_jsonl(events, path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    with gzip.open(path, "rt") as handle:
        assert json.loads(handle.readline()) == events[0]
    pd.testing.assert_frame_equal(read_ocsf_jsonl(str(path)).events, events_to_frame(events))


def test_extra_fields_are_kept(tmp_path: Path) -> None:
    events = mixed_events(4)
    events[0]["unmapped"] = {"raw_log": "GET /x 200", "tags": ["a", "b"]}
    events[1]["src_endpoint"]["hostname"] = "web-1"
    events[2]["custom_score"] = 0.5
    path = tmp_path / "extra.jsonl"
    write_ocsf_jsonl(events, path)
    frame = read_ocsf_jsonl(path).events
    assert frame.loc[0, "unmapped.raw_log"] == "GET /x 200"
    assert frame.loc[0, "unmapped.tags"] == ["a", "b"]
    assert frame.loc[1, "src_endpoint.hostname"] == "web-1"
    assert frame.loc[2, "custom_score"] == 0.5
    assert math.isnan(frame.loc[3, "custom_score"])


def test_blank_lines_are_skipped_but_keep_line_numbers(tmp_path: Path) -> None:
    events = mixed_events(3)
    lines = [json.dumps(events[0]), "", "   ", json.dumps(events[1]), "not json", ""]
    lines.append(json.dumps(events[2]))
    path = tmp_path / "gaps.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = read_ocsf_jsonl(path, on_error="quarantine")
    assert result.n_records == 4
    assert len(result.events) == 3
    assert [b.record_number for b in result.quarantined] == [5]
    assert result.quarantined[0].raw == "not json"
    # the line-by-line path (taken when a line is bad) gives the same frame as the fast path
    pd.testing.assert_frame_equal(result.events, events_to_frame(events))


def test_validate_events_coerces_numpy_scalars() -> None:
    event = make_event(1, ocsf.NETWORK_ACTIVITY)
    event["traffic"] = {"bytes_in": np.int64(5)}
    event["time"] = np.int64(T0)
    valid, bad = validate_events([event])
    assert bad == []
    assert type(valid[0]["time"]) is int and type(valid[0]["traffic"]["bytes_in"]) is int


def test_write_jsonl_reports_unwritable_record(tmp_path: Path) -> None:
    events = mixed_events(3)
    events[1]["duration"] = float("nan")
    path = tmp_path / "nan.jsonl"
    with pytest.raises(ValueError, match="record 2: cannot be written as JSON"):
        write_ocsf_jsonl(events, path)
    assert not path.exists()


def test_write_parquet_names_unwritable_column(tmp_path: Path) -> None:
    frame = events_to_frame(mixed_events(3))
    frame["mixed"] = pd.Series([1, "a", {"b": 2}], dtype=object)
    with pytest.raises(ValueError, match="column 'mixed'"):
        write_ocsf_parquet(frame, tmp_path / "mixed.parquet")


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    write_ocsf_jsonl(mixed_events(1), path)
    with pytest.raises(ValueError, match="on_error"):
        read_ocsf_jsonl(path, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels"):
        read_ocsf_jsonl(path, labels="top")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        read_ocsf_jsonl(tmp_path / "missing.jsonl")


def test_generator_output_validates(tmp_path: Path) -> None:
    data = pytest.importorskip("anomaly_tutorial.data")
    dataset = data.generate_dataset(
        data.GeneratorConfig(n_events=2_000, days=2, seed=11, anomaly_rate=0.05)
    )
    events = list(dataset.to_ocsf(include_labels=True))
    valid, bad = validate_events(events)
    assert bad == [], [str(b) for b in bad[:5]]
    assert len(valid) == len(dataset.events)
    path = tmp_path / "generated.jsonl.gz"
    write_ocsf_jsonl(dataset.events, path)
    frame = read_ocsf_jsonl(path, labels="columns").events
    assert frame["event_id"].tolist() == dataset.events["event_id"].astype(str).tolist()
    assert frame["is_anomaly"].sum() == dataset.events["is_anomaly"].sum()


def test_paused_gc_restores_collector_state() -> None:
    import gc

    from anomaly_tutorial.io.frame import paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
