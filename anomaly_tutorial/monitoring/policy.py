"""Monitoring thresholds, the retraining policy and the champion / challenger loop.

A detector in production is a model *and* a set of checks around it. This module holds:

* :func:`calibrate_thresholds`: the per-column drift thresholds, chosen on the days before
  production only: every training day against the other training days (leave one day out)
  and every validation day against the whole training period give the PSI, unseen-category
  rate and missing-rate change of a day *without* drift; the threshold of a column is the
  largest such value times ``margin``, and never below a floor (PSI 0.1, the conventional
  "no significant change" bound; 1 % unseen values; 2 points of missing rate). The same is
  done for the day's volume against the training days of the same kind (weekday or weekend).
* :class:`RetrainingPolicy`: what to do after each day: ``"ok"``, ``"watch"`` (input drift
  without harm: look, do not retrain), ``"page"`` (a field broke: fix the pipeline, and do not
  retrain on broken data, which would teach the model that the field never matters) or
  ``"retrain"`` (for ``sustained_days`` days in a row, the alert rate was over the budget or
  the false alarms estimated from the analysts' review were over ``max_false_alarms``, with
  no breakage). Analysts review a random sample of ``review_per_day`` alerts a day; the day's
  false alarms are estimated as ``alerts x (1 - reviewed precision)``.
* :func:`run_production`: the month, day by day. The serving model scores each day; the
  checks run; on ``"retrain"`` a challenger is fitted on the last ``window_days`` days, its
  p-values and threshold are set on the next ``calibration_days`` days, and both models score
  the next ``shadow_days`` days (only the champion's alerts reach people). The challenger is
  promoted when its alerts per day on the shadow days are within the budget and below the
  champion's. Labels are never used for a decision, except through the analysts' review; the
  ground truth columns only measure the decisions.

Every model alerts at the same **alert level**: a conformal p-value at most ``alert_level``,
the p-value of the first model's threshold on its own validation period. Its alerts are
exactly those of its threshold; a retrained model keeps the level the team accepted instead
of re-filling the budget on its (short, possibly quiet) calibration window, which is what a
fresh :class:`~anomaly_tutorial.thresholds.AlertBudget` would do.

"The detector" is anything with ``fit(train_events, validation_events)`` and
``score(events, history=None)`` returning ``event_id``, ``time`` and ``p_value`` columns, and a
fitted ``featurizer_`` (for the multivariate test); without ``alert_level`` it also needs
``calibrator_`` and ``threshold_``, as
:class:`~anomaly_tutorial.serving.DetectionPipeline`, the book's, has.

Public objects: :func:`calibrate_thresholds`, :class:`RetrainingPolicy`,
:func:`run_production`, :class:`ProductionRun`, :func:`flag_delays`,
:func:`false_alarms_by_drift`, :func:`compare_models`, :data:`ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial.monitoring.features import (
    DAY_MS,
    EVENT_COLUMNS,
    FeatureDriftMonitor,
    event_view,
)
from anomaly_tutorial.monitoring.mmd import mmd_test
from anomaly_tutorial.monitoring.scores import alert_precision, p_value_uniformity, review_sample

__all__ = [
    "ACTIONS",
    "ProductionRun",
    "RetrainingPolicy",
    "calibrate_thresholds",
    "compare_models",
    "false_alarms_by_drift",
    "flag_delays",
    "run_production",
]

ACTIONS = ("ok", "watch", "page", "retrain")
#: Floors of the calibrated thresholds (see the module docstring).
FLOORS = {"psi": 0.1, "unseen_rate": 0.01, "missing_change": 0.02}
VOLUME = "events_per_day"


def _day_index(times: np.ndarray, start_ms: int) -> np.ndarray:
    return (np.asarray(times, dtype=np.int64) - start_ms) // DAY_MS


def _weekend(day_start_ms: int) -> bool:
    return bool(pd.Timestamp(day_start_ms, unit="ms").day_of_week >= 5)


def _volume_reference(view: pd.DataFrame, start_ms: int, end_ms: int) -> dict[bool, float]:
    """Median events per day of the reference's weekdays and weekend days."""
    counts = pd.Series(_day_index(view["time"].to_numpy(), start_ms)).value_counts()
    out: dict[bool, list[int]] = {False: [], True: []}
    for k in range((end_ms - start_ms) // DAY_MS):
        out[_weekend(start_ms + k * DAY_MS)].append(int(counts.get(k, 0)))
    return {kind: float(np.median(v)) if v else float("nan") for kind, v in out.items()}


def _day_row(report: pd.DataFrame) -> dict[str, float]:
    row = {}
    for r in report.itertuples():
        row[f"psi:{r.column}"] = r.psi
        row[f"unseen_rate:{r.column}"] = r.unseen_rate
        row[f"missing_change:{r.column}"] = r.missing_change
    return row


def calibrate_thresholds(
    events: pd.DataFrame,
    split: Any,
    *,
    columns: Mapping[str, str] | None = None,
    margin: float = 1.5,
) -> pd.Series:
    """Drift thresholds chosen on the pre-production days (train and validation) only.

    Parameters
    ----------
    events
        Flat events covering at least the training and validation periods (later rows are
        ignored).
    split
        A :class:`~anomaly_tutorial.data.BookSplit`.
    columns
        Monitored columns (``None``: :data:`~anomaly_tutorial.monitoring.features.EVENT_COLUMNS`).
    margin
        Multiplier of the largest drift-free value.

    Returns
    -------
    pandas.Series
        Index ``"<statistic>:<column>"`` (``psi``, ``unseen_rate`` for categorical columns,
        ``missing_change``) plus ``"volume_low"`` and ``"volume_high"``, the fence of a day's
        volume relative to the reference median of its kind of day.
    """
    if not margin >= 1:
        raise ValueError(f"margin: must be >= 1, got {margin!r}")
    columns = dict(EVENT_COLUMNS) if columns is None else dict(columns)
    view = event_view(events)
    t = view["time"].to_numpy()
    pre = view[(t >= split.start_ms) & (t < split.validation_end_ms)]
    day = _day_index(pre["time"].to_numpy(), split.start_ms)
    n_train = (split.train_end_ms - split.start_ms) // DAY_MS
    n_pre = (split.validation_end_ms - split.start_ms) // DAY_MS
    in_train = day < n_train
    rows, ratios = [], []
    for k in range(n_pre):
        reference = pre[in_train & (day != k)]
        monitor = FeatureDriftMonitor(columns).fit(reference)
        current = pre[day == k]
        if len(current) == 0:
            raise ValueError(f"pre-production day {k + 1} has no events; cannot calibrate")
        rows.append(_day_row(monitor.report(current)))
        ref_days = [d for d in range(n_train) if d != k]
        kind = _weekend(split.start_ms + k * DAY_MS)
        same = [
            int((day == d).sum()) for d in ref_days if _weekend(split.start_ms + d * DAY_MS) == kind
        ]
        if same:
            ratios.append(len(current) / float(np.median(same)))
    null = pd.DataFrame(rows)
    thresholds = {}
    for name in null.columns:
        statistic = name.split(":", 1)[0]
        values = null[name].dropna()
        if values.empty:
            continue
        thresholds[name] = max(FLOORS[statistic], margin * float(values.max()))
    ratios_arr = np.asarray(ratios)
    thresholds["volume_low"] = float(min(ratios_arr.min() / margin, 1 / margin))
    thresholds["volume_high"] = float(max(ratios_arr.max() * margin, margin))
    return pd.Series(thresholds, name="threshold")


@dataclass(frozen=True)
class RetrainingPolicy:
    """When to refit, on which window, and how to roll a challenger out.

    Parameters
    ----------
    alert_budget
        Alerts per day the team can review (the detector's ``alerts_per_day``).
    sustained_days
        Retrain when the alert rate has been over the budget this many days in a row (one
        busy day is an incident, not drift).
    window_days
        The challenger is trained on this many most recent days.
    calibration_days
        Then calibrated (p-values, threshold) on the next days.
    shadow_days
        Then scored beside the champion for this many days before the decision.
    mmd_level
        Level of the daily MMD test (input drift).
    review_per_day
        Alerts the analysts label each day (a random sample; all of them when fewer).
    false_alarm_margin
        ``max_false_alarms`` of :func:`run_production` defaults to this multiple of the false
        alarms per day the first model had on the (labelled) validation period.
    """

    alert_budget: int = 50
    sustained_days: int = 2
    window_days: int = 7
    calibration_days: int = 1
    shadow_days: int = 2
    mmd_level: float = 0.01
    review_per_day: int = 20
    false_alarm_margin: float = 2.0

    def __post_init__(self) -> None:
        for name in (
            "alert_budget",
            "sustained_days",
            "window_days",
            "calibration_days",
            "shadow_days",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"RetrainingPolicy.{name}: must be an integer >= 1, got {value!r}")
        if not 0 < self.mmd_level < 1:
            raise ValueError(f"RetrainingPolicy.mmd_level: must be in (0, 1), got {self.mmd_level}")
        if not self.false_alarm_margin >= 1:
            raise ValueError(
                f"RetrainingPolicy.false_alarm_margin: must be >= 1, got {self.false_alarm_margin}"
            )

    def action(self, daily: pd.DataFrame) -> str:
        """The action after the last row of ``daily`` (one row per day so far, with the
        boolean columns ``input_drift``, ``breakage``, ``over_budget`` and
        ``too_many_false_alarms``)."""
        if daily.empty:
            raise ValueError("daily: no day monitored yet")
        last = daily.iloc[-1]
        if bool(last["breakage"]):
            return "page"
        recent = daily.tail(self.sustained_days)
        harm = recent["over_budget"] | recent["too_many_false_alarms"]
        if len(recent) == self.sustained_days and bool(harm.all()):
            if not bool(recent["breakage"].any()):
                return "retrain"
        if bool(last["input_drift"]) or bool(harm.iloc[-1]):
            return "watch"
        return "ok"


@dataclass
class ProductionRun:
    """What :func:`run_production` observed and decided.

    Attributes
    ----------
    daily : DataFrame
        One row per production day: ``day`` (counted from 1), ``day_start``, ``n_events``,
        ``serving`` (model id), ``alerts``, ``false_alarms`` and ``true_alerts`` (ground
        truth, for the reader only), the review (``reviewed``, ``reviewed_true``,
        ``precision`` with its Wilson interval, ``estimated_false_alarms``), every drift
        statistic (``psi:<column>``, ...), ``mmd_p_value``, ``ks_uniform``, ``ks_p_value``,
        ``volume_ratio``, the flags ``input_drift``, ``breakage``, ``over_budget`` and
        ``too_many_false_alarms``, and ``action``.
    flagged : DataFrame
        Boolean, one column per check (``"<statistic>:<column>"`` and ``events_per_day``):
        which threshold each day crossed.
    scores : DataFrame
        The serving model's output per production event (``event_id``, ``time``, ``p_value``,
        ``alert``, ``model``).
    retrains : DataFrame
        One row per challenger: when it was triggered, its windows, alerts per day and
        event recall of champion and challenger on the shadow days, and whether it was
        promoted.
    thresholds : Series
        :func:`calibrate_thresholds`' output.
    max_false_alarms : float
        The estimated false alarms per day above which a day counted as harmful.
    alert_level : float
        The conformal p-value at or below which every model alerted.
    models : dict
        Model id -> fitted detector (0 = the one trained on the training period).
    """

    daily: pd.DataFrame
    flagged: pd.DataFrame
    scores: pd.DataFrame
    retrains: pd.DataFrame
    thresholds: pd.Series
    max_false_alarms: float
    alert_level: float
    models: dict[int, Any] = field(default_factory=dict)


def _mmd_columns(names: np.ndarray) -> np.ndarray:
    """Features of the multivariate test: all but the time of day / week (a Sunday is not
    drift) and the per-entity windows (they need the full history, see :func:`_mmd_features`)."""
    return np.array([not str(n).startswith(("time__", "win__")) for n in names])


def _mmd_features(
    model: Any, events: pd.DataFrame, keep: np.ndarray, n: int, seed: int
) -> np.ndarray:
    """Features of a seeded random sample of ``n`` events (the columns ``keep``): only the
    sample is featurised, which is exact for every column but the windows."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(events), min(n, len(events)), replace=False))
    return model.featurizer_.transform(events.iloc[rows])[:, keep]


def run_production(
    events: pd.DataFrame,
    split: Any,
    make_detector: Callable[[], Any],
    policy: RetrainingPolicy | None = None,
    *,
    thresholds: pd.Series | None = None,
    max_false_alarms: float | None = None,
    alert_level: float | None = None,
    mmd_samples: int = 250,
    mmd_permutations: int = 200,
    seed: int = 0,
) -> ProductionRun:
    """Serve, monitor and retrain over the production period (``split``'s test period).

    Parameters
    ----------
    events
        Flat events of the whole period (train, validation, production), with the label
        columns (used only for the ground-truth columns of the output).
    split
        Train / validation / production boundaries (a :class:`~anomaly_tutorial.data.BookSplit`).
    make_detector
        Builds an unfitted detector (see the module docstring). Every model is fitted
        without the label columns, as production data has none; the labels of the
        validation period only set the default ``max_false_alarms``.
    policy
        The :class:`RetrainingPolicy` (default parameters when ``None``).
    thresholds
        Drift thresholds; ``None`` calibrates them with :func:`calibrate_thresholds`.
    max_false_alarms
        Estimated false alarms per day above which a day counts as harmful; ``None``:
        ``policy.false_alarm_margin`` times the first model's false alarms per day on the
        (labelled) validation period, at ``alert_level``.
    alert_level
        Alert when the conformal p-value is at most this; ``None``: the p-value of the first
        model's ``threshold_`` under its ``calibrator_``.
    mmd_samples, mmd_permutations, seed
        Of the daily :func:`~anomaly_tutorial.monitoring.mmd_test` (the seed of day ``k`` is
        ``seed + k``).
    """
    policy = RetrainingPolicy() if policy is None else policy
    if thresholds is None:
        thresholds = calibrate_thresholds(events, split)
    events = events.sort_values("time", kind="stable").reset_index(drop=True)
    t = events["time"].to_numpy()
    view = event_view(events)
    start = split.start_ms

    def period(first_ms: int, end_ms: int) -> pd.DataFrame:
        return events[(t >= first_ms) & (t < end_ms)]

    unlabelled = [
        c
        for c in ("is_anomaly", "anomaly_type", "anomaly_kind", "incident_id")
        if c in events.columns
    ]

    def fit_model(train_start: int, train_end: int, calibration_end: int) -> dict[str, Any]:
        # every model is fitted without labels (production data has none)
        drop = unlabelled
        model = make_detector().fit(
            period(train_start, train_end).drop(columns=drop),
            period(train_end, calibration_end).drop(columns=drop),
        )
        reference = view[(t >= train_start) & (t < train_end)]
        monitor = FeatureDriftMonitor().fit(reference)
        ref_events = period(train_start, train_end)
        keep = _mmd_columns(model.featurizer_.get_feature_names_out())
        reference_features = _mmd_features(model, ref_events, keep, mmd_samples, seed)
        return {
            "model": model,
            "monitor": monitor,
            "volume": _volume_reference(reference, train_start, train_end),
            "features": reference_features,
            "keep": keep,
        }

    serving = {0: fit_model(start, split.train_end_ms, split.validation_end_ms)}
    if alert_level is None:
        first = serving[0]["model"]
        alert_level = float(first.calibrator_.p_values([first.threshold_])[0])
    if not 0 < alert_level < 1:
        raise ValueError(f"alert_level: must be in (0, 1), got {alert_level!r}")
    if max_false_alarms is None:
        validation = period(split.train_end_ms, split.validation_end_ms)
        history = period(start, split.train_end_ms)
        p_values = serving[0]["model"].score(validation, history=history)["p_value"].to_numpy()
        normal = ~validation["is_anomaly"].to_numpy(dtype=bool)
        days = (split.validation_end_ms - split.train_end_ms) / DAY_MS
        validation_false_alarms = float(((p_values <= alert_level) & normal).sum() / days)
        max_false_alarms = policy.false_alarm_margin * validation_false_alarms
    current = 0
    pending: dict[str, Any] | None = None
    daily_rows, score_parts, retrain_rows = [], [], []
    first_day = (split.validation_end_ms - start) // DAY_MS
    n_days = (split.end_ms - start) // DAY_MS
    daily = pd.DataFrame()
    for k in range(first_day, n_days):
        day_start = start + k * DAY_MS
        today = period(day_start, day_start + DAY_MS)
        history = period(day_start - DAY_MS, day_start)
        if len(today) == 0:
            raise ValueError(f"production day {k + 1} has no events: the feed stopped")
        champion = serving[current]
        scored = champion["model"].score(today, history=history)
        scored["alert"] = scored["p_value"].to_numpy() <= alert_level
        labels = today["is_anomaly"].to_numpy(dtype=bool)
        alerts = scored["alert"].to_numpy(dtype=bool)
        report = champion["monitor"].report(view.loc[today.index])
        row: dict[str, Any] = {
            "day": k + 1,
            "day_start": day_start,
            "n_events": len(today),
            "serving": current,
            "alerts": int(alerts.sum()),
            "false_alarms": int((alerts & ~labels).sum()),
            "true_alerts": int((alerts & labels).sum()),
            **_day_row(report),
        }
        kind = _weekend(day_start)
        row["volume_ratio"] = len(today) / champion["volume"][kind]
        mmd = mmd_test(
            champion["features"],
            _mmd_features(champion["model"], today, champion["keep"], mmd_samples, seed + k),
            n_permutations=mmd_permutations,
            max_samples=mmd_samples,
            seed=seed + k,
        )
        row["mmd_p_value"] = mmd.p_value
        row.update(_review(scored, labels, policy.review_per_day, seed + k))
        row["ks_uniform"], row["ks_p_value"] = p_value_uniformity(scored["p_value"])
        flags = {
            name: bool(row.get(name, np.nan) > limit)
            for name, limit in thresholds.items()
            if not name.startswith("volume")
        }
        flags[VOLUME] = not (
            thresholds["volume_low"] <= row["volume_ratio"] <= thresholds["volume_high"]
        )
        broken = any(v for n, v in flags.items() if n.startswith("missing_change"))
        drifted = any(v for n, v in flags.items() if not n.startswith("missing_change"))
        row.update(
            input_drift=drifted or mmd.p_value < policy.mmd_level,
            breakage=broken,
            over_budget=row["alerts"] > policy.alert_budget,
            too_many_false_alarms=row["estimated_false_alarms"] > max_false_alarms,
            flags=flags,
        )
        score_parts.append(scored[["event_id", "time", "p_value", "alert"]].assign(model=current))
        # challenger: fit after its calibration days, shadow, then decide
        if pending is not None:
            if k + 1 == pending["calibrated_day"]:
                fitted = fit_model(pending["train_start"], pending["train_end"], day_start + DAY_MS)
                pending["fitted"] = fitted
            elif "fitted" in pending:
                shadow = pending["fitted"]["model"].score(today, history=history)
                shadow_alerts = shadow["p_value"].to_numpy() <= alert_level
                pending["shadow"].append((alerts, shadow_alerts, labels))
                if len(pending["shadow"]) == policy.shadow_days:
                    retrain_rows.append(_decide(pending, policy, len(serving)))
                    if retrain_rows[-1]["promoted"]:
                        serving[len(serving)] = pending["fitted"]
                        current = len(serving) - 1
                    pending = None
        daily_rows.append(row)
        daily = pd.DataFrame(daily_rows)
        action = policy.action(daily)
        if action == "retrain" and pending is None:
            pending = {
                "trigger_day": k + 1,
                "train_start": day_start + DAY_MS - policy.window_days * DAY_MS,
                "train_end": day_start + DAY_MS,
                "calibrated_day": k + 1 + policy.calibration_days,
                "shadow": [],
            }
        daily_rows[-1]["action"] = action
    daily = pd.DataFrame(daily_rows)
    flagged = pd.DataFrame(list(daily.pop("flags")), index=daily.index).astype(bool)
    retrains = pd.DataFrame(retrain_rows, columns=list(_RETRAIN_COLUMNS))
    scores = pd.concat(score_parts, ignore_index=True)
    models = {i: v["model"] for i, v in serving.items()}
    return ProductionRun(
        daily, flagged, scores, retrains, thresholds, float(max_false_alarms), alert_level, models
    )


def _review(scored: pd.DataFrame, labels: np.ndarray, n: int, seed: int) -> dict[str, Any]:
    """The analysts' review of a day: a random sample of alerts, labelled (here from the
    ground truth), and the false alarms it implies."""
    alerts = scored["alert"].to_numpy(dtype=bool)
    ids = np.flatnonzero(alerts)
    if ids.size == 0:
        return {
            "reviewed": 0,
            "reviewed_true": 0,
            "precision": np.nan,
            "precision_low": np.nan,
            "precision_high": np.nan,
            "estimated_false_alarms": 0.0,
        }
    sample = review_sample(ids, n, seed=seed).astype(np.int64)
    estimate = alert_precision(labels[sample])
    return {
        "reviewed": estimate.n_labelled,
        "reviewed_true": estimate.n_true,
        "precision": estimate.precision,
        "precision_low": estimate.low,
        "precision_high": estimate.high,
        "estimated_false_alarms": float(ids.size * (1.0 - estimate.precision)),
    }


_RETRAIN_COLUMNS = (
    "trigger_day",
    "train_days",
    "calibration_days",
    "shadow_days",
    "champion_alerts_per_day",
    "challenger_alerts_per_day",
    "champion_false_alarms_per_day",
    "challenger_false_alarms_per_day",
    "champion_recall",
    "challenger_recall",
    "promoted",
    "model",
)


def _decide(pending: dict[str, Any], policy: RetrainingPolicy, next_id: int) -> dict[str, Any]:
    champion = np.concatenate([s[0] for s in pending["shadow"]])
    challenger = np.concatenate([s[1] for s in pending["shadow"]])
    labels = np.concatenate([s[2] for s in pending["shadow"]])
    days = len(pending["shadow"])
    first = pending["trigger_day"] - policy.window_days + 1
    champion_rate, challenger_rate = champion.sum() / days, challenger.sum() / days
    promoted = bool(challenger_rate <= policy.alert_budget and challenger_rate < champion_rate)
    n_true = int(labels.sum())
    shadow_first = pending["calibrated_day"] + 1
    return {
        "trigger_day": pending["trigger_day"],
        "train_days": f"{first}-{pending['trigger_day']}",
        "calibration_days": f"{pending['trigger_day'] + 1}-{pending['calibrated_day']}",
        "shadow_days": f"{shadow_first}-{shadow_first + days - 1}",
        "champion_alerts_per_day": float(champion_rate),
        "challenger_alerts_per_day": float(challenger_rate),
        "champion_false_alarms_per_day": float((champion & ~labels).sum() / days),
        "challenger_false_alarms_per_day": float((challenger & ~labels).sum() / days),
        # NaN when no anomalous event fell in the shadow days
        "champion_recall": float((champion & labels).sum() / n_true) if n_true else np.nan,
        "challenger_recall": float((challenger & labels).sum() / n_true) if n_true else np.nan,
        "promoted": promoted,
        "model": next_id if promoted else None,
    }


def flag_delays(run: ProductionRun, drifts: pd.DataFrame) -> pd.DataFrame:
    """For each drift scenario: the first day on or after its start on which a check of one
    of its columns (``drifts["columns"]``) crossed its threshold, and the delay in days
    (0 = flagged by the report of the first day; NaN = never flagged)."""
    rows = []
    for d in drifts.itertuples():
        columns = [c.strip() for c in str(d.columns).split(",")]
        checks = [n for n in run.flagged.columns if n.split(":", 1)[-1] in columns]
        mask = (run.daily["day"] >= d.start_day).to_numpy()
        hit = run.flagged.loc[mask, checks].any(axis=1) if checks else pd.Series(dtype=bool)
        days = run.daily.loc[mask, "day"][hit.to_numpy()] if len(hit) else pd.Series(dtype=int)
        first = int(days.iloc[0]) if len(days) else None
        which = (
            ", ".join(n for n in checks if run.flagged.loc[run.daily["day"] == first, n].any())
            if first is not None
            else ""
        )
        rows.append(
            {
                "drift_id": d.drift_id,
                "scenario": d.scenario,
                "start_day": int(d.start_day),
                "first_flagged_day": first,
                "delay_days": np.nan if first is None else float(first - d.start_day),
                "flagged_by": which,
            }
        )
    return pd.DataFrame(rows)


def false_alarms_by_drift(
    run: ProductionRun, events: pd.DataFrame, affected: pd.DataFrame, drifts: pd.DataFrame
) -> pd.DataFrame:
    """False alarms per day on the events each scenario changed, while the first model served
    after the scenario started ("before retraining") and once a model retrained after it
    served ("after"; NaN when no retrained model served after the start)."""
    truth = events.set_index("event_id")
    scores = run.scores.set_index("event_id")
    normal = ~truth.loc[scores.index, "is_anomaly"].to_numpy(dtype=bool)
    hit = affected.set_index(events["event_id"]).loc[scores.index]
    day = _day_index(scores["time"].to_numpy(), run.daily["day_start"].iloc[0]) + int(
        run.daily["day"].iloc[0]
    )
    serving = run.daily.set_index("day")["serving"]
    rows = []
    for d in drifts.itertuples():
        false_alarm = pd.Series(scores["alert"].to_numpy() & normal & hit[d.drift_id].to_numpy())
        per_day = false_alarm.groupby(day).sum().reindex(serving.index, fill_value=0)
        after_start = serving.index >= d.start_day
        model_at_start = serving[after_start].iloc[0]
        before = after_start & (serving.to_numpy() == model_at_start)
        after = after_start & (serving.to_numpy() > model_at_start)
        end = d.end_time
        in_scope = serving.index < (end - run.daily["day_start"].iloc[0]) // DAY_MS + int(
            run.daily["day"].iloc[0]
        )
        before &= in_scope
        after &= in_scope
        rows.append(
            {
                "drift_id": d.drift_id,
                "scenario": d.scenario,
                "days_before": int(before.sum()),
                "false_alarms_per_day_before": float(per_day[before].mean())
                if before.any()
                else np.nan,
                "days_after": int(after.sum()),
                "false_alarms_per_day_after": float(per_day[after].mean())
                if after.any()
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def compare_models(
    models: Mapping[str, Any],
    events: pd.DataFrame,
    *,
    start_ms: int,
    end_ms: int,
    alert_level: float,
) -> pd.DataFrame:
    """Several fitted models on the same period, at the same alert level: alerts and false
    alarms per day, event recall and incidents with at least one alert (ground truth).

    Each model scores the events of ``[start_ms, end_ms)`` with the day before as history.
    """
    from anomaly_tutorial.evaluate import incident_detection

    t = events["time"].to_numpy()
    part = events[(t >= start_ms) & (t < end_ms)]
    if len(part) == 0:
        raise ValueError(f"no events in [{start_ms}, {end_ms}): nothing to compare on")
    history = events[(t >= start_ms - DAY_MS) & (t < start_ms)]
    labels = part[["event_id", "is_anomaly", "incident_id"]]
    times = pd.Series(part["time"].to_numpy(), index=part["event_id"].to_numpy())
    is_anomaly = part["is_anomaly"].to_numpy(dtype=bool)
    days = (end_ms - start_ms) / DAY_MS
    rows = {}
    for name, model in models.items():
        alerts = model.score(part, history=history)["p_value"].to_numpy() <= alert_level
        caught = incident_detection(
            pd.Series(alerts, index=part["event_id"].to_numpy()), labels, times
        )
        rows[name] = {
            "alerts_per_day": alerts.sum() / days,
            "false_alarms_per_day": (alerts & ~is_anomaly).sum() / days,
            "event_recall": (alerts & is_anomaly).sum() / max(int(is_anomaly.sum()), 1),
            "incidents_caught": int(caught["detected"].sum()),
            "n_incidents": len(caught),
        }
    return pd.DataFrame(rows).T
