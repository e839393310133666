"""Exercises of the chapter "Feature engineering" (``book/feature_engineering.md``).

Every expected answer is computed here with the package's own functions on the book's default
dataset and the book's split (``data.book_split``), never typed in, and never printed.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from anomaly_tutorial.exercises.registry import close_to, exercise

#: Exercise features-1: the user name and the number of buckets.
HASH_USER = "u0042"
HASH_BUCKETS = 16

#: Exercise features-3: the window feature and the anomaly type of the incident.
WINDOW_NAME = "src_ip_failed_auth_300s"
WINDOW_TYPE = "brute_force"


def _split():
    """The chapter's periods: (train, every event before the test period, test)."""
    import pandas as pd

    from anomaly_tutorial.data import book_split, default_dataset

    train, validation, test = book_split().split(default_dataset().events)
    return train, pd.concat([train, validation], ignore_index=True), test


def hash_bucket() -> int:
    """Stable-hash bucket of :data:`HASH_USER` among :data:`HASH_BUCKETS` buckets."""
    from anomaly_tutorial.features import hash_buckets

    return int(hash_buckets([HASH_USER], HASH_BUCKETS)[0])


@cache
def unseen_test_ports() -> int:
    """Test events whose ``dst_endpoint.port`` never occurs in the training period."""
    from anomaly_tutorial.features import OCSFFeaturizer

    train, _, test = _split()
    featurizer = OCSFFeaturizer(windows=()).fit(train)
    return int(featurizer.count_unknown(test)["dst_endpoint.port"])


@cache
def first_incident_window_max() -> float:
    """Largest causal :data:`WINDOW_NAME` value among the events of the first test incident
    of type :data:`WINDOW_TYPE`, with every earlier event as history."""
    import pandas as pd

    from anomaly_tutorial.features import DEFAULT_WINDOWS, compute_windows

    _, before_test, test = _split()
    spec = next(s for s in DEFAULT_WINDOWS if s.name == WINDOW_NAME)
    both = pd.concat([before_test, test], ignore_index=True)
    values = compute_windows(both, [spec])[len(before_test) :, 0]
    of_type = (test["anomaly_type"] == WINDOW_TYPE).to_numpy(dtype=bool)
    first = test.loc[of_type, "incident_id"].iloc[0]
    in_incident = (test["incident_id"] == first).fillna(False).to_numpy(dtype=bool)
    return float(np.max(values[in_incident]))


@exercise(
    "features-1",
    hint=(
        "Use anomaly_tutorial.features.hash_buckets on a list with the one user name and the "
        "number of buckets; the answer is an integer between 0 and 15."
    ),
    why=(
        "BLAKE2b depends only on the bytes of the name, so every process, machine and run "
        "puts this user into the same bucket; Python's hash() would not."
    ),
)
def _hash_bucket(answer: object) -> bool:
    return close_to(answer, hash_bucket())


@exercise(
    "features-2",
    hint=(
        "Fit an OCSFFeaturizer (windows=() is enough) on the training period only and call "
        "count_unknown on the test period; read the entry of dst_endpoint.port."
    ),
    why=(
        "Ports never seen in training are what a port scan produces; a featurizer fitted on "
        "all data would have counted none of them as unknown."
    ),
)
def _unseen_test_ports(answer: object) -> bool:
    return close_to(answer, unseen_test_ports())


@exercise(
    "features-3",
    hint=(
        "Compute the causal window src_ip_failed_auth_300s for the test period with every "
        "earlier event as history (compute_windows on both frames concatenated, then keep "
        "the test rows), select the first brute_force incident of the test period and take "
        "the maximum."
    ),
    why="A causal count only grows while the attack goes on: its peak is at the last attempt.",
)
def _first_incident_window_max(answer: object) -> bool:
    return close_to(answer, first_incident_window_max())
