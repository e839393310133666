"""Per-service metric frames from :mod:`anomaly_tutorial.data` and per-service evaluation.

``default_dataset().metrics`` is a long table (one row per service and minute). Detectors want
one wide frame per service (one column per metric, indexed by time), and a time split shared by
all services so that the test stretch is the same calendar period everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly_tutorial.data.metrics import METRIC_COLUMNS
from anomaly_tutorial.timeseries.base import BaseSeriesDetector
from anomaly_tutorial.timeseries.evaluation import event_metrics

__all__ = ["METRIC_COLUMNS", "ServiceSplit", "evaluate_per_service", "service_split"]

_LABELS = ("is_anomaly", "anomaly_type", "incident_id")


@dataclass(frozen=True)
class ServiceSplit:
    """One service's metrics split in time.

    Attributes
    ----------
    service : str
    train, test : pandas.DataFrame
        Metric columns indexed by a UTC DatetimeIndex named ``time``.
    train_labels, test_labels : pandas.DataFrame
        ``is_anomaly`` (int 0/1), ``anomaly_type``, ``incident_id``, indexed like the values.
    """

    service: str
    train: pd.DataFrame
    test: pd.DataFrame
    train_labels: pd.DataFrame
    test_labels: pd.DataFrame


def _cut_time(metrics: pd.DataFrame, train_fraction: float) -> int:
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    start, end = int(metrics["time"].min()), int(metrics["time"].max())
    return start + int(train_fraction * (end - start))


def service_split(
    metrics: pd.DataFrame,
    service: str,
    *,
    columns: Sequence[str] = METRIC_COLUMNS,
    train_fraction: float = 0.7,
) -> ServiceSplit:
    """Wide frames of one service, split at ``train_fraction`` of the whole time span.

    Parameters
    ----------
    metrics : pandas.DataFrame
        ``default_dataset().metrics`` (columns ``time`` (epoch ms), ``service``, the metric
        columns and ``is_anomaly``, ``anomaly_type``, ``incident_id``).
    service : str
    columns : sequence of str
        Metric columns to keep.
    train_fraction : float
        Points up to this fraction of the overall time span (same cut for every service) train.

    Returns
    -------
    ServiceSplit
    """
    required = {"time", "service", *columns, *_LABELS}
    missing = sorted(required - set(metrics.columns))
    if missing:
        raise ValueError(f"metrics: missing column(s) {missing}")
    rows = metrics[metrics["service"] == service]
    if rows.empty:
        known = sorted(metrics["service"].dropna().unique().tolist())
        raise ValueError(f"service {service!r} not in metrics (services: {known})")
    cut = _cut_time(metrics, train_fraction)
    rows = rows.sort_values("time", kind="stable")
    index = pd.DatetimeIndex(pd.to_datetime(rows["time"].to_numpy(), unit="ms", utc=True))
    index.name = "time"
    values = pd.DataFrame(
        rows[list(columns)].to_numpy(dtype=np.float64), index=index, columns=list(columns)
    )
    labels = pd.DataFrame(
        {
            "is_anomaly": rows["is_anomaly"].to_numpy().astype(np.int64),
            "anomaly_type": rows["anomaly_type"].to_numpy(),
            "incident_id": pd.array(rows["incident_id"].to_numpy(), dtype="string"),
        },
        index=index,
    )
    train = rows["time"].to_numpy() <= cut
    if train.all() or not train.any():
        raise ValueError(f"service {service!r}: the split at train_fraction leaves a part empty")
    return ServiceSplit(service, values[train], values[~train], labels[train], labels[~train])


def evaluate_per_service(
    make_detector: Callable[[], BaseSeriesDetector],
    metrics: pd.DataFrame,
    *,
    columns: Sequence[str] = METRIC_COLUMNS,
    train_fraction: float = 0.7,
    services: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Fit one detector per service on its training stretch and score the test stretch.

    Parameters
    ----------
    make_detector : callable
        Returns a fresh, unfitted detector.
    metrics : pandas.DataFrame
        ``default_dataset().metrics``.
    columns, train_fraction
        See :func:`service_split`.
    services : sequence of str or None
        Services to evaluate (default: all, sorted).

    Returns
    -------
    pandas.DataFrame
        One row per service (index ``service``) with ``n_test_points``, ``test_days`` and the
        entries of :func:`~anomaly_tutorial.timeseries.evaluation.event_metrics`.
    """
    names = sorted(metrics["service"].dropna().unique()) if services is None else list(services)
    rows = {}
    for name in names:
        split = service_split(metrics, name, columns=columns, train_fraction=train_fraction)
        detector = make_detector().fit(split.train)
        alerts = pd.Series(detector.predict(split.test) == 1, index=split.test.index)
        span_ms = float(np.ptp(split.test.index.as_unit("ms").asi8)) + 60_000.0
        rows[name] = {
            "n_test_points": len(split.test),
            "test_days": span_ms / 86_400_000.0,
            **event_metrics(alerts, split.test_labels),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "service"
    return out
