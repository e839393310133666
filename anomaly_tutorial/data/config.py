"""Configuration of the synthetic OCSF data generator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

#: Every anomaly type the generator knows, in the order incidents are planned.
ALL_ANOMALY_TYPES: tuple[str, ...] = (
    "latency_spike",
    "slow_query",
    "db_timeout_burst",
    "error_burst_5xx",
    "memory_leak",
    "cache_miss_storm",
    "brute_force",
    "credential_stuffing",
    "data_exfiltration",
    "port_scan",
    "impossible_travel",
    "privilege_escalation",
    "account_takeover",
)

MAX_ANOMALY_RATE = 0.2


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of :func:`anomaly_tutorial.data.generate_dataset`.

    Parameters
    ----------
    n_events
        Total number of events, anomalous ones included.
    days
        Length of the period in days.
    seed
        Seed of every random draw; the same configuration always gives the same data.
    n_users
        Number of user accounts (regular users, admins and service accounts).
    start
        Start of the period (ISO 8601, UTC). The default is a Monday 00:00 UTC.
    anomaly_rate
        Target fraction of anomalous events, between 0 and 0.2.
    anomaly_types
        Names of the anomaly types to inject (default: all of them).
    incidents_per_type
        Optional ``{type: number of incidents}`` overriding the plan for those types.
    incident_scale
        Multiplier of incident sizes: larger values give fewer, larger incidents with the same
        total number of anomalous events.
    metric_interval_s
        Sampling interval of the per-service metrics, in seconds.
    propagate_incidents
        When True, operations incidents (latency spikes, database timeouts, 5xx bursts, cache
        miss storms) spread to the callers of the service they hit, along the call graph of
        ``world.ENDPOINTS``: weaker at each hop and a little later (see
        :func:`~anomaly_tutorial.data.anomalies.propagate_to_callers`), in events, spans and
        metrics; databases and caches get per-service span names (``orders-db``) and the
        incidents table gains ``root_cause_service``, ``affected_services`` and
        ``n_symptom_events``. Default False: the book's default dataset is unchanged.
    """

    n_events: int = 60_000
    days: int = 14
    seed: int = 7
    n_users: int = 400
    start: str = "2026-03-02T00:00:00Z"
    anomaly_rate: float = 0.015
    anomaly_types: tuple[str, ...] = ALL_ANOMALY_TYPES
    incidents_per_type: Mapping[str, int] | None = None
    incident_scale: float = 1.0
    metric_interval_s: int = 60
    propagate_incidents: bool = False
    _start_ms: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def bad(name: str, problem: str) -> ValueError:
            return ValueError(f"GeneratorConfig.{name}: {problem}")

        for name in ("n_events", "days", "seed", "n_users", "metric_interval_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(name, f"must be an int, got {type(value).__name__} {value!r}")
        if self.n_events < 100:
            raise bad("n_events", f"must be at least 100, got {self.n_events}")
        if self.n_events > 5_000_000:
            raise bad("n_events", f"must be at most 5,000,000, got {self.n_events}")
        if not 1 <= self.days <= 366:
            raise bad("days", f"must be between 1 and 366, got {self.days}")
        if self.seed < 0:
            raise bad("seed", f"must be >= 0, got {self.seed}")
        if self.n_users < 20:
            raise bad("n_users", f"must be at least 20, got {self.n_users}")
        if not 10 <= self.metric_interval_s <= 3600:
            raise bad(
                "metric_interval_s", f"must be between 10 and 3600, got {self.metric_interval_s}"
            )
        if not isinstance(self.propagate_incidents, bool):
            raise bad(
                "propagate_incidents", f"must be True or False, got {self.propagate_incidents!r}"
            )
        rate = self.anomaly_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate != rate:
            raise bad("anomaly_rate", f"must be a number, got {rate!r}")
        if not 0.0 <= float(rate) <= MAX_ANOMALY_RATE:
            raise bad("anomaly_rate", f"must be between 0 and {MAX_ANOMALY_RATE}, got {rate}")
        scale = self.incident_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise bad("incident_scale", f"must be a positive number, got {scale!r}")
        if scale > 20:
            raise bad("incident_scale", f"must be at most 20, got {scale}")
        if isinstance(self.anomaly_types, str):
            raise bad("anomaly_types", "must be a tuple of names, not a single string")
        types = tuple(self.anomaly_types)
        unknown = [t for t in types if t not in ALL_ANOMALY_TYPES]
        if unknown:
            raise bad(
                "anomaly_types", f"unknown type(s) {unknown}; known: {list(ALL_ANOMALY_TYPES)}"
            )
        if len(set(types)) != len(types):
            raise bad("anomaly_types", f"duplicate names in {list(types)}")
        object.__setattr__(self, "anomaly_types", types)
        if self.incidents_per_type is not None:
            if not isinstance(self.incidents_per_type, Mapping):
                raise bad("incidents_per_type", "must be a mapping {type name: int}")
            clean: dict[str, int] = {}
            for name, count in self.incidents_per_type.items():
                if name not in types:
                    raise bad(
                        "incidents_per_type",
                        f"{name!r} is not one of the selected anomaly_types {list(types)}",
                    )
                if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    raise bad("incidents_per_type", f"{name!r}: count must be an int >= 0")
                if count > 500:
                    raise bad("incidents_per_type", f"{name!r}: count must be <= 500")
                clean[name] = count
            object.__setattr__(self, "incidents_per_type", MappingProxyType(clean))
        try:
            start = pd.Timestamp(self.start)
        except (ValueError, TypeError) as exc:
            raise bad("start", f"not a valid timestamp: {self.start!r}") from exc
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        object.__setattr__(self, "_start_ms", int(start.value // 1_000_000))

    def __hash__(self) -> int:
        ipt = self.incidents_per_type
        ipt = None if ipt is None else tuple(sorted(ipt.items()))
        return hash(
            (
                self.n_events,
                self.days,
                self.seed,
                self.n_users,
                self.start,
                self.anomaly_rate,
                self.anomaly_types,
                ipt,
                self.incident_scale,
                self.metric_interval_s,
                self.propagate_incidents,
            )
        )

    @property
    def start_ms(self) -> int:
        """Start of the period in epoch milliseconds."""
        return self._start_ms

    @property
    def end_ms(self) -> int:
        """End of the period (exclusive) in epoch milliseconds."""
        return self._start_ms + self.days * 86_400_000
