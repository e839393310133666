"""Tests of log windows, window features, window detectors, tuning and the BGL reader."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from anomaly_tutorial import detectors
from anomaly_tutorial.logs import (
    UNSEEN_TEMPLATE,
    WINDOW_DETECTORS,
    FeatureThresholdDetector,
    TemplateRarity,
    TemplateTfidf,
    aggregate_per_window,
    assign_periods,
    bgl_to_events,
    evaluate_windows,
    make_window_detector,
    make_windows,
    parameter_grid,
    parse_bgl_lines,
    period_cuts,
    read_bgl,
    template_count_matrix,
    tune_on_validation,
    window_counts,
    window_labels,
    window_rarity,
)

# ``../shared/data`` beside the repository, or the folder named by ANOMALY_TUTORIAL_DATA.
SHARED_DATA = Path(
    os.environ.get(
        "ANOMALY_TUTORIAL_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
)
BGL_DIR = SHARED_DATA / "loghub_bgl2k"
S = 1000  # one second in ms


def small_events() -> pd.DataFrame:
    """Eight events over 100 s; windows of 30 s: [0,30) [30,60) [60,90) [90,120)."""
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(8)],
            "time": np.array([1, 5, 29, 31, 59, 95, 96, 99], dtype=np.int64) * S,
            "severity_id": [1, 1, 4, 1, 1, 5, 5, 1],
            "status_id": [1, 1, 2, 1, 1, 2, 2, 1],
            "class_uid": [4002, 4002, 4002, 3002, 3002, 4001, 4001, 6003],
            "is_anomaly": [False, False, True, False, False, True, True, False],
            "anomaly_type": ["normal", "normal", "slow_query"]
            + ["normal"] * 2
            + ["port_scan", "port_scan", "normal"],
            "incident_id": pd.array(
                [None, None, "inc-1", None, None, "inc-2", "inc-2", None], dtype="string"
            ),
        }
    )


# --- windows -----------------------------------------------------------------------------------
def test_fixed_windows_counts_and_empty_windows() -> None:
    ev = small_events()
    w = make_windows(ev, size="30s")
    assert not w.is_sliding
    assert list(w.ids) == [0, 1, 2, 3]  # window 2 ([60 s, 90 s)) is empty and kept
    np.testing.assert_array_equal(w.table["start"], [0, 30 * S, 60 * S, 90 * S])
    np.testing.assert_array_equal(w.table["end"] - w.table["start"], 30 * S)
    assert len(w.membership) == len(ev)  # each event in exactly one fixed window
    counts = window_counts(ev, w)
    np.testing.assert_array_equal(counts["n_events"], [3, 2, 0, 3])
    np.testing.assert_array_equal(counts["severity_id=4"], [1, 0, 0, 0])
    np.testing.assert_array_equal(counts["severity_id=5"], [0, 0, 0, 2])
    np.testing.assert_array_equal(counts["status_id=2"], [1, 0, 0, 2])
    np.testing.assert_array_equal(counts["class_uid=3002"], [0, 2, 0, 0])
    sev_cols = [c for c in counts if c.startswith("severity_id=")]
    np.testing.assert_array_equal(counts[sev_cols].sum(axis=1), counts["n_events"])
    dropped = make_windows(ev, size="30s", include_empty=False)
    assert list(dropped.ids) == [0, 1, 3]


def test_sliding_windows_membership() -> None:
    ev = small_events()
    w = make_windows(ev, size="60s", step="30s")
    assert w.is_sliding
    assert len(w.membership) == 2 * len(ev)  # size / step = 2 windows per event
    counts = window_counts(ev, w)
    # window k covers [30k, 30k + 60) s; window -1 holds the first 30 s only
    assert list(w.ids) == [-1, 0, 1, 2, 3]
    np.testing.assert_array_equal(counts["n_events"], [3, 5, 2, 3, 3])
    # every event lies in exactly the windows whose interval contains it
    m = w.membership.merge(w.table, left_on="window_id", right_index=True)
    t = ev["time"].to_numpy()[m["row"].to_numpy()]
    assert ((m["start"] <= t) & (t < m["end"])).all()
    # step that does not divide size
    w2 = make_windows(ev, size=50 * S, step=20 * S)
    m2 = w2.membership.merge(w2.table, left_on="window_id", right_index=True)
    t2 = ev["time"].to_numpy()[m2["row"].to_numpy()]
    assert ((m2["start"] <= t2) & (t2 < m2["end"])).all()
    expected = sum(
        int(((w2.table["start"] <= x) & (x < w2.table["end"])).sum()) for x in ev["time"]
    )
    assert len(w2.membership) == expected


def test_row_order_does_not_matter() -> None:
    ev = small_events()
    shuffled = ev.sample(frac=1.0, random_state=1).reset_index(drop=True)
    for size, step in [("30s", None), ("60s", "20s")]:
        a = make_windows(ev, size=size, step=step)
        b = make_windows(shuffled, size=size, step=step)
        pd.testing.assert_frame_equal(window_counts(ev, a), window_counts(shuffled, b))
        pd.testing.assert_frame_equal(window_labels(ev, a), window_labels(shuffled, b))


def test_window_labels_any_and_fraction() -> None:
    ev = small_events()
    w = make_windows(ev, size="30s")
    lab = window_labels(ev, w)
    assert lab["is_anomaly"].tolist() == [True, False, False, True]
    np.testing.assert_allclose(lab["anomalous_fraction"], [1 / 3, 0, 0, 2 / 3])
    assert lab["anomaly_type"].tolist() == ["slow_query", "normal", "normal", "port_scan"]
    assert lab["incident_id"].tolist()[0] == "inc-1"
    assert pd.isna(lab["incident_id"].iloc[1])


def test_window_input_errors() -> None:
    ev = small_events()
    with pytest.raises(ValueError, match="step"):
        make_windows(ev, size="30s", step="60s")
    with pytest.raises(ValueError, match="size"):
        make_windows(ev, size="-5s")
    with pytest.raises(ValueError, match="size"):
        make_windows(ev, size="thirty seconds")
    with pytest.raises(KeyError, match="time"):
        make_windows(ev.drop(columns="time"))
    bad = ev.astype({"time": "float64"})
    bad.loc[3, "time"] = np.nan
    with pytest.raises(ValueError, match=r"'time'.*1 values are missing.*3"):
        make_windows(bad)
    with pytest.raises(TypeError, match="integer epoch milliseconds"):
        make_windows(ev.astype({"time": "float64"}))
    w = make_windows(ev, size="30s")
    with pytest.raises(ValueError, match="same frame"):
        window_counts(ev.iloc[:3], w)


def test_datetime_time_column_is_accepted() -> None:
    ev = small_events()
    as_dt = ev.assign(time=pd.to_datetime(ev["time"], unit="ms", utc=True))
    a = make_windows(ev, size="30s")
    b = make_windows(as_dt, size="30s")
    pd.testing.assert_frame_equal(a.table, b.table)


def test_other_values_are_counted_not_dropped() -> None:
    ev = small_events()
    ev.loc[0, "severity_id"] = 42
    w = make_windows(ev, size="30s")
    counts = window_counts(ev, w, values={"status_id": [1]})
    assert counts.loc[0, "severity_id=other"] == 1
    assert counts.loc[3, "status_id=other"] == 2
    sev_cols = [c for c in counts if c.startswith("severity_id=")]
    np.testing.assert_array_equal(counts[sev_cols].sum(axis=1), counts["n_events"])


def test_periods_by_time() -> None:
    ev = pd.DataFrame({"time": np.arange(0, 100 * 60 * S, 7 * S, dtype=np.int64)})
    w = make_windows(ev, size="1min")
    cuts = period_cuts(w, (0.6, 0.2, 0.2))
    assert all(c % (60 * S) == 0 for c in cuts)
    periods = assign_periods(w, cuts)
    assert set(periods) == {"train", "validation", "test"}
    order = periods.map({"train": 0, "validation": 1, "test": 2}).to_numpy()
    assert (np.diff(order) >= 0).all()  # train, then validation, then test
    sliding = make_windows(ev, size="2min", step="1min")
    p2 = assign_periods(sliding, cuts)
    assert (p2 == "boundary").sum() == 2  # one straddling window per cut
    with pytest.raises(ValueError, match="names"):
        assign_periods(w, cuts, names=("a", "b"))


def test_aggregate_per_window() -> None:
    ev = small_events()
    w = make_windows(ev, size="30s")
    out = aggregate_per_window(np.arange(8.0), w, "max", fill=-1.0)
    assert out.tolist() == [2.0, 4.0, -1.0, 7.0]
    with pytest.raises(ValueError, match="one value per"):
        aggregate_per_window(np.arange(3.0), w)


# --- text features -----------------------------------------------------------------------------
def test_template_counts_tfidf_and_rarity() -> None:
    ev = small_events()
    w = make_windows(ev, size="30s")
    tids = np.array([0, 0, 1, 2, 2, UNSEEN_TEMPLATE, 7, 0])
    counts = template_count_matrix(tids, w, vocabulary=[0, 1, 2])
    assert list(counts.columns) == ["tpl_0", "tpl_1", "tpl_2", "tpl_unseen"]
    np.testing.assert_array_equal(
        counts.to_numpy(), [[2, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0], [1, 0, 0, 2]]
    )
    tfidf = TemplateTfidf().fit(counts.iloc[:2])
    out = tfidf.transform(counts)
    norms = np.linalg.norm(out.to_numpy(), axis=1)
    np.testing.assert_allclose(norms, [1, 1, 0, 1])
    with pytest.raises(ValueError, match="columns differ"):
        tfidf.transform(counts.iloc[:, :3])

    rarity = TemplateRarity(alpha=1.0).fit([0, 0, 0, 1])
    scores = rarity.score_samples([0, 1, 5, UNSEEN_TEMPLATE])
    denom = 4 + 1.0 * 3
    np.testing.assert_allclose(scores, -np.log([4 / denom, 2 / denom, 1 / denom, 1 / denom]))
    assert scores[0] < scores[1] < scores[2]
    per_window = window_rarity(rarity, tids, w)
    # rarity was fitted on templates 0 and 1 only: 2, 7 and UNSEEN count as unseen
    assert per_window["n_unseen"].tolist() == [0, 2, 0, 2]
    assert per_window.loc[2].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="not fitted"):
        TemplateRarity().score_samples([0])
    with pytest.raises(ValueError, match="alpha"):
        TemplateRarity(alpha=0).fit([0])


# --- detection ---------------------------------------------------------------------------------
def blobs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.3, size=(n // 2, 2))
    b = rng.normal(4, 0.3, size=(n - n // 2, 2))
    return np.vstack([a, b])


def test_window_detectors_are_the_package_detectors() -> None:
    # one implementation per idea: the window pipeline wraps anomaly_tutorial.detectors
    expected = {
        "isolation_forest": detectors.IsolationForestDetector,
        "dbscan": detectors.DBSCANDetector,
        "hdbscan": detectors.HDBSCANDetector,
        "feature_threshold": FeatureThresholdDetector,
    }
    for name, cls in expected.items():
        inner = make_window_detector(name).named_steps["detector"]
        assert type(inner) is cls
        assert isinstance(inner, detectors.BaseDetector)


def test_dbscan_window_detector_reproduces_dbscan_noise_on_training_points() -> None:
    X = np.vstack([blobs(200, 0), [[2.0, 2.0], [10.0, -3.0]]])
    det = WINDOW_DETECTORS["dbscan"](eps=0.5, min_samples=5).fit(X)
    np.testing.assert_array_equal(det.predict(X), (det.labels_ == -1).astype(int))
    assert det.predict(np.array([[2.0, 2.0]]))[0] == 1
    assert det.predict(np.array([[0.0, 0.0]]))[0] == 0
    assert det.threshold_ == 1.0


def test_hdbscan_window_detector_scores_new_points() -> None:
    X = blobs(200, 1)
    det = WINDOW_DETECTORS["hdbscan"](min_cluster_size=10).fit(X)
    new = np.array([[0.0, 0.0], [4.0, 4.0], [2.0, 2.0], [9.0, 9.0]])
    scores = det.score_samples(new)
    assert scores[0] < scores[2] < scores[3]
    assert scores[1] < scores[2]
    np.testing.assert_array_equal(det.predict(new), [0, 0, 1, 1])


@pytest.mark.parametrize("name", ["isolation_forest", "dbscan", "hdbscan"])
def test_detector_api_errors(name: str) -> None:
    det = make_window_detector(name)
    inner = det.named_steps["detector"]
    assert inner.get_params() == WINDOW_DETECTORS[name]().get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        WINDOW_DETECTORS[name]().score_samples(np.ones((3, 2)))
    X = np.abs(blobs(60, 4))
    det.fit(X)
    with pytest.raises(ValueError, match="features"):
        det.named_steps["detector"].score_samples(np.ones((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        det.named_steps["detector"].score_samples(np.array([[np.nan, 1.0]]))
    assert set(np.unique(det.predict(X))) <= {0, 1}
    with pytest.raises(ValueError, match="non-negative"):
        make_window_detector(name).fit(-np.ones((20, 2)))
    with pytest.raises(KeyError, match="unknown detector"):
        make_window_detector("lof")


def window_frames(seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    n = 300
    X = rng.poisson(5.0, size=(n, 3)).astype(float)
    y = np.zeros(n, dtype=bool)
    idx = rng.choice(n, 15, replace=False)
    X[idx, 0] += 25
    y[idx] = True
    ids = pd.Index(np.arange(1000, 1000 + n), name="window_id")
    return pd.DataFrame(X, index=ids), pd.Series(y, index=ids)


def test_tuning_uses_only_train_and_validation() -> None:
    params = inspect.signature(tune_on_validation).parameters
    assert "X_test" not in params and "y_test" not in params
    X, y = window_frames(5)
    X_train, X_val = X.iloc[:200], X.iloc[200:]
    y_val = y.iloc[200:]
    grid = {"detector__contamination": [0.01, 0.05, 0.2]}
    result = tune_on_validation(
        make_window_detector("isolation_forest", n_estimators=50), grid, X_train, X_val, y_val
    )
    assert len(result.table) == 3
    best_row = result.table["val_f1"].idxmax()
    assert result.best_params == parameter_grid(grid)[best_row]
    # the chosen model is the configuration fitted on training windows only
    refit = (
        make_window_detector("isolation_forest", n_estimators=50)
        .set_params(**result.best_params)
        .fit(X_train)
    )
    np.testing.assert_allclose(
        refit.score_samples(X_val), result.best_estimator.score_samples(X_val)
    )
    metrics = evaluate_windows(result.best_estimator, X_val, y_val)
    assert metrics["n_alerts"] == result.best_estimator.predict(X_val).sum()
    assert metrics["f1"] == pytest.approx(result.table["val_f1"].max())
    # labels are aligned by window id, not by position
    shuffled = y_val.sample(frac=1.0, random_state=0)
    assert evaluate_windows(result.best_estimator, X_val, shuffled) == metrics
    with pytest.raises(ValueError, match="window ids differ"):
        evaluate_windows(result.best_estimator, X_val, y.iloc[:100])
    with pytest.raises(TypeError, match="indexed by window id"):
        evaluate_windows(result.best_estimator, X_val, y_val.to_numpy())


def test_tuning_depends_on_validation_labels_only() -> None:
    X, y = window_frames(6)
    X_train, X_val = X.iloc[:150], X.iloc[150:225]
    y_val = y.iloc[150:225]
    grid = {"detector__eps": [0.5, 1.0, 2.0], "detector__min_samples": [3, 5]}
    a = tune_on_validation(make_window_detector("dbscan"), grid, X_train, X_val, y_val)
    b = tune_on_validation(make_window_detector("dbscan"), grid, X_train, X_val, y_val.copy())
    assert a.best_params == b.best_params
    pd.testing.assert_frame_equal(a.table, b.table)
    # the validation labels drive the choice: inverting them changes the table
    c = tune_on_validation(make_window_detector("dbscan"), grid, X_train, X_val, ~y_val)
    assert not np.allclose(a.table["val_f1"], c.table["val_f1"])
    # fitting never reads labels: the chosen model scores windows the same without them
    refit = make_window_detector("dbscan").set_params(**a.best_params).fit(X_train)
    np.testing.assert_allclose(refit.score_samples(X_val), a.best_estimator.score_samples(X_val))
    with pytest.raises(ValueError, match="non-empty"):
        parameter_grid({"detector__eps": []})


# --- BGL -----------------------------------------------------------------------------------------
BGL_SAMPLE = [
    "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 "
    "R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected",
    "KERNDTLB 1118536327 2005.06.11 R30-M0-N9-C:J16-U01 2005-06-11-17.32.07.581048 "
    "R30-M0-N9-C:J16-U01 RAS KERNEL FATAL data TLB error interrupt",
    "",
    "- 1119977619 2005.06.28 R02-M1-NE 2005-06-28-09.53.39.479164 R02-M1-NE NULL "
    "DISCOVERY WARNING Node card is not fully functional",
]


def test_parse_bgl_lines() -> None:
    frame = parse_bgl_lines(BGL_SAMPLE)
    assert len(frame) == 3
    assert frame["label"].tolist() == ["-", "KERNDTLB", "-"]
    assert frame["content"].tolist()[1] == "data TLB error interrupt"
    assert frame["is_anomaly"].tolist() == [False, True, False]
    events = bgl_to_events(frame)
    assert events["time"].tolist()[0] == 1117838570000
    assert events["severity_id"].tolist() == [1, 6, 3]
    assert events["anomaly_type"].tolist() == ["normal", "KERNDTLB", "normal"]
    with pytest.raises(ValueError, match="line 2"):
        parse_bgl_lines([BGL_SAMPLE[0], "- notatime x y z a b c d e"])
    with pytest.raises(ValueError, match="line 1"):
        parse_bgl_lines(["- 123 short"])


def test_read_bgl_sample() -> None:
    path = BGL_DIR / "BGL_2k.log"
    if not path.is_file():
        pytest.skip(f"loghub BGL sample not found at {BGL_DIR}")
    frame = read_bgl(path)
    structured = pd.read_csv(BGL_DIR / "BGL_2k.log_structured.csv")
    assert len(frame) == len(structured) == 2000
    assert frame["content"].tolist() == structured["Content"].astype(str).tolist()
    assert frame["is_anomaly"].sum() == (structured["Label"] != "-").sum()
    events = bgl_to_events(frame)
    w = make_windows(events, size="1h", include_empty=False)
    assert window_counts(events, w, columns=("severity_id",))["n_events"].sum() == 2000


@pytest.mark.parametrize(
    ("name", "grid"),
    [
        (
            "isolation_forest",
            {"detector__contamination": [0.02, 0.1], "detector__n_estimators": [30]},
        ),
        ("hdbscan", {"detector__min_cluster_size": [8], "detector__contamination": [0.05, 0.2]}),
        ("feature_threshold", {"detector__contamination": [0.05, 0.2]}),
    ],
)
def test_threshold_only_configurations_match_a_fresh_fit(name: str, grid: dict) -> None:
    X, y = window_frames(7)
    X_train, X_val, y_val = X.iloc[:200], X.iloc[200:], y.iloc[200:]
    result = tune_on_validation(make_window_detector(name), grid, X_train, X_val, y_val)
    for i, params in enumerate(parameter_grid(grid)):
        fresh = make_window_detector(name).set_params(**params).fit(X_train)
        metrics = evaluate_windows(fresh, X_val, y_val)
        assert result.table.loc[i, "val_f1"] == pytest.approx(metrics["f1"])
        assert result.table.loc[i, "val_n_alerts"] == metrics["n_alerts"]


def test_feature_threshold_baseline() -> None:
    X = np.column_stack([np.arange(100.0), np.zeros(100)])
    det = FeatureThresholdDetector(feature=0, contamination=0.1).fit(X)
    np.testing.assert_array_equal(det.score_samples(X), np.arange(100.0))
    assert det.predict(X).sum() == 10
    with pytest.raises(ValueError, match="feature"):
        FeatureThresholdDetector(feature=5).fit(X)


def test_report_on_test_reports_the_validation_choice() -> None:
    from anomaly_tutorial.logs import report_on_test

    X, y = window_frames(8)
    X_train, X_val, X_test = X.iloc[:150], X.iloc[150:225], X.iloc[225:]
    grid = {"detector__contamination": [0.05, 0.2]}
    tuned = {"base": tune_on_validation(make_window_detector("feature_threshold"), grid,
                                        X_train, X_val, y.iloc[150:225])}  # fmt: skip
    table = report_on_test(tuned, X_test, y.iloc[225:])
    row = table.loc["base"]
    best = tuned["base"].best_params["detector__contamination"]
    assert row["chosen on validation"] == f"contamination={best}"
    assert row["validation F1"] == tuned["base"].table["val_f1"].max()
    expected = evaluate_windows(tuned["base"].best_estimator, X_test, y.iloc[225:])
    assert row[list(expected)].to_dict() == expected
