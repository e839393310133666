"""Per-entity event sessions built from the flat OCSF frame.

A sequence detector needs sessions of integer event *types*. From the flat OCSF frame of
:mod:`anomaly_tutorial.data` this module builds both:

* :func:`event_type_keys` gives each event a readable type key made of its ``class_uid``,
  ``activity_id``, ``status_id`` and an *operation* (the API operation, the HTTP method with the
  URL path whose ids are masked and the response code, the destination port of a network flow);
* :class:`EventTypeVocabulary` maps keys to integer ids learned on training events, with
  :data:`UNKNOWN_TYPE` for keys never seen in training;
* :func:`build_sessions` groups events by an entity column (user, source IP, trace) and splits
  each entity's time-ordered events into sessions wherever two consecutive events are more than
  ``gap_minutes`` apart. A session is anomalous when any of its events is.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial.ocsf import API_ACTIVITY, HTTP_ACTIVITY, ID_COLUMN, NETWORK_ACTIVITY

__all__ = [
    "UNKNOWN_TYPE",
    "EventSessions",
    "EventTypeVocabulary",
    "build_sessions",
    "event_type_keys",
]

#: Event type id of every key not seen when the vocabulary was fitted.
UNKNOWN_TYPE = 0

_ID_SEGMENT = re.compile(r"/(?:\d+|[0-9a-fA-F]{8,}|[0-9a-fA-F-]{36})(?=/|$)")


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)[:12]}...")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), "").astype(str)


def event_type_keys(events: pd.DataFrame) -> pd.Series:
    """Return the type key of each event, e.g. ``"6003:1:1 AttachRolePolicy"``.

    The key is ``"<class_uid>:<activity_id>:<status_id> <operation>"`` where the operation is
    the ``api.operation`` of API Activity, ``"<method> <path> <code>"`` for HTTP Activity (path
    segments that are numbers, hex or UUIDs become ``{id}``), ``"port <dst port>"`` for Network
    Activity and empty otherwise. Columns a frame lacks count as empty.

    Parameters
    ----------
    events
        Flat OCSF frame with at least ``class_uid``, ``activity_id`` and ``status_id``.

    Returns
    -------
    pandas.Series
        String keys, indexed like ``events``.
    """
    _require_columns(events, ["class_uid", "activity_id", "status_id"], "events")
    for col in ("class_uid", "activity_id", "status_id"):
        n_missing = int(events[col].isna().sum())
        if n_missing:
            rows = np.flatnonzero(events[col].isna().to_numpy())[:3].tolist()
            raise ValueError(f"column {col!r}: {n_missing} values are missing (rows {rows})")
    cls = events["class_uid"].astype("int64")
    base = (
        cls.astype(str)
        + ":"
        + events["activity_id"].astype("int64").astype(str)
        + ":"
        + events["status_id"].astype("int64").astype(str)
    )
    path = _text(events, "http_request.url.path").str.replace(_ID_SEGMENT, "/{id}", regex=True)
    code = _text(events, "http_response.code")
    http_op = _text(events, "http_request.http_method") + " " + path + " " + code
    port = _text(events, "dst_endpoint.port")
    operation = pd.Series("", index=events.index, dtype=object)
    operation = operation.mask(cls == API_ACTIVITY, _text(events, "api.operation"))
    operation = operation.mask(cls == HTTP_ACTIVITY, http_op)
    operation = operation.mask(cls == NETWORK_ACTIVITY, "port " + port)
    keys = (base + " " + operation.astype(str)).str.rstrip()
    return keys.astype(object).rename("event_type")


class EventTypeVocabulary(TransformerMixin, BaseEstimator):
    """Map event type keys to integer ids; keys unseen in training get :data:`UNKNOWN_TYPE`.

    Ids start at 1 and follow decreasing training frequency (ties: alphabetical key), so id 1
    is the most common type.

    Parameters
    ----------
    min_count : int, default 1
        Keys seen fewer times in training also map to :data:`UNKNOWN_TYPE`.

    Attributes
    ----------
    ids_ : dict
        Key -> id.
    keys_ : list of str
        ``keys_[i - 1]`` is the key of id ``i``.
    counts_ : numpy.ndarray
        Training count of each id's key (``counts_[i - 1]``).
    """

    def __init__(self, min_count: int = 1) -> None:
        self.min_count = min_count

    def fit(self, keys: Sequence[str] | pd.Series, y: None = None) -> EventTypeVocabulary:
        """Count the training keys and number them by frequency."""
        if (
            isinstance(self.min_count, bool)
            or not isinstance(self.min_count, int)
            or (self.min_count < 1)
        ):
            raise ValueError(
                f"parameter 'min_count' must be an integer >= 1, got {self.min_count!r}"
            )
        series = pd.Series(keys, dtype=object)
        if series.isna().any():
            raise ValueError(f"keys: {int(series.isna().sum())} values are missing")
        counts = series.value_counts(sort=False)
        counts = counts[counts >= self.min_count]
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        self.keys_ = [str(k) for k, _ in ordered]
        self.counts_ = np.array([c for _, c in ordered], dtype=np.int64)
        self.ids_ = {k: i + 1 for i, k in enumerate(self.keys_)}
        return self

    def transform(self, keys: Sequence[str] | pd.Series) -> np.ndarray:
        """Return the id of each key (``UNKNOWN_TYPE`` for keys not in the vocabulary)."""
        check_is_fitted(self, "ids_")
        series = pd.Series(keys, dtype=object)
        return series.map(self.ids_).fillna(UNKNOWN_TYPE).to_numpy(dtype=np.int64)

    def key_of(self, type_id: int) -> str:
        """Return the key of a type id (``"<unknown>"`` for :data:`UNKNOWN_TYPE`)."""
        check_is_fitted(self, "ids_")
        if type_id == UNKNOWN_TYPE:
            return "<unknown>"
        if not 1 <= type_id <= len(self.keys_):
            raise ValueError(f"type_id {type_id} is not in 0..{len(self.keys_)}")
        return self.keys_[type_id - 1]


@dataclass(frozen=True)
class EventSessions:
    """Sessions of events: a table, the type-id sequences and the rows they came from.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per session: ``session_id``, ``entity``, ``start_time``, ``end_time`` (epoch
        ms), ``n_events`` and, when the frame has labels, ``is_anomaly`` (any event anomalous),
        ``n_anomalous``, ``anomaly_types`` and ``incident_ids`` (comma-separated, sorted).
    sequences : list of list of int
        Event type ids of each session, in time order.
    rows : list of numpy.ndarray
        Positional row numbers (into the frame given to :func:`build_sessions`) of each
        session's events, in the same order as ``sequences``.
    entity_column : str
        Column the events were grouped by.
    n_unassigned : int
        Events whose entity value is missing: they belong to no session.
    """

    table: pd.DataFrame
    sequences: list[list[int]]
    rows: list[np.ndarray]
    entity_column: str
    n_unassigned: int

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def labels(self) -> np.ndarray:
        """0/1 per session (1 = at least one anomalous event)."""
        if "is_anomaly" not in self.table.columns:
            raise ValueError("these sessions were built from a frame without 'is_anomaly'")
        return self.table["is_anomaly"].to_numpy(dtype=np.int64)


def build_sessions(
    events: pd.DataFrame,
    type_ids: Sequence[int] | np.ndarray,
    *,
    entity: str = "actor.user.name",
    gap_minutes: float = 30.0,
) -> EventSessions:
    """Group events by entity and split each entity's events at inactivity gaps.

    Parameters
    ----------
    events
        Flat OCSF frame with ``time`` (epoch ms), the ``entity`` column and, optionally,
        ``event_id`` and the label columns (``is_anomaly``, ``anomaly_type``, ``incident_id``).
    type_ids
        Integer event type of each row of ``events`` (same length, same order), e.g. from
        :class:`EventTypeVocabulary`.
    entity
        Column holding the entity: ``"actor.user.name"``, ``"src_endpoint.ip"``,
        ``"trace.uid"``... Rows whose entity is missing go into no session; their number is
        reported as ``n_unassigned``.
    gap_minutes
        A new session starts when an entity is inactive for longer than this.

    Returns
    -------
    EventSessions
        Sessions ordered by entity, then start time. Events inside a session are ordered by
        time (ties: by ``event_id`` when present, else by row order).

    Raises
    ------
    ValueError
        If a column is missing, ``time`` has missing values, ``type_ids`` has the wrong length
        or ``gap_minutes`` is not positive.
    """
    _require_columns(events, ["time", entity], "events")
    ids = np.asarray(type_ids)
    if ids.ndim != 1 or ids.shape[0] != len(events):
        raise ValueError(
            f"type_ids must have one id per event: got shape {ids.shape} for {len(events)} events"
        )
    if ids.size and ids.dtype.kind not in "iu":
        raise ValueError(f"type_ids must be integers, got dtype {ids.dtype}")
    if not (isinstance(gap_minutes, (int, float)) and gap_minutes > 0):
        raise ValueError(f"gap_minutes must be a positive number, got {gap_minutes!r}")
    time = events["time"]
    if time.isna().any():
        rows = np.flatnonzero(time.isna().to_numpy())[:5].tolist()
        raise ValueError(f"column 'time': {int(time.isna().sum())} values are NaN (rows {rows})")
    ent = events[entity]
    has_entity = ent.notna().to_numpy()
    frame = pd.DataFrame(
        {
            "row": np.arange(len(events)),
            "entity": ent.astype(object).to_numpy(),
            "time": time.to_numpy(dtype=np.int64),
            "tie": (
                events[ID_COLUMN].astype(str).to_numpy()
                if ID_COLUMN in events.columns
                else np.arange(len(events))
            ),
        }
    )[has_entity]
    frame["entity"] = frame["entity"].astype(str)
    frame = frame.sort_values(["entity", "time", "tie"], kind="stable")
    ent_arr = frame["entity"].to_numpy()
    t_arr = frame["time"].to_numpy()
    new_session = np.ones(len(frame), dtype=bool)
    if len(frame) > 1:
        same_entity = ent_arr[1:] == ent_arr[:-1]
        close = (t_arr[1:] - t_arr[:-1]) <= gap_minutes * 60_000.0
        new_session[1:] = ~(same_entity & close)
    session_of = np.cumsum(new_session) - 1
    n_sessions = int(new_session.sum())
    rows_sorted = frame["row"].to_numpy()
    bounds = np.r_[np.flatnonzero(new_session), len(frame)]
    rows = [rows_sorted[bounds[i] : bounds[i + 1]] for i in range(n_sessions)]
    sequences = [ids[r].astype(np.int64).tolist() for r in rows]
    table = pd.DataFrame(
        {
            "session_id": np.arange(n_sessions),
            "entity": ent_arr[bounds[:-1]] if n_sessions else np.array([], dtype=object),
            "start_time": t_arr[bounds[:-1]] if n_sessions else np.array([], dtype=np.int64),
            "end_time": t_arr[bounds[1:] - 1] if n_sessions else np.array([], dtype=np.int64),
            "n_events": np.diff(bounds),
        }
    )
    if "is_anomaly" in events.columns:
        flags = events["is_anomaly"].fillna(False).to_numpy(dtype=bool)[rows_sorted]
        table["n_anomalous"] = np.bincount(session_of, weights=flags, minlength=n_sessions).astype(
            np.int64
        )
        table["is_anomaly"] = table["n_anomalous"] > 0
    for column, out in (("anomaly_type", "anomaly_types"), ("incident_id", "incident_ids")):
        if column in events.columns:
            values = events[column].astype(object).to_numpy()[rows_sorted]
            table[out] = [
                ",".join(sorted({str(v) for v in values[b:e] if pd.notna(v) and v != "normal"}))
                for b, e in itertools.pairwise(bounds)
            ]
    return EventSessions(
        table=table,
        sequences=sequences,
        rows=rows,
        entity_column=entity,
        n_unassigned=int((~has_entity).sum()),
    )
