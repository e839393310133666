"""Log lines: every event gets the message its emitting application would write.

Each private ``_kind`` value selects one of a few templates; constant parts stay constant and
variable parts (ids, IPs, ports, users, durations, paths) are single tokens, so that a
Drain-style template miner can recover the templates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUERIES = {
    "orders": ("orders_by_user", "order_by_id", "insert_order"),
    "payments": ("payment_by_id", "insert_payment"),
    "inventory": ("stock_by_sku", "update_stock"),
    "reports": ("report_rows", "report_aggregate"),
    "auth": ("user_by_name",),
}
EXCEPTIONS = ("ConnectionResetError", "KeyError", "TimeoutError", "ValueError")
BUCKETS = ("reports", "uploads", "backups", "invoices")
CONFIG_KEYS = ("feature.checkout_v2", "rate_limit.search", "cache.ttl", "payments.retry")
POLICIES = ("admin-full", "billing-admin", "readonly", "storage-admin")


def _s(x) -> str:
    return "-" if x is None or x is pd.NA or (isinstance(x, float) and x != x) else str(x)


def _i(x) -> str:
    """Integer token of a number that may come as a float."""
    return "-" if x is None or x != x else str(int(x))


def build_messages(frame: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Return one log line per row of ``frame`` (which still holds the private ``_kind``)."""
    n = len(frame["time"])
    out = np.empty(n, dtype=object)
    kind = np.asarray(frame["_kind"], dtype=object)
    col = {
        c: np.asarray(frame[c], dtype=object)
        for c in (
            "http_request.http_method",
            "http_request.url.path",
            "http_response.code",
            "duration",
            "actor.user.name",
            "http_request.user_agent",
            "src_endpoint.ip",
            "src_endpoint.port",
            "dst_endpoint.ip",
            "dst_endpoint.port",
            "dst_endpoint.svc_name",
            "traffic.bytes_out",
            "traffic.bytes_in",
            "traffic.packets_out",
            "connection_info.protocol_name",
            "is_mfa",
            "auth_protocol",
            "status_detail",
            "api.operation",
            "trace.uid",
        )
    }
    num = rng.integers(0, 2**31, size=n)
    for k in np.unique(kind):
        idx = np.flatnonzero(kind == k)
        g = {c: v[idx] for c, v in col.items()}
        r = num[idx]
        m, p, code = (
            g["http_request.http_method"],
            g["http_request.url.path"],
            g["http_response.code"],
        )
        dur, user, ip = g["duration"], g["actor.user.name"], g["src_endpoint.ip"]
        svc, port = g["dst_endpoint.svc_name"], g["src_endpoint.port"]
        if k == "access":
            lines = [
                f'{a} {b} {_i(c)} {int(d)}ms user={_s(u)} ua="{ua}"'
                for a, b, c, d, u, ua in zip(
                    m, p, code, dur, user, g["http_request.user_agent"], strict=True
                )
            ]
        elif k == "query":
            lines = [
                f"query {QUERIES.get(s, ('select',))[x % len(QUERIES.get(s, ('select',)))]} "
                f"took {int(d)} ms rows={x % 500}"
                for s, d, x in zip(svc, dur, r, strict=True)
            ]
        elif k == "cache_miss":
            lines = [
                f"cache miss for key {s}:q:{x:08x} fetched from origin in {int(d)}ms"
                for s, d, x in zip(svc, dur, r, strict=True)
            ]
        elif k == "timeout":
            lines = [
                "upstream timed out (110: Connection timed out) while reading response header "
                f'from upstream, client: {a}, server: {s}, request: "{b} {c} HTTP/1.1"'
                for a, s, b, c in zip(ip, svc, m, p, strict=True)
            ]
        elif k == "db_error":
            lines = [
                f"database error: canceling statement due to statement timeout query="
                f"{QUERIES.get(s, ('select',))[0]} after {int(d)} ms"
                for s, d in zip(svc, dur, strict=True)
            ]
        elif k == "upstream_503":
            lines = [
                f"{s} upstream connect error or disconnect/reset before headers "
                f"reset_reason=connection_failure path={b}"
                for s, b in zip(svc, p, strict=True)
            ]
        elif k == "error500":
            lines = [
                f"unhandled exception in {s} handler {a} {b}: {EXCEPTIONS[x % 4]} "
                f"request_id={t[:12]}"
                for s, a, b, x, t in zip(svc, m, p, r, g["trace.uid"], strict=True)
            ]
        elif k == "ssh_accept":
            lines = [
                f"Accepted publickey for {u} from {a} port {_i(q)} ssh2"
                for u, a, q in zip(user, ip, port, strict=True)
            ]
        elif k == "ssh_fail":
            lines = [
                f"Failed password for {u} from {a} port {_i(q)} ssh2"
                for u, a, q in zip(user, ip, port, strict=True)
            ]
        elif k == "ssh_close":
            lines = [
                f"Disconnected from user {u} {a} port {_i(q)}"
                for u, a, q in zip(user, ip, port, strict=True)
            ]
        elif k == "web_login_ok":
            lines = [
                f"login succeeded user={u} ip={a} mfa={str(bool(f)).lower()} method={pr}"
                for u, a, f, pr in zip(user, ip, g["is_mfa"], g["auth_protocol"], strict=True)
            ]
        elif k == "web_login_fail":
            lines = [
                f"login failed user={u} ip={a} reason={_s(d).lower().replace(' ', '_')}"
                for u, a, d in zip(user, ip, g["status_detail"], strict=True)
            ]
        elif k == "logout":
            lines = [f"logout user={u} session={x:08x}" for u, x in zip(user, r, strict=True)]
        elif k == "token":
            lines = [f"issued access token for client={u} expires_in=3600" for u in user]
        elif k.startswith("net_"):
            src = [f"{a}:{_i(q)}" for a, q in zip(ip, port, strict=True)]
            dst = [
                f"{a}:{_i(q)}"
                for a, q in zip(g["dst_endpoint.ip"], g["dst_endpoint.port"], strict=True)
            ]
            if k == "net_open":
                lines = [
                    f"connection opened {a} -> {b} proto={pr}"
                    for a, b, pr in zip(src, dst, g["connection_info.protocol_name"], strict=True)
                ]
            elif k == "net_close":
                lines = [
                    f"connection closed {a} -> {b} bytes_out={_i(o)} bytes_in={_i(i)} "
                    f"duration={d}ms"
                    for a, b, o, i, d in zip(
                        src, dst, g["traffic.bytes_out"], g["traffic.bytes_in"], dur, strict=True
                    )
                ]
            elif k == "net_reset":
                lines = [
                    f"connection reset by peer {b} from {a}" for a, b in zip(src, dst, strict=True)
                ]
            elif k == "net_refuse":
                lines = [f"connection refused {b} from {a}" for a, b in zip(src, dst, strict=True)]
            elif k == "net_fail":
                lines = [
                    f"connection to {b} from {a} timed out" for a, b in zip(src, dst, strict=True)
                ]
            else:
                lines = [
                    f"flow {a} -> {b} {pr} packets={_i(pk)} bytes={_i(o)}"
                    for a, b, pr, pk, o in zip(
                        src,
                        dst,
                        g["connection_info.protocol_name"],
                        g["traffic.packets_out"],
                        g["traffic.bytes_out"],
                        strict=True,
                    )
                ]
        elif k == "api_storage":
            lines = [
                f"{o} bucket={BUCKETS[x % 4]} key=obj/{x % 100_000:05d}.dat by {u} status=ok"
                for o, x, u in zip(g["api.operation"], r, user, strict=True)
            ]
        elif k == "api_iam":
            lines = [
                f"{o} by {u} target=u{x % 1000:04d} policy={POLICIES[x % 4]} granted"
                for o, x, u in zip(g["api.operation"], r, user, strict=True)
            ]
        elif k == "api_config":
            lines = [
                f"{o} by {u} key={CONFIG_KEYS[x % 4]} version={x % 300}"
                for o, x, u in zip(g["api.operation"], r, user, strict=True)
            ]
        elif k == "api_nokey":
            lines = [
                f"{o} bucket={BUCKETS[x % 4]} key=obj/{x % 100_000:05d}.dat by {u} "
                "failed: NoSuchKey"
                for o, x, u in zip(g["api.operation"], r, user, strict=True)
            ]
        elif k == "api_denied":
            lines = [
                f"{o} by {u} denied: AccessDenied"
                for o, u in zip(g["api.operation"], user, strict=True)
            ]
        else:
            raise ValueError(f"unknown message kind {k!r}")
        out[idx] = lines
    return out
