"""Every session detector of the package on the OpenStack log sessions of Landauer et al.

Usage::

    python -m anomaly_tutorial.benchmarks.openstack --data-dir ../shared/data/logs_openstack \
        --out results/openstack [--speed]

Data (``../shared/data/logs_openstack/``, read its README): the corrected OpenStack set of
Kalaki et al. (2023) in the session format of Landauer, Skopik and Wurzenberger (2024):
``openstack_train`` (50 normal sessions), ``openstack_test_normal`` and
``openstack_test_abnormal``, one ``<session id>,<event ids>`` line per session.

Protocol:

* every detector is fitted on ``openstack_train`` only; its decision threshold comes from those
  50 sessions (``> 0`` for the counting detectors, the largest leave-one-out distance for the
  distance detectors, the held-out-session choice of ``top_k`` for the next-event LSTM);
* *validation* (:func:`validate`): 5-fold cross-validation on the 50 training sessions, each
  held-out fold scored as it is (false positives) and in corrupted copies
  (:data:`~anomaly_tutorial.sequences.validation.CORRUPTIONS`, true positives);
  :func:`recommend` picks the detector to start with from that table alone;
* *test* (:func:`run_benchmark`): TPR on the abnormal file, FPR on the normal file, F1 on the
  two together, and the F1 of flagging every session, measured once.

Output (in ``--out``): ``openstack_test.csv``, ``openstack_validation.csv``, with ``--speed``
``speed.csv`` (fit on 5,000 and score 500,000 synthetic block sessions), and ``README.md`` with
the command that wrote them. :func:`load_results` reads them back for the book.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone

from anomaly_tutorial.benchmarks._cli import command_line
from anomaly_tutorial.sequences import (
    CombinedSessionDetector,
    EditDistanceDetector,
    EventCountVectorDetector,
    NewEventDetector,
    NextEventDetector,
    NGramDetector,
    SessionLengthDetector,
    cross_validate_detectors,
    load_sessions,
    make_block_sessions,
)

__all__ = [
    "ALERT_FPR",
    "FILES",
    "PUBLISHED",
    "SPEED_SCORED",
    "detectors",
    "f1_score",
    "load_openstack",
    "load_results",
    "main",
    "recommend",
    "results_dir",
    "run_benchmark",
    "speed_benchmark",
    "validate",
]

#: The three files of the set.
FILES = ("openstack_train", "openstack_test_normal", "openstack_test_abnormal")

#: Largest validation false-positive rate a detector may have to be recommended.
ALERT_FPR = 0.05

#: Published F1 of simple session detectors on other sets in the same format (F1, source).
PUBLISHED = pd.DataFrame(
    [
        {
            "data set": "HDFS (Landauer et al. 2024)",
            "detectors": "event-count vectors, length, new events, n-grams",
            "F1": "0.96-0.99",
        },
        {
            "data set": "HDFS (Landauer et al. 2024)",
            "detectors": "LSTM next-event models (DeepLog and successors)",
            "F1": "below the simple methods",
        },
        {
            "data set": "Hadoop (Landauer et al. 2024)",
            "detectors": "flag every session (84 % abnormal)",
            "F1": "0.915",
        },
    ]
)


def detectors() -> dict[str, object]:
    """The benchmarked detectors, unfitted, simplest first (the tie-break of :func:`recommend`).

    Returns
    -------
    dict
        Name -> detector; names say what each one is.
    """
    return {
        "new events": NewEventDetector(),
        "session length": SessionLengthDetector(),
        "event counts (ECVC)": EventCountVectorDetector(),
        "event counts, idf": EventCountVectorDetector(idf=True),
        "event proportions": EventCountVectorDetector(normalize=True),
        "event counts, idf, clusters": EventCountVectorDetector(idf=True, reference="clusters"),
        "2-grams + end": NGramDetector(n=2, end_event=True),
        "3-grams + end": NGramDetector(n=3, end_event=True),
        "edit distance": EditDistanceDetector(),
        "new events | length | counts": CombinedSessionDetector(
            [
                ("new events", NewEventDetector()),
                ("length", SessionLengthDetector()),
                ("counts", EventCountVectorDetector()),
            ]
        ),
        "next-event LSTM (DeepLog)": NextEventDetector.deeplog(),
        "next-event LSTM (default)": NextEventDetector(),
    }


def load_openstack(data_dir: str | Path) -> dict[str, list[list[int]]]:
    """Read the three files of ``data_dir``; name -> sessions (ids dropped).

    Raises
    ------
    FileNotFoundError
        If a file is missing (the message names it).
    """
    folder = Path(data_dir)
    out = {}
    for name in FILES:
        _, sessions = load_sessions(folder / name, session_ids=True)
        out[name] = sessions
    return out


def f1_score(tp: int, fp: int, fn: int) -> float:
    """F1 from counts, ``tp / (tp + (fp + fn) / 2)``; 0 when there is nothing to count."""
    denominator = tp + 0.5 * (fp + fn)
    return float(tp / denominator) if denominator else 0.0


def run_benchmark(data_dir: str | Path, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Fit each detector on the training file and measure it once on the two test files.

    Parameters
    ----------
    data_dir
        Folder of the three files.
    names
        Subset of :func:`detectors` (all by default).

    Returns
    -------
    pandas.DataFrame
        One row per detector: ``TP``, ``FP``, ``FN``, ``TN`` (ints), ``TPR``, ``FPR``, ``F1``,
        ``flag-all F1``, ``threshold`` and ``seconds`` (fit plus scoring).
    """
    data = load_openstack(data_dir)
    train, normal, abnormal = (data[name] for name in FILES)
    pool = detectors()
    chosen = list(pool) if names is None else list(names)
    unknown = sorted(set(chosen) - set(pool))
    if unknown:
        raise ValueError(f"names: unknown detectors {unknown}; known: {list(pool)}")
    flag_all = f1_score(len(abnormal), len(normal), 0)
    rows = []
    for name in chosen:
        with torch.random.fork_rng(devices=[]):
            start = time.perf_counter()
            det = clone(pool[name]).fit(train)
            pred_normal = det.predict(normal)
            pred_abnormal = det.predict(abnormal)
            seconds = time.perf_counter() - start
        tp, fn = int(pred_abnormal.sum()), int(len(abnormal) - pred_abnormal.sum())
        fp, tn = int(pred_normal.sum()), int(len(normal) - pred_normal.sum())
        rows.append(
            {
                "detector": name,
                "TP": tp,
                "FP": fp,
                "FN": fn,
                "TN": tn,
                "TPR": tp / len(abnormal),
                "FPR": fp / len(normal),
                "F1": f1_score(tp, fp, fn),
                "flag-all F1": flag_all,
                "threshold": float(getattr(det, "threshold_", np.nan)),
                "seconds": seconds,
            }
        )
    return pd.DataFrame(rows).set_index("detector")


def validate(
    data_dir: str | Path, *, n_folds: int = 5, seed: int = 0, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Cross-validate the detectors on the training file only (see the module docstring)."""
    train = load_openstack(data_dir)[FILES[0]]
    pool = detectors()
    chosen = pool if names is None else {n: pool[n] for n in names}
    with torch.random.fork_rng(devices=[]):
        return cross_validate_detectors(chosen, train, n_folds=n_folds, seed=seed)


def recommend(validation: pd.DataFrame, alert_fpr: float = ALERT_FPR) -> str:
    """The detector to start with, from the validation table alone.

    The rule: among detectors whose validation FPR is at most ``alert_fpr``, the one with the
    highest validation TPR on corrupted sessions; ties go to the lower FPR, then to the simpler
    detector (earlier in :func:`detectors`). If none meets the budget, the lowest FPR wins.
    """
    order = {name: i for i, name in enumerate(validation.index)}
    frame = validation.assign(order=[order[n] for n in validation.index])
    within = frame[frame["FPR"] <= alert_fpr]
    if within.empty:
        return str(frame.sort_values(["FPR", "order"]).index[0])
    ranked = within.assign(neg_tpr=-within["TPR"]).sort_values(["neg_tpr", "FPR", "order"])
    return str(ranked.index[0])


#: Detectors too slow to score 500,000 sessions in a test run: scored on fewer, projected.
SPEED_SCORED = {
    "edit distance": 2_000,
    "next-event LSTM (DeepLog)": 50_000,
    "next-event LSTM (default)": 50_000,
}


def speed_benchmark(
    n_train: int = 5_000,
    n_score: int = 500_000,
    names: Sequence[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Seconds to fit on ``n_train`` and score ``n_score`` synthetic block sessions.

    The sessions come from :func:`~anomaly_tutorial.sequences.make_block_sessions` (HDFS-like
    block lives, 2 % anomalous among the scored ones; most of them distinct, unlike real logs,
    where a few shapes repeat). Detectors in :data:`SPEED_SCORED` score only the first that
    many sessions and their time for ``n_score`` is projected linearly (``projected``
    column True).

    Returns
    -------
    pandas.DataFrame
        One row per detector: ``scored`` sessions, ``fit s``, ``score s`` (wall clock),
        ``total s for n_score`` (measured, or projected), the same in CPU seconds of this
        process (``total CPU s for n_score``: what an idle machine would take, since the
        detectors run on one thread) and ``projected``.
    """
    train = make_block_sessions(n_train, 0, seed=seed).sessions
    n_anomalous = n_score // 50
    scored = make_block_sessions(n_score - n_anomalous, n_anomalous, seed=seed + 1).sessions
    pool = detectors()
    chosen = list(pool) if names is None else list(names)
    rows = []
    for name in chosen:
        n = min(SPEED_SCORED.get(name, n_score), n_score)
        with torch.random.fork_rng(devices=[]):
            start, cpu_start = time.perf_counter(), time.process_time()
            det = clone(pool[name]).fit(train)
            fitted, cpu_fitted = time.perf_counter(), time.process_time()
            det.score_samples(scored[:n])
            done, cpu_done = time.perf_counter(), time.process_time()
        scale = n_score / n
        rows.append(
            {
                "detector": name,
                "scored": n,
                "fit s": fitted - start,
                "score s": done - fitted,
                f"total s for {n_score}": (fitted - start) + (done - fitted) * scale,
                f"total CPU s for {n_score}": (cpu_fitted - cpu_start)
                + (cpu_done - cpu_fitted) * scale,
                "projected": n < n_score,
            }
        )
    return pd.DataFrame(rows).set_index("detector")


def results_dir() -> Path:
    """``results/openstack`` of the repository this package lives in."""
    return Path(__file__).resolve().parents[2] / "results" / "openstack"


def load_results(out: str | Path | None = None) -> dict[str, pd.DataFrame | str]:
    """Read the committed results: ``test``, ``validation``, ``speed`` (if present), ``command``.

    Raises
    ------
    FileNotFoundError
        If ``openstack_test.csv`` or ``openstack_validation.csv`` is missing; the message
        gives the command that writes them.
    """
    folder = results_dir() if out is None else Path(out)
    found: dict[str, pd.DataFrame | str] = {}
    for key, file in (("test", "openstack_test.csv"), ("validation", "openstack_validation.csv")):
        path = folder / file
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: run python -m anomaly_tutorial.benchmarks.openstack "
                "--data-dir ../shared/data/logs_openstack --out results/openstack"
            )
        found[key] = pd.read_csv(path, index_col="detector")
    speed = folder / "speed.csv"
    if speed.is_file():
        found["speed"] = pd.read_csv(speed, index_col="detector")
    readme = folder / "README.md"
    command = ""
    if readme.is_file():
        lines = [ln.strip() for ln in readme.read_text(encoding="utf-8").splitlines()]
        command = next((ln for ln in lines if ln.startswith("python -m")), "")
    found["command"] = command
    return found


def _write_readme(out: Path, command: str, recommended: str, speed: bool) -> None:
    speed_line = (
        "`speed.csv`: fit on 5,000 and score 500,000 block sessions (seconds, one thread;"
        " `projected` rows scored fewer sessions and are scaled linearly)."
        if speed
        else ""
    )
    text = f"""# OpenStack session benchmark

Written by

```
{command}
```

from the repository root (`anomaly_tutorial.benchmarks.openstack`; read its docstring for the
protocol; the data folder is `../shared/data/logs_openstack` beside the main checkout).
Every detector is fitted on `openstack_train` (50 normal sessions) with thresholds from those
sessions only; `openstack_validation.csv` is 5-fold cross-validation on the training
sessions and corrupted copies of them; `openstack_test.csv` is measured once on
`openstack_test_normal` and `openstack_test_abnormal`.
{speed_line}

Detector recommended from the validation table alone (`recommend`): **{recommended}**.
"""
    (out / "README.md").write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder of the three files")
    parser.add_argument("--out", type=Path, default=Path("results/openstack"), help="output folder")
    parser.add_argument("--speed", action="store_true", help="also run the speed benchmark")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    validation = validate(args.data_dir)
    validation.to_csv(args.out / "openstack_validation.csv")
    test = run_benchmark(args.data_dir)
    test.to_csv(args.out / "openstack_test.csv")
    if args.speed:
        speed_benchmark().to_csv(args.out / "speed.csv")
    command = command_line("anomaly_tutorial.benchmarks.openstack", argv)
    _write_readme(args.out, command, recommend(validation), args.speed)
    with pd.option_context("display.width", 160):
        print(validation.round(3))
        print(test.round(4))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
