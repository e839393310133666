"""Pydantic schemas of the OCSF events this package reads, one per event class.

The schemas check the fields the package uses (the dotted paths of
:data:`anomaly_tutorial.ocsf.FLAT_COLUMNS`) and keep every other field as given
(``extra="allow"``). They are pydantic-validated ``TypedDict`` s rather than ``BaseModel`` s:
validation then returns plain dicts and stays in pydantic-core, about five times faster than
building model instances for every nested object. :data:`EVENTS_ADAPTER` validates a whole list
of events in one call, choosing the class schema by ``class_uid`` (a discriminated union), so
the per-record cost is pydantic-core's plus a few small Python checks (IP addresses, ``time``,
``type_uid`` and the class's own requirement).

Values are validated in pydantic's **strict** mode: an integer field takes only integers (not
``true``, not ``"42"``, not ``42.0``), a boolean field only ``true`` / ``false``, a string field
only strings; a number field takes integers and finite floats (``Infinity``, ``NaN`` and ``1e400``
are refused). Integers must fit in a signed 64-bit integer, the dtype of the flat frame. Every
field of :data:`~anomaly_tutorial.ocsf.FLAT_COLUMNS` is type-checked on every class, so an
``is_mfa: "maybe"`` on an HTTP event is refused rather than breaking the ``is_mfa`` column of the
whole file later.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Tag,
    TypeAdapter,
    with_config,
)
from pydantic import Field as Field
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from anomaly_tutorial import ocsf
from anomaly_tutorial.io.errors import quote

#: Error ``type`` of the checks written in this module; ``ctx["problem"]`` is the whole
#: problem and ``ctx["field"]``, when present, the field below the error's location.
OCSF_ERROR = "ocsf"

#: Below this, an epoch timestamp is taken to be in seconds (1e11 ms is March 1973).
SECONDS_LIMIT = 10**11
#: From this on, an epoch timestamp is taken to be in microseconds or nanoseconds
#: (1e14 ms is the year 5138).
MICROSECONDS_LIMIT = 10**14

#: Range of the flat frame's integer columns (``int64`` / ``Int64``).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_OPEN = ConfigDict(extra="allow", strict=True)


def _problem(problem: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(OCSF_ERROR, "{problem}", {"problem": problem, **ctx})


@lru_cache(maxsize=1 << 16)
def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _check_ip(value: str) -> str:
    if not _is_ip(value):
        raise _problem(f"{quote(value)} is not a valid IP address")
    return value


def time_unit_problem(value: float) -> str | None:
    """Why ``value`` is not a plausible epoch timestamp in milliseconds, or ``None`` if it is.

    Plausible means from :data:`SECONDS_LIMIT` (March 1973) up to :data:`MICROSECONDS_LIMIT`
    (the year 5138); below is taken for seconds, above for micro- or nanoseconds. The message
    says which unit was expected. Shared by the readers and the feature pipeline.
    """
    if value != value:
        return "is missing (NaN); expected milliseconds since the epoch"
    if value < 0:
        return f"{_number(value)} is negative; expected milliseconds since the epoch"
    if value < SECONDS_LIMIT:
        return (
            f"{_number(value)} looks like seconds, expected milliseconds since the epoch "
            "(multiply epoch seconds by 1000; values below 1e11 ms are before March 1973)"
        )
    if value >= MICROSECONDS_LIMIT:
        return (
            f"{_number(value)} looks like microseconds or nanoseconds, expected milliseconds "
            "since the epoch (values from 1e14 ms are after the year 5138)"
        )
    return None


def _number(value: float) -> str:
    """A number for a message, short even when it has thousands of digits."""
    return quote(value)


def _check_time(value: int) -> int:
    problem = time_unit_problem(value)
    if problem is not None:
        raise _problem(problem)
    return value


def _require_int(value: Any) -> Any:
    """Pydantic's ``Literal`` accepts ``True`` for ``1`` and ``3.0`` for ``3`` even when strict."""
    if type(value) is not int:
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _int_literal(values: Any) -> Any:
    """``Literal[values]`` that takes only integers (no booleans, no floats)."""
    return Annotated[Literal[tuple(values)], BeforeValidator(_require_int)]


IPAddress = Annotated[str, AfterValidator(_check_ip)]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
Port = Annotated[int, Field(ge=0, le=65535)]
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
EpochMillis = Annotated[int, AfterValidator(_check_time)]
NonNegativeNumber = Annotated[float, Field(ge=0, allow_inf_nan=False)]
SeverityId = _int_literal(ocsf.SEVERITY_NAMES)
StatusId = _int_literal(ocsf.STATUS_NAMES)
HTTPStatusCode = Annotated[int, Field(ge=100, le=599)]


@with_config(_OPEN)
class Product(TypedDict):
    name: NotRequired[str | None]
    vendor_name: NotRequired[str | None]


@with_config(_OPEN)
class Metadata(TypedDict):
    uid: str
    version: str
    product: NotRequired[Product | None]


@with_config(_OPEN)
class User(TypedDict):
    name: NotRequired[str | None]
    uid: NotRequired[str | None]


@with_config(_OPEN)
class Actor(TypedDict):
    user: NotRequired[User | None]


@with_config(_OPEN)
class Location(TypedDict):
    country: NotRequired[str | None]


@with_config(_OPEN)
class Endpoint(TypedDict):
    ip: NotRequired[IPAddress | None]
    port: NotRequired[Port | None]
    svc_name: NotRequired[str | None]
    location: NotRequired[Location | None]


@with_config(_OPEN)
class EndpointWithIP(TypedDict):
    ip: IPAddress
    port: NotRequired[Port | None]
    svc_name: NotRequired[str | None]
    location: NotRequired[Location | None]


@with_config(_OPEN)
class Trace(TypedDict):
    uid: NotRequired[str | None]


@with_config(_OPEN)
class Traffic(TypedDict):
    bytes_in: NotRequired[Count | None]
    bytes_out: NotRequired[Count | None]
    packets_in: NotRequired[Count | None]
    packets_out: NotRequired[Count | None]


@with_config(_OPEN)
class ConnectionInfo(TypedDict):
    protocol_name: NotRequired[str | None]
    direction_id: NotRequired[Int64 | None]


@with_config(_OPEN)
class HTTPUrl(TypedDict):
    path: str


@with_config(_OPEN)
class HTTPRequest(TypedDict):
    http_method: str
    url: HTTPUrl
    user_agent: NotRequired[str | None]


@with_config(_OPEN)
class AnyHTTPUrl(TypedDict):
    path: NotRequired[str | None]


@with_config(_OPEN)
class AnyHTTPRequest(TypedDict):
    """``http_request`` on a class that does not require it: types checked, nothing required."""

    http_method: NotRequired[str | None]
    url: NotRequired[AnyHTTPUrl | None]
    user_agent: NotRequired[str | None]


@with_config(_OPEN)
class HTTPResponse(TypedDict):
    code: NotRequired[HTTPStatusCode | None]


@with_config(_OPEN)
class APIService(TypedDict):
    name: NotRequired[str | None]


@with_config(_OPEN)
class API(TypedDict):
    operation: str
    service: NotRequired[APIService | None]


@with_config(_OPEN)
class AnyAPI(TypedDict):
    """``api`` on a class that does not require it: types checked, nothing required."""

    operation: NotRequired[str | None]
    service: NotRequired[APIService | None]


#: Fields shared by every class after ``class_uid``, ``category_uid`` and ``activity_id``;
#: the first four are required. The optional ones include every field of
#: :data:`~anomaly_tutorial.ocsf.FLAT_COLUMNS`, so that each has its type on every class; a
#: class schema replaces some of them by required versions.
_COMMON: dict[str, Any] = {
    "type_uid": Int64,
    "severity_id": SeverityId,
    "time": EpochMillis,
    "metadata": Metadata,
    "class_name": NotRequired[str | None],
    "category_name": NotRequired[str | None],
    "activity_name": NotRequired[str | None],
    "status_id": NotRequired[StatusId | None],
    "status_detail": NotRequired[str | None],
    "message": NotRequired[str | None],
    "duration": NotRequired[NonNegativeNumber | None],
    "actor": NotRequired[Actor | None],
    "trace": NotRequired[Trace | None],
    "traffic": NotRequired[Traffic | None],
    "connection_info": NotRequired[ConnectionInfo | None],
    "src_endpoint": NotRequired[Endpoint | None],
    "dst_endpoint": NotRequired[Endpoint | None],
    "user": NotRequired[User | None],
    "auth_protocol": NotRequired[str | None],
    "is_mfa": NotRequired[bool | None],
    "logon_type": NotRequired[str | None],
    "http_request": NotRequired[AnyHTTPRequest | None],
    "http_response": NotRequired[HTTPResponse | None],
    "api": NotRequired[AnyAPI | None],
}


def _event_schema(name: str, class_uid: int, fields: dict[str, Any], doc: str) -> Any:
    """Build the TypedDict of one class: its literal ids, the common fields, then ``fields``."""
    annotations: dict[str, Any] = {
        "class_uid": _int_literal([class_uid]),
        "category_uid": _int_literal([ocsf.CATEGORY_OF_CLASS[class_uid]]),
        "activity_id": _int_literal(ocsf.ACTIVITY_NAMES[class_uid]),
        **_COMMON,
        **fields,
    }
    schema = TypedDict(name, annotations)  # type: ignore[operator]
    schema.__doc__ = doc
    schema.__module__ = __name__
    return with_config(_OPEN)(schema)


def _check_type_uid(event: dict[str, Any]) -> dict[str, Any]:
    expected = ocsf.type_uid(event["class_uid"], event["activity_id"])
    if event["type_uid"] != expected:
        raise _problem(
            f"{event['type_uid']} does not match class_uid {event['class_uid']} and "
            f"activity_id {event['activity_id']}: expected class_uid * 100 + activity_id = "
            f"{expected}",
            field="type_uid",
        )
    return event


def _check_authentication(event: dict[str, Any]) -> dict[str, Any]:
    actor = event.get("actor") or {}
    if event.get("user") is None and actor.get("user") is None:
        raise _problem(
            "required field is missing: an Authentication event needs 'user' or 'actor.user'",
            field="user",
        )
    return _check_type_uid(event)


AuthenticationEvent = _event_schema(
    "AuthenticationEvent",
    ocsf.AUTHENTICATION,
    {},
    "OCSF Authentication (3002); needs ``user`` or ``actor.user``.",
)

NetworkActivityEvent = _event_schema(
    "NetworkActivityEvent",
    ocsf.NETWORK_ACTIVITY,
    {"src_endpoint": EndpointWithIP, "dst_endpoint": EndpointWithIP},
    "OCSF Network Activity (4001); needs ``src_endpoint.ip`` and ``dst_endpoint.ip``.",
)

HTTPActivityEvent = _event_schema(
    "HTTPActivityEvent",
    ocsf.HTTP_ACTIVITY,
    {"http_request": HTTPRequest},
    "OCSF HTTP Activity (4002); needs ``http_request.http_method`` and ``.url.path``.",
)

APIActivityEvent = _event_schema(
    "APIActivityEvent",
    ocsf.API_ACTIVITY,
    {"api": API},
    "OCSF API Activity (6003); needs ``api.operation``.",
)

#: Schema of each supported ``class_uid``.
EVENT_SCHEMAS: dict[int, Any] = {
    ocsf.AUTHENTICATION: AuthenticationEvent,
    ocsf.NETWORK_ACTIVITY: NetworkActivityEvent,
    ocsf.HTTP_ACTIVITY: HTTPActivityEvent,
    ocsf.API_ACTIVITY: APIActivityEvent,
}


def _class_tag(event: Any) -> str | None:
    """The union tag of an event: its ``class_uid`` if that is an integer.

    ``None`` (no ``class_uid``) and ``"not-an-integer"`` (``True``, ``"4002"``, ``4002.0``)
    match no class, so such events fail as an unsupported class instead of being coerced.
    """
    if not isinstance(event, dict):
        return None
    if "class_uid" not in event:
        return None
    uid = event["class_uid"]
    return str(uid) if type(uid) is int else "not-an-integer"


OCSFEvent = Annotated[
    Annotated[AuthenticationEvent, AfterValidator(_check_authentication), Tag("3002")]
    | Annotated[NetworkActivityEvent, AfterValidator(_check_type_uid), Tag("4001")]
    | Annotated[HTTPActivityEvent, AfterValidator(_check_type_uid), Tag("4002")]
    | Annotated[APIActivityEvent, AfterValidator(_check_type_uid), Tag("6003")],
    Discriminator(_class_tag),
]

#: Validates a list of events in one call and returns them as dicts; errors carry
#: ``loc = (index, class_uid, *path)``, or ``(index,)`` when ``class_uid`` itself is wrong.
EVENTS_ADAPTER: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(list[OCSFEvent])
