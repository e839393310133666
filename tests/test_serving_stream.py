"""StreamingScorer: streamed scores equal batch scores exactly; late events; bounded state."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.serving import DetectionPipeline
from anomaly_tutorial.serving.streaming import LateEventError, StreamingScorer

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def day(periods):
    test = periods["test"]
    first = test[test["time"] < test["time"].min() + DAY_MS]
    return first.sort_values("time", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def day_scores(pipeline, day):
    return pipeline.score(day)


def _stream(scorer: StreamingScorer, frame: pd.DataFrame, sizes: np.ndarray) -> pd.DataFrame:
    out, start = [], 0
    for size in sizes:
        out.append(scorer.push(frame.iloc[start : start + int(size)]))
        start += int(size)
        if start >= len(frame):
            break
    out.append(scorer.flush())
    return pd.concat(out, ignore_index=True)


def test_stream_of_a_day_equals_batch_scoring_exactly(pipeline, day, day_scores):
    scorer = StreamingScorer(pipeline)
    rng = np.random.default_rng(0)
    # single events first, then micro-batches of 1 to 80 events
    sizes = np.concatenate([np.ones(60, dtype=int), rng.integers(1, 120, size=len(day))])
    streamed = _stream(scorer, day, sizes)
    assert len(streamed) == len(day) == scorer.n_scored_
    for column in ("detector_score", "p_value", "score"):
        np.testing.assert_array_equal(streamed[column].to_numpy(), day_scores[column].to_numpy())
    pd.testing.assert_frame_equal(streamed, day_scores)
    assert scorer.late_ == 0


def test_single_nested_events_equal_batch(pipeline, day, day_scores):
    scorer = StreamingScorer(pipeline)
    rows = day.drop(columns=list(ocsf.LABEL_COLUMNS)).iloc[:60].to_dict(orient="records")
    streamed = pd.concat([scorer.push(ocsf.unflatten_event(r)) for r in rows], ignore_index=True)
    np.testing.assert_array_equal(
        streamed["detector_score"].to_numpy(), day_scores["detector_score"].to_numpy()[:60]
    )


def test_history_before_the_stream_equals_batch_history(pipeline, periods, day):
    history = periods["validation"]
    scorer = StreamingScorer(pipeline, history=history)
    assert scorer.n_buffered < len(history)  # only the last window_s_ is kept
    streamed = _stream(scorer, day.iloc[:400], np.full(40, 10))
    expected = pipeline.score(day.iloc[:400], history=history)
    np.testing.assert_array_equal(streamed["detector_score"], expected["detector_score"])


def test_state_is_bounded_by_the_longest_window(pipeline, day):
    scorer = StreamingScorer(pipeline)
    window_ms = pipeline.window_s_ * 1000
    most = 0
    times = day["time"].to_numpy()
    for start in range(0, 2000, 25):
        scorer.push(day.iloc[start : start + 25])
        pushed = times[: start + 25]
        # exactly the events of the last window_s_ before the latest scored event are kept
        assert scorer.n_buffered == int((pushed >= scorer.watermark_ - window_ms).sum())
        most = max(most, scorer.n_buffered)
    assert most < 1000 < 2000 == scorer.n_scored_


def test_micro_batch_out_of_order_is_sorted_before_scoring(pipeline, day, day_scores):
    scorer = StreamingScorer(pipeline)
    head = day.iloc[:300]
    blocks = [head.iloc[k : k + 50] for k in range(0, 300, 50)]
    shuffled = [block.sample(frac=1, random_state=i) for i, block in enumerate(blocks)]
    streamed = pd.concat([scorer.push(block) for block in shuffled], ignore_index=True)
    pd.testing.assert_frame_equal(streamed, day_scores.iloc[:300])


def test_allowed_lateness_puts_late_events_back_in_order(pipeline, day, day_scores):
    head = day.iloc[:250]
    delay = np.random.default_rng(1).uniform(0, 30_000, len(head))  # up to 30 s late
    arrival = np.argsort(head["time"].to_numpy() + delay, kind="stable")
    assert (np.diff(head["time"].to_numpy()[arrival]) < 0).any()  # really out of order
    scorer = StreamingScorer(pipeline, allowed_lateness_s=60)
    out = [scorer.push(head.iloc[[i]]) for i in arrival]
    assert scorer.n_pending > 0  # the last minute waits for later events
    streamed = pd.concat([*out, scorer.flush()], ignore_index=True)
    assert scorer.late_ == 0 and scorer.n_pending == 0
    pd.testing.assert_frame_equal(streamed, day_scores.iloc[:250])


def test_events_later_than_allowed_are_refused_and_nothing_is_kept(pipeline, day, day_scores):
    scorer = StreamingScorer(pipeline)
    scorer.push(day.iloc[:100])
    buffered = scorer.n_buffered
    mixed = day.iloc[[100, 101, 50]]
    with pytest.raises(LateEventError, match=r"record 3 \(event .*\), field 'time'") as info:
        scorer.push(mixed)
    assert info.value.event_ids == [str(day["event_id"].iloc[50])]
    assert scorer.late_ == 1 and scorer.n_buffered == buffered and scorer.n_scored_ == 100
    rest = scorer.push(day.iloc[100:200])  # the stream goes on as if the call never happened
    np.testing.assert_array_equal(rest["detector_score"], day_scores["detector_score"][100:200])


def test_concurrent_pushes_lose_nothing(pipeline, day, day_scores):
    head = day.iloc[:400]
    span_s = (head["time"].max() - head["time"].min()) / 1000 + 1
    scorer = StreamingScorer(pipeline, allowed_lateness_s=span_s)  # everything waits
    chunks = np.array_split(np.arange(len(head)), 40)

    def worker(k: int) -> None:
        for chunk in chunks[k::8]:
            scorer.push(head.iloc[chunk])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert scorer.n_pending == len(head)
    streamed = scorer.flush()
    np.testing.assert_array_equal(
        streamed["detector_score"].to_numpy(), day_scores["detector_score"].to_numpy()[:400]
    )


def test_parameters_are_checked(pipeline):
    with pytest.raises(ValueError, match="allowed_lateness_s"):
        StreamingScorer(pipeline, allowed_lateness_s=-1)
    with pytest.raises(ValueError, match="fitted DetectionPipeline"):
        StreamingScorer(DetectionPipeline())
    assert StreamingScorer(pipeline).flush().empty


def test_push_with_alerts_gives_the_findings_of_the_scored_alerts(pipeline, day, day_scores):
    scorer = StreamingScorer(pipeline)
    scores, findings = [], []
    for start in range(0, 1500, 300):
        s, f = scorer.push_with_alerts(day.iloc[start : start + 300])
        scores.append(s)
        findings += f
    rest, more = scorer.flush_with_alerts()
    assert rest.empty and more == []
    streamed = pd.concat(scores, ignore_index=True)
    pd.testing.assert_frame_equal(streamed, day_scores.iloc[:1500])
    flagged = streamed.loc[streamed["alert"], "event_id"].tolist()
    assert flagged and [f["finding_info"]["related_events"][0]["uid"] for f in findings] == flagged


def test_one_pipeline_scores_the_same_from_several_threads(pipeline, day, day_scores):
    head = day.iloc[:600]
    results: dict[int, pd.DataFrame] = {}

    def work(k: int) -> None:
        results[k] = pipeline.score(head)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for scores in results.values():
        pd.testing.assert_frame_equal(scores, day_scores.iloc[:600])
