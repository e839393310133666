"""Causal per-entity sliding-window features.

A :class:`WindowSpec` describes one feature, e.g. "number of failed logons from this source IP
in the last 300 seconds". For the event at position ``i`` with time ``t_i`` the window holds
the events of the same entity with time in ``(t_i - window_s, t_i]`` **that do not come later
than ``i``**: events with exactly the same timestamp count only when they come earlier in the
input order (or are the event itself), never later ones. The value at an event therefore never
depends on anything after it, and appending or changing later events never changes it.

Events whose entity is missing (``actor.user.name`` of a network flow) belong to no window and
get the value 0; they are not counted in anyone else's window either.

Edge effect: the windows see only the events they are given. The first ``window_s`` seconds of
a frame have truncated windows (a test period cut out of a stream starts with counts that are
too low). Pass the preceding events as ``history`` to :func:`compute_windows` (or to
``OCSFFeaturizer.transform``) to give them their context.

Implementation: one stable sort by ``(entity, time, input position)``; counts and sums are
differences of cumulative sums at window bounds found by :func:`numpy.searchsorted`; distinct
counts use one linear two-pointer pass over the sorted events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .. import ocsf
from .encoders import column_keys, numeric_column

__all__ = [
    "AGGREGATES",
    "DEFAULT_WINDOWS",
    "DERIVED_COLUMNS",
    "WindowSpec",
    "compute_windows",
    "window_input_columns",
]

#: Supported aggregates: ``count`` (events), ``sum`` (of ``value_column``, missing = 0),
#: ``nunique`` (distinct non-missing values of ``value_column``).
AGGREGATES: tuple[str, ...] = ("count", "sum", "nunique")


@dataclass(frozen=True)
class WindowSpec:
    """One causal window feature.

    Parameters
    ----------
    entity
        Flat column that defines the groups (``"src_endpoint.ip"``).
    window_s
        Window length in seconds.
    aggregate
        One of :data:`AGGREGATES`.
    value_column
        Column aggregated by ``sum`` and ``nunique``: a flat OCSF column or a derived indicator
        from :data:`DERIVED_COLUMNS`. Unused for ``count``.
    name
        Feature name; the output column is ``win__<name>``.
    """

    entity: str
    window_s: float
    aggregate: str
    value_column: str | None = None
    name: str = ""

    def validate(self) -> None:
        """Raise ValueError if the spec is inconsistent."""
        if self.aggregate not in AGGREGATES:
            raise ValueError(
                f"WindowSpec {self.name!r}: aggregate must be one of {AGGREGATES}, "
                f"got {self.aggregate!r}"
            )
        if not float(self.window_s) > 0:
            raise ValueError(f"WindowSpec {self.name!r}: window_s must be > 0, got {self.window_s}")
        if self.aggregate != "count" and not self.value_column:
            raise ValueError(
                f"WindowSpec {self.name!r}: aggregate {self.aggregate!r} needs a value_column"
            )
        if not self.name:
            raise ValueError("WindowSpec needs a non-empty name")

    def to_dict(self) -> dict:
        """Plain dict, for JSON."""
        return asdict(self)


def _failed_auth(frame: pd.DataFrame) -> np.ndarray:
    cls = numeric_column(frame["class_uid"], "class_uid")
    status = numeric_column(frame["status_id"], "status_id")
    return ((cls == ocsf.AUTHENTICATION) & (status == ocsf.STATUS_FAILURE)).astype(np.float64)


def _http_5xx(frame: pd.DataFrame) -> np.ndarray:
    if "http_response.code" not in frame:
        return np.zeros(len(frame))
    code = numeric_column(frame["http_response.code"], "http_response.code")
    return ((code >= 500) & (code < 600)).astype(np.float64)


#: Derived 0/1 indicator columns usable as ``value_column``, with the flat columns they read.
DERIVED_COLUMNS: dict[str, tuple[Callable[[pd.DataFrame], np.ndarray], tuple[str, ...]]] = {
    "is_failed_auth": (_failed_auth, ("class_uid", "status_id")),
    "is_http_5xx": (_http_5xx, ("http_response.code",)),
}

#: The default windows (see the module docstring for the exact window definition).
DEFAULT_WINDOWS: tuple[WindowSpec, ...] = (
    WindowSpec("src_endpoint.ip", 300, "count", None, "src_ip_events_300s"),
    WindowSpec("src_endpoint.ip", 300, "sum", "is_failed_auth", "src_ip_failed_auth_300s"),
    WindowSpec(
        "src_endpoint.ip", 300, "nunique", "dst_endpoint.port", "src_ip_distinct_dst_ports_300s"
    ),
    WindowSpec("src_endpoint.ip", 300, "nunique", "actor.user.name", "src_ip_distinct_users_300s"),
    WindowSpec("actor.user.name", 3600, "count", None, "user_events_3600s"),
    WindowSpec(
        "actor.user.name",
        3600,
        "nunique",
        "src_endpoint.location.country",
        "user_distinct_countries_3600s",
    ),
    WindowSpec("actor.user.name", 3600, "sum", "traffic.bytes_out", "user_bytes_out_3600s"),
    WindowSpec("dst_endpoint.svc_name", 60, "sum", "is_http_5xx", "svc_5xx_60s"),
)


def window_input_columns(specs: Sequence[WindowSpec]) -> set[str]:
    """Flat columns the specs read."""
    cols: set[str] = set()
    for spec in specs:
        cols.add(spec.entity)
        if spec.value_column in DERIVED_COLUMNS:
            cols.update(DERIVED_COLUMNS[spec.value_column][1])
        elif spec.value_column:
            cols.add(spec.value_column)
    return cols


def _column_or_missing(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame:
        return frame[column]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _kind(column: str) -> str:
    dtype = ocsf.FLAT_COLUMNS.get(column, "string")
    if dtype in ("int64", "Int64"):
        return "int"
    if dtype == "boolean":
        return "bool"
    return "str"


def _distinct_in_window(values: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Distinct non-negative values in ``values[left[j] : j + 1]`` for every ``j``.

    ``left`` must be non-decreasing (true within and across the sorted entity groups).
    """
    n = len(values)
    out = np.zeros(n, dtype=np.float64)
    if n == 0:
        return out
    vals = values.tolist()
    lefts = left.tolist()
    counts = [0] * (int(values.max()) + 1 if values.max() >= 0 else 1)
    distinct = 0
    ptr = 0
    res = [0] * n
    for j in range(n):
        lj = lefts[j]
        while ptr < lj:
            v = vals[ptr]
            if v >= 0:
                counts[v] -= 1
                if counts[v] == 0:
                    distinct -= 1
            ptr += 1
        v = vals[j]
        if v >= 0:
            if counts[v] == 0:
                distinct += 1
            counts[v] += 1
        res[j] = distinct
    out[:] = res
    return out


def compute_windows(
    frame: pd.DataFrame, specs: Sequence[WindowSpec], time_ms: np.ndarray | None = None
) -> np.ndarray:
    """Compute the causal window features of every event of ``frame``.

    Parameters
    ----------
    frame
        Flat events, in input order (need not be sorted by time). Columns the specs need and
        that are absent count as missing for every row.
    specs
        Window definitions.
    time_ms
        Epoch milliseconds per row; read from ``frame["time"]`` when omitted.

    Returns
    -------
    numpy.ndarray
        ``float64`` array ``(len(frame), len(specs))`` of raw (unscaled) values.
    """
    n = len(frame)
    out = np.zeros((n, len(specs)), dtype=np.float64)
    if n == 0 or not specs:
        return out
    if time_ms is None:
        time_ms = numeric_column(frame["time"], "time")
    t = np.asarray(time_ms, dtype=np.int64)
    t_rel = t - t.min()
    span = int(t_rel.max())
    entity_cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for k, spec in enumerate(specs):
        spec.validate()
        w_ms = round(float(spec.window_s) * 1000)
        if spec.entity not in entity_cache:
            ent = column_keys(
                _column_or_missing(frame, spec.entity), spec.entity, _kind(spec.entity)
            )
            valid = np.flatnonzero(ent.codes >= 0)
            codes = ent.codes[valid]
            order = valid[np.lexsort((valid, t_rel[valid], codes))]
            entity_cache[spec.entity] = (order, ent.codes[order], t_rel[order])
        order, codes_sorted, t_sorted = entity_cache[spec.entity]
        if len(order) == 0:
            continue
        big = span + w_ms + 1
        key = codes_sorted * big + t_sorted
        left = np.searchsorted(key, key - w_ms, side="right")
        pos = np.arange(len(order))
        if spec.aggregate == "count":
            vals = (pos - left + 1).astype(np.float64)
        elif spec.aggregate == "sum":
            if spec.value_column in DERIVED_COLUMNS:
                raw = DERIVED_COLUMNS[spec.value_column][0](frame)
            else:
                col = _column_or_missing(frame, str(spec.value_column))
                raw = numeric_column(col, str(spec.value_column))
            x = np.nan_to_num(raw[order], nan=0.0)
            if np.all(x == np.round(x)) and np.abs(x).sum() < 2**53:
                # integer sums are exact, so a value never depends on other groups' rounding
                icsum = np.concatenate([[0], np.cumsum(x.astype(np.int64))])
                vals = (icsum[pos + 1] - icsum[left]).astype(np.float64)
            else:
                csum = np.concatenate([[0.0], np.cumsum(x)])
                vals = csum[pos + 1] - csum[left]
        else:
            col = str(spec.value_column)
            if col in DERIVED_COLUMNS:
                keys = DERIVED_COLUMNS[col][0](frame).astype(np.int64)
            else:
                keys = column_keys(_column_or_missing(frame, col), col, _kind(col)).codes
            vals = _distinct_in_window(keys[order], left)
        out[order, k] = vals
    return out
