"""Tests of anomaly_tutorial.cases.cards: the card-transaction generator and causal features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.cases import cards

SMALL = cards.CardConfig(
    n_cardholders=120,
    n_merchants=80,
    days=7,
    n_card_testing=3,
    n_account_takeover=4,
    n_geo_velocity=5,
    n_merchant_compromise=2,
    seed=3,
)


@pytest.fixture(scope="module")
def small() -> cards.CardData:
    return cards.generate_transactions(SMALL)


@pytest.fixture(scope="module")
def default() -> cards.CardData:
    return cards.generate_transactions()


def test_same_seed_same_data_other_seed_other_data(small: cards.CardData) -> None:
    again = cards.generate_transactions(SMALL)
    pd.testing.assert_frame_equal(small.transactions, again.transactions)
    pd.testing.assert_frame_equal(small.cases, again.cases)
    other = cards.generate_transactions(cards.CardConfig(**{**SMALL.__dict__, "seed": 4}))
    assert not other.transactions["amount"].equals(small.transactions["amount"])


def test_configured_cases_per_fraud_type(small: cards.CardData, default: cards.CardData) -> None:
    for data in (small, default):
        counts = data.cases["fraud_type"].value_counts().to_dict()
        assert counts == {t: n for t, n in data.config.case_counts.items() if n}
        fraud = data.transactions[data.transactions["is_fraud"]]
        assert fraud.groupby("fraud_type")["case_id"].nunique().to_dict() == counts
        assert (data.transactions.loc[~data.transactions["is_fraud"], "case_id"] == -1).all()
        assert set(data.transactions["fraud_type"]) == {"none", *counts}


def test_every_period_of_the_split_holds_fraud(default: cards.CardData) -> None:
    tx = default.transactions
    period = cards.card_split(default.config).period_of(tx["time"].to_numpy())
    for name in ("train", "validation", "test"):
        assert tx.loc[period == name, "is_fraud"].sum() > 0, name


def test_fraud_patterns_have_their_shape(default: cards.CardData) -> None:
    tx = default.transactions
    testing = tx[tx["fraud_type"] == "card_testing"]
    assert (testing["amount"] < 5).all()
    assert (testing.groupby("case_id")["time"].agg(np.ptp) < 30 * 60_000).all()
    assert (testing.groupby("case_id").size() >= 4).all()
    compromise = tx[tx["fraud_type"] == "merchant_compromise"]
    assert (compromise.groupby("case_id")["merchant_id"].nunique() == 1).all()
    assert (compromise.groupby("case_id")["card_id"].nunique() >= 10).all()
    geo = tx[tx["fraud_type"] == "geo_velocity"]
    assert (geo["country"] != geo["home_country"]).all()
    takeover = tx[tx["fraud_type"] == "account_takeover"]
    assert takeover["category"].isin(cards.TAKEOVER_CATEGORIES).all()


def test_realistic_marginals(default: cards.CardData) -> None:
    tx = default.transactions
    legit = tx[~tx["is_fraud"]]
    amount = legit["amount"]
    # Heavy right tail: the mean is well above the median, the 99th percentile far above.
    assert amount.mean() > 1.5 * amount.median()
    assert amount.quantile(0.99) > 10 * amount.median()
    assert (amount > 0).all()
    # Daily cycle: the quietest four night hours hold far fewer purchases than the afternoon.
    hour = (legit["time"] // 3_600_000) % 24
    by_hour = hour.value_counts().reindex(range(24), fill_value=0)
    assert by_hour[[2, 3, 4, 5]].sum() < 0.25 * by_hour[[13, 14, 15, 16]].sum()
    # Subtle: single fields do not reveal fraud (legitimate small and foreign purchases exist).
    assert (amount < 5).mean() > 0.01
    assert (legit["country"] != legit["home_country"]).mean() > 0.05
    assert tx["time"].is_monotonic_increasing
    assert tx["transaction_id"].is_unique


def test_no_constant_columns(default: cards.CardData) -> None:
    for column in default.transactions.columns:
        assert default.transactions[column].nunique() > 1, column
    features = cards.card_features(default.transactions)
    for column in features.columns:
        assert features[column].nunique() > 1, column


def test_features_are_causal(small: cards.CardData) -> None:
    tx = small.transactions
    full = cards.card_features(tx)
    cut = len(tx) // 2
    prefix = cards.card_features(tx.iloc[:cut])
    pd.testing.assert_frame_equal(prefix, full.iloc[:cut])
    # Changing a later transaction of a card never changes that card's earlier features.
    changed = tx.copy()
    later = changed.index[cut:]
    changed.loc[later, "amount"] = changed.loc[later, "amount"] * 50
    changed.loc[later, "country"] = "JP"
    changed.loc[later, "merchant_id"] = "m0000"
    pd.testing.assert_frame_equal(cards.card_features(changed).iloc[:cut], full.iloc[:cut])
    assert not cards.card_features(changed).iloc[cut:].equals(full.iloc[cut:])


def test_feature_values_by_hand() -> None:
    from anomaly_tutorial.exercises.card_fraud import burst_frame

    features = cards.card_features(burst_frame())
    # Purchases at 0, 20, 50, 65, 70, 75 minutes; under 5 USD except the first.
    assert features["card_tx_last_hour"].tolist() == [0, 1, 2, 2, 3, 4]
    assert features["card_small_last_hour"].tolist() == [0, 0, 1, 2, 3, 4]
    assert features["new_merchant"].tolist() == [1, 0, 0, 0, 0, 0]
    assert features["amount_vs_card"].iloc[1] == pytest.approx(np.log(1.5) - np.log(42.0))


def test_geo_velocity_feature() -> None:
    start = cards.CardConfig().start_ms
    frame = pd.DataFrame(
        {
            "transaction_id": ["a", "b", "c"],
            "time": [start, start + 1_800_000, start + 7_200_000],
            "card_id": "c1",
            "merchant_id": ["m1", "m2", "m3"],
            "category": "grocery",
            "country": ["US", "FR", "FR"],
            "home_country": "US",
            "amount": [20.0, 30.0, 25.0],
        }
    )
    since = cards.card_features(frame)["hours_since_other_country"].tolist()
    assert since[0] == 72.0 and since[1] == pytest.approx(0.5) and since[2] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("amount", -3.0, "field 'amount'"),
        ("amount", np.nan, "field 'amount'"),
        ("time", np.nan, "field 'time'"),
        ("card_id", None, "field 'card_id' is missing"),
    ],
)
def test_bad_transactions_name_record_and_field(
    small: cards.CardData, column: str, value: object, words: str
) -> None:
    tx = small.transactions.head(50).copy()
    tx[column] = tx[column].astype(object)
    tx.loc[tx.index[7], column] = value
    with pytest.raises(ValueError, match=words) as error:
        cards.card_features(tx)
    assert repr(tx["transaction_id"].iloc[7]) in str(error.value)


def test_missing_column_and_duplicate_id(small: cards.CardData) -> None:
    with pytest.raises(ValueError, match=r"missing columns \['amount'\]"):
        cards.card_features(small.transactions.drop(columns="amount"))
    tx = small.transactions.head(10).copy()
    tx.loc[tx.index[3], "transaction_id"] = tx["transaction_id"].iloc[2]
    with pytest.raises(ValueError, match="'transaction_id' is duplicated"):
        cards.card_features(tx)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        cards.card_features(tx.to_numpy())


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"n_cardholders": 5}, "n_cardholders: must be at least 20"),
        ({"n_card_testing": -1}, "n_card_testing: must be at least 0"),
        ({"days": 2.5}, "days: must be an integer"),
        ({"travel_probability": 1.5}, "travel_probability"),
        ({"start": "not a date"}, "start: not an ISO date"),
    ],
)
def test_bad_config(params: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        cards.CardConfig(**params)
    with pytest.raises(TypeError, match="CardConfig"):
        cards.generate_transactions({"seed": 1})


def test_split_matches_book_fractions() -> None:
    split = cards.card_split()
    assert split.days == {"train": 8.0, "validation": 2.0, "test": 4.0}


def test_decision_tiers_and_business_outcome() -> None:
    from anomaly_tutorial.exercises import card_fraud as ex

    tiers = cards.decision_tiers(np.array([0.9, 0.6, 0.3, 0.1]), 0.8, 0.5, 0.2)
    assert tiers.tolist() == ["block", "review", "monitor", "allow"]
    with pytest.raises(ValueError, match="block >= review >= monitor"):
        cards.decision_tiers(np.array([0.5]), 0.2, 0.5, 0.1)
    outcome = cards.business_outcome(
        ex.outcome_frame(),
        np.asarray(ex.OUTCOME_TIERS),
        days=2.0,
        blocked_customer_cost=25.0,
        review_cost=4.0,
    )
    assert outcome["money_saved"] == pytest.approx(400 + 650 + 80)
    assert outcome["customers_bothered"] == 1 and outcome["false_blocks"] == 1
    assert outcome["cost_of_alerts"] == pytest.approx(25 + 4)
    assert outcome["alerts_per_day"] == pytest.approx(3 / 2)
    assert outcome["precision"] == pytest.approx(2 / 3)
    assert outcome["case_recall"] == 1.0


def test_analyst_rule_and_explanations(small: cards.CardData) -> None:
    tx = small.transactions
    features = cards.card_features(tx)
    rule = cards.analyst_rule(tx, features)
    assert rule.min() >= 0 and rule.max() <= 4
    big_abroad = (tx["amount"] > 500).to_numpy() & (features["foreign"] > 0).to_numpy()
    assert (rule[big_abroad] >= 2).all()
    words = cards.explain_alerts(features.head(3), features)
    assert len(words) == 3 and all(";" in w and "usual" in w for w in words)
    with pytest.raises(ValueError, match="top_k"):
        cards.explain_alerts(features.head(3), features, top_k=0)


def test_detector_scores_fit_on_train_only_and_compare(small: cards.CardData) -> None:
    from anomaly_tutorial.detectors import make_detector

    tx = small.transactions
    features = cards.card_features(tx)
    split = cards.card_split(small.config)
    scores = cards.detector_scores(features, tx, split, {"ECOD": make_detector("ecod")})
    assert list(scores.columns) == ["ECOD", "analyst rule"]
    assert scores.index.equals(tx.index) and np.isfinite(scores.to_numpy()).all()
    # Changing the test period's rows does not change the scores of the training rows.
    period = split.period_of(tx["time"].to_numpy())
    shifted = features.copy()
    shifted.loc[period == "test", "log_amount"] += 5.0
    again = cards.detector_scores(shifted, tx, split, {"ECOD": make_detector("ecod")})
    np.testing.assert_allclose(
        again.loc[period == "train", "ECOD"], scores.loc[period == "train", "ECOD"]
    )
    table = cards.compare_at_cost(scores, tx, split, 25.0, 300.0)
    assert set(table.index) == {"ECOD", "analyst rule"}
    assert ((table["test PR-AUC"] >= 0) & (table["test PR-AUC"] <= 1)).all()
    assert (table["money_saved"] <= table["fraud_amount"] + 1e-9).all()


def test_case_recall_counts_cases_not_transactions(small: cards.CardData) -> None:
    tx = small.transactions
    fraud = tx["is_fraud"].to_numpy()
    first_of_case = fraud & ~tx["case_id"].duplicated().to_numpy()
    assert cards.case_recall(tx, first_of_case) == 1.0
    assert cards.case_recall(tx, np.zeros(len(tx), dtype=bool)) == 0.0
    assert cards.case_recall(tx, ~fraud) == 0.0


def test_fit_supervised_is_the_default_model(small: cards.CardData) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    tx = small.transactions
    features = cards.card_features(tx)
    y = tx["is_fraud"].to_numpy()
    ours = cards.fit_supervised(features, y).predict_proba(features)[:, 1]
    reference = HistGradientBoostingClassifier(random_state=0).fit(features, y)
    np.testing.assert_allclose(ours, reference.predict_proba(features)[:, 1], rtol=1e-6)
