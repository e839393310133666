"""Choose the cached encoders' settings on the validation period of the book-wide split.

:func:`select_encoder_settings` runs a small coordinate search for one objective: starting from
:data:`SEARCH_BASES`, it sweeps one setting of :data:`SEARCH_SPACES` at a time (the others held
at the best values found so far), keeps the value with the highest validation PR-AUC, and moves
on to the next setting. Every encoder

* is trained on the **training period** only (days 1-8), exactly as
  :func:`~anomaly_tutorial.models.pretrained_encoder` trains it: the featurizer is fitted on
  the training period, early stopping uses a random share of the training rows;
* is scored on the **validation period** (days 9-10) by k-NN-distance detection (each
  validation event's distance to its ``k``-th nearest training event in the embedding,
  :func:`~anomaly_tutorial.embedding_quality.sweep_encoders`), against the validation labels.
  The validation events are featurised with the training featurizer and the training period
  as window history (``history=``), so nothing about them is fitted on them.

The test period (days 11-14) is never read. :func:`main` runs both searches and writes
``validation.csv`` and ``selected.json``; the book's results are in
``results/encoder_selection/`` (command in its README), and
:data:`~anomaly_tutorial.models.PRETRAINED_CONFIGS` holds the selected settings (a test checks
that the two agree). Chapters read the settings from the package and the table from
:func:`load_selection_table`; they never rerun the search.

A coordinate search is greedy: it can miss a combination that only works when two settings
change together, and its result depends on the order of :data:`SEARCH_SPACES`. With one or
two hundred validation anomalies from a handful of incidents, differences of a few hundredths
of PR-AUC are within noise, so the search rules out bad regions rather than certifying a
winner.

Public objects: :data:`SEARCH_BASES`, :data:`SEARCH_SPACES`, :class:`EncoderSelection`,
:func:`select_encoder_settings`, :func:`selected_config`, :func:`load_selection_table`,
:func:`load_selection_summary`, :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .training import OBJECTIVES, EncoderConfig

__all__ = [
    "SEARCH_BASES",
    "SEARCH_SPACES",
    "SELECTION_DIR",
    "SELECTION_K",
    "EncoderSelection",
    "load_selection_summary",
    "load_selection_table",
    "main",
    "select_encoder_settings",
    "selected_config",
]

#: Neighbours of the k-NN-distance detector that scores every encoder.
SELECTION_K = 10

#: Where the book's search results are committed (relative to a checkout's root).
SELECTION_DIR = Path(__file__).resolve().parents[2] / "results" / "encoder_selection"

#: Starting points of the searches: the settings the book used before they were chosen on
#: validation data. Settings not searched keep these values.
SEARCH_BASES: MappingProxyType[str, EncoderConfig] = MappingProxyType(
    {
        "contrastive": EncoderConfig(
            objective="contrastive",
            width=64,
            depth=2,
            d_out=32,
            d_embed_cat=8,
            dropout=0.1,
            output_norm=False,
            temperature=0.2,
            corruption_rate=0.4,
            corrupt="categorical",
            epochs=4,
            batch_size=1024,
            lr=1e-3,
            patience=2,
            seed=0,
            normalize_embeddings=False,
        ),
        "masked": EncoderConfig(
            objective="masked",
            width=64,
            depth=2,
            d_out=32,
            d_embed_cat=4,
            dropout=0.1,
            output_norm=False,
            corruption_rate=0.3,
            mask_strategy="marginal",
            corrupt="categorical",
            epochs=4,
            batch_size=1024,
            lr=1e-3,
            patience=2,
            seed=0,
            normalize_embeddings=False,
        ),
    }
)

#: Settings searched, in search order, with the values tried. Each list contains the base
#: value, so the starting point is always one of the candidates.
SEARCH_SPACES: MappingProxyType[str, tuple[tuple[str, tuple[Any, ...]], ...]] = MappingProxyType(
    {
        "contrastive": (
            ("corrupt", ("categorical", "all")),
            ("corruption_rate", (0.2, 0.4, 0.6)),
            ("temperature", (0.1, 0.2, 0.5, 1.0)),
            ("width", (32, 64, 128)),
            ("epochs", (2, 4, 8)),
        ),
        "masked": (
            ("mask_strategy", ("marginal", "token")),
            ("corrupt", ("categorical", "all")),
            ("corruption_rate", (0.15, 0.3, 0.5)),
            ("width", (32, 64, 128)),
            ("epochs", (2, 4, 8)),
        ),
    }
)


@dataclass(frozen=True)
class EncoderSelection:
    """Result of :func:`select_encoder_settings`.

    Attributes
    ----------
    objective
        ``"contrastive"`` or ``"masked"``.
    table
        One row per run, in search order: ``step`` (the setting swept), every searched
        setting's value, ``best_epoch``, ``epochs_run``, ``val_loss``, ``val_pr_auc``,
        ``val_roc_auc``, ``alignment``, ``uniformity``, ``seconds`` and ``selected`` (the
        chosen run). A run repeated by a later step is trained once and listed again.
    config
        The selected :class:`~anomaly_tutorial.models.EncoderConfig`.
    searched
        Names of the settings searched, in search order.
    """

    objective: str
    table: pd.DataFrame
    config: EncoderConfig
    searched: tuple[str, ...]

    @property
    def settings(self) -> dict[str, Any]:
        """The searched settings' selected values."""
        return {name: getattr(self.config, name) for name in self.searched}


def _check_space(objective: str, space: Sequence[tuple[str, Sequence[Any]]]) -> None:
    known = set(EncoderConfig.__dataclass_fields__)
    if not space:
        raise ValueError("search_space: expected at least one (setting, values) pair")
    for name, values in space:
        if name not in known or name == "objective":
            raise ValueError(f"search_space: {name!r} is not an EncoderConfig setting")
        if len(values) == 0:
            raise ValueError(f"search_space: no values given for {name!r}")


def select_encoder_settings(
    objective: str,
    train_frame: pd.DataFrame,
    validation_frame: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    base: EncoderConfig | None = None,
    search_space: Sequence[tuple[str, Sequence[Any]]] | None = None,
    featurizer: Any = None,
    k: int = SELECTION_K,
    progress: bool = False,
) -> EncoderSelection:
    """Coordinate search of encoder settings on a validation period.

    Parameters
    ----------
    objective
        ``"contrastive"`` or ``"masked"``.
    train_frame, validation_frame
        Flat OCSF events of the training period and of the later validation period.
    labels
        Ground truth with ``event_id`` and ``is_anomaly`` covering the validation events
        (matched by id); training labels are never read.
    base
        Starting configuration; default :data:`SEARCH_BASES` ``[objective]``.
    search_space
        ``(setting, values)`` pairs in search order; default :data:`SEARCH_SPACES`.
    featurizer
        An :class:`~anomaly_tutorial.features.OCSFFeaturizer` (unfitted, or fitted on
        ``train_frame`` only); default ``OCSFFeaturizer()`` fitted on ``train_frame``.
    k
        Neighbours of the k-NN-distance detector.
    progress
        Print one line per run.

    Returns
    -------
    EncoderSelection

    Raises
    ------
    ValueError
        On an unknown objective or setting, a validation event without a label, or a
        validation period without both normal and anomalous events.
    """
    from anomaly_tutorial.embedding_quality import sweep_encoders
    from anomaly_tutorial.features import OCSFFeaturizer

    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    base = SEARCH_BASES[objective] if base is None else base
    if base.objective != objective:
        raise ValueError(f"base: is a {base.objective!r} configuration, not {objective!r}")
    space = tuple(SEARCH_SPACES[objective] if search_space is None else search_space)
    _check_space(objective, space)
    if featurizer is None or not hasattr(featurizer, "scaler_"):
        featurizer = (featurizer or OCSFFeaturizer()).fit(train_frame)
    train_split = featurizer.transform_split(train_frame)
    val_split = featurizer.transform_split(validation_frame, history=train_frame)
    table = labels.set_index("event_id") if "event_id" in labels.columns else labels
    missing = pd.Index(val_split.event_ids).difference(table.index)
    if len(missing):
        raise ValueError(
            f"labels: {len(missing)} validation events have no label (e.g. {list(missing[:3])})"
        )
    y = table.loc[val_split.event_ids, "is_anomaly"].to_numpy(dtype=bool)

    names = [name for name, _ in space]
    current = {name: getattr(base, name) for name in names}
    common = {key: value for key, value in base.to_dict().items() if key not in names}
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    rows = []
    for name, values in space:
        step_rows = []
        for value in values:
            setting = {**current, name: value}
            key = tuple(setting[n] for n in names)
            if key not in done:
                start = time.perf_counter()
                run = sweep_encoders(
                    train_split,
                    val_split,
                    y,
                    [setting],
                    k=k,
                    stop_on_validation=False,
                    featurizer=featurizer,
                    **common,
                ).iloc[0]
                done[key] = run.to_dict()
                if progress:
                    print(
                        f"{objective} {setting}: val PR-AUC {run['val_pr_auc']:.4f} "
                        f"({time.perf_counter() - start:.0f} s)",
                        flush=True,
                    )
            step_rows.append({"step": name, **done[key]})
        scores = [row["val_pr_auc"] for row in step_rows]
        current[name] = values[int(np.argmax(scores))]  # ties: the earlier value
        rows.extend(step_rows)
    result = pd.DataFrame(rows)
    chosen = np.logical_and.reduce([result[n] == current[n] for n in names])
    result["selected"] = False
    result.loc[int(np.flatnonzero(chosen)[0]), "selected"] = True  # first listing of the run
    config = replace(base, **current).validate()
    return EncoderSelection(objective, result, config, tuple(names))


def selected_config(objective: str, directory: Path | str | None = None) -> EncoderConfig:
    """The configuration selected by the committed search (``selected.json``).

    The base of :data:`SEARCH_BASES` with the selected values of the searched settings.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    data = load_selection_summary(directory)
    if objective not in data.get("selected", {}):
        raise ValueError(f"selected.json: has no selection for objective {objective!r}")
    return replace(SEARCH_BASES[objective], **data["selected"][objective]["settings"])


def load_selection_table(directory: Path | str | None = None) -> pd.DataFrame:
    """The committed validation table (``validation.csv``) of both searches.

    Raises
    ------
    FileNotFoundError
        When the table is missing (a checkout without ``results/encoder_selection``).
    """
    path = Path(SELECTION_DIR if directory is None else directory) / "validation.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no committed encoder selection (run {__name__})")
    return pd.read_csv(path)


def load_selection_summary(directory: Path | str | None = None) -> dict[str, Any]:
    """The committed summary (``selected.json``): selected settings with their validation
    PR-AUC and ROC-AUC, the raw features' validation scores, the period sizes.

    Raises
    ------
    FileNotFoundError
        When the file is missing.
    """
    path = Path(SELECTION_DIR if directory is None else directory) / "selected.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no committed encoder selection (run {__name__})")
    return json.loads(path.read_text(encoding="utf-8"))


def _raw_validation_scores(
    featurizer: Any, train_frame: pd.DataFrame, validation_frame: pd.DataFrame, k: int
) -> np.ndarray:
    from anomaly_tutorial.embedding_quality import knn_distance_scores

    raw_train = featurizer.transform(train_frame)
    raw_val = featurizer.transform(validation_frame, history=train_frame)
    return knn_distance_scores(raw_train, raw_val, k)


def main(argv: Sequence[str] | None = None) -> Mapping[str, EncoderSelection]:
    """Run both searches on the default dataset and write ``validation.csv`` and
    ``selected.json`` to ``--out`` (default ``results/encoder_selection``)."""
    import torch

    from anomaly_tutorial.data import book_split, default_dataset
    from anomaly_tutorial.evaluate import pr_auc, roc_auc
    from anomaly_tutorial.features import OCSFFeaturizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SELECTION_DIR)
    parser.add_argument("--objective", choices=OBJECTIVES, nargs="*", default=list(OBJECTIVES))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    dataset = default_dataset()
    train, validation, _ = book_split(dataset.config).split(dataset.events)
    featurizer = OCSFFeaturizer().fit(train)
    labels = dataset.labels.set_index("event_id")
    y_val = labels.loc[validation["event_id"], "is_anomaly"].to_numpy(dtype=bool)
    raw = _raw_validation_scores(featurizer, train, validation, SELECTION_K)
    results = {
        objective: select_encoder_settings(
            objective, train, validation, labels, featurizer=featurizer, progress=True
        )
        for objective in args.objective
    }
    args.out.mkdir(parents=True, exist_ok=True)
    table = pd.concat(
        [sel.table.assign(objective=name) for name, sel in results.items()], ignore_index=True
    )
    front = ["objective", "step", *dict.fromkeys(n for s in SEARCH_SPACES.values() for n, _ in s)]
    table = table[[c for c in front if c in table] + [c for c in table if c not in front]]
    table.to_csv(args.out / "validation.csv", index=False, float_format="%.6g")
    selected = {}
    for name, sel in results.items():
        best = sel.table[sel.table["selected"]].iloc[0]
        selected[name] = {
            "settings": sel.settings,
            "val_pr_auc": float(best["val_pr_auc"]),
            "val_roc_auc": float(best["val_roc_auc"]),
        }
    summary = {
        "split": "book_split(): train = days 1-8 (fit), validation = days 9-10 (score)",
        "k": SELECTION_K,
        "n_train_events": len(train),
        "n_validation_events": len(validation),
        "n_validation_anomalies": int(y_val.sum()),
        "raw_features": {"val_pr_auc": pr_auc(y_val, raw), "val_roc_auc": roc_auc(y_val, raw)},
        "search_spaces": {name: dict(space) for name, space in SEARCH_SPACES.items()},
        "selected": selected,
        "torch_version": torch.__version__,
        "seconds": round(time.perf_counter() - start, 1),
    }
    (args.out / "selected.json").write_text(
        json.dumps(summary, indent=2, default=list) + "\n", encoding="utf-8"
    )
    return results


if __name__ == "__main__":
    main()
