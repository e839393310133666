"""A month of traffic with benign drift: legitimate change that is *not* an incident.

A detector trained on last month's traffic meets this month's. Besides the usual incidents
(the generator's :func:`~anomaly_tutorial.data.generate_dataset`), :func:`generate_drift_dataset`
adds five scenarios of benign change, each with its ground truth in a ``drifts`` table next to
``incidents``:

``slow_deploy``
    A deploy makes one endpoint slower (an extra query per request): every request to
    ``slow_endpoint`` from ``slow_deploy_day`` on takes ``slow_factor`` times longer.
``client_release``
    A new mobile client version rolls out: from ``client_release_day`` on, the HTTP requests of
    a ``client_share`` of the users come from ``client_user_agent`` with a different request mix
    (:data:`CLIENT_MIX`: more search and token refreshes, fewer page loads).
``new_service``
    A new service (``new_service``, a new URL path, port :data:`NEW_SERVICE_PORT`) goes live
    on ``new_service_day`` and adds a ``new_service_share`` of the HTTP traffic on top of the
    usual one.
``holiday``
    A public holiday on a weekday (``holiday_day``): traffic drops to the weekend level, which
    flattens the weekly cycle.
``broken_feature``
    A log-pipeline change stops extracting ``broken_field`` from the HTTP events from
    ``broken_feature_day`` on (the field is missing; the raw log line still has it). Nothing
    about the traffic changes, but a detector that relied on the field goes silent.

The traffic changes are applied to the normal traffic *inside* the generator (through
``generate_dataset(..., normal_traffic_hook=...)``, before the incidents are injected), so the
log messages agree with the fields; only the broken feature is applied afterwards, because it
is a change of the pipeline, not of the traffic. With the hook absent the generator is exactly
the book's (a test checks that the default dataset is unchanged).

Days are counted from 1, as in the book (day 1 is the dataset's first UTC day). The default
month is 35 days: days 1-8 train and days 9-10 validate, exactly the book's split
(:func:`~anomaly_tutorial.data.book_split`), and days 11-35 are the production month the
detector meets. New-service requests have no trace spans (the call graph of
:mod:`~anomaly_tutorial.data.traces` does not know the service).

Public objects: :class:`DriftConfig`, :class:`DriftDataset`, :func:`generate_drift_dataset`,
:func:`drift_dataset`, :func:`production_split`, :data:`SCENARIOS`, :data:`DRIFT_COLUMNS`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly_tutorial import ocsf
from anomaly_tutorial.data.config import GeneratorConfig
from anomaly_tutorial.data.dataset import OCSFDataset, generate_dataset
from anomaly_tutorial.data.splits import BookSplit, book_split
from anomaly_tutorial.data.traffic import (
    DAY_MS,
    MINUTE_MS,
    Block,
    concat_blocks,
    http_events,
    intensity,
    sample_times,
)
from anomaly_tutorial.data.world import ENDPOINTS, World

__all__ = [
    "CLIENT_MIX",
    "DRIFT_COLUMNS",
    "SCENARIOS",
    "DriftConfig",
    "DriftDataset",
    "drift_dataset",
    "generate_drift_dataset",
    "production_split",
]

#: The scenarios, in the order of :attr:`DriftDataset.drifts`.
SCENARIOS = ("slow_deploy", "client_release", "new_service", "holiday", "broken_feature")
DRIFT_COLUMNS = (
    "drift_id",
    "scenario",
    "start_day",
    "start_time",
    "end_time",
    "columns",
    "description",
    "is_incident",
)
#: Request mix of the new client version: endpoint (method and path) -> relative weight.
CLIENT_MIX = {
    "GET /api/search": 6.0,
    "GET /api/search/suggest": 6.0,
    "POST /api/auth/refresh": 5.0,
    "GET /products/{id}": 3.0,
    "GET /api/orders": 1.0,
    "POST /api/orders": 0.6,
}
#: Fields the feature pipeline requires on every event (a scenario may not break them).
_REQUIRED = ("time", "class_uid", "activity_id", "severity_id", "status_id")
#: Sampling interval of the month's metric series (5 minutes: the monitoring chapter reads
#: events, and a month of one-minute series would only cost generation time).
METRIC_INTERVAL_S = 300
#: Port the new service listens on (the other services use 443 and 8080).
NEW_SERVICE_PORT = 9090
_ENDPOINT_NAMES = (ENDPOINTS["method"] + " " + ENDPOINTS["path"]).to_list()


def _endpoint_index(name: str, parameter: str) -> int:
    if name not in _ENDPOINT_NAMES:
        raise ValueError(
            f"DriftConfig.{parameter}: unknown endpoint {name!r}; known: {_ENDPOINT_NAMES}"
        )
    return _ENDPOINT_NAMES.index(name)


@dataclass(frozen=True)
class DriftConfig:
    """Parameters of :func:`generate_drift_dataset`: the month and its five drift scenarios.

    Parameters
    ----------
    days
        Length of the dataset in days (the first 10 are the book's train and validation days).
    events_per_day
        Average number of events per day before the scenarios (the default dataset has about
        4,300; the month is thinner so that a chapter can process it in seconds).
    seed
        Seed of the traffic, the incidents and the scenarios.
    slow_deploy_day, slow_endpoint, slow_factor
        Day of the deploy, the endpoint it slows down (``"METHOD path"``) and by how much.
    client_release_day, client_share, client_user_agent
        Day the new client version ships, the share of users who run it, its User-Agent.
    new_service_day, new_service, new_service_share
        Day the new service goes live, its name, its share of the HTTP requests.
    holiday_day
        A weekday whose traffic falls to the weekend level (``intensity`` uses 0.45).
    broken_feature_day, broken_field
        Day the log pipeline stops extracting ``broken_field`` from HTTP events.
    """

    days: int = 35
    events_per_day: int = 1_300
    seed: int = 7
    slow_deploy_day: int = 16
    slow_endpoint: str = "GET /api/orders/{id}"
    slow_factor: float = 6.0
    client_release_day: int = 18
    client_share: float = 0.3
    client_user_agent: str = "ShopApp/5.0.0 (Android 15; Pixel 9)"
    new_service_day: int = 22
    new_service: str = "recommendations"
    new_service_share: float = 0.2
    holiday_day: int = 29
    broken_feature_day: int = 32
    broken_field: str = "traffic.bytes_out"

    def __post_init__(self) -> None:
        def bad(name: str, problem: str) -> ValueError:
            return ValueError(f"DriftConfig.{name}: {problem}")

        for name in ("days", "events_per_day", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(name, f"must be an int, got {value!r}")
        if not 14 <= self.days <= 90:
            raise bad("days", f"must be between 14 and 90, got {self.days}")
        if not 200 <= self.events_per_day <= 20_000:
            raise bad(
                "events_per_day", f"must be between 200 and 20,000, got {self.events_per_day}"
            )
        for name in (
            "slow_deploy_day",
            "client_release_day",
            "new_service_day",
            "holiday_day",
            "broken_feature_day",
        ):
            day = getattr(self, name)
            if isinstance(day, bool) or not isinstance(day, int) or not 11 <= day <= self.days:
                raise bad(
                    name,
                    f"must be a day between 11 (after validation) and {self.days}, got {day!r}",
                )
        weekday = (
            pd.Timestamp(GeneratorConfig().start) + pd.Timedelta(days=self.holiday_day - 1)
        ).day_of_week
        if weekday >= 5:
            raise bad(
                "holiday_day",
                f"day {self.holiday_day} is a weekend day; a holiday must fall on a weekday",
            )
        for name in ("client_share", "new_service_share"):
            share = getattr(self, name)
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
                raise bad(name, f"must be a number in (0, 1), got {share!r}")
        if isinstance(self.slow_factor, bool) or not isinstance(self.slow_factor, (int, float)):
            raise bad("slow_factor", f"must be a number, got {self.slow_factor!r}")
        if not 1 < self.slow_factor <= 50:
            raise bad("slow_factor", f"must be in (1, 50], got {self.slow_factor}")
        _endpoint_index(self.slow_endpoint, "slow_endpoint")
        if self.new_service in set(ENDPOINTS["service"]):
            raise bad("new_service", f"{self.new_service!r} already exists")
        if self.broken_field not in ocsf.FLAT_COLUMNS or self.broken_field in _REQUIRED:
            raise bad(
                "broken_field", f"must be an optional flat OCSF column, got {self.broken_field!r}"
            )

    @property
    def generator_config(self) -> GeneratorConfig:
        """The :class:`GeneratorConfig` of the underlying traffic and incidents."""
        return GeneratorConfig(
            n_events=self.days * self.events_per_day,
            days=self.days,
            seed=self.seed,
            metric_interval_s=METRIC_INTERVAL_S,
        )

    def day_start_ms(self, day: int) -> int:
        """Epoch milliseconds of the start of ``day`` (counted from 1)."""
        return self.generator_config.start_ms + (day - 1) * DAY_MS


def production_split(config: DriftConfig | None = None) -> BookSplit:
    """The book's split extended to the month: train = days 1-8, validation = days 9-10, and
    "test" = the production days 11 to the end.

    The train and validation boundaries are those of :func:`~anomaly_tutorial.data.book_split`
    (a test checks it); only the end moves.
    """
    config = DriftConfig() if config is None else config
    book = book_split()
    return BookSplit(
        book.start_ms, book.train_end_ms, book.validation_end_ms, config.generator_config.end_ms
    )


class _Scenarios:
    """The traffic scenarios as a hook on the generator's normal traffic."""

    def __init__(self, config: DriftConfig) -> None:
        self.config = config

    def __call__(self, base: Block, world: World) -> Block:
        c = self.config
        rng = np.random.default_rng([c.seed, 808])
        t = base["time"]
        http = base["class_uid"] == ocsf.HTTP_ACTIVITY
        # holiday: each normal event of the day is kept with the weekend factor of `intensity`
        day0 = c.day_start_ms(c.holiday_day)
        on_holiday = (t >= day0) & (t < day0 + DAY_MS)
        keep = ~on_holiday | (rng.random(len(t)) < 0.45)
        base = {k: v[keep] for k, v in base.items()}
        t, http = base["time"], base["class_uid"] == ocsf.HTTP_ACTIVITY
        # client release: the users who upgrade send other requests with another user agent
        upgraded = rng.random(len(world.users)) < c.client_share
        upgraded &= world.users["role"].to_numpy(dtype=object) == "user"
        user = base["_user"].astype(np.int64)
        rows = np.flatnonzero(
            http
            & (t >= c.day_start_ms(c.client_release_day))
            & (user >= 0)
            & upgraded[np.maximum(user, 0)]
        )
        names = list(CLIENT_MIX)
        weights = np.array(list(CLIENT_MIX.values()))
        ep = np.array([_endpoint_index(n, "CLIENT_MIX") for n in names])[
            rng.choice(len(names), size=len(rows), p=weights / weights.sum())
        ]
        times = t[rows]
        block = http_events(
            rng,
            world,
            times,
            ep,
            user[rows],
            load=intensity(times - times % MINUTE_MS),
            ua=np.full(len(rows), c.client_user_agent, dtype=object),
        )
        for key, values in block.items():
            values = np.asarray(values)
            column = base[key]
            if column.dtype == object or values.dtype == object:
                column = column.astype(object)
            else:
                column = column.astype(np.result_type(column.dtype, values.dtype))
            column[rows] = values
            base[key] = column
        # slow deploy: every request to the endpoint takes slow_factor times longer
        slow = http & (base["_ep"] == _endpoint_index(c.slow_endpoint, "slow_endpoint"))
        slow &= t >= c.day_start_ms(c.slow_deploy_day)
        duration = base["duration"].astype(float)
        duration[slow] = np.round(duration[slow] * c.slow_factor, 1)
        base["duration"] = duration
        kind = base["_kind"].astype(object)
        kind[slow & (kind == "access") & (duration > 700)] = "query"
        base["_kind"] = kind
        # new service: extra requests on top of the traffic
        return concat_blocks([base, self._new_service(rng, world, int(http.sum()))])

    def _new_service(self, rng: np.random.Generator, world: World, n_http: int) -> Block:
        c = self.config
        start = c.day_start_ms(c.new_service_day)
        end = c.generator_config.end_ms
        share_of_period = (end - start) / (end - c.generator_config.start_ms)
        n = max(1, round(n_http * c.new_service_share * share_of_period))
        times = sample_times(rng, n, start, (end - start) // DAY_MS)
        model = _endpoint_index("GET /api/search/suggest", "new_service")
        weights = world.users["weight"].to_numpy(float)
        user = rng.choice(len(weights), size=n, p=weights)
        block = http_events(
            rng, world, times, np.full(n, model), user, load=intensity(times - times % MINUTE_MS)
        )
        ok = block["http_response.code"] < 400
        block["duration"] = np.round(block["duration"] * np.where(ok, 2.5, 1.0), 1)
        block["http_request.url.path"] = np.full(n, f"/api/{c.new_service}", dtype=object)
        block["dst_endpoint.svc_name"] = np.full(n, c.new_service, dtype=object)
        block["dst_endpoint.ip"] = ("10.1.9." + rng.integers(10, 13, n).astype(str)).astype(object)
        block["dst_endpoint.port"] = np.full(n, NEW_SERVICE_PORT, dtype=np.int64)
        block["_ep"] = np.full(n, -1, dtype=np.int64)  # unknown to the trace call graph
        return block


class DriftDataset:
    """A month of events with incidents and benign drift scenarios.

    Attributes
    ----------
    config : DriftConfig
    dataset : OCSFDataset
        The generated data (events with the broken feature applied, incidents, metrics).
    events : DataFrame
        ``dataset.events``: flat OCSF events with the incident labels, sorted by time.
    incidents : DataFrame
        ``dataset.incidents``: one row per incident (these are anomalies).
    drifts : DataFrame
        One row per drift scenario, columns :data:`DRIFT_COLUMNS`: when it starts and ends
        (epoch ms; the end is exclusive), which event fields it changes, what changed, and
        ``is_incident`` (always ``False``: benign change).
    affected : DataFrame
        One boolean column per ``drift_id``, one row per event (same index as ``events``):
        the events the scenario changed or created.
    split : BookSplit
        :func:`production_split`.
    intact_values : Series
        The values of ``broken_field`` that the broken pipeline dropped (indexed like
        ``events``), so that a chapter can measure what the breakage cost.
    """

    def __init__(self, config: DriftConfig, dataset: OCSFDataset, intact_values: pd.Series) -> None:
        self.config = config
        self.dataset = dataset
        self.events = dataset.events
        self.incidents = dataset.incidents
        self.split = production_split(config)
        self.drifts = _drift_table(config)
        self.affected = _affected(config, self.events)
        self.intact_values = intact_values

    def __repr__(self) -> str:
        return (
            f"DriftDataset(days={self.config.days}, n_events={len(self.events)}, "
            f"incidents={len(self.incidents)}, drifts={len(self.drifts)})"
        )


def _drift_table(c: DriftConfig) -> pd.DataFrame:
    end = c.generator_config.end_ms
    rows = [
        (
            "slow_deploy",
            c.slow_deploy_day,
            end,
            ("duration",),
            f"a deploy makes {c.slow_endpoint} {c.slow_factor:g} times slower",
        ),
        (
            "client_release",
            c.client_release_day,
            end,
            ("http_request.user_agent", "http_request.url.path", "dst_endpoint.svc_name"),
            f"{c.client_share:.0%} of the users switch to {c.client_user_agent}, with another "
            "request mix",
        ),
        (
            "new_service",
            c.new_service_day,
            end,
            ("dst_endpoint.svc_name", "http_request.url.path"),
            f"the new service {c.new_service!r} goes live with {c.new_service_share:.0%} of the "
            "HTTP requests",
        ),
        (
            "holiday",
            c.holiday_day,
            c.day_start_ms(c.holiday_day + 1),
            ("events_per_day",),
            "a public holiday on a weekday: traffic at the weekend level",
        ),
        (
            "broken_feature",
            c.broken_feature_day,
            end,
            (c.broken_field,),
            f"the log pipeline stops extracting {c.broken_field} from HTTP events",
        ),
    ]
    table = pd.DataFrame(
        {
            "drift_id": [f"drift-{i:02d}" for i in range(1, len(rows) + 1)],
            "scenario": [r[0] for r in rows],
            "start_day": [r[1] for r in rows],
            "start_time": [c.day_start_ms(r[1]) for r in rows],
            "end_time": [r[2] for r in rows],
            "columns": [", ".join(r[3]) for r in rows],
            "description": [r[4] for r in rows],
            "is_incident": False,
        }
    )
    for name in ("drift_id", "scenario", "columns", "description"):
        table[name] = table[name].astype("string")
    return table[list(DRIFT_COLUMNS)]


def _affected(c: DriftConfig, events: pd.DataFrame) -> pd.DataFrame:
    from anomaly_tutorial.features.pipeline import url_path_template  # imported late: light import

    t = events["time"].to_numpy()
    http = (events["class_uid"] == ocsf.HTTP_ACTIVITY).to_numpy()
    after = {
        name: t >= c.day_start_ms(getattr(c, f"{name}_day"))
        for name in ("slow_deploy", "client_release", "new_service", "broken_feature")
    }
    method = events["http_request.http_method"].astype(object).fillna("").to_numpy(dtype=object)
    path = events["http_request.url.path"].astype(object).map(url_path_template)
    path = path.fillna("").to_numpy(dtype=object)
    slow = (method + " " + path) == c.slow_endpoint
    ua = events["http_request.user_agent"].eq(c.client_user_agent).fillna(False).to_numpy(bool)
    service = events["dst_endpoint.svc_name"].eq(c.new_service).fillna(False).to_numpy(bool)
    day0 = c.day_start_ms(c.holiday_day)
    columns = {
        "slow_deploy": http & slow & after["slow_deploy"],
        "client_release": http & ua,
        "new_service": http & service,
        "holiday": (t >= day0) & (t < day0 + DAY_MS),
        "broken_feature": http & after["broken_feature"],
    }
    ids = [f"drift-{i:02d}" for i in range(1, len(SCENARIOS) + 1)]
    return pd.DataFrame(
        {i: columns[s] for i, s in zip(ids, SCENARIOS, strict=True)}, index=events.index
    )


def generate_drift_dataset(config: DriftConfig | None = None) -> DriftDataset:
    """Generate a month of events with the usual incidents and the five drift scenarios.

    Deterministic: the same :class:`DriftConfig` always gives the same events.
    """
    config = DriftConfig() if config is None else config
    if not isinstance(config, DriftConfig):
        raise TypeError(f"config: expected a DriftConfig, got {type(config).__name__}")
    dataset = generate_dataset(config.generator_config, normal_traffic_hook=_Scenarios(config))
    events = dataset.events
    broken = (events["class_uid"] == ocsf.HTTP_ACTIVITY) & (
        events["time"] >= config.day_start_ms(config.broken_feature_day)
    )
    intact = events.loc[broken, config.broken_field].copy()
    events.loc[broken, config.broken_field] = pd.NA
    return DriftDataset(config, dataset, intact)


@functools.lru_cache(maxsize=1)
def drift_dataset() -> DriftDataset:
    """The month of the chapter "Monitoring a detector in production" (``DriftConfig()``),
    generated once per process (a few seconds).

    Do not modify the returned frames in place: later callers in the process share them.
    """
    return generate_drift_dataset(DriftConfig())
