"""OCSF vocabulary shared by the whole package: class ids, enumerations and flattening.

The Open Cybersecurity Schema Framework (OCSF) describes every event as a nested JSON object
with a few required integer fields (``class_uid``, ``category_uid``, ``activity_id``,
``type_uid``, ``severity_id``, ``status_id``, ``time``) and class-specific objects such as
``http_request`` or ``src_endpoint``. This module holds the ids and names used in this book and
the two functions that move between the nested form and the *flat* form, in which each leaf
becomes a column named by its dotted path (``src_endpoint.ip``, ``http_response.code``).

The flat column names are the contract between the generator (:mod:`anomaly_tutorial.data`),
the readers and writers (:mod:`anomaly_tutorial.io`) and the feature pipeline
(:mod:`anomaly_tutorial.features`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

OCSF_VERSION = "1.3.0"

# --- event classes ---------------------------------------------------------------------------
AUTHENTICATION = 3002
NETWORK_ACTIVITY = 4001
HTTP_ACTIVITY = 4002
API_ACTIVITY = 6003

CLASS_NAMES: dict[int, str] = {
    AUTHENTICATION: "Authentication",
    NETWORK_ACTIVITY: "Network Activity",
    HTTP_ACTIVITY: "HTTP Activity",
    API_ACTIVITY: "API Activity",
}

CATEGORY_OF_CLASS: dict[int, int] = {
    AUTHENTICATION: 3,
    NETWORK_ACTIVITY: 4,
    HTTP_ACTIVITY: 4,
    API_ACTIVITY: 6,
}

CATEGORY_NAMES: dict[int, str] = {
    3: "Identity & Access Management",
    4: "Network Activity",
    6: "Application Activity",
}

#: ``activity_id`` -> activity name, per class (OCSF 1.3 enumerations, ``99`` = Other).
ACTIVITY_NAMES: dict[int, dict[int, str]] = {
    AUTHENTICATION: {
        0: "Unknown",
        1: "Logon",
        2: "Logoff",
        3: "Authentication Ticket",
        4: "Service Ticket Request",
        5: "Service Ticket Renew",
        6: "Preauth",
        99: "Other",
    },
    NETWORK_ACTIVITY: {
        0: "Unknown",
        1: "Open",
        2: "Close",
        3: "Reset",
        4: "Fail",
        5: "Refuse",
        6: "Traffic",
        7: "Listen",
        99: "Other",
    },
    HTTP_ACTIVITY: {
        0: "Unknown",
        1: "Connect",
        2: "Delete",
        3: "Get",
        4: "Head",
        5: "Options",
        6: "Post",
        7: "Put",
        8: "Trace",
        99: "Other",
    },
    API_ACTIVITY: {0: "Unknown", 1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"},
}

#: HTTP method -> HTTP Activity ``activity_id``.
HTTP_METHOD_ACTIVITY: dict[str, int] = {
    "CONNECT": 1,
    "DELETE": 2,
    "GET": 3,
    "HEAD": 4,
    "OPTIONS": 5,
    "POST": 6,
    "PUT": 7,
    "TRACE": 8,
}

SEVERITY_NAMES: dict[int, str] = {
    0: "Unknown",
    1: "Informational",
    2: "Low",
    3: "Medium",
    4: "High",
    5: "Critical",
    6: "Fatal",
    99: "Other",
}

STATUS_NAMES: dict[int, str] = {0: "Unknown", 1: "Success", 2: "Failure", 99: "Other"}

STATUS_SUCCESS = 1
STATUS_FAILURE = 2


def type_uid(class_uid: int, activity_id: int) -> int:
    """Return the OCSF ``type_uid`` of a class and activity: ``class_uid * 100 + activity_id``."""
    return int(class_uid) * 100 + int(activity_id)


# --- the flat form ---------------------------------------------------------------------------
#: Flat column holding the event id (``metadata.uid`` in the nested form).
ID_COLUMN = "event_id"

#: Ground-truth columns that the generator adds to the flat frame; never model inputs.
LABEL_COLUMNS: tuple[str, ...] = ("is_anomaly", "anomaly_type", "anomaly_kind", "incident_id")

#: Flat OCSF columns produced by the generator, with the dtype they have in its frame.
#: Every class fills the common columns; class-specific columns are missing (NaN / <NA>)
#: for the other classes.
FLAT_COLUMNS: dict[str, str] = {
    # common
    "event_id": "string",
    "time": "int64",  # epoch milliseconds, OCSF timestamp_t
    "class_uid": "int64",
    "class_name": "string",
    "category_uid": "int64",
    "category_name": "string",
    "activity_id": "int64",
    "activity_name": "string",
    "type_uid": "int64",
    "severity_id": "int64",
    "status_id": "int64",
    "status_detail": "string",
    "message": "string",  # human-readable log line, as an application would write it
    "duration": "float64",  # milliseconds
    "metadata.version": "string",
    "metadata.product.name": "string",
    "metadata.product.vendor_name": "string",
    "actor.user.name": "string",
    "actor.user.uid": "string",
    "src_endpoint.ip": "string",
    "src_endpoint.port": "Int64",
    "src_endpoint.location.country": "string",
    "dst_endpoint.ip": "string",
    "dst_endpoint.port": "Int64",
    "dst_endpoint.svc_name": "string",
    "trace.uid": "string",
    # Authentication (3002)
    "user.name": "string",
    "user.uid": "string",
    "auth_protocol": "string",
    "is_mfa": "boolean",
    "logon_type": "string",
    # HTTP Activity (4002)
    "http_request.http_method": "string",
    "http_request.url.path": "string",
    "http_request.user_agent": "string",
    "http_response.code": "Int64",
    # Network Activity (4001) and HTTP Activity (4002)
    "traffic.bytes_in": "Int64",
    "traffic.bytes_out": "Int64",
    "traffic.packets_in": "Int64",
    "traffic.packets_out": "Int64",
    "connection_info.protocol_name": "string",
    "connection_info.direction_id": "Int64",
    # API Activity (6003)
    "api.operation": "string",
    "api.service.name": "string",
}

_NESTED_ID_PATH = "metadata.uid"


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    # pandas.NA and NaT compare strangely; detect them without importing pandas here
    return type(value).__name__ in {"NAType", "NaTType"}


def _to_python(value: Any) -> Any:
    """Turn numpy scalars into plain Python values so that ``json.dumps`` accepts them."""
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, (str, bytes)):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def flatten_event(event: Mapping[str, Any], *, sep: str = ".") -> dict[str, Any]:
    """Flatten one nested OCSF event into ``{dotted.path: leaf}``.

    ``metadata.uid`` becomes the :data:`ID_COLUMN` (``event_id``). Lists are kept as leaf
    values. Keys are never dropped: every leaf of the input appears in the output.

    Parameters
    ----------
    event
        A nested OCSF event.
    sep
        Separator between path components.

    Returns
    -------
    dict
        Flat mapping from dotted path to value.
    """
    flat: dict[str, Any] = {}

    def walk(prefix: str, node: Mapping[str, Any]) -> None:
        for key, value in node.items():
            path = f"{prefix}{sep}{key}" if prefix else str(key)
            if isinstance(value, Mapping) and value:
                walk(path, value)
            else:
                flat[path] = value

    walk("", event)
    if _NESTED_ID_PATH in flat:
        flat[ID_COLUMN] = flat.pop(_NESTED_ID_PATH)
    return flat


def unflatten_event(row: Mapping[str, Any], *, sep: str = ".") -> dict[str, Any]:
    """Rebuild a nested OCSF event from a flat row, the inverse of :func:`flatten_event`.

    Missing values (``None``, NaN, ``pandas.NA``) are left out, so a row of a flat frame that
    holds several event classes turns back into an event with only its own class's fields.
    Numpy scalars become plain Python numbers.

    Parameters
    ----------
    row
        Mapping from dotted path to value, for example ``DataFrame.iloc[i].to_dict()``.
    sep
        Separator between path components.

    Returns
    -------
    dict
        The nested event.

    Raises
    ------
    ValueError
        If one path is both a leaf and a parent of another path (``a`` and ``a.b``).
    """
    nested: dict[str, Any] = {}
    for key, value in row.items():
        if _is_missing(value):
            continue
        path = _NESTED_ID_PATH if key == ID_COLUMN else str(key)
        parts = path.split(sep)
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(
                    f"field {path!r}: {part!r} is both a value and an object in this row"
                )
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise ValueError(f"field {path!r} is both a value and an object in this row")
        node[parts[-1]] = _to_python(value)
    return nested


def flatten_events(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Flatten many events; see :func:`flatten_event`."""
    return [flatten_event(e) for e in events]


# --- findings (appended for anomaly_tutorial.triage) ------------------------------------------
#: OCSF class of an alert raised by a detector: Detection Finding, in category 2 (Findings).
DETECTION_FINDING = 2004
FINDINGS_CATEGORY_UID = 2
FINDINGS_CATEGORY_NAME = "Findings"
DETECTION_FINDING_NAME = "Detection Finding"

#: Detection Finding ``activity_id`` -> activity name (OCSF 1.3).
FINDING_ACTIVITY_NAMES: dict[int, str] = {
    0: "Unknown",
    1: "Create",
    2: "Update",
    3: "Close",
    99: "Other",
}
FINDING_ACTIVITY_CREATE = 1

#: Finding ``status_id`` -> status name (OCSF 1.3 finding status).
FINDING_STATUS_NAMES: dict[int, str] = {
    0: "Unknown",
    1: "New",
    2: "In Progress",
    3: "Suppressed",
    4: "Resolved",
    99: "Other",
}
FINDING_STATUS_NEW = 1

#: The triage tiers of this book and their OCSF ``severity_id`` (see :data:`SEVERITY_NAMES`).
TRIAGE_SEVERITY_IDS: dict[str, int] = {"low": 2, "medium": 3, "high": 4, "critical": 5}

#: ``finding_info.analytic.type_id`` (OCSF 1.3): 1 Rule, 2 Behavioral, 3 Statistical,
#: 4 Learning (ML/DL), 99 Other.
ANALYTIC_TYPE_NAMES: dict[int, str] = {
    0: "Unknown",
    1: "Rule",
    2: "Behavioral",
    3: "Statistical",
    4: "Learning (ML/DL)",
    99: "Other",
}
