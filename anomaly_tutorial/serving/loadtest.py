"""A bounded load test of the scoring service, with a trivial endpoint as the yardstick.

:func:`run_loadtest` starts the service on a free port of 127.0.0.1, sends a fixed number of
single-event ``POST /v1/score`` requests at a given concurrency with an asynchronous ``httpx``
client, and sends the same number of ``GET /healthz`` requests to the same server in the same
run. It reports p50 / p95 / p99 latency, throughput and errors for both. On a shared or noisy
machine the absolute figures move from run to run; the **ratio** of the scoring endpoint to
the trivial one (same server, same client, same moment) is what carries over.

The two endpoints are measured in alternating rounds (scoring, health, scoring, health, ...),
so that a burst of load from another process hits both alike. Each request's latency is the
time from sending it to having read the whole answer, measured in the client. A request
counts as an error when it raises (timeout, refused connection) or answers other than 200.

Events are those of the book's test period (``book_split()``), sent in time order; with
concurrency above 1 neighbouring requests may arrive out of order at the server, which the
stateful service handles like any late event.

Where the server runs
    ``server="thread"`` (the default for an app) runs uvicorn in a thread of this process, so
    client and server share the interpreter: simple, and what the chapter does.
    ``server="process"`` (only for a bundle path) starts
    ``python -m anomaly_tutorial.serving serve`` as a separate process, as it would be
    deployed; the client then competes with the server only for CPU cores, not for the GIL.

Command line: ``python -m anomaly_tutorial.serving loadtest --requests 10000 --concurrency 50
--out results/serving/loadtest_c50.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LoadTestResult", "latency_summary", "run_loadtest", "test_period_bodies"]


@dataclass
class LoadTestResult:
    """What :func:`run_loadtest` measured.

    Attributes
    ----------
    settings
        Requests, concurrency, rounds, where the server ran, the machine.
    summary
        Per endpoint (``score``, ``healthz``): ``n``, ``errors``, ``p50_ms``, ``p95_ms``,
        ``p99_ms``, ``mean_ms``, ``throughput_rps``; for ``score`` also
        ``mean_requests_per_group`` (requests scored together per push) and ``late_events``, the
        service's count of events older than one already scored (from ``/metrics``, warm-up
        included; ``None`` when unavailable); and ``ratio``: score / healthz for the
        latencies and healthz / score for throughput (both "how many times slower").
    latencies_ms
        Every request's latency per endpoint, in milliseconds, in sending order.
    """

    settings: dict[str, Any]
    summary: dict[str, dict[str, float]]
    latencies_ms: dict[str, np.ndarray] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """Settings and summary (not the raw latencies), ready for ``json.dump``."""
        return {"settings": self.settings, "summary": self.summary}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_json` to ``path`` (folders created) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return target


def latency_summary(
    latencies_s: Sequence[float], errors: int, elapsed_s: float
) -> dict[str, float]:
    """p50 / p95 / p99 / mean latency in ms and throughput of one endpoint's requests."""
    values = np.asarray(latencies_s, dtype=float) * 1000.0
    if values.size == 0:
        raise ValueError("latencies_s: no requests were measured")
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "n": int(values.size),
        "errors": int(errors),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "mean_ms": float(values.mean()),
        "throughput_rps": float(values.size / elapsed_s),
    }


def test_period_bodies(n: int) -> list[bytes]:
    """``n`` single-event request bodies: the book's test-period events in time order.

    Raises
    ------
    ValueError
        If the test period has fewer than ``n`` events.
    """
    from anomaly_tutorial import ocsf
    from anomaly_tutorial.data import book_split, default_dataset

    _, _, test = book_split().split(default_dataset().events)
    if n > len(test):
        raise ValueError(f"n: the test period has {len(test)} events, {n} were asked for")
    rows = test.iloc[:n].loc[:, list(ocsf.FLAT_COLUMNS)].to_dict("records")
    return [json.dumps(ocsf.unflatten_event(row)).encode() for row in rows]


async def _phase(
    client: Any, method: str, path: str, bodies: Sequence[bytes | None], concurrency: int
) -> tuple[np.ndarray, int, float]:
    """Send one request per body with ``concurrency`` workers; latencies, errors, elapsed."""
    import httpx

    latencies = np.zeros(len(bodies))
    errors = 0
    next_index = 0
    headers = {"content-type": "application/json"}

    async def worker() -> None:
        nonlocal errors, next_index
        while next_index < len(bodies):
            i = next_index
            next_index += 1
            start = time.perf_counter()
            try:
                response = await client.request(method, path, content=bodies[i], headers=headers)
                await response.aread()
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies[i] = time.perf_counter() - start
            errors += not ok

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(bodies)))))
    return latencies, errors, time.perf_counter() - start


async def _drive(
    base_url: str,
    bodies: Sequence[bytes],
    warmup: Sequence[bytes],
    concurrency: int,
    rounds: int,
    token: str | None,
) -> tuple[dict[str, list[np.ndarray]], dict[str, int], dict[str, float], int | None]:
    import httpx

    headers = {"authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(30.0)
    parts: dict[str, list[np.ndarray]] = {"score": [], "healthz": []}
    errors = {"score": 0, "healthz": 0}
    elapsed = {"score": 0.0, "healthz": 0.0}
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=timeout
    ) as client:
        await _phase(client, "POST", "/v1/score", list(warmup), concurrency)
        await _phase(client, "GET", "/healthz", [None] * len(warmup), concurrency)
        for chunk in np.array_split(np.arange(len(bodies)), rounds):
            for name, method, path, payload in (
                ("score", "POST", "/v1/score", [bodies[i] for i in chunk]),
                ("healthz", "GET", "/healthz", [None] * len(chunk)),
            ):
                latencies, n_errors, seconds = await _phase(
                    client, method, path, payload, concurrency
                )
                parts[name].append(latencies)
                errors[name] += n_errors
                elapsed[name] += seconds
        late = _service_counters(await client.get("/metrics"))
    return parts, errors, elapsed, late


def _service_counters(response: Any) -> dict[str, float]:
    """Late events and group-scoring figures from the service's ``/metrics`` answer.

    ``late_events`` (``anomaly_late_events_total``) and ``mean_requests_per_group`` (sum over
    count of ``anomaly_score_group_requests``); a figure the answer lacks is left out.
    """
    if response.status_code != 200:
        return {}
    values = {}
    for line in response.text.splitlines():
        name, _, value = line.partition(" ")
        if name in (
            "anomaly_late_events_total",
            "anomaly_score_group_requests_sum",
            "anomaly_score_group_requests_count",
        ):
            values[name] = float(value)
    out: dict[str, float] = {}
    if "anomaly_late_events_total" in values:
        out["late_events"] = int(values["anomaly_late_events_total"])
    if values.get("anomaly_score_group_requests_count"):
        out["mean_requests_per_group"] = (
            values["anomaly_score_group_requests_sum"]
            / values["anomaly_score_group_requests_count"]
        )
    return out


def _run_coroutine(coroutine: Any) -> Any:
    """``asyncio.run(coroutine)``, in a thread of its own when a loop already runs here.

    A Jupyter kernel runs an event loop in its main thread, where ``asyncio.run`` refuses to
    start a second one.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="loadtest-client")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _service_process(bundle: Path, token: str | None, timeout_s: float = 60.0) -> Iterator[str]:
    """``python -m anomaly_tutorial.serving serve`` on a free port; stopped on exit."""
    import httpx

    host = "127.0.0.1"
    port = _free_port(host)
    env = dict(os.environ)
    if token:
        env["ANOMALY_TUTORIAL_TOKEN"] = token
    command = [sys.executable, "-m", "anomaly_tutorial.serving", "serve", "--bundle",
               str(bundle), "--host", host, "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, env=env)
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with code {process.returncode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the service did not answer within {timeout_s} s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_loadtest(
    app_or_bundle: Any,
    *,
    n_requests: int = 1000,
    concurrency: int = 1,
    rounds: int = 4,
    n_warmup: int = 20,
    bodies: Sequence[bytes] | None = None,
    server: str = "thread",
    token: str | None = None,
) -> LoadTestResult:
    """Load-test the service: ``n_requests`` scoring requests and as many health checks.

    Parameters
    ----------
    app_or_bundle
        A FastAPI app from :func:`~anomaly_tutorial.serving.service.create_app`, or a bundle
        folder (an app is created from it, or with ``server="process"`` a separate server).
    n_requests
        Measured requests per endpoint.
    concurrency
        Requests in flight at once (asynchronous workers sharing one connection pool).
    rounds
        The two endpoints alternate in this many rounds of ``n_requests / rounds`` each.
    n_warmup
        Requests per endpoint sent first and not measured (connections, caches).
    bodies
        Single-event request bodies (at least ``n_warmup + n_requests``); default: the book's
        test-period events in time order (:func:`test_period_bodies`).
    server
        ``"thread"`` or ``"process"`` (see the module docstring).
    token
        Bearer token to send, when the service requires one.

    Returns
    -------
    LoadTestResult
    """
    for name, value in (("n_requests", n_requests), ("concurrency", concurrency),
                        ("rounds", rounds)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    if rounds > n_requests:
        raise ValueError(f"rounds: {rounds} rounds need at least as many requests")
    if server not in ("thread", "process"):
        raise ValueError(f"server: expected 'thread' or 'process', got {server!r}")
    is_path = isinstance(app_or_bundle, str | os.PathLike)
    if server == "process" and not is_path:
        raise ValueError("server='process' needs a bundle folder, not an app in memory")
    total = n_warmup + n_requests
    if bodies is None:
        bodies = test_period_bodies(total)
    if len(bodies) < total:
        raise ValueError(f"bodies: {len(bodies)} bodies for {n_warmup} + {n_requests} requests")
    warmup, measured = list(bodies[:n_warmup]), list(bodies[n_warmup:total])

    if server == "process":
        context: Any = _service_process(Path(app_or_bundle), token)
    else:
        from anomaly_tutorial.serving.service import create_app, running_service

        app = create_app(app_or_bundle, token=token) if is_path else app_or_bundle
        context = running_service(app)
    with context as base_url:
        parts, errors, elapsed, late = _run_coroutine(
            _drive(base_url, measured, warmup, concurrency, rounds, token)
        )
    latencies = {name: np.concatenate(chunks) for name, chunks in parts.items()}
    summary = {
        name: latency_summary(latencies[name], errors[name], elapsed[name])
        for name in ("score", "healthz")
    }
    # warm-up requests included; None if the service does not report them
    summary["score"]["late_events"] = late.get("late_events")
    summary["score"]["mean_requests_per_group"] = late.get("mean_requests_per_group")
    score, health = summary["score"], summary["healthz"]
    summary["ratio"] = {
        "p50": score["p50_ms"] / health["p50_ms"],
        "p95": score["p95_ms"] / health["p95_ms"],
        "p99": score["p99_ms"] / health["p99_ms"],
        "throughput": health["throughput_rps"] / score["throughput_rps"],
    }
    settings = {
        "n_requests": n_requests,
        "concurrency": concurrency,
        "rounds": rounds,
        "n_warmup": n_warmup,
        "server": server,
        "request": "POST /v1/score with one OCSF event (test period, time order)",
        "trivial": "GET /healthz",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    ms = {name: values * 1000.0 for name, values in latencies.items()}
    return LoadTestResult(settings=settings, summary=summary, latencies_ms=ms)
