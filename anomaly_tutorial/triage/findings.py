"""Alerts as OCSF Detection Finding records (class_uid 2004), validated with pydantic.

A SIEM, a ticketing system or a SOAR playbook does not read this package's data frames; it
reads OCSF. Each triaged alert becomes a **Detection Finding** (OCSF 1.3, category 2
*Findings*, activity 1 *Create*) holding:

* ``severity_id`` / ``severity`` from :mod:`anomaly_tutorial.triage.severity`;
* ``finding_info``: a ``uid``, a ``title`` (the category), the explanation as ``desc``,
  ``types`` (category and kind), the ``analytic`` (the detector) and ``related_events`` with
  the **triggering event's id** and class;
* ``risk_score``: the 0-100 anomaly score, rounded;
* ``message``: the explanation in words;
* ``unmapped``: what OCSF has no attribute for: the conformal ``p_value``, the raw
  ``detector_score``, the ``anomaly_kind`` and the ``category``.

:class:`DetectionFinding` is the pydantic schema (unknown fields are refused, and the
consistency rules of OCSF are checked: ``type_uid = class_uid * 100 + activity_id``, the
severity name matches its id, the p-value lies in (0, 1]). :func:`validate_finding` raises a
:class:`FindingError` that names the field, and :func:`to_findings` builds and validates the
records of a whole triage table.

Public objects: :class:`DetectionFinding`, :class:`FindingError`, :func:`validate_finding`,
:func:`to_findings`, :data:`FINDING_COLUMNS`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from anomaly_tutorial import ocsf

#: Columns of a triage table that :func:`to_findings` reads.
FINDING_COLUMNS: tuple[str, ...] = (
    "event_id",
    "time",
    "class_uid",
    "severity",
    "score",
    "p_value",
    "detector_score",
    "kind",
    "category",
    "explanation",
)
PRODUCT = {"name": "anomaly_tutorial", "vendor_name": "anomaly-tutorial"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class Product(_Strict):
    name: str = Field(min_length=1)
    vendor_name: str = Field(min_length=1)


class Metadata(_Strict):
    version: str = Field(min_length=1)
    product: Product


class Analytic(_Strict):
    name: str = Field(min_length=1)
    type_id: int
    type: str

    @model_validator(mode="after")
    def _type_matches(self) -> Analytic:
        if self.type_id not in ocsf.ANALYTIC_TYPE_NAMES:
            raise ValueError(f"type_id {self.type_id} is not an OCSF analytic type")
        if self.type != ocsf.ANALYTIC_TYPE_NAMES[self.type_id]:
            raise ValueError(
                f"type {self.type!r} does not match type_id {self.type_id} "
                f"({ocsf.ANALYTIC_TYPE_NAMES[self.type_id]!r})"
            )
        return self


class RelatedEvent(_Strict):
    uid: str = Field(min_length=1)
    class_uid: int
    time: int


class FindingInfo(_Strict):
    uid: str = Field(min_length=1)
    title: str = Field(min_length=1)
    desc: str
    types: list[str]
    analytic: Analytic
    related_events: list[RelatedEvent] = Field(min_length=1)
    first_seen_time: int


class Unmapped(_Strict):
    p_value: float = Field(gt=0.0, le=1.0)
    detector_score: float
    anomaly_kind: Literal["point", "contextual", "collective"]
    category: str = Field(min_length=1)

    @field_validator("detector_score")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not np.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class DetectionFinding(_Strict):
    """An OCSF 1.3 Detection Finding as this package writes it (see the module docstring)."""

    class_uid: Literal[2004]
    class_name: Literal["Detection Finding"]
    category_uid: Literal[2]
    category_name: Literal["Findings"]
    activity_id: int
    activity_name: str
    type_uid: int
    time: int = Field(ge=0)
    severity_id: int
    severity: str
    status_id: int
    status: str
    message: str
    risk_score: int = Field(ge=0, le=100)
    metadata: Metadata
    finding_info: FindingInfo
    unmapped: Unmapped

    @model_validator(mode="after")
    def _consistent(self) -> DetectionFinding:
        names = ocsf.FINDING_ACTIVITY_NAMES
        if self.activity_id not in names:
            raise ValueError(f"activity_id: {self.activity_id} is not a Detection Finding activity")
        if self.activity_name != names[self.activity_id]:
            raise ValueError(
                f"activity_name: {self.activity_name!r} does not match activity_id "
                f"{self.activity_id} ({names[self.activity_id]!r})"
            )
        expected = ocsf.type_uid(self.class_uid, self.activity_id)
        if self.type_uid != expected:
            raise ValueError(f"type_uid: expected {expected} (class_uid * 100 + activity_id)")
        if self.severity_id not in ocsf.SEVERITY_NAMES:
            raise ValueError(f"severity_id: {self.severity_id} is not an OCSF severity")
        if self.severity != ocsf.SEVERITY_NAMES[self.severity_id]:
            raise ValueError(
                f"severity: {self.severity!r} does not match severity_id {self.severity_id} "
                f"({ocsf.SEVERITY_NAMES[self.severity_id]!r})"
            )
        if self.status_id not in ocsf.FINDING_STATUS_NAMES:
            raise ValueError(f"status_id: {self.status_id} is not a finding status")
        if self.status != ocsf.FINDING_STATUS_NAMES[self.status_id]:
            raise ValueError(f"status: {self.status!r} does not match status_id {self.status_id}")
        return self


class FindingError(ValueError):
    """A Detection Finding failed validation; the message names the record and the field."""


def validate_finding(record: dict[str, Any]) -> dict[str, Any]:
    """Validate one Detection Finding dict; return it unchanged.

    Raises
    ------
    FindingError
        Naming the finding (``finding_info.uid`` when present), each failing field by its
        dotted path, and the problem.
    """
    try:
        DetectionFinding.model_validate(record)
    except ValidationError as error:
        uid = (
            (record.get("finding_info") or {}).get("uid", "?") if isinstance(record, dict) else "?"
        )
        problems = []
        for item in error.errors():
            path = ".".join(str(p) for p in item["loc"]) or "<record>"
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{path}: {message}")
        raise FindingError(f"finding {uid!r}: " + "; ".join(problems)) from None
    return record


def _finding(row: Any, analytic: str) -> dict[str, Any]:
    severity_id = ocsf.TRIAGE_SEVERITY_IDS[row.severity]
    explanation = str(row.explanation)
    return {
        "class_uid": ocsf.DETECTION_FINDING,
        "class_name": ocsf.DETECTION_FINDING_NAME,
        "category_uid": ocsf.FINDINGS_CATEGORY_UID,
        "category_name": ocsf.FINDINGS_CATEGORY_NAME,
        "activity_id": ocsf.FINDING_ACTIVITY_CREATE,
        "activity_name": ocsf.FINDING_ACTIVITY_NAMES[ocsf.FINDING_ACTIVITY_CREATE],
        "type_uid": ocsf.type_uid(ocsf.DETECTION_FINDING, ocsf.FINDING_ACTIVITY_CREATE),
        "time": int(row.time),
        "severity_id": severity_id,
        "severity": ocsf.SEVERITY_NAMES[severity_id],
        "status_id": ocsf.FINDING_STATUS_NEW,
        "status": ocsf.FINDING_STATUS_NAMES[ocsf.FINDING_STATUS_NEW],
        "message": explanation,
        "risk_score": round(float(row.score)),
        "metadata": {"version": ocsf.OCSF_VERSION, "product": dict(PRODUCT)},
        "finding_info": {
            "uid": f"finding-{row.event_id}",
            "title": f"{str(row.category).replace('_', ' ')} ({row.kind} anomaly)",
            "desc": explanation,
            "types": [str(row.category), str(row.kind)],
            "analytic": {"name": analytic, "type_id": 3, "type": ocsf.ANALYTIC_TYPE_NAMES[3]},
            "related_events": [
                {"uid": str(row.event_id), "class_uid": int(row.class_uid), "time": int(row.time)}
            ],
            "first_seen_time": int(row.time),
        },
        "unmapped": {
            "p_value": float(row.p_value),
            "detector_score": float(row.detector_score),
            "anomaly_kind": str(row.kind),
            "category": str(row.category),
        },
    }


def to_findings(triaged: pd.DataFrame, analytic: str) -> list[dict[str, Any]]:
    """One validated Detection Finding per row of a triage table.

    Parameters
    ----------
    triaged
        One row per alert with the columns :data:`FINDING_COLUMNS` (``severity`` from
        :data:`~anomaly_tutorial.triage.severity.SEVERITY_LEVELS`, ``score`` 0-100,
        ``p_value`` in (0, 1], ``kind`` from :data:`~anomaly_tutorial.triage.kind.KINDS`).
    analytic
        Name of the detector that produced the scores (``finding_info.analytic.name``).

    Returns
    -------
    list of dict
        JSON-ready records, each validated by :class:`DetectionFinding`.

    Raises
    ------
    ValueError
        If a column is missing or a severity name is unknown.
    FindingError
        If a record fails validation (the message names the finding and the field).
    """
    if not isinstance(triaged, pd.DataFrame):
        raise TypeError(f"triaged: expected a pandas DataFrame, got {type(triaged).__name__}")
    missing = [c for c in FINDING_COLUMNS if c not in triaged.columns]
    if missing:
        raise ValueError(f"triaged: missing columns {missing}")
    severities = triaged["severity"].astype(object)
    unknown = sorted({str(s) for s in severities if s not in ocsf.TRIAGE_SEVERITY_IDS})
    if unknown:
        raise ValueError(
            f"triaged: column 'severity' has unknown names {unknown}; expected one of "
            f"{list(ocsf.TRIAGE_SEVERITY_IDS)}"
        )
    if not str(analytic).strip():
        raise ValueError("analytic: needs the detector's name")
    rows = triaged.loc[:, list(FINDING_COLUMNS)].itertuples(index=False)
    records = [_finding(row, str(analytic)) for row in rows]
    for record in records:
        validate_finding(record)
    return records
