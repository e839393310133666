"""Read, validate and write OCSF events (JSONL and parquet).

>>> from anomaly_tutorial.io import read_ocsf_jsonl
>>> result = read_ocsf_jsonl("events.jsonl", on_error="quarantine")  # doctest: +SKIP
>>> result.events       # flat frame of the valid events                # doctest: +SKIP
>>> result.quarantined  # BadRecord per bad line, with field and problem # doctest: +SKIP

Validation uses the pydantic models of :mod:`anomaly_tutorial.io.schema`, in strict mode, and
checks every value against the flat frame (finite numbers, integers within int64, valid
Unicode, bounded nesting). A file that cannot be read at all (corrupt gzip or parquet, no OCSF
column) raises :class:`OCSFFileError`, whose message starts with the file's name;
:func:`quarantine_table` shows quarantined records as a table. For every reader,
``len(result.events) + len(result.quarantined) == result.n_records``. Ground-truth label
columns live under ``unmapped.ground_truth`` in JSONL and as plain columns in parquet; see
:func:`labels_from_unmapped`. :mod:`anomaly_tutorial.io.benchmark` measures throughput.
"""

from anomaly_tutorial.io.errors import (
    BadRecord,
    OCSFFileError,
    OCSFValidationError,
    quarantine_table,
)
from anomaly_tutorial.io.frame import (
    LABEL_PREFIX,
    events_to_frame,
    labels_from_unmapped,
    labels_to_unmapped,
)
from anomaly_tutorial.io.readers import LoadResult, read_ocsf_jsonl, read_ocsf_parquet
from anomaly_tutorial.io.validation import validate_events
from anomaly_tutorial.io.writers import write_ocsf_jsonl, write_ocsf_parquet

__all__ = [
    "LABEL_PREFIX",
    "BadRecord",
    "LoadResult",
    "OCSFFileError",
    "OCSFValidationError",
    "events_to_frame",
    "labels_from_unmapped",
    "labels_to_unmapped",
    "quarantine_table",
    "read_ocsf_jsonl",
    "read_ocsf_parquet",
    "validate_events",
    "write_ocsf_jsonl",
    "write_ocsf_parquet",
]
