"""Score a partitioned parquet dataset with Dask, with exactly the one-machine scores.

:func:`score_parquet_dataset` reads a folder of flat OCSF parquet files (as
:func:`~anomaly_tutorial.io.write_ocsf_parquet` writes them) with ``dask.dataframe`` and
scores each partition with :meth:`DetectionPipeline.score` on a ``distributed`` cluster: a
local one (threads in this process by default) or a real one given its scheduler address.

**Windows across partition boundaries.** The per-entity windows of an event look up to
``pipeline.window_s_`` seconds back, possibly into the previous partition (or several, when
partitions are short). The partitions must be in time order (each partition's first event no
earlier than the previous partition's last, which is how logs are usually partitioned: by
hour or day, files named so that they sort in time order); each partition is then scored
with, as ``history``, the events of the earlier partitions that fall in the ``window_s_``
seconds before its first event. Each window therefore sees exactly the events it sees when
the whole dataset is scored at once on one machine, and the scores are equal (a test checks
it with ``assert_array_equal``). Partitions out of time order are refused with a message
saying which ones; repartition by time first.

Only the small history slices travel between workers, not whole partitions, and no worker
needs the whole dataset. The pipeline is sent to the workers once (``Client.scatter``);
on a multi-machine cluster that serialises it with Dask's own protocol between the
processes you started, which is not the same as loading a file from elsewhere (load bundles
only with :func:`~anomaly_tutorial.serving.load_bundle`).

Dask and distributed are imported when the function is called, not when the package is.

Public objects: :func:`score_parquet_dataset`, :class:`DaskScoring`.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anomaly_tutorial.serving.pipeline import DetectionPipeline, empty_scores

__all__ = ["DaskScoring", "score_parquet_dataset"]


@dataclass
class DaskScoring:
    """What :func:`score_parquet_dataset` did.

    Attributes
    ----------
    scores
        The score table (one row per event, in partition order) when no ``out`` was given,
        else ``None``.
    out
        The parquet folder written, or ``None``.
    n_events, n_partitions, n_alerts
        Events scored, partitions, alerts.
    seconds
        Wall time of the scoring (reading, featurising, scoring, writing or collecting), without
        starting the cluster.
    scheduler
        Address of the scheduler used.
    """

    scores: pd.DataFrame | None
    out: str | None
    n_events: int
    n_partitions: int
    n_alerts: int
    seconds: float
    scheduler: str

    @property
    def events_per_second(self) -> float:
        """``n_events / seconds``."""
        return self.n_events / self.seconds if self.seconds else 0.0


def _bounds(part: pd.DataFrame) -> tuple[int, int, int]:
    times = part["time"].to_numpy(dtype="int64")
    if len(times) == 0:
        return 0, 0, 0
    return int(times.min()), int(times.max()), len(times)


def _tail(part: pd.DataFrame, since_ms: int) -> pd.DataFrame:
    """The events of ``part`` at or after ``since_ms``."""
    return part.loc[part["time"].to_numpy(dtype="int64") >= since_ms]


def _score_partition(pipeline: DetectionPipeline, part: pd.DataFrame, *tails: pd.DataFrame):
    if len(part) == 0:
        return empty_scores()
    pieces = [t for t in tails if len(t)]
    history = pd.concat(pieces, ignore_index=True) if pieces else None
    return pipeline.score(part, history=history)


def _score_dtypes(scores: pd.DataFrame) -> pd.DataFrame:
    """The dtypes of :meth:`DetectionPipeline.score` (Dask turns strings into arrow strings)."""
    severity = scores["severity"].astype(object)
    return scores.assign(
        event_id=pd.Series(scores["event_id"].astype(str).to_numpy(), dtype=str),
        severity=pd.Series(np.where(severity.notna(), severity, None), dtype=object),
        severity_id=scores["severity_id"].astype("Int64"),
    )


def _pipeline(source: Any) -> DetectionPipeline:
    if isinstance(source, DetectionPipeline):
        return source
    if isinstance(source, (str, os.PathLike)):
        from anomaly_tutorial.serving.bundle import load_bundle

        return load_bundle(source)
    raise TypeError(
        f"bundle_or_pipeline: expected a DetectionPipeline or a bundle path, "
        f"got {type(source).__name__}"
    )


def score_parquet_dataset(
    bundle_or_pipeline: DetectionPipeline | str | os.PathLike[str],
    path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    scheduler: str | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = False,
) -> DaskScoring:
    """Score every event of a partitioned parquet dataset on a Dask cluster.

    Parameters
    ----------
    bundle_or_pipeline
        A fitted :class:`~anomaly_tutorial.serving.DetectionPipeline` or a bundle path.
    path
        A folder of flat OCSF parquet files (one partition per file, in name order) or a
        glob; anything ``dask.dataframe.read_parquet`` reads. Partitions must be in time
        order (see the module docstring).
    out
        A folder to write the scores to as parquet (one file per partition); ``None`` to
        return them as a pandas frame instead (small datasets only).
    scheduler
        Address of a running scheduler (``"tcp://10.0.0.5:8786"``); ``None`` starts a
        ``LocalCluster`` on this machine for the call and closes it afterwards.
    n_workers, threads_per_worker, processes
        The local cluster's size; by default two workers of one thread each in this process
        (``processes=False``: nothing is serialised, the pipeline is shared). With
        ``processes=True`` the workers are processes bound to 127.0.0.1.

    Returns
    -------
    DaskScoring

    Raises
    ------
    ValueError
        If the partitions are not in time order (naming the first pair that is not).
    """
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    pipeline = _pipeline(bundle_or_pipeline)
    cluster = None
    if scheduler is None:
        options: dict[str, Any] = {
            "n_workers": int(n_workers),
            "threads_per_worker": int(threads_per_worker),
            "processes": bool(processes),
            "dashboard_address": None,
        }
        if processes:
            options["host"] = "127.0.0.1"
        cluster = LocalCluster(**options)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        start = time.perf_counter()
        frame = dd.read_parquet(str(path))
        parts = frame.to_delayed()
        times = dd.read_parquet(str(path), columns=["time"]).to_delayed()  # cheap: one column
        if len(times) != len(parts):  # pragma: no cover - dask splits both reads the same way
            raise RuntimeError(f"{path}: the time column was read in another partitioning")
        bounds = dask.compute(*[dask.delayed(_bounds)(p) for p in times])
        filled = [i for i, (_, _, n) in enumerate(bounds) if n]
        for a, b in itertools.pairwise(filled):
            if bounds[b][0] < bounds[a][1]:
                raise ValueError(
                    f"{path}: partitions {a} and {b} are not in time order (partition {b} "
                    f"starts at {bounds[b][0]}, before partition {a} ends at {bounds[a][1]}); "
                    "write the dataset partitioned by time, files named in time order"
                )
        window_ms = int(np.ceil(float(pipeline.window_s_) * 1000))
        shared = client.scatter(pipeline, broadcast=True)
        scored = []
        for i, part in enumerate(parts):
            first = bounds[i][0]
            tails = [
                dask.delayed(_tail)(parts[j], first - window_ms)
                for j in filled
                if j < i and bounds[i][2] and bounds[j][1] >= first - window_ms
            ]
            scored.append(dask.delayed(_score_partition)(shared, part, *tails))
        result = dd.from_delayed(scored, meta=empty_scores(), verify_meta=False)
        if out is None:
            scores = _score_dtypes(result.compute().reset_index(drop=True))
            written = None
        else:
            result.to_parquet(str(out), write_index=False)
            scores = None
            written = str(Path(out))
        seconds = time.perf_counter() - start
        n_events = sum(n for _, _, n in bounds)
        if scores is not None:
            n_alerts = int(scores["alert"].sum())
        else:
            n_alerts = int(dd.read_parquet(str(out), columns=["alert"])["alert"].sum().compute())
        return DaskScoring(
            scores=scores,
            out=written,
            n_events=n_events,
            n_partitions=len(parts),
            n_alerts=n_alerts,
            seconds=seconds,
            scheduler=str(client.scheduler.address),
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
