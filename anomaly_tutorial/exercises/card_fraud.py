"""Exercises of the chapter "Case study: card fraud" (``book/card_fraud.md``).

Expected answers are computed here with the package's own functions on the small inputs the
chapter prints, never typed in.
"""

from __future__ import annotations

from anomaly_tutorial.exercises.registry import close_to, exercise

#: Exercise card-fraud-1: one card's purchases (minutes after midnight UTC of the first day, USD).
BURST_MINUTES = (0, 20, 50, 65, 70, 75)
BURST_AMOUNTS = (42.0, 1.5, 2.0, 0.9, 3.1, 2.5)

#: Exercise card-fraud-2: validation scores, labels, fraud amount and blocked-customer cost.
COST_SCORES = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2)
COST_LABELS = (True, False, True, False, False, True, False, False)
COST_FALSE_ALARM = 25.0
COST_MISS = 120.0

#: Exercise card-fraud-3: five purchases of one fraud case and one legitimate one, with tiers.
OUTCOME_AMOUNTS = (2.0, 3.0, 400.0, 650.0, 80.0, 55.0)
OUTCOME_FRAUD = (True, True, True, True, True, False)
OUTCOME_TIERS = ("allow", "review", "allow", "block", "allow", "block")


def burst_frame():
    """The transactions of exercise card-fraud-1 as a table :func:`card_features` accepts."""
    import pandas as pd

    from anomaly_tutorial.cases.cards import CardConfig

    start = CardConfig().start_ms
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(len(BURST_MINUTES))],
            "time": [start + m * 60_000 for m in BURST_MINUTES],
            "card_id": "c1",
            "merchant_id": "m1",
            "category": "digital_goods",
            "country": "US",
            "home_country": "US",
            "amount": list(BURST_AMOUNTS),
        }
    )


def outcome_frame():
    """The transactions of exercise card-fraud-3 (one fraud case, 10 minutes apart)."""
    import pandas as pd

    n = len(OUTCOME_AMOUNTS)
    return pd.DataFrame(
        {
            "time": [i * 600_000 for i in range(n)],
            "card_id": ["c1"] * (n - 1) + ["c2"],
            "amount": list(OUTCOME_AMOUNTS),
            "is_fraud": list(OUTCOME_FRAUD),
            "case_id": [0 if f else -1 for f in OUTCOME_FRAUD],
        }
    )


def _burst_answer() -> float:
    from anomaly_tutorial.cases.cards import card_features

    return float(card_features(burst_frame())["card_small_last_hour"].iloc[-1])


def _cost_answer() -> float:
    from anomaly_tutorial.thresholds import ExpectedCost

    policy = ExpectedCost(false_alarm_cost=COST_FALSE_ALARM, miss_cost=COST_MISS)
    return float(policy.fit(list(COST_SCORES), list(COST_LABELS)).threshold_)


def _outcome_answer() -> float:
    import numpy as np

    from anomaly_tutorial.cases.cards import business_outcome

    result = business_outcome(
        outcome_frame(),
        np.asarray(OUTCOME_TIERS),
        days=1.0,
        blocked_customer_cost=COST_FALSE_ALARM,
        review_cost=0.0,
    )
    return result["money_saved"]


@exercise(
    "card-fraud-1",
    hint="Count the card's earlier purchases under 5 USD in the 60 minutes before the last one "
    "(one exactly 60 minutes earlier counts, one more than 60 minutes earlier does not); the "
    "purchase itself does not count.",
)
def _check_card_fraud_1(answer: object) -> bool:
    return close_to(answer, _burst_answer(), rtol=0.0, atol=0.0)


@exercise(
    "card-fraud-2",
    hint="For each cut between scores, add 25 per legitimate purchase above it and 120 per "
    "fraud below it; the cheapest cut wins (the one with fewer alerts on a tie).",
)
def _check_card_fraud_2(answer: object) -> bool:
    return close_to(answer, _cost_answer(), rtol=1e-9)


@exercise(
    "card-fraud-3",
    hint="A blocked fraud is saved, and once a case has an alert (block or review) its later "
    "purchases are saved too; the fraud before the first alert is lost.",
)
def _check_card_fraud_3(answer: object) -> bool:
    return close_to(answer, _outcome_answer(), rtol=1e-9)
