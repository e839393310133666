"""Bundles: identical scores after a round trip; tampered, truncated and mismatched refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from anomaly_tutorial import __version__
from anomaly_tutorial.features import persistence
from anomaly_tutorial.serving import DetectionPipeline
from anomaly_tutorial.serving import bundle as bundle_module
from anomaly_tutorial.serving.bundle import BundleError, load_bundle, read_manifest, save_bundle


@pytest.fixture(scope="module")
def saved(pipeline, tmp_path_factory):
    return save_bundle(pipeline, tmp_path_factory.mktemp("bundles") / "book")


@pytest.fixture()
def copy(saved, tmp_path):
    import shutil

    return Path(shutil.copytree(saved, tmp_path / "copy"))


def _resign(folder: Path) -> None:
    """Recompute the manifest's checksums, as a forger who edits the manifest too would."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = {
        f.name: {"sha256": hashlib.sha256(f.read_bytes()).hexdigest(), "bytes": f.stat().st_size}
        for f in folder.iterdir()
        if f.name != "manifest.json"
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_round_trip_gives_identical_scores_and_findings(pipeline, saved, periods):
    loaded = load_bundle(saved)
    test, history = periods["test"], periods["validation"]
    before, after = pipeline.score(test, history=history), loaded.score(test, history=history)
    for column in ("detector_score", "p_value", "score"):
        np.testing.assert_array_equal(after[column].to_numpy(), before[column].to_numpy())
    pd.testing.assert_frame_equal(after, before)
    assert loaded.alerts(test, history=history) == pipeline.alerts(test, history=history)
    assert loaded.schema_hash() == pipeline.schema_hash()
    assert loaded.decision_ == pipeline.decision_


def test_manifest_says_what_the_bundle_holds(pipeline, saved):
    manifest = read_manifest(saved)
    assert manifest["package_version"] == __version__
    assert manifest["schema_hash"] == pipeline.schema_hash()
    assert manifest["feature_schema"] == pipeline.feature_schema()
    assert manifest["training"] == pipeline.training_
    assert manifest["threshold"]["value"] == pipeline.threshold_
    assert manifest["threshold"]["validation"]["n_alerts"] == pipeline.decision_.n_alerts
    assert manifest["created"].endswith("+00:00")
    files = {f.name for f in saved.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256((saved / name).read_bytes()).hexdigest()
    # nothing is pickled: arrays load without pickle, JSON parses
    with np.load(saved / "arrays.npz", allow_pickle=False) as arrays:
        assert arrays["calibration_scores"].size == pipeline.calibrator_.n_calibration_


def test_tampered_file_is_refused(copy):
    data = bytearray((copy / "decision.json").read_bytes())
    data[data.index(b"alert_budget")] = ord("A")
    (copy / "decision.json").write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"decision.json: sha256 .* differs .*tampered"):
        load_bundle(copy)


def test_truncated_file_is_refused(copy):
    data = (copy / "arrays.npz").read_bytes()
    (copy / "arrays.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        BundleError, match=r"arrays.npz has \d+ bytes, the manifest says .*truncated"
    ):
        load_bundle(copy)


def test_missing_and_extra_files_are_refused(copy):
    (copy / "notes.txt").write_text("hello")
    with pytest.raises(BundleError, match=r"not listed in the manifest .*notes.txt"):
        load_bundle(copy)
    (copy / "notes.txt").unlink()
    (copy / "explainer.json").unlink()
    with pytest.raises(BundleError, match=r"missing: \['explainer.json'\]"):
        load_bundle(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(BundleError, match=r"has no manifest\.json"):
        load_bundle(copy)
    with pytest.raises(BundleError, match="no such bundle folder"):
        load_bundle(copy / "nowhere")


def test_broken_manifest_is_refused(copy):
    text = (copy / "manifest.json").read_text()
    (copy / "manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(copy)


def test_other_package_version_is_refused(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["package_version"] = "9.0.0"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"written by anomaly_tutorial 9.0.0; this is"):
        load_bundle(copy)


def test_schema_mismatch_is_refused(saved, monkeypatch):
    monkeypatch.setattr(persistence, "VERSION", persistence.VERSION + 1)
    with pytest.raises(BundleError, match="feature schema mismatch"):
        load_bundle(saved)


def test_forged_featurizer_with_resigned_manifest_is_refused(copy):
    saved = json.loads((copy / "featurizer.json").read_text())
    saved["params"]["n_hash_buckets"] = 8
    (copy / "featurizer.json").write_text(json.dumps(saved))
    _resign(copy)
    with pytest.raises(BundleError, match="feature schema mismatch"):
        load_bundle(copy)


class Payload:
    """A type no bundle may hold."""


def test_untrusted_types_in_skops_files_are_refused(copy):
    (copy / "category.skops").write_bytes(sio.dumps(Payload()))
    _resign(copy)
    with pytest.raises(BundleError, match=r"outside the trusted list .*Payload"):
        load_bundle(copy)


def test_saving_is_atomic_and_refuses_to_overwrite(pipeline, saved, tmp_path, monkeypatch):
    with pytest.raises(BundleError, match="already exists"):
        save_bundle(pipeline, saved)
    target = tmp_path / "new"

    def broken(pipeline, folder):
        (folder / "pipeline.json").write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(bundle_module, "_write_parts", broken)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(pipeline, target)
    assert list(tmp_path.iterdir()) == []  # neither the bundle nor a temporary folder
    monkeypatch.undo()
    save_bundle(pipeline, target)
    (target / "decision.json").write_text("old")  # a damaged bundle, replaced whole
    save_bundle(pipeline, target, overwrite=True)
    assert set(read_manifest(target)["files"]) == set(read_manifest(saved)["files"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]
    load_bundle(target)


def test_detector_stored_with_skops_round_trips(periods, tmp_path):
    small = DetectionPipeline(detector="iforest").fit(
        periods["train"].iloc[:3000], periods["validation"].iloc[:1500]
    )
    folder = save_bundle(small, tmp_path / "iforest")
    assert (folder / "detector.skops").exists()
    head = periods["test"].iloc[:500]
    np.testing.assert_array_equal(
        load_bundle(folder).score(head)["detector_score"], small.score(head)["detector_score"]
    )


def test_trusted_types_name_exact_classes():
    from anomaly_tutorial.serving.bundle import trusted_types

    names = trusted_types()
    assert "anomaly_tutorial.detectors.histogram.ECODDetector" in names
    assert "anomaly_tutorial.triage.category.CategoryClassifier" in names
    assert all(not name.endswith(".") for name in names)
    assert not any(name.startswith(("builtins.", "os.", "subprocess.")) for name in names)
