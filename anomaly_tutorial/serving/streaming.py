"""Score events as they arrive, with exactly the scores of batch scoring.

:class:`StreamingScorer` wraps a fitted :class:`~anomaly_tutorial.serving.DetectionPipeline`.
Events come one at a time or in micro-batches; the scorer keeps the recent past itself and
calls :meth:`DetectionPipeline.score` with it as ``history``, so no step is re-implemented and
the scores equal those of ``pipeline.score`` over the whole stream at once.

**Why the scores are exactly equal.** Every feature of an event is a function of the event
and of the events of the same entity in the ``window_s`` seconds before it (the windows are
causal, :mod:`anomaly_tutorial.features.windows`), then of fitted constants (scaling,
vocabularies, the detector, the calibration). The scorer keeps every event of the last
``pipeline.window_s_`` seconds (the longest window), so the windows see the same events as
in one batch; counts and distinct counts are integers, and sums of integer fields are summed
as integers, so no float summation order differs. The detector must score each row on its
own (ECOD does; a test checks it).

**State is bounded**: after each call, only events no older than ``window_s_`` seconds
before the latest scored event are kept (:attr:`StreamingScorer.n_buffered`).

**Order, late and out-of-order events.** Batch scoring of the same events means scoring
them sorted by time (ties in arrival order). The scorer therefore scores an event only when
no earlier event can still come:

* with ``allowed_lateness_s = 0`` (default) every accepted event is scored at once; events of
  one micro-batch are sorted by time first;
* with ``allowed_lateness_s = L`` events wait in a small buffer until an event ``L`` seconds
  later has arrived (or :meth:`StreamingScorer.flush` is called), and are then scored in time
  order: an event up to ``L`` seconds late is put back in its place;
* an event older than the latest event already scored cannot be put back: the whole call is
  refused with :class:`LateEventError` (naming the event id and by how much it is late), and
  nothing of that call is kept, so the caller can resend the other events; :attr:`late_`
  counts such events. Nothing is ever dropped silently.

**Threads**: every public method holds one internal lock, so a scorer shared by the threads
of a service is safe; calls are serialised (one micro-batch at a time).

Public objects: :class:`StreamingScorer`, :class:`LateEventError`.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial.serving.pipeline import DetectionPipeline, as_event_frame, empty_scores

__all__ = ["LateEventError", "StreamingScorer"]


class LateEventError(ValueError):
    """Events older than the latest event already scored.

    Attributes
    ----------
    event_ids
        The late events' ids.
    """

    def __init__(self, event_ids: list[str], message: str) -> None:
        self.event_ids = list(event_ids)
        super().__init__(message)


class StreamingScorer:
    """Score a stream of events with exactly the scores of batch scoring.

    Parameters
    ----------
    pipeline
        A fitted :class:`~anomaly_tutorial.serving.DetectionPipeline` (or one loaded from a
        bundle).
    allowed_lateness_s
        How late (seconds) an event may arrive and still be put back in time order; events
        wait this long before they are scored. ``0``: score at once, refuse anything older
        than what was already scored.
    history
        Optional events before the stream (for example the end of the validation period), so
        that the first windows are not empty; only their last ``window_s_`` seconds are kept.

    Attributes
    ----------
    late_ : int
        Events refused as too late so far.
    n_scored_ : int
        Events scored so far.
    watermark_ : int or None
        Time (epoch ms) of the latest event scored; an event older than this is late.

    Examples
    --------
    >>> scorer = StreamingScorer(pipeline)                    # doctest: +SKIP
    >>> scorer.push(event)          # one nested OCSF dict    # doctest: +SKIP
    >>> scorer.push(frame.iloc[:100])  # or a micro-batch     # doctest: +SKIP
    """

    def __init__(
        self,
        pipeline: DetectionPipeline,
        allowed_lateness_s: float = 0.0,
        history: Any = None,
    ) -> None:
        if not hasattr(pipeline, "threshold_"):
            raise ValueError("pipeline: expected a fitted DetectionPipeline; call fit first")
        lateness = float(allowed_lateness_s)
        if not np.isfinite(lateness) or lateness < 0:
            raise ValueError(
                f"allowed_lateness_s: must be a finite number >= 0, got {allowed_lateness_s!r}"
            )
        self.pipeline = pipeline
        self.allowed_lateness_s = lateness
        self._window_ms = int(np.ceil(float(pipeline.window_s_) * 1000))
        self._lateness_ms = int(np.ceil(lateness * 1000))
        self._lock = threading.Lock()
        self._history: pd.DataFrame | None = None
        self._pending: pd.DataFrame | None = None
        self._arrivals = 0
        self.late_ = 0
        self.n_scored_ = 0
        self.watermark_: int | None = None
        if history is not None:
            past = as_event_frame(history, "history")
            self._history = self._trim(past, int(past["time"].max()))
            self.watermark_ = int(past["time"].max())

    # --- state ------------------------------------------------------------------------------
    @property
    def n_buffered(self) -> int:
        """Events kept as window history."""
        return 0 if self._history is None else len(self._history)

    @property
    def n_pending(self) -> int:
        """Events accepted but waiting for the allowed lateness to pass."""
        return 0 if self._pending is None else len(self._pending)

    def _trim(self, frame: pd.DataFrame, latest: int) -> pd.DataFrame:
        keep = frame["time"].to_numpy(dtype="int64") >= latest - self._window_ms
        return frame.loc[keep].reset_index(drop=True)

    # --- scoring ----------------------------------------------------------------------------
    def push(self, events: Any) -> pd.DataFrame:
        """Accept events and return the scores of those that are ready.

        :meth:`push_with_alerts` does the same and also returns the Detection Findings of the
        alerts among them.

        Parameters
        ----------
        events
            One nested OCSF dict, a list of them, or a flat frame (see
            :func:`~anomaly_tutorial.serving.as_event_frame`); validated like
            :meth:`DetectionPipeline.score`'s input.

        Returns
        -------
        pandas.DataFrame
            :data:`~anomaly_tutorial.serving.pipeline.SCORE_COLUMNS` of the events scored by
            this call, in time order (ties in arrival order); with ``allowed_lateness_s > 0``
            these can include events of earlier calls and exclude some of this one. Empty
            (with those columns) when nothing is ready.

        Raises
        ------
        LateEventError
            If an event is older than the latest event already scored; nothing of the call is
            kept.
        """
        return self._push(events, with_alerts=False)[0]

    def push_with_alerts(self, events: Any) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        """:meth:`push`, plus the validated OCSF Detection Findings of the scored alerts.

        Returns
        -------
        (pandas.DataFrame, list of dict)
            The scores of the events scored by this call and the findings of their alerts
            (:meth:`DetectionPipeline.score_and_alerts`; the kind's burst signal counts the
            alerts of the same call).
        """
        return self._push(events, with_alerts=True)

    def _push(self, events: Any, with_alerts: bool) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        frame = as_event_frame(events)
        with self._lock:
            times = frame["time"].to_numpy(dtype="int64")
            if self.watermark_ is not None:
                late = np.flatnonzero(times < self.watermark_)
                if late.size:
                    self.late_ += int(late.size)
                    ids = frame["event_id"].astype(str).to_numpy()[late].tolist()
                    first = int(late[0])
                    behind = (self.watermark_ - int(times[first])) / 1000
                    raise LateEventError(
                        ids,
                        f"{late.size} event(s) arrived after later events were scored, e.g. "
                        f"record {first + 1} (event {ids[0]!r}), field 'time': "
                        f"{int(times[first])} is {behind:g} s "
                        f"before the latest scored event (allowed lateness "
                        f"{self.allowed_lateness_s:g} s); nothing of this call was kept",
                    )
            frame = frame.assign(_arrival=np.arange(self._arrivals, self._arrivals + len(frame)))
            self._arrivals += len(frame)
            pending = (
                frame
                if self._pending is None
                else pd.concat([self._pending, frame], ignore_index=True)
            )
            latest = int(pending["time"].max())
            ready = pending["time"].to_numpy(dtype="int64") <= latest - self._lateness_ms
            return self._score_ready(pending, ready, with_alerts)

    def flush(self) -> pd.DataFrame:
        """Score every waiting event now (end of stream); same return value as :meth:`push`."""
        return self._flush(with_alerts=False)[0]

    def flush_with_alerts(self) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        """:meth:`flush`, plus the findings of the alerts, as :meth:`push_with_alerts`."""
        return self._flush(with_alerts=True)

    def _flush(self, with_alerts: bool) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        with self._lock:
            if self._pending is None:
                return empty_scores(), []
            ready = np.ones(len(self._pending), dtype=bool)
            return self._score_ready(self._pending, ready, with_alerts)

    def _score_ready(
        self, pending: pd.DataFrame, ready: np.ndarray, with_alerts: bool
    ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        waiting = pending.loc[~ready]
        self._pending = waiting.reset_index(drop=True) if len(waiting) else None
        batch = pending.loc[ready]
        if len(batch) == 0:
            return empty_scores(), []
        batch = batch.sort_values(["time", "_arrival"], kind="stable").drop(columns="_arrival")
        batch = batch.reset_index(drop=True)
        if with_alerts:
            scores, findings = self.pipeline.score_and_alerts(batch, history=self._history)
        else:
            scores, findings = self.pipeline.score(batch, history=self._history), []
        latest = int(batch["time"].max())
        past = batch if self._history is None else pd.concat([self._history, batch])
        self._history = self._trim(past, latest)
        self.watermark_ = latest
        self.n_scored_ += len(batch)
        return scores, findings
