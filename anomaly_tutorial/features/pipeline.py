"""The OCSF feature pipeline: flat (or nested) OCSF events in, model-ready matrices out.

:class:`OCSFFeaturizer` is a scikit-learn transformer. Everything it learns (medians and IQRs,
vocabularies, rarity tables) comes from the frame given to :meth:`~OCSFFeaturizer.fit`; the
test frame only passes through :meth:`~OCSFFeaturizer.transform`.

Feature blocks, in column order of the dense matrix:

``num__`` (robust-scaled with training median and IQR)
    ``log_<col>`` = ``log1p`` of ``duration``, ``traffic.bytes_in/out``,
    ``traffic.packets_in/out``; ``severity_id``; ``rarity_<field>`` = ``log1p`` of the number of
    training events with this value of ``actor.user.name``, ``src_endpoint.ip`` and the source
    /16 subnet (a count of 0 for values never seen in training, so new users get the lowest
    value; a missing value counts as one more value, with the number of training events that
    lack the field).
    **Missing values become the training median, i.e. 0 after scaling** (for example
    ``duration`` of an event class without a duration); the categorical ``class_uid`` tells
    the models which fields apply.
``win__`` (``log1p``, then robust-scaled)
    Causal per-entity windows, see :mod:`anomaly_tutorial.features.windows`.
``time__``
    Hour-of-day and day-of-week on the unit circle, weekend flag (UTC).
``ip__``
    Source / destination address is internal (RFC 1918 or loopback); 0 when missing.
``cat__<field>=<value>``
    One-hot of categorical codes: ``<unknown>`` (code 0, never seen in training), ``<rare>``
    (code 1, fewer than ``min_frequency`` training events or beyond ``max_categories``),
    ``<missing>`` (code 2, the field does not apply to this event), then the training values.
    URL paths are encoded by their template (``/api/orders/52819`` -> ``/api/orders/{id}``).
``hash__<field>#<b>``
    Hashed one-hot (BLAKE2b, see :mod:`anomaly_tutorial.features.hashing`) of the
    high-cardinality fields ``actor.user.name``, ``src_endpoint.ip`` and
    ``src_endpoint.subnet16``; all zeros when the field is missing.

:meth:`~OCSFFeaturizer.transform_split` returns the same information for neural models: the
``num__``, ``win__``, ``time__`` and ``ip__`` columns as floats and one integer code per
categorical field (hashed fields: ``0`` = missing, ``1 + bucket`` otherwise).

Input: a flat DataFrame (the generator's frame), one event dict, or a list of dicts, each
nested OCSF or flat. The columns in :data:`REQUIRED_COLUMNS` must be present and complete;
every other column is optional, and an absent column counts as missing for every event.
Extra columns are ignored, and the input is never modified. Label columns
(:data:`anomaly_tutorial.ocsf.LABEL_COLUMNS`) are never read. ``time`` must be epoch
milliseconds (values that look like seconds or nanoseconds are refused, with a message that
says which unit was expected) and numeric columns finite numbers.

Saving: :func:`save_featurizer` / :func:`load_featurizer` (also ``OCSFFeaturizer.save`` /
``.load``) write and read the JSON format of :mod:`anomaly_tutorial.features.persistence`,
validated on load.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .. import ocsf
from ..io.schema import MICROSECONDS_LIMIT, SECONDS_LIMIT, time_unit_problem
from .encoders import (
    UNKNOWN,
    CategoricalVocabulary,
    ColumnKeys,
    RobustScaler1D,
    column_keys,
    numeric_column,
)
from .hashing import stable_hash
from .ip_features import ip_features, ip_is_internal
from .persistence import (
    FORMAT,
    VERSION,
    FeaturizerFile,
    SavedFileError,
    read_featurizer_file,
    write_featurizer_file,
)
from .time_features import TIME_FEATURE_NAMES, time_features
from .windows import DEFAULT_WINDOWS, WindowSpec, compute_windows, window_input_columns

__all__ = [
    "CATEGORICAL_FIELDS",
    "HASHED_FIELDS",
    "LOG_COLUMNS",
    "REQUIRED_COLUMNS",
    "FeatureSplit",
    "OCSFFeaturizer",
    "load_featurizer",
    "save_featurizer",
    "url_path_template",
    "user_agent_family",
]

#: Columns every event must have (OCSF required attributes). All other columns are optional:
#: an absent column counts as missing for every event.
REQUIRED_COLUMNS: tuple[str, ...] = ("time", "class_uid", "activity_id", "severity_id", "status_id")

#: Heavy-tailed numeric columns, ``log1p``-transformed before scaling (must be >= 0).
LOG_COLUMNS: tuple[str, ...] = (
    "duration",
    "traffic.bytes_in",
    "traffic.bytes_out",
    "traffic.packets_in",
    "traffic.packets_out",
)
#: Numeric columns scaled without a log.
PLAIN_NUMERIC_COLUMNS: tuple[str, ...] = ("severity_id",)

UA_FAMILY = "user_agent.family"
SUBNET16 = "src_endpoint.subnet16"

#: Categorical fields encoded with a vocabulary; ``user_agent.family`` is derived from
#: ``http_request.user_agent`` by :func:`user_agent_family`.
CATEGORICAL_FIELDS: tuple[str, ...] = (
    "class_uid",
    "activity_id",
    "status_id",
    "dst_endpoint.svc_name",
    "http_request.http_method",
    "http_request.url.path",
    "http_response.code",
    "src_endpoint.location.country",
    "auth_protocol",
    "logon_type",
    "is_mfa",
    "connection_info.protocol_name",
    "dst_endpoint.port",
    "api.operation",
    UA_FAMILY,
)
#: High-cardinality fields encoded by stable hashing plus a rarity feature;
#: ``src_endpoint.subnet16`` is the /16 network of ``src_endpoint.ip`` (/32 for IPv6).
HASHED_FIELDS: tuple[str, ...] = ("actor.user.name", "src_endpoint.ip", SUBNET16)

_IP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("src_is_internal", "src_endpoint.ip"),
    ("dst_is_internal", "dst_endpoint.ip"),
)


_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{12,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)


def url_path_template(path: Any) -> str | None:
    """Replace identifier segments of a URL path by ``{id}``: ``/api/orders/52819`` becomes
    ``/api/orders/{id}``.

    A segment is an identifier when it is all digits, a hex string of 12 or more characters or
    a UUID. The query string, if any, is dropped. ``None`` when missing.
    """
    if path is None or (isinstance(path, float) and np.isnan(path)) or path is pd.NA:
        return None
    text = str(path).split("?", 1)[0]
    return "/".join("{id}" if _ID_SEGMENT.match(seg) else seg for seg in text.split("/"))


def _derived_keys(series: pd.Series, func: Any, field: str) -> ColumnKeys:
    """Apply ``func`` to the distinct values of ``series`` and encode the results as keys."""
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    table = np.array([*(func(u) for u in uniques), None], dtype=object)
    return column_keys(pd.Series(table[codes], dtype=object), field, "str")


def user_agent_family(agent: Any) -> str | None:
    """Classify a User-Agent string: ``python-requests``, ``curl``, ``mobile``, ``browser``
    or ``other``; ``None`` when missing.
    """
    if agent is None or (isinstance(agent, float) and np.isnan(agent)) or agent is pd.NA:
        return None
    text = str(agent).lower()
    if "python-requests" in text:
        return "python-requests"
    if "curl" in text:
        return "curl"
    if any(token in text for token in ("mobile", "android", "iphone", "ipad")):
        return "mobile"
    if "mozilla" in text:
        return "browser"
    return "other"


@dataclass(frozen=True)
class FeatureSplit:
    """Features for neural models.

    Attributes
    ----------
    numeric
        ``float32 (n, p)``, columns ``OCSFFeaturizer.numeric_feature_names_``.
    categorical
        ``int64 (n, c)``, columns ``OCSFFeaturizer.categorical_feature_names_``; column ``j``
        takes values ``0 .. cardinalities_[j] - 1``.
    event_ids
        ``event_id`` of each row (the frame index as strings when there is no ``event_id``).
    """

    numeric: np.ndarray
    categorical: np.ndarray
    event_ids: np.ndarray


@dataclass
class _Prepared:
    n: int
    event_ids: np.ndarray
    keys: dict[str, ColumnKeys]
    log_numeric: np.ndarray
    windows: np.ndarray
    bounded: np.ndarray


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
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


def _as_frame(X: Any, argument: str = "X") -> pd.DataFrame:
    """Accept a flat DataFrame, one event dict (nested or flat) or a sequence of dicts."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, Mapping):
        X = [X]
    if isinstance(X, Sequence) and not isinstance(X, (str, bytes)):
        if len(X) == 0:
            raise ValueError(f"{argument}: no events given")
        rows = []
        for i, event in enumerate(X):
            if not isinstance(event, Mapping):
                raise TypeError(f"{argument}[{i}]: expected a dict, got {type(event).__name__}")
            nested = any(isinstance(v, Mapping) for v in event.values())
            rows.append(ocsf.flatten_event(event) if nested else dict(event))
        return pd.DataFrame.from_records(rows)
    raise TypeError(
        f"{argument}: expected a DataFrame, an event dict or a list of dicts, "
        f"got {type(X).__name__}"
    )


def _rows(positions: np.ndarray, index: pd.Index) -> str:
    """The first five offending rows, by their index label (and position when they differ)."""
    shown = []
    for pos in positions[:5]:
        label = index[pos]
        shown.append(str(label) if label == pos else f"{label!r} (position {pos})")
    more = f" and {positions.size - 5} more" if positions.size > 5 else ""
    return ", ".join(shown) + more


def _validated_time(frame: pd.DataFrame, argument: str) -> np.ndarray:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame]
    if missing:
        raise ValueError(
            f"{argument}: missing required column(s) {', '.join(repr(c) for c in missing)}"
        )
    if len(frame) == 0:
        raise ValueError(f"{argument}: the frame has no rows")
    time = _column(frame, "time")
    if pd.api.types.is_datetime64_any_dtype(time.dtype):
        raise ValueError(
            f"{argument}: column 'time': expected epoch milliseconds (int64), got datetimes; "
            "convert with (frame['time'] - pd.Timestamp(0, tz='UTC')) // pd.Timedelta('1ms')"
        )
    t = numeric_column(time, "time", allow_bool=False)
    nan = np.flatnonzero(np.isnan(t))
    if nan.size:
        raise ValueError(
            f"column 'time': {nan.size} values are missing (rows {_rows(nan, frame.index)})"
        )
    implausible = np.flatnonzero(
        (t < SECONDS_LIMIT) | (t >= MICROSECONDS_LIMIT) | (t != np.round(t))
    )
    if implausible.size:
        first = implausible[0]
        problem = time_unit_problem(float(t[first]))
        if problem is None:
            problem = f"{t[first]!r} is not a whole number of milliseconds"
        raise ValueError(
            f"{argument}: column 'time': {implausible.size} values are not epoch milliseconds "
            f"(rows {_rows(implausible, frame.index)}); row {frame.index[first]!r}: {problem}"
        )
    for column in REQUIRED_COLUMNS[1:]:
        values = numeric_column(frame[column], column, allow_bool=False)
        bad = np.flatnonzero(np.isnan(values))
        if bad.size:
            raise ValueError(
                f"column {column!r}: {bad.size} values are missing (rows {_rows(bad, frame.index)})"
            )
    return t.astype(np.int64)


class OCSFFeaturizer(TransformerMixin, BaseEstimator):
    """Turn OCSF events into features; see the module docstring for the feature list.

    Parameters
    ----------
    min_frequency
        Categorical values seen fewer times in training go to the rare code (1).
    max_categories
        At most this many training values per categorical field get their own code (most
        frequent first); the others go to the rare code. ``None`` for no limit.
    n_hash_buckets
        Buckets of the hashed one-hot encoding per high-cardinality field.
    windows
        Window features (:class:`~anomaly_tutorial.features.windows.WindowSpec`); ``()`` for
        none.
    template_url_paths
        Encode ``http_request.url.path`` by its template (:func:`url_path_template`:
        ``/api/orders/52819`` -> ``/api/orders/{id}``), so that ids do not make every path new.

    Attributes
    ----------
    vocabularies_ : dict[str, CategoricalVocabulary]
        Vocabulary per categorical field.
    rarity_ : dict[str, dict]
        Per hashed field: ``{"counts": {value: training count}, "missing": count}``.
    scaler_ : RobustScaler1D
        Medians and IQRs of the scaled numeric and window columns.
    numeric_feature_names_, categorical_feature_names_ : list[str]
        Columns of :class:`FeatureSplit`.
    cardinalities_ : list[int]
        Number of codes per categorical column, the unknown code 0 included.
    n_features_out_ : int
        Width of the dense matrix.

    Notes
    -----
    ``transform`` and ``transform_split`` never change the fitted object (scikit-learn's
    rule: the same input always gives the same output, and a featurizer shared between
    threads or pipelines is not altered by using it). To see how many values of some events
    were never seen in training, call :meth:`count_unknown`.

    Input is checked: ``time`` must be epoch milliseconds (values that look like seconds,
    microseconds or nanoseconds are refused with a message saying so), numeric columns must
    be finite numbers (``inf`` is refused; booleans are not numbers), and every message names
    the column and the first offending rows.
    """

    def __init__(
        self,
        min_frequency: int = 5,
        max_categories: int | None = 64,
        n_hash_buckets: int = 16,
        windows: Sequence[WindowSpec] = DEFAULT_WINDOWS,
        template_url_paths: bool = True,
    ) -> None:
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.n_hash_buckets = n_hash_buckets
        self.windows = windows
        self.template_url_paths = template_url_paths

    # --- preparation --------------------------------------------------------------------
    def _check_params(self) -> tuple[WindowSpec, ...]:
        if int(self.min_frequency) < 1:
            raise ValueError(f"min_frequency must be >= 1, got {self.min_frequency!r}")
        if self.max_categories is not None and int(self.max_categories) < 1:
            raise ValueError(f"max_categories must be >= 1 or None, got {self.max_categories!r}")
        if int(self.n_hash_buckets) < 1:
            raise ValueError(f"n_hash_buckets must be >= 1, got {self.n_hash_buckets!r}")
        specs = tuple(self.windows)
        names = [s.name for s in specs]
        for spec in specs:
            if not isinstance(spec, WindowSpec):
                raise TypeError(f"windows: expected WindowSpec, got {type(spec).__name__}")
            spec.validate()
        if len(set(names)) != len(names):
            raise ValueError(f"windows: duplicate window names in {names}")
        return specs

    def _prepare(self, X: Any, history: Any, argument: str) -> _Prepared:
        frame = _as_frame(X, argument)
        t = _validated_time(frame, argument)
        n = len(frame)
        keys: dict[str, ColumnKeys] = {}
        for field in CATEGORICAL_FIELDS:
            if field == UA_FAMILY:
                ua = _column(frame, "http_request.user_agent")
                keys[field] = _derived_keys(ua, user_agent_family, field)
            elif field == "http_request.url.path" and self.template_url_paths:
                keys[field] = _derived_keys(_column(frame, field), url_path_template, field)
            else:
                keys[field] = column_keys(_column(frame, field), field, _kind(field))
        src_internal, subnet = ip_features(_column(frame, "src_endpoint.ip"), "src_endpoint.ip")
        for field in HASHED_FIELDS:
            if field == SUBNET16:
                keys[field] = column_keys(pd.Series(subnet, dtype=object), field, "str")
            else:
                keys[field] = column_keys(_column(frame, field), field, "str")
        log_cols = []
        for column in LOG_COLUMNS:
            values = numeric_column(_column(frame, column), column, allow_bool=False)
            negative = np.flatnonzero(values < 0)
            if negative.size:
                raise ValueError(
                    f"column {column!r}: {negative.size} negative values, e.g. "
                    f"{values[negative[0]]!r} (row {negative[0]})"
                )
            log_cols.append(np.log1p(values))
        plain = [numeric_column(frame[c], c, allow_bool=False) for c in PLAIN_NUMERIC_COLUMNS]
        log_numeric = np.column_stack([*log_cols, *plain])
        windows = self._windows(frame, t, history)
        dst_internal = ip_is_internal(_column(frame, "dst_endpoint.ip"), "dst_endpoint.ip")
        ip_flags = [src_internal, dst_internal]  # in the order of _IP_COLUMNS
        bounded = np.column_stack([time_features(t), *ip_flags])
        if "event_id" in frame:
            event_ids = frame["event_id"].astype(object).astype(str).to_numpy()
        else:
            event_ids = np.asarray([str(i) for i in frame.index], dtype=object)
        return _Prepared(n, event_ids.astype(str), keys, log_numeric, windows, bounded)

    def _windows(self, frame: pd.DataFrame, t: np.ndarray, history: Any) -> np.ndarray:
        specs = self.windows_
        if not specs:
            return np.zeros((len(frame), 0))
        columns = sorted(window_input_columns(specs) - {"time"})
        if history is None:
            return compute_windows(frame, specs, t)
        past = _as_frame(history, "history")
        t_past = _validated_time(past, "history")
        both = pd.concat(
            [
                pd.DataFrame({c: _column(past, c).astype(object).to_numpy() for c in columns}),
                pd.DataFrame({c: _column(frame, c).astype(object).to_numpy() for c in columns}),
            ],
            ignore_index=True,
        )
        values = compute_windows(both, specs, np.concatenate([t_past, t]))
        return values[len(past) :]

    def _rarity(self, field: str, keys: ColumnKeys) -> tuple[np.ndarray, np.ndarray]:
        """Training counts of each row's value and a mask of non-missing unseen values."""
        table = self.rarity_[field]
        ucounts = np.array([table["counts"].get(u, 0) for u in keys.uniques], dtype=np.float64)
        counts = np.append(ucounts, float(table["missing"]))[keys.codes]
        unseen = np.append(ucounts == 0, False)[keys.codes]
        return counts, unseen

    def _scaled_block(self, prep: _Prepared) -> tuple[np.ndarray, dict[str, int]]:
        rarity, unknown = [], {}
        for field in HASHED_FIELDS:
            counts, unseen = self._rarity(field, prep.keys[field])
            rarity.append(np.log1p(counts))
            unknown[field] = int(unseen.sum())
        block = np.column_stack([prep.log_numeric, *rarity, np.log1p(prep.windows)])
        return block, unknown

    # --- sklearn API ----------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> OCSFFeaturizer:
        """Learn vocabularies, rarity tables and scaling statistics from training events.

        Parameters
        ----------
        X
            Flat DataFrame, one event dict or a list of dicts (nested OCSF or flat).
        y
            Ignored.

        Returns
        -------
        OCSFFeaturizer
            ``self``.
        """
        self.windows_ = self._check_params()
        prep = self._prepare(X, None, "X")
        self.vocabularies_ = {
            field: CategoricalVocabulary.fit(
                prep.keys[field], int(self.min_frequency), self.max_categories
            )
            for field in CATEGORICAL_FIELDS
        }
        self.rarity_ = {}
        for field in HASHED_FIELDS:
            keys = prep.keys[field]
            counts = np.bincount(keys.codes[keys.codes >= 0], minlength=len(keys.uniques))
            self.rarity_[field] = {
                "counts": {u: int(c) for u, c in zip(keys.uniques, counts, strict=True)},
                "missing": int(np.sum(keys.codes < 0)),
            }
        block, _ = self._scaled_block(prep)
        self.scaler_ = RobustScaler1D.fit(block)
        self.n_train_events_ = prep.n
        self._set_names()
        return self

    def _set_names(self) -> None:
        scaled = [
            *(f"num__log_{c}" for c in LOG_COLUMNS),
            *(f"num__{c}" for c in PLAIN_NUMERIC_COLUMNS),
            *(f"num__rarity_{f}" for f in HASHED_FIELDS),
            *(f"win__{s.name}" for s in self.windows_),
        ]
        bounded = [f"time__{n}" for n in TIME_FEATURE_NAMES] + [f"ip__{n}" for n, _ in _IP_COLUMNS]
        self.numeric_feature_names_ = scaled + bounded
        self.categorical_feature_names_ = [*CATEGORICAL_FIELDS, *HASHED_FIELDS]
        self.cardinalities_ = [self.vocabularies_[f].cardinality for f in CATEGORICAL_FIELDS] + [
            int(self.n_hash_buckets) + 1
        ] * len(HASHED_FIELDS)
        names = list(self.numeric_feature_names_)
        for field in CATEGORICAL_FIELDS:
            names += [f"cat__{field}={label}" for label in self.vocabularies_[field].labels()]
        for field in HASHED_FIELDS:
            names += [f"hash__{field}#{b}" for b in range(int(self.n_hash_buckets))]
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.n_features_out_ = len(names)

    def _split(self, X: Any, history: Any) -> tuple[FeatureSplit, dict[str, int]]:
        check_is_fitted(self, "scaler_")
        prep = self._prepare(X, history, "X")
        block, unknown = self._scaled_block(prep)
        numeric = np.column_stack([self.scaler_.transform(block), prep.bounded])
        codes = []
        for field in CATEGORICAL_FIELDS:
            c = self.vocabularies_[field].encode(prep.keys[field])
            unknown[field] = int(np.sum(c == UNKNOWN))
            codes.append(c)
        buckets = int(self.n_hash_buckets)
        for field in HASHED_FIELDS:
            keys = prep.keys[field]
            ubuckets = (
                np.asarray(stable_hash(keys.uniques), dtype=np.uint64) % np.uint64(buckets)
            ).astype(np.int64) + 1
            codes.append(np.append(ubuckets, 0)[keys.codes])
        categorical = np.column_stack(codes).astype(np.int64)
        split = FeatureSplit(numeric.astype(np.float32), categorical, prep.event_ids)
        ordered = {f: unknown[f] for f in (*CATEGORICAL_FIELDS, *HASHED_FIELDS)}
        return split, ordered

    def transform_split(self, X: Any, history: Any = None) -> FeatureSplit:
        """Numeric features and categorical codes, for neural models.

        Parameters
        ----------
        X
            Events to transform (DataFrame, dict or list of dicts). Never modified.
        history
            Optional earlier events, used only as context for the window features (their own
            rows are not returned). Without it, windows see only ``X`` and start empty.

        Returns
        -------
        FeatureSplit
        """
        split, _ = self._split(X, history)
        return split

    def transform(self, X: Any, history: Any = None) -> np.ndarray:
        """Dense ``float32`` matrix ``(n, n_features_out_)`` for classical detectors.

        Parameters
        ----------
        X, history
            As for :meth:`transform_split`.

        Returns
        -------
        numpy.ndarray
            Columns named by :meth:`get_feature_names_out`.
        """
        split = self.transform_split(X, history)
        n = split.numeric.shape[0]
        out = np.zeros((n, self.n_features_out_), dtype=np.float32)
        p = split.numeric.shape[1]
        out[:, :p] = split.numeric
        rows = np.arange(n)
        offset = p
        n_cat = len(CATEGORICAL_FIELDS)
        for j in range(n_cat):
            out[rows, offset + split.categorical[:, j]] = 1.0
            offset += self.cardinalities_[j]
        for j in range(n_cat, n_cat + len(HASHED_FIELDS)):
            codes = split.categorical[:, j]
            present = codes > 0
            out[rows[present], offset + codes[present] - 1] = 1.0
            offset += int(self.n_hash_buckets)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Readable names of the dense columns, e.g. ``cat__http_request.url.path=/api/orders``."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def count_unknown(self, X: Any) -> dict[str, int]:
        """Per categorical (and hashed) field, the number of values never seen in training.

        Missing values are not counted. Like every method after ``fit``, it does not change
        the featurizer.
        """
        _, unknown = self._split(X, None)
        return unknown

    # --- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write parameters and fitted state as JSON (no pickle); see :func:`save_featurizer`."""
        save_featurizer(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> OCSFFeaturizer:
        """Read a featurizer written by :meth:`save`; see :func:`load_featurizer`."""
        return load_featurizer(path)


def featurizer_file(fz: OCSFFeaturizer) -> FeaturizerFile:
    """The validated :class:`~anomaly_tutorial.features.persistence.FeaturizerFile` of ``fz``."""
    if not hasattr(fz, "scaler_"):
        raise ValueError("only a fitted OCSFFeaturizer can be saved; call fit first")
    data = {
        "format": FORMAT,
        "version": VERSION,
        "params": {
            "min_frequency": int(fz.min_frequency),
            "max_categories": None if fz.max_categories is None else int(fz.max_categories),
            "n_hash_buckets": int(fz.n_hash_buckets),
            "windows": [spec.to_dict() for spec in fz.windows_],
            "template_url_paths": bool(fz.template_url_paths),
        },
        "state": {
            "vocabularies": {
                field: {"values": list(v.values), "rare_values": list(v.rare_values)}
                for field, v in fz.vocabularies_.items()
            },
            "rarity": {
                field: {
                    "counts": sorted((k, int(c)) for k, c in table["counts"].items()),
                    "missing": int(table["missing"]),
                }
                for field, table in fz.rarity_.items()
            },
            "scaler": {
                "medians": [float(m) for m in fz.scaler_.medians],
                "scales": [float(s) for s in fz.scaler_.scales],
            },
            "n_train_events": int(fz.n_train_events_),
        },
    }
    return FeaturizerFile.model_validate(data)


def _key_problems(key: str, found: Sequence[str], expected: Sequence[str]) -> list[tuple[str, str]]:
    problems = [
        (f"{key}.{name}", "required key is missing") for name in expected if name not in found
    ]
    problems += [
        (f"{key}.{name}", f"unexpected key; expected only {list(expected)}")
        for name in found
        if name not in expected
    ]
    return problems


def featurizer_from_file(saved: FeaturizerFile, path: str | os.PathLike[str]) -> OCSFFeaturizer:
    """Rebuild the fitted featurizer of a validated file, checking that its parts agree.

    Raises
    ------
    SavedFileError
        Naming the key when the fields are not exactly the featurizer's, a vocabulary repeats
        a value, the windows are inconsistent or the scaler's size does not match the features.
    """
    state = saved.state
    problems = _key_problems("state.vocabularies", list(state.vocabularies), CATEGORICAL_FIELDS)
    problems += _key_problems("state.rarity", list(state.rarity), HASHED_FIELDS)
    for field, vocab in state.vocabularies.items():
        seen = [*vocab.values, *vocab.rare_values]
        if len(set(seen)) != len(seen):
            repeated = next(v for v in seen if seen.count(v) > 1)
            problems.append(
                (
                    f"state.vocabularies.{field}",
                    f"expected distinct values, found {repeated!r} twice",
                )
            )
    for field, table in state.rarity.items():
        values = [value for value, _ in table.counts]
        if len(set(values)) != len(values):
            problems.append((f"state.rarity.{field}.counts", "expected distinct values"))
    windows = tuple(WindowSpec(**w.model_dump()) for w in saved.params.windows)
    params = saved.params.model_dump()
    params["windows"] = windows
    fz = OCSFFeaturizer(**params)
    try:
        fz.windows_ = fz._check_params()
    except (TypeError, ValueError) as exc:
        problems.append(("params.windows", str(exc)))
    if problems:
        raise SavedFileError(path, problems)
    fz.vocabularies_ = {
        field: CategoricalVocabulary(values=list(v.values), rare_values=list(v.rare_values))
        for field, v in state.vocabularies.items()
    }
    fz.rarity_ = {
        field: {"counts": dict(t.counts), "missing": int(t.missing)}
        for field, t in state.rarity.items()
    }
    fz.scaler_ = RobustScaler1D(
        medians=list(state.scaler.medians), scales=list(state.scaler.scales)
    )
    fz.n_train_events_ = int(state.n_train_events)
    fz._set_names()
    n_scaled = sum(n.startswith(("num__", "win__")) for n in fz.numeric_feature_names_)
    for key in ("medians", "scales"):
        found = len(getattr(state.scaler, key))
        if found != n_scaled:
            problems.append(
                (
                    f"state.scaler.{key}",
                    f"expected {n_scaled} values (one per scaled feature), found {found}",
                )
            )
    if problems:
        raise SavedFileError(path, problems)
    return fz


def save_featurizer(fz: OCSFFeaturizer, path: str | os.PathLike[str]) -> None:
    """Write a fitted featurizer to ``path`` as JSON, atomically (no pickle).

    The file is validated against
    :class:`~anomaly_tutorial.features.persistence.FeaturizerFile` before it is written, and
    replaces an existing file only once complete.
    """
    write_featurizer_file(featurizer_file(fz), path)


def load_featurizer(path: str | os.PathLike[str]) -> OCSFFeaturizer:
    """Read and validate a featurizer written by :func:`save_featurizer`.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ~anomaly_tutorial.features.persistence.SavedFileError
        If the file is truncated, not a saved featurizer, or any key is missing, unexpected or
        of the wrong type or value (a NaN median, a scale <= 0, numbers where strings are
        expected); the message names the path, the key, what was expected and what was found.
    """
    return featurizer_from_file(read_featurizer_file(path), path)
