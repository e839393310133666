"""The correlation chapter's comparison over several generator seeds.

One test period holds few incidents (17 on the chapter's dataset, 8 of them operations
incidents that root-cause ranking is judged on), so one incident moves an accuracy by twelve
points. This script repeats the chapter's protocol on the correlation dataset
(:func:`~anomaly_tutorial.correlation.propagated_config`) with other seeds: the four families'
detectors fitted on training, one shared budget of expected false alerts per day chosen on
validation (conformal route), ``min_alerts`` of the call-graph ranking chosen on validation,
everything measured once on each seed's test period. It writes
``families.csv`` (one row per seed and family, plus the correlated view), ``root_cause.csv``
(one row per seed and ranking, with hits and incidents) and ``summary.json`` (pooled over
seeds) under ``--out``::

    python -m anomaly_tutorial.correlation.benchmark --seeds 7 11 13 17 19 --budget 10 \\
        --out results/correlation

Public objects: :func:`evaluate_seed`, :func:`load_summary`, :func:`results_dir`, :func:`main`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from anomaly_tutorial.benchmarks._cli import command_line, progress_printer
from anomaly_tutorial.correlation.alerts import (
    budget_alerts,
    correlate,
    family_scores,
    propagated_config,
)
from anomaly_tutorial.correlation.evaluation import (
    RANKINGS,
    choose_min_alerts,
    family_report,
    incident_truth,
    root_cause_report,
)
from anomaly_tutorial.correlation.graph import service_graph
from anomaly_tutorial.data import book_split
from anomaly_tutorial.thresholds.book import book_dataset

__all__ = ["evaluate_seed", "load_summary", "main", "results_dir"]

MAX_GAP_S = 900.0


def results_dir() -> Path:
    """Where the committed results of this benchmark live (``results/correlation``)."""
    return Path(__file__).resolve().parents[2] / "results" / "correlation"


def load_summary(path: Path | None = None) -> dict[str, Any]:
    """The committed ``summary.json`` (or the one in ``path``).

    Raises
    ------
    FileNotFoundError
        Naming the file and the command that writes it.
    """
    file = (results_dir() if path is None else Path(path)) / "summary.json"
    if not file.is_file():
        raise FileNotFoundError(
            f"{file}: no benchmark summary; write it with python -m "
            "anomaly_tutorial.correlation.benchmark --out results/correlation"
        )
    return json.loads(file.read_text())


def evaluate_seed(seed: int, budget: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chapter's protocol on the correlation dataset generated with ``seed``.

    Returns
    -------
    (families, root_cause)
        :func:`~anomaly_tutorial.correlation.family_report` of the test period with a
        ``seed`` column, and one row per ranking with ``hits_top1``, ``hits_top3``,
        ``n_incidents`` and the chosen ``min_alerts``.
    """
    config = dataclasses.replace(propagated_config(), seed=seed)
    dataset = book_dataset(config)
    split = book_split(config)
    tables = family_scores(config)
    graph = service_graph(dataset.spans)
    test = budget_alerts(tables, alerts_per_day=budget, days=split.days)
    validation = budget_alerts(
        tables, alerts_per_day=budget, days=split.days, apply_to="validation"
    )
    truth = incident_truth(dataset, "test")
    families = family_report(
        test, truth, graph, period_days=split.days["test"], max_gap_s=MAX_GAP_S
    )
    min_alerts, _ = choose_min_alerts(
        correlate(validation.alerts, graph, max_gap_s=MAX_GAP_S),
        incident_truth(dataset, "validation"),
        graph,
    )
    report = root_cause_report(
        correlate(test.alerts, graph, max_gap_s=MAX_GAP_S), truth, graph, min_alerts=min_alerts
    )
    rows = [
        {
            "ranking": name,
            "hits_top1": int((report[f"{name} rank"] <= 1).sum()),
            "hits_top3": int((report[f"{name} rank"] <= 3).sum()),
            "n_incidents": len(report),
            "min_alerts": min_alerts,
        }
        for name in RANKINGS
    ]
    return families.reset_index().assign(seed=seed), pd.DataFrame(rows).assign(seed=seed)


def _summary(families: pd.DataFrame, root_cause: pd.DataFrame) -> dict[str, Any]:
    pooled = families.groupby("alerts of", sort=False).agg(
        incidents_caught=("incidents_caught", "sum"),
        n_incidents=("n_incidents", "sum"),
        alerts_per_day=("alerts_per_day", "mean"),
        false_alerts_per_day=("false_alerts_per_day", "mean"),
        groups_per_day=("groups_per_day", "mean"),
        incident_precision=("incident_precision", "mean"),
        median_delay_min=("median_delay_min", "median"),
    )
    pooled["incident_recall"] = pooled["incidents_caught"] / pooled["n_incidents"]
    rca = root_cause.groupby("ranking", sort=False)[["hits_top1", "hits_top3", "n_incidents"]].sum()
    rca["top1"] = rca["hits_top1"] / rca["n_incidents"]
    rca["top3"] = rca["hits_top3"] / rca["n_incidents"]
    return {
        "families": pooled.round(4).to_dict(orient="index"),
        "root_cause": rca.round(4).to_dict(orient="index"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13, 17, 19])
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    show = progress_printer()
    families, root_cause = [], []
    for seed in args.seeds:
        show(f"seed {seed}")
        f, r = evaluate_seed(seed, args.budget)
        families.append(f)
        root_cause.append(r)
    families_frame = pd.concat(families, ignore_index=True)
    root_cause_frame = pd.concat(root_cause, ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    families_frame.to_csv(args.out / "families.csv", index=False)
    root_cause_frame.to_csv(args.out / "root_cause.csv", index=False)
    summary = {
        "command": command_line("anomaly_tutorial.correlation.benchmark", argv),
        "seeds": args.seeds,
        "budget_false_alerts_per_day": args.budget,
        **_summary(families_frame, root_cause_frame),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    show(f"wrote {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
