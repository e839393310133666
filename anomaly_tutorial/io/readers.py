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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow.parquet as pq
from pydantic import ValidationError

from anomaly_tutorial.io.errors import BadRecord, OCSFValidationError
from anomaly_tutorial.io.frame import (
    apply_flat_dtypes,
    events_to_frame,
    labels_from_unmapped,
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
        Number of records read: ``len(events) + len(quarantined)``.
    """

    events: pd.DataFrame
    quarantined: list[BadRecord] = field(default_factory=list)
    n_records: int = 0


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _finish(frame: pd.DataFrame, bad: list[BadRecord], n_records: int, on_error: str) -> LoadResult:
    if bad and on_error == "raise":
        raise OCSFValidationError(bad, n_records)
    return LoadResult(events=frame, quarantined=bad, n_records=n_records)


def _open_lines(path: Path) -> list[bytes]:
    with path.open("rb") as handle:
        magic = handle.read(2)
    opener = gzip.open if magic == _GZIP_MAGIC else open
    with opener(path, "rb") as handle:
        return handle.read().splitlines()


def _validate_clean(lines: list[tuple[int, bytes]]) -> list[dict[str, Any]] | None:
    """Parse and validate all lines in one pydantic-core call, or ``None`` if any is bad.

    The lines are joined into one JSON array; pydantic parses and validates it without
    building intermediate Python objects. Any problem (or a line holding more than one JSON
    value) returns ``None`` and :func:`_validate_lines` then finds and reports each bad line.
    """
    blob = b"[" + b",".join(line for _, line in lines) + b"]"
    try:
        with paused_gc():
            valid = EVENTS_ADAPTER.validate_json(blob)
    except ValidationError:
        return None
    return valid if len(valid) == len(lines) else None


def _validate_lines(
    lines: list[tuple[int, bytes]],
) -> tuple[list[dict[str, Any]], list[BadRecord]]:
    """Parse and validate line by line, reporting every bad line."""
    bad: list[BadRecord] = []
    objects: list[dict[str, Any]] = []
    numbers: list[int] = []
    for number, line in lines:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raw = line.decode("utf-8", errors="replace")
            bad.append(BadRecord(number, None, f"not valid UTF-8: {exc.reason}", raw))
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = f"not valid JSON: {exc.msg} at column {exc.colno}"
            bad.append(BadRecord(number, None, problem, text))
            continue
        if not isinstance(value, dict):
            kind = "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)
            bad.append(BadRecord(number, None, f"not a JSON object but a JSON {kind}", text))
            continue
        objects.append(value)
        numbers.append(number)
    _, valid, invalid = validate_numbered(objects, numbers)
    return valid, sorted(bad + invalid, key=lambda record: record.record_number)


def read_ocsf_jsonl(
    path: str | Path, *, on_error: OnError = "raise", labels: Labels = "unmapped"
) -> LoadResult:
    """Read and validate OCSF events from a JSON Lines file (one JSON object per line).

    Gzip-compressed files (``.jsonl.gz``) are recognised by their content and read too.
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
    OCSFValidationError
        With ``on_error="raise"``, if a line is not valid UTF-8, not JSON, not a JSON object,
        or fails the model of its class.
    """
    _check_choice("on_error", on_error, ("raise", "quarantine"))
    _check_choice("labels", labels, ("unmapped", "columns"))
    lines = [(n, line) for n, line in enumerate(_open_lines(Path(path)), 1) if line.strip()]
    fast = _validate_clean(lines)
    if fast is not None:
        valid, bad = fast, []
    else:
        valid, bad = _validate_lines(lines)
    frame = events_to_frame(valid)
    if labels == "columns":
        frame = labels_from_unmapped(frame)
    return _finish(frame, bad, len(lines), on_error)


def read_ocsf_parquet(path: str | Path, *, on_error: OnError = "raise") -> LoadResult:
    """Read and validate a flat OCSF frame from a parquet file.

    Each row is turned back into a nested event as by
    :func:`~anomaly_tutorial.ocsf.unflatten_event` and validated with the same models as
    JSONL; the ``record_number`` of a bad record is its 1-based row number. Label columns
    (:data:`~anomaly_tutorial.ocsf.LABEL_COLUMNS`) and any other columns are kept unchanged.

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
    """
    _check_choice("on_error", on_error, ("raise", "quarantine"))
    table = pq.read_table(Path(path))
    frame = table.to_pandas()
    rows = table.to_pylist()
    events: list[Any] = []
    numbers: list[int] = []
    bad: list[BadRecord] = []
    paths: dict[str, list[str]] = {}
    with paused_gc():
        for number, row in enumerate(rows, start=1):
            try:
                events.append(unflatten_row(row, paths))
            except ValueError as exc:
                bad.append(BadRecord(number, None, str(exc), row))
                events.append(None)
            numbers.append(number)
    ok = [i for i, event in enumerate(events) if event is not None]
    positions, _, invalid = validate_numbered(
        [events[i] for i in ok], [numbers[i] for i in ok], [rows[i] for i in ok]
    )
    bad = sorted(bad + invalid, key=lambda record: record.record_number)
    kept = frame.iloc[[ok[p] for p in positions]].reset_index(drop=True)
    return _finish(apply_flat_dtypes(kept), bad, len(rows), on_error)
