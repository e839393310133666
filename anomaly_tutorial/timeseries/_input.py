"""Validation of metric time series given to the detectors.

Every detector in :mod:`anomaly_tutorial.timeseries` accepts a :class:`pandas.Series` (one metric)
or a :class:`pandas.DataFrame` (several metrics, one column each) indexed by time. The time index
is either a :class:`pandas.DatetimeIndex` or integers holding epoch milliseconds (the convention
of :mod:`anomaly_tutorial.data`). This module turns such input into a float matrix plus int64
epoch-millisecond times, and raises a clear error for anything it cannot use:

* NaN values are *missing* points: they are kept (the detectors skip them and give them a NaN
  score); infinite values are refused;
* an integer index whose values look like epoch **seconds** (or micro- / nanoseconds) is
  refused, with the unit that was expected; :func:`~anomaly_tutorial.timeseries.prepare_series`
  takes an explicit ``unit``;
* a missing timestamp (``NaT``, or ``<NA>`` in a nullable integer index) is refused with its
  positions;
* values whose magnitude exceeds :data:`MAX_ABS_VALUE` are refused: squaring them overflows, so
  every spread-based score would be inf or NaN;
* repeated or decreasing timestamps are refused with the position;
  :func:`~anomaly_tutorial.timeseries.prepare_series` sorts and aggregates them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MAX_ABS_VALUE", "SeriesFrame", "as_series_frame", "to_epoch_ms"]

#: Largest accepted magnitude of a metric value: a sum of squares of values above ~1e154
#: overflows float64, so z-scores of such values would silently be inf or NaN.
MAX_ABS_VALUE = 1e150

# Integer times in [1e8, 1e11) read as epoch ms fall in 1970-01-02 .. 1973-03; read as epoch
# seconds they are 1973 .. 5138: almost certainly seconds. Above 1e14 ms (year 5138) they are
# micro- or nanoseconds. Below 1e8 they are accepted as relative milliseconds.
_SECONDS_LIKE = (10**8, 10**11)
_TOO_LARGE_MS = 10**14


@dataclass(frozen=True)
class SeriesFrame:
    """Validated metric series.

    Attributes
    ----------
    values : ndarray of shape (n_points, n_features)
        The metric values as float64; NaN marks a missing value.
    times : ndarray of shape (n_points,)
        Epoch milliseconds (int64), strictly increasing.
    columns : list of str
        One name per feature.
    index : pandas.Index
        The original index, kept so results can be returned aligned with the input.
    """

    values: np.ndarray
    times: np.ndarray
    columns: list[str]
    index: pd.Index

    @property
    def n_points(self) -> int:
        """Number of time points."""
        return int(self.values.shape[0])


def _examples(labels: pd.Index | np.ndarray, limit: int = 3) -> str:
    return ", ".join(str(v) for v in list(labels[:limit]))


def to_epoch_ms(index: pd.Index, name: str = "X") -> np.ndarray:
    """Convert a time index to int64 epoch milliseconds.

    Parameters
    ----------
    index : pandas.Index
        A DatetimeIndex (naive values are read as UTC) or an integer index of epoch milliseconds.
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray of int64
    """
    if isinstance(index, pd.DatetimeIndex):
        if index.hasnans:
            bad = np.flatnonzero(index.isna())
            raise ValueError(
                f"{name}: the time index has {bad.size} missing timestamps "
                f"(positions {_examples(bad)})"
            )
        utc = index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")
        return (utc.as_unit("ms").asi8).astype(np.int64)
    if pd.api.types.is_integer_dtype(index.dtype):
        if index.hasnans:
            bad = np.flatnonzero(index.isna())
            raise ValueError(
                f"{name}: the time index has {bad.size} missing timestamps <NA> "
                f"(positions {_examples(bad)}); drop or fill those rows first"
            )
        times = np.asarray(index, dtype=np.int64)
        _check_ms_range(times, name)
        return times
    raise TypeError(
        f"{name}: the index must be a DatetimeIndex or integer epoch milliseconds, "
        f"got an index of dtype {index.dtype}"
    )


def _check_ms_range(times: np.ndarray, name: str) -> None:
    if times.size == 0:
        return
    low, high = int(times.min()), int(times.max())
    if _SECONDS_LIKE[0] <= low and high < _SECONDS_LIKE[1]:
        raise ValueError(
            f"{name}: the integer time index ({low} .. {high}) looks like epoch seconds; "
            f"expected epoch milliseconds. Multiply by 1000, pass a DatetimeIndex, or use "
            f"prepare_series(X, unit='s')"
        )
    if max(abs(low), abs(high)) >= _TOO_LARGE_MS:
        raise ValueError(
            f"{name}: the integer time index ({low} .. {high}) is beyond the year 5000 as epoch "
            f"milliseconds (the expected unit); it looks like micro- or nanoseconds: divide it, "
            f"pass a DatetimeIndex, or use prepare_series(X, unit='us' or 'ns')"
        )


def as_series_frame(X: pd.Series | pd.DataFrame, name: str = "X") -> SeriesFrame:
    """Validate a metric series (or several) and return it as a :class:`SeriesFrame`.

    Parameters
    ----------
    X : pandas.Series or pandas.DataFrame
        Numeric values indexed by time (DatetimeIndex or int epoch ms), strictly increasing.
        NaN marks a missing value.
    name : str
        Argument name used in error messages.

    Returns
    -------
    SeriesFrame

    Raises
    ------
    TypeError
        If ``X`` is not a pandas object, a column is not numeric, or the index is not a time index.
    ValueError
        If ``X`` is empty, holds infinite or huge values, has missing timestamps, integer
        times in another unit than milliseconds, or times that repeat or go backwards.
    """
    if isinstance(X, pd.Series):
        col = str(X.name) if X.name is not None else "value"
        frame = X.to_frame(name=col)
    elif isinstance(X, pd.DataFrame):
        frame = X
    else:
        raise TypeError(
            f"{name}: expected a pandas Series or DataFrame indexed by time, got "
            f"{type(X).__name__}; wrap arrays as pd.Series(values, index=times)"
        )
    if frame.shape[0] == 0:
        raise ValueError(f"{name}: the series is empty")
    if frame.shape[1] == 0:
        raise ValueError(f"{name}: the frame has no columns")
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise ValueError(f"{name}: duplicate column names {columns}")
    for col, dtype in zip(columns, frame.dtypes, strict=True):
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            raise TypeError(f"{name}: column '{col}' has dtype {dtype}; metrics must be numeric")
    times = to_epoch_ms(frame.index, name)
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    for j, col in enumerate(columns):
        bad = np.flatnonzero(np.isinf(values[:, j]))
        if bad.size:
            raise ValueError(
                f"{name}: column '{col}': {bad.size} values are infinite (first at time "
                f"{_examples(frame.index[bad])}); replace them with NaN (missing) or a number"
            )
        with np.errstate(invalid="ignore"):
            huge = np.flatnonzero(np.abs(values[:, j]) > MAX_ABS_VALUE)
        if huge.size:
            raise ValueError(
                f"{name}: column '{col}': {huge.size} values exceed {MAX_ABS_VALUE:g} in "
                f"magnitude (first {values[huge[0], j]:g} at time {_examples(frame.index[huge])}); "
                f"their squares overflow, so rescale the metric (divide it by a power of ten)"
            )
        if np.isnan(values[:, j]).all():
            raise ValueError(f"{name}: column '{col}': every value is missing (NaN)")
    steps = np.diff(times)
    if steps.size and np.any(steps <= 0):
        first = int(np.flatnonzero(steps <= 0)[0])
        problem = "repeats" if steps[first] == 0 else "goes backwards"
        raise ValueError(
            f"{name}: the time index must be strictly increasing, but it {problem} at position "
            f"{first + 1} ({frame.index[first]} -> {frame.index[first + 1]}); "
            f"ts.prepare_series(X) sorts it and aggregates repeated timestamps"
        )
    return SeriesFrame(values=values, times=times, columns=columns, index=frame.index)
