"""Command line of the serving package: ``python -m anomaly_tutorial.serving COMMAND``.

``serve --bundle PATH [--host 127.0.0.1] [--port 8000]``
    Run the REST service (:func:`~anomaly_tutorial.serving.service.serve`); the bearer token,
    if any, comes from ``$ANOMALY_TUTORIAL_TOKEN``.
``train --out PATH [EVENTS ...]``
    Fit the book's default pipeline and write a bundle
    (:func:`~anomaly_tutorial.serving.batch.train_bundle`); without event files it trains on
    the package's generated data (train and validation periods of ``book_split()``).
``score --bundle PATH INPUT ... --out OUT [--chunk-size N] [--quarantine FILE]``
    Batch-score JSONL (plain or gzip) and parquet files
    (:func:`~anomaly_tutorial.serving.batch.score_files`): scores, findings and a summary in
    the folder ``OUT``, invalid records in a quarantine file with their line number and error;
    the summary is printed at the end (events, alerts by severity, quarantined, events/s).
``loadtest [--bundle PATH] [--requests N] [--concurrency C] [--out FILE]``
    The bounded load test (:func:`~anomaly_tutorial.serving.loadtest.run_loadtest`); without
    a bundle it trains one into a temporary folder first.

Every command is a thin call into the package; none re-implements a step.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m anomaly_tutorial.serving",
        description="Train, serve, batch-score and load-test the book's detection pipeline.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the REST service with uvicorn")
    serve.add_argument("--bundle", required=True, type=Path, help="bundle folder")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", default=8000, type=int, help="port (8000)")
    serve.add_argument(
        "--stateless",
        action="store_true",
        help="score each request alone (no window history across requests)",
    )

    train = commands.add_parser("train", help="fit the default pipeline and write a bundle")
    train.add_argument("--out", required=True, type=Path, help="bundle folder to write")
    train.add_argument(
        "events", nargs="*", type=Path, help="OCSF JSONL / parquet files (default: generated)"
    )

    score = commands.add_parser("score", help="batch-score OCSF files with a bundle")
    score.add_argument("--bundle", required=True, type=Path, help="bundle folder")
    score.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="JSONL or parquet")
    score.add_argument("--out", required=True, type=Path, help="output folder")
    score.add_argument("--chunk-size", default=50_000, type=int, help="records per chunk")
    score.add_argument("--quarantine", type=Path, help="file of the invalid records")
    score.add_argument(
        "--format", default="parquet", choices=("parquet", "jsonl"), help="scores file format"
    )

    load = commands.add_parser("loadtest", help="bounded load test of the service")
    load.add_argument("--bundle", type=Path, help="bundle folder (default: train one)")
    load.add_argument("--requests", default=1000, type=int, help="requests per endpoint")
    load.add_argument("--concurrency", default=1, type=int, help="requests in flight")
    load.add_argument("--rounds", default=4, type=int, help="alternating rounds")
    load.add_argument(
        "--server",
        default="process",
        choices=("process", "thread"),
        help="run the service in its own process (default) or a thread of the client",
    )
    load.add_argument("--out", type=Path, help="JSON file for the results")
    return parser


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from anomaly_tutorial.serving.service import serve

        print(f"serving {args.bundle} on http://{args.host}:{args.port}", file=sys.stderr)
        serve(args.bundle, host=args.host, port=args.port, stateful=not args.stateless)
        return 0
    if args.command == "train":
        from anomaly_tutorial.serving.batch import train_bundle

        pipeline = train_bundle(args.out, list(args.events) or None)
        figures = pipeline.validation_figures_
        print(
            f"bundle written to {args.out} (threshold {pipeline.threshold_:.4g}; on validation "
            f"{figures['alerts_per_day']:.1f} alerts per day)",
            file=sys.stderr,
        )
        return 0
    if args.command == "score":
        from anomaly_tutorial.serving.batch import score_files

        summary = score_files(
            args.bundle,
            list(args.inputs),
            args.out,
            chunk_size=args.chunk_size,
            quarantine=args.quarantine,
            scores_format=args.format,
        )
        print(summary)
        return 0
    if args.command == "loadtest":
        from anomaly_tutorial.serving.loadtest import run_loadtest

        with tempfile.TemporaryDirectory() as tmp:
            bundle = args.bundle
            if bundle is None:
                from anomaly_tutorial.serving.batch import train_bundle

                bundle = Path(tmp) / "bundle"
                train_bundle(bundle, None)
            result = run_loadtest(
                Path(bundle),
                n_requests=args.requests,
                concurrency=args.concurrency,
                rounds=args.rounds,
                server=args.server,
            )
        result.settings["command"] = "python -m anomaly_tutorial.serving " + " ".join(
            sys.argv[1:] if argv is None else argv
        )
        if args.out is not None:
            result.save(args.out)
            print(f"results written to {args.out}", file=sys.stderr)
        _print_json(result.summary)
        return 0
    raise AssertionError(args.command)  # pragma: no cover - argparse refuses other commands


if __name__ == "__main__":
    sys.exit(main())
