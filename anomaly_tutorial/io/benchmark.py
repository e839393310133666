"""Throughput of the OCSF readers: events per second for JSONL, gzip JSONL and parquet.

Run from the repository root::

    python -m anomaly_tutorial.io.benchmark --n-events 100000 --repeats 3 \
        --out results/reader_throughput

It generates the events with :func:`anomaly_tutorial.data.generate_dataset`, writes them once
in each format to a temporary folder, reads each file ``repeats`` times and reports the best
wall-clock time and the best CPU time of the process (on a shared machine the CPU time is the
steadier measure; the minimum is the least disturbed run).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from anomaly_tutorial.data import GeneratorConfig, generate_dataset
from anomaly_tutorial.io import (
    read_ocsf_jsonl,
    read_ocsf_parquet,
    write_ocsf_jsonl,
    write_ocsf_parquet,
)


def measure(n_events: int, repeats: int) -> dict[str, dict[str, float]]:
    """Best-of-``repeats`` read time and events per second per format."""
    frame = generate_dataset(GeneratorConfig(n_events=n_events, days=14, seed=7)).events
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        files = {
            "jsonl": Path(folder) / "events.jsonl",
            "jsonl.gz": Path(folder) / "events.jsonl.gz",
            "parquet": Path(folder) / "events.parquet",
        }
        write_ocsf_jsonl(frame, files["jsonl"])
        write_ocsf_jsonl(frame, files["jsonl.gz"])
        write_ocsf_parquet(frame, files["parquet"])
        for name, path in files.items():
            reader = read_ocsf_parquet if name == "parquet" else read_ocsf_jsonl
            best, best_cpu = float("inf"), float("inf")
            for _ in range(repeats):
                start, cpu_start = time.perf_counter(), time.process_time()
                result = reader(path)
                best = min(best, time.perf_counter() - start)
                best_cpu = min(best_cpu, time.process_time() - cpu_start)
            assert len(result.events) == len(frame), name
            results[name] = {
                "seconds": round(best, 3),
                "cpu_seconds": round(best_cpu, 3),
                "events_per_s": round(len(frame) / best),
                "events_per_cpu_s": round(len(frame) / best_cpu),
            }
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="folder for throughput.json")
    parser.add_argument("--label", default="current", help="key of this run in throughput.json")
    args = parser.parse_args(argv)
    results = measure(args.n_events, args.repeats)
    print(json.dumps(results, indent=1))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / "throughput.json"
        stored = json.loads(target.read_text()) if target.is_file() else {}
        stored[args.label] = {"n_events": args.n_events, **results}
        target.write_text(json.dumps(stored, indent=1) + "\n")


if __name__ == "__main__":
    main()
