"""Window detectors (Isolation Forest, DBSCAN, HDBSCAN) and honest validation-period tuning.

All three detectors follow the package convention: ``fit(X_train)``, ``score_samples(X)`` with
higher = more anomalous, ``predict(X)`` with 1 = anomaly and 0 = normal.

**How the clustering methods score new windows.** DBSCAN (Ester et al., 1996) and HDBSCAN
(Campello et al., 2013) label the points they were fitted on; scikit-learn gives them no way to
label new points (and ``sklearn.cluster.HDBSCAN`` has no ``approximate_predict``). Here:

* :class:`DBSCANDetector` keeps the training *core samples*. A window's score is its distance to
  the nearest core sample; it is an outlier when that distance exceeds ``eps``. On the training
  windows this reproduces DBSCAN's own noise label exactly (a border point is within ``eps`` of
  a core sample, noise is not), so new windows are judged by the same rule.
* :class:`HDBSCANDetector` keeps the training windows HDBSCAN put in a cluster and their core
  distances ``core(y)`` (distance to the ``min_samples``-th nearest training window, counting
  itself). A new window ``x`` gets the core distance it would have among the training windows,
  and its score is the smallest *mutual reachability distance*
  ``max(core(x), core(y), d(x, y))`` to a clustered training window ``y``: the density level at
  which ``x`` would join a cluster. The threshold is the ``link_quantile`` quantile of the same
  quantity for clustered training windows (each measured to its nearest *other* clustered
  window): with the default 1.0 a new window is an outlier when it is farther from every cluster
  than any clustered training window is from its cluster.

**Tuning.** :func:`tune_on_validation` fits each configuration on the training windows and
scores it on the validation windows only; it takes no test data. Evaluating the chosen model on
the test period is a separate call (:func:`evaluate_detector`). Passing the test period as
"validation" reproduces the common mistake of tuning on test labels, which is how the book
measures its optimistic bias.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import DBSCAN, HDBSCAN
from sklearn.ensemble import IsolationForest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    pairwise_distances_chunked,
    precision_score,
    recall_score,
)
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.validation import check_array


def _check_X(X: object, name: str = "X") -> np.ndarray:
    arr = np.asarray(X.to_numpy() if isinstance(X, pd.DataFrame) else X)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (windows x features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no rows")
    try:
        return check_array(arr, dtype=np.float64, input_name=name)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from err


class _WindowDetector(BaseEstimator):
    """Shared checks (fitted state, feature width) and threshold-only refitting.

    ``_threshold_params`` names parameters that only move ``threshold_``; after changing them
    with ``set_params`` on a fitted detector, :meth:`refit_threshold` updates the threshold from
    the stored training quantities without refitting the model (used by the tuner).
    """

    _threshold_params: tuple[str, ...] = ()

    def _threshold_from_training(self) -> float:
        return float(self.threshold_)

    def refit_threshold(self) -> _WindowDetector:
        """Recompute ``threshold_`` for the current threshold parameters."""
        self._check_fitted()
        self.threshold_ = self._threshold_from_training()
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(X_train) first")

    def _check_width(self, X: np.ndarray) -> None:
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features but {type(self).__name__} was fitted with "
                f"{self.n_features_in_}"
            )

    def predict(self, X: object) -> np.ndarray:
        """1 where ``score_samples(X) > threshold_`` (anomaly), else 0."""
        return (self.score_samples(X) > self.threshold_).astype(np.int64)


class IsolationForestDetector(_WindowDetector):
    """Isolation Forest (Liu et al., 2008) with higher score = more anomalous.

    ``threshold_`` is the ``1 - contamination`` quantile of the training scores.
    """

    def __init__(
        self,
        n_estimators: int = 200,
        max_samples: int | float | str = "auto",
        max_features: float = 1.0,
        contamination: float = 0.05,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.contamination = contamination
        self.random_state = random_state

    def fit(self, X: object, y: object = None) -> IsolationForestDetector:
        """Grow the forest on the training windows and set the threshold."""
        if not 0.0 < float(self.contamination) < 0.5:
            raise ValueError(f"contamination must be in (0, 0.5), got {self.contamination!r}")
        Xa = _check_X(X)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            max_features=self.max_features,
            random_state=self.random_state,
        ).fit(Xa)
        self.n_features_in_ = Xa.shape[1]
        self.train_scores_ = -self.forest_.score_samples(Xa)
        self.threshold_ = self._threshold_from_training()
        return self

    _threshold_params = ("contamination",)

    def _threshold_from_training(self) -> float:
        if not 0.0 < float(self.contamination) < 0.5:
            raise ValueError(f"contamination must be in (0, 0.5), got {self.contamination!r}")
        return float(np.quantile(self.train_scores_, 1.0 - float(self.contamination)))

    def score_samples(self, X: object) -> np.ndarray:
        """Negated Isolation Forest score: higher = shorter paths = more anomalous."""
        self._check_fitted()
        Xa = _check_X(X)
        self._check_width(Xa)
        return -self.forest_.score_samples(Xa)


class DBSCANDetector(_WindowDetector):
    """DBSCAN noise as an outlier rule for new points: distance to the nearest core sample.

    ``threshold_`` equals ``eps``. If DBSCAN finds no core sample, every window is noise: the
    score is then the distance to the nearest training window plus ``eps`` (all above the
    threshold), so the model still ranks windows instead of failing.
    """

    def __init__(self, eps: float = 0.5, min_samples: int = 5, metric: str = "euclidean") -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric

    def fit(self, X: object, y: object = None) -> DBSCANDetector:
        """Run DBSCAN on the training windows and index its core samples."""
        if not float(self.eps) > 0:
            raise ValueError(f"eps must be positive, got {self.eps!r}")
        Xa = _check_X(X)
        db = DBSCAN(eps=self.eps, min_samples=self.min_samples, metric=self.metric).fit(Xa)
        self.labels_ = db.labels_
        self.core_sample_indices_ = db.core_sample_indices_
        self.has_core_ = bool(self.core_sample_indices_.size)
        reference = Xa[self.core_sample_indices_] if self.has_core_ else Xa
        self.nn_ = NearestNeighbors(n_neighbors=1, metric=self.metric).fit(reference)
        self.n_features_in_ = Xa.shape[1]
        self.threshold_ = float(self.eps)
        return self

    def score_samples(self, X: object) -> np.ndarray:
        """Distance to the nearest training core sample (higher = more anomalous)."""
        self._check_fitted()
        Xa = _check_X(X)
        self._check_width(Xa)
        dist = self.nn_.kneighbors(Xa, return_distance=True)[0][:, 0]
        return dist if self.has_core_ else dist + float(self.eps)


class HDBSCANDetector(_WindowDetector):
    """HDBSCAN clusters of training windows; new windows scored by mutual reachability.

    Parameters
    ----------
    min_cluster_size : int, default 10
    min_samples : int or None, default None (= ``min_cluster_size``, as in scikit-learn)
    link_quantile : float, default 1.0
        Quantile of the clustered training windows' own scores used as ``threshold_``.
    """

    def __init__(
        self,
        min_cluster_size: int = 10,
        min_samples: int | None = None,
        link_quantile: float = 1.0,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.link_quantile = link_quantile

    def fit(self, X: object, y: object = None) -> HDBSCANDetector:
        """Run HDBSCAN on the training windows; keep clustered windows and core distances."""
        if not 0.0 < float(self.link_quantile) <= 1.0:
            raise ValueError(f"link_quantile must be in (0, 1], got {self.link_quantile!r}")
        Xa = _check_X(X)
        k = self.min_cluster_size if self.min_samples is None else self.min_samples
        if Xa.shape[0] <= k:
            raise ValueError(f"need more than min_samples={k} training windows, got {Xa.shape[0]}")
        hd = HDBSCAN(
            min_cluster_size=self.min_cluster_size, min_samples=self.min_samples, copy=True
        ).fit(Xa)
        self.labels_ = hd.labels_
        self.k_ = int(k)
        self.nn_ = NearestNeighbors(n_neighbors=self.k_).fit(Xa)
        core_train = self.nn_.kneighbors(Xa)[0][:, -1]
        clustered = np.flatnonzero(self.labels_ >= 0)
        self.n_features_in_ = Xa.shape[1]
        if clustered.size < 2:
            # no cluster: every training window is noise; score against all windows instead
            clustered = np.arange(Xa.shape[0])
        self.clustered_ = Xa[clustered]
        self.core_clustered_ = core_train[clustered]
        self.train_links_ = self._min_mreach(
            self.clustered_, self.core_clustered_, exclude_self=True
        )
        self.threshold_ = self._threshold_from_training()
        return self

    _threshold_params = ("link_quantile",)

    def _threshold_from_training(self) -> float:
        if not 0.0 < float(self.link_quantile) <= 1.0:
            raise ValueError(f"link_quantile must be in (0, 1], got {self.link_quantile!r}")
        return float(np.quantile(self.train_links_, float(self.link_quantile)))

    def _core_of_new(self, Xa: np.ndarray) -> np.ndarray:
        # a new point counts itself as its first neighbour, like a training point does
        if self.k_ == 1:
            return np.zeros(Xa.shape[0])
        return self.nn_.kneighbors(Xa, n_neighbors=self.k_ - 1)[0][:, -1]

    def _min_mreach(self, Xa: np.ndarray, core_x: np.ndarray, exclude_self: bool) -> np.ndarray:
        out = np.empty(Xa.shape[0])
        start = 0
        for chunk in pairwise_distances_chunked(Xa, self.clustered_, working_memory=64):
            rows = slice(start, start + chunk.shape[0])
            mr = np.maximum(chunk, self.core_clustered_[None, :])
            mr = np.maximum(mr, core_x[rows, None])
            if exclude_self:
                idx = np.arange(chunk.shape[0])
                mr[idx, start + idx] = np.inf
            out[rows] = mr.min(axis=1)
            start += chunk.shape[0]
        return out

    def score_samples(self, X: object) -> np.ndarray:
        """Smallest mutual reachability distance to a clustered training window."""
        self._check_fitted()
        Xa = _check_X(X)
        self._check_width(Xa)
        return self._min_mreach(Xa, self._core_of_new(Xa), exclude_self=False)


class FeatureThresholdDetector(_WindowDetector):
    """Baseline: one feature column as the score, thresholded at a training quantile.

    ``score_samples`` returns column ``feature`` unchanged (after any pipeline transforms, which
    are monotone for ``log1p`` and scaling, so the ranking is that of the raw feature);
    ``threshold_`` is its ``1 - contamination`` quantile on the training windows.
    """

    def __init__(self, feature: int = 0, contamination: float = 0.05) -> None:
        self.feature = feature
        self.contamination = contamination

    def fit(self, X: object, y: object = None) -> FeatureThresholdDetector:
        """Set the threshold from the training windows."""
        if not 0.0 < float(self.contamination) < 0.5:
            raise ValueError(f"contamination must be in (0, 0.5), got {self.contamination!r}")
        Xa = _check_X(X)
        if not 0 <= int(self.feature) < Xa.shape[1]:
            raise ValueError(
                f"feature={self.feature!r} is not a column of X ({Xa.shape[1]} columns)"
            )
        self.n_features_in_ = Xa.shape[1]
        self.train_scores_ = Xa[:, int(self.feature)].copy()
        self.threshold_ = self._threshold_from_training()
        return self

    _threshold_params = ("contamination",)

    def _threshold_from_training(self) -> float:
        if not 0.0 < float(self.contamination) < 0.5:
            raise ValueError(f"contamination must be in (0, 0.5), got {self.contamination!r}")
        return float(np.quantile(self.train_scores_, 1.0 - float(self.contamination)))

    def score_samples(self, X: object) -> np.ndarray:
        """The chosen feature column."""
        self._check_fitted()
        Xa = _check_X(X)
        self._check_width(Xa)
        return Xa[:, int(self.feature)].copy()


DETECTORS: dict[str, type[_WindowDetector]] = {
    "isolation_forest": IsolationForestDetector,
    "dbscan": DBSCANDetector,
    "hdbscan": HDBSCANDetector,
    "feature_threshold": FeatureThresholdDetector,
}


def make_window_detector(name: str, *, log_counts: bool = True, **params: object) -> Pipeline:
    """Pipeline ``[log1p] -> StandardScaler -> detector`` (scaler fitted on training windows).

    ``log1p`` (on by default) tames count features; it needs non-negative features. Grid keys
    for tuning take the ``detector__`` prefix, e.g. ``{"detector__eps": [1.0, 2.0]}``.
    """
    if name not in DETECTORS:
        raise KeyError(f"unknown detector {name!r}; choose one of {sorted(DETECTORS)}")
    steps: list[tuple[str, object]] = []
    if log_counts:
        steps.append(("log1p", FunctionTransformer(_checked_log1p)))
    steps.append(("scale", StandardScaler()))
    steps.append(("detector", DETECTORS[name](**params)))
    return Pipeline(steps)


def _checked_log1p(X: np.ndarray) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if (arr < 0).any():
        raise ValueError("log1p features must be non-negative; use log_counts=False")
    return np.log1p(arr)


def _aligned_labels(X: pd.DataFrame, y: pd.Series, name: str) -> np.ndarray:
    if not isinstance(X, pd.DataFrame) or not isinstance(y, pd.Series):
        raise TypeError(
            f"{name}: pass X as a DataFrame and y as a Series, both indexed by window id, so "
            "labels are aligned by id"
        )
    if X.index.has_duplicates or y.index.has_duplicates:
        raise ValueError(f"{name}: duplicate window ids")
    missing = X.index.difference(y.index)
    extra = y.index.difference(X.index)
    if len(missing) or len(extra):
        raise ValueError(
            f"{name}: window ids differ between X and y ({len(missing)} only in X, e.g. "
            f"{list(missing[:3])}; {len(extra)} only in y, e.g. {list(extra[:3])})"
        )
    labels = y.reindex(X.index)
    if labels.isna().any():
        raise ValueError(f"{name}: {int(labels.isna().sum())} labels are missing")
    return labels.to_numpy().astype(bool)


def evaluate_detector(estimator: object, X: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    """Precision, recall, F1 of ``predict`` and PR-AUC of ``score_samples`` on one period.

    ``X`` (DataFrame) and ``y`` (bool Series) are aligned by window id.
    """
    truth = _aligned_labels(X, y, "evaluate_detector")
    scores = np.asarray(estimator.score_samples(X))
    final = _final_step(estimator)
    if isinstance(final, _WindowDetector):
        pred = scores > final.threshold_  # what predict computes, without scoring twice
    else:
        pred = np.asarray(estimator.predict(X)).astype(bool)
    return {
        "precision": float(precision_score(truth, pred, zero_division=0)),
        "recall": float(recall_score(truth, pred, zero_division=0)),
        "f1": float(f1_score(truth, pred, zero_division=0)),
        "pr_auc": float(average_precision_score(truth, scores)) if truth.any() else float("nan"),
        "n_alerts": float(pred.sum()),
        "n_windows": float(truth.size),
        "n_anomalous": float(truth.sum()),
    }


@dataclass(frozen=True)
class TuningResult:
    """Outcome of :func:`tune_on_validation`.

    Attributes
    ----------
    best_params : dict
        Configuration with the highest validation F1 (first in grid order on ties).
    best_estimator : estimator
        That configuration, fitted on the training windows only.
    table : DataFrame
        One row per configuration: its parameters and validation metrics.
    models : tuple
        Every configuration, fitted on the training windows, in grid order (row ``i`` of
        ``table`` describes ``models[i]``).
    """

    best_params: dict[str, object]
    best_estimator: object
    table: pd.DataFrame
    models: tuple[object, ...] = ()


def parameter_grid(grid: Mapping[str, Sequence[object]]) -> list[dict[str, object]]:
    """All combinations of a ``{name: values}`` grid, in a deterministic order."""
    keys = list(grid)
    for key in keys:
        if isinstance(grid[key], str) or not len(grid[key]):
            raise ValueError(f"grid[{key!r}] must be a non-empty list of values")
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def tune_on_validation(
    estimator: object,
    grid: Mapping[str, Sequence[object]],
    X_train: pd.DataFrame,
    X_val: pd.DataFrame,
    y_val: pd.Series,
) -> TuningResult:
    """Choose hyperparameters by F1 on a validation period; never sees test data.

    Each configuration is fitted on ``X_train`` (no labels: the detectors are unsupervised) and
    judged by F1 of its ``predict`` on ``X_val`` against ``y_val`` (aligned by window id).

    Parameters
    ----------
    estimator : estimator
        Template estimator (e.g. from :func:`make_window_detector`); cloned per configuration.
    grid : mapping
        ``{parameter name: values}`` passed to ``set_params``.
    X_train, X_val : DataFrame
        Window features of the training and validation periods, indexed by window id.
    y_val : Series
        Validation window labels (bool), indexed by window id.
    """
    _check_X(X_train, "X_train")
    _aligned_labels(X_val, y_val, "tune_on_validation")
    configs = parameter_grid(grid)
    threshold_only = _threshold_param_names(estimator)
    fitted: dict[str, object] = {}
    rows = []
    models = []
    best_i, best_f1, best_model = -1, -1.0, None
    for i, params in enumerate(configs):
        key = repr(sorted((k, repr(v)) for k, v in params.items() if k not in threshold_only))
        if key in fitted:
            # same model, other threshold: reuse the fit (identical to refitting, and faster)
            model = copy.deepcopy(fitted[key]).set_params(**params)
            _final_step(model).refit_threshold()
        else:
            model = clone(estimator).set_params(**params).fit(X_train)
            fitted[key] = model
        models.append(model)
        metrics = evaluate_detector(model, X_val, y_val)
        rows.append({**params, **{f"val_{k}": v for k, v in metrics.items()}})
        if metrics["f1"] > best_f1:
            best_i, best_f1, best_model = i, metrics["f1"], model
    table = pd.DataFrame(rows)
    return TuningResult(
        best_params=configs[best_i], best_estimator=best_model, table=table, models=tuple(models)
    )


def _final_step(estimator: object) -> object:
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _threshold_param_names(estimator: object) -> set[str]:
    """Grid keys that only move the threshold of the (final) detector."""
    final = _final_step(estimator)
    names = set(getattr(final, "_threshold_params", ()))
    if isinstance(estimator, Pipeline):
        return {f"{estimator.steps[-1][0]}__{n}" for n in names}
    return names
