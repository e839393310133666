"""Batch scoring: chunked == one-shot, nothing dropped, bad records quarantined; train_bundle."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.io import OCSFFileError, read_ocsf_jsonl, write_ocsf_jsonl, write_ocsf_parquet
from anomaly_tutorial.serving import DetectionPipeline, load_bundle, read_manifest
from anomaly_tutorial.serving.batch import iter_record_chunks, score_files, train_bundle


@pytest.fixture(scope="module")
def events(periods):
    """Two test days in time order."""
    test = periods["test"]
    two = test[test["time"] < test["time"].min() + 2 * 86_400_000]
    return two.sort_values("time", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def dirty_jsonl(events, tmp_path_factory):
    """The events as JSONL with bad lines and blank lines mixed in; returns (path, bad lines)."""
    folder = tmp_path_factory.mktemp("batch")
    clean = folder / "clean.jsonl"
    write_ocsf_jsonl(events, clean)
    lines = clean.read_text().splitlines()
    missing = json.loads(lines[5])
    del missing["class_uid"]
    wrong_type = json.loads(lines[7])
    wrong_type["time"] = "yesterday"
    bad = {
        4: "{not json",
        9: json.dumps(missing),
        13: json.dumps(wrong_type),
        2000: '{"class_uid": 3002, "time": NaN}',
    }
    out, expected = [], {}
    for i, line in enumerate(lines):
        if i in bad:
            out.append(bad[i])
            expected[len(out)] = bad[i]
        if i == 20:
            out.append("")  # a blank line: not a record, but counted as a line
        out.append(line)
    path = folder / "dirty.jsonl"
    path.write_text("\n".join(out) + "\n")
    return path, expected


def test_chunked_scores_equal_one_shot_scores(pipeline, events, dirty_jsonl, tmp_path):
    path, _ = dirty_jsonl
    summary = score_files(pipeline, [path], tmp_path / "out", chunk_size=700, progress=False)
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    valid = read_ocsf_jsonl(path, on_error="quarantine").events
    one_shot = pipeline.score(valid)
    assert len(scores) == summary.n_events == len(valid) == len(events)
    for column in ("detector_score", "p_value", "score"):
        np.testing.assert_array_equal(scores[column].to_numpy(), one_shot[column].to_numpy())
    assert (scores["event_id"].to_numpy() == one_shot["event_id"].to_numpy()).all()
    assert (scores["alert"].to_numpy() == one_shot["alert"].to_numpy()).all()
    assert scores["severity"].fillna("-").tolist() == one_shot["severity"].fillna("-").tolist()
    assert summary.n_out_of_order == 0


def test_nothing_is_dropped_and_bad_lines_are_quarantined(pipeline, dirty_jsonl, tmp_path):
    path, expected = dirty_jsonl
    summary = score_files(pipeline, path, tmp_path / "out", chunk_size=1000, progress=False)
    n_lines = sum(1 for line in path.read_text().splitlines() if line.strip())
    assert summary.n_events + summary.n_quarantined == summary.n_records == n_lines
    assert summary.n_quarantined == len(expected) == 4
    rows = [json.loads(line) for line in (tmp_path / "out" / "quarantine.jsonl").open()]
    assert [r["record"] for r in rows] == sorted(expected)
    lines = path.read_text().split("\n")
    for row in rows:
        assert lines[row["record"] - 1] == expected[row["record"]]  # the line an editor shows
        assert row["file"] == str(path) and row["error"]
    fields = {r["record"]: r["field"] for r in rows}
    assert "class_uid" in str(fields[sorted(expected)[1]])
    assert fields[sorted(expected)[2]] == "time"
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    assert not set(scores["record"]) & set(expected)  # record numbers are line numbers


def test_findings_and_summary_agree_with_the_scores(pipeline, dirty_jsonl, tmp_path):
    path, _ = dirty_jsonl
    summary = score_files(pipeline, path, tmp_path / "out", chunk_size=5000, progress=False)
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    findings = [json.loads(line) for line in (tmp_path / "out" / "findings.jsonl").open()]
    assert len(findings) == summary.n_alerts == int(scores["alert"].sum()) > 0
    flagged = scores.loc[scores["alert"], "event_id"].tolist()
    assert [f["finding_info"]["related_events"][0]["uid"] for f in findings] == flagged
    assert sum(summary.alerts_by_severity.values()) == summary.n_alerts
    assert list(summary.alerts_by_severity) == ["critical", "high", "medium", "low"]
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert written["n_events"] == summary.n_events and summary.events_per_second > 0
    assert "events scored" in str(summary)


def test_gzip_parquet_and_jsonl_output_give_the_same_scores(pipeline, events, tmp_path):
    head = events.iloc[:1500]
    write_ocsf_jsonl(head, tmp_path / "head.jsonl.gz")
    write_ocsf_parquet(head, tmp_path / "head.parquet")
    assert (tmp_path / "head.jsonl.gz").read_bytes()[:2] == b"\x1f\x8b"
    expected = pipeline.score(head)["detector_score"].to_numpy()
    gz = score_files(pipeline, tmp_path / "head.jsonl.gz", tmp_path / "a", chunk_size=400,
                     scores_format="jsonl", progress=False)  # fmt: skip
    rows = [json.loads(line) for line in (tmp_path / "a" / "scores.jsonl").open()]
    np.testing.assert_array_equal([r["detector_score"] for r in rows], expected)
    parquet = score_files(pipeline, tmp_path / "head.parquet", tmp_path / "b", chunk_size=400,
                          progress=False)  # fmt: skip
    scores = pd.read_parquet(tmp_path / "b" / "scores.parquet")
    np.testing.assert_array_equal(scores["detector_score"].to_numpy(), expected)
    assert gz.n_events == parquet.n_events == 1500
    assert scores["record"].tolist() == list(range(1, 1501))


def test_parquet_bad_rows_are_quarantined_with_their_row_number(pipeline, events, tmp_path):
    head = events.iloc[:900].copy()
    head["duration"] = head["duration"].astype("float64")
    head.loc[[10, 650], "duration"] = np.inf
    write_ocsf_parquet(head, tmp_path / "bad.parquet")
    summary = score_files(pipeline, tmp_path / "bad.parquet", tmp_path / "out", chunk_size=300,
                          progress=False)  # fmt: skip
    rows = [json.loads(line) for line in (tmp_path / "out" / "quarantine.jsonl").open()]
    assert [r["record"] for r in rows] == [11, 651]
    assert {r["field"] for r in rows} == {"duration"}
    assert summary.n_events + summary.n_quarantined == summary.n_records == 900


def test_several_files_are_one_stream(pipeline, events, tmp_path):
    head = events.iloc[:1200]
    write_ocsf_jsonl(head.iloc[:500], tmp_path / "a.jsonl")
    write_ocsf_parquet(head.iloc[500:], tmp_path / "b.parquet")
    summary = score_files(pipeline, [tmp_path / "a.jsonl", tmp_path / "b.parquet"],
                          tmp_path / "out", chunk_size=256, progress=False)  # fmt: skip
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    np.testing.assert_array_equal(
        scores["detector_score"].to_numpy(), pipeline.score(head)["detector_score"].to_numpy()
    )
    assert summary.n_events == 1200


def test_out_of_order_chunks_are_counted(pipeline, events, tmp_path):
    head = events.iloc[:600]
    write_ocsf_jsonl(pd.concat([head.iloc[300:], head.iloc[:300]]), tmp_path / "late.jsonl")
    summary = score_files(pipeline, tmp_path / "late.jsonl", tmp_path / "out", chunk_size=300,
                          progress=False)  # fmt: skip
    assert summary.n_out_of_order == 300
    assert "out of time order" in str(summary)


def test_unreadable_and_missing_files_raise(pipeline, events, tmp_path):
    write_ocsf_jsonl(events.iloc[:50], tmp_path / "ok.jsonl.gz")
    data = (tmp_path / "ok.jsonl.gz").read_bytes()
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(OCSFFileError, match=r"cut\.jsonl\.gz"):
        score_files(pipeline, tmp_path / "cut.jsonl.gz", tmp_path / "out", progress=False)
    with pytest.raises(FileNotFoundError, match=r"nowhere\.jsonl"):
        score_files(pipeline, tmp_path / "nowhere.jsonl", tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="chunk_size"):
        list(iter_record_chunks(tmp_path / "ok.jsonl.gz", 0))
    with pytest.raises(ValueError, match="scores_format"):
        score_files(pipeline, tmp_path / "ok.jsonl.gz", tmp_path / "out", scores_format="csv")


def test_train_bundle_on_files_and_score_with_the_bundle(periods, events, tmp_path):
    days = pd.concat([periods["train"].iloc[-6000:], periods["validation"].iloc[:2000]])
    write_ocsf_jsonl(days, tmp_path / "days.jsonl")
    pipeline = train_bundle(tmp_path / "bundle", [tmp_path / "days.jsonl"], alerts_per_day=10)
    manifest = read_manifest(tmp_path / "bundle")
    assert manifest["training"]["n_events"] + manifest["validation"]["n_events"] == 8000
    assert pipeline.alerts_per_day == 10 and pipeline.kind_fitted_  # labels were read back
    write_ocsf_jsonl(events.iloc[:300], tmp_path / "new.jsonl")
    summary = score_files(tmp_path / "bundle", tmp_path / "new.jsonl", tmp_path / "out",
                          progress=False)  # fmt: skip
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    expected = load_bundle(tmp_path / "bundle").score(events.iloc[:300])["detector_score"]
    np.testing.assert_array_equal(scores["detector_score"].to_numpy(), expected.to_numpy())
    assert summary.n_events == 300


def test_train_bundle_defaults_to_the_book_data(periods, tmp_path, monkeypatch):
    import anomaly_tutorial.serving.batch as batch

    fitted = {}

    class Recording(DetectionPipeline):
        def fit(self, train, validation):
            fitted["train"], fitted["validation"] = len(train), len(validation)
            return super().fit(train.iloc[:3000], validation.iloc[:1000])

    monkeypatch.setattr(batch, "DetectionPipeline", Recording)
    train_bundle(tmp_path / "bundle")
    assert fitted == {"train": len(periods["train"]), "validation": len(periods["validation"])}
    assert (tmp_path / "bundle" / "manifest.json").exists()
    shutil.rmtree(tmp_path / "bundle")
