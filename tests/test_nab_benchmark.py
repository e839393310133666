"""The NAB benchmark script (anomaly_tutorial.benchmarks.nab).

The run on real data is skipped when the shared NAB files are absent (``../shared/data/nab_aws``
beside the repository, or the folder named by ``NAB_DATA_DIR``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.benchmarks import nab as bench

DATA_DIR = Path(
    os.environ.get(
        "NAB_DATA_DIR",
        Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "nab_aws",
    )
)
needs_data = pytest.mark.skipif(
    not (DATA_DIR / "combined_windows.json").is_file(), reason=f"no NAB data at {DATA_DIR}"
)


def test_committed_results_cover_every_detector_and_profile() -> None:
    table = bench.load_results()
    assert list(table.index) == list(bench.DETECTORS)
    for profile in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        assert table[profile].between(-200, 100).all()
    assert (table["windows"] == table["windows"].iloc[0]).all()
    readme = (bench.results_dir() / "README.md").read_text()
    assert "python -m anomaly_tutorial.benchmarks.nab" in readme


def test_published_scoreboard_rows() -> None:
    assert bench.PUBLISHED.loc["Windowed Gaussian", "standard"] == 39.6
    assert bench.PUBLISHED.loc["Numenta HTM", "reward_low_FN_rate"] == 75.2


def test_score_file_reports_preparation_and_failures(tmp_path: Path) -> None:
    times = pd.date_range("2024-01-01", periods=800, freq="5min", tz="UTC")
    values = np.sin(np.arange(800) / 10.0)
    repeated = pd.Series(values, index=times).iloc[np.r_[0:200, 199, 200:800]]
    scores, info = bench.score_file(repeated, bench.DETECTORS["rolling z-score"])
    assert info["repeated"] == 1 and info["error"] == "" and len(scores) == 800
    assert info["train_points"] == 120
    _, info = bench.score_file(repeated, bench.DETECTORS["seasonal profile (hour of day)"])
    assert "did not cover" in info["error"]  # 120 training points cover 10 of 24 hours


@needs_data
def test_benchmark_on_two_files() -> None:
    files = bench.list_files(DATA_DIR)
    assert len(files) == 17
    summary, per_file = bench.run_benchmark(
        DATA_DIR, ["windowed Gaussian", "global z-score"], files[:2], progress=False
    )
    assert list(summary.index) == ["windowed Gaussian", "global z-score"]
    assert summary["standard"].between(-100, 100).all()
    assert set(per_file["file"]) == set(files[:2])


@needs_data
def test_repeated_timestamps_in_nab_are_prepared() -> None:
    repeats = 0
    for name in bench.list_files(DATA_DIR):
        series = bench.load_file(DATA_DIR, name)
        repeats += int(series.index.duplicated().sum())
        scores, info = bench.score_file(series, bench.DETECTORS["global z-score"])
        assert info["error"] == "" and np.isfinite(scores).all()
    assert repeats > 0  # the daylight-saving repeats the issue describes are there
