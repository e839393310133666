"""The book's score tables and the comparison of threshold policies on them.

:func:`book_scores` builds, deterministically, the validation and test scores of one detector
of each family on the default dataset and the book-wide split (:func:`~anomaly_tutorial.data.
book_split`), every detector fitted on the training period only:

* ``"events"``: ECOD (:mod:`anomaly_tutorial.detectors`) on :class:`~anomaly_tutorial.features.
  OCSFFeaturizer` features, one score per event;
* ``"metrics"``: a seasonal (hour-of-week) profile per service (:mod:`anomaly_tutorial.
  timeseries`), one score per service and minute;
* ``"sessions"``: 3-gram novelty (:mod:`anomaly_tutorial.sequences`) of the sessions of each
  source address, one score per session, timed at the session's last event.

``book_scores(family, config)`` does the same on the dataset of another generator
configuration (for instance one with ``propagate_incidents=True``), generated once per
process by :func:`book_dataset`.

Every table has the same columns, :data:`SCORE_COLUMNS`, so that the policies, the incident
grouping and the triage chapter treat the three families alike. :func:`evaluate_decision`
measures a decision on one period; :func:`compare_policies` fits several policies on the
validation rows of a table and measures each on its test rows.

Public objects: :func:`book_scores`, :func:`book_dataset`, :func:`book_policies`,
:func:`evaluate_decision`, :func:`compare_policies`, :data:`FAMILIES`, :data:`SCORE_COLUMNS`,
:data:`DETECTOR_NAMES`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial.evaluate.incidents import incident_detection
from anomaly_tutorial.thresholds.grouping import group_alerts
from anomaly_tutorial.thresholds.policies import (
    DAY_MS,
    ThresholdDecision,
    ThresholdPolicy,
    alerts_per_bucket,
)

__all__ = [
    "DETECTOR_NAMES",
    "FAMILIES",
    "SCORE_COLUMNS",
    "book_dataset",
    "book_policies",
    "book_scores",
    "compare_policies",
    "evaluate_decision",
]

FAMILIES = ("events", "metrics", "sessions")
#: The detector behind each family's scores, in words.
DETECTOR_NAMES = {
    "events": "ECOD on event features",
    "metrics": "seasonal profile per service",
    "sessions": "3-gram novelty of sessions",
}
SCORE_COLUMNS = (
    "id",
    "time",
    "period",
    "score",
    "is_anomaly",
    "anomaly_type",
    "incident_id",
    "entity",
    "service",
)


def score_table(**columns: Any) -> pd.DataFrame:
    """A score table with the columns :data:`SCORE_COLUMNS` in that order and their dtypes.

    Every family's scores (here and in :mod:`anomaly_tutorial.correlation`) are built with it,
    so that the tables of different detectors can be concatenated and compared.
    """
    out = pd.DataFrame(columns)
    out["time"] = out["time"].astype("int64")
    out["score"] = out["score"].astype("float64")
    out["is_anomaly"] = out["is_anomaly"].astype(bool)
    for name in ("id", "period", "anomaly_type", "incident_id", "entity", "service"):
        out[name] = out[name].astype("string")
    return out[list(SCORE_COLUMNS)]


def _event_scores(events: pd.DataFrame, split) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from anomaly_tutorial.detectors import make_detector
    from anomaly_tutorial.features import OCSFFeaturizer

    train, validation, test = split.split(events)
    featurizer = OCSFFeaturizer().fit(train)
    detector = make_detector("ecod").fit(featurizer.transform(train))
    parts = []
    for name, part in (("validation", validation), ("test", test)):
        entity = (
            part["actor.user.name"]
            .fillna(part["src_endpoint.ip"])
            .fillna(part["dst_endpoint.svc_name"])
            .fillna(part["class_name"])
        )
        parts.append(
            score_table(
                id=part["event_id"].to_numpy(),
                time=part["time"].to_numpy(),
                period=name,
                score=detector.score_samples(featurizer.transform(part)),
                is_anomaly=part["is_anomaly"].to_numpy(),
                anomaly_type=part["anomaly_type"].to_numpy(),
                incident_id=part["incident_id"].to_numpy(),
                entity=entity.to_numpy(),
                service=part["dst_endpoint.svc_name"].to_numpy(),
            )
        )
    return pd.concat(parts, ignore_index=True)


def _metric_scores(metrics: pd.DataFrame, split) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from anomaly_tutorial.timeseries import METRIC_COLUMNS, SeasonalProfileDetector

    columns = list(METRIC_COLUMNS)

    def wide(rows: pd.DataFrame) -> pd.DataFrame:
        index = pd.DatetimeIndex(pd.to_datetime(rows["time"].to_numpy(), unit="ms", utc=True))
        index.name = "time"
        return pd.DataFrame(rows[columns].to_numpy(dtype="float64"), index=index, columns=columns)

    parts = []
    for service in sorted(metrics["service"].unique()):
        train, validation, test = split.split(metrics[metrics["service"] == service])
        detector = SeasonalProfileDetector(season="hour_of_week").fit(wide(train))
        for name, part in (("validation", validation), ("test", test)):
            parts.append(
                score_table(
                    id=[f"{service}@{t}" for t in part["time"].to_numpy()],
                    time=part["time"].to_numpy(),
                    period=name,
                    score=detector.score_samples(wide(part)),
                    is_anomaly=part["is_anomaly"].to_numpy(),
                    anomaly_type=part["anomaly_type"].to_numpy(),
                    incident_id=part["incident_id"].to_numpy(),
                    entity=service,
                    service=service,
                )
            )
    out = pd.concat(parts, ignore_index=True)
    order = np.lexsort((out["service"].to_numpy(dtype=str), out["time"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _session_scores(events: pd.DataFrame, split) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from anomaly_tutorial.sequences import NGramDetector
    from anomaly_tutorial.sequences.sessions import (
        EventTypeVocabulary,
        build_sessions,
        event_type_keys,
    )

    train, validation, test = split.split(events)
    vocabulary = EventTypeVocabulary().fit(event_type_keys(train))

    def sessions(part: pd.DataFrame):  # type: ignore[no-untyped-def]
        ids = vocabulary.transform(event_type_keys(part))
        return build_sessions(part, ids, entity="src_endpoint.ip", gap_minutes=30)

    detector = NGramDetector(n=3).fit(sessions(train).sequences)
    parts = []
    for name, part in (("validation", validation), ("test", test)):
        s = sessions(part)
        table = s.table
        first = lambda text: text.split(",")[0] if text else None  # noqa: E731
        parts.append(
            score_table(
                id=[f"{name}-session-{i}" for i in table["session_id"].to_numpy()],
                time=table["end_time"].to_numpy(),
                period=name,
                score=detector.score_samples(s.sequences),
                is_anomaly=table["is_anomaly"].to_numpy(),
                anomaly_type=[first(t) or "normal" for t in table["anomaly_types"]],
                incident_id=[first(t) for t in table["incident_ids"]],
                entity=table["entity"].to_numpy(),
                service=pd.NA,
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values("time", kind="stable").reset_index(drop=True)


@functools.lru_cache(maxsize=2)
def _generated(config: Any) -> Any:
    from anomaly_tutorial.data import generate_dataset

    return generate_dataset(config)


def book_dataset(config: Any = None) -> Any:
    """The dataset of a generator configuration, generated once per process.

    Parameters
    ----------
    config : GeneratorConfig, optional
        ``None`` (or the default configuration) gives
        :func:`~anomaly_tutorial.data.default_dataset`; any other configuration is generated
        on first use and kept (the two most recent) for the rest of the process.

    Returns
    -------
    OCSFDataset
    """
    from anomaly_tutorial.data import GeneratorConfig, default_dataset

    if config is None or config == GeneratorConfig():
        return default_dataset()
    if not isinstance(config, GeneratorConfig):
        raise TypeError(f"config: expected a GeneratorConfig, got {type(config).__name__}")
    return _generated(config)


@functools.cache
def _book_scores(family: str, config: Any = None) -> pd.DataFrame:
    from anomaly_tutorial.data import book_split

    dataset = book_dataset(config)
    split = book_split(dataset.config)
    if family == "events":
        return _event_scores(dataset.events, split)
    if family == "metrics":
        return _metric_scores(dataset.metrics, split)
    return _session_scores(dataset.events, split)


def book_scores(family: str, config: Any = None) -> pd.DataFrame:
    """Validation and test scores of the book's detector for one family of data.

    Parameters
    ----------
    family : {"events", "metrics", "sessions"}
    config : GeneratorConfig, optional
        The dataset to score (:func:`book_dataset`); default: the book's default dataset.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SCORE_COLUMNS`: ``id`` (event id, ``service@time`` or session id),
        ``time`` (epoch ms; for a session its last event), ``period`` (``"validation"`` or
        ``"test"``), ``score`` (higher = more anomalous), the ground truth ``is_anomaly``,
        ``anomaly_type`` and ``incident_id`` (a session holding events of several incidents
        gets the first in sorted order, so incident recall of sessions is a lower bound),
        ``entity`` (what the item is about: the user, else the source address, else the
        service for events; the service for metric points; the source address for sessions)
        and ``service``. A fresh copy on each call;
        the computation runs once per process (a few seconds).

    Raises
    ------
    ValueError
        If ``family`` is not one of :data:`FAMILIES`.
    """
    if family not in FAMILIES:
        raise ValueError(f"family: must be one of {', '.join(FAMILIES)}, got {family!r}")
    if config is not None:
        from anomaly_tutorial.data import GeneratorConfig

        if not isinstance(config, GeneratorConfig):
            raise TypeError(f"config: expected a GeneratorConfig, got {type(config).__name__}")
        if config == GeneratorConfig():
            config = None
    return _book_scores(family, config).copy()


def evaluate_decision(
    decision: ThresholdDecision | ThresholdPolicy,
    table: pd.DataFrame,
    *,
    period_days: float,
    max_gap_s: float = 1800.0,
    cooldown_s: float = 0.0,
) -> dict[str, Any]:
    """Apply a decision to one period of a score table and measure what it costs and catches.

    Parameters
    ----------
    decision : ThresholdDecision or fitted ThresholdPolicy
    table : pandas.DataFrame
        Rows of one period, with the columns of :data:`SCORE_COLUMNS`.
    period_days : float
        Length of the period in days.
    max_gap_s, cooldown_s : float
        Passed to :func:`~anomaly_tutorial.thresholds.group_alerts` (key ``entity``).

    Returns
    -------
    dict
        ``alerts``, ``alerts_per_day``, ``max_alerts_in_a_day``, ``precision`` (NaN without
        alerts), ``recall``, ``f1``, ``false_discovery_proportion``, ``incidents_caught``,
        ``n_incidents`` (ground-truth incidents with an item in the table),
        ``alert_groups_per_day`` (incidents formed by grouping the alerts) and
        ``pages_per_day`` (those that paged after the cool-down).
    """
    if isinstance(decision, ThresholdPolicy):
        decision = decision.decision_
    missing = sorted(set(SCORE_COLUMNS) - set(table.columns))
    if missing:
        raise ValueError(f"table: missing column(s) {missing}")
    flags = decision.flag(table["score"].to_numpy())
    y = table["is_anomaly"].to_numpy(dtype=bool)
    n_alerts, tp = int(flags.sum()), int((flags & y).sum())
    start_ms = int(table["time"].min()) // DAY_MS * DAY_MS  # periods start at UTC midnight
    per_day = alerts_per_bucket(
        flags, table["time"].to_numpy(), "day", start_ms, start_ms + round(period_days * DAY_MS)
    )
    ids = table["id"].to_numpy(dtype=object)
    found = incident_detection(
        pd.Series(flags, index=ids),
        table[["id", "is_anomaly", "incident_id"]],
        pd.Series(table["time"].to_numpy(), index=ids),
        id_column="id",
    )
    grouped = group_alerts(
        table.loc[flags],
        key="entity",
        max_gap_s=max_gap_s,
        cooldown_s=cooldown_s,
        dedup_on=("id",),
    )
    precision = tp / n_alerts if n_alerts else float("nan")
    recall = tp / int(y.sum()) if y.any() else float("nan")
    f1 = 2 * tp / (n_alerts + int(y.sum())) if y.any() else float("nan")
    return {
        "alerts": n_alerts,
        "alerts_per_day": n_alerts / period_days,
        "max_alerts_in_a_day": int(per_day.max()) if per_day.size else 0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_discovery_proportion": (n_alerts - tp) / n_alerts if n_alerts else 0.0,
        "incidents_caught": int(found["detected"].sum()),
        "n_incidents": len(found),
        "alert_groups_per_day": len(grouped.incidents) / period_days,
        "pages_per_day": grouped.n_pages / period_days,
    }


def compare_policies(
    policies: Mapping[str, ThresholdPolicy],
    table: pd.DataFrame,
    *,
    days: Mapping[str, float],
    fit_on: str = "validation",
    apply_to: str = "test",
    max_gap_s: float = 1800.0,
    cooldown_s: float = 0.0,
) -> pd.DataFrame:
    """Fit every policy on one period of a score table and measure it on a later one.

    Parameters
    ----------
    policies : mapping of str to ThresholdPolicy
        Display name -> unfitted policy (fitted here, in place).
    table : pandas.DataFrame
        A :func:`book_scores` table (or any table with :data:`SCORE_COLUMNS`).
    days : mapping
        Period lengths in days (``book_split().days``).
    fit_on, apply_to : str
        The periods to choose on and to report on. Passing ``apply_to=fit_on`` measures the
        policies on the data they were chosen on, an optimistic number.

    Returns
    -------
    pandas.DataFrame
        One row per policy: ``threshold``, ``target_alerts_per_day`` (the budget for an
        :class:`AlertBudget` (24 x the hourly budget for ``per="hour"``), else what the
        fitting period predicts; NaN for Benjamini-Hochberg, which predicts no rate),
        ``fitted_alerts_per_day`` (alerts per day on the fitting period) and the entries of
        :func:`evaluate_decision` on ``apply_to``.
    """
    fit_rows = table[table["period"] == fit_on]
    apply_rows = table[table["period"] == apply_to]
    if fit_rows.empty or apply_rows.empty:
        raise ValueError(f"table: no rows for period {fit_on!r} or {apply_to!r}")
    rows = {}
    for name, policy in policies.items():
        policy.fit(
            fit_rows["score"].to_numpy(),
            fit_rows["is_anomaly"].to_numpy(),
            times=fit_rows["time"].to_numpy(),
            period_days=days[fit_on],
        )
        decision = policy.decision_
        if decision.policy == "alert_budget" and decision.params["per"] == "day":
            target = float(decision.params["max_alerts"])
        elif decision.policy == "alert_budget":
            target = 24.0 * float(decision.params["max_alerts"])
        else:
            target = decision.alerts_per_day if decision.alerts_per_day is not None else np.nan
        rows[name] = {
            "threshold": decision.threshold if decision.threshold is not None else np.nan,
            "target_alerts_per_day": target,
            "fitted_alerts_per_day": (
                decision.alerts_per_day if decision.alerts_per_day is not None else np.nan
            ),
            **evaluate_decision(
                decision,
                apply_rows,
                period_days=days[apply_to],
                max_gap_s=max_gap_s,
                cooldown_s=cooldown_s,
            ),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "policy"
    return out


def book_policies() -> dict[str, ThresholdPolicy]:
    """The policies the chapter "Thresholds and alert budgets" compares, unfitted.

    One of each kind, with the parameters an operator would start from: a 1 % contamination
    quantile, the best F1, a budget of 20 alerts per day, a cost ratio of 1 to 20, BH at
    q = 0.1 calibrated on normal validation items, a 3.5 robust-sd MAD fence, Tukey's 1.5 IQR
    fence and Otsu on 256 bins. A new dict of new objects on every call.
    """
    from anomaly_tutorial.thresholds.policies import (
        AlertBudget,
        BenjaminiHochberg,
        BestFBeta,
        ContaminationQuantile,
        ExpectedCost,
        IQRFence,
        MADFence,
        Otsu,
    )

    return {
        "contamination 1 %": ContaminationQuantile(0.01),
        "best F1": BestFBeta(1.0),
        "budget 20 / day": AlertBudget(20, "day"),
        "cost 1 : 20": ExpectedCost(1.0, 20.0),
        "BH q = 0.1": BenjaminiHochberg(0.1),
        "MAD fence 3.5": MADFence(3.5),
        "IQR fence 1.5": IQRFence(1.5),
        "Otsu": Otsu(256),
    }
