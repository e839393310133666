"""Window detectors and honest validation-period tuning.

The detectors are the package's own (:mod:`anomaly_tutorial.detectors`): windows are rows like
any other, so the same Isolation Forest, DBSCAN and HDBSCAN estimators score them, with the
package convention (higher score = more anomalous, ``predict`` = 1 for an alert against
``threshold_``). :func:`make_window_detector` puts one of them behind ``log1p`` and a
``StandardScaler`` fitted on the training windows:

* ``"isolation_forest"``: :class:`~anomaly_tutorial.detectors.IsolationForestDetector`, alert
  threshold at the ``1 - contamination`` quantile of the training scores;
* ``"dbscan"``: :class:`~anomaly_tutorial.detectors.DBSCANDetector` with ``threshold=1.0``:
  the score is the distance to the nearest training core sample in units of ``eps``, so a
  window alerts exactly when DBSCAN would call it noise (on the training windows this is
  DBSCAN's own label);
* ``"hdbscan"``: :class:`~anomaly_tutorial.detectors.HDBSCANDetector`, a GLOSH-style outlier
  score that can score new windows, alert threshold from ``contamination``;
* ``"feature_threshold"``: :class:`FeatureThresholdDetector`, the one-column baseline.

**Tuning.** :func:`tune_on_validation` fits each configuration on the training windows and
scores it on the validation windows only; it takes no test data. Evaluating the chosen model on
the test period is a separate call (:func:`evaluate_windows`). Passing the test period as
"validation" reproduces the common mistake of tuning on test labels, which is how the book
measures its optimistic bias.

Public objects: :data:`WINDOW_DETECTORS`, :class:`FeatureThresholdDetector`,
:func:`make_window_detector`, :func:`evaluate_windows`, :class:`TuningResult`,
:func:`parameter_grid`, :func:`tune_on_validation`, :func:`report_on_test`.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from anomaly_tutorial.detectors import BaseDetector, check_contamination, make_detector

__all__ = [
    "WINDOW_DETECTORS",
    "FeatureThresholdDetector",
    "TuningResult",
    "evaluate_windows",
    "make_window_detector",
    "parameter_grid",
    "report_on_test",
    "tune_on_validation",
]


class FeatureThresholdDetector(BaseDetector):
    """Baseline: one feature column as the score, thresholded at a training quantile.

    Parameters
    ----------
    feature : int, default=0
        Column used as the score. After ``log1p`` and scaling (monotone), the ranking is that
        of the raw feature.
    contamination : float, default=0.05
        Share of training windows above ``threshold_`` when ``threshold`` is None.
    threshold : float or None, default=None
        Explicit score threshold.

    Attributes
    ----------
    threshold_ : float
        Score above which :meth:`predict` returns 1.
    """

    def __init__(
        self, feature: int = 0, contamination: float = 0.05, threshold: float | None = None
    ) -> None:
        self.feature = feature
        self.contamination = contamination
        self.threshold = threshold

    def _fit(self, X: np.ndarray) -> None:
        if isinstance(self.feature, bool) or not isinstance(self.feature, int | np.integer):
            raise ValueError(f"feature must be a column number, got {self.feature!r}")
        if not 0 <= int(self.feature) < X.shape[1]:
            raise ValueError(
                f"feature={self.feature!r} is not a column of X ({X.shape[1]} columns)"
            )

    def _score(self, X: np.ndarray) -> np.ndarray:
        return X[:, int(self.feature)].copy()


#: Names accepted by :func:`make_window_detector`, each a factory of an unfitted detector.
WINDOW_DETECTORS: dict[str, Callable[..., BaseDetector]] = {
    "isolation_forest": lambda **params: make_detector("iforest", **params),
    "dbscan": lambda **params: make_detector("dbscan", **{"threshold": 1.0, **params}),
    "hdbscan": lambda **params: make_detector("hdbscan", **params),
    "feature_threshold": FeatureThresholdDetector,
}

#: Parameters that only move ``threshold_``: the tuner reuses a fit when only these differ.
_THRESHOLD_PARAMS = ("contamination",)


def make_window_detector(name: str, *, log_counts: bool = True, **params: object) -> Pipeline:
    """Pipeline ``[log1p] -> StandardScaler -> detector`` (scaler fitted on training windows).

    ``log1p`` (on by default) tames count features; it needs non-negative features. Grid keys
    for tuning take the ``detector__`` prefix, e.g. ``{"detector__eps": [1.0, 2.0]}``.

    Parameters
    ----------
    name : str
        A key of :data:`WINDOW_DETECTORS`.
    log_counts : bool, default=True
        Apply ``log1p`` before scaling.
    **params
        Parameters of the detector (``"dbscan"`` defaults to ``threshold=1.0``, DBSCAN's
        noise rule).
    """
    if name not in WINDOW_DETECTORS:
        raise KeyError(f"unknown detector {name!r}; choose one of {sorted(WINDOW_DETECTORS)}")
    steps: list[tuple[str, object]] = []
    if log_counts:
        steps.append(("log1p", FunctionTransformer(_checked_log1p)))
    steps.append(("scale", StandardScaler()))
    steps.append(("detector", WINDOW_DETECTORS[name](**params)))
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


def evaluate_windows(estimator: object, X: pd.DataFrame, y: pd.Series) -> dict[str, float | int]:
    """Precision, recall, F1 of ``predict`` and PR-AUC of ``score_samples`` on one period.

    ``X`` (DataFrame) and ``y`` (bool Series) are aligned by window id. (The time-series
    module's :func:`anomaly_tutorial.timeseries.evaluate_detector` is a different function, for
    metric series.)
    """
    truth = _aligned_labels(X, y, "evaluate_windows")
    scores = np.asarray(estimator.score_samples(X))
    final = _final_step(estimator)
    if isinstance(final, BaseDetector):
        pred = scores > final.threshold_  # what predict computes, without scoring twice
    else:
        pred = np.asarray(estimator.predict(X)).astype(bool)
    return {
        "precision": float(precision_score(truth, pred, zero_division=0)),
        "recall": float(recall_score(truth, pred, zero_division=0)),
        "f1": float(f1_score(truth, pred, zero_division=0)),
        "pr_auc": float(average_precision_score(truth, scores)) if truth.any() else float("nan"),
        "n_alerts": int(pred.sum()),
        "n_windows": int(truth.size),
        "n_anomalous": int(truth.sum()),
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
    if not isinstance(X_train, pd.DataFrame) or X_train.shape[0] == 0:
        raise ValueError("X_train: pass the training windows as a non-empty DataFrame")
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
            _refit_threshold(_final_step(model))
        else:
            model = clone(estimator).set_params(**params).fit(X_train)
            fitted[key] = model
        models.append(model)
        metrics = evaluate_windows(model, X_val, y_val)
        rows.append({**params, **{f"val_{k}": v for k, v in metrics.items()}})
        if metrics["f1"] > best_f1:
            best_i, best_f1, best_model = i, metrics["f1"], model
    table = pd.DataFrame(rows)
    return TuningResult(
        best_params=configs[best_i], best_estimator=best_model, table=table, models=tuple(models)
    )


def report_on_test(
    tuned: Mapping[str, TuningResult], X_test: pd.DataFrame, y_test: pd.Series
) -> pd.DataFrame:
    """One row per method: what validation chose, and how the chosen model does on test.

    Parameters
    ----------
    tuned : mapping of name -> TuningResult
        Outputs of :func:`tune_on_validation`.
    X_test : DataFrame
        Test-period window features, indexed by window id.
    y_test : Series
        Test-period window labels (bool), indexed by window id.

    Returns
    -------
    DataFrame
        Indexed by method: ``chosen on validation`` (the parameters, ``detector__`` prefix
        dropped), ``validation F1`` (the best of the grid), then the columns of
        :func:`evaluate_windows` on the test period.
    """
    rows = {}
    for name, result in tuned.items():
        chosen = ", ".join(
            f"{k.removeprefix('detector__')}={v}" for k, v in result.best_params.items()
        )
        rows[name] = {
            "chosen on validation": chosen,
            "validation F1": float(result.table["val_f1"].max()),
            **evaluate_windows(result.best_estimator, X_test, y_test),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _final_step(estimator: object) -> object:
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _threshold_param_names(estimator: object) -> set[str]:
    """Grid keys that only move the threshold of the (final) detector."""
    if not isinstance(_final_step(estimator), BaseDetector):
        return set()
    if isinstance(estimator, Pipeline):
        return {f"{estimator.steps[-1][0]}__{n}" for n in _THRESHOLD_PARAMS}
    return set(_THRESHOLD_PARAMS)


def _refit_threshold(detector: BaseDetector) -> None:
    """Set ``threshold_`` for a new ``contamination`` from the stored training scores.

    The same rule as :meth:`BaseDetector.fit`, so the result equals a full refit (a test
    checks it) without refitting the model.
    """
    if detector.threshold is None:
        rate = check_contamination(detector.contamination)
        detector.threshold_ = float(np.quantile(detector.training_scores_, 1.0 - rate))
