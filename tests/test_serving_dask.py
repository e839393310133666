"""Dask scoring of a partitioned parquet dataset equals one-machine scoring exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.io import write_ocsf_parquet
from anomaly_tutorial.serving import save_bundle
from anomaly_tutorial.serving.distributed import score_parquet_dataset

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def test_events(periods):
    return periods["test"].sort_values("time", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def one_machine(pipeline, test_events):
    return pipeline.score(test_events)


@pytest.fixture(scope="module")
def day(test_events):
    return test_events[test_events["time"] < test_events["time"].min() + 86_400_000]


def _write(frame: pd.DataFrame, folder, n_parts: int) -> None:
    folder.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(len(frame)), n_parts)):
        write_ocsf_parquet(frame.iloc[rows], folder / f"part-{k:03d}.parquet")


def _assert_same(scores: pd.DataFrame, expected: pd.DataFrame) -> None:
    for column in ("detector_score", "p_value", "score"):
        np.testing.assert_array_equal(scores[column].to_numpy(), expected[column].to_numpy())
    assert scores["event_id"].tolist() == expected["event_id"].tolist()
    assert (scores["alert"].to_numpy() == expected["alert"].to_numpy()).all()
    severity = scores["severity"].astype(object).where(scores["severity"].notna(), None)
    assert severity.tolist() == expected["severity"].tolist()


def test_dask_equals_one_machine_with_partitions_shorter_than_the_window(pipeline, day, tmp_path):
    # one test day in 40 partitions of 36 minutes: windows reach back into two of them
    _write(day, tmp_path / "data", 40)
    span_h = (day["time"].max() - day["time"].min()) / 3_600_000 / 40
    assert span_h < pipeline.window_s_ / 3600 / 1.5
    result = score_parquet_dataset(pipeline, tmp_path / "data")
    expected = pipeline.score(day)
    assert result.n_partitions == 40 and result.n_events == len(day)
    pd.testing.assert_frame_equal(result.scores, expected)
    _assert_same(result.scores, expected)
    assert result.n_alerts == int(expected["alert"].sum())


def test_history_is_needed_across_partitions(pipeline, test_events, one_machine):
    # scoring the partitions alone would differ: the test above is not vacuous
    parts = np.array_split(np.arange(len(test_events)), 120)
    alone = pd.concat([pipeline.score(test_events.iloc[rows]) for rows in parts[:10]])
    head = one_machine.iloc[: len(alone)]
    assert not np.array_equal(alone["detector_score"].to_numpy(), head["detector_score"].to_numpy())


def test_written_scores_from_a_bundle_equal_one_machine(
    pipeline, test_events, one_machine, tmp_path
):
    _write(test_events, tmp_path / "data", 7)
    bundle = save_bundle(pipeline, tmp_path / "bundle")
    result = score_parquet_dataset(bundle, tmp_path / "data", tmp_path / "scores")
    assert result.scores is None and result.out == str(tmp_path / "scores")
    written = pd.read_parquet(tmp_path / "scores")
    _assert_same(written.reset_index(drop=True), one_machine)
    assert result.events_per_second > 0


def test_a_running_scheduler_can_be_given(pipeline, test_events, one_machine, tmp_path):
    from distributed import LocalCluster

    head = test_events.iloc[:2000]
    _write(head, tmp_path / "data", 5)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:  # fmt: skip
        result = score_parquet_dataset(
            pipeline, tmp_path / "data", scheduler=cluster.scheduler_address
        )
        assert result.scheduler == cluster.scheduler_address
    _assert_same(result.scores, pipeline.score(head))


def test_partitions_out_of_time_order_are_refused(pipeline, test_events, tmp_path):
    head = test_events.iloc[:900]
    folder = tmp_path / "data"
    folder.mkdir()
    write_ocsf_parquet(head.iloc[300:600], folder / "part-0.parquet")
    write_ocsf_parquet(head.iloc[:300], folder / "part-1.parquet")
    with pytest.raises(ValueError, match="partitions 0 and 1 are not in time order"):
        score_parquet_dataset(pipeline, folder)
