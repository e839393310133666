"""Threshold policies, their JSON decisions and the book's score tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anomaly_tutorial.thresholds import (
    POLICIES,
    SCORE_COLUMNS,
    AlertBudget,
    BenjaminiHochberg,
    BestFBeta,
    ContaminationQuantile,
    ExpectedCost,
    IQRFence,
    MADFence,
    Otsu,
    ThresholdDecision,
    alerts_per_bucket,
    compare_policies,
    evaluate_decision,
    load_decision,
)

HOUR = 3_600_000
DAY = 24 * HOUR


def _labelled(seed: int = 0, n: int = 2000, n_anomalies: int = 40):
    rng = np.random.default_rng(seed)
    scores = np.r_[rng.normal(size=n - n_anomalies), rng.normal(loc=3.5, size=n_anomalies)]
    y = np.r_[np.zeros(n - n_anomalies, bool), np.ones(n_anomalies, bool)]
    times = np.sort(rng.uniform(0, 2 * DAY, size=n)).astype("int64")
    return scores, y, times


def _all_policies():
    return [
        ContaminationQuantile(0.02),
        BestFBeta(2.0),
        AlertBudget(15, "day"),
        ExpectedCost(1.0, 10.0),
        BenjaminiHochberg(0.1),
        MADFence(3.0),
        IQRFence(1.5),
        Otsu(64),
    ]


# --- hand-computed cases ---------------------------------------------------------------------


def test_contamination_quantile_matches_the_evaluate_helper() -> None:
    from anomaly_tutorial.evaluate import threshold_from_contamination

    scores = np.arange(100, dtype=float)
    policy = ContaminationQuantile(0.1).fit(scores)
    assert policy.threshold_ == threshold_from_contamination(scores, 0.1) == pytest.approx(89.1)
    assert policy.predict(scores).sum() == 10


def test_best_fbeta_matches_brute_force() -> None:
    scores, y, _ = _labelled(1)
    for beta in (0.5, 1.0, 2.0):
        policy = BestFBeta(beta).fit(scores, y)
        best = -1.0
        for t in np.unique(scores):
            flags = scores >= t
            tp = (flags & y).sum()
            p, r = tp / flags.sum(), tp / y.sum()
            f = (1 + beta**2) * p * r / (beta**2 * p + r) if tp else 0.0
            best = max(best, f)
        flags = policy.predict(scores)
        tp = (flags & y).sum()
        p, r = tp / flags.sum(), tp / y.sum()
        assert (1 + beta**2) * p * r / (beta**2 * p + r) == pytest.approx(best)
    # a larger beta (recall matters more) never alerts less
    assert BestFBeta(4.0).fit(scores, y).threshold_ <= BestFBeta(0.25).fit(scores, y).threshold_


def test_expected_cost_matches_brute_force() -> None:
    scores, y, _ = _labelled(2)
    scores = np.round(scores, 1)  # ties
    for fa, miss in ((1.0, 1.0), (1.0, 10.0), (1.0, 200.0), (50.0, 1.0)):
        policy = ExpectedCost(fa, miss).fit(scores, y)
        candidates = np.r_[np.unique(scores), np.inf]
        costs = [
            fa * ((scores >= t) & ~y).sum() + miss * ((scores < t) & y).sum() for t in candidates
        ]
        flags = policy.predict(scores)
        assert fa * (flags & ~y).sum() + miss * (~flags & y).sum() == pytest.approx(min(costs))
    # with misses ~free, no false alarm at all; with false alarms ~free, every anomaly alerts
    assert not (ExpectedCost(1000.0, 0.001).fit(scores, y).predict(scores) & ~y).any()
    assert ExpectedCost(0.001, 1000.0).fit(scores, y).predict(scores)[y].all()


def test_mad_and_iqr_fences_by_hand() -> None:
    scores = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3, MAD = median(|x - 3|) = median(2, 1, 0, 1, 97) = 1 -> robust sd 1.4826
    mad = MADFence(2.0).fit(scores)
    assert mad.threshold_ == pytest.approx(3 + 2 * 1.482602218505602)
    assert mad.predict(scores).tolist() == [False, False, False, False, True]
    # midpoint quartiles of 1 2 3 4 100: Q1 = 2, Q3 = 4; fence 4 + 1.5 * 2 = 7 (strict)
    iqr = IQRFence(1.5).fit(scores)
    assert iqr.threshold_ == pytest.approx(7.0)
    assert not iqr.predict([7.0])[0] and iqr.predict([7.0000001])[0]


def test_mad_fence_with_tied_scores_flags_everything_above_the_median() -> None:
    scores = np.r_[np.zeros(90), np.arange(1, 11)]
    policy = MADFence().fit(scores)
    assert policy.predict(scores).sum() == 10
    assert "MAD is 0" in policy.decision_.reason


def test_otsu_by_hand() -> None:
    # Two groups, 4 bins over [0, 8] (edges 0 2 4 6 8): counts 3 0 0 2 (0, 0, 1 | 7, 8).
    # Split after bin 0: w0 = 3, w1 = 2, centres 1 and 7: 3 * 2 * 36 = 216; after bin 1 or 2
    # the classes are the same but the tie goes to the lowest edge, 2.
    scores = np.array([0.0, 0.0, 1.0, 7.0, 8.0])
    policy = Otsu(bins=4).fit(scores)
    assert policy.threshold_ == 2.0
    assert policy.predict(scores).tolist() == [False, False, False, True, True]
    # unequal groups: counts 2 1 0 2 over [0, 8] -> splits after bin 0 (2 | 3: centres 1 vs
    # (3 + 7 + 7) / 3) give 2 * 3 * (17/3 - 1)^2 = 130.7, after bin 1 (3 | 2: 5/3 vs 7)
    # give 3 * 2 * (7 - 5/3)^2 = 170.7: threshold 4
    assert Otsu(bins=4).fit([0.0, 0.0, 3.0, 7.0, 8.0]).threshold_ == 4.0


# --- comparison with PyThresh ------------------------------------------------------------


@pytest.fixture
def keep_global_rng():
    """PyThresh seeds numpy's global generator in its constructors; put the state back."""
    state = np.random.get_state()  # noqa: NPY002 (restoring the legacy global state)
    yield
    np.random.set_state(state)  # noqa: NPY002


def test_iqr_and_otsu_agree_with_pythresh(keep_global_rng) -> None:
    iqr_module = pytest.importorskip("pythresh.thresholds.iqr", reason="pythresh not installed")
    hist_module = pytest.importorskip("pythresh.thresholds.hist")
    rng = np.random.default_rng(3)
    scores = np.r_[rng.gamma(2.0, 1.0, size=3000), rng.normal(12.0, 1.0, size=150)]
    lo, hi = scores.min(), scores.max()
    # PyThresh works on min-max normalised scores; map its threshold back to score units.
    theirs = iqr_module.IQR()
    their_flags = theirs.eval(scores).astype(bool)
    ours = IQRFence(1.5).fit(scores)
    assert lo + theirs.thresh_ * (hi - lo) == pytest.approx(ours.threshold_, rel=1e-9)
    assert (ours.predict(scores) == their_flags).mean() >= 0.999
    bins = 64
    theirs = hist_module.HIST(method="otsu", nbins=bins)
    their_flags = theirs.eval(scores).astype(bool)
    ours = Otsu(bins=bins).fit(scores)
    # PyThresh cuts at the centre of the last low bin, we at its upper edge: half a bin apart
    width = (hi - lo) / bins
    assert lo + theirs.thresh_ * (hi - lo) + width / 2 == pytest.approx(ours.threshold_, rel=1e-6)
    assert (ours.predict(scores) == their_flags).mean() >= 0.999


# --- the alert budget -----------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    budget=st.integers(0, 30),
    per=st.sampled_from(["day", "hour"]),
    n=st.integers(1, 1500),
)
def test_alert_budget_holds_on_the_period_it_was_fitted_on(seed, budget, per, n) -> None:
    rng = np.random.default_rng(seed)
    times = rng.uniform(0, 3 * DAY, size=n)
    scores = np.round(rng.exponential(size=n), 2)  # many ties
    policy = AlertBudget(budget, per).fit(scores, times=times, period_days=3.0)
    counts = alerts_per_bucket(policy.predict(scores), times, per)
    assert counts.max() <= budget
    # and it is the lowest such threshold: any lower distinct score breaks the budget
    lower = scores[scores < policy.threshold_]
    if lower.size:
        counts = alerts_per_bucket(scores >= lower.max(), times, per)
        assert counts.max() > budget


def test_alert_budget_by_hand() -> None:
    times = np.array([0, 1, 2, DAY, DAY + 1]) * 1.0
    scores = np.array([5.0, 4.0, 3.0, 9.0, 1.0])
    policy = AlertBudget(2, "day").fit(scores, times=times, period_days=2.0)
    # day 0 holds three scores: the threshold must sit above the third (3.0)
    assert policy.predict(scores).tolist() == [True, True, False, True, False]
    assert policy.decision_.alerts_per_day == 1.5
    assert "busiest day: 2" in policy.decision_.reason


def test_alerts_per_bucket_counts_empty_buckets() -> None:
    counts = alerts_per_bucket([True, True, False], [0, 2 * HOUR, 5 * HOUR], "hour", 0, 6 * HOUR)
    assert counts.tolist() == [1, 0, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="per: must be"):
        alerts_per_bucket([True], [0], "week")


# --- Benjamini-Hochberg as a policy -------------------------------------------------------


def test_bh_policy_calibrates_on_normal_validation_items() -> None:
    scores, y, _ = _labelled(4, n=3000, n_anomalies=60)
    policy = BenjaminiHochberg(0.1).fit(scores, y)
    assert len(policy.decision_.calibration_scores) == int((~y).sum())
    assert policy.threshold_ is None and policy.decision_.alerts_per_day is None
    test_scores, test_y, _ = _labelled(5, n=3000, n_anomalies=60)
    flags = policy.predict(test_scores)
    assert flags[test_y].mean() > 0.3
    p = policy.p_values(test_scores)
    np.testing.assert_array_equal(flags[np.argsort(p)][: flags.sum()], True)
    # calibrating on every score, anomalies included, is more conservative
    conservative = BenjaminiHochberg(0.1, calibrate_on="all").fit(scores)
    assert conservative.predict(test_scores).sum() <= flags.sum()


def test_bh_policy_needs_a_non_empty_calibration_set() -> None:
    with pytest.raises(ValueError, match="calibration set is empty"):
        BenjaminiHochberg(0.1).fit([1.0, 2.0], [True, True])
    with pytest.raises(ValueError, match=r"y .*required"):
        BenjaminiHochberg(0.1).fit([1.0, 2.0])


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("policy", _all_policies(), ids=lambda p: p.name)
def test_every_policy_rejects_bad_input(policy) -> None:
    scores, y, times = _labelled(6, n=200, n_anomalies=10)
    kwargs = {"times": times, "period_days": 2.0}
    with pytest.raises(ValueError, match=r"scores: 1 value\(s\) are NaN"):
        policy.fit(np.r_[np.nan, scores[1:]], y, **kwargs)
    with pytest.raises(ValueError, match="scores is empty"):
        policy.fit(np.array([]), np.array([], bool), times=np.array([]), period_days=2.0)
    with pytest.raises(ValueError, match="y and scores must have the same length"):
        policy.fit(scores, y[:-1], **kwargs)
    with pytest.raises(ValueError, match="times and scores must have the same length"):
        policy.fit(scores, y, times=times[:-1], period_days=2.0)
    with pytest.raises(ValueError, match="period_days"):
        policy.fit(scores, y, times=times, period_days=0)
    fitted = policy.fit(scores, y, **kwargs)
    with pytest.raises(ValueError, match="scores"):
        fitted.predict([np.inf])


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        (ContaminationQuantile(0.7), "contamination must be strictly between 0 and 0.5"),
        (BestFBeta(0), "beta: must be a positive"),
        (AlertBudget(-1), "max_alerts: must be a non-negative integer"),
        (AlertBudget(3, per="week"), "per: must be 'day' or 'hour'"),
        (ExpectedCost(-1, 1), "false_alarm_cost"),
        (BenjaminiHochberg(1.5), "q: must be strictly between 0 and 1"),
        (BenjaminiHochberg(0.0), "q: must be strictly between 0 and 1"),
        (BenjaminiHochberg(0.1, calibrate_on="some"), "calibrate_on"),
        (MADFence(-2), "k: must be a positive"),
        (Otsu(1), "bins: must be at least 2"),
    ],
)
def test_bad_parameters_are_named(policy, words) -> None:
    scores, y, times = _labelled(7, n=100, n_anomalies=5)
    with pytest.raises(ValueError, match=words):
        policy.fit(scores, y, times=times)


def test_supervised_policies_need_labels_and_the_budget_needs_times() -> None:
    scores = np.arange(10.0)
    with pytest.raises(ValueError, match="BestFBeta: y"):
        BestFBeta().fit(scores)
    with pytest.raises(ValueError, match="ExpectedCost: y"):
        ExpectedCost().fit(scores)
    with pytest.raises(ValueError, match="AlertBudget: times"):
        AlertBudget(3).fit(scores)
    with pytest.raises(ValueError, match="no anomalous item"):
        BestFBeta().fit(scores, np.zeros(10, bool))


# --- decisions as JSON --------------------------------------------------------------------


@pytest.mark.parametrize("policy", _all_policies(), ids=lambda p: p.name)
def test_decision_round_trips_through_json(policy, tmp_path) -> None:
    scores, y, times = _labelled(8)
    policy.fit(scores, y, times=times, period_days=2.0)
    decision = policy.decision_
    assert decision.policy in POLICIES and decision.reason
    assert decision.params == policy.get_params()
    loaded = load_decision(policy.save(tmp_path / "decision.json"))
    assert loaded == decision
    new_scores, _, _ = _labelled(9)
    np.testing.assert_array_equal(loaded.flag(new_scores), policy.predict(new_scores))
    if decision.threshold is not None:
        assert decision.n_alerts == int((scores >= decision.threshold).sum())
        assert decision.alerts_per_day == pytest.approx(decision.n_alerts / 2.0)
        assert 0 <= decision.precision <= 1 and 0 <= decision.recall <= 1


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"policy": "magic"}, "unknown policy 'magic'"),
        ({"threshold": None}, "needs a numeric threshold"),
        ({"threshold": "high"}, "threshold must be a number"),
        ({"params": {"contamination": 0.1, "colour": "red"}}, r"no parameter\(s\) \['colour'\]"),
        ({"precision": 1.5}, "precision must lie in"),
        ({"n_scores": 0}, "n_scores must be at least 1"),
        ({"format": 99}, "format must be 1"),
        ({"extra": 1}, r"unknown field\(s\) \['extra'\]"),
        ({"reason": ""}, "reason must be a non-empty string"),
        ({"params": {}}, r"misses parameter\(s\) \['contamination'\]"),
        ({"params": {"contamination": 0.9}}, "decision: contamination must be strictly between"),
    ],
)
def test_loading_validates_the_decision(change, words) -> None:
    decision = ContaminationQuantile(0.1).fit(np.arange(50.0)).decision_
    data = {**json.loads(decision.to_json()), **change}
    with pytest.raises(ValueError, match=words):
        ThresholdDecision.from_json(json.dumps(data))


def test_loading_rejects_missing_fields_and_bad_json() -> None:
    decision = ContaminationQuantile(0.1).fit(np.arange(50.0)).decision_
    data = json.loads(decision.to_json())
    del data["reason"]
    with pytest.raises(ValueError, match=r"missing field\(s\) \['reason'\]"):
        ThresholdDecision.from_dict(data)
    with pytest.raises(ValueError, match="not valid JSON"):
        ThresholdDecision.from_json("{not json")
    bh = json.loads(BenjaminiHochberg(0.1, "all").fit(np.arange(50.0)).decision_.to_json())
    bh["calibration_scores"] = [1.0, None]
    with pytest.raises(ValueError, match="calibration_scores"):
        ThresholdDecision.from_dict(bh)
    bh["calibration_scores"] = [1.0, 2.0]
    bh["params"]["q"] = 1.5
    with pytest.raises(ValueError, match="decision: q: must be strictly between 0 and 1"):
        ThresholdDecision.from_dict(bh)


# --- tables and the comparison -------------------------------------------------------------


def _table(seed: int) -> pd.DataFrame:
    rows = []
    for period, offset in (("validation", 0), ("test", 2 * DAY)):
        scores, y, times = _labelled(seed + offset % 7)
        rows.append(
            pd.DataFrame(
                {
                    "id": [f"{period}-{i}" for i in range(len(scores))],
                    "time": times + offset,
                    "period": period,
                    "score": scores,
                    "is_anomaly": y,
                    "anomaly_type": np.where(y, "spike", "normal"),
                    "incident_id": pd.array(
                        np.where(y, [f"{period}-inc-{i % 4}" for i in range(len(y))], None),
                        dtype="string",
                    ),
                    "entity": np.where(y, "attacker", [f"user{i % 50}" for i in range(len(y))]),
                    "service": "web",
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_compare_policies_fits_on_validation_and_measures_on_test() -> None:
    table = _table(10)
    days = {"validation": 2.0, "test": 2.0}
    result = compare_policies(
        {"budget": AlertBudget(10, "day"), "q": BenjaminiHochberg(0.1)}, table, days=days
    )
    assert result.loc["budget", "target_alerts_per_day"] == 10
    assert np.isnan(result.loc["q", "threshold"])
    test = table[table["period"] == "test"]
    decision = (
        AlertBudget(10, "day")
        .fit(
            table.loc[table["period"] == "validation", "score"],
            times=table.loc[table["period"] == "validation", "time"],
        )
        .decision_
    )
    direct = evaluate_decision(decision, test, period_days=2.0)
    assert result.loc["budget", "alerts"] == direct["alerts"]
    flags = test["score"].to_numpy() >= decision.threshold
    assert direct["alerts"] == flags.sum()
    assert direct["incidents_caught"] == test.loc[flags, "incident_id"].nunique()
    assert direct["n_incidents"] == 4
    # grouping: alerts of the one attacker entity form far fewer groups than alerts
    assert direct["alert_groups_per_day"] <= direct["alerts_per_day"]


def test_book_scores_tables() -> None:
    from anomaly_tutorial.data import book_split
    from anomaly_tutorial.thresholds import book_scores

    split = book_split()
    for family in ("events", "metrics", "sessions"):
        table = book_scores(family)
        assert tuple(table.columns) == SCORE_COLUMNS
        assert set(table["period"]) == {"validation", "test"}
        assert table["id"].is_unique and np.isfinite(table["score"]).all()
        assert table["entity"].notna().all()
        periods = split.period_of(table["time"].to_numpy())
        assert (periods == table["period"].to_numpy()).all()
        assert table["is_anomaly"].any()
        pd.testing.assert_frame_equal(table, book_scores(family))  # a fresh, equal copy
    sessions = book_scores("sessions")
    assert sessions["incident_id"].notna().sum() >= sessions["is_anomaly"].sum() * 0.9
    with pytest.raises(ValueError, match="family: must be one of"):
        book_scores("traces")
