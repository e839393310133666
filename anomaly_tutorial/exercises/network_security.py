"""Exercises of the chapter "Case study: network security" (``book/network_security.md``).

Expected answers are computed here with :mod:`anomaly_tutorial.cases.network` on the chapter's
deterministic data, never typed in. Heavy imports happen inside the functions.
"""

from __future__ import annotations

from functools import cache

from anomaly_tutorial.exercises.registry import close_to, exercise

#: Exercise net-2: connection times (seconds) of a hand-made beacon with jitter.
BEACON_TIMES_S: tuple[float, ...] = (0, 600, 1260, 1800, 2460, 3000, 3600)

#: Exercise net-3: the lowered failed-login threshold (failures per 10 minutes).
LOW_FAILED_LOGINS = 3


@cache
def _test_period():  # type: ignore[no-untyped-def]
    from anomaly_tutorial.cases.network import case_features, network_case
    from anomaly_tutorial.data import book_split

    events, _ = network_case()
    features = case_features(events)
    test = book_split().split(events)[2]
    return test, features.loc[test.index]


def _campaigns_caught(rule: str, failed_logins: int = 10, campaign: str | None = None) -> int:
    from anomaly_tutorial.cases.network import SignatureRules

    test, features = _test_period()
    fired = SignatureRules(failed_logins=failed_logins).fire(features)[rule].to_numpy()
    rows = test[fired & test["is_anomaly"].to_numpy()]
    if campaign is not None:
        rows = rows[rows["anomaly_type"] == campaign]
    return int(rows["incident_id"].nunique())


@exercise("net-1", hint="Fire SignatureRules on the test features; count distinct incident_id.")
def _check_brute_force_rule(answer) -> bool:  # type: ignore[no-untyped-def]
    return close_to(answer, _campaigns_caught("brute_force_rule"), atol=0)


@exercise("net-2", hint="beacon_periodicity takes epoch milliseconds.")
def _check_periodicity(answer) -> bool:  # type: ignore[no-untyped-def]
    from anomaly_tutorial.cases.network import beacon_periodicity

    expected = beacon_periodicity([1000 * t for t in BEACON_TIMES_S])
    return close_to(answer, expected, atol=1e-3)


@exercise("net-3", hint="SignatureRules(failed_logins=3); keep anomaly_type password_spray.")
def _check_spray(answer) -> bool:  # type: ignore[no-untyped-def]
    expected = _campaigns_caught("brute_force_rule", LOW_FAILED_LOGINS, "password_spray")
    return close_to(answer, expected, atol=0)
