"""Alerts to incidents: anomaly_tutorial.thresholds.group_alerts on hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.thresholds import group_alerts

MIN = 60_000


def _alerts(rows):
    return pd.DataFrame(rows, columns=["time", "user", "service", "score"])


def test_alerts_closer_than_the_gap_chain_into_one_incident() -> None:
    alerts = _alerts(
        [
            (0 * MIN, "a", "web", 1.0),
            (20 * MIN, "a", "web", 2.0),
            (45 * MIN, "a", "web", 3.0),  # 25 min after the previous: same incident (chain)
            (90 * MIN, "a", "web", 4.0),  # 45 min gap: a new incident
        ]
    )
    grouped = group_alerts(alerts, key="user", max_gap_s=30 * 60)
    assert grouped.alerts["incident"].tolist() == [0, 0, 0, 1]
    first = grouped.incidents.loc[0]
    assert (first["start_time"], first["end_time"], first["n_alerts"]) == (0, 45 * MIN, 3)
    assert first["max_score"] == 3.0
    assert grouped.incidents["paged"].all() and grouped.n_pages == 2


def test_a_gap_exactly_at_the_limit_stays_in_the_incident() -> None:
    alerts = _alerts([(0, "a", "web", 1.0), (30 * MIN, "a", "web", 1.0)])
    assert len(group_alerts(alerts, key="user", max_gap_s=30 * 60).incidents) == 1
    assert len(group_alerts(alerts, key="user", max_gap_s=30 * 60 - 1).incidents) == 2


def test_different_keys_never_share_an_incident_and_input_order_is_kept() -> None:
    alerts = _alerts([(5 * MIN, "b", "web", 1.0), (0, "a", "web", 2.0), (6 * MIN, "a", "web", 3.0)])
    grouped = group_alerts(alerts, key="user")
    # incidents numbered by start time: a's (t = 0) is 0, b's (t = 5 min) is 1
    assert grouped.alerts["incident"].tolist() == [1, 0, 0]
    assert grouped.alerts.index.tolist() == [0, 1, 2]
    assert grouped.incidents["key"].tolist() == ["a", "b"]
    assert grouped.incidents["n_alerts"].tolist() == [2, 1]


def test_key_columns_fall_back_in_order() -> None:
    alerts = _alerts(
        [
            (0, "a", "web", 1.0),
            (MIN, None, "web", 1.0),
            (2 * MIN, None, "web", 1.0),
            (3 * MIN, "web", None, 1.0),
        ]
    )
    grouped = group_alerts(alerts, key=["user", "service"])
    assert grouped.alerts["key_field"].tolist() == ["user", "service", "service", "user"]
    # the user called "web" and the service "web" are different things
    assert grouped.alerts["incident"].tolist() == [0, 1, 1, 2]


def test_duplicates_are_kept_marked_and_not_counted() -> None:
    alerts = pd.DataFrame(
        {
            "time": [0, 0, MIN, 10 * MIN],
            "id": ["e1", "e1", "e2", "e1"],
            "user": ["a", "a", "a", "a"],
        }
    )
    by_time = group_alerts(alerts, key="user")  # default: same key and same time
    assert by_time.alerts["duplicate"].tolist() == [False, True, False, False]
    assert by_time.incidents["n_alerts"].tolist() == [3]
    assert by_time.incidents["n_duplicates"].tolist() == [1]
    by_id = group_alerts(alerts, key="user", dedup_on=["id"])
    assert by_id.alerts["duplicate"].tolist() == [False, True, False, True]
    assert by_id.incidents["n_alerts"].tolist() == [2]
    assert by_id.incidents["end_time"].tolist() == [MIN]  # duplicates do not extend it
    assert len(by_id.alerts) == 4  # nothing dropped


def test_cooldown_suppresses_pages_but_keeps_incidents() -> None:
    hour = 60 * MIN
    alerts = _alerts(
        [
            (0, "a", "web", 1.0),
            (2 * hour, "a", "web", 1.0),  # new incident, 2 h after a's page: suppressed
            (2 * hour, "b", "web", 1.0),  # another user pages regardless
            (5 * hour, "a", "web", 1.0),  # 5 h after a's last page: pages again
            (6 * hour, "a", "web", 1.0),  # 1 h after that page: suppressed
        ]
    )
    grouped = group_alerts(alerts, key="user", max_gap_s=1800, cooldown_s=4 * 3600)
    incidents = grouped.incidents
    assert len(incidents) == 5
    assert incidents["paged"].tolist() == [True, False, True, True, False]
    assert grouped.n_pages == 3
    # without a cool-down every incident pages
    assert group_alerts(alerts, key="user", max_gap_s=1800).n_pages == 5


def test_empty_alerts_give_no_incident() -> None:
    grouped = group_alerts(_alerts([]).astype({"time": "int64"}), key="user")
    assert grouped.incidents.empty and grouped.n_pages == 0
    assert "incident" in grouped.alerts.columns


def test_bad_input_is_named() -> None:
    alerts = _alerts([(0, "a", "web", 1.0), (MIN, None, None, 1.0)])
    with pytest.raises(ValueError, match=r"row 1 has no value in any key column \['user', "):
        group_alerts(alerts, key=["user", "service"])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['entity'\]"):
        group_alerts(alerts, key="entity")
    bad_time = _alerts([(np.nan, "a", "web", 1.0)])
    with pytest.raises(ValueError, match="row 0 has no valid 'time'"):
        group_alerts(bad_time, key="user")
    with pytest.raises(ValueError, match="max_gap_s"):
        group_alerts(alerts, key="user", max_gap_s=-1)
    with pytest.raises(ValueError, match="cooldown_s"):
        group_alerts(alerts, key="user", cooldown_s=float("nan"))
    with pytest.raises(TypeError, match="alerts: expected a pandas DataFrame"):
        group_alerts([1, 2], key="user")  # type: ignore[arg-type]


def test_daily_counts_of_alerts_incidents_and_pages() -> None:
    from anomaly_tutorial.thresholds import daily_counts

    day = 24 * 60 * MIN
    alerts = _alerts(
        [
            (0, "a", "web", 1.0),
            (MIN, "a", "web", 1.0),
            (MIN, "a", "web", 1.0),  # duplicate (same key and time): not counted
            (2 * 60 * MIN, "a", "web", 1.0),  # new incident 2 h later, within the cool-down
            (day + 5 * MIN, "b", "web", 1.0),
        ]
    )
    grouped = group_alerts(alerts, key="user", max_gap_s=1800, cooldown_s=4 * 3600)
    counts = daily_counts(grouped, 0, 3 * day)
    assert counts["alerts"].tolist() == [3, 1, 0]
    assert counts["incidents"].tolist() == [2, 1, 0]
    assert counts["pages"].tolist() == [1, 1, 0]
    assert str(counts.index[0].date()) == "1970-01-01"
    with pytest.raises(ValueError, match="UTC midnights"):
        daily_counts(grouped, 5, day)
    with pytest.raises(ValueError, match="falls outside"):
        daily_counts(grouped, 0, day)
