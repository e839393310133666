"""Threshold policies: choose when a score becomes an alert, on one period, for the next.

Every policy is fitted on the scores of a **validation** period (with labels where it needs
them, with the scores' times where it counts alerts per day or hour) and then applied unchanged
to a later period. Fitting stores a :class:`ThresholdDecision`: what was chosen (a score
threshold; an alert is ``score >= threshold``), why, and what it gave on the period it was
chosen on (alerts per day, precision, recall). A decision saves to and loads from JSON
(validated on load) and can flag new scores on its own, so it is what a deployment keeps.

Policies
--------
:class:`ContaminationQuantile`
    The ``1 - contamination`` quantile of the scores (what the detectors do by default).
:class:`BestFBeta`
    The point of the validation precision-recall curve with the best F-beta.
:class:`AlertBudget`
    The lowest threshold at which no day (or hour) of the validation period has more than
    ``max_alerts`` alerts.
:class:`ExpectedCost`
    The threshold that minimises ``false_alarm_cost * FP + miss_cost * FN`` on validation.
:class:`BenjaminiHochberg`
    Conformal p-values against the validation scores, then BH at level ``q`` on each new
    batch (Bates et al., 2023); the only policy whose score cutoff adapts to the batch.
:class:`MADFence`, :class:`IQRFence`, :class:`Otsu`
    Unsupervised thresholders that need no labels: a robust z-score fence, Tukey's fence and
    Otsu's (1979) histogram split.

Also :func:`load_decision` and :data:`POLICIES` (policy name -> class).
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.metrics import precision_recall_curve
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial.evaluate.metrics import as_binary, as_scores
from anomaly_tutorial.evaluate.thresholds import threshold_from_contamination
from anomaly_tutorial.stats import mad_scale
from anomaly_tutorial.thresholds.calibration import (
    ConformalCalibrator,
    _check_level,
    benjamini_hochberg,
)

__all__ = [
    "POLICIES",
    "AlertBudget",
    "BenjaminiHochberg",
    "BestFBeta",
    "ContaminationQuantile",
    "ExpectedCost",
    "IQRFence",
    "MADFence",
    "Otsu",
    "ThresholdDecision",
    "ThresholdPolicy",
    "alerts_per_bucket",
    "load_decision",
]

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
BUCKET_MS = {"day": DAY_MS, "hour": HOUR_MS}
DECISION_FORMAT = 1


def _above(value: float) -> float:
    """The next float above ``value``: turns a strict rule ``score > value`` into ``>=``."""
    return float(np.nextafter(float(value), np.inf))


def _optional_float(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"decision: {name} must be a number or null, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ThresholdDecision:
    """What a policy chose on its fitting period, and why.

    Attributes
    ----------
    policy : str
        The policy's name (a key of :data:`POLICIES`).
    params : dict
        The policy's parameters.
    threshold : float or None
        Alert when ``score >= threshold``. ``None`` for Benjamini-Hochberg, whose cutoff is
        recomputed on every batch from :attr:`calibration_scores`.
    reason : str
        One sentence: how the threshold was chosen.
    n_scores : int
        How many scores the choice was made on.
    period_days : float or None
        Length of that period in days (when given), for the rates below.
    n_alerts : int or None
        Alerts on that period at this threshold.
    alerts_per_day : float or None
        ``n_alerts / period_days``: what the policy expects to cost per day.
    precision, recall : float or None
        On that period, when labels were given.
    calibration_scores : tuple of float or None
        Benjamini-Hochberg only: the calibration scores of the conformal p-values.
    """

    policy: str
    params: dict[str, Any]
    threshold: float | None
    reason: str
    n_scores: int
    period_days: float | None = None
    n_alerts: int | None = None
    alerts_per_day: float | None = None
    precision: float | None = None
    recall: float | None = None
    calibration_scores: tuple[float, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(
                f"decision: unknown policy {self.policy!r}; known: {', '.join(POLICIES)}"
            )
        if not isinstance(self.params, dict):
            raise ValueError(f"decision: params must be a mapping, got {self.params!r}")
        names = set(POLICIES[self.policy]._get_param_names())
        unknown = sorted(set(self.params) - names)
        if unknown:
            raise ValueError(f"decision: policy {self.policy!r} has no parameter(s) {unknown}")
        missing = sorted(names - set(self.params))
        if missing:
            raise ValueError(f"decision: policy {self.policy!r} misses parameter(s) {missing}")
        try:
            POLICIES[self.policy](**self.params)._check_params()
        except ValueError as err:
            raise ValueError(f"decision: {err}") from None
        threshold = _optional_float(self.threshold, "threshold")
        if threshold is not None and not math.isfinite(threshold):
            raise ValueError(f"decision: threshold must be finite, got {self.threshold!r}")
        if self.policy == "benjamini_hochberg":
            if threshold is not None or not self.calibration_scores:
                raise ValueError(
                    "decision: a benjamini_hochberg decision has threshold null and a non-empty "
                    "list of calibration_scores"
                )
            calibration = as_scores(
                np.asarray(self.calibration_scores, dtype="float64"), "calibration_scores"
            )
            object.__setattr__(self, "calibration_scores", tuple(calibration.tolist()))
            _check_level(self.params.get("q"), "q")
        elif threshold is None:
            raise ValueError(f"decision: policy {self.policy!r} needs a numeric threshold")
        object.__setattr__(self, "threshold", threshold)
        if not isinstance(self.reason, str) or not self.reason:
            raise ValueError("decision: reason must be a non-empty string")
        if isinstance(self.n_scores, bool) or not isinstance(self.n_scores, int):
            raise ValueError(f"decision: n_scores must be an integer, got {self.n_scores!r}")
        if self.n_scores < 1:
            raise ValueError(f"decision: n_scores must be at least 1, got {self.n_scores}")
        for name in ("period_days", "alerts_per_day", "precision", "recall"):
            object.__setattr__(self, name, _optional_float(getattr(self, name), name))
        if self.period_days is not None and not self.period_days > 0:
            raise ValueError(f"decision: period_days must be positive, got {self.period_days}")
        for name in ("precision", "recall"):
            value = getattr(self, name)
            if value is not None and not (0.0 <= value <= 1.0 or math.isnan(value)):
                raise ValueError(f"decision: {name} must lie in [0, 1], got {value}")
        if self.n_alerts is not None and (
            isinstance(self.n_alerts, bool)
            or not isinstance(self.n_alerts, int)
            or self.n_alerts < 0
        ):
            raise ValueError(
                f"decision: n_alerts must be a non-negative integer, got {self.n_alerts!r}"
            )

    def flag(self, scores: ArrayLike) -> np.ndarray:
        """Alerts (bool array) for a batch of new scores.

        Raises
        ------
        ValueError
            If a score is NaN or infinite, or ``scores`` is empty or not 1-d.
        """
        s = as_scores(np.asarray(scores), "scores")
        if self.threshold is not None:
            return s >= self.threshold
        calibrator = ConformalCalibrator().fit(np.asarray(self.calibration_scores))
        return benjamini_hochberg(calibrator.p_values(s), self.params["q"])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes ``null``)."""
        out = asdict(self)
        out["calibration_scores"] = (
            list(self.calibration_scores) if self.calibration_scores is not None else None
        )
        for name in ("precision", "recall", "alerts_per_day"):
            if out[name] is not None and math.isnan(out[name]):
                out[name] = None
        return {"format": DECISION_FORMAT, **out}

    def to_json(self) -> str:
        """The decision as a JSON text."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False)

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` and return the path."""
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Any) -> ThresholdDecision:
        """Rebuild a decision from :meth:`to_dict`'s output, validating every field.

        Raises
        ------
        ValueError
            On a wrong format version, a missing or unknown field, or an invalid value; the
            message names the field.
        """
        if not isinstance(data, dict):
            raise ValueError(f"decision: expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("format", None)
        if version != DECISION_FORMAT:
            raise ValueError(f"decision: format must be {DECISION_FORMAT}, got {version!r}")
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"decision: unknown field(s) {unknown}")
        required = {"policy", "params", "threshold", "reason", "n_scores"}
        missing = sorted(required - set(data))
        if missing:
            raise ValueError(f"decision: missing field(s) {missing}")
        if data.get("calibration_scores") is not None:
            if not isinstance(data["calibration_scores"], list):
                raise ValueError("decision: calibration_scores must be a list of numbers")
            data["calibration_scores"] = tuple(data["calibration_scores"])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> ThresholdDecision:
        """Parse and validate a decision written by :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"decision: not valid JSON ({err})") from None
        return cls.from_dict(data)


def load_decision(path: str | Path) -> ThresholdDecision:
    """Read a decision saved with :meth:`ThresholdDecision.save`, validating it."""
    return ThresholdDecision.from_json(Path(path).read_text(encoding="utf-8"))


def _as_times(times: ArrayLike, n: int) -> np.ndarray:
    t = np.asarray(times)
    if t.ndim != 1:
        raise ValueError(f"times: expected a 1-d array of epoch milliseconds, got shape {t.shape}")
    if t.size != n:
        raise ValueError(f"times and scores must have the same length, got {t.size} and {n}")
    if t.dtype == bool or not np.issubdtype(t.dtype, np.number):
        raise ValueError(f"times: must be numeric epoch milliseconds, got dtype {t.dtype}")
    t = t.astype("float64")
    bad = ~np.isfinite(t)
    if bad.any():
        raise ValueError(
            f"times: {int(bad.sum())} value(s) are NaN or infinite "
            f"(first at position {int(np.flatnonzero(bad)[0])})"
        )
    return t


def alerts_per_bucket(
    alerts: ArrayLike,
    times: ArrayLike,
    per: str = "day",
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> np.ndarray:
    """Number of alerts in each UTC day (or hour) of a period, empty buckets included.

    Parameters
    ----------
    alerts : array-like of bool
        One flag per scored item.
    times : array-like
        Epoch milliseconds of the items.
    per : {"day", "hour"}
    start_ms, end_ms : int, optional
        The period (``end_ms`` exclusive); defaults to the buckets spanned by ``times``.

    Returns
    -------
    numpy.ndarray of int
        Alerts per bucket, in time order.
    """
    if per not in BUCKET_MS:
        raise ValueError(f"per: must be 'day' or 'hour', got {per!r}")
    flags = as_binary(alerts, "alerts")
    t = _as_times(times, flags.size)
    width = BUCKET_MS[per]
    bucket = np.floor(t / width).astype("int64")
    first = bucket.min() if start_ms is None else int(start_ms) // width
    last = bucket.max() if end_ms is None else (int(end_ms) - 1) // width
    if bucket.min() < first or bucket.max() > last:
        raise ValueError("times: some times fall outside [start_ms, end_ms)")
    return np.bincount(bucket[flags] - first, minlength=int(last - first + 1))


class ThresholdPolicy(BaseEstimator):
    """Base class: validation, the decision record and ``predict``.

    Subclasses set :attr:`name`, :attr:`needs_labels` / :attr:`needs_times` and implement
    ``_choose(scores, y, times) -> (threshold, reason)``.

    Attributes
    ----------
    threshold_ : float or None
        The chosen threshold (``None`` for Benjamini-Hochberg).
    decision_ : ThresholdDecision
        What was chosen, why, and what it gave on the fitting period.
    """

    name: ClassVar[str] = ""
    needs_labels: ClassVar[bool] = False
    needs_times: ClassVar[bool] = False

    def fit(
        self,
        scores: ArrayLike,
        y: ArrayLike | None = None,
        *,
        times: ArrayLike | None = None,
        period_days: float | None = None,
    ) -> ThresholdPolicy:
        """Choose the threshold on one period's scores.

        Parameters
        ----------
        scores : array-like
            Anomaly scores of the period (higher = more anomalous), finite.
        y : array-like of bool, optional
            Ground truth (True = anomalous); required by the supervised policies and used by
            every policy to report precision and recall on the period.
        times : array-like, optional
            Epoch milliseconds of the scores; required by :class:`AlertBudget`.
        period_days : float, optional
            Length of the period in days, for the expected alerts per day (for the book's
            validation period: ``book_split().days["validation"]``).

        Raises
        ------
        ValueError
            NaN or infinite scores (the message gives the rows), empty scores, labels or times
            of another length, missing labels or times for a policy that needs them, or an
            invalid parameter (the message names it).
        """
        s = as_scores(np.asarray(scores), "scores")
        labels = None
        if y is not None:
            labels = as_binary(np.asarray(y), "y")
            if labels.size != s.size:
                raise ValueError(
                    f"y and scores must have the same length, got {labels.size} and {s.size}"
                )
        elif self.needs_labels:
            raise ValueError(f"{type(self).__name__}: y (validation labels) is required")
        t = None
        if times is not None:
            t = _as_times(times, s.size)
        elif self.needs_times:
            raise ValueError(f"{type(self).__name__}: times (epoch milliseconds) are required")
        if period_days is not None:
            if isinstance(period_days, bool) or not isinstance(period_days, numbers.Real):
                raise ValueError(f"period_days: must be a positive number, got {period_days!r}")
            if not float(period_days) > 0:
                raise ValueError(f"period_days: must be positive, got {period_days!r}")
        self._check_params()
        threshold, reason = self._choose(s, labels, t)
        self.threshold_ = threshold
        self.decision_ = self._decision(s, labels, threshold, reason, period_days)
        return self

    def _check_params(self) -> None:
        """Raise ValueError naming the parameter when one is invalid."""

    def _choose(
        self, scores: np.ndarray, y: np.ndarray | None, times: np.ndarray | None
    ) -> tuple[float | None, str]:
        raise NotImplementedError

    def _decision(
        self,
        scores: np.ndarray,
        y: np.ndarray | None,
        threshold: float | None,
        reason: str,
        period_days: float | None,
    ) -> ThresholdDecision:
        n_alerts = precision = recall = per_day = None
        if threshold is not None:
            flags = scores >= threshold
            n_alerts = int(flags.sum())
            per_day = n_alerts / float(period_days) if period_days else None
            if y is not None:
                tp = int((flags & y).sum())
                precision = tp / n_alerts if n_alerts else float("nan")
                recall = tp / int(y.sum()) if y.any() else float("nan")
        return ThresholdDecision(
            policy=self.name,
            params=self.get_params(),
            threshold=threshold,
            reason=reason,
            n_scores=int(scores.size),
            period_days=float(period_days) if period_days else None,
            n_alerts=n_alerts,
            alerts_per_day=per_day,
            precision=precision,
            recall=recall,
            calibration_scores=self._calibration_scores(),
        )

    def _calibration_scores(self) -> tuple[float, ...] | None:
        return None

    def predict(self, scores: ArrayLike) -> np.ndarray:
        """Alerts (bool array) for new scores, with the decision made in :meth:`fit`."""
        check_is_fitted(self, "decision_")
        return self.decision_.flag(scores)

    def save(self, path: str | Path) -> Path:
        """Save the fitted decision as JSON (see :func:`load_decision`)."""
        check_is_fitted(self, "decision_")
        return self.decision_.save(path)


def _positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: must be a positive number, got {value!r}")
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"{name}: must be a positive finite number, got {value!r}")
    return float(value)


class ContaminationQuantile(ThresholdPolicy):
    """Alert on the top ``contamination`` share of the fitting period's scores.

    Parameters
    ----------
    contamination : float, default 0.01
        Expected share of alerts, in (0, 0.5).

    Notes
    -----
    What the package's detectors do by default (on their *training* scores, which are
    optimistically low for a flexible model; here on validation scores). It fixes the alert
    *rate*, not the count: a day with twice the traffic gets twice the alerts.
    """

    name = "contamination"

    def __init__(self, contamination: float = 0.01) -> None:
        self.contamination = contamination

    def _check_params(self) -> None:
        value = self.contamination
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"contamination must be a number, got {value!r}")
        if not 0.0 < float(value) < 0.5:
            raise ValueError(f"contamination must be strictly between 0 and 0.5, got {value!r}")

    def _choose(self, scores, y, times):
        threshold = threshold_from_contamination(scores, self.contamination)
        return threshold, (
            f"the {1 - self.contamination:.4g} quantile of {scores.size:,} scores, so that a "
            f"share {self.contamination:.4g} of them alerts"
        )


class BestFBeta(ThresholdPolicy):
    """The threshold with the best F-beta on labelled validation scores.

    Parameters
    ----------
    beta : float, default 1.0
        Weight of recall against precision (``beta > 1`` favours recall).

    Notes
    -----
    Read off :func:`sklearn.metrics.precision_recall_curve`; among equally good thresholds
    the highest (fewest alerts) is kept. The F-beta reached on validation is an optimistic
    estimate of the test F-beta: it is a maximum over many thresholds.
    """

    name = "best_fbeta"
    needs_labels = True

    def __init__(self, beta: float = 1.0) -> None:
        self.beta = beta

    def _check_params(self) -> None:
        _positive(self.beta, "beta")

    def _choose(self, scores, y, times):
        if not y.any():
            raise ValueError("y: no anomalous item on the fitting period; F-beta is undefined")
        precision, recall, thresholds = precision_recall_curve(y, scores)
        precision, recall = precision[:-1], recall[:-1]
        b2 = float(self.beta) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            fbeta = (1 + b2) * precision * recall / (b2 * precision + recall)
        fbeta = np.nan_to_num(fbeta, nan=0.0)
        best = np.flatnonzero(fbeta == fbeta.max())[-1]
        return float(thresholds[best]), (
            f"the best F{self.beta:g} ({fbeta[best]:.3f}) on the precision-recall curve of "
            f"{scores.size:,} labelled scores"
        )


class AlertBudget(ThresholdPolicy):
    """The lowest threshold that keeps every day (or hour) within ``max_alerts`` alerts.

    Parameters
    ----------
    max_alerts : int, default 20
        Most alerts allowed in any one bucket of the fitting period.
    per : {"day", "hour"}, default "day"
        Bucket length; buckets are UTC days or hours.

    Notes
    -----
    In each bucket with more than ``max_alerts`` scores, the threshold must lie above its
    ``(max_alerts + 1)``-th highest score; the policy takes the largest of these bounds, so the
    budget holds on *every* bucket of the fitting period (ties can leave a bucket below its
    budget). On a later period nothing guarantees it: a busier day or an incident burst
    exceeds it, which is what the chapter measures.
    """

    name = "alert_budget"
    needs_times = True

    def __init__(self, max_alerts: int = 20, per: str = "day") -> None:
        self.max_alerts = max_alerts
        self.per = per

    def _check_params(self) -> None:
        if (
            isinstance(self.max_alerts, bool)
            or not isinstance(self.max_alerts, numbers.Integral)
            or self.max_alerts < 0
        ):
            raise ValueError(f"max_alerts: must be a non-negative integer, got {self.max_alerts!r}")
        if self.per not in BUCKET_MS:
            raise ValueError(f"per: must be 'day' or 'hour', got {self.per!r}")

    def _choose(self, scores, y, times):
        bucket = np.floor(times / BUCKET_MS[self.per]).astype("int64")
        order = np.lexsort((-scores, bucket))
        b, s = bucket[order], scores[order]
        starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
        sizes = np.diff(np.r_[starts, b.size])
        over = sizes > self.max_alerts
        if over.any():
            bounds = s[starts[over] + int(self.max_alerts)]
            threshold = _above(bounds.max())
        else:  # no bucket has more scores than the budget: everything may alert
            threshold = float(scores.min())
        worst = int(np.bincount(bucket - bucket.min(), weights=scores >= threshold).max())
        return threshold, (
            f"the lowest threshold at which no {self.per} of the period has more than "
            f"{self.max_alerts} alerts (busiest {self.per}: {worst})"
        )


class ExpectedCost(ThresholdPolicy):
    """The threshold that minimises the cost of false alarms and misses on validation.

    Parameters
    ----------
    false_alarm_cost : float, default 1.0
        Cost of one alert on a normal item (an analyst's time).
    miss_cost : float, default 20.0
        Cost of one anomalous item without an alert.

    Notes
    -----
    The cost is ``false_alarm_cost * FP + miss_cost * FN`` over the labelled period; only
    the ratio of the two costs matters. Costs are per *item* (event, metric point, session),
    not per incident: missing one event of an incident that is caught anyway costs as much as
    missing the whole incident, a simplification to keep in mind.
    """

    name = "expected_cost"
    needs_labels = True

    def __init__(self, false_alarm_cost: float = 1.0, miss_cost: float = 20.0) -> None:
        self.false_alarm_cost = false_alarm_cost
        self.miss_cost = miss_cost

    def _check_params(self) -> None:
        _positive(self.false_alarm_cost, "false_alarm_cost")
        _positive(self.miss_cost, "miss_cost")

    def _choose(self, scores, y, times):
        order = np.argsort(-scores, kind="stable")
        s, labels = scores[order], y[order]
        # Candidate k: alert on the k highest scores, cut only between distinct scores.
        tp = np.r_[0, np.cumsum(labels)]
        fp = np.r_[0, np.cumsum(~labels)]
        cuts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1, s.size]
        cost = self.false_alarm_cost * fp[cuts] + self.miss_cost * (labels.sum() - tp[cuts])
        best = int(np.flatnonzero(cost == cost.min())[0])  # fewest alerts among the cheapest
        k = int(cuts[best])
        threshold = _above(s[0]) if k == 0 else float(s[k - 1])
        return threshold, (
            f"the lowest total cost ({cost[best]:,.0f}) at {self.false_alarm_cost:g} per false "
            f"alarm and {self.miss_cost:g} per missed anomalous item"
        )


class BenjaminiHochberg(ThresholdPolicy):
    """False-discovery control: BH at level ``q`` on conformal p-values.

    Parameters
    ----------
    q : float, default 0.1
        Target false discovery rate (expected share of false alarms among the alerts).
    calibrate_on : {"normal", "all"}, default "normal"
        Calibrate the p-values on the fitting period's normal items (needs labels) or on all
        of its scores (no labels; anomalies in it make the p-values conservative).

    Attributes
    ----------
    calibration_scores_ : numpy.ndarray
        The sorted calibration scores of the conformal p-values.

    Notes
    -----
    Bates et al. (2023) show that BH on conformal p-values controls the FDR when the normal
    items of the new batch are exchangeable with the calibration scores. The score cutoff is
    recomputed for every batch passed to :meth:`predict` (a day, the whole test period), so
    the decision stores the calibration scores rather than a threshold. Traffic that drifts
    away from the calibration period (another weekday mix, a new release) breaks
    exchangeability, and the measured FDR can then exceed ``q``.
    """

    name = "benjamini_hochberg"

    def __init__(self, q: float = 0.1, calibrate_on: str = "normal") -> None:
        self.q = q
        self.calibrate_on = calibrate_on

    @property
    def needs_labels(self) -> bool:  # type: ignore[override]
        return self.calibrate_on == "normal"

    def _check_params(self) -> None:
        _check_level(self.q, "q")
        if self.calibrate_on not in ("normal", "all"):
            raise ValueError(f"calibrate_on: must be 'normal' or 'all', got {self.calibrate_on!r}")

    def _choose(self, scores, y, times):
        calibration = scores[~y] if self.calibrate_on == "normal" else scores
        if calibration.size == 0:
            raise ValueError("calibration set is empty: no normal item on the fitting period")
        self.calibration_scores_ = np.sort(calibration)
        return None, (
            f"Benjamini-Hochberg at q = {self.q:g} on conformal p-values against "
            f"{calibration.size:,} calibration scores ({self.calibrate_on} items); the cutoff "
            "is recomputed on each batch"
        )

    def _calibration_scores(self) -> tuple[float, ...] | None:
        return tuple(self.calibration_scores_.tolist())

    def p_values(self, scores: ArrayLike) -> np.ndarray:
        """Conformal p-values of new scores against the calibration scores."""
        check_is_fitted(self, "calibration_scores_")
        return ConformalCalibrator().fit(self.calibration_scores_).p_values(scores)


class MADFence(ThresholdPolicy):
    """Robust z-score fence: alert when ``score > median + k * 1.4826 * MAD``.

    Parameters
    ----------
    k : float, default 3.5
        Fence in robust standard deviations (Iglewicz & Hoaglin recommend 3.5).

    Notes
    -----
    Needs no labels. When more than half of the scores are equal (a detector that gives most
    items 0), the MAD is 0 and every score above the median alerts: check the decision's
    alerts per day before trusting it. PyThresh's ``MAD`` thresholder uses another formula
    (the mean plus the MAD divided by the standard deviation, on min-max normalised scores).
    """

    name = "mad_fence"

    def __init__(self, k: float = 3.5) -> None:
        self.k = k

    def _check_params(self) -> None:
        _positive(self.k, "k")

    def _choose(self, scores, y, times):
        median, scale = float(np.median(scores)), float(mad_scale(scores))
        note = " (the MAD is 0: every score above the median alerts)" if scale == 0 else ""
        return _above(median + self.k * scale), (
            f"median {median:.4g} + {self.k:g} x robust sd {scale:.4g} of the scores{note}"
        )


class IQRFence(ThresholdPolicy):
    """Tukey's fence: alert when ``score > Q3 + k * (Q3 - Q1)``.

    Parameters
    ----------
    k : float, default 1.5
        Tukey's 1.5 ("outside") or 3 ("far out").

    Notes
    -----
    Needs no labels. Quartiles use numpy's ``midpoint`` rule, as PyThresh's ``IQR`` does,
    so the two agree exactly (a test checks it). Like the MAD fence it degenerates when most
    scores are tied.
    """

    name = "iqr_fence"

    def __init__(self, k: float = 1.5) -> None:
        self.k = k

    def _check_params(self) -> None:
        _positive(self.k, "k")

    def _choose(self, scores, y, times):
        q1, q3 = np.percentile(scores, [25, 75], method="midpoint")
        return _above(q3 + self.k * (q3 - q1)), (
            f"Q3 {q3:.4g} + {self.k:g} x IQR {q3 - q1:.4g} of the scores"
        )


class Otsu(ThresholdPolicy):
    """Otsu's (1979) split of the score histogram into two classes.

    Parameters
    ----------
    bins : int, default 256
        Equal-width bins between the smallest and the largest score.

    Notes
    -----
    Needs no labels. Picks the bin edge that maximises the between-class variance
    ``w0 * w1 * (m0 - m1) ** 2`` of the scores below and above it (ties: the lowest edge).
    Meant for two well-separated modes; on a unimodal score distribution with a long tail it
    cuts somewhere in the bulk and alerts far too often, which the chapter shows.
    """

    name = "otsu"

    def __init__(self, bins: int = 256) -> None:
        self.bins = bins

    def _check_params(self) -> None:
        if isinstance(self.bins, bool) or not isinstance(self.bins, numbers.Integral):
            raise ValueError(f"bins: must be an integer of at least 2, got {self.bins!r}")
        if self.bins < 2:
            raise ValueError(f"bins: must be at least 2, got {self.bins!r}")

    def _choose(self, scores, y, times):
        lo, hi = float(scores.min()), float(scores.max())
        if lo == hi:
            return _above(hi), "all scores are equal: nothing alerts"
        counts, edges = np.histogram(scores, bins=int(self.bins), range=(lo, hi))
        centres = (edges[:-1] + edges[1:]) / 2
        w0 = np.cumsum(counts)[:-1].astype(float)
        w1 = counts.sum() - w0
        m0 = np.cumsum(counts * centres)[:-1] / np.where(w0 > 0, w0, 1)
        m1 = (np.sum(counts * centres) - np.cumsum(counts * centres)[:-1]) / np.where(w1 > 0, w1, 1)
        between = np.where((w0 > 0) & (w1 > 0), w0 * w1 * (m0 - m1) ** 2, -1.0)
        best = int(np.argmax(between))
        return float(edges[best + 1]), (
            f"Otsu's split of a {self.bins}-bin histogram of the scores "
            f"({int(w1[best]):,} of {scores.size:,} above it)"
        )


POLICIES: dict[str, type[ThresholdPolicy]] = {
    cls.name: cls
    for cls in (
        ContaminationQuantile,
        BestFBeta,
        AlertBudget,
        ExpectedCost,
        BenjaminiHochberg,
        MADFence,
        IQRFence,
        Otsu,
    )
}
