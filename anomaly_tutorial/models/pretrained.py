"""Cached encoders for the book's default dataset.

:func:`pretrained_encoder` returns a :class:`~anomaly_tutorial.models.TrainedEncoder` trained on
the training period (days 1-8) of the book-wide split
(:func:`anomaly_tutorial.data.book_split`) of :func:`anomaly_tutorial.data.default_dataset`;
its featurizer is fitted on the same period. The validation period (days 9-10) chose the
settings in :data:`PRETRAINED_CONFIGS` (:func:`anomaly_tutorial.models.selection.
select_encoder_settings`, results in ``results/encoder_selection/``); the test period (days
11-14) played no part. The first call trains it deterministically (tens of seconds on a laptop
CPU) and saves it under :func:`anomaly_tutorial.cache.cache_dir`; later calls, in any chapter
and any order, load it.
The folder name holds a hash of everything the result depends on (training settings, feature
settings, dataset configuration, package and torch versions, and the source code of
``anomaly_tutorial.data``, ``.features`` and ``.models``), so a change of any of them trains a
fresh encoder instead of loading a stale one; building a fresh encoder deletes the stale
folders of the same objective.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import warnings
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch

from anomaly_tutorial.data.splits import TRAIN_FRACTION as BOOK_TRAIN_FRACTION

from .persistence import load_encoder, save_encoder
from .selection import SEARCH_BASES
from .training import OBJECTIVES, EncoderConfig, TrainedEncoder, train_encoder

__all__ = [
    "PRETRAINED_CONFIGS",
    "SELECTED_SETTINGS",
    "TRAIN_FRACTION",
    "pretrained_cache_path",
    "pretrained_encoder",
]

#: Share of the period in the training part of the book-wide split (days 1-8 of 14). The cached
#: encoders train on ``book_split(config).split(events)[0]``; this fraction is kept for callers
#: that cut a dataset of another length the same way.
TRAIN_FRACTION = BOOK_TRAIN_FRACTION

#: Values of the searched settings chosen on the validation period by
#: :func:`~anomaly_tutorial.models.selection.select_encoder_settings` (``results/
#: encoder_selection/selected.json``; ``tests/test_models_selection.py`` checks that the two
#: agree).
SELECTED_SETTINGS: MappingProxyType[str, dict[str, Any]] = MappingProxyType(
    {
        # Only categorical fields are corrupted: corrupting numeric fields as well ("all")
        # made k-NN detection on the validation period much worse.
        "contrastive": {
            "corrupt": "categorical",
            "corruption_rate": 0.4,
            "temperature": 0.1,
            "width": 64,
            "epochs": 4,
        },
        # The best masked encoder of the search stays below the raw features on validation.
        "masked": {
            "mask_strategy": "token",
            "corrupt": "all",
            "corruption_rate": 0.5,
            "width": 32,
            "epochs": 8,
        },
    }
)

#: Settings of the cached encoders, per objective: :data:`~anomaly_tutorial.models.selection.
#: SEARCH_BASES` with the :data:`SELECTED_SETTINGS`.
PRETRAINED_CONFIGS: MappingProxyType[str, EncoderConfig] = MappingProxyType(
    {
        objective: replace(SEARCH_BASES[objective], **settings).validate()
        for objective, settings in SELECTED_SETTINGS.items()
    }
)


def _featurizer_params() -> dict[str, Any]:
    from anomaly_tutorial.features import OCSFFeaturizer

    params = OCSFFeaturizer().get_params()
    params["windows"] = [spec.to_dict() for spec in params["windows"]]
    return params


def _source_digest() -> str:
    """Hash of the source of the packages the cached encoder depends on.

    Editing the data generator, the featurizer or the model code changes the digest, so a
    checkout under development never loads an encoder built by older code.
    """
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in ("data", "features", "models"):
        for path in sorted((root / package).glob("*.py")):
            digest.update(path.name.encode("utf-8"))
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _cache_key(objective: str) -> str:
    from anomaly_tutorial import __version__
    from anomaly_tutorial.data import GeneratorConfig

    description = {
        "objective": objective,
        "config": PRETRAINED_CONFIGS[objective].to_dict(),
        "featurizer": _featurizer_params(),
        "dataset": repr(GeneratorConfig()),
        "split": "book_split: train period",
        "package_version": __version__,
        "torch_version": torch.__version__,
        "source": _source_digest(),
    }
    text = json.dumps(description, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


def pretrained_cache_path(objective: str = "contrastive") -> Path:
    """Folder where the cached encoder for ``objective`` lives (it may not exist yet)."""
    from anomaly_tutorial.cache import cache_dir

    _check_objective(objective)
    return cache_dir() / "encoders" / f"tabular_resnet-{objective}-{_cache_key(objective)}"


def pretrained_encoder(
    objective: str = "contrastive", *, rebuild: bool = False, progress: bool = False
) -> TrainedEncoder:
    """The encoder of the default dataset, from the cache or trained now.

    Parameters
    ----------
    objective
        ``"contrastive"`` or ``"masked"`` (settings in :data:`PRETRAINED_CONFIGS`).
    rebuild
        Train again even if a cached encoder exists (and overwrite it).
    progress
        Show a progress bar while training.

    Returns
    -------
    TrainedEncoder
        With its fitted featurizer attached, so ``embed(frame, history=...)`` works on flat
        OCSF frames: with ``train, validation, test = book_split().split(events)``, embed the
        training period with ``encoder.embed(train)``, the validation period with
        ``encoder.embed(validation, history=train)`` and the test period with
        ``encoder.embed(test, history=validation)`` (window features of the first events of a
        period then see the events just before it). ``extra["train_seconds"]`` and
        ``extra["train_cpu_seconds"]`` are the wall-clock and CPU time of the build (dataset,
        features and training).
    """
    path = pretrained_cache_path(objective)
    if path.is_dir() and not rebuild:
        try:
            return load_encoder(path)
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            warnings.warn(
                f"cached encoder {path} is unreadable ({error}); training it again",
                RuntimeWarning,
                stacklevel=2,
            )
    from anomaly_tutorial.data import book_split, default_dataset
    from anomaly_tutorial.features import OCSFFeaturizer

    start, cpu_start = time.perf_counter(), time.process_time()
    dataset = default_dataset()
    train, _, _ = book_split(dataset.config).split(dataset.events)
    featurizer = OCSFFeaturizer().fit(train)
    split = featurizer.transform_split(train)
    settings = PRETRAINED_CONFIGS[objective].to_dict()
    encoder = train_encoder(split, featurizer=featurizer, progress=progress, **settings)
    encoder.extra["train_seconds"] = time.perf_counter() - start
    encoder.extra["train_cpu_seconds"] = time.process_time() - cpu_start
    encoder.extra["n_train_events"] = len(train)
    save_encoder(encoder, path)
    _remove_stale(path)
    return encoder


def _remove_stale(current: Path) -> None:
    """Delete cached encoders of the same objective built with other settings or code."""
    prefix = current.name.rsplit("-", 1)[0] + "-"
    for folder in current.parent.glob(prefix + "*"):
        if folder != current and folder.is_dir() and not folder.name.startswith("."):
            shutil.rmtree(folder, ignore_errors=True)
