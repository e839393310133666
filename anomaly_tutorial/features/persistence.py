"""The file format of a saved :class:`~anomaly_tutorial.features.OCSFFeaturizer`, validated.

A saved featurizer is one JSON file: the constructor parameters and the fitted state
(vocabularies as lists of strings, medians and IQRs, rarity tables as ``[value, count]``
pairs). No pickle is involved, so a file can be inspected by eye and loading it cannot run
code. The format is described by the pydantic models below (:class:`FeaturizerFile` and its
parts); loading validates a file against them strictly, so a file that would load but give
garbage (a NaN median, a zero or negative scale, a vocabulary written as numbers, a missing or
extra key, a truncated file) is refused with a :class:`SavedFileError` naming the file, the
key, what was expected and what was found.

This module knows the format only; it does not import the featurizer.
:mod:`anomaly_tutorial.features.pipeline` turns a featurizer into a :class:`FeaturizerFile`
and back (:func:`~anomaly_tutorial.features.save_featurizer`,
:func:`~anomaly_tutorial.features.load_featurizer`), so the dependency goes one way.

Public objects: :data:`FORMAT`, :data:`VERSION`, :class:`FeaturizerFile`,
:class:`SavedFileError`, :func:`read_featurizer_file`, :func:`write_featurizer_file`,
:func:`atomic_write_bytes`, :func:`describe_validation_error`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..io.errors import quote
from .windows import AGGREGATES

__all__ = [
    "FORMAT",
    "VERSION",
    "FeaturizerFile",
    "SavedFileError",
    "atomic_write_bytes",
    "describe_validation_error",
    "read_featurizer_file",
    "write_featurizer_file",
]

FORMAT = "anomaly_tutorial.features.OCSFFeaturizer"
VERSION = 1

#: How many problems a :class:`SavedFileError` message lists.
_MAX_LISTED = 5


class SavedFileError(ValueError):
    """A saved featurizer or encoder file that cannot be used.

    The message is ``<path>: key '<dotted key>': <what was expected>, found <value>`` for each
    problem (at most five listed).

    Attributes
    ----------
    path
        The file.
    problems
        Every problem, as ``(key, text)``; ``key`` is ``None`` for the file as a whole.
    """

    def __init__(self, path: object, problems: Iterable[tuple[str | None, str]]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        parts = [f"key {key!r}: {text}" if key else text for key, text in self.problems]
        shown = "; ".join(parts[:_MAX_LISTED])
        if len(parts) > _MAX_LISTED:
            shown += f"; and {len(parts) - _MAX_LISTED} more"
        super().__init__(f"{self.path}: {shown}")


def describe_validation_error(error: ValidationError) -> list[tuple[str | None, str]]:
    """Turn pydantic's errors into ``(dotted key, "expected ..., found ...")`` pairs."""
    problems: list[tuple[str | None, str]] = []
    for item in error.errors(include_url=False):
        key = ".".join(str(part) for part in item["loc"]) or None
        kind = item["type"]
        message = str(item["msg"])
        if kind == "json_invalid":
            detail = message.removeprefix("Invalid JSON: ")
            problems.append((None, f"not valid JSON (truncated or edited?): {detail}"))
        elif kind == "missing":
            problems.append((key, "required key is missing"))
        elif kind == "extra_forbidden":
            problems.append((key, f"unexpected key (found {quote(item['input'])})"))
        else:
            expected = message.removeprefix("Input should be ").removeprefix("Value error, ")
            found = item.get("input")
            problems.append((key, f"expected {expected}, found {quote(found)}"))
    return problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
PositiveNumber = Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]


class SavedWindow(_Strict):
    """One :class:`~anomaly_tutorial.features.WindowSpec`."""

    entity: str
    window_s: PositiveNumber
    aggregate: Literal[AGGREGATES]  # type: ignore[valid-type]
    value_column: str | None
    name: Annotated[str, Field(min_length=1)]


class SavedParams(_Strict):
    """The constructor parameters."""

    min_frequency: PositiveInt
    max_categories: PositiveInt | None
    n_hash_buckets: PositiveInt
    windows: list[SavedWindow]
    template_url_paths: bool


class SavedVocabulary(_Strict):
    """A :class:`~anomaly_tutorial.features.CategoricalVocabulary`: values are string keys."""

    values: list[str]
    rare_values: list[str]


class SavedRarity(_Strict):
    """Training counts of a hashed field: ``[value, count]`` pairs and the missing count."""

    counts: list[tuple[str, Count]]
    missing: Count


class SavedScaler(_Strict):
    """Medians (finite) and scales (finite and > 0) of the scaled columns."""

    medians: list[FiniteFloat]
    scales: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]]


class SavedState(_Strict):
    """The fitted state."""

    vocabularies: dict[str, SavedVocabulary]
    rarity: dict[str, SavedRarity]
    scaler: SavedScaler
    n_train_events: PositiveInt


class FeaturizerFile(_Strict):
    """A saved featurizer: format tag, version, parameters and fitted state."""

    format: Literal[FORMAT]  # type: ignore[valid-type]
    version: Literal[VERSION]  # type: ignore[valid-type]
    params: SavedParams
    state: SavedState


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary sibling, then :func:`os.replace`.

    A reader sees the old file or the new one, never a partly written file; a failed write
    leaves the old file untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_featurizer_file(saved: FeaturizerFile, path: str | os.PathLike[str]) -> Path:
    """Write a validated :class:`FeaturizerFile` as indented JSON, atomically."""
    return atomic_write_bytes(path, saved.model_dump_json(indent=1).encode("utf-8"))


def read_featurizer_file(path: str | os.PathLike[str]) -> FeaturizerFile:
    """Read and validate a saved featurizer file.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    SavedFileError
        If it is not valid JSON (truncated), not a saved featurizer, or any key is missing,
        unexpected or of the wrong type or value; the message names path, key, expected and
        found.
    """
    source = Path(path)
    data = source.read_bytes()
    try:
        return FeaturizerFile.model_validate_json(data)
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        if any(key == "format" for key, _ in problems):
            problems = [("format", f"not a saved OCSFFeaturizer: expected {FORMAT!r}")]
        raise SavedFileError(source, problems) from None
