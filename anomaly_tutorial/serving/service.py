"""The REST service: a FastAPI app that scores OCSF events with a fitted pipeline.

:func:`create_app` builds the app from a bundle folder (or a fitted
:class:`~anomaly_tutorial.serving.pipeline.DetectionPipeline`); :func:`serve` runs it with
uvicorn; :func:`running_service` starts it on a free port of 127.0.0.1 in a background thread
and stops it on leaving the ``with`` block (for the chapter, the tests and the load test).

Routes
------
``POST /v1/score``
    One OCSF event (a JSON object) or a list of them, as ``OCSFDataset.to_ocsf()`` and the
    package's readers produce them. Answers one :class:`ScoredEvent` per event, in request
    order: the detector's raw score, the conformal p-value, the 0-100 score, whether it alerts
    and its severity.
``POST /v1/alerts``
    The same body; answers the OCSF Detection Findings (class_uid 2004) of the events that
    alert, built by the pipeline's triage step.
``GET /healthz``
    ``{"status": "ok"}``: the only route that needs no token (for load balancers).
``GET /v1/model``
    The bundle's manifest (package version, feature schema hash, training period, threshold
    and its validation figures, file checksums).
``GET /metrics``
    Prometheus text format: requests by route and status, a latency histogram per route,
    events scored, late events, alerts by severity and requests per group push. Each app has its own
    ``CollectorRegistry``, so several apps can live in one process.

Scoring state
-------------
The pipeline's window features (failed logins per source address in the last five minutes,
...) need earlier events of the same entity. With ``stateful=True`` (the default) the app keeps
one :class:`~anomaly_tutorial.serving.streaming.StreamingScorer` behind a lock: every request's
events are scored with the history of all earlier requests' events, so five single-event
requests of one failing address give the fifth event the same window features as a batch of
five. The lock serialises scoring (the window state is one ordered history); requests are
still read, parsed and validated concurrently, and requests that wait for the lock are scored
together in one push when it frees (*group scoring*, the dynamic batching of model servers):
the pipeline's cost per call is mostly fixed, so many clients share it, and the scores are the
same as one request at a time. With several clients events arrive out of
order: an event older than the latest event already scored (a *late* event, which the
streaming scorer refuses) is scored by the pipeline with the events the service still holds
(the last ``window_s_`` seconds) as history, marked ``"late": true`` in the answer, counted in
``anomaly_late_events_total`` and not added to the stream; the scores already given to later
events are not revised. With ``stateful=False`` each request is scored alone
(``pipeline.score(events)``, no history): cheaper and independent of order, but window
features then only see the request's own events.

Errors
------
* **422** for bad input, listing *every* problem: malformed JSON (not UTF-8, syntax error), a
  body that is neither an object nor a list of objects, and per event the index in the
  request (0-based) and the dotted field path of each wrong type, missing required field,
  non-finite number (``NaN`` / ``Infinity``, which Python's JSON parser accepts) or value out
  of range. The problems are found by :func:`anomaly_tutorial.io.validate_numbered`, the
  readers' validation, so the service and the batch CLI refuse the same records. A request
  with one bad event is refused as a whole (nothing is scored), so a client never has to
  match partial answers to its events.
* Values the model has never seen (a new user, a new URL path, a new country) are **not**
  errors: the featuriser maps them to its ``<unknown>`` category code and a rarity count of
  0, so they are scored (and tend to score as rare).
* **413** for a body larger than ``max_body_bytes``: checked on ``Content-Length`` before
  anything is read, and on the bytes actually received (a chunked body without a length, or a
  length that lies); also 413 for more than ``max_events`` events in one request.
* **401** for a missing or wrong ``Authorization: Bearer <token>`` header on every route
  except ``/healthz``, when a token is configured; the comparison is constant-time
  (:func:`secrets.compare_digest`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import os
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from anomaly_tutorial import __version__, ocsf
from anomaly_tutorial.io.errors import BadRecord
from anomaly_tutorial.io.frame import frame_from_flat
from anomaly_tutorial.io.validation import validate_numbered

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_EVENTS",
    "TOKEN_ENV_VAR",
    "AlertsResponse",
    "HealthResponse",
    "Problem",
    "ScoreResponse",
    "ScoredEvent",
    "create_app",
    "running_service",
    "serve",
]

#: Environment variable read for the bearer token when ``create_app(token=None)``.
TOKEN_ENV_VAR = "ANOMALY_TUTORIAL_TOKEN"
#: Default largest request body: 1 MiB (about 1,500 OCSF events).
DEFAULT_MAX_BODY_BYTES = 1 << 20
#: Default largest number of events in one request.
DEFAULT_MAX_EVENTS = 1000
#: Most events scored in one group push of the stateful service (see ``_Engine.score``); a
#: single larger request is still scored whole.
GROUP_MAX_EVENTS = 5000
#: Upper bounds (seconds) of the latency histogram's buckets.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_PUBLIC_ROUTES = frozenset({"/healthz"})
_OTHER_PROBLEM = re.compile(r"^field '(?P<field>[^']*)': (?P<problem>.*)$", re.DOTALL)


# --- response models -----------------------------------------------------------------------
class ScoredEvent(BaseModel):
    """The answer for one event of a ``/v1/score`` request."""

    index: int = Field(description="Position of the event in the request (0-based).")
    event_id: str = Field(description="The event's metadata.uid.")
    time: int = Field(description="The event's time, epoch milliseconds.")
    detector_score: float = Field(description="Raw detector score, higher = more anomalous.")
    p_value: float = Field(description="Conformal p-value against the calibration scores.")
    score: float = Field(description="0-100 score derived from the p-value.")
    alert: bool = Field(description="Whether the event crosses the bundle's threshold.")
    severity: str | None = Field(description="low / medium / high / critical, or null.")
    late: bool = Field(
        description="Older than an event already scored: scored against the recent events, "
        "not added to the window state (stateful service only)."
    )


class ScoreResponse(BaseModel):
    """The answer of ``POST /v1/score``."""

    schema_hash: str = Field(description="Hash of the model's feature schema.")
    n_events: int
    n_alerts: int
    n_late: int = Field(description="Events older than an event already scored.")
    results: list[ScoredEvent]


class AlertsResponse(BaseModel):
    """The answer of ``POST /v1/alerts``."""

    schema_hash: str
    n_events: int
    n_alerts: int
    n_late: int
    findings: list[dict[str, Any]] = Field(description="OCSF Detection Finding records.")


class Problem(BaseModel):
    """One problem of a refused request (the items of a 422 answer's ``detail``)."""

    loc: list[str | int] = Field(description='FastAPI-style location: ["body", index, *path].')
    index: int | None = Field(description="Position of the event in the request, if any.")
    field: str | None = Field(description="Dotted path of the offending field, if any.")
    msg: str
    type: str


class HealthResponse(BaseModel):
    """The answer of ``GET /healthz``."""

    status: str


# --- request parsing -------------------------------------------------------------------------
class RequestProblems(Exception):
    """Bad input: the list of :class:`Problem` s for a 422 answer."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _body_problem(msg: str, kind: str) -> RequestProblems:
    return RequestProblems([Problem(loc=["body"], index=None, field=None, msg=msg, type=kind)])


def _record_problems(bad: BadRecord) -> list[Problem]:
    """Every problem of one bad event as :class:`Problem` s (index = record number)."""
    found = [(bad.field, bad.problem)]
    for text in bad.other_problems:
        match = _OTHER_PROBLEM.match(text)
        found.append((match["field"], match["problem"]) if match else (None, text))
    problems = []
    for field, problem in found:
        path: list[str | int] = field.split(".") if field else []
        problems.append(
            Problem(
                loc=["body", bad.record_number, *path],
                index=bad.record_number,
                field=field,
                msg=problem,
                type="ocsf_invalid",
            )
        )
    return problems


def parse_events(body: bytes, max_events: int) -> tuple[list[dict[str, Any]], bool]:
    """Parse and validate a request body into flat event rows.

    Parameters
    ----------
    body
        The raw body: UTF-8 JSON, one OCSF event (an object) or a list of them.
    max_events
        Largest number of events accepted.

    Returns
    -------
    rows
        The events as rows of the flat frame, in request order.
    single
        Whether the body was one object rather than a list.

    Raises
    ------
    RequestProblems
        With every problem found (422).
    HTTPException
        413 when the body holds more than ``max_events`` events.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _body_problem(
            f"not valid UTF-8: {exc.reason} at byte {exc.start}", "utf8_invalid"
        ) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _body_problem(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "json_invalid"
        ) from None
    except RecursionError:
        raise _body_problem("not valid JSON: nested too deeply", "json_invalid") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise _body_problem(f"not valid JSON: {exc}", "json_invalid") from None
    single = isinstance(value, dict)
    if single:
        events = [value]
    elif isinstance(value, list):
        events = value
    else:
        kinds = {bool: "boolean", int: "number", float: "number", str: "string"}
        kind = "null" if value is None else kinds.get(type(value), type(value).__name__)
        raise _body_problem(
            f"expected an OCSF event (a JSON object) or a list of them, found a JSON {kind}",
            "body_type",
        )
    if len(events) > max_events:
        raise HTTPException(
            status_code=413,
            detail=f"{len(events)} events in one request; the limit is {max_events} "
            "(send several requests, or use the batch CLI for files)",
        )
    _, rows, bad = validate_numbered(events, range(len(events)), flatten=True)
    if bad:
        raise RequestProblems([p for record in bad for p in _record_problems(record)])
    return rows, single


async def _read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise HTTPException(400, f"Content-Length {declared!r} is not an integer") from None
        if length > limit:
            raise HTTPException(413, f"request body of {length} bytes; the limit is {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                413, f"request body over {limit} bytes (stopped reading at {size} bytes)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


# --- scoring ---------------------------------------------------------------------------------
def _finite(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"non-finite value {number!r} in the pipeline's output")
    return number


class _Engine:
    """The pipeline and, when stateful, the streaming scorer, its lock and the recent events.

    In-order events go through :class:`~anomaly_tutorial.serving.streaming.StreamingScorer`
    (exactly the batch scores). The scorer refuses an event older than the latest one it has
    scored (:class:`~anomaly_tutorial.serving.streaming.LateEventError`); a service cannot
    refuse what concurrent clients routinely cause, so such *late* events are scored by the
    pipeline with the recent events as history, flagged ``late`` in the answer, counted in
    the metrics, and not added to the stream (the scores already given to later events are
    not revised). ``recent`` is this class's bounded copy of the accepted events of the last
    ``pipeline.window_s_`` seconds (the scorer keeps the same events but does not expose
    them), the history of the late events.
    """

    def __init__(self, pipeline: Any, manifest: Mapping[str, Any], stateful: bool) -> None:
        self.pipeline = pipeline
        self.manifest = dict(manifest)
        self.stateful = stateful
        self.lock = threading.Lock()
        self.queue_lock = threading.Lock()
        self.queue: list[tuple[list[dict[str, Any]], Future[Any]]] = []
        #: Number of requests in each group push (bounded: the last 10,000 groups).
        self.group_sizes: collections.deque[int] = collections.deque(maxlen=10_000)
        self.on_group: Any = None  # called with each group's number of requests
        self.scorer: Any = None
        self.chunks: list[pd.DataFrame] = []
        self.window_ms = math.ceil(float(pipeline.window_s_) * 1000)
        if stateful:
            from anomaly_tutorial.serving.streaming import StreamingScorer

            self.scorer = StreamingScorer(pipeline)
        self.schema_hash = str(pipeline.schema_hash())

    def _late(self, frame: pd.DataFrame) -> np.ndarray:
        watermark = self.scorer.watermark_
        times = frame["time"].to_numpy(dtype="int64")
        return np.zeros(len(frame), dtype=bool) if watermark is None else times < watermark

    def _remember(self, frame: pd.DataFrame) -> None:
        # In-order frames arrive in time order, so whole chunks age out from the front; the
        # rows are only concatenated when a late event or an alerts request needs them.
        self.chunks.append(frame.sort_values("time", kind="stable"))
        oldest = self.scorer.watermark_ - self.window_ms
        while self.chunks and int(self.chunks[0]["time"].max()) < oldest:
            self.chunks.pop(0)

    @property
    def recent(self) -> pd.DataFrame | None:
        """The accepted events of the last ``window_s_`` seconds before the watermark."""
        if not self.chunks:
            return None
        past = pd.concat(self.chunks, ignore_index=True)
        keep = past["time"].to_numpy(dtype="int64") >= self.scorer.watermark_ - self.window_ms
        return past.loc[keep].reset_index(drop=True)

    def score(self, rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
        """The request's event frame, its scores in request order and which events were late.

        ``rows`` are the request's validated flat events (:func:`parse_events`).

        Stateful requests are *group-scored*: a request that finds scoring busy queues its
        events, and whichever request gets the lock next scores every queued request in one
        push (at most :data:`GROUP_MAX_EVENTS` events, in one event frame built once for the
        group), then hands each request its rows. One
        push of many requests costs little more than one push of one, because the pipeline's
        cost per call is mostly fixed, so throughput grows with the number of waiting clients
        instead of staying at one call's rate. Scores are unchanged by grouping: the streaming
        scorer gives the batch scores of the time-ordered stream, however it is cut into
        pushes (the events of the grouped requests are put in time order among themselves,
        which also makes fewer of them late).
        """
        if self.scorer is None:
            frame = frame_from_flat(rows)
            return frame, self.pipeline.score(frame), np.zeros(len(frame), dtype=bool)
        job: Future[tuple[pd.DataFrame, pd.DataFrame, np.ndarray]] = Future()
        with self.queue_lock:
            self.queue.append((rows, job))
        with self.lock:
            if not job.done():
                self._score_queued()
        return job.result()

    def _score_queued(self) -> None:
        """Score the queued requests in one push (called with ``self.lock`` held)."""
        with self.queue_lock:
            take, total = 0, 0
            while take < len(self.queue) and (
                take == 0 or total + len(self.queue[take][0]) <= GROUP_MAX_EVENTS
            ):
                total += len(self.queue[take][0])
                take += 1
            group, self.queue = self.queue[:take], self.queue[take:]
        self.group_sizes.append(len(group))
        if self.on_group is not None:
            self.on_group(len(group))
        try:
            combined = frame_from_flat([row for rows, _ in group for row in rows])
            scores, late = self._score_locked(combined)
        except Exception:
            if len(group) == 1:
                group[0][1].set_exception(sys.exc_info()[1])  # type: ignore[arg-type]
                return
            # one request's events broke the group: score each alone, so that the error
            # reaches the request that caused it and the others are still answered
            for rows, job in group:
                try:
                    frame = frame_from_flat(rows)
                    job.set_result((frame, *self._score_locked(frame)))
                except Exception as exc:
                    job.set_exception(exc)
            return
        start = 0
        for rows, job in group:
            stop = start + len(rows)
            job.set_result(
                (
                    combined.iloc[start:stop].reset_index(drop=True),
                    scores.iloc[start:stop].reset_index(drop=True),
                    late[start:stop],
                )
            )
            start = stop

    def _score_locked(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Scores in ``frame`` order and the late mask; the caller holds ``self.lock``."""
        late = self._late(frame)
        parts = []
        if not late.all():
            in_order = frame.loc[~late]
            pushed = self.scorer.push(in_order)  # in time order, ties in arrival order
            order = np.argsort(in_order["time"].to_numpy(), kind="stable")
            parts.append(pushed.assign(_position=np.flatnonzero(~late)[order]))
            self._remember(in_order)
        if late.any():
            scores = self.pipeline.score(frame.loc[late], history=self.recent)
            parts.append(scores.assign(_position=np.flatnonzero(late)))
        result = pd.concat(parts).sort_values("_position").drop(columns="_position")
        return result.reset_index(drop=True), late

    def alerts(self, frame: pd.DataFrame) -> tuple[list[dict[str, Any]], int]:
        """Detection Findings of the events that alert, and the number of late events."""
        if self.scorer is None:
            return self.pipeline.alerts(frame), 0
        with self.lock:
            late = self._late(frame)
            findings = []
            if not late.all():
                in_order = frame.loc[~late]
                findings += self.scorer.push_with_alerts(in_order)[1]
                self._remember(in_order)
            if late.any():
                findings += self.pipeline.alerts(frame.loc[late], history=self.recent)
        position = {uid: i for i, uid in enumerate(frame[ocsf.ID_COLUMN].astype(str))}
        findings.sort(key=lambda f: position[f["finding_info"]["related_events"][0]["uid"]])
        return findings, int(late.sum())


def _scored_events(
    frame: pd.DataFrame, scores: pd.DataFrame, late: np.ndarray
) -> list[ScoredEvent]:
    """One :class:`ScoredEvent` per event; ``scores`` is in request order."""
    ids = frame[ocsf.ID_COLUMN].astype(str).to_numpy()
    if len(scores) != len(frame) or not np.array_equal(scores["event_id"].to_numpy(), ids):
        raise RuntimeError("the pipeline's scores do not match the request's events")
    severity = scores["severity"].astype(object).where(scores["severity"].notna(), None)
    columns = zip(
        ids,
        scores["time"],
        scores["detector_score"],
        scores["p_value"],
        scores["score"],
        scores["alert"],
        severity,
        late,
        strict=True,
    )
    return [
        ScoredEvent(
            index=i,
            event_id=event_id,
            time=int(t),
            detector_score=_finite(d),
            p_value=_finite(p),
            score=_finite(s),
            alert=bool(a),
            severity=None if sev is None else str(sev),
            late=bool(is_late),
        )
        for i, (event_id, t, d, p, s, a, sev, is_late) in enumerate(columns)
    ]


# --- metrics ---------------------------------------------------------------------------------
class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "anomaly_requests",
            "HTTP requests answered, by route and status code.",
            ("route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "anomaly_request_duration_seconds",
            "Time from request to response, by route (seconds).",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "anomaly_events_scored", "OCSF events scored.", registry=self.registry
        )
        self.alerts = Counter(
            "anomaly_alerts",
            "Events that alerted, by severity.",
            ("severity",),
            registry=self.registry,
        )
        self.groups = Histogram(
            "anomaly_score_group_requests",
            "Requests scored together in one push of the stateful service.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200),
            registry=self.registry,
        )
        self.late = Counter(
            "anomaly_late_events",
            "Events older than an event already scored (stateful service).",
            registry=self.registry,
        )


def _route_label(scope: Mapping[str, Any]) -> str:
    """The route's path template, or ``other`` (unknown paths must not grow the label set)."""
    route = scope.get("route")
    return getattr(route, "path", "other") if route is not None else "other"


class _ObserveAndAuthorise:
    """ASGI middleware: the bearer-token check, then request counts and latencies.

    A plain ASGI middleware rather than ``@app.middleware("http")``, which costs a task and a
    stream per request: this one only wraps ``send`` to see the status code.
    """

    def __init__(self, app: Any, metrics: _Metrics, expected: bytes | None) -> None:
        self.app = app
        self.metrics = metrics
        self.expected = expected

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        if self.expected is not None and scope["path"] not in _PUBLIC_ROUTES:
            given = b""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    given = value
            if not secrets.compare_digest(given, self.expected):
                response = JSONResponse(
                    {"detail": "missing or wrong bearer token (Authorization: Bearer <token>)"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                self._record("unauthorised", 401, start)
                return
        status = 500

        async def send_seeing_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_seeing_status)
        finally:
            self._record(_route_label(scope), status, start)

    def _record(self, route: str, status: int, start: float) -> None:
        self.metrics.requests.labels(route, str(status)).inc()
        self.metrics.latency.labels(route).observe(time.perf_counter() - start)


# --- the app ---------------------------------------------------------------------------------
def _load(bundle_or_pipeline: Any) -> tuple[Any, dict[str, Any]]:
    if isinstance(bundle_or_pipeline, str | os.PathLike):
        from anomaly_tutorial.serving.bundle import load_bundle, read_manifest

        pipeline = load_bundle(bundle_or_pipeline)  # verifies checksums, version and schema
        return pipeline, read_manifest(bundle_or_pipeline)
    pipeline = bundle_or_pipeline
    if not callable(getattr(pipeline, "score", None)):
        raise TypeError(
            "bundle_or_pipeline: expected a bundle folder or a fitted DetectionPipeline, got "
            f"{type(pipeline).__name__}"
        )
    manifest = {
        "bundle": None,
        "note": "the app was created from a pipeline in memory, not from a saved bundle",
        "schema_hash": str(pipeline.schema_hash()),
        "package_version": getattr(pipeline, "package_version_", None),
    }
    return pipeline, manifest


def create_app(
    bundle_or_pipeline: Any,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_events: int = DEFAULT_MAX_EVENTS,
    token: str | None = None,
    stateful: bool = True,
) -> FastAPI:
    """Build the scoring service for a bundle or a fitted pipeline.

    Parameters
    ----------
    bundle_or_pipeline
        A bundle folder written by :func:`~anomaly_tutorial.serving.bundle.save_bundle`
        (loaded, and so checked, with :func:`~anomaly_tutorial.serving.bundle.load_bundle`),
        or a fitted :class:`~anomaly_tutorial.serving.pipeline.DetectionPipeline`.
    max_body_bytes
        Largest request body in bytes; a larger one gets 413.
    max_events
        Largest number of events in one request; more get 413.
    token
        Bearer token required on every route but ``/healthz``. ``None`` reads the environment
        variable :data:`TOKEN_ENV_VAR` (``ANOMALY_TUTORIAL_TOKEN``); when that is unset or
        empty, no token is required.
    stateful
        Keep the per-entity window history across requests (see the module docstring).

    Returns
    -------
    fastapi.FastAPI
        The app; ``app.state.pipeline``, ``app.state.manifest`` and ``app.state.registry``
        (its Prometheus registry) are set.
    """
    for name, value in (("max_body_bytes", max_body_bytes), ("max_events", max_events)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    if token is None:
        token = os.environ.get(TOKEN_ENV_VAR) or None
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ValueError("token: expected a non-empty string or None")
    pipeline, manifest = _load(bundle_or_pipeline)
    engine = _Engine(pipeline, manifest, stateful=stateful)
    metrics = _Metrics()
    expected = f"Bearer {token}".encode() if token is not None else None

    app = FastAPI(
        title="anomaly_tutorial scoring service",
        version=str(manifest.get("package_version") or __version__),
        description="Scores OCSF events with a fitted anomaly-detection pipeline.",
    )
    app.state.pipeline = pipeline
    app.state.manifest = manifest
    app.state.registry = metrics.registry
    app.state.stateful = stateful
    app.state.engine = engine
    engine.on_group = metrics.groups.observe

    app.add_middleware(_ObserveAndAuthorise, metrics=metrics, expected=expected)

    @app.exception_handler(RequestProblems)
    async def bad_input(request: Request, exc: RequestProblems) -> JSONResponse:
        return JSONResponse({"detail": [p.model_dump() for p in exc.problems]}, status_code=422)

    async def rows_of(request: Request) -> list[dict[str, Any]]:
        body = await _read_body(request, max_body_bytes)
        rows, _ = await run_in_threadpool(parse_events, body, max_events)
        return rows

    @app.get("/healthz", response_model=HealthResponse)
    async def healthz() -> HealthResponse:
        return HealthResponse(status="ok")

    @app.get("/v1/model")
    async def model() -> dict[str, Any]:
        return engine.manifest

    @app.get("/metrics")
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/score", response_model=ScoreResponse)
    async def score(request: Request) -> ScoreResponse:
        rows = await rows_of(request)
        if not rows:
            return ScoreResponse(
                schema_hash=engine.schema_hash, n_events=0, n_alerts=0, n_late=0, results=[]
            )
        frame, scores, late = await run_in_threadpool(engine.score, rows)
        results = _scored_events(frame, scores, late)
        alerts = [r for r in results if r.alert]
        metrics.events.inc(len(results))
        metrics.late.inc(int(late.sum()))
        for result in alerts:
            metrics.alerts.labels(result.severity or "none").inc()
        return ScoreResponse(
            schema_hash=engine.schema_hash,
            n_events=len(results),
            n_alerts=len(alerts),
            n_late=int(late.sum()),
            results=results,
        )

    @app.post("/v1/alerts", response_model=AlertsResponse)
    async def alerts(request: Request) -> AlertsResponse:
        frame = frame_from_flat(await rows_of(request))
        findings, n_late = ([], 0) if frame.empty else await run_in_threadpool(engine.alerts, frame)
        metrics.events.inc(len(frame))
        metrics.late.inc(n_late)
        for finding in findings:
            metrics.alerts.labels(_finding_severity(finding)).inc()
        return AlertsResponse(
            schema_hash=engine.schema_hash,
            n_events=len(frame),
            n_alerts=len(findings),
            n_late=n_late,
            findings=findings,
        )

    return app


def _finding_severity(finding: Mapping[str, Any]) -> str:
    """The triage severity name of a Detection Finding (``severity``, lower-case)."""
    name = finding.get("severity")
    return str(name).lower() if name else "none"


# --- running it ------------------------------------------------------------------------------
def serve(
    bundle: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    **app_options: Any,
) -> None:
    """Serve a bundle with uvicorn until interrupted (binds 127.0.0.1 unless told otherwise).

    ``app_options`` go to :func:`create_app` (``max_body_bytes``, ``max_events``, ``token``,
    ``stateful``).
    """
    import uvicorn

    uvicorn.run(create_app(bundle, **app_options), host=host, port=port, log_level="warning")


@contextlib.contextmanager
def running_service(
    app: FastAPI, host: str = "127.0.0.1", *, startup_timeout_s: float = 20.0
) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free port of ``host`` in a background thread.

    The socket is bound here (port 0: the operating system picks a free port) and handed to
    uvicorn, so there is no race for the port. On leaving the block, even through an
    exception, the server is asked to exit and the thread is joined.

    Yields
    ------
    str
        The base URL, e.g. ``http://127.0.0.1:53211``.
    """
    import uvicorn

    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it Nagle's algorithm and delayed ACKs add ~40 ms to every answer.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if failure or not thread.is_alive():
            sock.close()
            raise RuntimeError(f"the service did not start on {host}:{port}") from (
                failure[0] if failure else None
            )
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            sock.close()
            raise TimeoutError(f"the service did not start within {startup_timeout_s} s")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
