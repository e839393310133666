"""The simulated organisation: services, endpoints, users, IP address pools and countries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SERVICES: tuple[str, ...] = (
    "frontend",
    "auth",
    "orders",
    "payments",
    "inventory",
    "search",
    "reports",
)
#: Services whose handlers query a database (DB timeouts and slow queries happen there).
DB_SERVICES: tuple[str, ...] = ("orders", "payments", "inventory", "reports")
CACHE_SERVICES: tuple[str, ...] = ("search", "inventory")

# Endpoints: service, method, path template, median latency ms, sigma, weight,
# success code, median bytes_out, db-backed, downstream calls (service:operation shares)
_ENDPOINTS: list[tuple] = [
    ("frontend", "GET", "/", 35, 0.45, 10, 200, 18_000, False, ["search:suggest"]),
    ("frontend", "GET", "/static/app.js", 8, 0.5, 9, 200, 240_000, False, []),
    ("frontend", "GET", "/static/styles.css", 7, 0.5, 6, 200, 52_000, False, []),
    (
        "frontend",
        "GET",
        "/products/{id}",
        60,
        0.5,
        8,
        200,
        34_000,
        False,
        ["inventory:get_stock", "search:related"],
    ),
    ("frontend", "GET", "/cart", 45, 0.5, 4, 200, 21_000, False, ["orders:get_cart"]),
    ("auth", "POST", "/api/auth/login", 120, 0.35, 5, 200, 900, True, ["db:select_user"]),
    ("auth", "POST", "/api/auth/refresh", 25, 0.4, 6, 200, 700, False, ["cache:get_session"]),
    ("auth", "GET", "/api/auth/me", 15, 0.4, 5, 200, 1_100, False, ["cache:get_session"]),
    ("orders", "GET", "/api/orders", 80, 0.5, 5, 200, 6_500, True, ["db:select_orders"]),
    ("orders", "GET", "/api/orders/{id}", 45, 0.45, 6, 200, 2_300, True, ["db:select_order"]),
    (
        "orders",
        "POST",
        "/api/orders",
        180,
        0.45,
        3,
        201,
        1_500,
        True,
        ["inventory:reserve", "payments:authorize", "db:insert_order"],
    ),
    ("orders", "DELETE", "/api/orders/{id}", 90, 0.4, 0.6, 204, 120, True, ["db:update_order"]),
    (
        "payments",
        "POST",
        "/api/payments/authorize",
        240,
        0.4,
        2.5,
        200,
        800,
        True,
        ["db:insert_payment", "psp:charge"],
    ),
    (
        "payments",
        "GET",
        "/api/payments/{id}",
        40,
        0.45,
        1.5,
        200,
        1_200,
        True,
        ["db:select_payment"],
    ),
    (
        "inventory",
        "GET",
        "/api/inventory/{id}",
        30,
        0.5,
        6,
        200,
        900,
        True,
        ["cache:get_stock", "db:select_stock"],
    ),
    ("inventory", "PUT", "/api/inventory/{id}", 70, 0.45, 1.2, 200, 400, True, ["db:update_stock"]),
    (
        "search",
        "GET",
        "/api/search",
        95,
        0.6,
        9,
        200,
        14_000,
        False,
        ["cache:get_query", "index:query"],
    ),
    ("search", "GET", "/api/search/suggest", 22, 0.5, 7, 200, 2_100, False, ["cache:get_query"]),
    (
        "reports",
        "GET",
        "/api/reports/export",
        900,
        0.7,
        1.0,
        200,
        2_000_000,
        True,
        ["db:select_report"],
    ),
    (
        "reports",
        "GET",
        "/api/files/{id}/download",
        350,
        0.8,
        1.6,
        200,
        600_000,
        False,
        ["storage:get_object"],
    ),
]

ENDPOINTS = pd.DataFrame(
    _ENDPOINTS,
    columns=[
        "service",
        "method",
        "path",
        "median_ms",
        "sigma",
        "weight",
        "ok_code",
        "bytes_out",
        "db_backed",
        "calls",
    ],
)
#: log-scale spread of response sizes: exports and file downloads are heavy-tailed
ENDPOINTS["bytes_sigma"] = np.select(
    [ENDPOINTS["path"] == "/api/reports/export", ENDPOINTS["path"] == "/api/files/{id}/download"],
    [1.3, 1.2],
    0.45,
)

#: Services that the downstream-call names refer to (``db`` and friends are infrastructure).
SERVICE_INDEX = {s: i for i, s in enumerate(SERVICES)}

COUNTRIES: dict[str, tuple[float, tuple[str, ...]]] = {
    # country: (share of users, public /16 prefixes of residential/ISP address space)
    "US": (0.32, ("73.162", "98.207", "24.5", "71.59")),
    "DE": (0.11, ("87.123", "91.64", "84.150")),
    "GB": (0.10, ("81.2", "86.150", "92.40")),
    "FR": (0.08, ("90.84", "82.64", "86.246")),
    "IN": (0.09, ("117.196", "49.36", "103.21")),
    "BR": (0.07, ("177.92", "189.6", "200.148")),
    "JP": (0.06, ("126.10", "153.212", "60.87")),
    "NL": (0.05, ("145.97", "83.80")),
    "CA": (0.05, ("99.240", "142.114")),
    "AU": (0.04, ("101.160", "120.146")),
    "ES": (0.03, ("88.12", "95.16")),
}
#: Address space that attackers use: hosting providers and anonymisers, located in ordinary
#: countries so that the country alone does not give them away.
ATTACKER_PREFIXES: tuple[tuple[str, str], ...] = (
    ("185.220", "DE"),
    ("45.155", "NL"),
    ("193.32", "NL"),
    ("104.244", "US"),
    ("103.75", "IN"),
    ("5.188", "GB"),
    ("91.219", "FR"),
    ("179.43", "BR"),
)
COUNTRY_NAMES = tuple(COUNTRIES)
#: Far-apart country pairs for impossible travel: home -> far
FAR_COUNTRY = {
    "US": "JP",
    "DE": "BR",
    "GB": "AU",
    "FR": "JP",
    "IN": "BR",
    "BR": "JP",
    "JP": "BR",
    "NL": "AU",
    "CA": "IN",
    "AU": "GB",
    "ES": "JP",
}

USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "ShopApp/4.12.1 (Android 14; Pixel 8)",
    "ShopApp/4.12.0 (iOS 17.4; iPhone15,2)",
)
BOT_AGENTS: tuple[str, ...] = ("python-requests/2.31.0", "Go-http-client/1.1", "curl/8.5.0")

ROLES = ("user", "admin", "service")


@dataclass(frozen=True)
class World:
    """Users and address pools drawn from one seed.

    Attributes
    ----------
    users
        One row per user: name, uid, role, country, corp (internal network), weight
        (share of activity, Zipf-like), ua (usual user agent), ips (tuple of 1-3 usual IPs).
    service_ips
        Internal address of each service (``10.1.<k>.<j>``).
    """

    users: pd.DataFrame
    service_ips: dict[str, tuple[str, ...]]

    def user_ip_matrix(self) -> np.ndarray:
        """Return a ``(n_users, 3)`` object array of usual IPs, repeated to fill 3 slots."""
        ips = self.users["ips"].to_list()
        return np.array([[t[i % len(t)] for i in range(3)] for t in ips], dtype=object)


def public_ip(rng: np.random.Generator, prefixes: np.ndarray) -> np.ndarray:
    """Random host addresses inside the given ``a.b`` prefixes (vectorised)."""
    c = rng.integers(1, 255, size=len(prefixes))
    d = rng.integers(2, 255, size=len(prefixes))
    return np.array([f"{p}.{x}.{y}" for p, x, y in zip(prefixes, c, d, strict=True)], dtype=object)


def build_world(n_users: int, seed: int) -> World:
    """Draw the users, their countries, IPs and roles from ``seed``."""
    rng = np.random.default_rng([seed, 101])
    names = np.array([f"u{i:04d}" for i in range(n_users)], dtype=object)
    uids = np.array([f"{int(x):08x}-acct" for x in rng.integers(0, 2**32, n_users)], dtype=object)
    role = rng.choice(3, size=n_users, p=[0.88, 0.07, 0.05])
    ranks = rng.permutation(n_users) + 1
    weight = 1.0 / ranks**1.05
    weight[role == 2] *= 3.0  # service accounts are busy
    weight /= weight.sum()
    shares = np.array([v[0] for v in COUNTRIES.values()])
    country = rng.choice(len(COUNTRY_NAMES), size=n_users, p=shares / shares.sum())
    corp = (rng.random(n_users) < 0.3) | (role == 2)
    n_ips = rng.choice([1, 2, 3], size=n_users, p=[0.45, 0.4, 0.15])
    ua_idx = rng.choice(len(USER_AGENTS), size=n_users, p=[0.3, 0.2, 0.1, 0.15, 0.15, 0.1])
    ua = np.array(USER_AGENTS, dtype=object)[ua_idx]
    svc_mask = role == 2
    ua[svc_mask] = np.array(BOT_AGENTS, dtype=object)[rng.integers(0, 2, svc_mask.sum())]
    ips: list[tuple[str, ...]] = []
    for i in range(n_users):
        c = COUNTRY_NAMES[country[i]]
        if corp[i]:
            subnet = 20 + int(country[i]) if role[i] != 2 else 30
            pool = [
                f"10.{subnet}.{rng.integers(0, 8)}.{rng.integers(2, 250)}" for _ in range(n_ips[i])
            ]
        else:
            prefixes = np.array(COUNTRIES[c][1], dtype=object)
            pool = list(public_ip(rng, rng.choice(prefixes, size=n_ips[i])))
        ips.append(tuple(pool))
    users = pd.DataFrame(
        {
            "name": names,
            "uid": uids,
            "role": np.array(ROLES, dtype=object)[role],
            "country": np.array(COUNTRY_NAMES, dtype=object)[country],
            "corp": corp,
            "weight": weight,
            "ua": ua,
            "ips": ips,
        }
    )
    service_ips = {s: tuple(f"10.1.{k}.{j}" for j in range(10, 13)) for k, s in enumerate(SERVICES)}
    return World(users=users, service_ips=service_ips)
