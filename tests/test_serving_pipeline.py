"""DetectionPipeline: fit on train/validation, score and alerts on later events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from anomaly_tutorial import ocsf
from anomaly_tutorial.io import OCSFValidationError
from anomaly_tutorial.serving import SCORE_COLUMNS, DetectionPipeline, data_fingerprint
from anomaly_tutorial.thresholds import alerts_per_bucket
from anomaly_tutorial.triage import SEVERITY_LEVELS, validate_finding


@pytest.fixture(scope="module")
def test_scores(pipeline, periods):
    return pipeline.score(periods["test"], history=periods["validation"])


def _unlabelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=list(ocsf.LABEL_COLUMNS))


def _nested(frame: pd.DataFrame) -> list[dict]:
    rows = frame.drop(columns=list(ocsf.LABEL_COLUMNS), errors="ignore")
    return [ocsf.unflatten_event(r) for r in rows.to_dict(orient="records")]


def test_fit_records_the_budget_decision_and_training_period(pipeline, periods):
    decision = pipeline.decision_
    assert decision.policy == "alert_budget"
    assert decision.params == {"max_alerts": 50, "per": "day"}
    validation = periods["validation"]
    scores = pipeline.score(validation, history=periods["train"])
    per_day = alerts_per_bucket(scores["alert"], validation["time"])
    assert per_day.max() <= 50
    assert int(scores["alert"].sum()) == decision.n_alerts
    train = periods["train"]
    assert pipeline.training_["n_events"] == len(train)
    assert pipeline.training_["first_time"] == int(train["time"].min())
    assert pipeline.training_["last_time"] == int(train["time"].max())
    assert pipeline.training_["fingerprint"] == data_fingerprint(
        train.sample(frac=1, random_state=0)
    )
    assert pipeline.window_s_ == 3600.0
    assert pipeline.kind_fitted_ and pipeline.category_model_ is not None
    assert 0 < pipeline.validation_figures_["precision"] <= 1


def test_fingerprint_changes_with_one_event(periods):
    train = periods["train"]
    changed = train.copy()
    changed.loc[changed.index[0], "time"] += 1
    assert data_fingerprint(changed) != data_fingerprint(train)
    assert data_fingerprint(train.iloc[1:]) != data_fingerprint(train)


def test_score_columns_order_and_meaning(pipeline, periods, test_scores):
    test = periods["test"]
    assert tuple(test_scores.columns) == SCORE_COLUMNS
    assert len(test_scores) == len(test)
    assert (test_scores["event_id"].to_numpy() == test["event_id"].astype(str).to_numpy()).all()
    assert (test_scores["alert"] == (test_scores["detector_score"] >= pipeline.threshold_)).all()
    p = test_scores["p_value"].to_numpy()
    assert ((p > 0) & (p <= 1)).all()
    order = np.argsort(p, kind="stable")
    assert (np.diff(test_scores["score"].to_numpy()[order]) <= 1e-12).all()  # lower p, higher
    alerted = test_scores["alert"].to_numpy()
    assert test_scores.loc[alerted, "severity"].isin(SEVERITY_LEVELS).all()
    assert test_scores.loc[~alerted, "severity"].isna().all()
    assert test_scores.loc[~alerted, "severity_id"].isna().all()
    assert alerted.sum() > 0
    # the detector found real anomalies: precision far above the base rate
    truth = test["is_anomaly"].to_numpy()
    assert truth[alerted].mean() > 5 * truth.mean()


def test_history_gives_the_scores_of_scoring_both_periods_together(pipeline, periods, test_scores):
    both = pd.concat([periods["validation"], periods["test"]])
    together = pipeline.score(both).iloc[len(periods["validation"]) :].reset_index(drop=True)
    np.testing.assert_array_equal(together["detector_score"], test_scores["detector_score"])
    without = pipeline.score(periods["test"])
    assert not np.array_equal(without["detector_score"], test_scores["detector_score"])


def test_later_events_never_change_earlier_scores(pipeline, periods, test_scores):
    head = pipeline.score(periods["test"].iloc[:500], history=periods["validation"])
    np.testing.assert_array_equal(head["detector_score"], test_scores["detector_score"][:500])
    one = pipeline.score(periods["test"].iloc[[0]], history=periods["validation"])
    assert one["detector_score"][0] == test_scores["detector_score"][0]


def test_nested_ocsf_dicts_score_like_the_frame(pipeline, periods, test_scores):
    head = periods["test"].iloc[:200]
    from_dicts = pipeline.score(_nested(head), history=_nested(periods["validation"].iloc[-300:]))
    from_frame = pipeline.score(head, history=periods["validation"].iloc[-300:])
    pd.testing.assert_frame_equal(from_dicts, from_frame)


def test_alerts_are_valid_findings_of_the_flagged_events(pipeline, periods, test_scores):
    findings = pipeline.alerts(periods["test"], history=periods["validation"])
    flagged = test_scores.loc[test_scores["alert"], "event_id"].tolist()
    assert [f["finding_info"]["related_events"][0]["uid"] for f in findings] == flagged
    for finding in findings:
        validate_finding(finding)
    severities = test_scores.loc[test_scores["alert"], "severity"].tolist()
    assert [f["severity"].lower() for f in findings] == severities
    categories = {f["unmapped"]["category"] for f in findings}
    assert "unknown" not in categories and len(categories) > 1


def test_no_alerts_gives_an_empty_list(pipeline, periods, test_scores):
    quiet = periods["test"][~test_scores["alert"].to_numpy()].iloc[:100]
    assert pipeline.alerts(quiet, history=periods["validation"]) == []


def test_unlabelled_periods_still_give_valid_findings(periods):
    train = _unlabelled(periods["train"])
    validation = _unlabelled(periods["validation"])
    pipeline = DetectionPipeline(alerts_per_day=20).fit(train, validation)
    assert not pipeline.kind_fitted_ and pipeline.category_model_ is None
    assert pipeline.decision_.precision is None
    findings = pipeline.alerts(_unlabelled(periods["test"]), history=validation)
    assert findings
    assert {f["unmapped"]["category"] for f in findings} == {"unknown"}
    assert {f["unmapped"]["anomaly_kind"] for f in findings} <= {
        "point",
        "contextual",
        "collective",
    }


def test_bad_records_are_refused_with_record_and_field(pipeline, periods):
    events = _nested(periods["test"].iloc[:5])
    del events[2]["class_uid"]
    with pytest.raises(OCSFValidationError, match=r"record 3, field 'class_uid'"):
        pipeline.score(events)
    events = _nested(periods["test"].iloc[:5])
    events[1]["time"] = "yesterday"
    with pytest.raises(OCSFValidationError, match=r"record 2, field 'time'"):
        pipeline.score(events)
    events = _nested(periods["test"].iloc[:5])
    events[3]["duration"] = float("nan")
    with pytest.raises(OCSFValidationError, match=r"record 4, field 'duration'"):
        pipeline.score(events)
    with pytest.raises(ValueError, match="event_id"):
        pipeline.score(periods["test"].iloc[:5].drop(columns="event_id"))
    seconds = periods["test"].iloc[:5].assign(time=lambda f: f["time"] // 1000)
    with pytest.raises(ValueError, match="epoch milliseconds"):
        pipeline.score(seconds)
    with pytest.raises(ValueError, match="no events"):
        pipeline.score([])


def test_parameters_are_checked_in_fit(periods):
    small = periods["train"].iloc[:2000], periods["validation"].iloc[:500]
    with pytest.raises(ValueError, match="detector: unknown name 'nope'"):
        DetectionPipeline(detector="nope").fit(*small)
    with pytest.raises(ValueError, match="alerts_per_day"):
        DetectionPipeline(alerts_per_day=0).fit(*small)
    with pytest.raises(ValueError, match="must come after train_events"):
        DetectionPipeline().fit(periods["validation"], periods["train"])
    with pytest.raises(NotFittedError):
        DetectionPipeline().score(periods["test"].iloc[:5])


def test_schema_names_every_detector_input(pipeline, periods):
    schema = pipeline.feature_schema()
    assert len(schema) == pipeline.detector_.n_features_in_
    assert {s["dtype"] for s in schema} == {"float32"}
    assert pipeline.schema_hash() == pipeline.schema_hash()
    other = DetectionPipeline(featurizer_params={"n_hash_buckets": 8}).fit(
        periods["train"].iloc[:3000], periods["validation"].iloc[:1000]
    )
    assert other.schema_hash() != pipeline.schema_hash()


def test_explain_quotes_windows_computed_over_the_whole_period(pipeline, periods, test_scores):
    explainer = pipeline.explainer_
    test, history = periods["test"].reset_index(drop=True), periods["validation"]
    deviations, windows = explainer.deviations_and_windows(test, history)
    pd.testing.assert_frame_equal(deviations, explainer.deviations(test, history))
    rows = np.flatnonzero(test_scores["alert"].to_numpy())
    subset = test.iloc[rows]
    full = explainer.explain(subset, deviations=deviations.iloc[rows], windows=windows.iloc[rows])
    alone = explainer.explain(subset, history, deviations=deviations.iloc[rows])
    assert len(full) == len(rows)
    assert (full != alone).any()  # the alerts alone undercount their windows
    with pytest.raises(ValueError, match="windows: pass it together with deviations"):
        explainer.explain(subset, windows=windows.iloc[rows])


def test_empty_scores_has_the_dtypes_of_score(test_scores):
    from anomaly_tutorial.serving.pipeline import empty_scores

    assert empty_scores().dtypes.to_dict() == test_scores.dtypes.to_dict()


def test_score_and_alerts_equals_the_two_calls(pipeline, periods, test_scores):
    head = periods["test"].iloc[:3000]
    scores, findings = pipeline.score_and_alerts(head, history=periods["validation"])
    pd.testing.assert_frame_equal(scores, test_scores.iloc[:3000])
    assert findings == pipeline.alerts(head, history=periods["validation"])


def test_importing_the_package_imports_neither_dask_nor_fastapi():
    import subprocess
    import sys

    code = (
        "import sys, anomaly_tutorial.serving; "
        "print(sorted(m for m in ('dask', 'distributed', 'fastapi', 'skops') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_detector_choice_measures_the_candidates_on_validation(periods, pipeline):
    from anomaly_tutorial.serving import detector_choice

    table = detector_choice(periods["train"], periods["validation"], candidates=("ecod", "hbos"))
    assert list(table.index) == ["ecod", "hbos"]
    assert (table["fit_seconds"] > 0).all() and (table["validation_events_per_second"] > 0).all()
    # the pipeline's default is the better of the two on validation
    assert table["validation_pr_auc"].idxmax() == pipeline.detector
    assert table.loc["ecod", "validation_pr_auc"] == pytest.approx(
        pipeline.validation_figures_["pr_auc"]
    )
    with pytest.raises(ValueError, match="is_anomaly"):
        detector_choice(periods["train"], _unlabelled(periods["validation"]))
