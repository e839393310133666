"""Dask scoring of one million generated events against one process, same partitions.

Run from the repository root::

    PYTHONPATH=. python results/serving/dask_benchmark.py --out results/serving

1. fits the book's pipeline (``DetectionPipeline()`` on ``book_split()`` train / validation);
2. generates ``--n-events`` events with the package's generator
   (``GeneratorConfig(n_events=..., days=14, seed=11)``), sorts them by time and writes them as
   ``--partitions`` time-ordered parquet files (a temporary folder, deleted afterwards);
3. scores them in one process (partition by partition, each with the previous ``window_s_``
   of events as history: the same work as the Dask tasks, without Dask), then with
   :func:`anomaly_tutorial.serving.distributed.score_parquet_dataset` on a local cluster of two
   thread workers (``processes=False``) and of two process workers; checks that the three give
   identical scores; writes ``dask_1m.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_tutorial.data import GeneratorConfig, book_split, default_dataset, generate_dataset
from anomaly_tutorial.io import write_ocsf_parquet
from anomaly_tutorial.serving import DetectionPipeline
from anomaly_tutorial.serving.distributed import score_parquet_dataset


def one_process(pipeline: DetectionPipeline, files: list[Path]) -> pd.DataFrame:
    window_ms = int(pipeline.window_s_ * 1000)
    history, out = None, []
    for file in files:
        part = pd.read_parquet(file)
        out.append(pipeline.score(part, history=history))
        past = part if history is None else pd.concat([history, part], ignore_index=True)
        history = past[past["time"] >= int(part["time"].max()) - window_ms]
    return pd.concat(out, ignore_index=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/serving"))
    parser.add_argument("--n-events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=20)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()

    def show(text: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {text}", flush=True)

    train, validation, _ = book_split().split(default_dataset().events)
    start = time.perf_counter()
    pipeline = DetectionPipeline().fit(train, validation)
    fit_s = time.perf_counter() - start
    show(f"pipeline fitted in {fit_s:.1f} s")
    start = time.perf_counter()
    events = generate_dataset(GeneratorConfig(n_events=args.n_events, days=14, seed=11)).events
    events = events.sort_values("time", kind="stable").reset_index(drop=True)
    show(f"{len(events):,} events generated in {time.perf_counter() - start:.1f} s")
    folder = Path(tempfile.mkdtemp(prefix="dask-bench-"))
    try:
        files = []
        for k, rows in enumerate(np.array_split(np.arange(len(events)), args.partitions)):
            files.append(folder / f"part-{k:03d}.parquet")
            write_ocsf_parquet(events.iloc[rows], files[-1])
        n = len(events)
        del events
        show(f"written as {args.partitions} parquet partitions")
        start = time.perf_counter()
        single = one_process(pipeline, files)
        single_s = time.perf_counter() - start
        show(f"one process: {single_s:.1f} s ({n / single_s:,.0f} events/s)")
        runs = {}
        for name, processes in (("threads", False), ("processes", True)):
            result = score_parquet_dataset(pipeline, folder, n_workers=2, processes=processes)
            np.testing.assert_array_equal(
                result.scores["detector_score"].to_numpy(), single["detector_score"].to_numpy()
            )
            runs[name] = {
                "seconds": result.seconds,
                "events_per_second": result.events_per_second,
                "n_alerts": result.n_alerts,
            }
            show(f"dask, 2 {name} workers: {result.seconds:.1f} s (scores identical)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    record = {
        "command": "PYTHONPATH=. python results/serving/dask_benchmark.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "n_events": n,
        "n_partitions": args.partitions,
        "generator": f"GeneratorConfig(n_events={args.n_events}, days=14, seed=11)",
        "pipeline_fit_seconds": fit_s,
        "one_process": {
            "seconds": single_s,
            "events_per_second": n / single_s,
            "n_alerts": int(single["alert"].sum()),
        },
        "dask_local_cluster_2_workers": runs,
        "identical_scores": True,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_at_end": os.getloadavg()[0],
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dask_1m.json").write_text(json.dumps(record, indent=1))
    show(f"wrote {args.out / 'dask_1m.json'}")


if __name__ == "__main__":
    main()
