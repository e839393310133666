"""Reports about records that failed to load: :class:`BadRecord`, :class:`OCSFValidationError`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: How many bad records the message of :class:`OCSFValidationError` lists.
MAX_LISTED = 10


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
            where += f", field {self.field!r}"
        text = f"{where}: {self.problem}"
        if self.other_problems:
            text += f" (also {'; '.join(self.other_problems)})"
        return text


class OCSFValidationError(ValueError):
    """Raised when records fail validation and the caller asked to raise.

    Parameters
    ----------
    bad_records
        Every bad record found; the message lists the first :data:`MAX_LISTED`.
    n_records
        Number of records read, for the message; ``None`` leaves it out.
    """

    def __init__(self, bad_records: Sequence[BadRecord], n_records: int | None = None) -> None:
        self.bad_records: list[BadRecord] = list(bad_records)
        n_bad = len(self.bad_records)
        of = f" of {n_records}" if n_records is not None else ""
        lines = [f"{n_bad} bad OCSF record{'s' if n_bad != 1 else ''}{of}:"]
        lines += [f"  {bad}" for bad in self.bad_records[:MAX_LISTED]]
        if n_bad > MAX_LISTED:
            lines.append(
                f"  ... and {n_bad - MAX_LISTED} more (all of them are in .bad_records; "
                "on_error='quarantine' returns them instead of raising)"
            )
        super().__init__("\n".join(lines))
