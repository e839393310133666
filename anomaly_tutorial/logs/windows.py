"""Fixed and sliding time windows over log events, with per-window counts and labels.

A *window* ``k`` covers the half-open interval ``[origin + k * step, origin + k * step + size)``
in epoch milliseconds. With ``step == size`` the windows are *fixed* (tumbling): every event lies
in exactly one window. With ``step < size`` they are *sliding* (hopping): an event lies in
``size / step`` windows when ``size`` is a multiple of ``step``. The window id is the integer
``k``; with the default ``origin=0`` the grid is aligned to the Unix epoch, so ids do not depend on
which events were passed and two periods windowed separately never reuse an id.

Conventions, all documented here once:

* **Row order does not matter.** Events are placed by their ``time`` value; results are the
  same for any order of the input rows (memberships refer to row *positions* in the frame given).
* **Empty windows are kept** by default (``include_empty=True``): every window between the first
  and the last event appears, with zero counts. A silent period can itself be an anomaly.
* **Window labels.** A window is anomalous when it contains at least one anomalous event
  (``is_anomaly``); ``anomalous_fraction`` gives the fraction-based variant. ``anomaly_type`` and
  ``incident_id`` are the most frequent ones among the window's anomalous events (ties broken
  alphabetically), ``"normal"`` / missing for windows without anomalous events.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly_tutorial.ocsf import CLASS_NAMES, SEVERITY_NAMES, STATUS_NAMES

#: Known values of the columns counted by default (others are counted as ``<column>=other``).
DEFAULT_COUNT_VALUES: dict[str, tuple[int, ...]] = {
    "severity_id": tuple(sorted(SEVERITY_NAMES)),
    "status_id": tuple(sorted(STATUS_NAMES)),
    "class_uid": tuple(sorted(CLASS_NAMES)),
}


def to_milliseconds(value: int | str | pd.Timedelta, name: str) -> int:
    """Convert a duration (int milliseconds, pandas string like ``"30s"``, Timedelta) to ms."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a duration, got a bool")
    if isinstance(value, int | np.integer):
        ms = int(value)
    elif isinstance(value, str | pd.Timedelta):
        try:
            td = pd.Timedelta(value)
        except ValueError as err:
            raise ValueError(f"{name}: cannot read {value!r} as a duration ({err})") from err
        ms = int(td / pd.Timedelta(milliseconds=1))
        if td != pd.Timedelta(milliseconds=ms):
            raise ValueError(f"{name}: {value!r} is not a whole number of milliseconds")
    else:
        raise TypeError(
            f"{name} must be int milliseconds, a string like '30s' or a pandas Timedelta, "
            f"got {type(value).__name__}"
        )
    if ms <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return ms


def event_times(events: pd.DataFrame, time_column: str = "time") -> np.ndarray:
    """Validated event times in epoch milliseconds (int64) from ``events[time_column]``."""
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a pandas DataFrame, got {type(events).__name__}")
    if time_column not in events.columns:
        raise KeyError(f"events has no column {time_column!r} (columns: {list(events.columns)})")
    col = events[time_column]
    missing = np.flatnonzero(col.isna().to_numpy())
    if missing.size:
        raise ValueError(
            f"column {time_column!r}: {missing.size} values are missing "
            f"(rows {missing[:5].tolist()})"
        )
    if pd.api.types.is_datetime64_any_dtype(col):
        as_utc = pd.to_datetime(col, utc=True)
        return ((as_utc - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy(
            dtype=np.int64
        )
    if not pd.api.types.is_integer_dtype(col):
        raise TypeError(
            f"column {time_column!r} must hold integer epoch milliseconds or datetimes, "
            f"got dtype {col.dtype}"
        )
    return col.to_numpy(dtype=np.int64)


@dataclass(frozen=True)
class Windows:
    """Windows over a set of events.

    Attributes
    ----------
    size_ms, step_ms, origin_ms : int
        Window length, hop between window starts and grid origin (epoch ms).
    table : pandas.DataFrame
        One row per window, indexed by ``window_id`` (int64, increasing), with columns ``start``
        and ``end`` (epoch ms; the window is ``[start, end)``).
    membership : pandas.DataFrame
        One row per (event, window) pair: ``row`` (position of the event in the frame given to
        :func:`make_windows`) and ``window_id``. Fixed windows have one row per event.
    n_events : int
        Number of events windowed (rows of the frame given).
    """

    size_ms: int
    step_ms: int
    origin_ms: int
    table: pd.DataFrame
    membership: pd.DataFrame
    n_events: int

    @property
    def is_sliding(self) -> bool:
        """True when windows overlap (``step < size``)."""
        return self.step_ms < self.size_ms

    @property
    def ids(self) -> pd.Index:
        """The window ids, in increasing order."""
        return self.table.index


def make_windows(
    events: pd.DataFrame,
    *,
    size: int | str | pd.Timedelta = "30s",
    step: int | str | pd.Timedelta | None = None,
    origin: int = 0,
    time_column: str = "time",
    include_empty: bool = True,
) -> Windows:
    """Assign events to fixed (``step=None``) or sliding (``step < size``) time windows.

    Parameters
    ----------
    events : DataFrame
        Events with a ``time_column`` of epoch milliseconds (int) or datetimes. Any row order.
    size : duration
        Window length: int milliseconds, a pandas duration string (``"30s"``, ``"5min"``) or a
        Timedelta.
    step : duration or None
        Hop between consecutive window starts; ``None`` means ``step = size`` (fixed windows).
        Must not exceed ``size`` (gaps would drop events).
    origin : int
        Epoch-ms origin of the window grid.
    include_empty : bool
        Keep windows without events between the first and last event (default) or drop them.

    Returns
    -------
    Windows
    """
    size_ms = to_milliseconds(size, "size")
    step_ms = size_ms if step is None else to_milliseconds(step, "step")
    if step_ms > size_ms:
        raise ValueError(
            f"step ({step_ms} ms) must not exceed size ({size_ms} ms): events between windows "
            "would belong to no window"
        )
    if isinstance(origin, bool) or not isinstance(origin, int | np.integer):
        raise TypeError(f"origin must be int epoch milliseconds, got {type(origin).__name__}")
    times = event_times(events, time_column) - int(origin)
    n = times.size
    # windows k containing t: k*step <= t < k*step + size  <=>  floor((t-size)/step) < k <= t//step
    k_hi = np.floor_divide(times, step_ms)
    k_lo = np.floor_divide(times - size_ms, step_ms) + 1
    per_event = (k_hi - k_lo + 1).astype(np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), per_event)
    offsets = np.arange(rows.size, dtype=np.int64) - np.repeat(
        np.cumsum(per_event) - per_event, per_event
    )
    window_ids = np.repeat(k_lo, per_event) + offsets
    membership = pd.DataFrame({"row": rows, "window_id": window_ids})
    membership = membership.sort_values(["window_id", "row"], kind="stable", ignore_index=True)
    if n == 0:
        ids = np.empty(0, dtype=np.int64)
    elif include_empty:
        ids = np.arange(int(k_lo.min()), int(k_hi.max()) + 1, dtype=np.int64)
    else:
        ids = np.unique(window_ids)
    starts = ids * step_ms + int(origin)
    table = pd.DataFrame(
        {"start": starts, "end": starts + size_ms},
        index=pd.Index(ids, name="window_id", dtype=np.int64),
    )
    return Windows(
        size_ms=size_ms,
        step_ms=step_ms,
        origin_ms=int(origin),
        table=table,
        membership=membership,
        n_events=n,
    )


def _check_events_match(events: pd.DataFrame, windows: Windows) -> None:
    if len(events) != windows.n_events:
        raise ValueError(
            f"events has {len(events)} rows but the windows were made from {windows.n_events} "
            "rows: pass the same frame to make_windows and to this function"
        )


def aggregate_per_window(
    values: np.ndarray | pd.Series, windows: Windows, how: str = "sum", fill: float = 0.0
) -> pd.Series:
    """Aggregate one value per event into one value per window.

    ``how`` is any pandas groupby reduction name (``"sum"``, ``"mean"``, ``"max"``, ...);
    windows without events get ``fill``.
    """
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != windows.n_events:
        raise ValueError(
            f"values must be one value per windowed event ({windows.n_events}), got shape "
            f"{arr.shape}"
        )
    m = windows.membership
    grouped = pd.Series(arr[m["row"].to_numpy()]).groupby(m["window_id"].to_numpy())
    out = grouped.agg(how)
    return out.reindex(windows.ids, fill_value=fill).rename(None).rename_axis("window_id")


def window_counts(
    events: pd.DataFrame,
    windows: Windows,
    columns: Sequence[str] = ("severity_id", "status_id", "class_uid"),
    values: Mapping[str, Sequence[object]] | None = None,
) -> pd.DataFrame:
    """Number of events per window, overall and per value of categorical columns.

    Parameters
    ----------
    events : DataFrame
        The frame the windows were made from (same rows, same order).
    windows : Windows
    columns : sequence of str
        Columns to count by; one output column ``"<column>=<value>"`` per value.
    values : mapping or None
        Values to count per column. Missing entries use :data:`DEFAULT_COUNT_VALUES` for the
        OCSF enumerations and the sorted values present in ``events`` otherwise. Values not
        listed (and missing values) are counted in ``"<column>=other"`` so no event is dropped;
        for the OCSF enumerations that column appears only when such values occur.

    Returns
    -------
    DataFrame
        Indexed by window id: ``n_events`` then the count columns (int64).
    """
    _check_events_match(events, windows)
    values = dict(values or {})
    m = windows.membership
    rows = m["row"].to_numpy()
    wid = m["window_id"].to_numpy()
    out = {"n_events": _count(wid, windows)}
    for column in columns:
        if column not in events.columns:
            raise KeyError(f"events has no column {column!r} to count by")
        col = events[column]
        if column in values:
            known = list(values[column])
        elif column in DEFAULT_COUNT_VALUES:
            known = list(DEFAULT_COUNT_VALUES[column])
        else:
            known = sorted(col.dropna().unique().tolist())
        codes = pd.Index(known).get_indexer(col.astype(object))  # -1 = other / missing
        ev_codes = codes[rows]
        for j, value in enumerate(known):
            out[f"{column}={value}"] = _count(wid[ev_codes == j], windows)
        other = _count(wid[ev_codes == -1], windows)
        if other.any() or column not in DEFAULT_COUNT_VALUES:
            out[f"{column}=other"] = other
    return pd.DataFrame(out, index=windows.ids)


def _count(window_ids: np.ndarray, windows: Windows) -> np.ndarray:
    s = pd.Series(window_ids).value_counts()
    return s.reindex(windows.ids, fill_value=0).to_numpy(dtype=np.int64)


def window_labels(
    events: pd.DataFrame,
    windows: Windows,
    *,
    label_column: str = "is_anomaly",
    type_column: str = "anomaly_type",
    incident_column: str = "incident_id",
) -> pd.DataFrame:
    """Ground truth per window (see the module docstring for the rules).

    Returns
    -------
    DataFrame
        Indexed by window id: ``is_anomaly`` (any anomalous event), ``n_anomalous``,
        ``anomalous_fraction`` (0 for empty windows), ``anomaly_type`` (dominant type or
        ``"normal"``) and, when ``incident_column`` exists, ``incident_id``.
    """
    _check_events_match(events, windows)
    if label_column not in events.columns:
        raise KeyError(f"events has no label column {label_column!r}")
    labels = events[label_column]
    if labels.isna().any():
        raise ValueError(f"column {label_column!r}: {int(labels.isna().sum())} values are missing")
    flag = labels.to_numpy().astype(bool)
    m = windows.membership
    rows = m["row"].to_numpy()
    wid = m["window_id"].to_numpy()
    n_events = _count(wid, windows)
    n_anom = _count(wid[flag[rows]], windows)
    out = pd.DataFrame(
        {
            "is_anomaly": n_anom > 0,
            "n_anomalous": n_anom,
            "anomalous_fraction": np.divide(
                n_anom, n_events, out=np.zeros(len(n_anom)), where=n_events > 0
            ),
        },
        index=windows.ids,
    )
    anom = flag[rows]
    if type_column in events.columns:
        types = _dominant(wid[anom], events[type_column].to_numpy(dtype=object)[rows[anom]])
        out["anomaly_type"] = types.reindex(windows.ids).fillna("normal").astype(str)
    if incident_column in events.columns:
        inc = _dominant(wid[anom], events[incident_column].to_numpy(dtype=object)[rows[anom]])
        out["incident_id"] = inc.reindex(windows.ids).astype("string")
    return out


def _dominant(window_ids: np.ndarray, values: np.ndarray) -> pd.Series:
    """Most frequent non-missing value per window; ties go to the alphabetically first."""
    frame = pd.DataFrame({"w": window_ids, "v": pd.Series(values, dtype=object)}).dropna()
    if frame.empty:
        return pd.Series(dtype=object)
    frame["v"] = frame["v"].astype(str)
    counts = frame.groupby(["w", "v"]).size().rename("n").reset_index()
    counts = counts.sort_values(["w", "n", "v"], ascending=[True, False, True], kind="stable")
    first = counts.drop_duplicates("w")
    return pd.Series(first["v"].to_numpy(), index=first["w"].to_numpy())


def period_cuts(windows: Windows, fractions: Sequence[float] = (0.6, 0.2, 0.2)) -> list[int]:
    """Cut times (epoch ms) splitting the windowed span into consecutive periods.

    The span from the first window start to the last window end is divided by ``fractions``
    (positive, summing to 1); each cut is rounded down to the window grid (a multiple of
    ``step`` from the origin), so fixed windows never straddle a cut.
    """
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or fr.size < 2 or (fr <= 0).any() or not np.isclose(fr.sum(), 1.0):
        raise ValueError(f"fractions must be >= 2 positive numbers summing to 1, got {fractions}")
    if windows.table.empty:
        raise ValueError("no windows to split")
    start = int(windows.table["start"].iloc[0])
    end = int(windows.table["end"].iloc[-1])
    cuts = []
    for f in np.cumsum(fr)[:-1]:
        raw = start + f * (end - start)
        k = int(np.floor((raw - windows.origin_ms) / windows.step_ms))
        cuts.append(windows.origin_ms + k * windows.step_ms)
    return cuts


def assign_periods(
    windows: Windows,
    cuts: Sequence[int],
    names: Sequence[str] = ("train", "validation", "test"),
) -> pd.Series:
    """Name the period of every window: ``names[i]`` for windows lying wholly between cuts.

    A window that straddles a cut (possible with sliding windows) is labelled ``"boundary"``:
    its events belong to two periods, so it should be used in neither (never silently dropped).
    """
    cuts = [int(c) for c in cuts]
    if len(names) != len(cuts) + 1:
        raise ValueError(f"need len(cuts) + 1 = {len(cuts) + 1} names, got {len(names)}")
    if any(b <= a for a, b in itertools.pairwise(cuts)):
        raise ValueError(f"cuts must be strictly increasing, got {cuts}")
    start = windows.table["start"].to_numpy()
    end = windows.table["end"].to_numpy()
    edges = np.asarray(cuts, dtype=np.int64)
    first = np.searchsorted(edges, start, side="right")
    last = np.searchsorted(edges, end - 1, side="right")
    labels = np.where(first == last, np.asarray(names, dtype=object)[first], "boundary")
    return pd.Series(labels, index=windows.ids, name="period", dtype=object)
