"""Attack or failure category of an alert: brute force, exfiltration, port scan, latency, ...

An analyst's first question after "how bad?" is "what is it?". :func:`category_features`
describes an alert by a few dozen readable numbers (its event class and outcome, HTTP status,
whether the operation is privileged, the size of its durations and byte counts, the surprises
of :class:`~anomaly_tutorial.triage.explain.FeatureDeviations`, the burst it belongs to and
whether the source is external), and :class:`CategoryClassifier` is a shallow decision tree
(Breiman et al. 1984) on them, trained on the labelled anomalies of a training period. The
categories are the generator's ``anomaly_type`` names (``brute_force``,
``data_exfiltration``, ``port_scan``, ``privilege_escalation``, ``latency_spike``,
``error_burst_5xx``, ...). :func:`tune_category_depth` chooses the tree depth on a validation
period by macro-F1, so that rare categories count as much as frequent ones.

A tree, not a larger model, because its rules can be printed and read
(:meth:`CategoryClassifier.rules`): an analyst can check *why* an alert was called a port scan.

Public objects: :func:`category_features`, :class:`CategoryClassifier`,
:func:`tune_category_depth`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score
from sklearn.tree import DecisionTreeClassifier, export_text
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial import ocsf
from anomaly_tutorial.triage.context import PRIVILEGED_OPERATIONS
from anomaly_tutorial.triage.explain import numeric_field

_CLASSES = (ocsf.AUTHENTICATION, ocsf.NETWORK_ACTIVITY, ocsf.HTTP_ACTIVITY, ocsf.API_ACTIVITY)


def _numeric(frame: pd.DataFrame, column: str, fill: float = np.nan) -> np.ndarray:
    """The column as floats, ``fill`` where missing (non-numbers are refused)."""
    if column not in frame:
        return np.full(len(frame), fill)
    values = numeric_field(frame, column)
    return np.where(np.isnan(values), fill, values)


def category_features(
    events: pd.DataFrame,
    deviations: pd.DataFrame,
    burst: np.ndarray | pd.Series,
    external_source: np.ndarray | pd.Series,
) -> pd.DataFrame:
    """Readable features of each alert for :class:`CategoryClassifier`.

    Parameters
    ----------
    events
        Flat OCSF events (needs ``class_uid`` and ``status_id``; other fields are optional).
    deviations
        :meth:`FeatureDeviations.deviations` of the same events (same index).
    burst
        :func:`~anomaly_tutorial.triage.kind.burst_size` of the same events.
    external_source
        Whether each source address is external
        (:func:`~anomaly_tutorial.triage.context.alert_context`).

    Returns
    -------
    pandas.DataFrame
        Index of ``events``; float columns (missing numbers become -1, "not applicable").

    Raises
    ------
    ValueError
        If a column is missing or the lengths or indexes differ.
    """
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events: expected a pandas DataFrame, got {type(events).__name__}")
    missing = [c for c in ("class_uid", "status_id") if c not in events.columns]
    if missing:
        raise ValueError(f"events: missing columns {missing}")
    if not isinstance(deviations, pd.DataFrame) or not deviations.index.equals(events.index):
        raise ValueError("deviations: expected a DataFrame with the same index as events")
    n = len(events)
    burst = np.asarray(burst, dtype="float64")
    external = np.asarray(external_source, dtype="float64")
    for name, values in (("burst", burst), ("external_source", external)):
        if values.shape != (n,):
            raise ValueError(
                f"{name}: expected one value per event ({n}), got shape {values.shape}"
            )
    cls = _numeric(events, "class_uid")
    code = _numeric(events, "http_response.code", -1.0)
    privileged_operation = (
        events["api.operation"].isin(PRIVILEGED_OPERATIONS).fillna(False).to_numpy(dtype=bool)
        if "api.operation" in events
        else np.zeros(n, dtype=bool)
    )
    features = {f"class={c}": (cls == c).astype(float) for c in _CLASSES}
    features.update(
        {
            "failed": (_numeric(events, "status_id") == ocsf.STATUS_FAILURE).astype(float),
            "activity_id": _numeric(events, "activity_id", -1.0),
            "http_code": code,
            "http_5xx": ((code >= 500) & (code < 600)).astype(float),
            "privileged_operation": privileged_operation.astype(float),
            "log_duration": np.log1p(np.maximum(_numeric(events, "duration", -1.0), -0.5)),
            "log_bytes_out": np.log1p(
                np.maximum(_numeric(events, "traffic.bytes_out", -1.0), -0.5)
            ),
            "log_bytes_in": np.log1p(np.maximum(_numeric(events, "traffic.bytes_in", -1.0), -0.5)),
            "burst": burst,
            "external_source": external,
        }
    )
    frame = pd.DataFrame(features, index=events.index)
    return pd.concat([frame, deviations.astype("float64")], axis=1)


class CategoryClassifier(ClassifierMixin, BaseEstimator):
    """A shallow decision tree from :func:`category_features` to an alert category.

    Parameters
    ----------
    max_depth
        Depth of the tree (``None``: grow until leaves are pure).
    min_samples_leaf
        Smallest leaf.
    class_weight
        Passed to :class:`sklearn.tree.DecisionTreeClassifier`; ``"balanced"`` by default so
        that rare categories are not ignored.
    random_state
        Seed of the tree's tie-breaking between equally good splits.

    Attributes
    ----------
    tree_ : sklearn.tree.DecisionTreeClassifier
    classes_ : numpy.ndarray
    feature_names_in_ : numpy.ndarray
    """

    def __init__(
        self,
        max_depth: int | None = 5,
        min_samples_leaf: int = 2,
        class_weight: str | None = "balanced",
        random_state: int = 0,
    ) -> None:
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.class_weight = class_weight
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any) -> CategoryClassifier:
        """Fit on the features of labelled anomalies (``y``: their ``anomaly_type``)."""
        X = self._check_X(X)
        labels = np.asarray(pd.Series(y).astype(object))
        if len(labels) != len(X):
            raise ValueError(f"y: expected {len(X)} labels, got {len(labels)}")
        if pd.isna(labels).any():
            raise ValueError(
                f"y: missing label at position {int(np.flatnonzero(pd.isna(labels))[0])}"
            )
        self.tree_ = DecisionTreeClassifier(
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            class_weight=self.class_weight,
            random_state=self.random_state,
        ).fit(X.to_numpy(), labels)
        self.classes_ = self.tree_.classes_
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    @staticmethod
    def _check_X(X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X: expected a pandas DataFrame, got {type(X).__name__}")
        values = X.to_numpy(dtype="float64")
        bad = ~np.isfinite(values)
        if bad.any():
            i, j = (int(k[0]) for k in np.nonzero(bad))
            raise ValueError(f"X: column {X.columns[j]!r} has {values[i, j]} at row {X.index[i]!r}")
        return X

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Category of each row."""
        check_is_fitted(self, "tree_")
        X = self._check_X(X)
        if list(X.columns) != list(self.feature_names_in_):
            raise ValueError("X: columns differ from those seen in fit")
        return self.tree_.predict(X.to_numpy())

    def rules(self, max_depth: int = 3) -> str:
        """The tree's first levels as indented text rules."""
        check_is_fitted(self, "tree_")
        return export_text(
            self.tree_, feature_names=list(self.feature_names_in_), max_depth=max_depth
        )


def tune_category_depth(
    X_train: pd.DataFrame,
    y_train: Any,
    X_validation: pd.DataFrame,
    y_validation: Any,
    depths: Sequence[int | None] = (2, 3, 4, 5, 6, 8, None),
) -> tuple[CategoryClassifier, pd.DataFrame]:
    """Fit one tree per depth on training anomalies; keep the best by validation macro-F1.

    Returns
    -------
    (CategoryClassifier, pandas.DataFrame)
        The chosen model (first best in ``depths`` order) and a table of every depth with its
        validation macro-F1. Test data never enters.
    """
    if not depths:
        raise ValueError("depths: needs at least one candidate")
    rows, models = [], []
    for depth in depths:
        model = CategoryClassifier(max_depth=depth).fit(X_train, y_train)
        f1 = f1_score(
            np.asarray(pd.Series(y_validation).astype(object)),
            model.predict(X_validation),
            average="macro",
            zero_division=0,
        )
        rows.append({"max_depth": "none" if depth is None else depth, "validation macro-F1": f1})
        models.append(model)
    table = pd.DataFrame(rows)
    best = int(table["validation macro-F1"].to_numpy().argmax())
    return models[best], table
