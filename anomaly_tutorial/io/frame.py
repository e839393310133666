"""The flat frame: nested events to a DataFrame with the :data:`~anomaly_tutorial.ocsf.FLAT_COLUMNS`
dtypes, and moving ground-truth labels between their flat columns and ``unmapped``."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial import ocsf
from anomaly_tutorial.io.errors import quote

#: Where the ground-truth label columns live in a nested (JSONL) event.
LABEL_PREFIX = "unmapped.ground_truth."

_NESTED_ID_PATH = "metadata.uid"
_LEAF_TYPES = frozenset({str, int, float, bool, type(None), list})

#: Deepest nesting of objects accepted in an event (OCSF events need fewer than 10 levels).
MAX_DEPTH = 64
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class LeafProblem(ValueError):
    """A value that no flat column can hold; raised by :func:`flatten_checked`.

    Attributes
    ----------
    field
        Dotted path of the value.
    problem
        What is wrong, in words.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"field {field!r}: {problem}")


def leaf_problem(value: Any) -> str | None:
    """Why a JSON leaf cannot go into the flat frame, or ``None`` (see :func:`flatten_checked`)."""
    kind = type(value)
    if kind is str:
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = value[exc.start : exc.start + 1]
                return (
                    f"contains a lone surrogate ({bad.encode('unicode_escape').decode()}) at "
                    f"character {exc.start}, which is not valid Unicode"
                )
    elif kind is float:
        if value - value != 0.0:  # inf - inf and nan - nan are nan
            return f"expected a finite number, found {value!r}"
    elif kind is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            return f"{quote(value)} does not fit in a signed 64-bit integer"
    elif kind is list:
        for item in value:
            if type(item) in (str, float, int):
                problem = leaf_problem(item)
                if problem is not None:
                    return f"an element {problem}"
    return None


def flatten_checked(event: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten one nested event, refusing values that the flat frame cannot hold.

    Like :func:`anomaly_tutorial.ocsf.flatten_event`, with every leaf checked: strings must be
    valid Unicode (no lone surrogate), floats finite, integers within int64, objects nested at
    most :data:`MAX_DEPTH` deep. The checks cover fields outside the schemas too, because every
    field becomes a column.

    Raises
    ------
    LeafProblem
        For the first offending value, with its dotted path.
    """
    flat: dict[str, Any] = {}

    def walk(prefix: str, node: Mapping[str, Any], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise LeafProblem(prefix, f"objects are nested more than {MAX_DEPTH} levels deep")
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            kind = type(value)
            if kind is dict or (kind not in _LEAF_TYPES and isinstance(value, Mapping)):
                if value:
                    walk(path, value, depth + 1)
                    continue
            elif kind is not bool and kind is not type(None):
                problem = leaf_problem(value)
                if problem is not None:
                    raise LeafProblem(path, problem)
            flat[path] = value

    walk("", event, 1)
    if _NESTED_ID_PATH in flat:
        flat[ocsf.ID_COLUMN] = flat.pop(_NESTED_ID_PATH)
    return flat


def python_values(value: Any, depth: int = 0) -> Any:
    """``value`` with numpy scalars turned into Python ones and mappings into dicts, recursively.

    Below :data:`MAX_DEPTH` levels the value is returned as it is (and then refused by
    :func:`flatten_checked`).
    """
    if isinstance(value, Mapping):
        if depth > MAX_DEPTH:
            return value
        return {key: python_values(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list) and depth <= MAX_DEPTH:
        return [python_values(item, depth + 1) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def frame_from_flat(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The flat frame of rows already flattened by :func:`flatten_checked`."""
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    return apply_flat_dtypes(frame.reset_index(drop=True))


#: Dtype of each label column in a flat frame read back from JSONL, as in the generator's
#: frame, except that ``is_anomaly`` is the nullable ``boolean`` only when some values are
#: missing (``bool`` otherwise) and ``incident_id`` becomes ``Int64`` when every value in the
#: file is an integer.
LABEL_DTYPES: dict[str, str] = {
    "is_anomaly": "bool",
    "anomaly_type": "string",
    "anomaly_kind": "string",
    "incident_id": "string",
}


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many small objects.

    Validating or flattening 100,000 events allocates millions of dicts; without the pause the
    collector repeatedly walks every live object, which more than doubles the time. The
    collector is switched back on afterwards (only if it was on before); memory is unaffected
    because these objects hold no reference cycles and are freed by reference counting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def apply_flat_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every FLAT_COLUMNS column, in that order and with those dtypes.

    Columns of :data:`~anomaly_tutorial.ocsf.FLAT_COLUMNS` that ``frame`` lacks are added as
    all-missing columns; the other columns of ``frame`` follow, unchanged and in their order.

    Raises
    ------
    ValueError
        If a column cannot be converted to its dtype; the message names the column.
    """
    n = len(frame)
    columns: dict[str, Any] = {}
    for name, dtype in ocsf.FLAT_COLUMNS.items():
        if name not in frame.columns:
            columns[name] = pd.Series(pd.array([None] * n, dtype=dtype), index=frame.index)
            continue
        try:
            columns[name] = frame[name].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {name!r}: cannot convert to {dtype}: {exc}") from exc
    for name in frame.columns:
        if name not in columns:
            columns[name] = frame[name]
    return pd.DataFrame(columns, index=frame.index)


def unflatten_row(row: Mapping[str, Any], paths: dict[str, list[str]]) -> dict[str, Any]:
    """:func:`anomaly_tutorial.ocsf.unflatten_event` for rows of plain Python values, faster.

    Same output and errors for rows whose values are Python objects (as from
    ``pyarrow.Table.to_pylist``): ``None`` and float NaN are left out, ``event_id`` becomes
    ``metadata.uid``. ``paths`` caches the split column names between rows (pass the same
    dict for every row of a frame).
    """
    nested: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or (type(value) is float and value != value):
            continue
        parts = paths.get(key)
        if parts is None:
            parts = paths[key] = (_NESTED_ID_PATH if key == ocsf.ID_COLUMN else str(key)).split(".")
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if type(child) is not dict:
                raise ValueError(
                    f"field {'.'.join(parts)!r}: {part!r} is both a value and an object in this row"
                )
            node = child
        if type(node.get(parts[-1])) is dict:
            raise ValueError(f"field {'.'.join(parts)!r} is both a value and an object in this row")
        node[parts[-1]] = value
    return nested


def events_to_frame(events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Flatten nested OCSF events into the flat frame.

    Parameters
    ----------
    events
        Nested events, for example the valid events from
        :func:`~anomaly_tutorial.io.validate_events`.

    Returns
    -------
    pandas.DataFrame
        One row per event: all :data:`~anomaly_tutorial.ocsf.FLAT_COLUMNS` first (in that order,
        with those dtypes; missing for classes that lack them), then every other field of the
        input as an extra column named by its dotted path, in order of first appearance.

    Raises
    ------
    ValueError
        Naming the event (1-based) and the field of a value no column can hold (see
        :func:`flatten_checked`).
    """
    flat = []
    with paused_gc():
        for number, event in enumerate(events, start=1):
            try:
                flat.append(flatten_checked(event))
            except LeafProblem as exc:
                raise ValueError(f"event {number}: {exc}") from None
    return frame_from_flat(flat)


def labels_to_unmapped(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename the label columns ``is_anomaly`` ... to ``unmapped.ground_truth.is_anomaly`` ...

    This is how :func:`~anomaly_tutorial.io.write_ocsf_jsonl` stores ground truth: OCSF keeps
    fields outside the schema under ``unmapped``.
    """
    present = {c: LABEL_PREFIX + c for c in ocsf.LABEL_COLUMNS if c in frame.columns}
    clash = [new for new in present.values() if new in frame.columns]
    if clash:
        raise ValueError(
            f"columns {clash} already exist; cannot move the label columns under 'unmapped'"
        )
    return frame.rename(columns=present)


def labels_from_unmapped(
    frame: pd.DataFrame, dtypes: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Rename ``unmapped.ground_truth.<label>`` columns back to the label columns.

    The inverse of :func:`labels_to_unmapped`, for frames read from JSONL (or use
    ``read_ocsf_jsonl(path, labels="columns")``). The label columns are placed right after the
    :data:`~anomaly_tutorial.ocsf.FLAT_COLUMNS` and cast to :data:`LABEL_DTYPES` (or ``dtypes``).

    Parameters
    ----------
    frame
        A flat frame.
    dtypes
        Dtype per label column, overriding :data:`LABEL_DTYPES`.

    Returns
    -------
    pandas.DataFrame
        A new frame; columns other than the labels are unchanged.
    """
    wanted = dict(LABEL_DTYPES)
    if dtypes is not None:
        wanted.update(dtypes)
    renamed = {LABEL_PREFIX + c: c for c in ocsf.LABEL_COLUMNS if LABEL_PREFIX + c in frame.columns}
    clash = [c for c in renamed.values() if c in frame.columns]
    if clash:
        raise ValueError(f"columns {clash} exist both as labels and under 'unmapped.ground_truth'")
    out = frame.rename(columns=renamed)
    for label in renamed.values():
        dtype = wanted[label]
        column = out[label]
        overridden = dtypes is not None and label in dtypes
        if label == "incident_id" and not overridden and _all_integers(column):
            dtype = "Int64"
        if label == "is_anomaly" and not overridden and column.isna().any():
            dtype = "boolean"
        try:
            out[label] = column.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {label!r}: cannot convert to {dtype}: {exc}") from exc
    flat = [c for c in out.columns if c in ocsf.FLAT_COLUMNS]
    labels = [c for c in ocsf.LABEL_COLUMNS if c in renamed.values()]
    rest = [c for c in out.columns if c not in ocsf.FLAT_COLUMNS and c not in labels]
    return out[flat + labels + rest]


def _all_integers(column: pd.Series) -> bool:
    """Whether every non-missing value of ``column`` is an integer (JSON numbers read back)."""
    values = column.dropna()
    if len(values) == 0 or pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_integer_dtype(values):
        return True
    if pd.api.types.is_float_dtype(values):
        return bool((values == values.round()).all())
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values.tolist())
