"""Fit time, bundle size, batch-scoring and streaming throughput of the book's pipeline.

Run from the repository root::

    PYTHONPATH=. python results/serving/batch_benchmark.py --out results/serving

Measures, on this machine, and writes ``batch_stream.json``:

* ``fit_seconds``: ``DetectionPipeline().fit(train, validation)`` on the book's split;
* ``bundle_bytes``: the size of the bundle ``save_bundle`` writes (every file);
* ``score_files``: :func:`anomaly_tutorial.serving.batch.score_files` from the bundle on the
  book's test period written as gzip JSONL, and on ``--big`` generated events
  (``GeneratorConfig(n_events=..., days=14, seed=11)``) as JSONL: events per second of the
  whole run (read, validate, featurise, detect, calibrate, triage, write scores and findings);
* ``featurise_and_detect``: events per second of ``featurizer_.transform`` +
  ``detector_.score_samples`` alone on the test period (with validation as history);
* ``streaming``: :class:`anomaly_tutorial.serving.StreamingScorer` events per second with one
  event per call and with micro-batches of 100, over the first test day.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from anomaly_tutorial.data import GeneratorConfig, book_split, default_dataset, generate_dataset
from anomaly_tutorial.io import write_ocsf_jsonl
from anomaly_tutorial.serving import DetectionPipeline, StreamingScorer, save_bundle, score_files


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/serving"))
    parser.add_argument("--big", type=int, default=200_000)
    args = parser.parse_args(argv)
    record: dict = {
        "command": "PYTHONPATH=. python results/serving/batch_benchmark.py "
        + " ".join(sys.argv[1:] if argv is None else argv)
    }
    train, validation, test = book_split().split(default_dataset().events)
    start = time.perf_counter()
    pipeline = DetectionPipeline().fit(train, validation)
    record["fit_seconds"] = time.perf_counter() - start
    record["n_train"], record["n_validation"], record["n_test"] = (
        len(train),
        len(validation),
        len(test),
    )
    print(f"fit {record['fit_seconds']:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        folder = Path(tmp)
        bundle = save_bundle(pipeline, folder / "bundle")
        record["bundle_bytes"] = _size(bundle)
        record["bundle_files"] = {f.name: f.stat().st_size for f in sorted(bundle.iterdir())}
        start = time.perf_counter()
        X = pipeline.featurizer_.transform(test, history=validation)
        pipeline.detector_.score_samples(X)
        seconds = time.perf_counter() - start
        record["featurise_and_detect"] = {
            "events": len(test),
            "seconds": seconds,
            "events_per_second": len(test) / seconds,
        }
        runs = {}
        write_ocsf_jsonl(test, folder / "test.jsonl.gz")
        big = generate_dataset(GeneratorConfig(n_events=args.big, days=14, seed=11)).events
        write_ocsf_jsonl(big.sort_values("time", kind="stable"), folder / "big.jsonl")
        del big
        for name in ("test.jsonl.gz", "big.jsonl"):
            summary = score_files(bundle, folder / name, folder / f"out-{name}", progress=False)
            runs[name] = summary.to_dict()
            print(f"score_files {name}: {summary}", flush=True)
        record["score_files"] = runs
    day = test[test["time"] < test["time"].min() + 86_400_000].sort_values("time", kind="stable")
    streaming = {}
    for label, size, n in (("one event per call", 1, 500), ("micro-batches of 100", 100, len(day))):
        scorer = StreamingScorer(pipeline)
        events = day.iloc[:n]
        start = time.perf_counter()
        for i in range(0, len(events), size):
            scorer.push(events.iloc[i : i + size])
        seconds = time.perf_counter() - start
        streaming[label] = {
            "events": len(events),
            "seconds": seconds,
            "events_per_second": len(events) / seconds,
        }
        print(f"streaming, {label}: {len(events) / seconds:,.0f} events/s", flush=True)
    record["streaming"] = streaming
    record["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m_at_end": os.getloadavg()[0],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batch_stream.json").write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
