"""Preparing a raw metric series for the detectors: order, one value per time, a regular step.

Real metric exports are rarely what a detector expects. A daylight-saving change repeats an
hour of local timestamps, a collector restart sends a batch out of order, a scrape fails and
leaves a hole. :func:`prepare_series` turns such a series into the form every detector of
:mod:`anomaly_tutorial.timeseries` accepts, and says what it did:

1. **times** in an explicit ``unit`` (integer index) or a DatetimeIndex become UTC times;
2. **sort** by time (stable, so the order of repeated timestamps is kept);
3. **aggregate** the values of a repeated timestamp (``"mean"``, ``"sum"`` for counters such
   as request counts, ``"last"``, ``"max"``, ``"min"``);
4. **resample** to a regular step (the median spacing unless ``step`` is given) starting at the
   first time ``t0``: each value is put in the bucket ``floor((t - t0) / step)``; several
   values in one bucket are aggregated the same way;
5. **mark gaps as missing**: a bucket with no value gets NaN. The detectors skip NaN points
   (their score is NaN and ``predict`` gives 0), so a gap never raises and never invents data.

Public objects: :func:`prepare_series`, :class:`PreparationReport`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["AGGREGATIONS", "PreparationReport", "prepare_series"]

AGGREGATIONS = ("mean", "sum", "last", "max", "min")
_UNITS = {"s": 1000, "ms": 1, "us": 1e-3, "ns": 1e-6}


@dataclass(frozen=True)
class PreparationReport:
    """What :func:`prepare_series` changed.

    Attributes
    ----------
    n_input : int
        Rows given.
    n_out_of_order : int
        Rows whose time was earlier than the time of the row before them.
    n_repeated : int
        Rows whose timestamp (after bucketing to ``step``) another row already had; their
        values were aggregated, not dropped.
    n_missing : int
        Buckets of the regular grid with no value (NaN in the output).
    step_ms : int
        The regular step of the output, in milliseconds.
    """

    n_input: int
    n_out_of_order: int
    n_repeated: int
    n_missing: int
    step_ms: int


def _times_ms(index: pd.Index, unit: str) -> np.ndarray:
    if isinstance(index, pd.DatetimeIndex):
        if index.hasnans:
            bad = np.flatnonzero(index.isna())
            raise ValueError(
                f"X: the time index has {bad.size} missing timestamps "
                f"(positions {bad[:3].tolist()})"
            )
        utc = index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")
        return utc.as_unit("ms").asi8.astype(np.int64)
    if pd.api.types.is_integer_dtype(index.dtype) or pd.api.types.is_float_dtype(index.dtype):
        if index.hasnans:
            bad = np.flatnonzero(index.isna())
            raise ValueError(
                f"X: the time index has {bad.size} missing timestamps "
                f"(positions {bad[:3].tolist()})"
            )
        raw = np.asarray(index, dtype=np.float64)
        if not np.isfinite(raw).all():
            bad = np.flatnonzero(~np.isfinite(raw))
            raise ValueError(f"X: the time index is infinite at positions {bad[:3].tolist()}")
        ms = raw * _UNITS[unit]
        if np.abs(ms).max() >= 1e14:
            raise ValueError(
                f"X: times up to {raw.max():g} in unit {unit!r} are beyond the year 5000; "
                f"pass the unit they are in (one of {sorted(_UNITS)})"
            )
        return np.floor(ms).astype(np.int64)
    raise TypeError(
        f"X: the index must be a DatetimeIndex or numbers of {unit!r}, got dtype {index.dtype}"
    )


def prepare_series(
    X: pd.Series | pd.DataFrame,
    *,
    step: str | pd.Timedelta | None = None,
    aggregate: str = "mean",
    unit: str = "ms",
    return_report: bool = False,
) -> pd.Series | pd.DataFrame | tuple[pd.Series | pd.DataFrame, PreparationReport]:
    """Sort, aggregate repeated timestamps, resample to a regular step and mark gaps as NaN.

    Parameters
    ----------
    X : pandas.Series or pandas.DataFrame
        Numeric values indexed by time: a DatetimeIndex (naive = UTC) or numbers in ``unit``.
    step : str, pandas.Timedelta or None
        The output's regular step (``"5min"``). ``None`` takes the median spacing of the
        distinct input times.
    aggregate : {"mean", "sum", "last", "max", "min"}
        How the values of one time bucket are combined: ``"mean"`` for gauges (CPU, latency),
        ``"sum"`` for counts per interval (requests).
    unit : {"s", "ms", "us", "ns"}
        Unit of an integer or float time index (ignored for a DatetimeIndex).
    return_report : bool
        Also return a :class:`PreparationReport`.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Same type and columns as ``X``, indexed by a regular UTC DatetimeIndex named ``time``;
        NaN where a bucket had no value. With ``return_report``, a ``(series, report)`` tuple.

    Raises
    ------
    ValueError
        On an unknown ``aggregate`` / ``unit``, a non-positive ``step``, missing or infinite
        timestamps, or fewer than two distinct times when ``step`` is None.
    """
    if aggregate not in AGGREGATIONS:
        raise ValueError(f"aggregate must be one of {AGGREGATIONS}, got {aggregate!r}")
    if unit not in _UNITS:
        raise ValueError(f"unit must be one of {sorted(_UNITS)}, got {unit!r}")
    if isinstance(X, pd.Series):
        frame, name = X.to_frame(name=X.name if X.name is not None else "value"), X.name
    elif isinstance(X, pd.DataFrame):
        frame, name = X, None
    else:
        raise TypeError(f"X: expected a pandas Series or DataFrame, got {type(X).__name__}")
    if frame.shape[0] == 0:
        raise ValueError("X: the series is empty")
    for col, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            raise TypeError(f"X: column '{col}' has dtype {dtype}; metrics must be numeric")
    times = _times_ms(frame.index, unit)
    if step is None:
        distinct = np.unique(times)
        if distinct.size < 2:
            raise ValueError("X: fewer than two distinct times; pass step= explicitly")
        step_ms = int(np.median(np.diff(distinct)))
    else:
        step_ms = int(pd.Timedelta(step) / pd.Timedelta(milliseconds=1))
    if step_ms <= 0:
        raise ValueError(f"step must be positive, got {step!r}")
    n_out_of_order = int((np.diff(times) < 0).sum())
    origin = int(times.min())  # the grid starts at the first time, so aligned input stays put
    buckets = np.floor_divide(times - origin, step_ms)
    values = frame.reset_index(drop=True).astype(np.float64)
    grouped = values.groupby(buckets, sort=True)
    # "sum" of a bucket whose values are all missing stays missing (min_count=1)
    agg = grouped.sum(min_count=1) if aggregate == "sum" else getattr(grouped, aggregate)()
    grid = np.arange(buckets.min(), buckets.max() + 1, dtype=np.int64)
    out = agg.reindex(grid)
    out.index = pd.DatetimeIndex(
        pd.to_datetime(origin + grid * step_ms, unit="ms", utc=True), name="time"
    )
    report = PreparationReport(
        n_input=int(frame.shape[0]),
        n_out_of_order=n_out_of_order,
        n_repeated=int(frame.shape[0] - np.unique(buckets).size),
        n_missing=int(len(grid) - len(agg)),
        step_ms=step_ms,
    )
    result = out.iloc[:, 0].rename(name) if isinstance(X, pd.Series) else out
    return (result, report) if return_report else result
