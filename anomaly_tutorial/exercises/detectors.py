"""Exercises of the chapter "Density, tree and distance methods" (``book/detectors.md``).

Expected answers are computed here with package functions on deterministic data, never typed
in, and never printed.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from anomaly_tutorial.exercises.registry import close_to, exercise, same_items

#: Exercise detectors-2: eps values tried and the noise share to get under.
EPS_GRID = tuple(float(e) for e in np.round(np.arange(0.1, 1.55, 0.1), 2))
NOISE_LIMIT = 0.10
#: Exercise detectors-3: contamination of the Isolation Forest and the recall cut-off.
IFOREST_CONTAMINATION = 0.02
RECALL_CUTOFF = 0.9


@cache
def chi2_flag_share() -> float:
    """Share of 10,000 standard-normal 3-D rows above the 99 % chi-square threshold."""
    from anomaly_tutorial.detectors import MahalanobisDetector, chi2_threshold

    Z = np.random.default_rng(0).normal(size=(10_000, 3))
    det = MahalanobisDetector(covariance="empirical", threshold=chi2_threshold(3, 0.99))
    return float(det.fit(Z).predict(Z).mean())


@cache
def smallest_quiet_eps() -> float:
    """Smallest eps of :data:`EPS_GRID` with DBSCAN noise share under :data:`NOISE_LIMIT`."""
    from anomaly_tutorial.detectors import DBSCANDetector, toy_data

    X, _ = toy_data(n=300, seed=0)
    for eps in EPS_GRID:
        try:
            det = DBSCANDetector(eps=eps, min_samples=5).fit(X)
        except ValueError:
            continue
        if float((det.labels_ == -1).mean()) < NOISE_LIMIT:
            return eps
    return float("nan")


@cache
def well_caught_types() -> tuple[str, ...]:
    """Anomaly types with test recall >= 0.9 under an Isolation Forest (contamination 0.02)."""
    import pandas as pd

    from anomaly_tutorial.data import book_split, default_dataset
    from anomaly_tutorial.detectors import IsolationForestDetector
    from anomaly_tutorial.evaluate import recall_by_type
    from anomaly_tutorial.features import OCSFFeaturizer

    # The chapter's split: the book's periods; the validation days are the test windows'
    # history (the longest window spans an hour, far less than the two validation days).
    train, validation, test = book_split().split(default_dataset().events)
    featurizer = OCSFFeaturizer().fit(train)
    det = IsolationForestDetector(contamination=IFOREST_CONTAMINATION)
    det.fit(featurizer.transform(train))
    X_test = featurizer.transform(test, history=validation)
    alerts = pd.Series(det.predict(X_test) == 1, index=test["event_id"])
    per_type = recall_by_type(
        alerts, test[["event_id", "is_anomaly", "anomaly_type", "incident_id"]]
    )
    return tuple(sorted(str(t) for t in per_type.index[per_type["recall"] >= RECALL_CUTOFF]))


@exercise(
    "detectors-1",
    hint=(
        "Fit the detector on the 10,000 rows themselves and average predict(Z): a number "
        "between 0 and 1."
    ),
    why="On Gaussian data the squared Mahalanobis distance is chi-square with d dof.",
)
def _chi2_share(answer: object) -> bool:
    return close_to(answer, chi2_flag_share(), rtol=1e-6, atol=1e-9)


@exercise(
    "detectors-2",
    hint=(
        "Loop over eps = 0.1, 0.2, ..., 1.5 (round them), skip values where fit raises "
        "ValueError (no core sample) and stop at the first eps whose share of labels_ == -1 is "
        "below 0.10."
    ),
    why="A factor of a few in eps takes DBSCAN from 'all noise' to 'no noise'.",
)
def _dbscan_eps(answer: object) -> bool:
    return close_to(answer, smallest_quiet_eps(), rtol=0.0, atol=1e-6)


@exercise(
    "detectors-3",
    hint=(
        "Fit IsolationForestDetector(contamination=0.02) on X_train, flag X_test with predict, "
        "run recall_by_type on the alerts (a Series indexed by event_id) and list the types "
        "whose recall is at least 0.9."
    ),
    why="Isolation Forest catches what is globally rare in single events, not slow campaigns.",
)
def _well_caught(answer: object) -> bool:
    return same_items(answer, well_caught_types())
