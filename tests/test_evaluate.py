"""Tests of anomaly_tutorial.evaluate: id alignment, metrics, per-type and per-incident views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

from anomaly_tutorial.evaluate import (
    IdAlignmentError,
    align,
    compare_scores,
    confusion,
    evaluate_scores,
    incident_detection,
    incident_summary,
    pr_auc,
    precision_at_k,
    prf_at_threshold,
    recall_by_type,
    roc_auc,
    threshold_from_contamination,
)


def _labelled(n: int = 60, seed: int = 0) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"evt-{i:04d}" for i in range(n)]
    y = rng.random(n) < 0.2
    y[:2] = [True, False]
    scores = pd.Series(rng.normal(size=n) + 1.5 * y, index=ids)
    labels = pd.DataFrame(
        {
            "event_id": ids,
            "is_anomaly": y,
            "anomaly_type": np.where(y, "brute_force", "normal"),
        }
    )
    return scores, labels


# ---------------------------------------------------------------- alignment


def test_align_joins_by_id_not_position() -> None:
    labels = pd.DataFrame({"event_id": ["a", "b", "c"], "is_anomaly": [0, 1, 0]})
    scores = pd.Series([5.0, 1.0, 2.0], index=["b", "a", "c"])
    frame = align(scores, labels)
    assert list(frame.index) == ["a", "b", "c"]
    assert frame.index.name == "event_id"
    assert frame.loc["b", "score"] == 5.0
    assert frame["is_anomaly"].dtype == bool
    assert frame.loc["b", "is_anomaly"]


def test_shuffled_scores_give_identical_metrics() -> None:
    scores, labels = _labelled()
    shuffled = scores.sample(frac=1.0, random_state=3)
    assert not shuffled.index.equals(scores.index)
    assert evaluate_scores(shuffled, labels, threshold=0.5) == evaluate_scores(
        scores, labels, threshold=0.5
    )


def test_positional_misuse_would_have_changed_the_result() -> None:
    # The bug align prevents: stripping ids and comparing by position gives a different AUC.
    scores, labels = _labelled()
    shuffled = scores.sample(frac=1.0, random_state=3)
    by_position = roc_auc(labels["is_anomaly"].to_numpy(), shuffled.to_numpy())
    assert by_position != pytest.approx(evaluate_scores(shuffled, labels)["roc_auc"])


def test_mismatched_ids_name_counts_and_examples() -> None:
    scores, labels = _labelled()
    bad = scores.rename(index={"evt-0005": "evt-9999"})
    with pytest.raises(IdAlignmentError) as info:
        align(bad, labels)
    message = str(info.value)
    assert "'evt-9999'" in message and "have no label" in message
    assert "'evt-0005'" in message and "missing from scores" in message
    assert isinstance(info.value, ValueError)


def test_missing_scores_need_allow_subset() -> None:
    scores, labels = _labelled()
    part = scores.iloc[:40]
    with pytest.raises(IdAlignmentError, match="allow_subset"):
        align(part, labels)
    frame = align(part, labels, allow_subset=True)
    assert len(frame) == 40
    # Never the reverse: a score without a label is always an error.
    extra = pd.concat([part, pd.Series([0.0], index=["evt-unknown"])])
    with pytest.raises(IdAlignmentError, match="evt-unknown"):
        align(extra, labels, allow_subset=True)


@pytest.mark.parametrize("side", ["scores", "labels"])
def test_duplicate_ids_are_rejected(side: str) -> None:
    scores, labels = _labelled()
    if side == "scores":
        scores = pd.concat([scores, scores.iloc[[3]]])
    else:
        labels = pd.concat([labels, labels.iloc[[3]]])
    with pytest.raises(IdAlignmentError, match=r"duplicated id.*'evt-0003'"):
        align(scores, labels)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_scores_are_rejected(bad_value: float) -> None:
    scores, labels = _labelled()
    scores = scores.copy()
    scores.iloc[[4, 7]] = bad_value
    with pytest.raises(IdAlignmentError, match=r"2 value\(s\) are NaN or infinite.*'evt-0004'"):
        align(scores, labels)


def test_non_binary_and_missing_labels_are_rejected() -> None:
    scores, labels = _labelled()
    labels = labels.assign(is_anomaly=labels["is_anomaly"].astype(int))
    labels.loc[9, "is_anomaly"] = 2
    with pytest.raises(IdAlignmentError, match=r"not binary.*'evt-0009': 2"):
        align(scores, labels)
    labels = labels.assign(is_anomaly=labels["is_anomaly"].astype("Int64"))
    labels.loc[9, "is_anomaly"] = pd.NA
    with pytest.raises(IdAlignmentError, match=r"missing.*'evt-0009'"):
        align(scores, labels)


@pytest.mark.parametrize("bare", [np.arange(3.0), [0.1, 0.2, 0.3]])
def test_bare_arrays_are_refused(bare: object) -> None:
    labels = pd.DataFrame({"event_id": ["a", "b", "c"], "is_anomaly": [0, 1, 0]})
    with pytest.raises(TypeError, match=r"pd\.Series\(values, index=ids\)"):
        align(bare, labels)  # type: ignore[arg-type]


def test_labels_without_ids_are_refused() -> None:
    labels = pd.DataFrame({"is_anomaly": [0, 1, 0]})
    with pytest.raises(IdAlignmentError, match="row-number index"):
        align(pd.Series([0.1, 0.2, 0.3]), labels)


def test_labels_as_series_or_indexed_frame() -> None:
    scores = pd.Series([0.3, 0.9], index=[("svc", 1), ("svc", 2)])
    series = pd.Series([True, False], index=[("svc", 2), ("svc", 1)])
    assert align(scores, series)["is_anomaly"].tolist() == [False, True]
    frame = pd.DataFrame({"is_anomaly": [1, 0]}, index=pd.Index([20, 10], name="point_id"))
    out = align(pd.Series([0.5, 0.1], index=[10, 20]), frame)
    assert out["is_anomaly"].to_dict() == {10: False, 20: True}


def test_align_carries_type_and_incident_columns() -> None:
    labels = pd.DataFrame(
        {
            "event_id": ["a", "b"],
            "is_anomaly": [False, True],
            "anomaly_type": ["normal", "port_scan"],
            "incident_id": [None, "inc-1"],
        }
    )
    frame = align(pd.Series([0.0, 1.0], index=["b", "a"]), labels)
    assert list(frame.columns) == ["score", "is_anomaly", "anomaly_type", "incident_id"]
    assert frame.loc["b", "anomaly_type"] == "port_scan"


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(0, 5).map(float), st.booleans()), min_size=4, max_size=30),
    seed=st.integers(0, 2**16),
)
def test_metrics_invariant_under_common_permutation(
    data: list[tuple[float, bool]], seed: int
) -> None:
    labels_list = [y for _, y in data]
    if all(labels_list) or not any(labels_list):
        labels_list[0] = not labels_list[0]
    ids = [f"id-{i:03d}" for i in range(len(data))]
    scores = pd.Series([s for s, _ in data], index=ids)
    labels = pd.DataFrame({"event_id": ids, "is_anomaly": labels_list})
    perm = np.random.default_rng(seed).permutation(len(ids))
    permuted = evaluate_scores(
        scores.iloc[perm], labels.iloc[perm].reset_index(drop=True), threshold=2.0
    )
    reference = evaluate_scores(scores, labels, threshold=2.0)
    assert permuted == reference


# ---------------------------------------------------------------- array metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_agree_with_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(200) < 0.1
    y[0] = True
    s = rng.normal(size=200) + y
    s[5:15] = 0.25  # ties
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert pr_auc(y, s) == pytest.approx(average_precision_score(y, s))
    result = prf_at_threshold(y, s, 0.5)
    pred = s >= 0.5
    tn, fp, fn, tp = confusion_matrix(y, pred).ravel()
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (tp, fp, fn, tn)
    assert result["precision"] == pytest.approx(tp / (tp + fp))
    assert result["recall"] == pytest.approx(tp / (tp + fn))
    p, r = result["precision"], result["recall"]
    assert result["f1"] == pytest.approx(2 * p * r / (p + r))


def test_one_class_auc_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="undefined: all 3 labels are normal"):
        roc_auc([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="undefined: all 2 labels are anomalous"):
        pr_auc([1, 1], [0.1, 0.2])


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], "not 0/1"),
        ([0, 1], [0.1, 0.2, 0.3], "same length"),
        ([0, 1], [0.1, np.nan], "NaN or infinite"),
        ([[0, 1]], [[0.1, 0.2]], "one-dimensional"),
        ([0, 1], ["a", "b"], "numeric"),
    ],
)
def test_array_metrics_validate_input(y: object, s: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        roc_auc(y, s)  # type: ignore[arg-type]


def test_precision_at_k_ties_follow_original_order() -> None:
    y = np.array([0, 1, 0, 1])
    s = np.array([0.9, 0.5, 0.5, 0.5])
    assert precision_at_k(y, s, 2) == pytest.approx(0.5)  # rows 0 and 1
    assert precision_at_k(y[[0, 2, 1, 3]], s[[0, 2, 1, 3]], 2) == 0.0  # rows 0 and 2
    assert precision_at_k(y, s, 4) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="between 1 and"):
        precision_at_k(y, s, 0)
    with pytest.raises(ValueError, match="integer"):
        precision_at_k(y, s, 2.0)  # type: ignore[arg-type]


def test_confusion_is_labelled() -> None:
    table = confusion([0, 0, 1, 1, 1], [0, 1, 1, 0, 1])
    assert table.index.name == "actual" and table.columns.name == "predicted"
    assert table.loc["normal", "normal"] == 1
    assert table.loc["normal", "anomaly"] == 1
    assert table.loc["anomaly", "normal"] == 1
    assert table.loc["anomaly", "anomaly"] == 2


def test_prf_edge_cases() -> None:
    nothing_flagged = prf_at_threshold([0, 1], [0.1, 0.2], 1.0)
    assert nothing_flagged["precision"] == 0.0 and nothing_flagged["recall"] == 0.0
    no_anomalies = prf_at_threshold([0, 0], [0.1, 0.2], 0.15)
    assert np.isnan(no_anomalies["recall"]) and no_anomalies["fp"] == 1
    with pytest.raises(ValueError, match="threshold"):
        prf_at_threshold([0, 1], [0.1, 0.2], float("nan"))


# ---------------------------------------------------------------- id-aware helpers


def test_evaluate_scores_reports_base_rate_and_default_k() -> None:
    scores, labels = _labelled()
    result = evaluate_scores(scores, labels)
    y = labels["is_anomaly"].to_numpy()
    assert result["base_rate"] == pytest.approx(y.mean())
    assert result["k"] == y.sum()
    assert "precision" not in result
    perfect = pd.Series(y.astype(float), index=labels["event_id"])
    assert evaluate_scores(perfect, labels)["precision_at_k"] == 1.0


def test_compare_scores_one_row_per_method() -> None:
    scores, labels = _labelled()
    table = compare_scores({"model": scores, "inverted": -scores}, labels)
    assert list(table.index) == ["model", "inverted"]
    assert table.loc["model", "roc_auc"] == pytest.approx(1 - table.loc["inverted", "roc_auc"])
    with pytest.raises(IdAlignmentError, match="method 'broken'"):
        compare_scores({"broken": scores.iloc[:10]}, labels)


def test_recall_by_type_on_crafted_frame() -> None:
    labels = pd.DataFrame(
        {
            "event_id": list("abcdefgh"),
            "is_anomaly": [0, 0, 0, 0, 1, 1, 1, 1],
            "anomaly_type": ["normal"] * 4 + ["port_scan", "port_scan", "port_scan", "brute_force"],
        }
    )
    alerts = pd.Series(
        [True, False, False, False, True, False, True, False], index=list("abcdefgh")
    )
    table = recall_by_type(alerts.iloc[::-1], labels)
    assert list(table.index) == ["brute_force", "port_scan", "normal"]
    assert table.loc["port_scan", "n"] == 3 and table.loc["port_scan", "detected"] == 2
    assert table.loc["port_scan", "recall"] == pytest.approx(2 / 3)
    assert table.loc["brute_force", "recall"] == 0.0
    assert table.loc["normal", "false_positive_rate"] == pytest.approx(0.25)
    assert table.loc["normal", "detected"] == 1
    with pytest.raises(ValueError, match="not 0/1"):
        recall_by_type(pd.Series([0.3] * 8, index=list("abcdefgh")), labels)


def test_threshold_from_contamination() -> None:
    train = np.arange(100.0)
    threshold = threshold_from_contamination(train, 0.1)
    assert threshold == pytest.approx(np.quantile(train, 0.9))
    assert np.mean(train >= threshold) == pytest.approx(0.1)
    for bad in (0.0, 0.5, -0.1, 0.7):
        with pytest.raises(ValueError, match=r"strictly between 0 and 0\.5"):
            threshold_from_contamination(train, bad)
    with pytest.raises(ValueError, match="NaN"):
        threshold_from_contamination([1.0, np.nan], 0.1)


def _incident_example() -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    ids = ["e1", "e2", "e3", "e4", "e5", "e6"]
    labels = pd.DataFrame(
        {
            "event_id": ids,
            "is_anomaly": [True, True, True, True, True, False],
            "anomaly_type": ["brute_force"] * 3 + ["port_scan"] * 2 + ["normal"],
            "incident_id": ["inc-A", "inc-A", "inc-A", "inc-B", "inc-B", None],
        }
    )
    times = pd.Series([10_000, 25_000, 70_000, 5_000, 6_000, 0], index=ids)
    alerts = pd.Series([False, False, True, False, False, True], index=ids)
    return alerts, labels, times


def test_incident_detection_delays() -> None:
    alerts, labels, times = _incident_example()
    table = incident_detection(alerts.iloc[::-1], labels, times)
    assert list(table.index) == ["inc-B", "inc-A"]  # ordered by start time
    assert table.loc["inc-A", "n_events"] == 3
    assert bool(table.loc["inc-A", "detected"])
    assert table.loc["inc-A", "first_alert_time"] == 70_000
    assert table.loc["inc-A", "delay_s"] == pytest.approx(60.0)
    assert not table.loc["inc-B", "detected"]  # the alert on the normal event does not count
    assert np.isnan(table.loc["inc-B", "delay_s"])
    assert table.loc["inc-A", "anomaly_type"] == "brute_force"
    summary = incident_summary(table)
    assert summary == {
        "n_incidents": 2,
        "n_detected": 1,
        "incident_recall": 0.5,
        "median_delay_s": 60.0,
    }


def test_incident_detection_validates_times_and_ids() -> None:
    alerts, labels, times = _incident_example()
    with pytest.raises(IdAlignmentError, match="'e4'"):
        incident_detection(alerts, labels, times.drop("e4"))
    with pytest.raises(TypeError, match="Series of booleans"):
        incident_detection(alerts.to_numpy(), labels, times)  # type: ignore[arg-type]
    with pytest.raises(IdAlignmentError, match="'e9'"):
        incident_detection(alerts.rename(index={"e1": "e9"}), labels, times)


def test_incident_detection_with_metric_point_ids() -> None:
    ids = pd.MultiIndex.from_tuples([("api", t) for t in range(4)], names=["service", "minute"])
    labels = pd.DataFrame(
        {"is_anomaly": [0, 1, 1, 0], "incident_id": [None, "m1", "m1", None]}, index=ids
    )
    times = pd.Series([0, 60_000, 120_000, 180_000], index=ids)
    alerts = pd.Series([False, False, True, True], index=ids)
    table = incident_detection(alerts, labels, times)
    assert table.loc["m1", "delay_s"] == pytest.approx(60.0)


def test_mixed_type_ids_keep_label_order() -> None:
    labels = pd.DataFrame({"event_id": ["x", 3, ("a", 1)], "is_anomaly": [1, 0, 1]})
    scores = pd.Series([0.2, 0.1, 0.9], index=pd.Index([("a", 1), 3, "x"], dtype=object))
    frame = align(scores, labels)
    assert list(frame.index) == ["x", 3, ("a", 1)]
    assert frame["score"].tolist() == [0.9, 0.1, 0.2]


def test_incident_with_allow_subset_counts_only_scored_events() -> None:
    alerts, labels, times = _incident_example()
    part = alerts.drop(["e3"])  # the only alerted event of inc-A is outside the test period
    with pytest.raises(IdAlignmentError, match="allow_subset"):
        incident_detection(part, labels, times)
    table = incident_detection(part, labels, times, allow_subset=True)
    assert table.loc["inc-A", "n_events"] == 2
    assert not table.loc["inc-A", "detected"]
    assert table["first_event_time"].dtype == "Int64"
