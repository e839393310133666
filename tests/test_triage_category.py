"""Category features and the category tree on hand-made alerts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial import ocsf
from anomaly_tutorial.triage import CategoryClassifier, category_features, tune_category_depth


def _alerts(n: int = 40) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Half failed logins in bursts (brute force), half huge downloads (exfiltration)."""
    rng = np.random.default_rng(0)
    half = n // 2
    events = pd.DataFrame(
        {
            "class_uid": [ocsf.AUTHENTICATION] * half + [ocsf.HTTP_ACTIVITY] * half,
            "status_id": [2] * half + [1] * half,
            "traffic.bytes_out": [np.nan] * half + list(rng.uniform(1e7, 1e8, half)),
            "duration": rng.uniform(10, 100, n),
            "http_response.code": [None] * half + [200] * half,
        }
    )
    deviations = pd.DataFrame({"global:traffic.bytes_out": [0.0] * half + [4.0] * half})
    burst = np.array([30] * half + [0] * half)
    labels = np.array(["brute_force"] * half + ["data_exfiltration"] * half, dtype=object)
    return events, category_features(events, deviations, burst, np.ones(n, bool)), labels


def test_features_are_readable_and_finite():
    _, X, _ = _alerts()
    assert {"failed", "burst", "http_5xx", "log_bytes_out", "global:traffic.bytes_out"} <= set(
        X.columns
    )
    assert np.isfinite(X.to_numpy()).all()
    assert X["log_bytes_out"].iloc[0] < 0  # "not applicable" for a login


def test_tree_separates_hand_made_categories_and_prints_rules():
    _, X, y = _alerts()
    model, table = tune_category_depth(X, y, X, y, depths=(1, 2))
    assert (model.predict(X) == y).all()
    assert table["validation macro-F1"].max() == 1.0
    assert "class:" in model.rules()


def test_bad_input():
    events, X, y = _alerts()
    with pytest.raises(ValueError, match=r"missing columns \['status_id'\]"):
        category_features(
            events.drop(columns="status_id"), X.iloc[:, :1], np.zeros(40), np.zeros(40)
        )
    with pytest.raises(ValueError, match=r"burst: expected one value per event \(40\)"):
        category_features(events, X.iloc[:, :1], np.zeros(3), np.zeros(40))
    with pytest.raises(ValueError, match="same index"):
        category_features(events, X.iloc[:3], np.zeros(40), np.zeros(40))
    bad = X.copy()
    bad.iloc[3, 0] = np.nan
    with pytest.raises(ValueError, match="has nan at row 3"):
        CategoryClassifier().fit(bad, y)
    with pytest.raises(ValueError, match="expected 40 labels, got 2"):
        CategoryClassifier().fit(X, y[:2])
    model = CategoryClassifier().fit(X, y)
    with pytest.raises(ValueError, match="columns differ"):
        model.predict(X.iloc[:, ::-1])
