"""Exercises of the chapter "Deploying a detector" (``book/deployment.md``).

Expected answers are computed here with the package's own functions (the service's request
parser, its limits) on the small inputs the chapter prints, never typed in.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from anomaly_tutorial.exercises.registry import close_to, exercise, reading_answer

#: A failed logon as the generator writes it (OCSF Authentication, class 3002).
EXAMPLE_EVENT: dict[str, Any] = {
    "metadata": {
        "uid": "evt-00000002",
        "version": "1.3.0",
        "product": {"name": "Keycloak", "vendor_name": "Red Hat"},
    },
    "time": 1772420888973,
    "class_uid": 3002,
    "class_name": "Authentication",
    "category_uid": 3,
    "category_name": "Identity & Access Management",
    "activity_id": 1,
    "activity_name": "Logon",
    "type_uid": 300201,
    "severity_id": 2,
    "status_id": 2,
    "status_detail": "Unknown user",
    "message": "login failed user=u0228 ip=90.84.238.122 reason=unknown_user",
    "duration": 87.7,
    "actor": {"user": {"name": "u0228", "uid": "a30519af-acct"}},
    "src_endpoint": {"ip": "90.84.238.122", "port": 46776, "location": {"country": "FR"}},
    "dst_endpoint": {"ip": "10.1.1.10", "port": 443, "svc_name": "auth"},
    "user": {"name": "u0228", "uid": "a30519af-acct"},
    "auth_protocol": "Password",
    "is_mfa": True,
    "logon_type": "Network",
}


def exercise_batch() -> list[dict[str, Any]]:
    """Exercise deployment-1: four copies of :data:`EXAMPLE_EVENT`, three of them edited."""
    events = [copy.deepcopy(EXAMPLE_EVENT) for _ in range(4)]
    for i, event in enumerate(events):
        event["metadata"]["uid"] = f"evt-ex1-{i}"
    events[0]["src_endpoint"]["port"] = "46776"  # a port as a string
    events[0]["status_id"] = 7  # not an OCSF status
    del events[1]["metadata"]["uid"]  # no event id
    events[2]["actor"]["user"]["name"] = "someone-the-model-never-saw"
    events[3]["duration"] = math.inf
    return events


#: Exercise deployment-3: the body limit of a service created with a smaller one.
EXERCISE_MAX_BODY_BYTES = 65_536

#: Exercise deployment-2: a load test's concurrency and throughput (requests per second).
LITTLE_CONCURRENCY = 50
LITTLE_THROUGHPUT_RPS = 420.0


def _problems_answer() -> int:
    from anomaly_tutorial.serving.service import DEFAULT_MAX_EVENTS, RequestProblems, parse_events

    try:
        parse_events(json.dumps(exercise_batch()).encode(), DEFAULT_MAX_EVENTS)
    except RequestProblems as refused:
        return len(refused.problems)
    raise AssertionError("the exercise batch should be refused")  # pragma: no cover


def _largest_batch_answer() -> int:
    from anomaly_tutorial.serving.service import DEFAULT_MAX_EVENTS

    one = len(json.dumps(EXAMPLE_EVENT).encode())
    # json.dumps of a list of n events: "[" + n events joined by ", " + "]" = n * (one + 2)
    by_bytes = EXERCISE_MAX_BODY_BYTES // (one + 2)
    assert len(json.dumps([EXAMPLE_EVENT] * by_bytes).encode()) <= EXERCISE_MAX_BODY_BYTES
    assert len(json.dumps([EXAMPLE_EVENT] * (by_bytes + 1)).encode()) > EXERCISE_MAX_BODY_BYTES
    return min(by_bytes, DEFAULT_MAX_EVENTS)


@exercise(
    "deployment-1",
    hint="Send the batch to /v1/score and count the items of the 422 answer's 'detail'. "
    "A value the model has never seen is not a problem.",
    why="Every problem of every event is listed, each with its index and field; the unseen "
    "user name is scored, not refused.",
)
def _check_deployment_1(answer: object) -> bool:
    return close_to(answer, _problems_answer(), rtol=0.0, atol=0.0)


@exercise(
    "deployment-2",
    hint="Little's law: requests in flight = throughput x mean time in the system. Solve for "
    "the time and give it in milliseconds.",
    why="At a fixed concurrency, latency and throughput are two views of one number: a "
    "service cannot get faster per request without serving more requests per second.",
)
def _check_deployment_2(answer: object) -> bool:
    expected_ms = 1000.0 * LITTLE_CONCURRENCY / LITTLE_THROUGHPUT_RPS
    return close_to(answer, expected_ms, rtol=0.01)


@exercise(
    "deployment-3",
    hint="Measure len(json.dumps(EXAMPLE_EVENT).encode()); a JSON list adds '[' and ']' and "
    "', ' between events. Then remember the service's second limit.",
    why="Two limits apply: the body size and the number of events; the smaller one binds.",
)
def _check_deployment_3(answer: object) -> bool:
    with reading_answer("a whole number of events"):
        value = float(answer)  # type: ignore[arg-type]
    return close_to(value, _largest_batch_answer(), rtol=0.0, atol=0.0)
