"""Normal traffic: seasonal event times and vectorised builders of the four event classes.

Every builder returns a frame with flat OCSF columns plus a few private columns (names
starting with ``_``) that the generator uses to write log messages and spans and then drops.
"""

from __future__ import annotations

import numpy as np

from anomaly_tutorial import ocsf
from anomaly_tutorial.data.world import (
    COUNTRIES,
    COUNTRY_NAMES,
    ENDPOINTS,
    USER_AGENTS,
    World,
    public_ip,
)

#: A block of events: flat column name -> numpy array (one entry per event).
Block = dict[str, np.ndarray]

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

REASONS = {
    301: "Moved Permanently",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
CODES = np.array([200, 201, 204, 301, 304, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504])


def concat_blocks(blocks: list[Block]) -> Block:
    """Concatenate event blocks; a column a block lacks is NaN (numbers) or None (text)."""
    keys: dict[str, None] = {}
    for b in blocks:
        keys.update(dict.fromkeys(b))
    sizes = [len(next(iter(b.values()))) for b in blocks]
    out: Block = {}
    for k in keys:
        present = [np.asarray(b[k]) for b in blocks if k in b]
        numeric = all(a.dtype.kind in "iufb" for a in present)
        parts = []
        for b, n in zip(blocks, sizes, strict=True):
            if k in b:
                parts.append(np.asarray(b[k]))
            else:
                parts.append(np.full(n, np.nan) if numeric else np.full(n, None, dtype=object))
        out[k] = (
            np.concatenate(parts) if numeric else np.concatenate([p.astype(object) for p in parts])
        )
    return out


# --- seasonality -----------------------------------------------------------------------------


def intensity(minute_times_ms: np.ndarray) -> np.ndarray:
    """Relative event rate at the given times: business-hours peak, quieter nights and weekends.

    The curve has a mean of about one over a week; it is the shared load that drives events
    and metrics.
    """
    t = np.asarray(minute_times_ms, dtype=np.int64)
    hour = (t % DAY_MS) / HOUR_MS
    dow = (t // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    daily = (
        0.25
        + 1.0 * np.exp(-(((hour - 14.0) / 3.8) ** 2))
        + 0.2 * np.exp(-(((hour - 20.5) / 1.5) ** 2))
    )
    weekly = np.where(dow >= 5, 0.45, 1.0)
    return daily * weekly


def sample_times(rng: np.random.Generator, n: int, start_ms: int, days: int) -> np.ndarray:
    """Draw ``n`` event times (epoch ms) from the seasonal intensity over the period."""
    minutes = start_ms + MINUTE_MS * np.arange(days * 1440, dtype=np.int64)
    w = intensity(minutes)
    counts = rng.multinomial(n, w / w.sum())
    times = np.repeat(minutes, counts) + rng.integers(0, MINUTE_MS, size=n)
    return times


# --- small helpers ---------------------------------------------------------------------------


def hex_ids(rng: np.random.Generator, n: int, width: int = 32) -> np.ndarray:
    """Random lowercase hex ids of ``width`` characters (16 or 32)."""
    a = rng.integers(0, 2**63, size=n, dtype=np.int64)
    if width == 16:
        return np.array([f"{x:016x}" for x in a], dtype=object)
    b = rng.integers(0, 2**63, size=n, dtype=np.int64)
    return np.array([f"{x:016x}{y:016x}" for x, y in zip(a, b, strict=True)], dtype=object)


def lognormal(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Lognormal draws with the given medians and log-scale sigmas."""
    return np.exp(np.log(median) + sigma * rng.standard_normal(np.shape(median)))


def random_public(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random residential IPs with their countries, drawn by user share."""
    shares = np.array([v[0] for v in COUNTRIES.values()])
    c = rng.choice(len(COUNTRY_NAMES), size=n, p=shares / shares.sum())
    prefixes = np.array(
        [
            COUNTRIES[COUNTRY_NAMES[k]][1][j % len(COUNTRIES[COUNTRY_NAMES[k]][1])]
            for k, j in zip(c, rng.integers(0, 4, size=n), strict=True)
        ],
        dtype=object,
    )
    return public_ip(rng, prefixes), np.array(COUNTRY_NAMES, dtype=object)[c]


def _common(n: int, class_uid: int, activity: np.ndarray, times: np.ndarray) -> dict:
    activity = np.asarray(activity, dtype=np.int64)
    names = ocsf.ACTIVITY_NAMES[class_uid]
    return {
        "time": np.asarray(times, dtype=np.int64),
        "class_uid": np.full(n, class_uid, dtype=np.int64),
        "class_name": np.full(n, ocsf.CLASS_NAMES[class_uid], dtype=object),
        "category_uid": np.full(n, ocsf.CATEGORY_OF_CLASS[class_uid], dtype=np.int64),
        "category_name": np.full(
            n, ocsf.CATEGORY_NAMES[ocsf.CATEGORY_OF_CLASS[class_uid]], dtype=object
        ),
        "activity_id": activity,
        "activity_name": np.array([names[a] for a in activity], dtype=object),
        "type_uid": class_uid * 100 + activity,
    }


def _user_cols(world: World, user: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    names = world.users["name"].to_numpy(dtype=object)
    uids = world.users["uid"].to_numpy(dtype=object)
    has = user >= 0
    name = np.full(len(user), None, dtype=object)
    uid = np.full(len(user), None, dtype=object)
    name[has] = names[user[has]]
    uid[has] = uids[user[has]]
    return name, uid


def user_ips(rng: np.random.Generator, world: World, user: np.ndarray) -> tuple:
    """One of each user's usual IPs and the user's country."""
    mat = world.user_ip_matrix()
    n = len(user)
    ip = mat[user, rng.integers(0, 3, size=n)]
    country = world.users["country"].to_numpy(dtype=object)[user]
    # now and then a user connects from elsewhere in their country (mobile network, hotel)
    roam = np.flatnonzero(rng.random(n) < 0.05)
    if len(roam):
        prefixes = np.array(
            [
                COUNTRIES[c][1][j % len(COUNTRIES[c][1])]
                for c, j in zip(country[roam], rng.integers(0, 4, len(roam)), strict=True)
            ],
            dtype=object,
        )
        ip[roam] = public_ip(rng, prefixes)
    return ip, country


# --- HTTP Activity ---------------------------------------------------------------------------


def _code_probabilities() -> np.ndarray:
    """Per-endpoint probabilities over :data:`CODES` (realistic mixes)."""
    p = np.zeros((len(ENDPOINTS), len(CODES)))
    idx = {c: i for i, c in enumerate(CODES)}
    for e, row in ENDPOINTS.iterrows():
        get = row["method"] == "GET"
        has_id = "{id}" in row["path"]
        p[e, idx[301]] = 0.004 if row["service"] == "frontend" else 0.0
        p[e, idx[304]] = 0.08 if row["service"] == "frontend" and get else 0.0
        p[e, idx[400]] = 0.004 if get else 0.02
        p[e, idx[401]] = 0.09 if row["path"] == "/api/auth/login" else 0.01
        p[e, idx[403]] = 0.004
        p[e, idx[404]] = 0.03 if has_id else 0.006
        p[e, idx[409]] = 0.015 if row["method"] in ("POST", "PUT") else 0.0
        p[e, idx[429]] = 0.006 if row["service"] in ("search", "auth") else 0.002
        p[e, idx[500]] = 0.003
        p[e, idx[502]] = 0.001
        p[e, idx[503]] = 0.0015
        p[e, idx[504]] = 0.0015 if row["db_backed"] else 0.0004
        p[e, idx[int(row["ok_code"])]] = 1.0 - p[e].sum()
    return p


CODE_P = _code_probabilities()
CODE_CUM = np.cumsum(CODE_P, axis=1)


def http_events(
    rng: np.random.Generator,
    world: World,
    times: np.ndarray,
    ep: np.ndarray,
    user: np.ndarray,
    *,
    load: np.ndarray | None = None,
    code: np.ndarray | None = None,
    src_ip: np.ndarray | None = None,
    country: np.ndarray | None = None,
    ua: np.ndarray | None = None,
    bytes_out: np.ndarray | None = None,
) -> Block:
    """Build HTTP Activity (4002) events; every unset field is drawn realistically."""
    n = len(times)
    ep = np.asarray(ep, dtype=np.int64)
    user = np.asarray(user, dtype=np.int64)
    e = ENDPOINTS
    method = e["method"].to_numpy(dtype=object)[ep]
    service = e["service"].to_numpy(dtype=object)[ep]
    template = e["path"].to_numpy(dtype=object)[ep]
    ids = rng.integers(1000, 99_999, size=n)
    path = np.array(
        [t.replace("{id}", str(i)) if "{" in t else t for t, i in zip(template, ids, strict=True)],
        dtype=object,
    )
    if code is None:
        u = rng.random(n)
        code = CODES[(u[:, None] > CODE_CUM[ep]).sum(axis=1).clip(0, len(CODES) - 1)]
    code = np.asarray(code, dtype=np.int64)
    if load is None:
        load = np.ones(n)
    median = e["median_ms"].to_numpy(float)[ep] * (0.85 + 0.25 * load)
    duration = lognormal(rng, median, e["sigma"].to_numpy(float)[ep])
    duration = np.where(code == 304, duration * 0.5, duration)
    duration = np.where((code >= 400) & (code < 500), duration * 0.4, duration)
    duration = np.where(code == 503, rng.uniform(1, 12, n), duration)
    duration = np.where(code == 504, rng.normal(30_000, 40, n), duration)
    duration = np.round(duration, 1)
    ok = code < 400
    if bytes_out is None:
        bytes_out = lognormal(
            rng, e["bytes_out"].to_numpy(float)[ep], e["bytes_sigma"].to_numpy(float)[ep]
        )
        bytes_out = np.where(ok, bytes_out, rng.integers(150, 700, n))
        bytes_out = np.where(code == 304, 0, bytes_out)
    bytes_out = np.asarray(bytes_out, dtype=np.int64)
    write = np.isin(method, ["POST", "PUT"])
    bytes_in = np.where(write, rng.integers(600, 3200, n), rng.integers(280, 950, n))
    anon = user < 0
    if src_ip is None or country is None:
        ip_u, c_u = user_ips(rng, world, np.where(anon, 0, user))
        ip_a, c_a = random_public(rng, n)
        src_ip = np.where(anon, ip_a, ip_u) if src_ip is None else src_ip
        country = np.where(anon, c_a, c_u) if country is None else country
    if ua is None:
        ua = world.users["ua"].to_numpy(dtype=object)[np.where(anon, 0, user)]
        switch = anon | (rng.random(n) < 0.08)
        ua = np.where(switch, np.array(USER_AGENTS, dtype=object)[rng.integers(0, 6, n)], ua)
    internal = np.array([s.startswith("10.") for s in src_ip])
    svc_ips = np.array([world.service_ips[s][0].rsplit(".", 1)[0] for s in service], dtype=object)
    dst_ip = svc_ips + "." + rng.integers(10, 13, n).astype(str).astype(object)
    quic = (~internal) & np.array([u.startswith("Mozilla") for u in ua]) & (rng.random(n) < 0.15)
    name, uid = _user_cols(world, user)
    status = np.where(ok, ocsf.STATUS_SUCCESS, ocsf.STATUS_FAILURE)
    frontend = service == "frontend"
    kind = np.full(n, "access", dtype=object)
    db = e["db_backed"].to_numpy(bool)[ep]
    kind[db & (duration > 700) & ok] = "query"
    kind[np.isin(service, ["search", "inventory"]) & ok & (rng.random(n) < 0.1)] = "cache_miss"
    kind[np.isin(code, [500, 502])] = "error500"
    kind[code == 503] = "upstream_503"
    kind[code == 504] = "timeout"
    cols = _common(n, ocsf.HTTP_ACTIVITY, [ocsf.HTTP_METHOD_ACTIVITY[m] for m in method], times)
    cols.update(
        {
            "severity_id": np.select([code >= 500, code >= 400], [3, 2], 1),
            "status_id": status,
            "status_detail": np.array(
                [REASONS.get(int(c)) if c >= 400 else None for c in code], dtype=object
            ),
            "duration": duration,
            "metadata.version": np.where(frontend, "1.3.0", "1.2.0").astype(object),
            "metadata.product.name": np.where(frontend, "nginx", "Envoy").astype(object),
            "metadata.product.vendor_name": np.where(frontend, "F5", "Envoy Proxy").astype(object),
            "actor.user.name": name,
            "actor.user.uid": uid,
            "src_endpoint.ip": src_ip,
            "src_endpoint.port": rng.integers(32768, 61000, n),
            "src_endpoint.location.country": country,
            "dst_endpoint.ip": dst_ip,
            "dst_endpoint.port": np.where(frontend, 443, 8080),
            "dst_endpoint.svc_name": service,
            "trace.uid": hex_ids(rng, n),
            "http_request.http_method": method,
            "http_request.url.path": path,
            "http_request.user_agent": ua,
            "http_response.code": code,
            "traffic.bytes_in": bytes_in,
            "traffic.bytes_out": bytes_out,
            "traffic.packets_in": bytes_in // 1200 + 1 + rng.integers(0, 3, n),
            "traffic.packets_out": bytes_out // 1380 + 1 + rng.integers(0, 3, n),
            "connection_info.protocol_name": np.where(quic, "udp", "tcp").astype(object),
            "connection_info.direction_id": np.where(internal, 3, 1),
            "_kind": kind,
            "_ep": ep,
            "_user": user,
        }
    )
    return cols


# --- Authentication --------------------------------------------------------------------------
AUTH_FAIL_DETAILS = np.array(
    [
        "Invalid password",
        "Invalid password",
        "Invalid password",
        "Unknown user",
        "MFA challenge failed",
        "Account locked",
    ],
    dtype=object,
)


def auth_events(
    rng: np.random.Generator,
    world: World,
    times: np.ndarray,
    user: np.ndarray,
    *,
    channel: np.ndarray | None = None,
    activity: np.ndarray | None = None,
    failed: np.ndarray | None = None,
    src_ip: np.ndarray | None = None,
    country: np.ndarray | None = None,
    detail: np.ndarray | None = None,
) -> Block:
    """Build Authentication (3002) events. ``channel``: 0 web login, 1 ssh, 2 service token."""
    n = len(times)
    user = np.asarray(user, dtype=np.int64)
    role = world.users["role"].to_numpy(dtype=object)[user]
    if channel is None:
        channel = np.where(role == "service", 2, 0)
        channel = np.where((role == "admin") & (rng.random(n) < 0.4), 1, channel)
    channel = np.asarray(channel)
    if activity is None:
        activity = np.where(rng.random(n) < 0.78, 1, 2)
        activity = np.where(channel == 2, 3, activity)
    activity = np.asarray(activity, dtype=np.int64)
    if failed is None:
        failed = (activity != 2) & (rng.random(n) < np.where(channel == 0, 0.09, 0.04))
    failed = np.asarray(failed, dtype=bool)
    if src_ip is None or country is None:
        ip_u, c_u = user_ips(rng, world, user)
        src_ip = ip_u if src_ip is None else src_ip
        country = c_u if country is None else country
    if detail is None:
        detail = AUTH_FAIL_DETAILS[rng.integers(0, len(AUTH_FAIL_DETAILS), n)]
        detail = np.where(channel == 1, "Invalid password", detail)
    detail = np.where(failed, detail, None).astype(object)
    corp = world.users["corp"].to_numpy(bool)[user]
    proto = np.where(channel == 1, "Other", np.where(channel == 2, "OAUTH 2.0", "Password"))
    proto = np.where((channel == 0) & corp & (rng.random(n) < 0.6), "SAML", proto)
    proto = np.where((channel == 0) & ~corp & (rng.random(n) < 0.2), "OpenID", proto)
    mfa = (channel == 0) & (activity == 1) & (rng.random(n) < 0.7)
    logon = np.select([channel == 1, channel == 2], ["Remote Interactive", "Service"], "Network")
    name, uid = _user_cols(world, user)
    ssh = channel == 1
    kind = np.select(
        [ssh & (activity == 2), ssh & failed, ssh, channel == 2, activity == 2, failed],
        ["ssh_close", "ssh_fail", "ssh_accept", "token", "logout", "web_login_fail"],
        "web_login_ok",
    ).astype(object)
    cols = _common(n, ocsf.AUTHENTICATION, activity, times)
    cols.update(
        {
            "severity_id": np.where(failed, np.where(detail == "Account locked", 3, 2), 1),
            "status_id": np.where(failed, ocsf.STATUS_FAILURE, ocsf.STATUS_SUCCESS),
            "status_detail": detail,
            "duration": np.round(lognormal(rng, np.where(ssh, 260.0, 140.0), 0.5), 1),
            "metadata.version": np.where(ssh, "1.2.0", "1.3.0").astype(object),
            "metadata.product.name": np.where(ssh, "OpenSSH", "Keycloak").astype(object),
            "metadata.product.vendor_name": np.where(ssh, "OpenBSD", "Red Hat").astype(object),
            "actor.user.name": name,
            "actor.user.uid": uid,
            "src_endpoint.ip": src_ip,
            "src_endpoint.port": rng.integers(32768, 61000, n),
            "src_endpoint.location.country": country,
            "dst_endpoint.ip": np.where(ssh, "10.0.0.22", world.service_ips["auth"][0]).astype(
                object
            ),
            "dst_endpoint.port": np.where(ssh, 22, 443),
            "dst_endpoint.svc_name": np.where(ssh, "bastion", "auth").astype(object),
            "user.name": name,
            "user.uid": uid,
            "auth_protocol": proto.astype(object),
            "is_mfa": mfa,
            "logon_type": logon.astype(object),
            "_kind": kind,
            "_user": user,
        }
    )
    return cols


# --- Network Activity ------------------------------------------------------------------------
#: flow type: (share, dst svc name, dst ip, dst port, protocol, median bytes out, in, median ms)
FLOW_TYPES = [
    (0.30, "postgres", "10.2.0.5", 5432, "tcp", 1_800, 24_000, 40.0),
    (0.20, "redis", "10.2.1.5", 6379, "tcp", 300, 1_400, 3.0),
    (0.16, "dns", "10.0.0.2", 53, "udp", 70, 160, 2.0),
    (0.14, "service-mesh", None, 8080, "tcp", 1_200, 9_000, 60.0),
    (0.12, "egress-https", None, 443, "tcp", 2_500, 18_000, 300.0),
    (0.05, "ntp", "10.0.0.3", 123, "udp", 90, 90, 1.0),
    (0.03, "bastion", "10.0.0.22", 22, "tcp", 9_000, 60_000, 90_000.0),
]
#: probabilities of Open, Close, Reset, Fail, Refuse, Traffic
NET_ACTIVITY_P = np.array([0.22, 0.30, 0.025, 0.0, 0.015, 0.44])


def network_events(
    rng: np.random.Generator,
    world: World,
    times: np.ndarray,
    *,
    flow: np.ndarray | None = None,
    activity: np.ndarray | None = None,
    src_ip: np.ndarray | None = None,
    dst_ip: np.ndarray | None = None,
    dst_port: np.ndarray | None = None,
    country: np.ndarray | None = None,
    user: np.ndarray | None = None,
    bytes_out: np.ndarray | None = None,
    svc_name: np.ndarray | None = None,
    direction: np.ndarray | None = None,
) -> Block:
    """Build Network Activity (4001) flow events between services, databases and the outside."""
    n = len(times)
    shares = np.array([f[0] for f in FLOW_TYPES])
    if flow is None:
        flow = rng.choice(len(FLOW_TYPES), size=n, p=shares / shares.sum())
    flow = np.asarray(flow, dtype=np.int64)
    ft = list(zip(*FLOW_TYPES, strict=True))
    if activity is None:
        activity = rng.choice(6, size=n, p=NET_ACTIVITY_P / NET_ACTIVITY_P.sum()) + 1
    activity = np.asarray(activity, dtype=np.int64)
    from anomaly_tutorial.data.world import SERVICES

    svc = np.array(SERVICES, dtype=object)[rng.integers(0, len(SERVICES), n)]
    svc_src = np.array([world.service_ips[s][0] for s in svc], dtype=object)
    if user is None:
        user = np.full(n, -1)
        admins = np.flatnonzero(world.users["role"].to_numpy(dtype=object) == "admin")
        ssh = flow == 6
        user[ssh] = rng.choice(admins, size=int(ssh.sum()))
    user = np.asarray(user, dtype=np.int64)
    has_user = user >= 0
    if src_ip is None:
        ip_u, _ = user_ips(rng, world, np.where(has_user, user, 0))
        src_ip = np.where(has_user, ip_u, svc_src)
    if country is None:
        c_u = world.users["country"].to_numpy(dtype=object)[np.where(has_user, user, 0)]
        country = np.where(has_user, c_u, None)
    if dst_ip is None:
        fixed = np.array(ft[2], dtype=object)[flow]
        mesh = np.array(SERVICES, dtype=object)[rng.integers(0, len(SERVICES), n)]
        mesh_ip = np.array([world.service_ips[s][1] for s in mesh], dtype=object)
        egress = public_ip(
            rng, rng.choice(np.array(["52.94", "34.117", "151.101"], dtype=object), size=n)
        )
        dst_ip = np.where(flow == 3, mesh_ip, np.where(flow == 4, egress, fixed))
    if dst_port is None:
        dst_port = np.array(ft[3])[flow]
    if svc_name is None:
        svc_name = np.array(ft[1], dtype=object)[flow]
    proto = np.array(ft[4], dtype=object)[flow]
    bo_med = np.array(ft[5], dtype=float)[flow]
    bi_med = np.array(ft[6], dtype=float)[flow]
    if bytes_out is None:
        bytes_out = lognormal(rng, bo_med, 0.7)
    bytes_out = np.asarray(bytes_out, dtype=float)
    bytes_in = lognormal(rng, bi_med, 0.8)
    small = np.isin(activity, [1, 3, 5])
    bytes_out = np.where(small, rng.integers(40, 180, n), bytes_out).astype(np.int64)
    bytes_in = np.where(small, rng.integers(0, 120, n), bytes_in).astype(np.int64)
    bytes_in = np.where(activity == 5, 0, bytes_in)
    dur = lognormal(rng, np.array(ft[7], dtype=float)[flow], 0.8)
    dur = np.round(np.where(small, rng.uniform(0.1, 3.0, n), dur), 2)
    failed = np.isin(activity, [3, 4, 5])
    detail = np.select(
        [activity == 3, activity == 5, activity == 4],
        ["Connection reset by peer", "Connection refused", "Timed out"],
        None,
    )
    if direction is None:
        direction = np.select([has_user, flow == 4], [1, 2], 3)
    zeek = flow != 4
    name, uid = _user_cols(world, user)
    kind = np.array(
        ["", "net_open", "net_close", "net_reset", "net_fail", "net_refuse", "net_traffic"],
        dtype=object,
    )[activity]
    cols = _common(n, ocsf.NETWORK_ACTIVITY, activity, times)
    cols.update(
        {
            "severity_id": np.where(failed, 2, 1),
            "status_id": np.where(failed, ocsf.STATUS_FAILURE, ocsf.STATUS_SUCCESS),
            "status_detail": detail.astype(object),
            "duration": dur,
            "metadata.version": np.where(zeek, "1.3.0", "1.1.0").astype(object),
            "metadata.product.name": np.where(zeek, "Zeek", "VPC Flow Logs").astype(object),
            "metadata.product.vendor_name": np.where(zeek, "Zeek Project", "AWS").astype(object),
            "actor.user.name": name,
            "actor.user.uid": uid,
            "src_endpoint.ip": src_ip,
            "src_endpoint.port": rng.integers(32768, 61000, n),
            "src_endpoint.location.country": country,
            "dst_endpoint.ip": dst_ip,
            "dst_endpoint.port": dst_port,
            "dst_endpoint.svc_name": svc_name,
            "traffic.bytes_in": bytes_in,
            "traffic.bytes_out": bytes_out,
            "traffic.packets_in": np.ceil(bytes_in / rng.uniform(200, 1400, n)).astype(np.int64),
            "traffic.packets_out": np.maximum(
                np.ceil(bytes_out / rng.uniform(200, 1400, n)), 1
            ).astype(np.int64),
            "connection_info.protocol_name": proto,
            "connection_info.direction_id": direction,
            "_kind": kind,
            "_user": user,
        }
    )
    return cols


# --- API Activity ----------------------------------------------------------------------------
#: operation: (api service, activity id, admin only)
API_OPS: dict[str, tuple[str, int, bool]] = {
    "ListObjects": ("storage", 2, False),
    "GetObject": ("storage", 2, False),
    "PutObject": ("storage", 1, False),
    "DeleteObject": ("storage", 4, False),
    "GetUser": ("iam", 2, False),
    "ListUsers": ("iam", 2, True),
    "CreateUser": ("iam", 1, True),
    "DeleteUser": ("iam", 4, True),
    "AttachRolePolicy": ("iam", 3, True),
    "CreateAccessKey": ("iam", 1, True),
    "GetConfig": ("config", 2, False),
    "UpdateConfig": ("config", 3, True),
}
OP_NAMES = np.array(list(API_OPS), dtype=object)
ADMIN_OPS = np.array([o for o, v in API_OPS.items() if v[2]], dtype=object)
_P_USER = np.array([0.30, 0.42, 0.15, 0.03, 0.05, 0, 0, 0, 0, 0, 0.05, 0])
_P_ADMIN = np.array([0.15, 0.2, 0.08, 0.03, 0.06, 0.1, 0.06, 0.02, 0.08, 0.06, 0.06, 0.1])
_P_SERVICE = np.array([0.15, 0.38, 0.38, 0.03, 0, 0, 0, 0, 0, 0.01, 0.05, 0])


def api_events(
    rng: np.random.Generator,
    world: World,
    times: np.ndarray,
    user: np.ndarray,
    *,
    op: np.ndarray | None = None,
    failed: np.ndarray | None = None,
    src_ip: np.ndarray | None = None,
    country: np.ndarray | None = None,
) -> Block:
    """Build API Activity (6003) events; admin-only operations are normally done by admins."""
    n = len(times)
    user = np.asarray(user, dtype=np.int64)
    role = world.users["role"].to_numpy(dtype=object)[user]
    if op is None:
        p = np.where(
            (role == "admin")[:, None],
            _P_ADMIN,
            np.where((role == "service")[:, None], _P_SERVICE, _P_USER),
        )
        cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
        op = OP_NAMES[(rng.random(n)[:, None] > cum).sum(axis=1).clip(0, len(OP_NAMES) - 1)]
        # regular users occasionally click an admin page and are refused
        oops = (role == "user") & (rng.random(n) < 0.003)
        op = np.where(oops, ADMIN_OPS[rng.integers(0, len(ADMIN_OPS), n)], op)
    op = np.asarray(op, dtype=object)
    admin_only = np.array([API_OPS[o][2] for o in op])
    if failed is None:
        denied = admin_only & (role != "admin")
        nokey = (op == "GetObject") & (rng.random(n) < 0.025)
        failed = denied | nokey | (rng.random(n) < 0.004)
    failed = np.asarray(failed, dtype=bool)
    detail = np.where(
        failed,
        np.where(
            (op == "GetObject") & ~admin_only & (rng.random(n) < 0.8), "NoSuchKey", "AccessDenied"
        ),
        None,
    ).astype(object)
    if src_ip is None or country is None:
        ip_u, c_u = user_ips(rng, world, user)
        src_ip = ip_u if src_ip is None else src_ip
        country = c_u if country is None else country
    api_svc = np.array([API_OPS[o][0] for o in op], dtype=object)
    activity = np.array([API_OPS[o][1] for o in op], dtype=np.int64)
    cloud = api_svc != "config"
    name, uid = _user_cols(world, user)
    kind = np.where(
        failed,
        np.where(detail == "NoSuchKey", "api_nokey", "api_denied"),
        np.select(
            [api_svc == "storage", api_svc == "iam"], ["api_storage", "api_iam"], "api_config"
        ),
    ).astype(object)
    cols = _common(n, ocsf.API_ACTIVITY, activity, times)
    cols.update(
        {
            "severity_id": np.where(failed, np.where(detail == "AccessDenied", 3, 2), 1),
            "status_id": np.where(failed, ocsf.STATUS_FAILURE, ocsf.STATUS_SUCCESS),
            "status_detail": detail,
            "duration": np.round(
                lognormal(rng, np.where(api_svc == "storage", 45.0, 80.0), 0.5), 1
            ),
            "metadata.version": np.where(cloud, "1.1.0", "1.3.0").astype(object),
            "metadata.product.name": np.where(cloud, "CloudTrail", "config-audit").astype(object),
            "metadata.product.vendor_name": np.where(cloud, "AWS", "Internal").astype(object),
            "actor.user.name": name,
            "actor.user.uid": uid,
            "src_endpoint.ip": src_ip,
            "src_endpoint.port": rng.integers(32768, 61000, n),
            "src_endpoint.location.country": country,
            "dst_endpoint.ip": np.select(
                [api_svc == "storage", api_svc == "iam"], ["10.3.0.10", "10.3.1.10"], "10.3.2.10"
            ).astype(object),
            "dst_endpoint.port": np.where(cloud, 443, 8443),
            "dst_endpoint.svc_name": (api_svc + "-api").astype(object),
            "api.operation": op,
            "api.service.name": api_svc,
            "_kind": kind,
            "_user": user,
        }
    )
    return cols


CLASS_SHARES = {
    ocsf.HTTP_ACTIVITY: 0.58,
    ocsf.AUTHENTICATION: 0.15,
    ocsf.NETWORK_ACTIVITY: 0.18,
    ocsf.API_ACTIVITY: 0.09,
}


def normal_traffic(
    rng: np.random.Generator, world: World, n: int, start_ms: int, days: int
) -> Block:
    """Draw ``n`` normal events of the four classes with seasonal times."""
    counts = rng.multinomial(n, np.array(list(CLASS_SHARES.values())))
    n_http, n_auth, n_net, n_api = (int(c) for c in counts)
    weights = world.users["weight"].to_numpy(float)
    role = world.users["role"].to_numpy(dtype=object)
    frames = []
    t = sample_times(rng, n_http, start_ms, days)
    load = intensity(t - t % MINUTE_MS)
    ep_w = ENDPOINTS["weight"].to_numpy(float)
    ep = rng.choice(len(ENDPOINTS), size=n_http, p=ep_w / ep_w.sum())
    user = rng.choice(len(weights), size=n_http, p=weights)
    anon = (ENDPOINTS["service"].to_numpy(dtype=object)[ep] == "frontend") & (
        rng.random(n_http) < 0.12
    )
    user = np.where(anon, -1, user)
    frames.append(http_events(rng, world, t, ep, user, load=load))
    w_auth = weights * np.where(role == "service", 0.3, 1.0)
    t = sample_times(rng, n_auth, start_ms, days)
    frames.append(
        auth_events(rng, world, t, rng.choice(len(weights), n_auth, p=w_auth / w_auth.sum()))
    )
    t = sample_times(rng, n_net, start_ms, days)
    frames.append(network_events(rng, world, t))
    w_api = weights * np.select([role == "admin", role == "service"], [4.0, 1.5], 1.0)
    t = sample_times(rng, n_api, start_ms, days)
    frames.append(api_events(rng, world, t, rng.choice(len(weights), n_api, p=w_api / w_api.sum())))
    return concat_blocks(frames)
