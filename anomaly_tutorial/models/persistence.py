"""Save and load a :class:`~anomaly_tutorial.models.TrainedEncoder`.

A saved encoder is a folder with

``weights.pt``
    ``{"model": state_dict, "objective": state_dict}``, tensors only, read back with
    ``torch.load(..., weights_only=True)`` (no pickled code);
``encoder.json``
    format tag, package version, :class:`~anomaly_tutorial.models.EncoderConfig`, input schema
    (numeric and categorical feature names, number of codes per categorical field), training
    history and best epoch;
``featurizer.json``
    the feature pipeline (:meth:`anomaly_tutorial.features.OCSFFeaturizer.save`), when one is
    attached.

Loading against a featurizer whose schema differs from the saved one fails with a message that
names the difference, because a model fed columns in another order or codes of another
vocabulary would return embeddings that look fine and mean nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .training import EncoderConfig, TrainedEncoder, build_model, build_objective

if TYPE_CHECKING:
    from anomaly_tutorial.features import OCSFFeaturizer

__all__ = ["FORMAT", "SchemaMismatchError", "check_schema", "load_encoder", "save_encoder"]

FORMAT = "anomaly_tutorial.models.TrainedEncoder"
VERSION = 1
WEIGHTS = "weights.pt"
META = "encoder.json"
FEATURIZER = "featurizer.json"


class SchemaMismatchError(ValueError):
    """The features of a featurizer do not match those a saved model was trained on."""


def _diff_names(kind: str, saved: Sequence[str], current: Sequence[str]) -> list[str]:
    problems = []
    missing = [n for n in saved if n not in set(current)]
    extra = [n for n in current if n not in set(saved)]
    if missing:
        problems.append(
            f"{kind} feature(s) {missing} of the saved model are missing from this featurizer"
        )
    if extra:
        problems.append(f"{kind} feature(s) {extra} of this featurizer are not in the saved model")
    if not missing and not extra and list(saved) != list(current):
        first = next(i for i, (a, b) in enumerate(zip(saved, current, strict=True)) if a != b)
        problems.append(
            f"{kind} features are in a different order: position {first} is {saved[first]!r} "
            f"in the saved model but {current[first]!r} in this featurizer"
        )
    return problems


def check_schema(
    numeric_names: Sequence[str],
    categorical_names: Sequence[str],
    cardinalities: Sequence[int],
    featurizer: OCSFFeaturizer,
) -> None:
    """Raise :class:`SchemaMismatchError` if ``featurizer`` does not produce this schema.

    Parameters
    ----------
    numeric_names, categorical_names, cardinalities
        The schema a model was trained on.
    featurizer
        A fitted featurizer.

    Raises
    ------
    SchemaMismatchError
        Listing every difference, e.g. ``categorical field 'api.operation' has 12 codes in the
        saved model but 14 in this featurizer``.
    """
    if not hasattr(featurizer, "cardinalities_"):
        raise ValueError("featurizer: not fitted; fit it (or load a saved one) first")
    problems = _diff_names("numeric", numeric_names, featurizer.numeric_feature_names_)
    problems += _diff_names("categorical", categorical_names, featurizer.categorical_feature_names_)
    current = dict(
        zip(featurizer.categorical_feature_names_, featurizer.cardinalities_, strict=True)
    )
    for name, n_codes in zip(categorical_names, cardinalities, strict=True):
        if name in current and int(current[name]) != int(n_codes):
            problems.append(
                f"categorical field {name!r} has {int(n_codes)} codes in the saved model but "
                f"{int(current[name])} in this featurizer"
            )
    if problems:
        raise SchemaMismatchError(
            "the featurizer does not match the model's input schema: " + "; ".join(problems)
        )


def encoder_metadata(encoder: TrainedEncoder) -> dict[str, Any]:
    """JSON-ready description of ``encoder`` (everything except the weights)."""
    from anomaly_tutorial import __version__

    return {
        "format": FORMAT,
        "version": VERSION,
        "package_version": __version__,
        "torch_version": torch.__version__,
        "config": encoder.config.to_dict(),
        "schema": {
            "numeric": list(encoder.numeric_feature_names),
            "categorical": list(encoder.categorical_feature_names),
            "cardinalities": [int(c) for c in encoder.cardinalities],
        },
        "history": [{k: float(v) for k, v in row.items()} for row in encoder.history],
        "best_epoch": int(encoder.best_epoch),
        "extra": encoder.extra,
    }


def save_encoder(encoder: TrainedEncoder, path: str | os.PathLike[str]) -> Path:
    """Write ``encoder`` to the folder ``path`` (created; replaced atomically if it exists).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        weights = {"model": encoder.model.state_dict()}
        if encoder.objective is not None:
            weights["objective"] = encoder.objective.state_dict()
        torch.save(weights, staging / WEIGHTS)
        (staging / META).write_text(
            json.dumps(encoder_metadata(encoder), indent=1), encoding="utf-8"
        )
        if encoder.featurizer is not None:
            encoder.featurizer.save(staging / FEATURIZER)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not (target / META).is_file():
                raise
            # another process saved the same folder meanwhile; keep its copy
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def load_encoder(
    path: str | os.PathLike[str], featurizer: OCSFFeaturizer | None = None
) -> TrainedEncoder:
    """Read an encoder written by :func:`save_encoder`.

    Parameters
    ----------
    path
        The folder.
    featurizer
        A fitted featurizer to attach instead of the saved one; its schema must match.

    Raises
    ------
    FileNotFoundError
        If the folder or one of its files is missing.
    SchemaMismatchError
        If ``featurizer`` (or the saved featurizer) does not match the model's schema.
    """
    folder = Path(path)
    for name in (META, WEIGHTS):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: no {name}; not a saved encoder folder")
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder / META}: not a saved encoder (format {meta.get('format')!r})")
    if meta.get("version") != VERSION:
        raise ValueError(f"{folder / META}: unsupported version {meta.get('version')!r}")
    config = EncoderConfig.from_dict(meta["config"])
    schema = meta["schema"]
    numeric, categorical = list(schema["numeric"]), list(schema["categorical"])
    cardinalities = [int(c) for c in schema["cardinalities"]]
    if featurizer is None and (folder / FEATURIZER).is_file():
        from anomaly_tutorial.features import OCSFFeaturizer

        featurizer = OCSFFeaturizer.load(folder / FEATURIZER)
    if featurizer is not None:
        check_schema(numeric, categorical, cardinalities, featurizer)
    weights = torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True)
    model = build_model(config, len(numeric), cardinalities)
    model.load_state_dict(weights["model"])
    model.eval()
    objective = None
    if "objective" in weights:
        objective = build_objective(config, numeric, categorical, cardinalities)
        objective.load_state_dict(weights["objective"])
        objective.eval()
    return TrainedEncoder(
        model=model,
        config=config,
        history=[dict(row) for row in meta.get("history", [])],
        numeric_feature_names=numeric,
        categorical_feature_names=categorical,
        cardinalities=cardinalities,
        featurizer=featurizer,
        objective=objective,
        best_epoch=int(meta.get("best_epoch", 0)),
        extra=dict(meta.get("extra", {})),
    )
