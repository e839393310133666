"""The OpenStack session benchmark (data tests skip when ../shared/data is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from anomaly_tutorial.benchmarks import openstack

SHARED = Path(
    os.environ.get(
        "ANOMALY_TUTORIAL_SHARED_DATA",
        Path(__file__).resolve().parents[1] / ".." / "shared" / "data",
    )
)
DATA_DIR = SHARED / "logs_openstack"
needs_data = pytest.mark.skipif(
    not (DATA_DIR / "openstack_train").is_file(), reason=f"OpenStack data not found in {DATA_DIR}"
)
FAST = ["new events", "session length", "event counts (ECVC)", "event proportions"]


@needs_data
def test_files_have_the_documented_sizes():
    data = openstack.load_openstack(DATA_DIR)
    assert [len(data[name]) for name in openstack.FILES] == [50, 4895, 651]


@needs_data
def test_benchmark_reproduces_the_committed_results():
    fresh = openstack.run_benchmark(DATA_DIR, names=FAST)
    committed = openstack.load_results()["test"]
    for col in ("TP", "FP", "FN", "TN"):
        assert fresh[col].tolist() == committed.loc[FAST, col].tolist(), col
    # flagging everything: TP = 651, FP = 4895, FN = 0
    assert fresh["flag-all F1"].iloc[0] == pytest.approx(651 / (651 + 0.5 * 4895))


@needs_data
def test_validation_uses_training_sessions_only_and_reproduces():
    fresh = openstack.validate(DATA_DIR, names=FAST)
    committed = openstack.load_results()["validation"]
    pd.testing.assert_frame_equal(fresh, committed.loc[FAST], check_exact=False, atol=1e-12)


@needs_data
def test_recommended_detector_is_in_the_published_range_for_simple_methods():
    # Landauer et al. report F1 0.96-0.99 for simple methods on HDFS; the detector chosen on
    # the training folds must at least clear 0.9 here, far above flagging everything
    validation = openstack.validate(DATA_DIR, names=FAST)
    choice = openstack.recommend(validation)
    test = openstack.run_benchmark(DATA_DIR, names=[choice])
    assert test.loc[choice, "F1"] >= 0.9
    assert test.loc[choice, "F1"] > 3 * test.loc[choice, "flag-all F1"]


def test_recommend_applies_the_budget_then_tpr_then_simplicity():
    table = pd.DataFrame(
        {"FPR": [0.02, 0.04, 0.10, 0.02], "TPR": [0.3, 0.5, 0.9, 0.5]},
        index=pd.Index(["a", "b", "c", "d"], name="detector"),
    )
    assert openstack.recommend(table) == "d"  # b and d tie on TPR; d has the lower FPR
    assert openstack.recommend(table, alert_fpr=0.2) == "c"
    assert openstack.recommend(table, alert_fpr=0.01) == "a"  # none within: lowest FPR, first


def test_committed_results_carry_their_command():
    results = openstack.load_results()
    assert results["command"].startswith("python -m anomaly_tutorial.benchmarks.openstack")
    assert set(results["test"].index) == set(openstack.detectors())
    assert set(results["validation"].index) == set(openstack.detectors())
    assert (results["test"][["TP", "FP", "FN", "TN"]].dtypes == "int64").all()


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="openstack_train"):
        openstack.load_openstack(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"openstack_test\.csv"):
        openstack.load_results(tmp_path)


def test_speed_benchmark_scaled_down():
    table = openstack.speed_benchmark(n_train=200, n_score=2_000, names=["new events"])
    assert table.loc["new events", "scored"] == 2_000
    assert not table.loc["new events", "projected"]
    assert table.loc["new events", "total s for 2000"] < 30
