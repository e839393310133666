"""The command line: train writes a loadable bundle; score quarantines bad lines, drops nothing;
loadtest starts ``serve`` in its own process and reports zero errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from anomaly_tutorial.data import GeneratorConfig, book_split, generate_dataset
from anomaly_tutorial.io import write_ocsf_jsonl
from anomaly_tutorial.serving.__main__ import main
from anomaly_tutorial.serving.bundle import load_bundle, read_manifest


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A bundle trained by ``train`` on a small generated dataset, and its test period."""
    folder = tmp_path_factory.mktemp("cli")
    dataset = generate_dataset(GeneratorConfig(n_events=2500, n_users=40, seed=11))
    train, validation, test = book_split().split(dataset.events)
    events_file = folder / "train_and_validation.jsonl"
    write_ocsf_jsonl(pd.concat([train, validation], ignore_index=True), events_file)
    bundle = folder / "bundle"
    assert main(["train", "--out", str(bundle), str(events_file)]) == 0
    return bundle, test, folder


def test_train_writes_a_bundle_that_loads(trained):
    bundle, test, _ = trained
    pipeline = load_bundle(bundle)
    manifest = read_manifest(bundle)
    assert manifest["schema_hash"] == pipeline.schema_hash()
    scores = pipeline.score(test.iloc[:50])
    assert len(scores) == 50 and scores["p_value"].between(0, 1, inclusive="right").all()


def test_score_quarantines_bad_lines_and_drops_nothing(trained, capsys):
    bundle, test, folder = trained
    good_file = folder / "test.jsonl"
    write_ocsf_jsonl(test.iloc[:300], good_file)
    lines = good_file.read_text().splitlines()
    bad = {
        5: '{"class_uid": 3002, "time": "yesterday"}',  # wrong type, missing fields
        17: "not json at all",
        40: lines[40].replace('"time": ', '"time": -', 1),  # negative time
        120: "[1, 2, 3]",
    }
    for number, text in bad.items():  # 1-based line numbers, as an editor shows them
        lines[number - 1] = text
    mixed = folder / "mixed.jsonl"
    mixed.write_text("\n".join(lines) + "\n")
    out = folder / "scored"

    assert main(["score", "--bundle", str(bundle), str(mixed), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_records"] == len(lines)
    assert summary["n_quarantined"] + summary["n_events"] == len(lines)
    quarantined = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert sorted(q["record"] for q in quarantined) == sorted(bad)
    assert all(q["error"] for q in quarantined)
    assert f"{summary['n_quarantined']:,} records quarantined" in printed
    assert "events/s" in printed


def test_loadtest_runs_serve_in_its_own_process(trained, tmp_path):
    bundle, _, _ = trained
    out = tmp_path / "loadtest.json"
    argv = ["loadtest", "--bundle", str(bundle), "--requests", "20", "--concurrency", "2",
            "--rounds", "2", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert result["settings"]["server"] == "process"
    assert result["settings"]["command"].startswith("python -m anomaly_tutorial.serving loadtest")
    for endpoint in ("score", "healthz"):
        assert result["summary"][endpoint]["n"] == 20
        assert result["summary"][endpoint]["errors"] == 0
    assert result["summary"]["ratio"]["p50"] > 0
    late = result["summary"]["score"]["late_events"]  # read from the service's /metrics
    assert isinstance(late, int) and 0 <= late <= 20 + 20  # measured + warm-up requests


def test_a_command_is_required():
    with pytest.raises(SystemExit):
        main([])
