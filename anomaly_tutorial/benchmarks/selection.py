"""Choose the book's default detector by leave-one-dataset-out (LODO) on ADBench.

Usage::

    python -m anomaly_tutorial.benchmarks.selection --data-dir ../shared/data/adbench \
        --out results/adbench

A default chosen among many configurations on the same datasets it is then reported on is
measured optimistically: the maximum of many noisy means is biased upwards. Leave-one-dataset-out
estimates what the *selection procedure* delivers on a dataset it has not seen: for every
dataset, the configuration with the best mean ROC-AUC over the **other** datasets is chosen and
scored on the held-out one; the mean of those held-out scores is the honest figure. The book's
default is the configuration the same rule chooses on all datasets.

Candidates (:func:`candidate_configurations`): every single member of :data:`MEMBERS`, and every
subset of two or more members combined as :class:`~anomaly_tutorial.detectors.EnsembleDetector`
does, with each normalisation (``"rank"``, ``"robust_z"``) and each combination (``"mean"``,
``"max"``). Each member is fitted once per dataset and seed (ADBench's protocol,
:func:`~anomaly_tutorial.benchmarks.adbench.adbench_split`); an ensemble's scores are then
computed from its members' training and test scores with
:func:`~anomaly_tutorial.detectors.normalize_scores`, exactly what ``EnsembleDetector`` computes
(a test checks it), so 234 configurations cost six fits.

Public objects: :data:`MEMBERS`, :data:`SELECTION_METRIC`, :func:`candidate_configurations`,
:func:`configuration_scores`, :func:`make_configuration`, :func:`select_configuration`,
:func:`leave_one_dataset_out`, :func:`selection_summary`, :func:`load_selection`,
:func:`main`.

Output (in ``--out``): ``selection_scores.csv`` (one row per dataset, seed and configuration:
ROC-AUC and PR-AUC in %) and ``selection_command.txt`` (the command that wrote it).
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from anomaly_tutorial.benchmarks._cli import command_line, progress_printer
from anomaly_tutorial.benchmarks.adbench import (
    SEEDS,
    adbench_split,
    dataset_name,
    list_datasets,
    load_dataset,
    results_dir,
)
from anomaly_tutorial.detectors import BaseDetector, EnsembleDetector, make_detector
from anomaly_tutorial.detectors.ensemble import normalize_scores

__all__ = [
    "MEMBERS",
    "SELECTION_METRIC",
    "candidate_configurations",
    "configuration_scores",
    "leave_one_dataset_out",
    "load_selection",
    "make_configuration",
    "select_configuration",
    "selection_summary",
]

#: Detectors an ensemble may combine, with the package's default parameters.
MEMBERS: tuple[str, ...] = ("iforest", "knn", "lof", "ecod", "hbos", "pca")
NORMALIZATIONS: tuple[str, ...] = ("rank", "robust_z")
COMBINATIONS: tuple[str, ...] = ("mean", "max")
#: Column the selection maximises (mean over seeds, then over the selection datasets).
SELECTION_METRIC = "roc_auc"

SCORES_FILE = "selection_scores.csv"
COMMAND_FILE = "selection_command.txt"


def candidate_configurations(members: Sequence[str] = MEMBERS) -> pd.DataFrame:
    """Every candidate: single members, then each subset of >= 2 members x normalisation x rule.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``config`` (e.g. ``"iforest+knn/rank/max"``, or ``"iforest"`` for a single
        member), columns ``members`` (tuple of names), ``normalization`` and ``combination``
        (``None`` for a single member).
    """
    rows = [{"config": m, "members": (m,), "normalization": None, "combination": None}
            for m in members]  # fmt: skip
    for size in range(2, len(members) + 1):
        for subset in itertools.combinations(members, size):
            for norm in NORMALIZATIONS:
                for comb in COMBINATIONS:
                    rows.append(
                        {
                            "config": f"{'+'.join(subset)}/{norm}/{comb}",
                            "members": subset,
                            "normalization": norm,
                            "combination": comb,
                        }
                    )
    return pd.DataFrame(rows).set_index("config")


def make_configuration(config: str, **params) -> BaseDetector:
    """The unfitted detector a configuration name stands for.

    Parameters
    ----------
    config : str
        A name from :func:`candidate_configurations` (``"iforest"``,
        ``"iforest+knn/rank/max"``).
    **params
        Passed to the detector (e.g. ``contamination``).
    """
    parts = str(config).split("/")
    if len(parts) == 1:
        return make_detector(parts[0], **params)
    if len(parts) != 3:
        raise ValueError(
            f"config must be 'member' or 'member+member/normalization/combination', got {config!r}"
        )
    names, norm, comb = parts
    members = [(name, make_detector(name)) for name in names.split("+")]
    return EnsembleDetector(detectors=members, normalization=norm, combination=comb, **params)


def _member_outputs(
    X_train: np.ndarray, X_test: np.ndarray, members: Sequence[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for name in members:
        det = make_detector(name).fit(X_train)
        out[name] = (det.training_scores_, det.score_samples(X_test))
    return out


def _config_test_scores(
    outputs: Mapping[str, tuple[np.ndarray, np.ndarray]], row: pd.Series
) -> np.ndarray:
    if len(row["members"]) == 1:
        return outputs[row["members"][0]][1]
    matrix = np.column_stack(
        [
            normalize_scores(outputs[m][1], outputs[m][0], row["normalization"])
            for m in row["members"]
        ]
    )
    return matrix.max(axis=1) if row["combination"] == "max" else matrix.mean(axis=1)


def configuration_scores(
    data_dir: Path,
    datasets: Sequence[str] | None = None,
    seeds: Sequence[int] = SEEDS,
    members: Sequence[str] = MEMBERS,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """ROC-AUC and PR-AUC (%) of every candidate on every dataset and seed (ADBench protocol).

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset, seed, config, roc_auc, pr_auc``.
    """
    configs = candidate_configurations(members)
    files = list_datasets(data_dir)
    if datasets is not None:
        missing = set(datasets) - {dataset_name(p) for p in files}
        if missing:
            raise ValueError(f"dataset(s) {sorted(missing)} not found in {data_dir}")
        files = [p for p in files if dataset_name(p) in set(datasets)]
    rows = []
    for path in files:
        X, y = load_dataset(path)
        name = dataset_name(path)
        for seed in seeds:
            X_train, X_test, _, y_test = adbench_split(X, y, seed)
            outputs = _member_outputs(X_train, X_test, members)
            for config, row in configs.iterrows():
                scores = _config_test_scores(outputs, row)
                rows.append(
                    {
                        "dataset": name,
                        "seed": seed,
                        "config": config,
                        "roc_auc": 100.0 * roc_auc_score(y_test, scores),
                        "pr_auc": 100.0 * average_precision_score(y_test, scores),
                    }
                )
        if progress is not None:
            progress(f"{name}: done")
    return pd.DataFrame(rows)


def _per_dataset(scores: pd.DataFrame) -> pd.DataFrame:
    required = {"dataset", "config", "roc_auc", "pr_auc"}
    missing = required - set(scores.columns)
    if missing:
        raise ValueError(f"scores: missing column(s) {sorted(missing)}")
    return scores.groupby(["dataset", "config"], sort=False)[["roc_auc", "pr_auc"]].mean()


def select_configuration(scores: pd.DataFrame, datasets: Sequence[str] | None = None) -> str:
    """The configuration with the highest mean :data:`SELECTION_METRIC` over ``datasets``.

    Seeds are averaged within a dataset first, then datasets are averaged (each dataset weighs
    the same). Ties go to the configuration listed first.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`configuration_scores` (or :func:`load_selection`).
    datasets : sequence of str, optional
        Datasets the choice may look at (default: all in ``scores``).
    """
    table = _per_dataset(scores)[SELECTION_METRIC].unstack("dataset")
    if datasets is not None:
        unknown = set(datasets) - set(table.columns)
        if unknown:
            raise ValueError(f"datasets {sorted(unknown)} are not in scores")
        table = table[list(datasets)]
    if table.shape[1] == 0:
        raise ValueError("datasets: the selection needs at least one dataset")
    order = list(dict.fromkeys(scores["config"]))
    means = table.mean(axis=1).reindex(order)
    return str(means.idxmax())


def leave_one_dataset_out(
    scores: pd.DataFrame, baselines: Sequence[str] = ("iforest",)
) -> pd.DataFrame:
    """For each dataset: the configuration chosen on all the others, and its held-out scores.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`configuration_scores`.
    baselines : sequence of str
        Fixed configurations reported beside the selected one on each held-out dataset.

    Returns
    -------
    pandas.DataFrame
        Indexed by held-out ``dataset``: ``chosen`` (configuration), ``roc_auc`` and ``pr_auc``
        of the chosen configuration on that dataset (mean over seeds, %), and
        ``<baseline>_roc_auc`` / ``<baseline>_pr_auc`` for each baseline.
    """
    per = _per_dataset(scores)
    datasets = list(dict.fromkeys(scores["dataset"]))
    if len(datasets) < 2:
        raise ValueError("leave-one-dataset-out needs at least two datasets")
    rows = []
    for held_out in datasets:
        others = [d for d in datasets if d != held_out]
        chosen = select_configuration(scores, others)
        row = {"dataset": held_out, "chosen": chosen}
        row["roc_auc"], row["pr_auc"] = per.loc[(held_out, chosen)]
        for base in baselines:
            row[f"{base}_roc_auc"], row[f"{base}_pr_auc"] = per.loc[(held_out, base)]
        rows.append(row)
    return pd.DataFrame(rows).set_index("dataset")


def selection_summary(scores: pd.DataFrame, baseline: str = "iforest") -> pd.DataFrame:
    """The three figures that judge the selection, as a small table (means over datasets, %).

    Rows: the configuration chosen on all datasets, scored on the same ones (optimistic); the
    leave-one-dataset-out figure of the rule (honest); ``baseline`` alone (nothing chosen).
    Columns: ``mean ROC-AUC (%)`` and ``mean PR-AUC (%)``.
    """
    per = _per_dataset(scores)
    chosen = select_configuration(scores)
    lodo = leave_one_dataset_out(scores, baselines=(baseline,))
    in_sample = per.xs(chosen, level="config").mean()
    rows = {
        "default, chosen and scored on all datasets (optimistic)": in_sample,
        "the rule, leave one dataset out (honest)": lodo[["roc_auc", "pr_auc"]].mean(),
        f"{baseline} alone (nothing chosen)": per.xs(baseline, level="config").mean(),
    }
    table = pd.DataFrame(rows).T[["roc_auc", "pr_auc"]]
    return table.rename(columns={"roc_auc": "mean ROC-AUC (%)", "pr_auc": "mean PR-AUC (%)"})


def load_selection(out: Path | None = None) -> tuple[pd.DataFrame, str]:
    """Read ``selection_scores.csv`` and the command that wrote it from ``out``.

    Parameters
    ----------
    out : Path, optional
        Folder given as ``--out`` (default ``results/adbench`` of this repository).
    """
    out = results_dir() if out is None else Path(out)
    path = out / SCORES_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run python -m anomaly_tutorial.benchmarks.selection first"
        )
    command = (out / COMMAND_FILE).read_text(encoding="utf-8").strip()
    return pd.read_csv(path), command


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder of ADBench .npz files")
    parser.add_argument("--out", type=Path, default=Path("results/adbench"), help="output folder")
    parser.add_argument("--datasets", nargs="*", default=None, help="subset of dataset names")
    parser.add_argument("--seeds", nargs="*", type=int, default=list(SEEDS))
    args = parser.parse_args(argv)
    command = command_line("anomaly_tutorial.benchmarks.selection", argv)
    t0 = time.perf_counter()
    scores = configuration_scores(
        args.data_dir,
        datasets=args.datasets,
        seeds=args.seeds,
        progress=progress_printer(),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    scores.round(4).to_csv(args.out / SCORES_FILE, index=False)
    (args.out / COMMAND_FILE).write_text(command + "\n", encoding="utf-8")
    lodo = leave_one_dataset_out(scores)
    print(
        f"chosen on all datasets: {select_configuration(scores)}; leave-one-dataset-out mean "
        f"ROC-AUC {lodo['roc_auc'].mean():.2f}, PR-AUC {lodo['pr_auc'].mean():.2f} "
        f"(iforest {lodo['iforest_roc_auc'].mean():.2f}, {lodo['iforest_pr_auc'].mean():.2f}); "
        f"{time.perf_counter() - t0:.1f}s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
