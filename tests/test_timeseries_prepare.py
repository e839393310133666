"""Tests of the preparation helper (anomaly_tutorial.timeseries.prepare)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_tutorial.timeseries import (
    GlobalZScoreDetector,
    RollingZScoreDetector,
    make_seasonal_series,
    prepare_series,
)

MIN = 60_000


def _raw(times_min: list[int], values: list[float]) -> pd.Series:
    return pd.Series(values, index=np.asarray(times_min, dtype=np.int64) * MIN, name="cpu")


def test_sorts_averages_repeats_and_marks_gaps() -> None:
    # minute 2 repeated (a daylight-saving hour, say), minute 1 arrives late, minute 4 missing
    raw = _raw([0, 2, 2, 1, 3, 5], [1.0, 4.0, 6.0, 2.0, 3.0, 5.0])
    out, report = prepare_series(raw, return_report=True)
    assert isinstance(out.index, pd.DatetimeIndex) and str(out.index.tz) == "UTC"
    assert out.name == "cpu"
    np.testing.assert_array_equal(out.to_numpy(), [1.0, 2.0, 5.0, 3.0, np.nan, 5.0])
    assert np.all(np.diff(out.index.as_unit("ms").asi8) == MIN)
    assert (report.n_input, report.n_repeated, report.n_out_of_order, report.n_missing) == (
        6,
        1,
        1,
        1,
    )
    assert report.step_ms == MIN


def test_sum_for_counters_and_explicit_step() -> None:
    raw = _raw([0, 0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0, 5.0])
    out = prepare_series(raw, aggregate="sum", step="2min")
    np.testing.assert_array_equal(out.to_numpy(), [6.0, 9.0])  # buckets [0, 2) and [2, 4)


def test_explicit_unit_reads_epoch_seconds() -> None:
    seconds = pd.Series(
        [1.0, 2.0, 3.0], index=np.array([1_700_000_000, 1_700_000_300, 1_700_000_600])
    )
    out = prepare_series(seconds, unit="s")
    assert out.index[0] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    assert out.index.freq is None and len(out) == 3


def test_repeated_timestamps_accepted_after_preparation() -> None:
    s = make_seasonal_series(600, seed=2)
    repeated = pd.concat([s.iloc[:300], s.iloc[290:310], s.iloc[300:]])  # ten repeated times
    with pytest.raises(ValueError, match=r"goes backwards.*prepare_series"):
        GlobalZScoreDetector().fit(repeated)
    prepared = prepare_series(repeated)
    assert len(prepared) == len(s) and not prepared.isna().any()
    det = RollingZScoreDetector(window=24).fit(prepared.iloc[:400])
    assert np.isfinite(det.score_samples(prepared.iloc[400:])).all()


def test_dataframe_keeps_columns() -> None:
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0], "b": [4.0, np.nan, 6.0]}, index=np.array([0, 2, 1]) * MIN
    )
    out = prepare_series(frame)
    assert list(out.columns) == ["a", "b"]
    np.testing.assert_array_equal(out["a"].to_numpy(), [1.0, 3.0, 2.0])
    assert np.isnan(out["b"].iloc[2])


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (
            lambda: prepare_series(_raw([0, 1], [1.0, 2.0]), aggregate="median"),
            ValueError,
            "aggregate must be one of",
        ),
        (
            lambda: prepare_series(_raw([0, 1], [1.0, 2.0]), unit="h"),
            ValueError,
            "unit must be one of",
        ),
        (
            lambda: prepare_series(_raw([0, 0], [1.0, 2.0])),
            ValueError,
            "fewer than two distinct times",
        ),
        (
            lambda: prepare_series(pd.Series([1.0, 2.0], index=pd.Index([0.0, np.nan]))),
            ValueError,
            r"1 missing timestamps \(positions \[1\]\)",
        ),
        (
            lambda: prepare_series(pd.Series(["a", "b"], index=[0, MIN])),
            TypeError,
            "column 'value' has dtype",
        ),
        (lambda: prepare_series([1.0, 2.0]), TypeError, "pandas Series or DataFrame"),
        (
            lambda: prepare_series(pd.Series([1.0], index=[10**18]), unit="s"),
            ValueError,
            "beyond the year 5000",
        ),
    ],
    ids=["aggregate", "unit", "one-time", "missing-time", "text", "list", "huge-time"],
)
def test_bad_input(make, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        make()
