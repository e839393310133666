"""Writers of OCSF events to JSONL (nested, one object per line) and parquet (flat frame)."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa

from anomaly_tutorial import ocsf
from anomaly_tutorial.io.frame import events_to_frame, labels_to_unmapped, unflatten_row


def _json_default(value: Any) -> Any:
    item = getattr(value, "item", None)
    if item is not None:
        return item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} is not JSON serialisable")


@contextmanager
def _atomic(path: Path, mode: str) -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path`` and move it into place when done."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(tmp, mode) as handle:
                yield handle
        else:
            with tmp.open(mode) as handle:
                yield handle
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _nested_events(events: Iterable[Mapping[str, Any]] | pd.DataFrame) -> Iterable[Any]:
    if isinstance(events, pd.DataFrame):
        frame = labels_to_unmapped(events)
        try:
            # arrow turns every missing value into None and numpy scalars into Python ones,
            # several times faster than DataFrame.to_dict
            rows = pa.Table.from_pandas(frame, preserve_index=False).to_pylist()
        except pa.ArrowException:
            return (ocsf.unflatten_event(row) for row in frame.to_dict("records"))
        paths: dict[str, list[str]] = {}
        return (unflatten_row(row, paths) for row in rows)
    return events


def write_ocsf_jsonl(events: Iterable[Mapping[str, Any]] | pd.DataFrame, path: str | Path) -> int:
    """Write OCSF events as JSON Lines, one nested event per line.

    Parameters
    ----------
    events
        Nested events (dicts), or a flat frame whose rows are turned into nested events with
        :func:`~anomaly_tutorial.ocsf.unflatten_event` (missing values are left out). The
        label columns of a flat frame (:data:`~anomaly_tutorial.ocsf.LABEL_COLUMNS`) are
        written under ``unmapped.ground_truth``. The frame's index is not written.
    path
        Output file; a name ending in ``.gz`` is gzip-compressed. The file is replaced only
        once every record has been written.

    Returns
    -------
    int
        Number of records written.

    Raises
    ------
    ValueError
        If a record cannot be written as JSON (NaN or infinite floats, unknown types); the
        message gives the 1-based record number.
    """
    path = Path(path)
    n = 0
    with _atomic(path, "wt") as handle:
        for n, event in enumerate(_nested_events(events), start=1):
            try:
                line = json.dumps(event, allow_nan=False, default=_json_default, ensure_ascii=False)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"record {n}: cannot be written as JSON: {exc}") from exc
            handle.write(line)
            handle.write("\n")
    return n


def write_ocsf_parquet(
    frame_or_events: pd.DataFrame | Iterable[Mapping[str, Any]], path: str | Path
) -> int:
    """Write a flat OCSF frame (or nested events, flattened first) to parquet.

    Parameters
    ----------
    frame_or_events
        A flat frame, written as given (all columns, label columns included, with their
        dtypes; the index is not written), or nested events, which
        :func:`~anomaly_tutorial.io.events_to_frame` flattens first.
    path
        Output file, replaced only once it has been written completely.

    Returns
    -------
    int
        Number of rows written.

    Raises
    ------
    ValueError
        If a column cannot be stored in parquet (for example mixed types); the message names it.
    """
    frame = (
        frame_or_events
        if isinstance(frame_or_events, pd.DataFrame)
        else events_to_frame(frame_or_events)
    )
    path = Path(path)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except pa.ArrowException as exc:
        for name in frame.columns:
            try:
                pa.array(frame[name], from_pandas=True)
            except pa.ArrowException as col_exc:
                raise ValueError(
                    f"column {name!r}: cannot be written to parquet: {col_exc}"
                ) from exc
        raise ValueError(f"frame cannot be written to parquet: {exc}") from exc
    import pyarrow.parquet as pq

    with _atomic(path, "wb") as handle:
        pq.write_table(table, handle)
    return len(frame)
