"""Run every causal metric detector of the package on NAB's AWS CloudWatch series.

Usage::

    python -m anomaly_tutorial.benchmarks.nab --data-dir ../shared/data/nab_aws --out results/nab

Protocol (NAB's, Lavin and Ahmad 2015, scored by :mod:`anomaly_tutorial.timeseries.nab`):

* every file is read as it is (``timestamp,value``) and passed through
  :func:`~anomaly_tutorial.timeseries.prepare_series` (sorted, a repeated timestamp averaged,
  a regular 5-minute grid, gaps as NaN that the detectors skip);
* each detector is fitted on the file's probationary period (the first 15 % of its rows, which
  NAB does not score) and then scores every row of the file, causally;
* **one setting per detector for all files**, fixed before the labels were read: the package
  defaults, except where the short probationary period forces a choice (the seasonal profile
  uses ``hour_of_day`` because two days of training cannot cover the 168 hours of a week; STL's
  period is one day, or half the probationary period when that is shorter than two days);
* **the threshold is optimised over all 17 files**, per profile, as NAB does: that choice uses
  the labels of the files it is reported on, and NAB's published scores were made the same way.

NAB scores the rows of a file; here the rows are those of the prepared series that hold a
value, so a file that repeats a timestamp has one row fewer per repeat.

Output (in ``--out``): ``nab_scores.csv`` (one row per detector: the three profile scores and
the standard profile's threshold, windows caught, false positives and files the detector could
not score, which then count as files without detection), ``nab_per_file.csv``
(standard profile, per detector and file), ``nab_summary.md`` (the table beside NAB's published
scoreboard) and ``README.md`` (the command, the versions, the protocol).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_tutorial import timeseries as ts
from anomaly_tutorial.benchmarks._cli import command_line
from anomaly_tutorial.timeseries.nab import (
    PROFILES,
    NABFile,
    nab_scores,
    probationary_length,
)

__all__ = [
    "DETECTORS",
    "PUBLISHED",
    "list_files",
    "load_file",
    "load_results",
    "load_windows",
    "results_dir",
    "run_benchmark",
    "score_file",
]

#: NAB's published scoreboard over all 58 NAB series (NAB README, version 1.1):
#: standard, reward-low-FP and reward-low-FN profile scores. Not the same 17 series as here.
PUBLISHED = pd.DataFrame(
    [
        ("Numenta HTM", 70.5, 62.6, 75.2),
        ("CAD OSE", 69.9, 67.0, 73.2),
        ("earthgecko Skyline", 58.2, np.nan, np.nan),
        ("KNN CAD", 58.0, 43.4, 64.8),
        ("Relative Entropy", 54.6, 47.6, 58.8),
        ("Random Cut Forest", 51.7, 38.4, 59.7),
        ("Twitter ADVec v1.0.0", 47.1, 33.6, 53.5),
        ("Windowed Gaussian", 39.6, 20.9, 47.4),
        ("Etsy Skyline", 35.7, 27.1, 44.5),
        ("Bayesian Changepoint", 17.7, 3.2, 32.2),
        ("EXPoSE", 16.4, 3.2, 26.9),
        ("Random", 11.0, 1.2, 19.5),
    ],
    columns=["detector", *PROFILES],
).set_index("detector")


def _stl(n_train: int) -> ts.BaseSeriesDetector:
    return ts.STLDetector(period=min(288, n_train // 2))


#: Every causal metric detector of the package, one setting for all files (see the module
#: docstring). Each entry takes the number of training points and returns a fresh detector.
DETECTORS: dict[str, Callable[[int], ts.BaseSeriesDetector]] = {
    "global z-score": lambda n: ts.GlobalZScoreDetector(),
    "robust z-score": lambda n: ts.RobustZScoreDetector(),
    "IQR fences": lambda n: ts.IQRDetector(),
    "rolling z-score": lambda n: ts.RollingZScoreDetector(),
    "windowed Gaussian": lambda n: ts.WindowedGaussianDetector(),
    "seasonal profile (hour of day)": lambda n: ts.SeasonalProfileDetector(
        season="hour_of_day", min_points=1
    ),
    "STL (causal)": _stl,
    "EWMA": lambda n: ts.EWMADetector(),
    "CUSUM": lambda n: ts.CUSUMDetector(),
    "LSTM autoencoder": lambda n: ts.LSTMAutoencoderDetector(
        window=32, hidden_size=16, epochs=10, stride=2, seed=0
    ),
}


def results_dir() -> Path:
    """``results/nab`` of the repository (where the committed results live)."""
    return Path(__file__).resolve().parents[2] / "results" / "nab"


def list_files(data_dir: Path) -> list[str]:
    """NAB names (``realAWSCloudwatch/<file>.csv``) of the labelled files in ``data_dir``."""
    windows = load_windows(data_dir)
    present = [name for name in sorted(windows) if (data_dir / "data" / name).is_file()]
    if not present:
        raise FileNotFoundError(f"{data_dir}: no labelled NAB file under data/")
    return present


def load_windows(data_dir: Path) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """NAB's ``combined_windows.json``: per file, its windows as UTC timestamps."""
    path = Path(data_dir) / "combined_windows.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: NAB's window file is missing")
    raw = json.loads(path.read_text())
    return {
        name: [(pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")) for a, b in pairs]
        for name, pairs in raw.items()
    }


def load_file(data_dir: Path, name: str) -> pd.Series:
    """One NAB file as a Series indexed by its (UTC) timestamps, in file order."""
    path = Path(data_dir) / "data" / name
    frame = pd.read_csv(path)
    if list(frame.columns) != ["timestamp", "value"]:
        raise ValueError(f"{path}: expected columns timestamp,value, got {list(frame.columns)}")
    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True), name="time")
    return pd.Series(frame["value"].to_numpy(dtype=np.float64), index=index, name="value")


def score_file(
    series: pd.Series, make: Callable[[int], ts.BaseSeriesDetector]
) -> tuple[pd.Series, dict]:
    """Prepare a file, fit a detector on its probationary period and score every row.

    Returns
    -------
    (scores, info)
        Scores indexed by the prepared rows that hold a value; ``info`` has the preparation
        report's counts, the number of training points, the fit + score seconds, and
        ``error``: the message when the detector could not fit or score the file (its scores
        are then NaN, i.e. no detection), else ``""``.
    """
    prepared, report = ts.prepare_series(series, step="5min", return_report=True)
    rows = prepared.dropna()
    n_train = probationary_length(len(rows))
    train_end = rows.index[n_train - 1]
    detector = make(n_train)
    start = time.perf_counter()
    error = ""
    try:
        detector.fit(prepared.loc[:train_end])
        values = detector.score_samples(prepared)
    except ValueError as exc:  # the detector cannot use this file: no detection, reported
        error = str(exc)
        values = np.full(len(prepared), np.nan)
    scores = pd.Series(values, index=prepared.index).loc[rows.index]
    info = {
        "error": error,
        "rows": len(rows),
        "repeated": report.n_repeated,
        "out_of_order": report.n_out_of_order,
        "missing": report.n_missing,
        "train_points": n_train,
        "seconds": time.perf_counter() - start,
    }
    return scores, info


def run_benchmark(
    data_dir: Path,
    detectors: Sequence[str] | None = None,
    files: Sequence[str] | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every detector on every file; returns (per-detector table, per-file table)."""
    data_dir = Path(data_dir)
    windows = load_windows(data_dir)
    names = list_files(data_dir) if files is None else list(files)
    chosen = list(DETECTORS) if detectors is None else list(detectors)
    unknown = sorted(set(chosen) - set(DETECTORS))
    if unknown:
        raise ValueError(f"detectors: unknown {unknown}; known: {list(DETECTORS)}")
    series = {name: load_file(data_dir, name) for name in names}
    summary, per_file = [], []
    for det_name in chosen:
        nab_files, seconds, failed = {}, 0.0, []
        for name in names:
            scores, info = score_file(series[name], DETECTORS[det_name])
            seconds += info["seconds"]
            if info["error"]:
                failed.append(name)
                if progress:
                    print(f"{det_name}: {name}: not scored: {info['error']}", file=sys.stderr)
            times = scores.index.as_unit("ms").asi8
            spans = [(a.value // 1_000_000, b.value // 1_000_000) for a, b in windows.get(name, [])]
            nab_files[name] = NABFile(times, scores.to_numpy(), spans)
        results = nab_scores(nab_files)
        standard = results["standard"]
        row = {"detector": det_name}
        row.update({profile: results[profile].score for profile in PROFILES})
        row.update(
            {
                "threshold (standard)": standard.threshold,
                "windows detected": int(standard.per_file["detected_windows"].sum()),
                "windows": int(standard.per_file["windows"].sum()),
                "false positives": int(standard.per_file["false_positives"].sum()),
                "files not scored": len(failed),
                "seconds": seconds,
            }
        )
        summary.append(row)
        per_file.append(
            standard.per_file.reset_index().assign(
                detector=det_name, scored=lambda d, failed=failed: ~d["file"].isin(failed)
            )
        )
        if progress:
            print(
                f"{det_name:32s} "
                + " ".join(f"{results[p].score:6.1f}" for p in PROFILES)
                + f"  ({seconds:.1f} s)",
                file=sys.stderr,
            )
    return pd.DataFrame(summary).set_index("detector"), pd.concat(per_file, ignore_index=True)


def load_results(out: Path | None = None) -> pd.DataFrame:
    """The committed per-detector table (``results/nab/nab_scores.csv``)."""
    path = (results_dir() if out is None else Path(out)) / "nab_scores.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: run python -m anomaly_tutorial.benchmarks.nab --data-dir "
            f"../shared/data/nab_aws --out results/nab"
        )
    return pd.read_csv(path, index_col="detector")


def _markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join([table.index.name or "", *map(str, table.columns)]) + " |"
    rule = "|" + "---|" * (len(table.columns) + 1)
    lines = [header, rule]
    for name, row in table.iterrows():
        cells = ["-" if pd.isna(v) else f"{v:.1f}" for v in row.to_numpy()]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)


def _write(out: Path, summary: pd.DataFrame, per_file: pd.DataFrame, command: str) -> None:
    import platform

    import sklearn
    import statsmodels
    import torch

    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "nab_scores.csv", float_format="%.4f")
    per_file.to_csv(out / "nab_per_file.csv", index=False, float_format="%.4f")
    ours = summary[list(PROFILES)]
    text = [
        "# NAB scores of the package's metric detectors (17 realAWSCloudwatch series)",
        "",
        _markdown(ours),
        "",
        "# NAB's published scoreboard (all 58 NAB series; not the same files)",
        "",
        _markdown(PUBLISHED),
        "",
    ]
    (out / "nab_summary.md").write_text("\n".join(text))
    readme = [
        "# NAB benchmark results",
        "",
        "Made by:",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"scikit-learn {sklearn.__version__}, statsmodels {statsmodels.__version__}, "
        f"torch {torch.__version__}.",
        "",
        "Protocol: see the docstring of `anomaly_tutorial/benchmarks/nab.py`. Each detector is "
        "fitted on a file's probationary period (first 15 % of its rows) and scores every row; "
        "one setting per detector for all files, fixed before reading the labels; the threshold "
        "is optimised over all files per profile, as NAB does.",
        "",
        "* `nab_scores.csv`: per detector, the standard / reward_low_FP_rate / "
        "reward_low_FN_rate scores (null = 0, perfect = 100), and for the standard profile the "
        "threshold, windows detected out of all windows, false positives and seconds.",
        "* `nab_per_file.csv`: standard profile, per detector and file.",
        "* `nab_summary.md`: our table beside NAB's published scoreboard (58 series).",
        "",
    ]
    (out / "README.md").write_text("\n".join(readme))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the nab_aws folder")
    parser.add_argument("--out", type=Path, default=Path("results/nab"), help="output folder")
    parser.add_argument("--detectors", nargs="*", default=None, help=f"subset of {list(DETECTORS)}")
    args = parser.parse_args(argv)
    summary, per_file = run_benchmark(args.data_dir, args.detectors)
    command = command_line("anomaly_tutorial.benchmarks.nab", argv)
    _write(args.out, summary, per_file, command)
    print(_markdown(summary[list(PROFILES)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
