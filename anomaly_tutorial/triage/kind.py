"""Anomaly kind: point, contextual or collective (Chandola, Banerjee & Kumar 2009).

* **point**: the event is extreme on its own (a 30-second request among 100 ms ones);
* **contextual**: it is unremarkable for the population but extreme for *its* context (this
  account never downloads that much, never logs in from that country, never at that hour);
* **collective**: each event is unremarkable, but together with its neighbours in time it
  forms a burst or a sequence (fifty failed logins from one address in five minutes).

The evidence for each comes from the detector and from the deviations of
:class:`~anomaly_tutorial.triage.explain.FeatureDeviations`, summarised per event in four
*signals*:

``global``
    strongest surprise of the event's own fields against all training events of its class;
``context``
    strongest surprise against the account's own baseline (ratios, never-seen values, hour);
``window``
    strongest surprise of its causal window counts (failed logins, distinct ports, ...);
``burst``
    :func:`burst_size`: how many events flagged by the detector share its source IP, its
    account or its service within a time window around it.

:class:`KindRule` is three thresholds and a margin on those signals, chosen on labelled
anomalies of a validation period (:meth:`KindRule.fit`) and applied unchanged to later
alerts::

    collective  if window >= window_threshold_ or burst >= burst_threshold_
    point       elif global >= point_threshold_ and global >= context + point_margin_
    contextual  otherwise

Public objects: :data:`KINDS`, :data:`SIGNAL_COLUMNS`, :func:`burst_size`, :func:`kind_signals`,
:class:`KindRule`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils.validation import check_is_fitted

KINDS: tuple[str, ...] = ("point", "contextual", "collective")
SIGNAL_COLUMNS: tuple[str, ...] = ("global", "context", "window", "burst")
#: Entities a burst can share.
BURST_ENTITIES: tuple[str, ...] = ("src_endpoint.ip", "actor.user.name", "dst_endpoint.svc_name")


def burst_size(
    events: pd.DataFrame,
    flagged: np.ndarray | pd.Series,
    window_s: float = 300.0,
    entities: Sequence[str] = BURST_ENTITIES,
) -> np.ndarray:
    """Largest number of flagged events sharing an entity with each event, within ``window_s``.

    For event ``i`` and each entity column, count the flagged events ``j`` with the same
    (non-missing) value and ``|t_j - t_i| <= window_s`` (``i`` itself included when it is
    flagged); return the maximum over the entity columns. The window looks both ways: this is
    for triage after the fact, when the rest of a burst is already known.

    Parameters
    ----------
    events
        Flat events with ``time`` (epoch ms) and the entity columns (absent ones are skipped).
    flagged
        One boolean per event, for example ``p_value <= level``.
    window_s
        Half-width of the window in seconds.
    entities
        Columns that define "the same entity".

    Returns
    -------
    numpy.ndarray of int64
    """
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events: expected a pandas DataFrame, got {type(events).__name__}")
    if "time" not in events.columns:
        raise ValueError("events: missing column 'time'")
    flags = np.asarray(flagged)
    if flags.shape != (len(events),):
        raise ValueError(
            f"flagged: expected one value per event ({len(events)}), got shape {flags.shape}"
        )
    if flags.dtype != bool:
        raise TypeError(f"flagged: expected booleans, got dtype {flags.dtype}")
    if not float(window_s) > 0:
        raise ValueError(f"window_s: must be > 0, got {window_s!r}")
    if events["time"].isna().any():
        raise ValueError("events: column 'time' has missing values")
    t = events["time"].to_numpy(dtype="int64")
    n = len(events)
    best = np.zeros(n, dtype="int64")
    if n == 0:
        return best
    w = round(float(window_s) * 1000)
    t0 = t - t.min()
    span = int(t0.max()) + 2 * w + 1
    for column in entities:
        if column not in events.columns:
            continue
        codes, _ = pd.factorize(events[column].astype(object))
        ok = codes >= 0
        if not ok.any():
            continue
        key = codes[ok].astype("int64") * span + t0[ok]
        order = np.argsort(key, kind="stable")
        key_sorted = key[order]
        cum = np.concatenate([[0], np.cumsum(flags[ok][order])])
        lo = np.searchsorted(key_sorted, key - w, side="left")
        hi = np.searchsorted(key_sorted, key + w, side="right")
        counts = np.zeros(n, dtype="int64")
        counts[ok] = cum[hi] - cum[lo]
        best = np.maximum(best, counts)
    return best


def _check_signals(signals: Any) -> pd.DataFrame:
    if not isinstance(signals, pd.DataFrame):
        raise TypeError(f"signals: expected a pandas DataFrame, got {type(signals).__name__}")
    missing = [c for c in SIGNAL_COLUMNS if c not in signals.columns]
    if missing:
        raise ValueError(f"signals: missing columns {missing}; needed {list(SIGNAL_COLUMNS)}")
    for column in SIGNAL_COLUMNS:
        values = pd.to_numeric(signals[column], errors="coerce").to_numpy(dtype="float64")
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"signals: column {column!r} has {signals[column].iloc[i]} at row "
                f"{signals.index[i]!r}; expected finite numbers"
            )
    return signals


def _apply(
    signals: pd.DataFrame, window: float, burst: float, point: float, margin: float
) -> np.ndarray:
    g = signals["global"].to_numpy(dtype="float64")
    c = signals["context"].to_numpy(dtype="float64")
    collective = (signals["window"].to_numpy(dtype="float64") >= window) | (
        signals["burst"].to_numpy(dtype="float64") >= burst
    )
    is_point = (g >= point) & (g >= c + margin)
    return np.where(collective, "collective", np.where(is_point, "point", "contextual")).astype(
        object
    )


class KindRule(BaseEstimator):
    """Point / contextual / collective from four signals, with thresholds chosen on labels.

    Parameters
    ----------
    window_grid, burst_grid, point_grid, margin_grid
        Candidate thresholds for the window surprise, the burst size and the global surprise,
        and candidate margins by which the global surprise must exceed the context surprise
        (a negative margin lets a point anomaly win near-ties: for an event of an ordinary
        account, the account's median is close to everyone's, so a globally extreme value is
        about as extreme against the account).
        :meth:`fit` keeps the combination with the best balanced accuracy (mean recall over
        the kinds present), the first one in grid order on ties.

    Attributes
    ----------
    window_threshold_, burst_threshold_, point_threshold_, point_margin_ : float
        The chosen thresholds.
    fit_score_ : float
        Balanced accuracy of the chosen rule on the data it was chosen on (optimistic).
    grid_ : pandas.DataFrame
        Every combination tried and its balanced accuracy.
    """

    def __init__(
        self,
        window_grid: Sequence[float] = (2.0, 3.0, 4.0),
        burst_grid: Sequence[float] = (3, 5, 8, 12),
        point_grid: Sequence[float] = (1.5, 2.0, 3.0, 4.0),
        margin_grid: Sequence[float] = (-0.5, -0.25, 0.0, 0.25),
    ) -> None:
        self.window_grid = window_grid
        self.burst_grid = burst_grid
        self.point_grid = point_grid
        self.margin_grid = margin_grid

    def fit(self, signals: pd.DataFrame, kinds: Any) -> KindRule:
        """Choose the thresholds on labelled anomalies (``kinds`` from :data:`KINDS`).

        Raises
        ------
        ValueError
            On missing signal columns, non-finite signals, mismatched lengths, an empty grid
            or a kind that is not one of :data:`KINDS`.
        """
        signals = _check_signals(signals)
        y = np.asarray(pd.Series(kinds).astype(object))
        if len(y) != len(signals):
            raise ValueError(f"kinds: expected {len(signals)} labels, got {len(y)}")
        if len(y) == 0:
            raise ValueError("signals: empty; fitting needs labelled anomalies")
        unknown = sorted({str(k) for k in y} - set(KINDS))
        if unknown:
            raise ValueError(f"kinds: unknown kinds {unknown}; expected {list(KINDS)}")
        names = ("window_grid", "burst_grid", "point_grid", "margin_grid")
        grids = [list(getattr(self, name)) for name in names]
        for name, grid in zip(names, grids, strict=True):
            if not grid:
                raise ValueError(f"{name}: needs at least one candidate")
        rows = []
        for window, burst, point, margin in product(*grids):
            pred = _apply(signals, window, burst, point, margin)
            rows.append((window, burst, point, margin, balanced_accuracy_score(y, pred)))
        columns = ["window", "burst", "point", "margin", "balanced_accuracy"]
        self.grid_ = pd.DataFrame(rows, columns=columns)
        best = self.grid_.iloc[int(self.grid_["balanced_accuracy"].to_numpy().argmax())]
        self.window_threshold_ = float(best["window"])
        self.burst_threshold_ = float(best["burst"])
        self.point_threshold_ = float(best["point"])
        self.point_margin_ = float(best["margin"])
        self.fit_score_ = float(best["balanced_accuracy"])
        return self

    def predict(self, signals: pd.DataFrame) -> np.ndarray:
        """Kind of each row of ``signals`` (object array of :data:`KINDS`)."""
        check_is_fitted(self, "window_threshold_")
        signals = _check_signals(signals)
        return _apply(
            signals,
            self.window_threshold_,
            self.burst_threshold_,
            self.point_threshold_,
            self.point_margin_,
        )


def kind_signals(
    group_surprise: pd.DataFrame,
    events: pd.DataFrame,
    flagged: np.ndarray | pd.Series,
    window_s: float = 300.0,
) -> pd.DataFrame:
    """The four :data:`SIGNAL_COLUMNS` of each event.

    Parameters
    ----------
    group_surprise
        :meth:`FeatureDeviations.group_surprise` of the events (``global``, ``context``,
        ``window``), same index as ``events``.
    events, flagged, window_s
        As for :func:`burst_size`.
    """
    if not isinstance(group_surprise, pd.DataFrame) or not group_surprise.index.equals(
        events.index
    ):
        raise ValueError("group_surprise: expected a DataFrame with the same index as events")
    missing = [c for c in SIGNAL_COLUMNS[:3] if c not in group_surprise.columns]
    if missing:
        raise ValueError(f"group_surprise: missing columns {missing}")
    signals = group_surprise.loc[:, list(SIGNAL_COLUMNS[:3])].copy()
    signals["burst"] = burst_size(events, flagged, window_s=window_s)
    return signals
