"""Tests of anomaly_tutorial.plotting on small hand-made frames."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.plotting import incident_timeline, trace_waterfall, type_colours

HOUR_MS = 3_600_000
T0 = 1_772_409_600_000  # 2026-03-02 00:00 UTC


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _spans() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trace_id": ["a", "a", "a", "b"],
            "span_id": ["r", "c2", "c1", "x"],
            "parent_span_id": pd.array([None, "r", "r", None], dtype="string"),
            "service": ["orders", "postgres", "inventory", "auth"],
            "operation": ["POST /api/orders", "insert_order", "reserve", "GET /api/auth/me"],
            "start_time": [T0, T0 + 50, T0 + 2, T0 + 9],
            "duration_ms": [80.0, 20.0, 15.0, 5.0],
        }
    )


def _incidents() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "anomaly_type": ["brute_force", "port_scan", "brute_force"],
            "start_time": [T0, T0 + 5 * HOUR_MS, T0 + 10 * HOUR_MS],
            "end_time": [T0 + 2 * HOUR_MS, T0 + 5 * HOUR_MS, T0 + 11 * HOUR_MS],
        }
    )


def test_trace_waterfall_draws_spans_of_one_trace_in_start_order() -> None:
    ax = trace_waterfall(_spans(), "a")
    bars = ax.patches
    assert len(bars) == 3
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["orders: POST /api/orders", "inventory: reserve", "postgres: insert_order"]
    assert [b.get_x() for b in bars] == [0.0, 2.0, 50.0]
    assert [b.get_width() for b in bars] == [80.0, 15.0, 20.0]
    root, child = bars[0].get_facecolor(), bars[1].get_facecolor()
    assert root != child


def test_trace_waterfall_unknown_trace_and_missing_column() -> None:
    with pytest.raises(ValueError, match="no span has trace_id 'zzz'"):
        trace_waterfall(_spans(), "zzz")
    with pytest.raises(ValueError, match="duration_ms"):
        trace_waterfall(_spans().drop(columns="duration_ms"), "a")


def test_incident_timeline_rows_widths_and_colours() -> None:
    ax = incident_timeline(_incidents(), ["port_scan", "brute_force", "memory_leak"])
    bars = ax.patches
    assert len(bars) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "port_scan",
        "brute_force",
        "memory_leak",
    ]
    rows = sorted(round(b.get_y() + b.get_height() / 2) for b in bars)
    assert rows == [0, 1, 1]
    widths_days = sorted(b.get_width() for b in bars)
    # matplotlib date units are days: 40 min minimum, 1 h and 2 h incidents
    assert np.allclose(widths_days, [40 / 1440, 1 / 24, 2 / 24])
    colours = {b.get_y(): b.get_facecolor() for b in bars}
    assert len(set(colours.values())) == 2


def test_incident_timeline_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="not in types"):
        incident_timeline(_incidents(), ["port_scan"])
    backwards = _incidents()
    backwards.loc[1, "end_time"] = T0
    with pytest.raises(ValueError, match="end_time < start_time in rows \\[1\\]"):
        incident_timeline(backwards)
    with pytest.raises(ValueError, match="anomaly_type"):
        incident_timeline(_incidents().drop(columns="anomaly_type"))


def test_type_colours_distinct_and_checked() -> None:
    colours = type_colours([f"t{i}" for i in range(13)])
    assert len(set(colours.values())) == 13
    with pytest.raises(ValueError, match="duplicates"):
        type_colours(["a", "a"])
