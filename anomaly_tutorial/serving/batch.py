"""Batch scoring of OCSF files, in chunks, with bad records quarantined; training a bundle.

:func:`score_files` reads JSONL (plain or gzip) and parquet files chunk by chunk, validates
every record with the readers' own checks (:mod:`anomaly_tutorial.io`), scores the valid ones
with :meth:`DetectionPipeline.score_and_alerts` and writes

``OUT/scores.parquet`` (or ``scores.jsonl``)
    one row per valid event, :data:`~anomaly_tutorial.serving.pipeline.SCORE_COLUMNS` plus
    ``file`` and ``record`` (1-based line or row number), in input order;
``OUT/findings.jsonl``
    one OCSF Detection Finding per alert;
``OUT/quarantine.jsonl`` (or the ``quarantine`` path)
    one line per invalid record: ``file``, ``record`` (line number in a JSONL file, row number
    in a parquet file), ``field``, ``error``, ``other_problems`` and the ``raw`` record;
``OUT/summary.json``
    :class:`BatchSummary`.

Nothing is dropped: for every run ``n_events + n_quarantined == n_records``.

**Memory is bounded** by the chunk size: a chunk of ``chunk_size`` records is read, scored
and written before the next one is read; between chunks only the events of the last
``pipeline.window_s_`` seconds are kept, as the next chunk's ``history``. For input in time
order (as logs are written), chunked scores therefore equal the scores of the whole input at
once. The files are one stream, in the order given. An event older than the latest event of
an earlier chunk cannot be put back (its windows and those of the events around it may
differ from one-shot scoring); such events are scored, counted in
``BatchSummary.n_out_of_order``, and the count is printed.

The kind of a finding uses the alerts of its own chunk (see
:class:`~anomaly_tutorial.serving.DetectionPipeline`); scores and severities do not depend
on the chunking.

:func:`train_bundle` fits the book's pipeline and writes a bundle.

Public objects: :func:`score_files`, :func:`iter_record_chunks`, :func:`train_bundle`,
:class:`BatchSummary`, :class:`RecordChunk`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import os
import tempfile
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm  # the terminal bar: a command-line tool, not a notebook widget

from anomaly_tutorial.io.errors import BadRecord, OCSFFileError
from anomaly_tutorial.io.frame import frame_from_flat
from anomaly_tutorial.io.readers import _check_line, read_ocsf_jsonl, read_ocsf_parquet
from anomaly_tutorial.serving.bundle import load_bundle, save_bundle
from anomaly_tutorial.serving.pipeline import DetectionPipeline
from anomaly_tutorial.triage import SEVERITY_LEVELS

__all__ = [
    "BatchSummary",
    "RecordChunk",
    "iter_record_chunks",
    "score_files",
    "train_bundle",
]

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Arrow schema of ``scores.parquet``.
SCORES_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("record", pa.int64()),
        ("event_id", pa.string()),
        ("time", pa.int64()),
        ("detector_score", pa.float64()),
        ("p_value", pa.float64()),
        ("score", pa.float64()),
        ("alert", pa.bool_()),
        ("severity", pa.string()),
        ("severity_id", pa.int64()),
    ]
)


@dataclass
class RecordChunk:
    """One chunk of a file: valid events, quarantined records, record numbers.

    Attributes
    ----------
    path
        The file.
    events
        Flat frame of the chunk's valid events (as the readers return them).
    records
        1-based record number (line or row) of each valid event.
    quarantined
        The chunk's bad records, with their record numbers in the file.
    n_records
        Records in the chunk: ``len(events) + len(quarantined)``.
    """

    path: Path
    events: pd.DataFrame
    records: np.ndarray
    quarantined: list[BadRecord]
    n_records: int


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    with path.open("rb") as handle:
        return handle.read(4) == b"PAR1"


def _jsonl_chunks(path: Path, chunk_size: int) -> Iterator[RecordChunk]:
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    opener = gzip.open if compressed else open
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    bad: list[BadRecord] = []
    n = 0
    try:
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if number == 1:
                    line = line.removeprefix(b"\xef\xbb\xbf")
                line = line.rstrip(b"\r\n")
                if not line.strip():
                    continue
                n += 1
                checked = _check_line(number, line)
                if type(checked) is dict:
                    rows.append(checked)
                    numbers.append(number)
                else:
                    bad.append(checked)
                if n == chunk_size:
                    yield RecordChunk(path, frame_from_flat(rows), np.asarray(numbers), bad, n)
                    rows, numbers, bad, n = [], [], [], 0
    except (OSError, EOFError, zlib.error) as exc:
        raise OCSFFileError(
            path, f"cannot be read to the end (corrupt or truncated?): {exc}"
        ) from exc
    if n:
        yield RecordChunk(path, frame_from_flat(rows), np.asarray(numbers), bad, n)


def _parquet_chunks(path: Path, chunk_size: int) -> Iterator[RecordChunk]:
    try:
        source = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise OCSFFileError(
            path, f"is not a readable parquet file (corrupt or truncated?): {exc}"
        ) from exc
    offset = 0
    with tempfile.TemporaryDirectory(prefix="score-files-") as tmp:
        part = Path(tmp) / "chunk.parquet"
        for batch in source.iter_batches(batch_size=chunk_size):
            # each chunk goes through the parquet reader itself (same flattening and checks)
            pq.write_table(pa.Table.from_batches([batch]), part)
            result = read_ocsf_parquet(part, on_error="quarantine")
            valid = np.setdiff1d(
                np.arange(1, result.n_records + 1),
                [b.record_number for b in result.quarantined],
            )
            quarantined = [
                dataclasses.replace(b, record_number=b.record_number + offset)
                for b in result.quarantined
            ]
            yield RecordChunk(path, result.events, valid + offset, quarantined, result.n_records)
            offset += result.n_records


def iter_record_chunks(path: str | os.PathLike[str], chunk_size: int) -> Iterator[RecordChunk]:
    """Read an OCSF file chunk by chunk, validating every record.

    JSONL (gzip recognised by content) is read line by line, each line checked as
    :func:`~anomaly_tutorial.io.read_ocsf_jsonl` checks it (record number = line number,
    blank lines skipped but counted); parquet is read in row batches, each checked by
    :func:`~anomaly_tutorial.io.read_ocsf_parquet` (record number = row number).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    OCSFFileError
        If it cannot be read at all (corrupt gzip or parquet).
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size: must be an integer >= 1, got {chunk_size!r}")
    if _is_parquet(source):
        yield from _parquet_chunks(source, chunk_size)
    else:
        yield from _jsonl_chunks(source, chunk_size)


@dataclass
class BatchSummary:
    """What :func:`score_files` did.

    Attributes
    ----------
    n_records, n_events, n_quarantined
        Records read, valid events scored, records quarantined (``n_events + n_quarantined ==
        n_records``).
    n_alerts
        Alerts among the events; ``alerts_by_severity`` per severity, most severe first.
    n_out_of_order
        Events older than the latest event of an earlier chunk (see the module docstring).
    seconds, events_per_second
        Wall time of the whole run (read, validate, featurise, score, triage, write) and
        ``n_events / seconds``.
    files
        The inputs; ``outputs`` the files written.
    """

    n_records: int = 0
    n_events: int = 0
    n_quarantined: int = 0
    n_alerts: int = 0
    alerts_by_severity: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(reversed(SEVERITY_LEVELS), 0)
    )
    n_out_of_order: int = 0
    seconds: float = 0.0
    events_per_second: float = 0.0
    files: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, for JSON."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        severities = ", ".join(f"{k} {v}" for k, v in self.alerts_by_severity.items())
        text = (
            f"{self.n_events:,} events scored, {self.n_quarantined:,} records quarantined "
            f"(of {self.n_records:,}); {self.n_alerts:,} alerts ({severities}); "
            f"{self.seconds:.1f} s, {self.events_per_second:,.0f} events/s"
        )
        if self.n_out_of_order:
            text += f"; {self.n_out_of_order:,} events out of time order across chunks"
        return text


def _pipeline(source: Any) -> DetectionPipeline:
    if isinstance(source, DetectionPipeline):
        return source
    if isinstance(source, (str, os.PathLike)):
        return load_bundle(source)
    raise TypeError(
        f"bundle_or_pipeline: expected a DetectionPipeline or a bundle path, "
        f"got {type(source).__name__}"
    )


def _quarantine_line(path: Path, record: BadRecord) -> str:
    return json.dumps(
        {
            "file": str(path),
            "record": record.record_number,
            "field": record.field,
            "error": record.problem,
            "other_problems": list(record.other_problems),
            "raw": record.raw,
        },
        default=str,
    )


def _scores_table(scores: pd.DataFrame, path: Path, records: np.ndarray) -> pa.Table:
    severity_id = scores["severity_id"].astype("Int64")
    return pa.table(
        {
            "file": pa.array([str(path)] * len(scores), pa.string()),
            "record": pa.array(np.asarray(records, dtype="int64")),
            "event_id": pa.array(scores["event_id"].astype(str).tolist(), pa.string()),
            "time": pa.array(scores["time"].to_numpy(dtype="int64")),
            "detector_score": pa.array(scores["detector_score"].to_numpy(dtype="float64")),
            "p_value": pa.array(scores["p_value"].to_numpy(dtype="float64")),
            "score": pa.array(scores["score"].to_numpy(dtype="float64")),
            "alert": pa.array(scores["alert"].to_numpy(dtype=bool)),
            "severity": pa.array(scores["severity"].tolist(), pa.string()),
            "severity_id": pa.array(
                [None if pd.isna(v) else int(v) for v in severity_id], pa.int64()
            ),
        },
        schema=SCORES_SCHEMA,
    )


def score_files(
    bundle_or_pipeline: DetectionPipeline | str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    chunk_size: int = 50_000,
    quarantine: str | os.PathLike[str] | None = None,
    scores_format: str = "parquet",
    progress: bool = True,
) -> BatchSummary:
    """Score OCSF files in chunks; write scores, findings, quarantined records and a summary.

    Parameters
    ----------
    bundle_or_pipeline
        A fitted :class:`~anomaly_tutorial.serving.DetectionPipeline`, or the path of a bundle
        (:func:`~anomaly_tutorial.serving.load_bundle` verifies it first).
    inputs
        One path or several: JSONL (``.jsonl``, plain or gzip, recognised by content) or
        parquet (``.parquet`` / ``.pq`` or by content), flat or nested; scored as one stream
        in this order.
    out
        Output folder (created): ``scores.parquet`` (or ``scores.jsonl``),
        ``findings.jsonl``, ``quarantine.jsonl``, ``summary.json``. Existing files of those
        names are replaced.
    chunk_size
        Records per chunk; memory grows with it, not with the input.
    quarantine
        Where the invalid records go (default ``OUT/quarantine.jsonl``).
    scores_format
        ``"parquet"`` or ``"jsonl"``.
    progress
        Show a tqdm progress bar (events) on stderr.

    Returns
    -------
    BatchSummary
        Also written to ``OUT/summary.json``.

    Raises
    ------
    FileNotFoundError, OCSFFileError
        If an input is missing or unreadable as a whole (nothing of a file that cannot be
        read is half-scored silently: the error stops the run and names the file).
    ~anomaly_tutorial.serving.BundleError
        If the bundle does not verify.
    """
    if scores_format not in ("parquet", "jsonl"):
        raise ValueError(f"scores_format: must be 'parquet' or 'jsonl', got {scores_format!r}")
    pipeline = _pipeline(bundle_or_pipeline)
    paths = [Path(inputs)] if isinstance(inputs, (str, os.PathLike)) else [Path(p) for p in inputs]
    if not paths:
        raise ValueError("inputs: no input files given")
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    scores_path = folder / f"scores.{scores_format}"
    findings_path = folder / "findings.jsonl"
    quarantine_path = Path(quarantine) if quarantine is not None else folder / "quarantine.jsonl"
    summary = BatchSummary(files=[str(p) for p in paths])
    summary.outputs = {
        "scores": str(scores_path),
        "findings": str(findings_path),
        "quarantine": str(quarantine_path),
        "summary": str(folder / "summary.json"),
    }
    window_ms = int(np.ceil(float(pipeline.window_s_) * 1000))
    history: pd.DataFrame | None = None
    latest: int | None = None
    start = time.perf_counter()
    writer = None
    bar = tqdm(unit=" events", disable=not progress, desc="scoring")
    try:
        with contextlib.ExitStack() as files:
            findings_out = files.enter_context(findings_path.open("w", encoding="utf-8"))
            quarantine_out = files.enter_context(quarantine_path.open("w", encoding="utf-8"))
            scores_jsonl = None
            if scores_format == "parquet":
                writer = pq.ParquetWriter(scores_path, SCORES_SCHEMA)
            else:
                scores_jsonl = files.enter_context(scores_path.open("w", encoding="utf-8"))
            for path in paths:
                for chunk in iter_record_chunks(path, chunk_size):
                    summary.n_records += chunk.n_records
                    summary.n_quarantined += len(chunk.quarantined)
                    for record in chunk.quarantined:
                        quarantine_out.write(_quarantine_line(path, record) + "\n")
                    bar.update(chunk.n_records)
                    if len(chunk.events) == 0:
                        continue
                    events = chunk.events
                    times = events["time"].to_numpy(dtype="int64")
                    if latest is not None:
                        summary.n_out_of_order += int((times < latest).sum())
                    scores, findings = pipeline.score_and_alerts(events, history=history)
                    table = _scores_table(scores, path, chunk.records)
                    if writer is not None:
                        writer.write_table(table)
                    elif scores_jsonl is not None:
                        for row in table.to_pylist():
                            scores_jsonl.write(json.dumps(row) + "\n")
                    for finding in findings:
                        findings_out.write(json.dumps(finding) + "\n")
                    summary.n_events += len(scores)
                    alerted = scores.loc[scores["alert"], "severity"].value_counts()
                    summary.n_alerts += int(scores["alert"].sum())
                    for name, count in alerted.items():
                        summary.alerts_by_severity[str(name)] += int(count)
                    latest = int(times.max()) if latest is None else max(latest, int(times.max()))
                    past = events if history is None else pd.concat([history, events])
                    keep = past["time"].to_numpy(dtype="int64") >= latest - window_ms
                    history = past.loc[keep].reset_index(drop=True)
    finally:
        if writer is not None:
            writer.close()
        bar.close()
    summary.seconds = time.perf_counter() - start
    summary.events_per_second = summary.n_events / summary.seconds if summary.seconds else 0.0
    (folder / "summary.json").write_text(json.dumps(summary.to_dict(), indent=1))
    return summary


def _read_events(path: Path) -> pd.DataFrame:
    if _is_parquet(path):
        return read_ocsf_parquet(path).events
    return read_ocsf_jsonl(path, labels="columns").events


def train_bundle(
    out: str | os.PathLike[str],
    events: Sequence[str | os.PathLike[str]] | None = None,
    *,
    train_fraction: float = 0.8,
    overwrite: bool = False,
    **pipeline_params: Any,
) -> DetectionPipeline:
    """Fit the book's :class:`~anomaly_tutorial.serving.DetectionPipeline` and save a bundle.

    Parameters
    ----------
    out
        The bundle folder to write (:func:`~anomaly_tutorial.serving.save_bundle`).
    events
        ``None``: the package's generated data, ``default_dataset()``, split by
        ``book_split()`` (train = days 1-8, validation = days 9-10; the test days are not
        used). Otherwise OCSF files (JSONL or parquet; every record must be valid, a bad one
        raises :class:`~anomaly_tutorial.io.OCSFValidationError` naming file, line and
        field), concatenated and split by time with
        :func:`~anomaly_tutorial.data.time_split`: the first ``train_fraction`` of the
        events train, the rest validate (the book's 8 : 2 by default).
    train_fraction
        See ``events``.
    overwrite
        Replace an existing bundle.
    **pipeline_params
        Parameters of :class:`~anomaly_tutorial.serving.DetectionPipeline`.

    Returns
    -------
    DetectionPipeline
        The fitted pipeline that was saved.
    """
    from anomaly_tutorial.data import book_split, default_dataset, time_split

    if events is None:
        train, validation, _ = book_split().split(default_dataset().events)
    else:
        paths = [Path(events)] if isinstance(events, (str, os.PathLike)) else list(events)
        if not paths:
            raise ValueError("events: no files given (pass None for the generated data)")
        frames = [_read_events(Path(p)) for p in paths]
        train, validation = time_split(pd.concat(frames, ignore_index=True), train_fraction)
    pipeline = DetectionPipeline(**pipeline_params).fit(train, validation)
    save_bundle(pipeline, out, overwrite=overwrite)
    return pipeline
