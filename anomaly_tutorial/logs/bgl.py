"""Reader for the BlueGene/L (BGL) log format used by loghub.

BGL logs (Oliner & Stearley, 2007), as distributed by loghub (Zhu et al., 2023), hold one event
per line::

    <Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> <Content>

``Label`` is ``-`` for normal lines and an alert category (``KERNDTLB``, ``APPSEV``, ...) for
alerts; ``Timestamp`` is epoch seconds; ``Content`` is the free-text message (it may contain
spaces). :func:`read_bgl` parses such a file; :func:`bgl_to_events` maps it onto the column names
the rest of :mod:`anomaly_tutorial.logs` uses (``time`` in ms, ``message``, ``severity_id``,
``is_anomaly``), so the same windowing and detection code runs on real logs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

BGL_COLUMNS: tuple[str, ...] = (
    "label",
    "timestamp",
    "date",
    "node",
    "time_text",
    "node_repeat",
    "type",
    "component",
    "level",
    "content",
)

#: BGL level -> OCSF severity_id (1 Informational ... 6 Fatal).
BGL_SEVERITY: dict[str, int] = {
    "INFO": 1,
    "WARNING": 3,
    "SEVERE": 4,
    "ERROR": 4,
    "FAILURE": 5,
    "FATAL": 6,
}


def parse_bgl_lines(lines: Iterable[str]) -> pd.DataFrame:
    """Parse raw BGL lines into a frame with :data:`BGL_COLUMNS` and ``is_anomaly``.

    Blank lines are skipped. A line with fewer than nine fields, or a non-integer timestamp,
    raises ``ValueError`` naming its line number (1-based). A line with nine fields has an empty
    ``content``.
    """
    records = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        parts = line.split(maxsplit=9)
        if len(parts) < 9:
            raise ValueError(
                f"BGL line {number}: expected at least 9 space-separated fields, got "
                f"{len(parts)}: {line[:80]!r}"
            )
        if len(parts) == 9:
            parts.append("")
        try:
            int(parts[1])
        except ValueError:
            raise ValueError(
                f"BGL line {number}: timestamp {parts[1]!r} is not integer epoch seconds"
            ) from None
        records.append(parts)
    frame = pd.DataFrame(records, columns=list(BGL_COLUMNS))
    frame["timestamp"] = frame["timestamp"].astype(np.int64)
    frame["is_anomaly"] = frame["label"] != "-"
    return frame


def read_bgl(path: str | Path) -> pd.DataFrame:
    """Read a loghub BGL log file (for example ``BGL_2k.log``); see :func:`parse_bgl_lines`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no BGL log file at {path}")
    with path.open(encoding="utf-8", errors="replace") as handle:
        return parse_bgl_lines(handle)


def bgl_to_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Map parsed BGL lines to event columns: ``event_id``, ``time`` (epoch ms),
    ``message``, ``severity_id``, ``is_anomaly``, ``anomaly_type`` (the alert category or
    ``"normal"``), plus ``node`` and ``component``.

    BGL timestamps have one-second resolution. Levels outside :data:`BGL_SEVERITY` map to 0
    (Unknown).
    """
    missing = [c for c in ("label", "timestamp", "level", "content") if c not in frame.columns]
    if missing:
        raise KeyError(f"frame lacks BGL columns {missing}; parse it with read_bgl first")
    return pd.DataFrame(
        {
            "event_id": [f"bgl-{i:07d}" for i in range(1, len(frame) + 1)],
            "time": frame["timestamp"].to_numpy(dtype=np.int64) * 1000,
            "message": frame["content"].astype(str).to_numpy(),
            "severity_id": frame["level"].map(BGL_SEVERITY).fillna(0).to_numpy(dtype=np.int64),
            "is_anomaly": (frame["label"] != "-").to_numpy(),
            "anomaly_type": np.where(frame["label"] == "-", "normal", frame["label"]),
            "node": frame["node"].to_numpy() if "node" in frame.columns else None,
            "component": frame["component"].to_numpy() if "component" in frame else None,
        }
    )
