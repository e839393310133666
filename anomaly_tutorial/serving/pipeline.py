"""One object from raw OCSF events to scores, alerts and Detection Findings.

:class:`DetectionPipeline` chains the package's steps, each fitted on the period the book's
rules say (train for what is learned, validation for what is chosen):

1. **validation** of the input: a flat frame (the generator's or a reader's) is checked by the
   featurizer (required columns, epoch milliseconds, finite numbers); nested OCSF dicts (the
   JSON of ``OCSFDataset.to_ocsf()``, a REST request) go through
   :func:`anomaly_tutorial.io.validation.validate_numbered`, so a bad record raises
   :class:`~anomaly_tutorial.io.OCSFValidationError` naming its position (1-based) and field;
2. **features**: :class:`~anomaly_tutorial.features.OCSFFeaturizer` fitted on train; a later
   period is featurised with the earlier events as ``history`` for its per-entity windows;
3. **detector**: any name of :func:`anomaly_tutorial.detectors.make_detector` fitted on the
   training features (ECOD by default, see :class:`DetectionPipeline`'s Notes);
4. **calibration**: :class:`~anomaly_tutorial.thresholds.ConformalCalibrator` on the
   validation scores, giving p-values and the 0-100 score of
   :func:`~anomaly_tutorial.thresholds.anomaly_score_0_100`;
5. **threshold**: :class:`~anomaly_tutorial.thresholds.AlertBudget` (at most
   ``alerts_per_day`` alerts on any validation day), recorded as a
   :class:`~anomaly_tutorial.thresholds.ThresholdDecision`;
6. **triage**: severity from :func:`~anomaly_tutorial.triage.alert_context` and
   :class:`~anomaly_tutorial.triage.SeverityRules` (privileged accounts learned on train),
   explanations from :class:`~anomaly_tutorial.triage.FeatureDeviations`, kind from
   :class:`~anomaly_tutorial.triage.KindRule` and category from
   :class:`~anomaly_tutorial.triage.CategoryClassifier` (when the periods carry labels);
7. **findings**: :func:`~anomaly_tutorial.triage.to_findings`, validated OCSF Detection
   Findings.

Every entry point (the REST service, the batch command, :mod:`.streaming`, :mod:`.distributed`)
calls :meth:`DetectionPipeline.score` / :meth:`DetectionPipeline.alerts`; none re-implements a
step. :mod:`.bundle` saves and loads a fitted pipeline without pickle.

Public objects: :class:`DetectionPipeline`, :data:`BOOK_SERVICE_TIERS`,
:func:`data_fingerprint`, :func:`as_event_frame`, :data:`SCORE_COLUMNS`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial import __version__, ocsf
from anomaly_tutorial.detectors import available_detectors, make_detector
from anomaly_tutorial.features import OCSFFeaturizer
from anomaly_tutorial.io.errors import OCSFValidationError
from anomaly_tutorial.io.frame import frame_from_flat, python_values
from anomaly_tutorial.io.validation import validate_numbered
from anomaly_tutorial.thresholds import AlertBudget, ConformalCalibrator, anomaly_score_0_100
from anomaly_tutorial.triage import (
    FeatureDeviations,
    KindRule,
    SeverityRules,
    alert_context,
    category_features,
    external_source,
    kind_signals,
    privileged_accounts,
    to_findings,
    tune_category_depth,
)

__all__ = [
    "BOOK_SERVICE_TIERS",
    "SCORE_COLUMNS",
    "DetectionPipeline",
    "as_event_frame",
    "data_fingerprint",
    "detector_choice",
    "empty_scores",
]

#: The asset inventory of the triage chapter: service -> tier (1 = business critical); other
#: services are tier 3.
BOOK_SERVICE_TIERS: dict[str, int] = {
    "payments": 1,
    "auth": 1,
    "iam-api": 1,
    "bastion": 1,
    "orders": 2,
    "frontend": 2,
    "postgres": 2,
}

#: Columns of :meth:`DetectionPipeline.score`, in order.
SCORE_COLUMNS: tuple[str, ...] = (
    "event_id",
    "time",
    "detector_score",
    "p_value",
    "score",
    "alert",
    "severity",
    "severity_id",
)

#: Kind rule used when the validation period has no ``anomaly_kind`` labels: the middle of
#: :class:`~anomaly_tutorial.triage.KindRule`'s default grids (not fitted; see Notes).
FALLBACK_KIND_RULE: dict[str, float] = {
    "window_threshold_": 3.0,
    "burst_threshold_": 5.0,
    "point_threshold_": 2.0,
    "point_margin_": 0.0,
}
#: Category of every finding when no labelled anomalies were available to learn categories.
UNKNOWN_CATEGORY = "unknown"
#: Half-width of the burst window of :func:`~anomaly_tutorial.triage.burst_size` (seconds).
BURST_WINDOW_S = 300.0
DAY_MS = 86_400_000

# Columns the triage steps read; absent ones are added as missing so that a request with only
# the required OCSF fields still gets findings.
_TRIAGE_COLUMNS: tuple[str, ...] = (
    "event_id",
    "dst_endpoint.svc_name",
    "src_endpoint.ip",
    "actor.user.name",
    "api.operation",
)


def as_event_frame(events: Any, argument: str = "events") -> pd.DataFrame:
    """The flat event frame of ``events``, validated, with a fresh ``RangeIndex``.

    Parameters
    ----------
    events
        A flat :class:`pandas.DataFrame` (the generator's frame or a reader's ``events``), one
        nested OCSF event dict, or a sequence of them (as ``OCSFDataset.to_ocsf()`` and the
        REST service produce). Dicts are validated with the class schemas and value checks of
        :mod:`anomaly_tutorial.io` (:func:`~anomaly_tutorial.io.validation.validate_numbered`)
        and flattened; a frame is taken as it is (the featurizer checks its required columns,
        time unit and numbers) but must have a complete, string-like ``event_id`` column.
    argument
        Name used in error messages.

    Raises
    ------
    OCSFValidationError
        If a dict fails validation: every bad record with its 1-based position and field.
    ValueError
        If there are no events or ``event_id`` is missing.
    TypeError
        If ``events`` is neither a frame nor dicts.
    """
    if isinstance(events, pd.DataFrame):
        frame = events.reset_index(drop=True)
    else:
        if isinstance(events, Mapping):
            events = [events]
        if not isinstance(events, Sequence) or isinstance(events, (str, bytes)):
            raise TypeError(
                f"{argument}: expected a DataFrame, an OCSF event dict or a list of them, "
                f"got {type(events).__name__}"
            )
        items = [python_values(e) if isinstance(e, Mapping) else e for e in events]
        _, rows, bad = validate_numbered(items, range(1, len(items) + 1), flatten=True)
        if bad:
            raise OCSFValidationError(bad, len(items), source=argument)
        frame = frame_from_flat(rows) if rows else pd.DataFrame()
    if len(frame) == 0:
        raise ValueError(f"{argument}: no events given")
    if ocsf.ID_COLUMN not in frame:
        raise ValueError(
            f"{argument}: column {ocsf.ID_COLUMN!r} (OCSF metadata.uid) is missing; every event "
            "needs an id so that its score and finding can be matched to it"
        )
    missing = frame[ocsf.ID_COLUMN].isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"{argument}: record {i + 1}, field {ocsf.ID_COLUMN!r}: the event id is missing "
            f"({int(missing.sum())} events without one)"
        )
    absent = [c for c in _TRIAGE_COLUMNS if c not in frame]
    if absent:
        frame = frame.assign(**{c: pd.Series([None] * len(frame), dtype=object) for c in absent})
    return frame


def empty_scores() -> pd.DataFrame:
    """A score table with no rows: :data:`SCORE_COLUMNS` with the dtypes of
    :meth:`DetectionPipeline.score`."""
    return pd.DataFrame(
        {
            "event_id": pd.Series([], dtype=str),
            "time": pd.Series([], dtype="int64"),
            "detector_score": pd.Series([], dtype="float64"),
            "p_value": pd.Series([], dtype="float64"),
            "score": pd.Series([], dtype="float64"),
            "alert": pd.Series([], dtype=bool),
            "severity": pd.Series([], dtype=object),
            "severity_id": pd.Series([], dtype="Int64"),
        }
    )


def data_fingerprint(events: pd.DataFrame) -> str:
    """sha256 (hex) of the sorted ``(event_id, time)`` pairs of a flat frame.

    The same events give the same fingerprint whatever their order; one changed, added or
    removed event changes it. It identifies the training data in a bundle's manifest without
    storing the data.
    """
    pairs = sorted(
        zip(
            events[ocsf.ID_COLUMN].astype(str).tolist(),
            events["time"].astype("int64").tolist(),
            strict=True,
        )
    )
    digest = hashlib.sha256()
    for event_id, time in pairs:
        digest.update(f"{event_id}\t{time}\n".encode())
    return digest.hexdigest()


def detector_choice(
    train_events: Any,
    validation_events: Any,
    candidates: Sequence[str] = ("ecod", "hbos", "iforest"),
    include_default: bool = False,
) -> pd.DataFrame:
    """The figures behind the pipeline's choice of detector, measured on train / validation.

    Fits the featurizer on ``train_events`` once, then each candidate detector on the
    training features, and scores the validation period (featurised with the training
    events as history). The test period is never used.

    Parameters
    ----------
    train_events, validation_events
        As for :meth:`DetectionPipeline.fit`; the validation events need ``is_anomaly``.
    candidates
        Detector names (:func:`anomaly_tutorial.detectors.make_detector`).
    include_default
        Also measure :func:`anomaly_tutorial.detectors.default_detector` (the book's
        ensemble; slow: it fits a k-NN on every training event), as ``"default"``.

    Returns
    -------
    pandas.DataFrame
        One row per detector (index: its name): ``fit_seconds``,
        ``validation_events_per_second`` (scoring only) and ``validation_pr_auc``.
    """
    import time

    from anomaly_tutorial.detectors import default_detector
    from anomaly_tutorial.evaluate import pr_auc

    train = as_event_frame(train_events, "train_events")
    validation = as_event_frame(validation_events, "validation_events")
    labels = _labels(validation, "is_anomaly")
    if labels is None:
        raise ValueError("validation_events: needs a complete 'is_anomaly' column")
    featurizer = OCSFFeaturizer().fit(train)
    X_train = featurizer.transform(train)
    X_validation = featurizer.transform(validation, history=train)
    builders = {name: (lambda name=name: make_detector(name)) for name in candidates}
    if include_default:
        builders["default"] = default_detector
    rows = {}
    for name, build in builders.items():
        start = time.perf_counter()
        detector = build().fit(X_train)
        fitted = time.perf_counter()
        scores = detector.score_samples(X_validation)
        scored = time.perf_counter()
        rows[name] = {
            "fit_seconds": fitted - start,
            "validation_events_per_second": len(validation) / (scored - fitted),
            "validation_pr_auc": float(pr_auc(labels.astype(bool), scores)),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("detector")


def _period_days(time_ms: np.ndarray) -> float:
    """Number of UTC days the times touch (first to last day, both included)."""
    days = np.asarray(time_ms, dtype="int64") // DAY_MS
    return float(days.max() - days.min() + 1)


def _labels(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    """A label column as a numpy array, or ``None`` when absent or incomplete."""
    if column not in frame or frame[column].isna().any():
        return None
    return frame[column].to_numpy()


class DetectionPipeline(BaseEstimator):
    """From raw OCSF events to scores, alerts and OCSF Detection Findings.

    Parameters
    ----------
    detector : str, default "ecod"
        Name of a detector of :func:`anomaly_tutorial.detectors.make_detector`.
    detector_params : dict or None
        Parameters of that detector (``None``: its defaults).
    alerts_per_day : int, default 50
        Alert budget: the threshold is the lowest score at which no UTC day of the validation
        period gets more alerts (:class:`~anomaly_tutorial.thresholds.AlertBudget`).
    service_tiers : dict or None
        Service name -> tier for the severity context (``None``: :data:`BOOK_SERVICE_TIERS`).
    severity_rules : SeverityRules or None
        Severity policies (``None``: the default :class:`~anomaly_tutorial.triage.SeverityRules`).
    featurizer_params : dict or None
        Parameters of :class:`~anomaly_tutorial.features.OCSFFeaturizer` (``None``: defaults).

    Attributes
    ----------
    featurizer_ : OCSFFeaturizer
        Fitted on the training events.
    detector_ : BaseDetector
        Fitted on the training features.
    calibrator_ : ConformalCalibrator
        Fitted on the validation scores.
    decision_ : ThresholdDecision
        The alert budget's choice on validation (threshold, alerts per day, precision and
        recall when the validation events carry ``is_anomaly``).
    threshold_ : float
        Alert when ``detector_score >= threshold_``.
    privileged_ : frozenset of str
        Privileged accounts found in the training period.
    explainer_ : FeatureDeviations
        Fitted on the training events.
    kind_rule_ : KindRule
        Fitted on the labelled validation anomalies, or :data:`FALLBACK_KIND_RULE`.
    kind_fitted_ : bool
        Whether ``kind_rule_`` was fitted on labels.
    category_model_ : CategoryClassifier or None
        Trained on the training anomalies, depth chosen on the validation anomalies; ``None``
        without labels (every finding's category is then :data:`UNKNOWN_CATEGORY`).
    window_s_ : float
        The longest window any step looks back (seconds): how much history a caller must
        keep for exact scores (:mod:`.streaming` keeps exactly this much).
    training_ : dict
        ``first_time``, ``last_time`` (epoch ms), ``n_events`` and ``fingerprint``
        (:func:`data_fingerprint`) of the training events; ``validation_`` the same for the
        validation events.
    validation_figures_ : dict
        What the threshold gave on validation (from the decision) and the validation PR-AUC
        when labelled.
    package_version_ : str
        Version of ``anomaly_tutorial`` that fitted the pipeline.

    Examples
    --------
    >>> from anomaly_tutorial.data import book_split, default_dataset
    >>> train, validation, test = book_split().split(default_dataset().events)
    >>> pipeline = DetectionPipeline().fit(train, validation)   # doctest: +SKIP
    >>> scores = pipeline.score(test, history=validation)       # doctest: +SKIP
    >>> findings = pipeline.alerts(test, history=validation)    # doctest: +SKIP
    >>> pipeline.score([event_dict])  # one nested OCSF event   # doctest: +SKIP

    A caller that turns errors into HTTP answers: bad nested events raise
    :class:`~anomaly_tutorial.io.OCSFValidationError`, whose ``bad_records`` give each bad
    record's 1-based ``record_number``, ``field`` (dotted path) and ``problem``; other bad
    input raises ``ValueError`` / ``TypeError`` with the field in the message.

    Notes
    -----
    **Why ECOD and not** :func:`~anomaly_tutorial.detectors.default_detector`: the book's
    default (an ensemble of Isolation Forest, k-NN and HBOS) needs a k-NN search of every
    training event, for each event it fits and scores, and takes many seconds to fit on the
    35,086 training events and to score a validation period on the book's 2-core machine; that
    breaks the chapter's time budget and a service's latency. Among the fast detectors ECOD had
    the best validation PR-AUC on the book's data, the same choice the triage chapter makes on
    validation. :func:`detector_choice` measures these figures (fit time, scoring speed and
    validation PR-AUC per candidate, the default ensemble optionally), so a chapter can show
    them rather than quote them. ECOD's score of an event depends on that event alone, which
    streaming equality needs (a detector whose score of one row depended on the other rows of
    the batch, through a matrix product's summation order for instance, would break it; the
    tests check the chosen one).

    Kind and category need labels: with ``anomaly_kind`` on the validation anomalies the kind
    rule is fitted there; without, it uses :data:`FALLBACK_KIND_RULE`. The category tree
    needs ``anomaly_type`` on the anomalies of both periods; without, the category is
    ``"unknown"``. The burst signal of the kind counts the alerts of the same call (both ways
    in time, as in the triage chapter), so the kind of a finding can depend on how events are
    grouped into calls; scores, p-values, alerts and severities never do.

    After ``fit`` nothing changes the pipeline: :meth:`score`, :meth:`alerts` and
    :meth:`score_and_alerts` only read it, so one fitted pipeline can serve several threads
    at once (the featurizer, the detector and the triage steps keep no per-call state).
    """

    def __init__(
        self,
        detector: str = "ecod",
        detector_params: Mapping[str, Any] | None = None,
        alerts_per_day: int = 50,
        service_tiers: Mapping[str, int] | None = None,
        severity_rules: SeverityRules | None = None,
        featurizer_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.detector = detector
        self.detector_params = detector_params
        self.alerts_per_day = alerts_per_day
        self.service_tiers = service_tiers
        self.severity_rules = severity_rules
        self.featurizer_params = featurizer_params

    # --- parameters -------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.detector not in available_detectors():
            raise ValueError(
                f"detector: unknown name {self.detector!r}; choose one of "
                f"{sorted(available_detectors())}"
            )
        if (
            isinstance(self.alerts_per_day, bool)
            or not isinstance(self.alerts_per_day, (int, np.integer))
            or self.alerts_per_day < 1
        ):
            raise ValueError(
                f"alerts_per_day: must be an integer >= 1, got {self.alerts_per_day!r}"
            )
        if self.severity_rules is not None and not isinstance(self.severity_rules, SeverityRules):
            raise TypeError(
                "severity_rules: expected a SeverityRules or None, got "
                f"{type(self.severity_rules).__name__}"
            )
        for name in ("detector_params", "featurizer_params", "service_tiers"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"{name}: expected a dict or None, got {type(value).__name__}")

    def _service_tiers(self) -> dict[str, int]:
        """The service tiers in use."""
        tiers = BOOK_SERVICE_TIERS if self.service_tiers is None else self.service_tiers
        return {str(k): int(v) for k, v in tiers.items()}

    def _severity_rules(self) -> SeverityRules:
        """The severity rules in use."""
        return SeverityRules() if self.severity_rules is None else self.severity_rules

    # --- fit --------------------------------------------------------------------------------
    def fit(self, train_events: Any, validation_events: Any) -> DetectionPipeline:
        """Fit every step: learn on ``train_events``, choose on ``validation_events``.

        Parameters
        ----------
        train_events
            The training period (frame or OCSF dicts, see :func:`as_event_frame`), mostly
            normal traffic.
        validation_events
            A later period. It is featurised with ``train_events`` as history; its scores
            calibrate the p-values and set the alert budget's threshold. Label columns
            (``is_anomaly``, ``anomaly_kind``, ``anomaly_type``), when present, are used to
            report validation precision and recall and to fit the kind rule and the category
            tree; never to fit the detector.

        Returns
        -------
        DetectionPipeline
            ``self``.
        """
        self._check_params()
        train = as_event_frame(train_events, "train_events")
        validation = as_event_frame(validation_events, "validation_events")
        self.featurizer_ = OCSFFeaturizer(**dict(self.featurizer_params or {})).fit(train)
        X_train = self.featurizer_.transform(train)
        # transform checks the validation events (columns, time unit) before anything else
        X_validation = self.featurizer_.transform(validation, history=train)
        if int(validation["time"].min()) < int(train["time"].max()):
            raise ValueError(
                "validation_events: must come after train_events (earliest validation time "
                f"{int(validation['time'].min())} < latest training time "
                f"{int(train['time'].max())})"
            )
        self.detector_ = make_detector(self.detector, **dict(self.detector_params or {}))
        self.detector_.fit(X_train)
        validation_scores = self.detector_.score_samples(X_validation)
        self.calibrator_ = ConformalCalibrator().fit(validation_scores)

        is_anomaly = _labels(validation, "is_anomaly")
        y = None if is_anomaly is None else is_anomaly.astype(bool)
        times = validation["time"].to_numpy(dtype="int64")
        budget = AlertBudget(max_alerts=int(self.alerts_per_day), per="day")
        budget.fit(validation_scores, y, times=times, period_days=_period_days(times))
        self.decision_ = budget.decision_
        self.threshold_ = float(self.decision_.threshold)

        self.privileged_ = privileged_accounts(train)
        self.explainer_ = FeatureDeviations().fit(train)
        self._fit_kind_and_category(
            train, validation, X_train, validation_scores >= self.threshold_
        )

        windows = [float(s.window_s) for s in self.featurizer_.windows_]
        self.window_s_ = max([*windows, BURST_WINDOW_S])
        self.training_ = self._period(train)
        self.validation_ = self._period(validation)
        figures = {
            "n_scores": self.decision_.n_scores,
            "period_days": self.decision_.period_days,
            "n_alerts": self.decision_.n_alerts,
            "alerts_per_day": self.decision_.alerts_per_day,
            "precision": self.decision_.precision,
            "recall": self.decision_.recall,
        }
        if y is not None and y.any():
            from anomaly_tutorial.evaluate import pr_auc

            figures["pr_auc"] = float(pr_auc(y, validation_scores))
        self.validation_figures_ = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in figures.items()
        }
        self.package_version_ = __version__
        return self

    @staticmethod
    def _period(frame: pd.DataFrame) -> dict[str, Any]:
        return {
            "first_time": int(frame["time"].min()),
            "last_time": int(frame["time"].max()),
            "n_events": len(frame),
            "fingerprint": data_fingerprint(frame),
        }

    def _fit_kind_and_category(
        self,
        train: pd.DataFrame,
        validation: pd.DataFrame,
        X_train: np.ndarray,
        validation_alerts: np.ndarray,
    ) -> None:
        deviations = self.explainer_.deviations(validation, history=train)
        signals = kind_signals(
            self.explainer_.group_surprise(deviations),
            validation,
            validation_alerts,
            window_s=BURST_WINDOW_S,
        )
        self.kind_rule_ = KindRule()
        self.kind_fitted_ = False
        if self._has_labels(validation, "anomaly_kind"):
            rows = validation["is_anomaly"].to_numpy(dtype=bool)
            self.kind_rule_.fit(signals[rows], validation.loc[rows, "anomaly_kind"])
            self.kind_fitted_ = True
        else:
            for name, value in FALLBACK_KIND_RULE.items():
                setattr(self.kind_rule_, name, value)
            self.kind_rule_.fit_score_ = float("nan")
        self.category_model_ = None
        self.category_depths_ = None
        if not (
            self._has_labels(train, "anomaly_type") and self._has_labels(validation, "anomaly_type")
        ):
            return
        features, types = {}, {}
        for name, frame in (("train", train), ("validation", validation)):
            if name == "validation":
                devs, burst = deviations, signals["burst"]
            else:  # in-sample surprises of the training anomalies, as in the triage chapter
                devs = self.explainer_.deviations(frame)
                # the detector's own scores of its training rows (fit computed them; for
                # neighbour methods they leave each row out), not a second scoring pass
                train_scores = getattr(self.detector_, "training_scores_", None)
                if train_scores is None:
                    train_scores = self.detector_.score_samples(X_train)
                burst = kind_signals(
                    self.explainer_.group_surprise(devs),
                    frame,
                    np.asarray(train_scores) >= self.threshold_,
                    window_s=BURST_WINDOW_S,
                )["burst"]
            rows = frame["is_anomaly"].to_numpy(dtype=bool)
            table = category_features(frame, devs, burst, external_source(frame))
            features[name] = table[rows]
            types[name] = frame.loc[rows, "anomaly_type"].to_numpy(dtype=object)
        self.category_model_, self.category_depths_ = tune_category_depth(
            features["train"], types["train"], features["validation"], types["validation"]
        )

    @staticmethod
    def _has_labels(frame: pd.DataFrame, column: str) -> bool:
        """Whether ``is_anomaly`` is complete and every anomaly has a ``column`` label."""
        if "is_anomaly" not in frame or column not in frame or frame["is_anomaly"].isna().any():
            return False
        rows = frame["is_anomaly"].to_numpy(dtype=bool)
        return bool(rows.any()) and bool(frame.loc[rows, column].notna().all())

    # --- score ------------------------------------------------------------------------------
    def _history(self, history: Any) -> pd.DataFrame | None:
        return None if history is None else as_event_frame(history, "history")

    def _score_frame(self, frame: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
        X = self.featurizer_.transform(frame, history=history)
        detector_score = self.detector_.score_samples(X)
        p_values = self.calibrator_.p_values(detector_score)
        score = anomaly_score_0_100(p_values)
        alert = detector_score >= self.threshold_
        context = alert_context(frame, score, self._service_tiers(), self.privileged_)
        severity = self._severity_rules().classify(context)
        names = severity["severity"].astype(object).to_numpy()
        ids = severity["severity_id"].to_numpy()
        return pd.DataFrame(
            {
                "event_id": pd.Series(frame[ocsf.ID_COLUMN].astype(str).to_numpy(), dtype=str),
                "time": frame["time"].to_numpy(dtype="int64"),
                "detector_score": detector_score,
                "p_value": p_values,
                "score": score,
                "alert": alert,
                "severity": pd.Series(np.where(alert, names, None), dtype=object),
                "severity_id": pd.array(
                    [int(i) if a else pd.NA for i, a in zip(ids, alert, strict=True)],
                    dtype="Int64",
                ),
            }
        )

    def score(self, events: Any, history: Any = None) -> pd.DataFrame:
        """Score every event: one row per input event, in input order.

        Parameters
        ----------
        events
            Flat frame or OCSF dicts (see :func:`as_event_frame`).
        history
            Earlier events (same forms), context for the per-entity windows only, with the
            meaning of ``OCSFFeaturizer.transform(history=)``: without it the windows of the
            first ``window_s_`` seconds of ``events`` see only ``events``. Passing the
            ``window_s_`` seconds before ``events`` gives exactly the scores of scoring the
            two together.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`SCORE_COLUMNS`: ``event_id`` (str), ``time`` (epoch ms),
            ``detector_score`` (raw, higher = more anomalous), ``p_value`` (conformal, against
            validation), ``score`` (0-100), ``alert`` (``detector_score >= threshold_``),
            ``severity`` (``low`` ... ``critical`` for alerts, ``None`` otherwise) and
            ``severity_id`` (OCSF, ``<NA>`` for non-alerts).
        """
        check_is_fitted(self, "threshold_")
        frame = as_event_frame(events)
        return self._score_frame(frame, self._history(history))

    def alerts(self, events: Any, history: Any = None) -> list[dict[str, Any]]:
        """Validated OCSF Detection Findings (class 2004) of the flagged events, in input order.

        Parameters
        ----------
        events, history
            As for :meth:`score`.

        Returns
        -------
        list of dict
            One finding per alert, from :func:`~anomaly_tutorial.triage.to_findings`: severity,
            0-100 ``risk_score``, explanation in words (``message``), kind and category (in
            ``finding_info.types`` and ``unmapped``), p-value and raw score (``unmapped``),
            the triggering event in ``finding_info.related_events``. Empty when nothing is
            flagged.
        """
        check_is_fitted(self, "threshold_")
        frame = as_event_frame(events)
        past = self._history(history)
        scores = self._score_frame(frame, past)
        return self._findings(frame, past, scores)

    def score_and_alerts(
        self, events: Any, history: Any = None
    ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        """:meth:`score` and :meth:`alerts` of the same events, scoring them once.

        Returns
        -------
        (pandas.DataFrame, list of dict)
            The score table and the findings of its alerts.
        """
        check_is_fitted(self, "threshold_")
        frame = as_event_frame(events)
        past = self._history(history)
        scores = self._score_frame(frame, past)
        return scores, self._findings(frame, past, scores)

    def _findings(
        self, frame: pd.DataFrame, history: pd.DataFrame | None, scores: pd.DataFrame
    ) -> list[dict[str, Any]]:
        alert = scores["alert"].to_numpy(dtype=bool)
        if not alert.any():
            return []
        deviations, windows = self.explainer_.deviations_and_windows(frame, history)
        signals = kind_signals(
            self.explainer_.group_surprise(deviations), frame, alert, window_s=BURST_WINDOW_S
        )
        rows = np.flatnonzero(alert)
        flagged = frame.iloc[rows]
        kind = self.kind_rule_.predict(signals.iloc[rows])
        if self.category_model_ is None:
            category = np.full(len(rows), UNKNOWN_CATEGORY, dtype=object)
        else:
            features = category_features(
                flagged,
                deviations.iloc[rows],
                signals["burst"].iloc[rows],
                external_source(flagged),
            )
            category = self.category_model_.predict(features)
        explanation = self.explainer_.explain(
            flagged, deviations=deviations.iloc[rows], windows=windows.iloc[rows]
        )
        triaged = pd.DataFrame(
            {
                "event_id": scores["event_id"].to_numpy()[rows],
                "time": scores["time"].to_numpy()[rows],
                "class_uid": flagged["class_uid"].to_numpy(dtype="int64"),
                "severity": scores["severity"].to_numpy()[rows],
                "score": scores["score"].to_numpy()[rows],
                "p_value": scores["p_value"].to_numpy()[rows],
                "detector_score": scores["detector_score"].to_numpy()[rows],
                "kind": kind,
                "category": category,
                "explanation": explanation.to_numpy(),
            }
        )
        return to_findings(triaged, analytic=self.detector)

    # --- schema -----------------------------------------------------------------------------
    def feature_schema(self) -> list[dict[str, str]]:
        """The detector's input: ``[{"name": feature name, "dtype": "float32"}, ...]``.

        The names are the featurizer's (``OCSFFeaturizer.get_feature_names_out``), which
        include the learned vocabularies; the windows' definitions and the package's feature
        format version are part of :meth:`schema_hash`.
        """
        check_is_fitted(self, "featurizer_")
        return [
            {"name": str(name), "dtype": "float32"}
            for name in self.featurizer_.get_feature_names_out()
        ]

    def schema_hash(self) -> str:
        """sha256 (hex) of :meth:`feature_schema` and the window definitions, as canonical JSON.

        Two pipelines with the same hash feed their detectors the same columns, computed the
        same way.
        """
        from anomaly_tutorial.features.persistence import FORMAT, VERSION

        payload = {
            "format": FORMAT,
            "version": VERSION,
            "features": self.feature_schema(),
            "windows": [s.to_dict() for s in self.featurizer_.windows_],
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
