"""Reports about records that failed to load: :class:`BadRecord`, :class:`OCSFValidationError`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: How many bad records the message of :class:`OCSFValidationError` lists.
MAX_LISTED = 10
#: Longest quoted value in a message; longer values are cut and marked with their length.
MAX_QUOTED = 80
#: Longest problem text of one :class:`BadRecord` in a message.
MAX_PROBLEM = 400


def quote(value: Any, limit: int = MAX_QUOTED) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters.

    A cut value ends with ``...`` and says how long it was, so a 1 MB bad value costs one line.
    Integers with thousands of digits (whose ``repr`` Python refuses to build) are described
    by their number of digits.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    try:
        text = repr(value)
    except Exception as exc:  # a hostile __repr__ must not hide the real problem
        return f"<{type(value).__name__} whose repr fails: {type(exc).__name__}>"
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(text)} characters)"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text)} characters)"


@dataclass(frozen=True)
class BadRecord:
    """One record that could not be loaded, with the reason.

    Attributes
    ----------
    record_number
        1-based number of the record: the line number in a JSONL file (blank lines count as
        lines, so the number is the one an editor shows), the row number in a parquet file, or
        the position in the iterable given to :func:`~anomaly_tutorial.io.validate_events`.
    field
        Dotted path of the first offending field (``"src_endpoint.ip"``), or ``None`` when the
        record as a whole is broken (not JSON, not an object).
    problem
        What is wrong, in words.
    raw
        The record as read: the text of the line when it could not be parsed, else the parsed
        object (for parquet, the flat row).
    other_problems
        Further problems of the same record, each as ``"field 'path': problem"``.
    """

    record_number: int
    field: str | None
    problem: str
    raw: str | dict[str, Any]
    other_problems: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"record {self.record_number}"
        if self.field is not None:
            where += f", field {_cut(repr(self.field), MAX_QUOTED)}"
        text = f"{where}: {_cut(self.problem, MAX_PROBLEM)}"
        if self.other_problems:
            text += f" (also {_cut('; '.join(self.other_problems), MAX_PROBLEM)})"
        return text


class OCSFValidationError(ValueError):
    """Raised when records fail validation and the caller asked to raise.

    Parameters
    ----------
    bad_records
        Every bad record found; the message lists the first :data:`MAX_LISTED`.
    n_records
        Number of records read, for the message; ``None`` leaves it out.
    source
        Where the records come from (the file), for the message; ``None`` leaves it out.
    """

    def __init__(
        self,
        bad_records: Sequence[BadRecord],
        n_records: int | None = None,
        source: str | None = None,
    ) -> None:
        self.bad_records: list[BadRecord] = list(bad_records)
        self.source = source
        n_bad = len(self.bad_records)
        of = f" of {n_records}" if n_records is not None else ""
        where = f" in {source}" if source is not None else ""
        lines = [f"{n_bad} bad OCSF record{'s' if n_bad != 1 else ''}{of}{where}:"]
        lines += [f"  {bad}" for bad in self.bad_records[:MAX_LISTED]]
        if n_bad > MAX_LISTED:
            lines.append(
                f"  ... and {n_bad - MAX_LISTED} more (all of them are in .bad_records; "
                "on_error='quarantine' returns them instead of raising)"
            )
        super().__init__("\n".join(lines))


class OCSFFileError(ValueError):
    """A file that cannot be read as OCSF at all (corrupt, truncated, wrong format, no OCSF column).

    The message starts with the file's name. Problems of single records are not file errors:
    they are :class:`BadRecord` s.

    Attributes
    ----------
    path
        The file.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}")


def quarantine_table(bad_records: Sequence[BadRecord], width: int = 90) -> Any:
    """The quarantined records as a small table: record number, field, problem.

    Parameters
    ----------
    bad_records
        For example ``LoadResult.quarantined``.
    width
        Longest problem text shown; longer ones are cut (the full text stays in the records).

    Returns
    -------
    pandas.DataFrame
        Columns ``record``, ``field`` (``-`` for a record broken as a whole) and ``problem``.
    """
    import pandas as pd

    rows = [
        {
            "record": bad.record_number,
            "field": bad.field if bad.field is not None else "-",
            "problem": _cut(bad.problem, width),
        }
        for bad in bad_records
    ]
    return pd.DataFrame(rows, columns=["record", "field", "problem"])
