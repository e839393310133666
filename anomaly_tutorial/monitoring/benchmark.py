"""Replay the monitoring chapter's policy, unchanged, on months generated with other seeds.

The chapter "Monitoring a detector in production" tunes nothing on its month, but its
scenario sizes and its second retraining trigger were set while looking at that month. This
script is the check: for each seed, it generates ``DriftConfig(seed=seed)`` (same scenarios,
other traffic and incidents), runs :func:`~anomaly_tutorial.monitoring.run_production` with the
chapter's policy and writes, per seed and scenario, the delay until a check flagged it and the
false alarms per day on its events before and after retraining, plus one row per challenger.

Usage::

    python -m anomaly_tutorial.monitoring.benchmark --seeds 7 8 9 --out results/monitoring

Writes ``scenarios.csv``, ``challengers.csv`` and ``README.md`` (with the exact command) into
``--out``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from anomaly_tutorial.benchmarks._cli import command_line, progress_printer
from anomaly_tutorial.benchmarks.adbench import _markdown_table
from anomaly_tutorial.data.drift import DriftConfig, generate_drift_dataset
from anomaly_tutorial.monitoring.policy import (
    RetrainingPolicy,
    false_alarms_by_drift,
    flag_delays,
    run_production,
)

#: The chapter's policy.
CHAPTER_POLICY = RetrainingPolicy(
    alert_budget=50, sustained_days=2, window_days=7, calibration_days=1, shadow_days=2
)


def replay(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-scenario figures and the challengers of one generated month."""
    from anomaly_tutorial.serving import DetectionPipeline

    month = generate_drift_dataset(DriftConfig(seed=seed))
    run = run_production(
        month.events,
        month.split,
        lambda: DetectionPipeline(alerts_per_day=CHAPTER_POLICY.alert_budget),
        CHAPTER_POLICY,
        seed=0,
    )
    scenarios = flag_delays(run, month.drifts).merge(
        false_alarms_by_drift(run, month.events, month.affected, month.drifts),
        on=["drift_id", "scenario"],
    )
    scenarios.insert(0, "seed", seed)
    challengers = run.retrains.copy()
    challengers.insert(0, "seed", seed)
    return scenarios, challengers


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    show = progress_printer()
    parts, challengers = [], []
    for seed in args.seeds:
        show(f"seed {seed}")
        scenarios, retrains = replay(seed)
        parts.append(scenarios)
        challengers.append(retrains)
    args.out.mkdir(parents=True, exist_ok=True)
    scenarios = pd.concat(parts, ignore_index=True)
    retrains = pd.concat(challengers, ignore_index=True)
    scenarios.to_csv(args.out / "scenarios.csv", index=False, float_format="%.4g")
    retrains.to_csv(args.out / "challengers.csv", index=False, float_format="%.4g")
    summary = scenarios.groupby("scenario", sort=False).agg(
        flagged=("first_flagged_day", lambda d: f"{int(d.notna().sum())} of {len(d)}"),
        median_delay_days=("delay_days", "median"),
        false_alarms_per_day_before=("false_alarms_per_day_before", "mean"),
        false_alarms_per_day_after=("false_alarms_per_day_after", "mean"),
    )
    promoted = (
        retrains.assign(promoted=retrains["promoted"].astype(int))
        .groupby("seed")["promoted"]
        .agg(["size", "sum"])
        .reindex(args.seeds, fill_value=0)
        .rename_axis("seed")
    )
    lines = [
        "# Monitoring policy on other months",
        "",
        "The chapter's policy (`monitoring.benchmark.CHAPTER_POLICY`), unchanged, on months",
        "generated with `DriftConfig(seed=seed)`; seed 7 is the chapter's month. Written by:",
        "",
        "```bash",
        command_line("anomaly_tutorial.monitoring.benchmark", argv),
        "```",
        "",
        "Per scenario, over the seeds: in how many months a check flagged it, the median delay",
        "(days; 0 = on its first day) and the mean false alarms per day on its events before and",
        "after retraining (after: months where a retrained model served within the scenario).",
        "",
        _markdown_table(summary.reset_index(), floatfmt="{:.2f}"),
        "",
        "Challengers fitted and promoted per seed:",
        "",
        _markdown_table(
            promoted.rename(columns={"size": "challengers", "sum": "promoted"}).reset_index()
        ),
        "",
        "`scenarios.csv` and `challengers.csv` hold every row.",
        "",
    ]
    (args.out / "README.md").write_text("\n".join(lines))
    show(f"wrote {args.out}")


if __name__ == "__main__":  # pragma: no cover
    main()
