"""Readers of OCSF events from JSONL and parquet files, with validation.

Both readers validate every record with the models of :mod:`anomaly_tutorial.io.schema` and
return a :class:`LoadResult`. With ``on_error="raise"`` (the default) any bad record raises an
:class:`~anomaly_tutorial.io.OCSFValidationError` listing the bad records; with
``on_error="quarantine"`` the bad records are returned in :attr:`LoadResult.quarantined` and the
valid ones in :attr:`LoadResult.events`. No record is ever dropped silently.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import ValidationError

from anomaly_tutorial import ocsf
from anomaly_tutorial.io.errors import BadRecord, OCSFFileError, OCSFValidationError
from anomaly_tutorial.io.frame import (
    LABEL_DTYPES,
    LABEL_PREFIX,
    LeafProblem,
    apply_flat_dtypes,
    flatten_checked,
    frame_from_flat,
    labels_from_unmapped,
    leaf_problem,
    paused_gc,
    unflatten_row,
)
from anomaly_tutorial.io.schema import EVENTS_ADAPTER
from anomaly_tutorial.io.validation import validate_numbered

OnError = Literal["raise", "quarantine"]
Labels = Literal["unmapped", "columns"]

_GZIP_MAGIC = b"\x1f\x8b"
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


@dataclass
class LoadResult:
    """What a reader returns.

    Attributes
    ----------
    events
        Flat frame of the valid events: every :data:`~anomaly_tutorial.ocsf.FLAT_COLUMNS`
        column first (that order and dtype), then every other field of the input.
    quarantined
        The bad records, in record order; empty when every record is valid.
    n_records
        Number of records read: always ``len(events) + len(quarantined)``.
    """

    events: pd.DataFrame
    quarantined: list[BadRecord] = field(default_factory=list)
    n_records: int = 0


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _finish(
    frame: pd.DataFrame, bad: list[BadRecord], n_records: int, on_error: str, path: Path
) -> LoadResult:
    if len(frame) + len(bad) != n_records:  # pragma: no cover - a bug, never bad input
        raise AssertionError(
            f"{path}: {len(frame)} valid + {len(bad)} quarantined != {n_records} records read"
        )
    if bad and on_error == "raise":
        raise OCSFValidationError(bad, n_records, source=str(path))
    return LoadResult(events=frame, quarantined=bad, n_records=n_records)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip; errors name the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise OCSFFileError(path, f"cannot be read: {exc.strerror or exc}") from exc
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise OCSFFileError(
            path, f"is not a readable gzip file (corrupt or truncated): {exc}"
        ) from exc


def _not_json(number: int, line: bytes, error: ValidationError) -> BadRecord | dict[str, Any]:
    """Report a line pydantic could not parse as JSON, or its flat row if Python's parser can.

    Python's :mod:`json` accepts two things pydantic's parser refuses: lone surrogate escapes
    (``"\\ud800"``) and nesting deeper than pydantic's limit. Both are then found and reported
    with their field by :func:`validate_numbered`; anything that passes there is valid.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raw = line.decode("utf-8", errors="replace")
        return BadRecord(number, None, f"not valid UTF-8: {exc.reason} at byte {exc.start}", raw)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        message = exc.msg.removesuffix(" at")  # "Unterminated string starting at"
        return BadRecord(number, None, f"not valid JSON: {message} at column {exc.colno}", text)
    except RecursionError:
        return BadRecord(
            number, None, f"not valid JSON: nested too deeply ({_detail(error)})", text
        )
    except ValueError:  # e.g. an integer of more than 4300 digits
        return BadRecord(number, None, f"not valid JSON: {_detail(error)}", text)
    if not isinstance(value, dict):
        kind = "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)
        return BadRecord(number, None, f"not a JSON object but a JSON {kind}", text)
    _, valid, invalid = validate_numbered([value], [number], [value], flatten=True)
    return invalid[0] if invalid else valid[0]


def _detail(error: ValidationError) -> str:
    """Pydantic's own description of a JSON syntax error, without its prefix."""
    for item in error.errors(include_url=False):
        if item["type"] == "json_invalid":
            return str(item["msg"]).removeprefix("Invalid JSON: ")[:200]
    return "unreadable JSON"  # pragma: no cover - only called for json_invalid errors


def _check_line(number: int, line: bytes) -> BadRecord | dict[str, Any]:
    """Validate one line: its flat row, or the :class:`BadRecord` saying what is wrong.

    The line alone is parsed (wrapped in ``[...]``, so that it must hold exactly one JSON
    value and nothing can run over into the next line), validated with the class schema, and
    flattened with every value checked.
    """
    try:
        events = EVENTS_ADAPTER.validate_json(b"[" + line + b"]")
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            return _not_json(number, line, exc)
        text = line.decode("utf-8")
        value = json.loads(text)
        if not isinstance(value, dict):
            kind = "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)
            return BadRecord(number, None, f"not a JSON object but a JSON {kind}", text)
        _, valid, invalid = validate_numbered([value], [number], [value], flatten=True)
        return invalid[0] if invalid else valid[0]
    if len(events) != 1:
        return BadRecord(
            number,
            None,
            f"the line holds {len(events)} JSON values; expected exactly one object per line",
            line.decode("utf-8", errors="replace"),
        )
    try:
        return flatten_checked(events[0])
    except LeafProblem as exc:
        return BadRecord(number, exc.field, exc.problem, _parsed(line))


def _parsed(line: bytes) -> str | dict[str, Any]:
    """The parsed object of a line that parses (for :attr:`BadRecord.raw`), else its text."""
    text = line.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return value if isinstance(value, dict) else text


_LABEL_TYPES: dict[str, tuple[type, ...]] = {
    "is_anomaly": (bool,),
    "anomaly_type": (str,),
    "anomaly_kind": (str,),
    "incident_id": (str, int),
}


def _label_problem(label: str, value: Any) -> str | None:
    if value is None or (type(value) is float and value != value):
        return None
    allowed = _LABEL_TYPES.get(label)
    if allowed is None or type(value) in allowed:
        return None
    names = " or ".join({bool: "a boolean", str: "a string", int: "an integer"}[t] for t in allowed)
    return f"expected {names}, found {value!r}"[:200]


def read_ocsf_jsonl(
    path: str | Path, *, on_error: OnError = "raise", labels: Labels = "unmapped"
) -> LoadResult:
    """Read and validate OCSF events from a JSON Lines file (one JSON object per line).

    Gzip-compressed files (``.jsonl.gz``) are recognised by their content and read too; a
    UTF-8 byte-order mark at the start of the file is skipped. Each line is parsed on its
    own and must hold exactly one JSON object: an event split over two lines, or two events
    on one line, are bad records, never merged or split.
    Blank lines (empty or only whitespace) are skipped and are not records, but they still
    count as lines, so the ``record_number`` of a bad record is always its line number in the
    file and ``n_records`` is the number of non-blank lines.

    Parameters
    ----------
    path
        The file.
    on_error
        ``"raise"`` (default): raise :class:`~anomaly_tutorial.io.OCSFValidationError` if any
        record is bad. ``"quarantine"``: return bad records in ``quarantined``.
    labels
        Ground-truth labels are stored under ``unmapped.ground_truth`` in JSONL (see
        :func:`~anomaly_tutorial.io.write_ocsf_jsonl`). ``"unmapped"`` (default) leaves them
        as the columns ``unmapped.ground_truth.is_anomaly`` ...; ``"columns"`` moves them to
        :data:`~anomaly_tutorial.ocsf.LABEL_COLUMNS` like
        :func:`~anomaly_tutorial.io.labels_from_unmapped`.

    Returns
    -------
    LoadResult
        Valid events as a flat frame, bad records and the number of records.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    OCSFFileError
        If the file cannot be read at all (a corrupt or truncated gzip file); the message
        starts with the file's name.
    OCSFValidationError
        With ``on_error="raise"``, if a line is not valid UTF-8, not exactly one JSON object,
        fails the model of its class or holds a value no flat column can hold (a non-finite
        number, an integer beyond int64, a lone surrogate, nesting deeper than 64 levels). The
        message names the file. With ``"quarantine"`` each such line is one
        :class:`~anomaly_tutorial.io.BadRecord` with its line number and field, and the rest of
        the file loads.
    """
    _check_choice("on_error", on_error, ("raise", "quarantine"))
    _check_choice("labels", labels, ("unmapped", "columns"))
    path = Path(path)
    data = _read_bytes(path).removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
    lines = [(n, line) for n, line in enumerate(data.splitlines(), 1) if line.strip()]
    rows: list[dict[str, Any]] = []
    bad: list[BadRecord] = []
    with paused_gc():
        for number, line in lines:
            checked = _check_line(number, line)
            if type(checked) is dict:
                if labels == "columns" and (label_bad := _bad_label(number, checked, line)):
                    bad.append(label_bad)
                    continue
                rows.append(checked)
            else:
                bad.append(checked)
    frame = frame_from_flat(rows)
    if labels == "columns":
        frame = labels_from_unmapped(frame)
    return _finish(frame, bad, len(lines), on_error, path)


def _bad_label(number: int, row: dict[str, Any], line: bytes) -> BadRecord | None:
    """A record whose ground-truth label cannot go into its label column, else ``None``."""
    for label in LABEL_DTYPES:
        problem = _label_problem(label, row.get(LABEL_PREFIX + label))
        if problem is not None:
            return BadRecord(number, LABEL_PREFIX + label, problem, _parsed(line))
    return None


def _flat_table(table: pa.Table, path: Path) -> pa.Table:
    """Flatten struct columns (``metadata`` -> ``metadata.uid`` ...) as data lakes store OCSF.

    ``metadata.uid`` becomes ``event_id``; a ``time`` column of parquet's timestamp type is
    converted to epoch milliseconds (its unit is in the type, so nothing is guessed).
    """
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    names = table.column_names
    if "metadata.uid" in names:
        if ocsf.ID_COLUMN in names:
            raise OCSFFileError(
                path, "has both 'event_id' and 'metadata.uid' columns; keep one of them"
            )
        table = table.rename_columns([ocsf.ID_COLUMN if n == "metadata.uid" else n for n in names])
    if "time" in table.column_names:
        position = table.column_names.index("time")
        column = table.column(position)
        if pa.types.is_timestamp(column.type):
            millis = pc.cast(pc.cast(column, pa.timestamp("ms", tz=column.type.tz)), pa.int64())
            table = table.set_column(position, "time", millis)
    duplicated = sorted({n for n in table.column_names if table.column_names.count(n) > 1})
    if duplicated:
        raise OCSFFileError(path, f"has duplicated columns {duplicated} after flattening")
    known = [n for n in table.column_names if n in ocsf.FLAT_COLUMNS]
    if not known:
        found = ", ".join(repr(n) for n in table.column_names[:10]) or "none"
        raise OCSFFileError(
            path,
            "has no OCSF column: expected flat columns such as 'class_uid' and 'time' (or "
            f"nested structs such as 'metadata' and 'src_endpoint'), found {found}",
        )
    return table


def _column_problems(table: pa.Table) -> dict[int, tuple[str, str]]:
    """The value checks of :func:`flatten_checked`, done column by column with arrow.

    Parquet strings are UTF-8 and integer columns other than ``uint64`` fit in int64 by their
    type, so only infinite floats, ``uint64`` values beyond int64 and the elements of list
    columns need a look. Returns ``{row position: (column, problem)}``, the first problem of
    each row.
    """
    found: dict[int, tuple[str, str]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_floating(kind):
            mask = pc.fill_null(pc.is_inf(column), False)
        elif pa.types.is_uint64(kind):
            mask = pc.fill_null(pc.greater(column, pa.scalar(2**63 - 1, pa.uint64())), False)
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            for row, value in enumerate(column.to_pylist()):
                if value is not None and row not in found:
                    problem = leaf_problem(value)
                    if problem is not None:
                        found[row] = (name, problem)
            continue
        else:
            continue
        rows = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))
        for row in rows.tolist():
            if row not in found:
                found[row] = (name, leaf_problem(column[row].as_py()) or "invalid value")
    return found


def read_ocsf_parquet(path: str | Path, *, on_error: OnError = "raise") -> LoadResult:
    """Read and validate OCSF events from a parquet file, flat or nested.

    Both layouts are read: the flat frame this package writes (columns ``src_endpoint.ip``
    ...) and the nested layout of security data lakes, where objects are struct columns
    (``src_endpoint`` with children ``ip``, ``port``); structs are flattened to dotted columns.
    Each row is turned back into a nested event as by
    :func:`~anomaly_tutorial.ocsf.unflatten_event` and validated with the same models and
    value checks as JSONL; the ``record_number`` of a bad record is its 1-based row number.
    Label columns (:data:`~anomaly_tutorial.ocsf.LABEL_COLUMNS`) and any other columns are
    kept unchanged.

    Parameters
    ----------
    path
        The file.
    on_error
        ``"raise"`` (default) or ``"quarantine"``, as in :func:`read_ocsf_jsonl`.

    Returns
    -------
    LoadResult
        The valid rows (FLAT_COLUMNS first with their dtypes, then the other columns as
        stored), the bad records and the number of rows.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    OCSFFileError
        If the file is not readable parquet (corrupt, truncated, another format) or has no
        column that maps to an OCSF field; the message starts with the file's name.
    OCSFValidationError
        With ``on_error="raise"``, if a row is bad.
    """
    _check_choice("on_error", on_error, ("raise", "quarantine"))
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise OCSFFileError(
            path, f"is not a readable parquet file (corrupt or truncated?): {exc}"
        ) from exc
    table = _flat_table(table, path)
    try:
        rows = table.to_pylist()
        try:
            frame = table.to_pandas()
        except (TypeError, ValueError):
            # the pandas dtypes stored in the file do not fit its columns (a bool column where
            # the metadata says Int64): build the frame from the arrow types alone; the rows
            # are validated one by one below either way
            frame = table.to_pandas(ignore_metadata=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise OCSFFileError(path, f"has values pandas cannot hold: {exc}") from exc
    events: list[Any] = []
    numbers: list[int] = []
    bad: list[BadRecord] = []
    paths: dict[str, list[str]] = {}
    value_problems = _column_problems(table)
    with paused_gc():
        for number, row in enumerate(rows, start=1):
            numbers.append(number)
            if number - 1 in value_problems:
                column, problem = value_problems[number - 1]
                bad.append(BadRecord(number, column, problem, row))
                events.append(None)
                continue
            try:
                events.append(unflatten_row(row, paths))
            except ValueError as exc:
                bad.append(BadRecord(number, None, str(exc), row))
                events.append(None)
    ok = [i for i, event in enumerate(events) if event is not None]
    positions, _, invalid = validate_numbered(
        [events[i] for i in ok],
        [numbers[i] for i in ok],
        [rows[i] for i in ok],
        check_values=False,  # done above, column by column
    )
    bad = sorted(bad + invalid, key=lambda record: record.record_number)
    kept = frame.iloc[np.asarray([ok[p] for p in positions], dtype=np.int64)]
    try:
        events_frame = apply_flat_dtypes(kept.reset_index(drop=True))
    except ValueError as exc:  # pragma: no cover - validated rows always fit; a safety net
        raise OCSFFileError(path, str(exc)) from exc
    return _finish(events_frame, bad, len(rows), on_error, path)
