"""Exercises of the chapter "Observability data and OCSF" (``book/ocsf_data.md``).

Every expected answer is computed here from the book's default dataset
(:func:`anomaly_tutorial.data.default_dataset`) with package functions, never typed in, and
never printed.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from anomaly_tutorial import ocsf
from anomaly_tutorial.exercises.registry import close_to, equals_text, exercise, same_items

#: Exercise ocsf-3: types whose best single-field ROC-AUC is below this value.
SEPARABILITY_CUTOFF = 0.9


def _events():
    from anomaly_tutorial.data import default_dataset

    return default_dataset().events


@cache
def top_failed_login_sources() -> tuple[str, ...]:
    """Source IPs with the most failed Authentication events (several when tied)."""
    ev = _events()
    failed = ev[(ev["class_uid"] == ocsf.AUTHENTICATION) & (ev["status_id"] == ocsf.STATUS_FAILURE)]
    counts = failed["src_endpoint.ip"].astype(str).value_counts()
    return tuple(sorted(counts.index[counts == counts.max()]))


@cache
def weekend_share() -> float:
    """Fraction of all events whose UTC day of the week is Saturday or Sunday."""
    t = _events()["time"].to_numpy(dtype=np.int64)
    dow = (t // 86_400_000 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return float(np.mean(dow >= 5))


@cache
def hard_types(cutoff: float = SEPARABILITY_CUTOFF) -> tuple[str, ...]:
    """Anomaly types whose best single raw field reaches a ROC-AUC below ``cutoff``."""
    from anomaly_tutorial.data import single_field_separability

    table = single_field_separability(_events())
    return tuple(sorted(table.loc[table["best_auc"] < cutoff, "anomaly_type"]))


@exercise(
    "ocsf-1",
    hint=(
        "Keep Authentication events (class_uid 3002) with status_id 2 (Failure), count them per "
        "src_endpoint.ip and take the address with the largest count, as a string."
    ),
    why="A single address dominating failed logins is the classic brute-force signature.",
)
def _top_failed_login_source(answer: object) -> bool:
    return any(equals_text(answer, ip) for ip in top_failed_login_sources())


@exercise(
    "ocsf-2",
    hint=(
        "Convert `time` (epoch milliseconds, UTC) to a day of the week and count the events on "
        "Saturday and Sunday, as a fraction of all events."
    ),
    why=(
        "Two of seven days would be 0.286 with flat traffic; the weekly seasonality of the "
        "generator puts less than that on weekends."
    ),
)
def _weekend_share(answer: object) -> bool:
    return close_to(answer, weekend_share(), rtol=0.005)


@exercise(
    "ocsf-3",
    hint=(
        "Run single_field_separability on the events and keep the anomaly types whose "
        f"best_auc is below {SEPARABILITY_CUTOFF}; answer with a list of type names."
    ),
    why="These are the anomalies that need context, history or several fields at once.",
)
def _hard_types(answer: object) -> bool:
    return same_items(answer, hard_types())
