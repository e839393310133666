"""Causal per-entity window features: exact values, ties, missing entities, speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.features import DEFAULT_WINDOWS, WindowSpec, compute_windows

SPECS = (
    WindowSpec("ent", 300, "count", None, "n"),
    WindowSpec("ent", 300, "sum", "traffic.bytes_out", "bytes"),
    WindowSpec("ent", 300, "nunique", "val", "distinct"),
)


def brute_force(frame: pd.DataFrame, spec: WindowSpec) -> np.ndarray:
    """O(n^2) reference: same entity, time in (t - w, t], ties only from earlier rows."""
    t = frame["time"].to_numpy(dtype=np.int64)
    ent = frame[spec.entity].astype(object).to_numpy()
    w = spec.window_s * 1000
    out = np.zeros(len(frame))
    for i in range(len(frame)):
        if pd.isna(ent[i]):
            continue
        members = [
            j
            for j in range(len(frame))
            if not pd.isna(ent[j])
            and ent[j] == ent[i]
            and t[i] - w < t[j] <= t[i]
            and (t[j] < t[i] or j <= i)
        ]
        if spec.aggregate == "count":
            out[i] = len(members)
        elif spec.aggregate == "sum":
            vals = pd.to_numeric(frame[spec.value_column].astype(object), errors="coerce")
            out[i] = float(np.nansum(vals.to_numpy(dtype=float, na_value=np.nan)[members]))
        else:
            vals = frame[spec.value_column].astype(object).to_numpy()
            out[i] = len({vals[j] for j in members if not pd.isna(vals[j])})
    return out


def random_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ent = rng.choice(np.array(["a", "b", "c", None], dtype=object), size=n)
    val = rng.choice(np.array(["x", "y", "z", "w", None], dtype=object), size=n)
    bytes_out = pd.array(rng.integers(0, 1000, size=n), dtype="Int64")
    bytes_out[rng.random(n) < 0.2] = pd.NA
    return pd.DataFrame(
        {
            # unsorted, with many ties (10 s grid over 30 minutes)
            "time": (rng.integers(0, 180, size=n) * 10_000).astype(np.int64),
            "ent": ent,
            "val": val,
            "traffic.bytes_out": bytes_out,
        }
    )


def test_hand_computed_counts_and_open_left_edge() -> None:
    frame = pd.DataFrame(
        {
            "time": np.array([0, 100, 200, 300, 350, 120], dtype=np.int64) * 1000,
            "ent": ["A", "A", "A", "A", "A", "B"],
            "val": ["p1", "p2", "p1", "p3", "p3", "p1"],
            "traffic.bytes_out": [1, 2, 4, 8, 16, 32],
        }
    )
    out = compute_windows(frame, SPECS)
    # at t=300 the event at t=0 is exactly window_s old and is excluded: window is (t-300, t]
    np.testing.assert_array_equal(out[:, 0], [1, 2, 3, 3, 4, 1])
    np.testing.assert_array_equal(out[:, 1], [1, 3, 7, 14, 30, 32])
    np.testing.assert_array_equal(out[:, 2], [1, 2, 2, 3, 3, 1])


def test_ties_count_only_earlier_rows() -> None:
    frame = pd.DataFrame({"time": [5000, 5000, 5000], "ent": ["A"] * 3, "val": ["x", "y", "x"]})
    out = compute_windows(frame, (SPECS[0], SPECS[2]))
    np.testing.assert_array_equal(out[:, 0], [1, 2, 3])
    np.testing.assert_array_equal(out[:, 1], [1, 2, 2])


def test_missing_entity_gets_zero_and_is_not_counted() -> None:
    frame = pd.DataFrame({"time": [0, 1000, 2000], "ent": ["A", None, "A"], "val": ["x", "y", "z"]})
    out = compute_windows(frame, SPECS[:1])
    np.testing.assert_array_equal(out[:, 0], [1, 0, 2])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force_on_unsorted_input(seed: int) -> None:
    frame = random_frame(150, seed)
    out = compute_windows(frame, SPECS)
    for k, spec in enumerate(SPECS):
        np.testing.assert_allclose(out[:, k], brute_force(frame, spec), err_msg=spec.name)


def test_derived_indicators() -> None:
    frame = pd.DataFrame(
        {
            "time": np.array([0, 10, 20, 30, 200], dtype=np.int64) * 1000,
            "class_uid": [3002, 3002, 4002, 3002, 3002],
            "status_id": [2, 1, 2, 2, 2],
            "src_endpoint.ip": ["1.1.1.1"] * 5,
            "dst_endpoint.svc_name": ["api"] * 5,
            "http_response.code": pd.array([pd.NA, 503, 500, 404, pd.NA], dtype="Int64"),
        }
    )
    specs = {s.name: s for s in DEFAULT_WINDOWS}
    out = compute_windows(frame, [specs["src_ip_failed_auth_300s"], specs["svc_5xx_60s"]])
    np.testing.assert_array_equal(out[:, 0], [1, 1, 1, 2, 3])  # class 3002 and status 2 only
    np.testing.assert_array_equal(out[:, 1], [0, 1, 2, 2, 0])  # 5xx within 60 s


def test_history_gives_context_and_matches_concatenation() -> None:
    frame = random_frame(200, 3).sort_values("time", kind="stable").reset_index(drop=True)
    past, present = frame.iloc[:100], frame.iloc[100:]
    together = compute_windows(frame, SPECS)[100:]
    alone = compute_windows(present, SPECS)
    # the edge effect: without the past, early windows of the present are too small
    assert (alone[:, 0] <= together[:, 0]).all() and (alone[:, 0] < together[:, 0]).any()
    concatenated = compute_windows(pd.concat([past, present], ignore_index=True), SPECS)
    np.testing.assert_array_equal(concatenated[100:], together)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (WindowSpec("ent", 300, "median", "val", "x"), "aggregate"),
        (WindowSpec("ent", 0, "count", None, "x"), "window_s"),
        (WindowSpec("ent", 300, "sum", None, "x"), "value_column"),
        (WindowSpec("ent", 300, "count", None, ""), "name"),
    ],
)
def test_invalid_specs_raise(spec: WindowSpec, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        compute_windows(random_frame(5, 0), [spec])


def test_default_windows_are_fast_on_100k_events() -> None:
    n = 100_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "time": np.sort(rng.integers(0, 7 * 86_400_000, size=n)).astype(np.int64),
            "class_uid": rng.choice([3002, 4001, 4002], size=n),
            "status_id": rng.choice([1, 2], size=n),
            "src_endpoint.ip": rng.choice([f"10.0.{i // 256}.{i % 256}" for i in range(2000)], n),
            "actor.user.name": rng.choice([f"u{i}" for i in range(500)], size=n),
            "dst_endpoint.port": rng.choice([22, 80, 443, 5432, 8080], size=n),
            "src_endpoint.location.country": rng.choice(["US", "DE", "FR", "BR"], size=n),
            "traffic.bytes_out": rng.integers(0, 10**6, size=n),
            "dst_endpoint.svc_name": rng.choice(["api", "web", "db"], size=n),
            "http_response.code": rng.choice([200, 404, 500, 503], size=n),
        }
    )
    start = time.perf_counter()
    out = compute_windows(frame, DEFAULT_WINDOWS)
    elapsed = time.perf_counter() - start
    assert out.shape == (n, len(DEFAULT_WINDOWS))
    assert elapsed < 10.0, f"default windows on 100k events took {elapsed:.1f} s"
