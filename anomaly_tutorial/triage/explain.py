"""Per-alert explanations: which fields made this event unusual, stated in words.

:class:`FeatureDeviations` learns, on a training period, how each interpretable field is
distributed and how each account usually behaves. For a new event it measures a set of
*deviations*, each as a **surprise** ``-log10(tail probability)`` under the training data (2 =
"one training event in a hundred is as extreme", 4 = "one in ten thousand"), so that very
different evidence can be ranked on one scale:

``global`` (the event alone, against events of the same class)
    ``duration``, ``traffic.bytes_out``, ``traffic.bytes_in``: right-tail probability of the
    value among training events of the same ``class_uid``.
``entity`` (the event against its account's own history, ``actor.user.name``)
    the same fields as a ratio to the account's training median for that event class (the
    surprise is the tail probability of that ratio among training events); a source country
    or an API operation
    the account never used in training (surprise ``log10(n + 1)`` for an account with ``n``
    training events: the more history, the stronger the novelty); and the hour of day, by how
    much rarer it is for this account than a uniform spread over 24 hours.
``window`` (the event's recent past)
    the causal window counts of :mod:`anomaly_tutorial.features.windows` (failed logins,
    distinct ports and accounts per source IP, 5xx answers per service), right-tail
    probability among training events.

:meth:`FeatureDeviations.explain` keeps the strongest deviations above ``min_surprise`` and
writes them as a sentence: ``"traffic.bytes_out 41x the account's median; source country BR
never seen for this account"``. The ``global`` / ``entity`` / ``window`` groups are also what
:mod:`anomaly_tutorial.triage.kind` reads to tell point, contextual and collective anomalies
apart.

Notes
-----
These are explanations of the *data*, not attributions of a particular detector: they say
what is unusual about the event, whichever detector flagged it. A detector can flag an event
for a reason none of these fields captures (a rare combination of one-hot codes); the
explanation then says ``"no single field stands out"`` rather than inventing one.

Public objects: :class:`FeatureDeviations`, :func:`numeric_field`, :data:`GLOBAL_FIELDS`,
:data:`ENTITY_FIELDS`, :data:`NOVELTY_FIELDS`, :data:`WINDOW_FIELDS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial import ocsf
from anomaly_tutorial.features import DEFAULT_WINDOWS, compute_windows

#: Numeric fields compared with training events of the same class: field -> unit.
GLOBAL_FIELDS: dict[str, str] = {
    "duration": "ms",
    "traffic.bytes_out": "bytes",
    "traffic.bytes_in": "bytes",
}
#: Numeric fields compared with the account's own training median.
ENTITY_FIELDS: tuple[str, ...] = ("duration", "traffic.bytes_out", "traffic.bytes_in")
#: Categorical fields whose never-seen values (for this account) are reported: field -> words.
NOVELTY_FIELDS: dict[str, str] = {
    "src_endpoint.location.country": "source country",
    "api.operation": "API operation",
}
#: Window features reported, with the words that describe them.
WINDOW_FIELDS: dict[str, str] = {
    "src_ip_failed_auth_300s": "failed logins from this source IP in 5 min",
    "src_ip_distinct_dst_ports_300s": "distinct destination ports from this source IP in 5 min",
    "src_ip_distinct_users_300s": "distinct accounts from this source IP in 5 min",
    "src_ip_events_300s": "events from this source IP in 5 min",
    "svc_5xx_60s": "5xx answers of this service in 1 min",
}
ENTITY = "actor.user.name"
NOTHING = "no single field stands out"
_WINDOW_SPECS = tuple(s for s in DEFAULT_WINDOWS if s.name in WINDOW_FIELDS)


def numeric_field(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The column as floats (NaN where missing); a value that is not a number is an error."""
    if column not in frame:
        return np.full(len(frame), np.nan)
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna().to_numpy() & raw.notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        event = frame["event_id"].iloc[i] if "event_id" in frame else frame.index[i]
        raise ValueError(f"event {event!r}: field {column!r} must be a number, got {raw.iloc[i]!r}")
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _right_tail_surprise(sorted_train: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``-log10((#{train >= x} + 1) / (n + 1))``; 0 where the value is missing."""
    n = sorted_train.size
    out = np.zeros(values.size)
    ok = np.isfinite(values)
    if n == 0 or not ok.any():
        return out
    above = n - np.searchsorted(sorted_train, values[ok], side="left")
    out[ok] = np.maximum(0.0, -np.log10((above + 1.0) / (n + 1.0)))
    return out


def _user_class(user: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """``"<account>|<class_uid>"`` keys (None where the account is missing)."""
    keys = pd.Series(user, dtype=object).astype("string") + "|" + pd.Series(cls).astype("string")
    return keys.astype(object).where(keys.notna(), None).to_numpy(dtype=object)


def _hour(time_ms: np.ndarray) -> np.ndarray:
    return ((time_ms // 3_600_000) % 24).astype("int64")


class FeatureDeviations(BaseEstimator):
    """How unusual each interpretable field of an event is, against a training period.

    Parameters
    ----------
    min_entity_events
        An account needs at least this many training events for its own baseline (median
        ratios, novelty, hour) to be used; below it, entity deviations are 0.
    top_k
        Most deviations named in one explanation.
    min_surprise
        Deviations weaker than this (``-log10`` tail probability) are not named.

    Attributes
    ----------
    class_values_ : dict
        ``{field: {class_uid: sorted training values}}``.
    entity_medians_ : dict[str, pandas.Series]
        Per field, the training median per account and event class (index
        ``"<account>|<class_uid>"``; accounts with enough events only).
    ratio_values_ : dict[str, numpy.ndarray]
        Per field, the sorted training ratios value / account median.
    entity_events_ : pandas.Series
        Training events per account.
    seen_ : dict[str, pandas.MultiIndex]
        Per novelty field, the (account, value) pairs seen in training.
    hour_counts_ : pandas.Series
        Training events per (account, hour of day).
    window_values_ : dict[str, numpy.ndarray]
        Per window feature, the sorted training values.
    window_medians_ : dict[str, float]
        Per window feature, its training median.
    """

    def __init__(self, min_entity_events: int = 10, top_k: int = 2, min_surprise: float = 2.0):
        self.min_entity_events = min_entity_events
        self.top_k = top_k
        self.min_surprise = min_surprise

    # --- fit ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if int(self.min_entity_events) < 1:
            raise ValueError(f"min_entity_events: must be >= 1, got {self.min_entity_events!r}")
        if int(self.top_k) < 1:
            raise ValueError(f"top_k: must be >= 1, got {self.top_k!r}")
        if not np.isfinite(float(self.min_surprise)) or float(self.min_surprise) < 0:
            raise ValueError(f"min_surprise: must be a number >= 0, got {self.min_surprise!r}")

    @staticmethod
    def _check_events(events: Any, argument: str = "events") -> pd.DataFrame:
        if not isinstance(events, pd.DataFrame):
            raise TypeError(f"{argument}: expected a pandas DataFrame, got {type(events).__name__}")
        missing = [c for c in ("event_id", "time", "class_uid") if c not in events.columns]
        if missing:
            raise ValueError(f"{argument}: missing columns {missing}")
        for column in ("time", "class_uid"):
            if events[column].isna().any():
                i = int(np.flatnonzero(events[column].isna().to_numpy())[0])
                raise ValueError(
                    f"{argument}: column {column!r} is missing at event "
                    f"{events['event_id'].iloc[i]!r}"
                )
            numeric_field(events, column)
        return events

    def fit(self, events: pd.DataFrame, y: Any = None) -> FeatureDeviations:
        """Learn field distributions and account baselines from training events."""
        self._check_params()
        events = self._check_events(events)
        cls = events["class_uid"].to_numpy()
        self.class_values_ = {}
        for column in GLOBAL_FIELDS:
            values = numeric_field(events, column)
            self.class_values_[column] = {
                int(c): np.sort(values[(cls == c) & np.isfinite(values)]) for c in np.unique(cls)
            }
        user = (
            events[ENTITY].astype(object) if ENTITY in events else pd.Series([None] * len(events))
        )
        user = user.to_numpy()
        has_user = pd.notna(user)
        counts = pd.Series(user[has_user]).value_counts()
        self.entity_events_ = counts
        known = set(counts.index[counts >= int(self.min_entity_events)])
        self.entity_medians_, self.ratio_values_ = {}, {}
        user_class = _user_class(user, cls)
        for column in ENTITY_FIELDS:
            values = numeric_field(events, column)
            ok = has_user & np.isfinite(values)
            medians = pd.Series(values[ok]).groupby(user_class[ok]).median()
            owners = np.array([k.rsplit("|", 1)[0] for k in medians.index], dtype=object)
            medians = medians[np.isin(owners, list(known)) & (medians.to_numpy() > 0)]
            self.entity_medians_[column] = medians
            ratio = self._ratios(user_class, values, medians)
            self.ratio_values_[column] = np.sort(ratio[np.isfinite(ratio)])
        self.seen_ = {}
        for column in NOVELTY_FIELDS:
            if column not in events:
                self.seen_[column] = pd.MultiIndex.from_arrays([[], []])
                continue
            values = events[column].astype(object).to_numpy()
            ok = has_user & pd.notna(values)
            self.seen_[column] = pd.MultiIndex.from_arrays([user[ok], values[ok]]).unique()
        hours = _hour(events["time"].to_numpy(dtype="int64"))
        self.hour_counts_ = (
            pd.Series(1, index=pd.MultiIndex.from_arrays([user[has_user], hours[has_user]]))
            .groupby(level=[0, 1])
            .sum()
        )
        windows = self._windows(events, None)
        self.window_values_ = {n: np.sort(windows[:, j]) for j, n in enumerate(self._window_names)}
        self.window_medians_ = {n: float(np.median(v)) for n, v in self.window_values_.items()}
        return self

    @property
    def _window_names(self) -> list[str]:
        return [s.name for s in _WINDOW_SPECS]

    @staticmethod
    def _ratios(user: np.ndarray, values: np.ndarray, medians: pd.Series) -> np.ndarray:
        med = pd.Series(user).map(medians).to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.isfinite(values) & (med > 0), values / med, np.nan)

    @staticmethod
    def _windows(events: pd.DataFrame, history: pd.DataFrame | None) -> np.ndarray:
        if history is None:
            return compute_windows(events, _WINDOW_SPECS, events["time"].to_numpy("int64"))
        columns = sorted(
            {
                "time",
                "class_uid",
                "status_id",
                "http_response.code",
                *(c for s in _WINDOW_SPECS for c in (s.entity, s.value_column) if c),
            }
            & (set(events.columns) | set(history.columns))
        )
        both = pd.concat(
            [history.reindex(columns=columns), events.reindex(columns=columns)], ignore_index=True
        )
        values = compute_windows(both, _WINDOW_SPECS, both["time"].to_numpy("int64"))
        return values[len(history) :]

    # --- deviations -----------------------------------------------------------------------
    def deviations(self, events: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
        """Surprise of every deviation for every event.

        Parameters
        ----------
        events
            Flat OCSF events (``event_id``, ``time`` and ``class_uid`` are required; other
            fields are optional and count as missing when absent).
        history
            Earlier events, context for the window counts only (pass the training and
            validation periods when scoring the test period).

        Returns
        -------
        pandas.DataFrame
            Index of ``events``; one column per deviation, named ``<group>:<field>`` with
            group ``global``, ``entity``, ``novel`` or ``window``, plus ``entity:hour``.
            Values are surprises (``-log10`` tail probabilities, >= 0).
        """
        return self._deviations_and_windows(events, history)[0]

    def deviations_and_windows(
        self, events: pd.DataFrame, history: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """:meth:`deviations` and the raw window counts that :meth:`explain` quotes.

        Returns
        -------
        deviations, windows : pandas.DataFrame
            Both with the index of ``events``; ``windows`` has one column per window feature
            of :data:`WINDOW_FIELDS`. Pass both, restricted to the same rows, to
            :meth:`explain` (``deviations=``, ``windows=``) to explain a subset of events with
            the window counts computed over all of them.
        """
        return self._deviations_and_windows(events, history)

    def _deviations_and_windows(
        self, events: pd.DataFrame, history: pd.DataFrame | None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        check_is_fitted(self, "class_values_")
        events = self._check_events(events)
        if history is not None:
            self._check_events(history, "history")
        n = len(events)
        cls = events["class_uid"].to_numpy()
        out: dict[str, np.ndarray] = {}
        for column in GLOBAL_FIELDS:
            values = numeric_field(events, column)
            surprise = np.zeros(n)
            for c, sorted_train in self.class_values_[column].items():
                rows = cls == c
                surprise[rows] = _right_tail_surprise(sorted_train, values[rows])
            out[f"global:{column}"] = surprise
        user = events[ENTITY].astype(object).to_numpy() if ENTITY in events else np.full(n, None)
        n_user = pd.Series(user).map(self.entity_events_).fillna(0).to_numpy(dtype="float64")
        established = n_user >= int(self.min_entity_events)
        user_class = _user_class(user, cls)
        for column in ENTITY_FIELDS:
            ratio = self._ratios(
                user_class, numeric_field(events, column), self.entity_medians_[column]
            )
            out[f"entity:{column}"] = _right_tail_surprise(self.ratio_values_[column], ratio)
        for column in NOVELTY_FIELDS:
            values = (
                events[column].astype(object).to_numpy() if column in events else np.full(n, None)
            )
            pairs = pd.MultiIndex.from_arrays([user, values])
            novel = established & pd.notna(values) & ~pairs.isin(self.seen_[column])
            out[f"novel:{column}"] = np.where(novel, np.log10(n_user + 1.0), 0.0)
        hours = _hour(events["time"].to_numpy(dtype="int64"))
        position = self.hour_counts_.index.get_indexer(pd.MultiIndex.from_arrays([user, hours]))
        in_hour = np.where(
            position >= 0, self.hour_counts_.to_numpy(dtype="float64")[position], 0.0
        )
        p_hour = (in_hour + 1.0) / (n_user + 24.0)
        out["entity:hour"] = np.where(established, np.maximum(0.0, -np.log10(24.0 * p_hour)), 0.0)
        windows = self._windows(events, history)
        for j, name in enumerate(self._window_names):
            out[f"window:{name}"] = _right_tail_surprise(self.window_values_[name], windows[:, j])
        return (
            pd.DataFrame(out, index=events.index),
            pd.DataFrame(windows, columns=self._window_names, index=events.index),
        )

    def group_surprise(self, deviations: pd.DataFrame) -> pd.DataFrame:
        """Strongest surprise per group: ``global``, ``context`` (entity + novel), ``window``."""
        groups = {
            "global": [c for c in deviations if c.startswith("global:")],
            "context": [c for c in deviations if c.startswith(("entity:", "novel:"))],
            "window": [c for c in deviations if c.startswith("window:")],
        }
        return pd.DataFrame(
            {g: deviations[cols].max(axis=1) if cols else 0.0 for g, cols in groups.items()},
            index=deviations.index,
        )

    # --- words ----------------------------------------------------------------------------
    def _phrase(self, column: str, row: pd.Series, windows: pd.Series) -> str:
        group, field = column.split(":", 1)
        if group == "global":
            value = float(pd.to_numeric(row.get(field), errors="coerce"))
            cls = int(row["class_uid"])
            median = float(np.median(self.class_values_[field][cls]))
            name = ocsf.CLASS_NAMES.get(cls, str(cls))
            times = f", {value / median:,.0f}x the median of {name} events" if median > 0 else ""
            return f"{field} {value:,.0f} {GLOBAL_FIELDS[field]}{times}"
        if group == "entity" and field == "hour":
            hour = int(_hour(np.array([int(row["time"])]))[0])
            return f"hour {hour:02d}:00 UTC is unusual for this account"
        if group == "entity":
            value = float(pd.to_numeric(row.get(field), errors="coerce"))
            cls = int(row["class_uid"])
            median = float(self.entity_medians_[field][f"{row[ENTITY]}|{cls}"])
            name = ocsf.CLASS_NAMES.get(cls, str(cls))
            return f"{field} {value / median:,.0f}x the account's median for {name}"
        if group == "novel":
            n_user = int(self.entity_events_.get(row[ENTITY], 0))
            return (
                f"{NOVELTY_FIELDS[field]} {row[field]} never seen for this account "
                f"in {n_user:,} training events"
            )
        value = float(windows[field])
        median = self.window_medians_[field]
        return f"{value:,.0f} {WINDOW_FIELDS[field]} (training median {median:,.0f})"

    def explain(
        self,
        events: pd.DataFrame,
        history: pd.DataFrame | None = None,
        deviations: pd.DataFrame | None = None,
        windows: pd.DataFrame | None = None,
    ) -> pd.Series:
        """One sentence per event naming its strongest deviations, strongest first.

        Parameters
        ----------
        events, history
            As for :meth:`deviations`.
        deviations
            The result of :meth:`deviations` for these events, to avoid computing it twice
            (its index must equal ``events.index``).
        windows
            With ``deviations``: the matching window counts of :meth:`deviations_and_windows`
            (same index). Without it they are recomputed from ``events`` and ``history``
            alone, so explaining a subset of a period (its alerts) then counts only the
            subset's own events in the windows.

        Returns
        -------
        pandas.Series of str
            Index of ``events``; ``"no single field stands out"`` when no deviation reaches
            ``min_surprise``.
        """
        if deviations is None:
            if windows is not None:
                raise ValueError("windows: pass it together with deviations")
            deviations, windows = self._deviations_and_windows(events, history)
        else:
            if not deviations.index.equals(events.index):
                raise ValueError("deviations: its index must equal events.index")
        if windows is not None:
            if not windows.index.equals(events.index):
                raise ValueError("windows: its index must equal events.index")
            missing = [n for n in self._window_names if n not in windows.columns]
            if missing:
                raise ValueError(f"windows: missing columns {missing}")
        else:
            windows = self._windows(events, history)
            windows = pd.DataFrame(windows, columns=self._window_names, index=events.index)
        values = deviations.to_numpy()
        names = np.asarray(deviations.columns)
        order = np.argsort(-values, axis=1, kind="stable")[:, : int(self.top_k)]
        sentences = []
        for i, (idx, row) in enumerate(events.iterrows()):
            keep = [j for j in order[i] if values[i, j] >= float(self.min_surprise)]
            phrases = [self._phrase(names[j], row, windows.loc[idx]) for j in keep]
            sentences.append("; ".join(phrases) if phrases else NOTHING)
        return pd.Series(sentences, index=events.index, dtype=object)
