"""Generate the dataset: normal traffic, incidents, messages, metrics and ground truth."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial import ocsf
from anomaly_tutorial.data.anomalies import (
    ANOMALY_TYPES,
    INJECTING_TYPES,
    INJECTORS,
    Injection,
    plan_incidents,
    propagate_to_callers,
)
from anomaly_tutorial.data.config import GeneratorConfig
from anomaly_tutorial.data.messages import build_messages
from anomaly_tutorial.data.metrics import apply_effects, base_metrics
from anomaly_tutorial.data.traces import build_spans
from anomaly_tutorial.data.traffic import Block, concat_blocks, normal_traffic
from anomaly_tutorial.data.world import build_world

OCSF_COLUMNS: tuple[str, ...] = tuple(ocsf.FLAT_COLUMNS)
EVENT_COLUMNS: tuple[str, ...] = OCSF_COLUMNS + ocsf.LABEL_COLUMNS
LABEL_DTYPES = {
    "is_anomaly": "bool",
    "anomaly_type": "string",
    "anomaly_kind": "string",
    "incident_id": "string",
}
INCIDENT_COLUMNS = (
    "incident_id",
    "anomaly_type",
    "anomaly_kind",
    "domain",
    "start_time",
    "end_time",
    "service",
    "entity",
    "n_events",
    "n_metric_points",
    "description",
)


class OCSFDataset:
    """A generated dataset: flat events with ground truth, incidents, metrics and traces.

    Attributes
    ----------
    config
        The :class:`GeneratorConfig` it was generated from.
    events
        Flat events, columns ``ocsf.FLAT_COLUMNS`` then ``ocsf.LABEL_COLUMNS``, sorted by time.
    incidents
        One row per realised incident.
    metrics
        Per-service metric series with point labels.
    plan
        The incident plan (:func:`plan_incidents`) that was realised.

    With ``config.propagate_incidents`` the incidents table has three more columns:
    ``root_cause_service`` (where the incident was injected), ``affected_services`` (the
    callers it reached, comma-separated in hop order, empty when none) and
    ``n_symptom_events`` (its labelled events in those callers).
    """

    def __init__(
        self,
        config: GeneratorConfig,
        events: pd.DataFrame,
        incidents: pd.DataFrame,
        metrics: pd.DataFrame,
        plan: pd.DataFrame,
        endpoint: np.ndarray,
        symptoms: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.config = config
        self.events = events
        self.incidents = incidents
        self.metrics = metrics
        self.plan = plan
        self._endpoint = endpoint
        self._symptoms = symptoms

    def __repr__(self) -> str:
        return (
            f"OCSFDataset(n_events={len(self.events)}, "
            f"anomalous={int(self.events['is_anomaly'].sum())}, "
            f"incidents={len(self.incidents)}, metric_points={len(self.metrics)})"
        )

    @property
    def labels(self) -> pd.DataFrame:
        """Ground truth per event: ``event_id`` plus the label columns."""
        return self.events[[ocsf.ID_COLUMN, *ocsf.LABEL_COLUMNS]].copy()

    @property
    def symptom_hops(self) -> pd.DataFrame | None:
        """Which events are symptoms of an incident in a service they call (with propagation).

        ``None`` for a dataset generated without ``propagate_incidents``; otherwise one row per
        event, indexed by ``event_id``: ``hop`` (0 for an event that is not a symptom, ``k``
        for a caller ``k`` calls away from the incident's service) and ``waits_on`` (the
        service the request waited on, missing when ``hop`` is 0).
        """
        if self._symptoms is None:
            return None
        hop, via = self._symptoms
        return pd.DataFrame(
            {"hop": hop, "waits_on": pd.array(via, dtype="string")},
            index=pd.Index(self.events[ocsf.ID_COLUMN].to_numpy(), name=ocsf.ID_COLUMN),
        )

    @cached_property
    def spans(self) -> pd.DataFrame:
        """Trace spans of the HTTP events (computed on first access, then cached)."""
        if self._symptoms is None:
            return build_spans(self.events, self._endpoint, self.config.seed)
        return build_spans(
            self.events,
            self._endpoint,
            self.config.seed,
            symptoms=self._symptoms,
            per_service_infra=True,
        )

    def to_ocsf(self, include_labels: bool = False) -> Iterator[dict[str, Any]]:
        """Yield the events as nested OCSF dicts (``metadata.uid`` = ``event_id``).

        Parameters
        ----------
        include_labels
            Put the ground truth under ``unmapped.ground_truth`` of each event.
        """
        names = list(OCSF_COLUMNS)
        values = [self.events[c].to_numpy(dtype=object, na_value=None) for c in names]
        label_names = list(ocsf.LABEL_COLUMNS)
        labels = [self.events[c].to_numpy(dtype=object, na_value=None) for c in label_names]
        for i, row in enumerate(zip(*values, strict=True)):
            event = ocsf.unflatten_event(dict(zip(names, row, strict=True)))
            if include_labels:
                truth = {
                    k: ocsf._to_python(v[i])
                    for k, v in zip(label_names, labels, strict=True)
                    if v[i] is not None
                }
                event["unmapped"] = {"ground_truth": truth}
            yield event

    def time_split(self, train_fraction: float = 0.7) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Split :attr:`events` by time; see :func:`time_split`."""
        return time_split(self.events, train_fraction=train_fraction)


def time_split(
    events: pd.DataFrame, train_fraction: float = 0.7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split events by time: the first ``train_fraction`` of events for training, the rest later.

    The cut is moved forward past events that share the last training timestamp, so every
    training event is strictly earlier than every test event. Both parts are copies, in time
    order.

    Raises
    ------
    ValueError
        If ``train_fraction`` is not in (0, 1), ``time`` is missing or holds NaN, or a part
        would be empty.
    """
    if (
        isinstance(train_fraction, bool)
        or not isinstance(train_fraction, (int, float))
        or not (0.0 < float(train_fraction) < 1.0)
    ):
        raise ValueError(f"train_fraction: must be a number in (0, 1), got {train_fraction!r}")
    if "time" not in events.columns:
        raise ValueError("events: column 'time' is missing")
    times = events["time"]
    if times.isna().any():
        bad = np.flatnonzero(times.isna().to_numpy())
        raise ValueError(f"column 'time': {len(bad)} values are NaN (rows {list(bad[:5])})")
    ordered = events
    if not times.is_monotonic_increasing:
        ordered = events.iloc[np.argsort(times.to_numpy(), kind="stable")]
    t = ordered["time"].to_numpy()
    cut = round(len(ordered) * float(train_fraction))
    cut = int(np.searchsorted(t, t[max(cut - 1, 0)], side="right")) if cut > 0 else 0
    if cut == 0 or cut >= len(ordered):
        raise ValueError(
            f"train_fraction={train_fraction} leaves one part empty ({len(ordered)} events)"
        )
    return ordered.iloc[:cut].copy(), ordered.iloc[cut:].copy()


def _cast(frame: Block) -> pd.DataFrame:
    n = len(frame["time"])
    out = {}
    for col, dtype in ocsf.FLAT_COLUMNS.items():
        values = frame.get(col)
        if values is None:
            values = np.full(n, None, dtype=object)
        if dtype == "string":
            out[col] = pd.array(values.astype(object), dtype="string")
        elif dtype == "boolean":
            v = values.astype(float)
            arr = pd.array(np.nan_to_num(v, nan=0.0).astype(bool), dtype="boolean")
            arr[np.isnan(v)] = pd.NA
            out[col] = arr
        elif dtype == "Int64":
            v = values.astype(float)
            out[col] = pd.arrays.IntegerArray(np.nan_to_num(v, nan=0).astype(np.int64), np.isnan(v))
        else:
            out[col] = values.astype(dtype)
    for col, dtype in LABEL_DTYPES.items():
        out[col] = (
            pd.array(frame[col].astype(object), dtype="string")
            if dtype == "string"
            else frame[col].astype(bool)
        )
    return pd.DataFrame(out)


def generate_dataset(
    config: GeneratorConfig | None = None, *, normal_traffic_hook: Any = None
) -> OCSFDataset:
    """Generate a deterministic OCSF dataset with ground truth.

    Parameters
    ----------
    config
        Generator configuration; ``GeneratorConfig()`` when omitted.
    normal_traffic_hook
        Optional ``hook(block, world) -> block`` applied to the normal traffic before the
        incidents are injected (the benign drift scenarios of :mod:`anomaly_tutorial.data.drift`
        use it); ``None``, the default, leaves the generator unchanged.

    Returns
    -------
    OCSFDataset
    """
    if config is None:
        config = GeneratorConfig()
    if not isinstance(config, GeneratorConfig):
        raise TypeError(f"config: expected a GeneratorConfig, got {type(config).__name__}")
    plan = plan_incidents(config)
    world = build_world(config.n_users, config.seed)
    n_injected = int(plan.loc[plan["anomaly_type"].isin(INJECTING_TYPES), "n_events"].sum())
    n_normal = config.n_events - n_injected
    if n_normal < 0.5 * config.n_events:
        raise ValueError(
            f"the incident plan needs {n_injected} injected events, too many for "
            f"n_events={config.n_events}; lower anomaly_rate or incidents_per_type"
        )
    rng = np.random.default_rng([config.seed, 404])
    base = normal_traffic(rng, world, n_normal, config.start_ms, config.days)
    if normal_traffic_hook is not None:
        base = normal_traffic_hook(base, world)
    n_base = len(base["time"])
    base["_ep"] = np.nan_to_num(base["_ep"], nan=-1).astype(np.int64)
    base["is_anomaly"] = np.zeros(n_base, bool)
    base["anomaly_type"] = np.full(n_base, "normal", dtype=object)
    base["anomaly_kind"] = np.full(n_base, "normal", dtype=object)
    base["incident_id"] = np.full(n_base, None, dtype=object)
    for col in ("duration", "http_response.code", "status_id", "severity_id", "traffic.bytes_out"):
        base[col] = base[col].astype(float)
    for col in ("status_detail", "_kind"):
        base[col] = base[col].astype(object)
    ctx = Injection(
        rng=np.random.default_rng([config.seed, 405]),
        world=world,
        config=config,
        base=base,
        taken=np.zeros(n_base, bool),
    )
    for _, row in plan.iterrows():
        INJECTORS[row["anomaly_type"]](ctx, row)
    affected = propagate_to_callers(ctx, plan) if config.propagate_incidents else None
    frame = concat_blocks([ctx.base, *ctx.frames])
    frame["_ep"] = np.nan_to_num(frame["_ep"], nan=-1).astype(np.int64)
    frame["time"] = frame["time"].astype(np.int64).clip(config.start_ms, config.end_ms - 1)
    frame["message"] = build_messages(frame, np.random.default_rng([config.seed, 406]))
    order = np.argsort(frame["time"], kind="stable")
    frame = {k: v[order] for k, v in frame.items()}
    frame["event_id"] = np.array([f"evt-{i:08d}" for i in range(1, len(order) + 1)], dtype=object)
    endpoint = frame["_ep"]
    events = _cast(frame)

    metrics, points = apply_effects(base_metrics(config), ctx.effects, config)
    incidents = _incidents(plan, events, ctx, points)
    symptoms = None
    if affected is not None:
        hop = np.nan_to_num(frame["_hop"].astype(float), nan=0).astype(np.int64)
        symptoms = (hop, frame["_via"].astype(object))
        incidents = _with_root_causes(incidents, events, hop, affected)
    return OCSFDataset(config, events, incidents, metrics, plan, endpoint, symptoms)


def _with_root_causes(
    incidents: pd.DataFrame,
    events: pd.DataFrame,
    hop: np.ndarray,
    affected: dict[str, list[str]],
) -> pd.DataFrame:
    out = incidents.copy()
    symptom_ids = events.loc[hop > 0, "incident_id"].value_counts()
    ids = out["incident_id"].astype(object)
    out["root_cause_service"] = out["service"]
    out["affected_services"] = pd.array(
        [",".join(affected.get(i, [])) for i in ids], dtype="string"
    )
    out["n_symptom_events"] = [int(symptom_ids.get(i, 0)) for i in ids]
    out["n_symptom_events"] = out["n_symptom_events"].astype("int64")
    return out


def _incidents(
    plan: pd.DataFrame, events: pd.DataFrame, ctx: Injection, points: dict[str, int]
) -> pd.DataFrame:
    lab = events.loc[events["is_anomaly"], ["incident_id", "time"]]
    g = lab.groupby("incident_id")["time"].agg(["min", "max", "size"])
    windows = {e[0]: (e[3], e[4]) for e in ctx.effects}
    rows = []
    for _, p in plan.iterrows():
        inc = p["incident_id"]
        if inc in g.index:
            t0, t1, n = int(g.at[inc, "min"]), int(g.at[inc, "max"]), int(g.at[inc, "size"])
        else:
            t0, t1 = windows.get(inc, (int(p["planned_start"]), int(p["planned_start"])))
            n = 0
        info = ctx.info.get(inc, {})
        rows.append(
            (
                inc,
                p["anomaly_type"],
                p["anomaly_kind"],
                p["domain"],
                t0,
                t1,
                info.get("service"),
                info.get("entity"),
                n,
                int(points.get(inc, 0)),
                info.get("description", ANOMALY_TYPES[p["anomaly_type"]].description),
            )
        )
    out = pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS))
    for c in (
        "incident_id",
        "anomaly_type",
        "anomaly_kind",
        "domain",
        "service",
        "entity",
        "description",
    ):
        out[c] = out[c].astype("string")
    for c in ("start_time", "end_time", "n_events", "n_metric_points"):
        out[c] = out[c].astype("int64")
    return out


@functools.lru_cache(maxsize=1)
def default_dataset() -> OCSFDataset:
    """The book's default dataset (``GeneratorConfig()``), generated once per process."""
    return generate_dataset(GeneratorConfig())
