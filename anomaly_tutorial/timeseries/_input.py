"""Validation of metric time series given to the detectors.

Every detector in :mod:`anomaly_tutorial.timeseries` accepts a :class:`pandas.Series` (one metric)
or a :class:`pandas.DataFrame` (several metrics, one column each) indexed by time. The time index
is either a :class:`pandas.DatetimeIndex` or integers holding epoch milliseconds (the convention
of :mod:`anomaly_tutorial.data`). This module turns such input into a float matrix plus int64
epoch-millisecond times, and raises a clear error for anything it cannot use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SeriesFrame", "as_series_frame", "to_epoch_ms"]


@dataclass(frozen=True)
class SeriesFrame:
    """Validated metric series.

    Attributes
    ----------
    values : ndarray of shape (n_points, n_features)
        The metric values as float64.
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
        return np.asarray(index, dtype=np.int64)
    raise TypeError(
        f"{name}: the index must be a DatetimeIndex or integer epoch milliseconds, "
        f"got an index of dtype {index.dtype}"
    )


def as_series_frame(X: pd.Series | pd.DataFrame, name: str = "X") -> SeriesFrame:
    """Validate a metric series (or several) and return it as a :class:`SeriesFrame`.

    Parameters
    ----------
    X : pandas.Series or pandas.DataFrame
        Numeric values indexed by time (DatetimeIndex or int epoch ms), strictly increasing.
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
        If ``X`` is empty, holds NaN or infinite values, or its times repeat or go backwards.
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
        bad = np.flatnonzero(~np.isfinite(values[:, j]))
        if bad.size:
            kind = "NaN" if np.isnan(values[bad[0], j]) else "infinite"
            raise ValueError(
                f"{name}: column '{col}': {bad.size} values are NaN or infinite (first {kind} at "
                f"time {_examples(frame.index[bad])}); fill or drop them explicitly first"
            )
    steps = np.diff(times)
    if steps.size and np.any(steps <= 0):
        first = int(np.flatnonzero(steps <= 0)[0])
        problem = "repeats" if steps[first] == 0 else "goes backwards"
        raise ValueError(
            f"{name}: the time index must be strictly increasing, but it {problem} at position "
            f"{first + 1} ({frame.index[first]} -> {frame.index[first + 1]}); sort it and "
            f"aggregate duplicate timestamps first"
        )
    return SeriesFrame(values=values, times=times, columns=columns, index=frame.index)
