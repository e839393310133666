"""Cached encoders for the book's default dataset.

:func:`pretrained_encoder` returns a :class:`~anomaly_tutorial.models.TrainedEncoder` trained on
the training period of :func:`anomaly_tutorial.data.default_dataset` (its ``time_split``). The
first call trains it deterministically (tens of seconds on a laptop CPU) and saves it under
:func:`anomaly_tutorial.cache.cache_dir`; later calls, in any chapter and any order, load it.
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
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch

from .persistence import load_encoder, save_encoder
from .training import OBJECTIVES, EncoderConfig, TrainedEncoder, train_encoder

__all__ = ["PRETRAINED_CONFIGS", "TRAIN_FRACTION", "pretrained_cache_path", "pretrained_encoder"]

#: Share of the default dataset (in time order) used for training; the rest is the test period.
TRAIN_FRACTION = 0.7

#: Settings of the cached encoders, per objective.
PRETRAINED_CONFIGS: MappingProxyType[str, EncoderConfig] = MappingProxyType(
    {
        # Only categorical fields are corrupted (within the event's class): the embedding
        # becomes invariant to categorical noise and keeps the numeric and window features,
        # where most attacks of the default data show. Corrupting numeric fields as well
        # made k-NN detection on the embedding much worse (see the self-supervised chapter).
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
        "train_fraction": TRAIN_FRACTION,
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
        OCSF frames: embed the training period with ``encoder.embed(train)`` and the test
        period with ``encoder.embed(test, history=train)`` (window features of early test
        events then see the end of the training period). ``extra["train_seconds"]`` and
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
    from anomaly_tutorial.data import default_dataset
    from anomaly_tutorial.features import OCSFFeaturizer

    start, cpu_start = time.perf_counter(), time.process_time()
    train, _ = default_dataset().time_split(train_fraction=TRAIN_FRACTION)
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
