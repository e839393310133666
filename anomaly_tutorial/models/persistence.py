"""Save and load a :class:`~anomaly_tutorial.models.TrainedEncoder`, validating what is loaded.

A saved encoder is a folder with

``weights.pt``
    ``{"model": state_dict, "objective": state_dict}``, tensors only, read back with
    ``torch.load(..., weights_only=True)`` (no pickled code);
``encoder.json``
    format tag, package version, :class:`~anomaly_tutorial.models.EncoderConfig`, input schema
    (numeric and categorical feature names, number of codes per categorical field), training
    history and best epoch; described by the pydantic model :class:`EncoderFile`;
``featurizer.json``
    the feature pipeline (:func:`anomaly_tutorial.features.save_featurizer`), when one is
    attached.

Loading validates every part and fails with a
:class:`~anomaly_tutorial.features.SavedFileError` naming the file, the key, what was expected
and what was found: a truncated file, a missing or extra key, a value of the wrong type, a
setting out of range, a weight tensor that is missing, unexpected, of the wrong shape or not
finite (NaN). Loading against a featurizer whose schema differs from the saved one fails with a
message that names the difference, because a model fed columns in another order or codes of
another vocabulary would return embeddings that look fine and mean nothing.

:func:`save_encoder` writes the folder beside the destination and moves it into place with
:func:`os.replace`, so a reader never sees a partly written folder; an existing destination is
replaced only if it is a saved encoder folder (never another folder of the user's).

This module imports :mod:`~anomaly_tutorial.models.training` (for the config and model
builders); ``training`` does not import it, so there is no import cycle.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import typing
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from anomaly_tutorial.features import SavedFileError, load_featurizer, save_featurizer
from anomaly_tutorial.features.persistence import atomic_write_bytes, describe_validation_error

from .training import EncoderConfig, TrainedEncoder, build_model, build_objective

if TYPE_CHECKING:
    from anomaly_tutorial.features import OCSFFeaturizer

__all__ = [
    "FORMAT",
    "EncoderFile",
    "SavedFileError",
    "SchemaMismatchError",
    "check_schema",
    "load_encoder",
    "save_encoder",
]

FORMAT = "anomaly_tutorial.models.TrainedEncoder"
VERSION = 1
WEIGHTS = "weights.pt"
META = "encoder.json"
FEATURIZER = "featurizer.json"
_FOLDER_FILES = frozenset({WEIGHTS, META, FEATURIZER})


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


# --- the format of encoder.json ----------------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


def _config_model() -> type[BaseModel]:
    """A strict pydantic model with the fields of :class:`EncoderConfig`, every one required.

    Built from the dataclass, so it follows the config when settings are added; floats must be
    finite. The ranges are then checked by :meth:`EncoderConfig.validate`.
    """
    hints = typing.get_type_hints(EncoderConfig)
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(EncoderConfig):
        hint = hints[item.name]
        if hint is float:
            hint = FiniteFloat | int
        fields[item.name] = (hint, ...)
    return create_model("SavedEncoderConfig", __config__=_STRICT, **fields)


SavedEncoderConfig = _config_model()


class SavedSchema(BaseModel):
    """The input schema: feature names and the number of codes per categorical field."""

    model_config = _STRICT

    numeric: list[str]
    categorical: list[str]
    cardinalities: list[Annotated[int, Field(ge=1)]]


class EncoderFile(BaseModel):
    """``encoder.json``: everything about a saved encoder except the weights."""

    model_config = _STRICT

    format: Literal[FORMAT]  # type: ignore[valid-type]
    version: Literal[VERSION]  # type: ignore[valid-type]
    package_version: str
    torch_version: str
    config: SavedEncoderConfig  # type: ignore[valid-type]
    schema_: SavedSchema = Field(alias="schema")
    history: list[dict[str, FiniteFloat | None]]  # None: a NaN (no validation loss)
    best_epoch: Annotated[int, Field(ge=0)]
    extra: dict[str, Any]


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
        "history": [
            {k: None if float(v) != float(v) else float(v) for k, v in row.items()}
            for row in encoder.history
        ],
        "best_epoch": int(encoder.best_epoch),
        "extra": encoder.extra,
    }


def _read_meta(path: Path) -> tuple[EncoderFile, EncoderConfig]:
    try:
        meta = EncoderFile.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        if any(key == "format" for key, _ in problems):
            problems = [("format", f"not a saved encoder: expected {FORMAT!r}")]
        raise SavedFileError(path, problems) from None
    schema = meta.schema_
    problems: list[tuple[str | None, str]] = []
    if len(schema.cardinalities) != len(schema.categorical):
        problems.append(
            (
                "schema.cardinalities",
                f"expected {len(schema.categorical)} values (one per categorical field), "
                f"found {len(schema.cardinalities)}",
            )
        )
    values = meta.config.model_dump()  # type: ignore[attr-defined]
    if values.get("exclude_fields") is not None:
        values["exclude_fields"] = tuple(values["exclude_fields"])
    try:
        config = EncoderConfig(**values).validate()
    except (TypeError, ValueError) as exc:
        problems.append(("config", str(exc)))
    if problems:
        raise SavedFileError(path, problems)
    return meta, config


# --- weights ------------------------------------------------------------------------------------


def _read_weights(path: Path) -> dict[str, Any]:
    try:
        weights = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise SavedFileError(
            path,
            [
                (
                    None,
                    f"cannot be read as torch weights (truncated or corrupt?): "
                    f"{type(exc).__name__}: {first}",
                )
            ],
        ) from None
    if not isinstance(weights, dict) or "model" not in weights:
        raise SavedFileError(
            path, [(None, "expected a dict with the key 'model' (and optionally 'objective')")]
        )
    extra = sorted(set(weights) - {"model", "objective"})
    if extra:
        raise SavedFileError(path, [(key, "unexpected key") for key in extra])
    return weights


def _check_state(path: Path, part: str, found: Any, module: torch.nn.Module) -> None:
    """Compare a loaded state dict with the one ``module`` expects: keys, shapes, finiteness."""
    if not isinstance(found, dict):
        raise SavedFileError(path, [(part, f"expected a state dict, found {type(found).__name__}")])
    expected = module.state_dict()
    problems: list[tuple[str | None, str]] = []
    for name, tensor in expected.items():
        key = f"{part}.{name}"
        if name not in found:
            problems.append((key, f"required tensor is missing (shape {list(tensor.shape)})"))
            continue
        value = found[name]
        if not isinstance(value, torch.Tensor):
            problems.append((key, f"expected a tensor, found {type(value).__name__}"))
        elif value.shape != tensor.shape:
            problems.append(
                (key, f"expected shape {list(tensor.shape)}, found {list(value.shape)}")
            )
        elif value.dtype != tensor.dtype:
            problems.append((key, f"expected dtype {tensor.dtype}, found {value.dtype}"))
        elif value.is_floating_point() and not bool(torch.isfinite(value).all()):
            n_bad = int((~torch.isfinite(value)).sum())
            problems.append((key, f"expected finite values, found {n_bad} NaN or infinite"))
    problems += [(f"{part}.{name}", "unexpected tensor") for name in found if name not in expected]
    if problems:
        raise SavedFileError(path, problems)


# --- save and load ------------------------------------------------------------------------------


def _replaceable(folder: Path) -> bool:
    """Whether ``folder`` may be replaced: absent, or a directory of saved-encoder files only."""
    if not folder.exists():
        return True
    if not folder.is_dir() or folder.is_symlink():
        return False
    return all(child.name in _FOLDER_FILES for child in folder.iterdir())


def save_encoder(encoder: TrainedEncoder, path: str | os.PathLike[str]) -> Path:
    """Write ``encoder`` to the folder ``path``, atomically.

    The folder is written beside ``path`` under a temporary name and moved into place with
    :func:`os.replace`: a reader sees the old folder or the new one, never a partial one. An
    existing saved-encoder folder at ``path`` is first moved aside (also with ``os.replace``),
    then deleted once the new folder is in place; if moving the new one fails, the old one is
    put back. If another process saves the same folder at the same time, one complete copy
    wins.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    FileExistsError
        If ``path`` exists and is not a saved encoder folder (a file, or a folder with other
        files): it is never deleted.
    """
    target = Path(path)
    if not _replaceable(target):
        raise FileExistsError(
            f"{target}: exists and is not a saved encoder folder (it holds files other than "
            f"{sorted(_FOLDER_FILES)}); refusing to replace it"
        )
    meta = EncoderFile.model_validate(encoder_metadata(encoder))  # refuse NaN before writing
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    backup: Path | None = None
    try:
        weights = {"model": encoder.model.state_dict()}
        if encoder.objective is not None:
            weights["objective"] = encoder.objective.state_dict()
        torch.save(weights, staging / WEIGHTS)
        atomic_write_bytes(
            staging / META, meta.model_dump_json(indent=1, by_alias=True).encode("utf-8")
        )
        if encoder.featurizer is not None:
            save_featurizer(encoder.featurizer, staging / FEATURIZER)
        try:
            os.replace(staging, target)  # target absent (or an empty folder)
        except OSError:
            backup = target.with_name(f".{target.name}-old-{uuid.uuid4().hex}")
            os.replace(target, backup)
            try:
                os.replace(staging, target)
            except OSError:
                if (target / META).is_file():  # another process saved it meanwhile
                    return target
                os.replace(backup, target)
                backup = None
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    return target


def load_encoder(
    path: str | os.PathLike[str], featurizer: OCSFFeaturizer | None = None
) -> TrainedEncoder:
    """Read and validate an encoder written by :func:`save_encoder`.

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
    ~anomaly_tutorial.features.SavedFileError
        If a file is truncated or corrupt, a key is missing or unexpected, a value has the
        wrong type or range, or a weight tensor is missing, unexpected, of the wrong shape or
        not finite; the message names the file, the key, what was expected and what was found.
    SchemaMismatchError
        If ``featurizer`` (or the saved featurizer) does not match the model's schema.
    """
    folder = Path(path)
    for name in (META, WEIGHTS):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: no {name}; not a saved encoder folder")
    meta, config = _read_meta(folder / META)
    schema = meta.schema_
    numeric, categorical = list(schema.numeric), list(schema.categorical)
    cardinalities = list(schema.cardinalities)
    if featurizer is None and (folder / FEATURIZER).is_file():
        featurizer = load_featurizer(folder / FEATURIZER)
    if featurizer is not None:
        check_schema(numeric, categorical, cardinalities, featurizer)
    weights = _read_weights(folder / WEIGHTS)
    model = build_model(config, len(numeric), cardinalities)
    _check_state(folder / WEIGHTS, "model", weights["model"], model)
    model.load_state_dict(weights["model"])
    model.eval()
    objective = None
    if "objective" in weights:
        objective = build_objective(config, numeric, categorical, cardinalities)
        _check_state(folder / WEIGHTS, "objective", weights["objective"], objective)
        objective.load_state_dict(weights["objective"])
        objective.eval()
    return TrainedEncoder(
        model=model,
        config=config,
        history=[
            {k: float("nan") if v is None else v for k, v in row.items()} for row in meta.history
        ],
        numeric_feature_names=numeric,
        categorical_feature_names=categorical,
        cardinalities=cardinalities,
        featurizer=featurizer,
        objective=objective,
        best_epoch=int(meta.best_epoch),
        extra=dict(meta.extra),
    )
