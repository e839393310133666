"""Per-service metric frames from :mod:`anomaly_tutorial.data` and per-service evaluation.

``default_dataset().metrics`` is a long table (one row per service and minute). Detectors want
one wide frame per service (one column per metric, indexed by time), and a time split shared by
all services so that the test stretch is the same calendar period everywhere: the book-wide
:func:`anomaly_tutorial.data.book_split` (train = days 1-8, validation = days 9-10, test = days
11-14 of the default dataset).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly_tutorial.data.metrics import METRIC_COLUMNS
from anomaly_tutorial.data.splits import BookSplit, book_split
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
    train, validation, test : pandas.DataFrame
        Metric columns indexed by a UTC DatetimeIndex named ``time``.
    train_labels, validation_labels, test_labels : pandas.DataFrame
        ``is_anomaly`` (int 0/1), ``anomaly_type``, ``incident_id``, indexed like the values.
    """

    service: str
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    train_labels: pd.DataFrame
    validation_labels: pd.DataFrame
    test_labels: pd.DataFrame

    @property
    def after_train(self) -> pd.DataFrame:
        """Validation and test stretches together, in time order (what follows training)."""
        return pd.concat([self.validation, self.test])


def service_split(
    metrics: pd.DataFrame,
    service: str,
    *,
    columns: Sequence[str] = METRIC_COLUMNS,
    split: BookSplit | None = None,
) -> ServiceSplit:
    """Wide frames of one service, cut into the book's train / validation / test periods.

    Parameters
    ----------
    metrics : pandas.DataFrame
        ``default_dataset().metrics`` (columns ``time`` (epoch ms), ``service``, the metric
        columns and ``is_anomaly``, ``anomaly_type``, ``incident_id``).
    service : str
    columns : sequence of str
        Metric columns to keep.
    split : BookSplit or None
        The periods; ``None`` is :func:`anomaly_tutorial.data.book_split` of the default dataset
        (the same cut for every service).

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
    split = book_split() if split is None else split
    rows = rows.sort_values("time", kind="stable")
    period = split.period_of(rows["time"].to_numpy())
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
    parts = {}
    for name in ("train", "validation", "test"):
        mask = period == name
        if not mask.any():
            raise ValueError(f"service {service!r}: the {name} period holds no point")
        parts[name] = (values[mask], labels[mask])
    return ServiceSplit(
        service,
        train=parts["train"][0],
        validation=parts["validation"][0],
        test=parts["test"][0],
        train_labels=parts["train"][1],
        validation_labels=parts["validation"][1],
        test_labels=parts["test"][1],
    )


def evaluate_per_service(
    make_detector: Callable[[], BaseSeriesDetector],
    metrics: pd.DataFrame,
    *,
    columns: Sequence[str] = METRIC_COLUMNS,
    split: BookSplit | None = None,
    services: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Fit one detector per service on its training stretch and evaluate it on the test stretch.

    The detector scores validation and test together (so that windowed detectors carry their
    history across the cut); only the test stretch is evaluated.

    Parameters
    ----------
    make_detector : callable
        Returns a fresh, unfitted detector.
    metrics : pandas.DataFrame
        ``default_dataset().metrics``.
    columns, split
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
        parts = service_split(metrics, name, columns=columns, split=split)
        detector = make_detector().fit(parts.train)
        flags = detector.predict(parts.after_train)[len(parts.validation) :] == 1
        alerts = pd.Series(flags, index=parts.test.index)
        step_ms = float(np.median(np.diff(parts.test.index.as_unit("ms").asi8)))
        span_ms = float(np.ptp(parts.test.index.as_unit("ms").asi8)) + step_ms
        rows[name] = {
            "n_test_points": len(parts.test),
            "test_days": span_ms / 86_400_000.0,
            **event_metrics(alerts, parts.test_labels),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "service"
    return out
