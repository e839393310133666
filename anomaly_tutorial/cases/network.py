"""Network security case study: attack campaigns injected into OCSF activity, features, rules.

The book's generator (:mod:`anomaly_tutorial.data`) gives normal network, authentication, HTTP
and API activity. This module extends it from outside, without touching it:

* :class:`CampaignConfig` and :func:`inject_campaigns` add attack campaigns to a generated
  :class:`~anomaly_tutorial.data.OCSFDataset` as new OCSF events with ground truth
  (``is_anomaly``, ``anomaly_type``, ``anomaly_kind``, ``incident_id``), validated by
  :func:`anomaly_tutorial.io.validate_events`. The campaigns (:data:`CAMPAIGNS`): port scan,
  host scan, brute force, low-and-slow password spraying, lateral movement, beaconing to a
  command-and-control host with jitter, data exfiltration, a new admin from an unusual country;
* :func:`network_case` builds the chapter's dataset (cached per process);
* :func:`case_features` computes causal per-source and per-account features (distinct ports and
  hosts, failed logins and their ratio, accounts tried, bytes sent, beacon periodicity, a
  country new for the account); :func:`beacon_periodicity` is the periodicity of one series;
* :class:`SignatureRules` are the fixed rules a SOC writes first (N failed logins in 10
  minutes, more than K distinct ports, ...), applied to those features;
* :func:`case_explanations` says in words which case features of an alert stand out.

Everything is seeded; every feature of an event uses only that event and earlier ones.
"""

from __future__ import annotations

import functools
import numbers
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from anomaly_tutorial import ocsf
from anomaly_tutorial.data import GeneratorConfig, OCSFDataset, generate_dataset

__all__ = [
    "CAMPAIGNS",
    "CASE_FEATURES",
    "CampaignConfig",
    "IncidentBudget",
    "SignatureRules",
    "beacon_periodicity",
    "case_explanations",
    "case_features",
    "case_matrix",
    "evaluate_alerts",
    "inject_campaigns",
    "network_case",
]

#: Campaign name -> (anomaly kind, what it is); kinds: point, contextual, collective.
CAMPAIGNS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "port_scan": ("collective", "an external address probes many ports of one host"),
        "host_scan": ("collective", "a compromised host probes one port on many hosts"),
        "brute_force": ("collective", "many failed logins on one account in minutes"),
        "password_spray": ("collective", "one failed login per account, every 15-40 minutes"),
        "lateral_movement": ("collective", "a compromised host logs on to several internal hosts"),
        "beaconing": ("collective", "periodic small connections to a C2 host, with jitter"),
        "exfiltration": ("collective", "large transfers to an external host at night"),
        "new_admin": ("contextual", "an account from a new country creates users, grants roles"),
    }
)

DAY_MS = 86_400_000
MINUTE_MS = 60_000

#: The case features, in the order :func:`case_features` returns them.
CASE_FEATURES: tuple[str, ...] = (
    "src_failed_logins_10m",
    "src_failed_ratio_24h",
    "src_accounts_failed_24h",
    "src_distinct_ports_10m",
    "src_distinct_hosts_10m",
    "src_bytes_out_mb_1h",
    "pair_connections_24h",
    "pair_beacon_periodicity",
    "account_new_country",
)

_ATTACKER_NETS = ("185.220", "45.155", "193.32", "179.43", "103.75", "5.188", "91.240")
_C2_NETS = ("198.51.100", "203.0.113", "192.0.2")


@dataclass(frozen=True)
class CampaignConfig:
    """How many campaigns of each kind to inject, and the seed of every draw.

    Parameters
    ----------
    campaigns_per_type
        ``{campaign name: number of campaigns}``; names from :data:`CAMPAIGNS`. Missing names
        get ``default_count``.
    default_count
        Campaigns of each type not named in ``campaigns_per_type``.
    seed
        Seed of every random draw of the injection.

    Notes
    -----
    Campaign ``i`` of a type of ``n`` starts in slot ``i`` of ``n`` equal slots of the
    dataset's period (at a random point inside it), so every period of a time split gets its
    share of every type.
    """

    campaigns_per_type: Mapping[str, int] | None = None
    default_count: int = 10
    seed: int = 13
    _counts: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("default_count", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"CampaignConfig.{name}: must be an int >= 0, got {value!r}")
        counts = dict.fromkeys(CAMPAIGNS, int(self.default_count))
        given = self.campaigns_per_type or {}
        if not isinstance(given, Mapping):
            raise ValueError("CampaignConfig.campaigns_per_type: must be a mapping {name: int}")
        for name, count in given.items():
            if name not in CAMPAIGNS:
                raise ValueError(
                    f"CampaignConfig.campaigns_per_type: unknown campaign {name!r}; "
                    f"known: {list(CAMPAIGNS)}"
                )
            if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
                raise ValueError(
                    f"CampaignConfig.campaigns_per_type: {name!r}: count must be an int >= 0, "
                    f"got {count!r}"
                )
            if count > 100:
                raise ValueError(
                    f"CampaignConfig.campaigns_per_type: {name!r}: count must be <= 100"
                )
            counts[name] = int(count)
        object.__setattr__(self, "_counts", MappingProxyType(counts))

    @property
    def counts(self) -> Mapping[str, int]:
        """Campaigns per type, every type named."""
        return self._counts


# --- injection ---------------------------------------------------------------------------------
class _Builder:
    """Make new flat rows from template rows of the base frame, one class at a time."""

    def __init__(self, base: pd.DataFrame, rng: np.random.Generator) -> None:
        self.rng = rng
        self.templates = {
            c: base[base["class_uid"] == c].iloc[0].to_dict()
            for c in (ocsf.AUTHENTICATION, ocsf.NETWORK_ACTIVITY, ocsf.API_ACTIVITY)
        }
        self.rows: list[dict] = []

    def add(self, class_uid: int, activity_id: int, t_ms: int, **fields) -> None:
        template = self.templates[class_uid]
        keep = ("class_uid", "class_name", "category_uid", "category_name")
        row = {c: (v if c in keep or c.startswith("metadata.") else None)
               for c, v in template.items()}  # fmt: skip
        row.update(
            time=int(t_ms),
            activity_id=activity_id,
            activity_name=ocsf.ACTIVITY_NAMES[class_uid][activity_id],
            type_uid=ocsf.type_uid(class_uid, activity_id),
            severity_id=1,
        )
        row["src_endpoint.port"] = int(self.rng.integers(32768, 61000))
        row.update(fields)
        self.rows.append(row)


def _attacker_ip(rng: np.random.Generator) -> str:
    net = _ATTACKER_NETS[int(rng.integers(len(_ATTACKER_NETS)))]
    return f"{net}.{int(rng.integers(1, 255))}.{int(rng.integers(1, 255))}"


def _auth(b: _Builder, t, user, uid, src, country, ok, detail=None, logon="Network",
          dst="10.1.1.10", svc="auth") -> None:  # fmt: skip
    b.add(
        ocsf.AUTHENTICATION, 1, t,
        status_id=ocsf.STATUS_SUCCESS if ok else ocsf.STATUS_FAILURE,
        status_detail=None if ok else (detail or "Invalid password"),
        message=f"login {'succeeded' if ok else 'failed'} user={user} ip={src}",
        duration=float(b.rng.uniform(80, 400)),
        **{"actor.user.name": user, "actor.user.uid": uid, "user.name": user, "user.uid": uid,
           "src_endpoint.ip": src, "src_endpoint.location.country": country,
           "dst_endpoint.ip": dst, "dst_endpoint.port": 443 if svc == "auth" else 22,
           "dst_endpoint.svc_name": svc, "auth_protocol": "Password", "is_mfa": False,
           "logon_type": logon},
    )  # fmt: skip


def _flow(b: _Builder, t, src, dst, port, svc, bytes_out, activity=6, ok=True,
          country=None, direction=2) -> None:  # fmt: skip
    packets = max(1, int(bytes_out // 1400))
    b.add(
        ocsf.NETWORK_ACTIVITY, activity, t,
        status_id=ocsf.STATUS_SUCCESS if ok else ocsf.STATUS_FAILURE,
        message=f"flow {src} -> {dst}:{port} tcp bytes_out={int(bytes_out)}",
        duration=float(b.rng.uniform(0.5, 5.0)) if bytes_out < 10_000 else float(
            b.rng.uniform(20_000, 120_000)),
        **{"src_endpoint.ip": src, "src_endpoint.location.country": country,
           "dst_endpoint.ip": dst, "dst_endpoint.port": int(port), "dst_endpoint.svc_name": svc,
           "traffic.bytes_out": int(bytes_out), "traffic.bytes_in": int(b.rng.integers(40, 900)),
           "traffic.packets_out": packets, "traffic.packets_in": int(b.rng.integers(1, 6)),
           "connection_info.protocol_name": "tcp", "connection_info.direction_id": direction},
    )  # fmt: skip


def _api(b: _Builder, t, user, uid, src, country, operation) -> None:
    b.add(
        ocsf.API_ACTIVITY, 1 if operation.startswith(("Create", "Attach")) else 3, t,
        status_id=ocsf.STATUS_SUCCESS,
        message=f"{operation} by {user} status=ok",
        duration=float(b.rng.uniform(30, 200)),
        **{"actor.user.name": user, "actor.user.uid": uid, "src_endpoint.ip": src,
           "src_endpoint.location.country": country, "dst_endpoint.ip": "10.3.0.11",
           "dst_endpoint.port": 443, "dst_endpoint.svc_name": "iam-api",
           "api.operation": operation, "api.service.name": "iam"},
    )  # fmt: skip


def _campaign(kind: str, b: _Builder, t0: int, ctx: dict) -> tuple[str, str]:
    """Add one campaign's rows starting at ``t0``; return (entity, description)."""
    rng = b.rng
    internal_hosts, users = ctx["internal_hosts"], ctx["users"]
    host = internal_hosts[int(rng.integers(len(internal_hosts)))]
    if kind == "port_scan":
        src, n = _attacker_ip(rng), int(rng.integers(30, 60))
        ports = rng.choice(np.arange(1, 10_000), n, replace=False)
        for i, p in enumerate(ports):
            _flow(b, t0 + i * int(rng.integers(500, 3000)), src, host, p, None,
                  int(rng.integers(40, 80)), activity=5, ok=False, direction=1)  # fmt: skip
        return src, f"{src} probed {n} ports of {host}"
    if kind == "host_scan":
        n, port = int(rng.integers(15, 30)), int(rng.choice([22, 445, 3389]))
        targets = rng.choice(internal_hosts, min(n, len(internal_hosts)), replace=False)
        for i, dst in enumerate(targets):
            _flow(b, t0 + i * int(rng.integers(2_000, 15_000)), host, dst, port, None,
                  int(rng.integers(40, 80)), activity=4, ok=False, direction=3)  # fmt: skip
        return host, f"{host} probed port {port} on {len(targets)} hosts"
    if kind == "brute_force":
        src, n = _attacker_ip(rng), int(rng.integers(20, 40))
        user, uid, country = users[int(rng.integers(len(users)))]
        t = t0
        for _ in range(n):
            t += int(rng.integers(3_000, 20_000))
            _auth(b, t, user, uid, src, "RU", ok=False)
        return src, f"{n} failed logins for {user} from {src}"
    if kind == "password_spray":
        src, n = _attacker_ip(rng), int(rng.integers(15, 25))
        chosen = rng.choice(len(users), n, replace=False)
        t = t0
        for j in chosen:
            user, uid, _ = users[int(j)]
            t += int(rng.integers(15, 40)) * MINUTE_MS
            _auth(b, t, user, uid, src, "NL", ok=False, detail="Invalid password")
        return src, f"{src} tried one password on {n} accounts over {(t - t0) / 3.6e6:.0f} h"
    if kind == "lateral_movement":
        n = int(rng.integers(4, 8))
        user, uid, _ = ctx["admins"][int(rng.integers(len(ctx["admins"])))]
        targets = rng.choice(internal_hosts, n, replace=False)
        t = t0
        for dst in targets:
            t += int(rng.integers(2, 12)) * MINUTE_MS
            _auth(b, t, user, uid, host, None, ok=True, logon="Remote Interactive", dst=str(dst),
                  svc="bastion")  # fmt: skip
            _flow(b, t + 500, host, dst, 22, "bastion", int(rng.integers(3_000, 9_000)),
                  direction=3)  # fmt: skip
        return host, f"{host} logged on to {n} hosts as {user}"
    if kind == "beaconing":
        c2 = f"{_C2_NETS[int(rng.integers(len(_C2_NETS)))]}.{int(rng.integers(1, 255))}"
        period_s, n = int(rng.integers(300, 900)), int(rng.integers(30, 50))
        t = t0
        for _ in range(n):
            t += int(period_s * 1000 * rng.uniform(0.85, 1.15))  # +-15% jitter
            _flow(b, t, host, c2, 443, "egress-https", int(rng.integers(200, 1500)), country=None)
        return host, f"{host} called {c2} every {period_s} s (+-15%) {n} times"
    if kind == "exfiltration":
        dst, n = _attacker_ip(rng), int(rng.integers(4, 8))
        t = t0 - (t0 % DAY_MS) + int(rng.integers(1, 4)) * 3_600_000  # 01:00-04:00 UTC
        total = 0
        for _ in range(n):
            t += int(rng.integers(2, 8)) * MINUTE_MS
            size = int(rng.integers(40, 120)) * 1_000_000
            total += size
            _flow(b, t, host, dst, 443, "egress-https", size)
        return host, f"{host} sent {total / 1e6:.0f} MB to {dst} in {n} transfers at night"
    if kind == "new_admin":
        user, uid, home = users[int(rng.integers(len(users)))]
        country = next(c for c in ("KP", "IR", "VN", "NG") if c != home)
        src = _attacker_ip(rng)
        _auth(b, t0, user, uid, src, country, ok=True)
        t = t0
        for op in ("ListUsers", "CreateUser", "AttachRolePolicy", "CreateAccessKey"):
            t += int(rng.integers(1, 6)) * MINUTE_MS
            _api(b, t, user, uid, src, country, op)
        return user, f"{user} logged in from {country} ({src}) and created an admin user"
    raise ValueError(f"campaign: unknown type {kind!r}")


def _context(events: pd.DataFrame) -> dict:
    net = events[events["class_uid"] == ocsf.NETWORK_ACTIVITY]
    ips = pd.concat([net["src_endpoint.ip"], net["dst_endpoint.ip"]]).dropna().astype(str)
    internal = sorted(set(ips[ips.str.startswith("10.")]))
    auth = events[(events["class_uid"] == ocsf.AUTHENTICATION) & events["user.name"].notna()]
    first = auth.drop_duplicates("user.name").sort_values("user.name")
    users = [
        (str(r["user.name"]), str(r["user.uid"]), str(r["src_endpoint.location.country"]))
        for _, r in first.iterrows()
    ]
    api = events[events["api.operation"].isin(["CreateUser", "AttachRolePolicy"])]
    admin_names = set(api["actor.user.name"].dropna().astype(str))
    admins = [u for u in users if u[0] in admin_names] or users[:3]
    if len(internal) < 20 or len(users) < 30:
        raise ValueError(
            f"dataset: too small for the campaigns ({len(internal)} internal addresses, "
            f"{len(users)} accounts with logins; need at least 20 and 30)"
        )
    return {"internal_hosts": np.array(internal), "users": users, "admins": admins}


def inject_campaigns(
    dataset: OCSFDataset, config: CampaignConfig | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add attack campaigns to a generated dataset's events.

    Parameters
    ----------
    dataset
        A generated :class:`~anomaly_tutorial.data.OCSFDataset`; its events are not modified.
    config
        The campaigns to inject (``CampaignConfig()`` when omitted).

    Returns
    -------
    events : pandas.DataFrame
        The dataset's events plus the campaign events (ids ``net-000001``, ...), same columns
        and dtypes, sorted by time (stable, so equal times keep the base events first).
    incidents : pandas.DataFrame
        One row per campaign: ``incident_id`` (``net-inc-001``, ...), ``anomaly_type``,
        ``anomaly_kind``, ``entity`` (the compromised host, account or attacking address),
        ``start_time``, ``end_time``, ``n_events``, ``description``.

    Raises
    ------
    TypeError
        If ``dataset`` is not an OCSFDataset or ``config`` not a CampaignConfig.
    ValueError
        If the dataset is too small, or an injected record fails OCSF validation (the message
        names the record and the field).
    """
    from anomaly_tutorial.io import validate_events

    if not isinstance(dataset, OCSFDataset):
        raise TypeError(f"dataset: expected an OCSFDataset, got {type(dataset).__name__}")
    config = CampaignConfig() if config is None else config
    if not isinstance(config, CampaignConfig):
        raise TypeError(f"config: expected a CampaignConfig, got {type(config).__name__}")
    base = dataset.events
    ctx = _context(base)
    start, end = dataset.config.start_ms, dataset.config.end_ms
    rng = np.random.default_rng([config.seed, 4242])
    builder = _Builder(base, rng)
    incidents = []
    for kind, count in config.counts.items():
        for i in range(count):
            slot = (end - start - DAY_MS) / count
            t0 = int(start + slot * (i + rng.uniform(0.1, 0.9)))
            first = len(builder.rows)
            entity, description = _campaign(kind, builder, t0, ctx)
            inc = f"net-inc-{len(incidents) + 1:03d}"
            for row in builder.rows[first:]:
                row.update(is_anomaly=True, anomaly_type=kind, anomaly_kind=CAMPAIGNS[kind][0],
                           incident_id=inc)  # fmt: skip
            times = [r["time"] for r in builder.rows[first:]]
            incidents.append((inc, kind, CAMPAIGNS[kind][0], entity, min(times), max(times),
                              len(times), description))  # fmt: skip
    rows = builder.rows
    for k, row in enumerate(rows, start=1):
        row["event_id"] = f"net-{k:06d}"
        if not start <= row["time"] < end:
            row["time"] = int(min(max(row["time"], start), end - 1))
    new = pd.DataFrame(rows, columns=list(base.columns)).astype(base.dtypes.to_dict())
    _validate(new, validate_events)
    events = pd.concat([base, new], ignore_index=True)
    events = events.iloc[np.argsort(events["time"].to_numpy(), kind="stable")]
    events = events.reset_index(drop=True)
    columns = ["incident_id", "anomaly_type", "anomaly_kind", "entity", "start_time",
               "end_time", "n_events", "description"]  # fmt: skip
    return events, pd.DataFrame(incidents, columns=columns)


def _validate(frame: pd.DataFrame, validate_events) -> None:  # type: ignore[no-untyped-def]
    names = list(ocsf.FLAT_COLUMNS)
    records = [
        ocsf.unflatten_event(dict(zip(names, row, strict=True)))
        for row in frame[names].itertuples(index=False, name=None)
    ]
    _, bad = validate_events(records)
    if bad:
        first = bad[0]
        raise ValueError(
            f"injected record {frame['event_id'].iloc[first.record_number - 1]} is not valid "
            f"OCSF: {first}"
        )


@functools.lru_cache(maxsize=2)
def network_case(
    n_events: int = 20_000, seed: int = 7, campaign_seed: int = 13
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chapter's data: a 14-day generated dataset with only the injected campaigns.

    The base generator's own incidents are switched off (``anomaly_types=()``) so that every
    anomalous event belongs to one of the campaigns of :data:`CAMPAIGNS`. Cached per process;
    treat the returned frames as read-only.
    """
    base = generate_dataset(
        GeneratorConfig(n_events=n_events, seed=seed, anomaly_types=(), anomaly_rate=0.0)
    )
    return inject_campaigns(base, CampaignConfig(seed=campaign_seed))


# --- features ----------------------------------------------------------------------------------
def beacon_periodicity(times_ms: np.ndarray | list, min_gaps: int = 5) -> float:
    """How regular the gaps between consecutive connections are, from 0 (random) to 1.

    ``max(0, 1 - CV)`` of the gaps, where CV is their coefficient of variation (standard
    deviation / mean). A perfect beacon scores 1, a +-15% uniform jitter about 0.91, Poisson
    arrivals (CV = 1) about 0. Fewer than ``min_gaps`` gaps give 0.

    Raises
    ------
    ValueError
        If the times are not finite or not in increasing order.
    """
    t = np.asarray(times_ms, dtype="float64")
    if t.ndim != 1 or not np.isfinite(t).all():
        raise ValueError("times_ms: must be a 1-d sequence of finite epoch milliseconds")
    gaps = np.diff(t)
    if (gaps < 0).any():
        i = int(np.flatnonzero(gaps < 0)[0])
        raise ValueError(f"times_ms: not in increasing order at position {i + 1}")
    if gaps.size < min_gaps or gaps.mean() <= 0:
        return 0.0
    return float(max(0.0, 1.0 - gaps.std() / gaps.mean()))


def _per_key_window(times, keys, values, window_ms, kind):  # type: ignore[no-untyped-def]
    """For each row: over rows with the same key in ``(t - window, t]``, a count of
    distinct ``values`` (``kind="distinct"``) or a sum of them (``kind="sum"``)."""
    n = len(times)
    out = np.zeros(n)
    codes, _ = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=True)
    order = np.lexsort((np.arange(n), times, codes))
    k_sorted = codes[order]
    starts = np.flatnonzero(np.r_[True, k_sorted[1:] != k_sorted[:-1]])
    for s, e in zip(starts, np.r_[starts[1:], n], strict=True):
        idx = order[s:e]
        if codes[idx[0]] < 0:
            continue
        window: deque = deque()
        counter: Counter = Counter()
        total = 0.0
        for i in idx:
            t = times[i]
            while window and window[0][0] <= t - window_ms:
                _, old = window.popleft()
                if kind == "sum":
                    total -= old
                else:
                    counter[old] -= 1
                    if counter[old] == 0:
                        del counter[old]
            v = values[i]
            if v is not None:
                window.append((t, v))
                if kind == "sum":
                    total += v
                else:
                    counter[v] += 1
            out[i] = total if kind == "sum" else len(counter)
    return out


def _obj(series: pd.Series) -> np.ndarray:
    return series.astype(object).where(series.notna(), None).to_numpy(dtype=object)


def case_features(events: pd.DataFrame) -> pd.DataFrame:
    """Causal per-source, per-pair and per-account features of every event.

    Each feature of an event is computed from that event and the earlier ones of the same
    source address (``src_endpoint.ip``), pair (source, destination) or account, so a period's
    features can be computed on the whole stream and then split by time. Pass the events of all
    periods together (earlier periods act as history).

    Returns
    -------
    pandas.DataFrame
        Same index as ``events``, columns :data:`CASE_FEATURES`, all finite floats:
        ``src_failed_logins_10m`` failed logins from the source in the last 10 minutes;
        ``src_failed_ratio_24h`` share of its logins in 24 h that failed;
        ``src_accounts_failed_24h`` distinct accounts with a failed login from it in 24 h;
        ``src_distinct_ports_10m`` / ``src_distinct_hosts_10m`` distinct destination ports /
        addresses of its network connections in 10 minutes; ``src_bytes_out_mb_1h`` MB it sent
        in the last hour; ``pair_connections_24h`` connections of the (source, destination)
        pair in 24 h; ``pair_beacon_periodicity`` :func:`beacon_periodicity` of the pair's last
        12 connections within 24 h; ``account_new_country`` 1 when the account's login or API
        call comes from a country it never used before in the stream.

    Raises
    ------
    ValueError
        If a required column is missing or ``time`` holds missing values (naming the row).
    """
    need = ("time", "class_uid", "status_id", "src_endpoint.ip", "dst_endpoint.ip",
            "dst_endpoint.port", "traffic.bytes_out", "actor.user.name", "user.name",
            "src_endpoint.location.country")  # fmt: skip
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise ValueError(f"events: missing column(s) {missing}")
    if events["time"].isna().any():
        row = events.index[events["time"].isna().to_numpy()][0]
        raise ValueError(f"events: row {row!r}, field 'time': missing value")
    t = events["time"].to_numpy(dtype="float64")
    cls = events["class_uid"].to_numpy()
    src = _obj(events["src_endpoint.ip"])
    dst = _obj(events["dst_endpoint.ip"])
    is_auth, is_net = cls == ocsf.AUTHENTICATION, cls == ocsf.NETWORK_ACTIVITY
    failed = is_auth & (events["status_id"].to_numpy() == ocsf.STATUS_FAILURE)
    account = _obj(events["user.name"].fillna(events["actor.user.name"]))
    auth_src = np.where(is_auth, src, None)
    net_src = np.where(is_net, src, None)
    failed_src = np.where(failed, src, None)

    def ones(mask):  # type: ignore[no-untyped-def]
        return np.where(mask, 1.0, None)

    n_failed_10m = _per_key_window(t, failed_src, ones(failed), 10 * MINUTE_MS, "sum")
    n_failed_24h = _per_key_window(t, auth_src, ones(failed), DAY_MS, "sum")
    n_auth_24h = _per_key_window(t, auth_src, ones(is_auth), DAY_MS, "sum")
    accounts = _per_key_window(t, failed_src, np.where(failed, account, None), DAY_MS, "distinct")
    ports = _obj(events["dst_endpoint.port"])
    distinct_ports = _per_key_window(t, net_src, np.where(is_net, ports, None), 10 * MINUTE_MS,
                                     "distinct")  # fmt: skip
    distinct_hosts = _per_key_window(t, net_src, np.where(is_net, dst, None), 10 * MINUTE_MS,
                                     "distinct")  # fmt: skip
    bytes_out = events["traffic.bytes_out"].astype("float64").fillna(0.0).to_numpy() / 1e6
    mb_1h = _per_key_window(t, net_src, np.where(is_net, bytes_out, None), 3_600_000, "sum")
    pair = np.array([None if not (n and s and d) else f"{s}>{d}"
                     for n, s, d in zip(is_net, src, dst, strict=True)], dtype=object)  # fmt: skip
    pair_n = _per_key_window(t, pair, ones(is_net), DAY_MS, "sum")
    periodicity = _pair_periodicity(t, pair)
    country = _obj(events["src_endpoint.location.country"])
    new_country = _first_seen(account, country, (cls == ocsf.AUTHENTICATION)
                              | (cls == ocsf.API_ACTIVITY))  # fmt: skip
    ratio = np.divide(n_failed_24h, n_auth_24h, out=np.zeros_like(n_auth_24h),
                      where=n_auth_24h > 0)  # fmt: skip
    values = [n_failed_10m, ratio, accounts, distinct_ports, distinct_hosts, mb_1h, pair_n,
              periodicity, new_country]  # fmt: skip
    return pd.DataFrame(dict(zip(CASE_FEATURES, values, strict=True)), index=events.index)


def _pair_periodicity(t: np.ndarray, pair: np.ndarray, last: int = 12) -> np.ndarray:
    out = np.zeros(len(t))
    frame = pd.DataFrame({"pair": pair, "t": t, "i": np.arange(len(t))}).dropna(subset=["pair"])
    for _, g in frame.sort_values(["pair", "t", "i"]).groupby("pair", sort=False):
        times, rows = g["t"].to_numpy(), g["i"].to_numpy()
        if len(times) < 6:
            continue
        for j in range(5, len(times)):
            lo = max(0, j - last + 1)
            window = times[lo : j + 1]
            window = window[window > times[j] - DAY_MS]
            out[rows[j]] = beacon_periodicity(window)
    return out


def _first_seen(account: np.ndarray, country: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.zeros(len(account))
    seen: dict[str, set] = {}
    for i in range(len(account)):
        a, c = account[i], country[i]
        if not mask[i] or a is None or c is None:
            continue
        known = seen.setdefault(a, set())
        if known and c not in known:
            out[i] = 1.0
        known.add(c)
    return out


# --- rules -------------------------------------------------------------------------------------
class SignatureRules(BaseEstimator):
    """The fixed rules a SOC writes first, applied to :func:`case_features`.

    Parameters
    ----------
    failed_logins
        Alert when a source has at least this many failed logins in 10 minutes (brute force).
    distinct_ports
        Alert when a source reaches more than this many distinct ports in 10 minutes (port scan).
    distinct_hosts
        Alert when a source reaches more than this many distinct hosts in 10 minutes (host scan).
    bytes_out_mb
        Alert when a source sends more than this many MB in one hour (exfiltration).

    Notes
    -----
    Nothing is fitted: the thresholds are the defaults of a typical SIEM rule pack, written
    before any data is seen. ``fit`` exists only for the scikit-learn API. Spraying that stays
    under ``failed_logins`` per 10 minutes, jittered beacons, lateral movement and a new
    admin from an unusual country pass every rule by design.
    """

    RULES: tuple[str, ...] = ("brute_force_rule", "port_scan_rule", "host_scan_rule",
                              "exfiltration_rule")  # fmt: skip

    def __init__(self, failed_logins: int = 10, distinct_ports: int = 20,
                 distinct_hosts: int = 10, bytes_out_mb: float = 100.0) -> None:  # fmt: skip
        self.failed_logins = failed_logins
        self.distinct_ports = distinct_ports
        self.distinct_hosts = distinct_hosts
        self.bytes_out_mb = bytes_out_mb

    def fit(self, features: pd.DataFrame | None = None, y=None) -> SignatureRules:
        """Check the parameters (nothing is learned)."""
        for name in ("failed_logins", "distinct_ports", "distinct_hosts", "bytes_out_mb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
                raise ValueError(f"{name}: must be a positive number, got {value!r}")
        self.is_fitted_ = True
        return self

    def fire(self, features: pd.DataFrame) -> pd.DataFrame:
        """Which rule fires on each event: one bool column per rule, plus ``any``."""
        self.fit()
        missing = [c for c in CASE_FEATURES if c not in features.columns]
        if missing:
            raise ValueError(f"features: missing column(s) {missing}; use case_features()")
        f = features
        out = pd.DataFrame(
            {
                "brute_force_rule": f["src_failed_logins_10m"] >= self.failed_logins,
                "port_scan_rule": f["src_distinct_ports_10m"] > self.distinct_ports,
                "host_scan_rule": f["src_distinct_hosts_10m"] > self.distinct_hosts,
                "exfiltration_rule": f["src_bytes_out_mb_1h"] > self.bytes_out_mb,
            },
            index=features.index,
        )
        out["any"] = out.any(axis=1)
        return out

    def score_samples(self, features: pd.DataFrame) -> np.ndarray:
        """Number of rules that fire (0-4): a score for PR-AUC, higher = more anomalous."""
        return self.fire(features)[list(self.RULES)].sum(axis=1).to_numpy(dtype="float64")


# --- explanations ------------------------------------------------------------------------------
_FEATURE_WORDS = {
    "src_failed_logins_10m": "{v:.0f} failed logins from this source in 10 min",
    "src_failed_ratio_24h": "{v:.0%} of this source's logins failed in 24 h",
    "src_accounts_failed_24h": "failed logins on {v:.0f} accounts from this source in 24 h",
    "src_distinct_ports_10m": "{v:.0f} distinct ports in 10 min",
    "src_distinct_hosts_10m": "{v:.0f} distinct hosts in 10 min",
    "src_bytes_out_mb_1h": "{v:.0f} MB sent in 1 h",
    "pair_connections_24h": "{v:.0f} connections to this destination in 24 h",
    "pair_beacon_periodicity": "connections to this destination regular (periodicity {v:.2f})",
    "account_new_country": "first time this account is seen from this country",
}


def case_explanations(
    features: pd.DataFrame, reference: pd.DataFrame, quantile: float = 0.99
) -> pd.Series:
    """In words, the case features of each row above the ``quantile`` of a normal reference.

    Parameters
    ----------
    features
        :func:`case_features` rows to explain (the alerts).
    reference
        :func:`case_features` of a reference period (the training period; it may hold some
        attacks, which is why the default quantile is 0.99 and not higher).
    quantile
        A feature is named when it exceeds this quantile of the reference (and is non-zero).
    """
    if not 0.5 <= quantile < 1:
        raise ValueError(f"quantile: must be in [0.5, 1), got {quantile!r}")
    cuts = reference[list(CASE_FEATURES)].quantile(quantile)
    texts = []
    for _, row in features[list(CASE_FEATURES)].iterrows():
        high = [c for c in CASE_FEATURES if row[c] > cuts[c] and row[c] > 0]
        high.sort(key=lambda c: -(row[c] / (cuts[c] + 1e-9)))
        texts.append("; ".join(_FEATURE_WORDS[c].format(v=row[c]) for c in high[:3])
                     or "no case feature stands out")  # fmt: skip
    return pd.Series(texts, index=features.index, name="explanation")


# --- evaluation --------------------------------------------------------------------------------
def case_matrix(ocsf_matrix: np.ndarray, features: pd.DataFrame) -> np.ndarray:
    """Detector input: the :class:`~anomaly_tutorial.features.OCSFFeaturizer` matrix beside
    ``log1p`` of the case features (counts and megabytes on a log scale, as the featurizer
    does for its own counts)."""
    x = np.asarray(ocsf_matrix, dtype="float64")
    if len(x) != len(features):
        raise ValueError(
            f"ocsf_matrix has {len(x)} rows but features has {len(features)}; pass the same events"
        )
    return np.hstack([x, np.log1p(features[list(CASE_FEATURES)].to_numpy(dtype="float64"))])


def evaluate_alerts(
    alerts: np.ndarray, scores: np.ndarray, events: pd.DataFrame, days: float
) -> dict[str, float]:
    """Test figures of one method: PR-AUC of its scores, and at its alerts: precision, alerts
    per day, event recall and campaign (incident) recall, the share of campaigns with at
    least one alert on their own events."""
    from anomaly_tutorial.evaluate import incident_detection, pr_auc

    flags = np.asarray(alerts, dtype=bool)
    truth = events["is_anomaly"].to_numpy(dtype=bool)
    if len(flags) != len(events) or len(scores) != len(events):
        raise ValueError(f"alerts and scores must have {len(events)} values, one per event")
    ids = events["event_id"].astype(str).to_numpy()
    caught = incident_detection(
        pd.Series(flags, index=ids), events[["event_id", "is_anomaly", "incident_id"]],
        pd.Series(events["time"].to_numpy(), index=ids),
    )  # fmt: skip
    n = int(flags.sum())
    return {
        "PR-AUC": pr_auc(truth, scores),
        "campaign recall": float(caught["detected"].mean()),
        "event recall": float(flags[truth].mean()),
        "precision": float(truth[flags].mean()) if n else float("nan"),
        "alerts per day": n / float(days),
    }


# --- the threshold policy ----------------------------------------------------------------------
class IncidentBudget(BaseEstimator):
    """The lowest threshold at which no day of the fitting period has more than
    ``max_incidents`` grouped incidents.

    An analyst reads incidents, not events: a port scan of 50 events is one thing to look at.
    :class:`~anomaly_tutorial.thresholds.AlertBudget` counts events, so one burst on a
    validation day pushes its threshold above every burst; this policy counts the incidents
    :func:`~anomaly_tutorial.thresholds.group_alerts` makes of the alerts (same ``key`` within
    ``max_gap_s``), by the UTC day each incident starts.

    Parameters
    ----------
    max_incidents
        Most incidents allowed on any one day of the fitting period.
    key, max_gap_s
        Passed to :func:`~anomaly_tutorial.thresholds.group_alerts`.
    n_candidates
        Candidate thresholds: this many quantiles of the fitting scores between the 95th
        percentile and the maximum (a budget of a few incidents a day never reaches lower).

    Attributes
    ----------
    threshold_ : float
    decision_ : dict
        The choice as a JSON-serialisable record, with the fields of
        :class:`~anomaly_tutorial.thresholds.ThresholdDecision` (``policy="incident_budget"``).

    Notes
    -----
    The number of incidents is not monotone in the threshold (a lower threshold can merge two
    incidents into one), so every candidate is tried and the lowest that keeps the budget wins.
    """

    def __init__(self, max_incidents: int = 10, key: str = "src_endpoint.ip",
                 max_gap_s: float = 3600.0, n_candidates: int = 50) -> None:  # fmt: skip
        self.max_incidents = max_incidents
        self.key = key
        self.max_gap_s = max_gap_s
        self.n_candidates = n_candidates

    def fit(self, scores: np.ndarray, events: pd.DataFrame, period_days: float) -> IncidentBudget:
        """Choose the threshold on one period's scores and events (same order)."""
        for name in ("max_incidents", "n_candidates"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name}: must be a positive integer, got {value!r}")
        s = np.asarray(scores, dtype="float64")
        if s.ndim != 1 or len(s) != len(events):
            raise ValueError(
                f"scores: expected {len(events)} values (one per event), got {s.shape}"
            )
        if not np.isfinite(s).all():
            raise ValueError(f"scores: {int((~np.isfinite(s)).sum())} NaN or infinite values")
        if self.key not in events.columns:
            raise ValueError(f"events: no column {self.key!r} to group alerts by")
        candidates = np.unique(np.quantile(s, np.linspace(0.95, 1.0, self.n_candidates)))
        chosen, worst = float(np.nextafter(s.max(), np.inf)), 0
        keyed = events[[self.key, "time"]]
        for threshold in candidates[::-1]:
            busiest = self._busiest_day(keyed[s >= threshold])
            if busiest <= self.max_incidents:
                chosen, worst = float(threshold), busiest
        flags = s >= chosen
        truth = events["is_anomaly"].to_numpy(dtype=bool) if "is_anomaly" in events else None
        n = int(flags.sum())
        self.threshold_ = chosen
        self.decision_ = {
            "policy": "incident_budget",
            "params": self.get_params(),
            "threshold": chosen,
            "reason": (f"the lowest threshold at which no day of the period has more than "
                       f"{self.max_incidents} incidents (busiest day: {worst})"),
            "n_scores": int(s.size),
            "period_days": float(period_days),
            "n_alerts": n,
            "alerts_per_day": n / float(period_days),
            "precision": float(truth[flags].mean()) if truth is not None and n else None,
            "recall": float(flags[truth].mean()) if truth is not None and truth.any() else None,
        }  # fmt: skip
        return self

    def _busiest_day(self, alerts: pd.DataFrame) -> int:
        from anomaly_tutorial.thresholds import group_alerts

        alerts = alerts[alerts[self.key].notna()]
        if alerts.empty:
            return 0
        incidents = group_alerts(alerts, key=self.key, max_gap_s=self.max_gap_s,
                                 score_column=None).incidents  # fmt: skip
        return int((incidents["start_time"] // DAY_MS).value_counts().max())

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """Alerts (bool array) for new scores."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "decision_")
        s = np.asarray(scores, dtype="float64")
        if not np.isfinite(s).all():
            raise ValueError(f"scores: {int((~np.isfinite(s)).sum())} NaN or infinite values")
        return s >= self.threshold_
