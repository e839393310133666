"""Run the package's detectors on the ADBench classical datasets under the paper's protocol.

Usage::

    python -m anomaly_tutorial.benchmarks.adbench --data-dir ../shared/data/adbench \
        --out results/adbench

Protocol of Han et al. (2022), "ADBench: Anomaly Detection Benchmark", for the unsupervised
Table D4 (ROC-AUC) and D5 (PR-AUC):

* datasets under 1,000 rows are up-sampled with replacement to 1,000 rows, datasets over
  10,000 rows subsampled without replacement to 10,000 rows;
* 70/30 split stratified on the label; the detector is fitted on the training part without
  labels and scores the test part;
* ``MinMaxScaler`` fitted on the training part;
* detector hyperparameters are PyOD's defaults;
* every number is the mean over seeds 1, 2 and 3.

The random draws follow ADBench's ``DataGenerator``: a ``numpy.random.RandomState(seed)``
makes the up/down-sampling draw and then drives ``train_test_split``.

Output (in ``--out``): ``adbench_scores.csv`` (one row per dataset, method and seed: ROC-AUC,
PR-AUC, fit and score seconds), ``adbench_summary.csv`` (per dataset and method: our mean
ROC-AUC and PR-AUC in %, the paper's numbers), and ``adbench_summary.md`` (the same as markdown
tables with the mean over datasets and the targets).
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from anomaly_tutorial.benchmarks._cli import command_line, progress_printer
from anomaly_tutorial.detectors import BaseDetector, default_detector, make_detector

__all__ = [
    "METHODS",
    "PAPER_NAMES",
    "SEEDS",
    "TARGET_TOLERANCE",
    "adbench_split",
    "dataset_name",
    "list_datasets",
    "load_dataset",
    "load_results",
    "load_scores",
    "method_means",
    "paper_table",
    "results_dir",
    "run_benchmark",
    "summarize",
    "write_results",
]

SEEDS: tuple[int, ...] = (1, 2, 3)
N_SAMPLES_LOWER = 1_000
N_SAMPLES_UPPER = 10_000
TEST_SIZE = 0.3
TARGET_TOLERANCE = 2.0  # percentage points of ROC-AUC

#: Detectors run by the benchmark, configured with PyOD's defaults (see each docstring).
METHODS: dict[str, Callable[[], BaseDetector]] = {
    "IForest": lambda: make_detector(
        "iforest", n_estimators=100, max_samples="auto", max_features=1.0, random_state=0
    ),
    "KNN": lambda: make_detector("knn", n_neighbors=5, method="largest"),
    "LOF": lambda: make_detector("lof", n_neighbors=20),
    "OCSVM": lambda: make_detector("ocsvm", kernel="rbf", nu=0.5, gamma="auto"),
    "PCA": lambda: make_detector("pca", method="pyod"),
    "HBOS": lambda: make_detector("hbos", n_bins=10, alpha=0.1),
    "ECOD": lambda: make_detector("ecod"),
    "BookDefault": default_detector,
}

#: Column of the paper's table for each method (``None``: not in the paper).
PAPER_NAMES: dict[str, str | None] = {
    "IForest": "IForest",
    "KNN": "KNN",
    "LOF": "LOF",
    "OCSVM": "OCSVM",
    "PCA": "PCA",
    "HBOS": "HBOS",
    "ECOD": "ECOD",
    "BookDefault": None,
}

#: Methods whose mean ROC-AUC should be within ``TARGET_TOLERANCE`` of the paper's mean.
TARGET_METHODS: tuple[str, ...] = ("IForest", "KNN", "LOF", "OCSVM", "PCA")


def dataset_name(path: Path) -> str:
    """Paper name of a dataset file: ``"14_glass.npz"`` -> ``"glass"``."""
    return re.sub(r"^\d+_", "", Path(path).stem)


def list_datasets(data_dir: Path) -> list[Path]:
    """The ``.npz`` files of ``data_dir``, sorted by ADBench's number."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data_dir {str(data_dir)!r} is not a directory")
    files = [p for p in data_dir.glob("*.npz") if re.match(r"^\d+_", p.name)]
    if not files:
        raise FileNotFoundError(
            f"data_dir {str(data_dir)!r} holds no ADBench '<n>_<name>.npz' file"
        )
    return sorted(files, key=lambda p: int(p.name.split("_", 1)[0]))


def load_dataset(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Load an ADBench ``.npz`` file as ``(X float64, y int64)``."""
    with np.load(path) as data:
        X = np.asarray(data["X"], dtype=np.float64)
        y = np.asarray(data["y"]).astype(np.int64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"{path}: X must be 2-D with one label per row, got {X.shape}, {y.shape}")
    return X, y


def adbench_split(
    X: np.ndarray, y: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Resample, split 70/30 stratified and min-max scale as ADBench does for ``seed``.

    Returns
    -------
    X_train, X_test, y_train, y_test
        Scaled with a ``MinMaxScaler`` fitted on ``X_train``.
    """
    rng = np.random.RandomState(seed)
    if len(y) < N_SAMPLES_LOWER:
        idx = rng.choice(np.arange(len(y)), N_SAMPLES_LOWER, replace=True)
        X, y = X[idx], y[idx]
    if len(y) > N_SAMPLES_UPPER:
        idx = rng.choice(np.arange(len(y)), N_SAMPLES_UPPER, replace=False)
        X, y = X[idx], y[idx]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, shuffle=True, stratify=y, random_state=rng
    )
    scaler = MinMaxScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def paper_table(data_dir: Path, metric: str = "roc_auc") -> pd.DataFrame:
    """The paper's Table D4 (``"roc_auc"``) or D5 (``"pr_auc"``), in %, indexed by dataset."""
    files = {
        "roc_auc": "ADBench_TableD4_AUCROC_unsupervised.csv",
        "pr_auc": "ADBench_TableD5_AUCPR_unsupervised.csv",
    }
    if metric not in files:
        raise ValueError(f"metric must be 'roc_auc' or 'pr_auc', got {metric!r}")
    return pd.read_csv(Path(data_dir) / files[metric], na_values=["N/A"]).set_index("dataset")


def run_benchmark(
    data_dir: Path,
    methods: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    seeds: Sequence[int] = SEEDS,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Score every method on every dataset and seed.

    Parameters
    ----------
    data_dir : Path
        Folder of the ADBench ``.npz`` files.
    methods : sequence of str, optional
        Keys of :data:`METHODS` (default: all).
    datasets : sequence of str, optional
        Paper dataset names to run (default: every file in ``data_dir``).
    seeds : sequence of int, default=(1, 2, 3)
    progress : callable, optional
        Called with one line of text per finished dataset.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset, method, seed, n_train, n_test, roc_auc, pr_auc, fit_s, score_s``
        (metrics in %).
    """
    methods = list(METHODS) if methods is None else list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; available: {list(METHODS)}")
    files = list_datasets(data_dir)
    if datasets is not None:
        wanted = set(datasets)
        missing = wanted - {dataset_name(p) for p in files}
        if missing:
            raise ValueError(f"dataset(s) {sorted(missing)} not found in {data_dir}")
        files = [p for p in files if dataset_name(p) in wanted]
    rows = []
    for path in files:
        X, y = load_dataset(path)
        name = dataset_name(path)
        for seed in seeds:
            X_train, X_test, _, y_test = adbench_split(X, y, seed)
            for method in methods:
                det = METHODS[method]()
                t0 = time.perf_counter()
                det.fit(X_train)
                t1 = time.perf_counter()
                scores = det.score_samples(X_test)
                t2 = time.perf_counter()
                rows.append(
                    {
                        "dataset": name,
                        "method": method,
                        "seed": seed,
                        "n_train": len(X_train),
                        "n_test": len(X_test),
                        "roc_auc": 100.0 * roc_auc_score(y_test, scores),
                        "pr_auc": 100.0 * average_precision_score(y_test, scores),
                        "fit_s": t1 - t0,
                        "score_s": t2 - t1,
                    }
                )
        if progress is not None:
            progress(f"{name}: done")
    return pd.DataFrame(rows)


def summarize(scores: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    """Mean over seeds per dataset and method, beside the paper's numbers.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset, method, roc_auc, pr_auc, fit_s, score_s, paper_roc_auc,
        paper_pr_auc`` (paper columns NaN for methods not in the paper).
    """
    mean = (
        scores.groupby(["dataset", "method"], sort=False)[["roc_auc", "pr_auc", "fit_s", "score_s"]]
        .mean()
        .reset_index()
    )
    for metric in ("roc_auc", "pr_auc"):
        table = paper_table(data_dir, metric)
        mean[f"paper_{metric}"] = [
            table.at[d, PAPER_NAMES[m]] if PAPER_NAMES.get(m) else np.nan
            for d, m in zip(mean["dataset"], mean["method"], strict=True)
        ]
    return mean


def _markdown_table(frame: pd.DataFrame, floatfmt: str = "{:.1f}") -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if isinstance(value, float | np.floating):
                cells.append("" if np.isnan(value) else floatfmt.format(value))
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def method_means(summary: pd.DataFrame, metric: str = "roc_auc") -> pd.DataFrame:
    """Mean over datasets per method: ours, the paper's, the gap, and the target status."""
    rows = []
    paper_best = None
    for method, group in summary.groupby("method", sort=False):
        ours = float(group[metric].mean())
        paper = float(group[f"paper_{metric}"].mean()) if PAPER_NAMES.get(method) else np.nan
        rows.append({"method": method, "ours": ours, "paper": paper, "gap": ours - paper})
    out = pd.DataFrame(rows)
    paper_best = out["paper"].max()
    status = []
    for _, row in out.iterrows():
        if metric != "roc_auc":
            status.append("")
        elif row["method"] in TARGET_METHODS:
            ok = abs(row["gap"]) <= TARGET_TOLERANCE
            status.append(
                f"{'met' if ok else 'missed'} (within {TARGET_TOLERANCE:.0f} points of the paper)"
            )
        elif row["method"] == "BookDefault":
            ok = row["ours"] > paper_best
            status.append(
                f"{'met' if ok else 'missed'} (above the paper's best, {paper_best:.1f}; "
                "in-sample: chosen on these datasets)"
            )
        else:
            status.append("")
    out["target"] = status
    return out


def write_results(scores: pd.DataFrame, data_dir: Path, out: Path, command: str) -> None:
    """Write ``adbench_scores.csv``, ``adbench_summary.csv`` and ``adbench_summary.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scores.round(4).to_csv(out / "adbench_scores.csv", index=False)
    summary = summarize(scores, data_dir)
    summary.round(4).to_csv(out / "adbench_summary.csv", index=False)
    n_datasets = summary["dataset"].nunique()
    seeds = sorted(scores["seed"].unique())
    parts = [
        "# ADBench classical datasets: this package vs. the paper",
        "",
        f"Produced by `{command}`.",
        "",
        f"{n_datasets} datasets, seeds {', '.join(map(str, seeds))}; protocol of Han et al. (2022)"
        " (70/30 stratified split, MinMaxScaler on train, PyOD default hyperparameters,"
        " <1,000 rows up-sampled to 1,000, >10,000 rows subsampled to 10,000). Metrics in %.",
        "`BookDefault` is `anomaly_tutorial.detectors.default_detector()`; it is not in the paper.",
        "",
    ]
    for metric, label in (("roc_auc", "ROC-AUC (Table D4)"), ("pr_auc", "PR-AUC (Table D5)")):
        parts += [f"## Mean {label} over the datasets", ""]
        parts.append(_markdown_table(method_means(summary, metric)))
        parts.append("")
    wide = summary.pivot(index="dataset", columns="method", values="roc_auc")
    paper = summary.pivot(index="dataset", columns="method", values="paper_roc_auc")
    order = list(dict.fromkeys(summary["method"]))
    table = pd.DataFrame(index=wide.index)
    for m in order:
        table[m] = wide[m]
        if PAPER_NAMES.get(m):
            table[f"{m} (paper)"] = paper[m]
    table = table.loc[list(dict.fromkeys(summary["dataset"]))].reset_index()
    parts += ["## ROC-AUC per dataset (ours, then the paper's)", "", _markdown_table(table), ""]
    timing = summary.groupby("method", sort=False)[["fit_s", "score_s"]].sum().reset_index()
    timing.columns = ["method", "fit seconds (sum over datasets)", "score seconds"]
    parts += [
        "## Time (mean over seeds, summed over datasets)",
        "",
        "Wall-clock seconds on the machine that ran the script; they depend on its load.",
        "",
        _markdown_table(timing, "{:.2f}"),
        "",
    ]
    (out / "adbench_summary.md").write_text("\n".join(parts), encoding="utf-8")


def results_dir() -> Path:
    """``results/adbench`` of the repository this package is installed from (editable install)."""
    return Path(__file__).resolve().parents[2] / "results" / "adbench"


def load_results(out: Path | None = None) -> tuple[pd.DataFrame, str]:
    """Read the summary the benchmark wrote: ``(adbench_summary.csv as a frame, command)``.

    Parameters
    ----------
    out : Path, optional
        Folder given as ``--out`` (default :func:`results_dir`).
    """
    out = results_dir() if out is None else Path(out)
    path = out / "adbench_summary.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run python -m anomaly_tutorial.benchmarks.adbench first"
        )
    first_lines = (out / "adbench_summary.md").read_text(encoding="utf-8").splitlines()
    command = next(
        (line.split("`")[1] for line in first_lines if line.startswith("Produced by `")), ""
    )
    return pd.read_csv(path), command


def load_scores(out: Path | None = None) -> pd.DataFrame:
    """Read ``adbench_scores.csv`` (one row per dataset, method and seed) from ``out``."""
    out = results_dir() if out is None else Path(out)
    path = out / "adbench_scores.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run python -m anomaly_tutorial.benchmarks.adbench first"
        )
    return pd.read_csv(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder of ADBench .npz files")
    parser.add_argument("--out", type=Path, default=Path("results/adbench"), help="output folder")
    parser.add_argument("--methods", nargs="*", default=None, help=f"subset of {list(METHODS)}")
    parser.add_argument("--datasets", nargs="*", default=None, help="subset of dataset names")
    parser.add_argument("--seeds", nargs="*", type=int, default=list(SEEDS))
    args = parser.parse_args(argv)
    command = command_line("anomaly_tutorial.benchmarks.adbench", argv)
    t0 = time.perf_counter()
    scores = run_benchmark(
        args.data_dir,
        methods=args.methods,
        datasets=args.datasets,
        seeds=args.seeds,
        progress=progress_printer(),
    )
    write_results(scores, args.data_dir, args.out, command)
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
