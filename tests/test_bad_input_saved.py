"""Bad saved featurizer and encoder files: each is refused with path, key, expected and found.

Outcome classes: ``error`` (a :class:`~anomaly_tutorial.features.SavedFileError`, or
``FileExistsError`` for an unsafe destination, with the listed words) and ``handled``.
Nothing is ever unpickled: weights are read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from anomaly_tutorial.features import (
    OCSFFeaturizer,
    SavedFileError,
    load_featurizer,
    save_featurizer,
)
from anomaly_tutorial.models import load_encoder, save_encoder, train_encoder
from tests.test_features import make_flat_frame

torch.set_num_threads(1)

FRAME = make_flat_frame(150, seed=4)
FITTED = OCSFFeaturizer(min_frequency=1).fit(FRAME)


def saved_dict(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "featurizer.json"
    save_featurizer(FITTED, path)
    return path, json.loads(path.read_text())


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value


def _delete(data: dict[str, Any], dotted: str) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        node = node[part]
    del node[leaf]


def first_vocabulary(data: dict[str, Any]) -> str:
    return next(iter(data["state"]["vocabularies"]))


FEATURIZER_CASES: dict[str, tuple[Callable[[dict[str, Any]], Any], tuple[str, ...]]] = {
    # name: (edit of the saved dict, or a function returning raw text; words of the message)
    "nan-median": (
        lambda d: _set(d, "state.scaler.medians.0", float("nan")),
        ("state.scaler.medians.0", "finite number", "nan"),
    ),
    "inf-median": (
        lambda d: _set(d, "state.scaler.medians.1", float("inf")),
        ("state.scaler.medians.1", "finite number"),
    ),
    "zero-scale": (
        lambda d: _set(d, "state.scaler.scales.2", 0.0),
        ("state.scaler.scales.2", "greater than 0", "found 0.0"),
    ),
    "negative-scale": (
        lambda d: _set(d, "state.scaler.scales.0", -1.5),
        ("state.scaler.scales.0", "greater than 0", "-1.5"),
    ),
    "vocabulary-of-numbers": (
        lambda d: _set(d, f"state.vocabularies.{first_vocabulary(d)}.values", [3002, 4001]),
        ("values.0", "valid string", "3002"),
    ),
    "missing-key": (lambda d: _delete(d, "state.scaler"), ("state.scaler", "missing")),
    "extra-key": (
        lambda d: _set(d, "state.extra_table", {}),
        ("state.extra_table", "unexpected key"),
    ),
    "wrong-type": (
        lambda d: _set(d, "params.min_frequency", "5"),
        ("params.min_frequency", "valid integer", "'5'"),
    ),
    "bool-for-int": (
        lambda d: _set(d, "params.n_hash_buckets", True),
        ("params.n_hash_buckets", "valid integer"),
    ),
    "negative-count": (
        lambda d: d["state"]["rarity"]["actor.user.name"].__setitem__("missing", -1),
        ("state.rarity.actor.user.name.missing", "greater than or equal to 0"),
    ),
    "wrong-format": (
        lambda d: _set(d, "format", "something.else"),
        ("format", "not a saved OCSFFeaturizer"),
    ),
    "future-version": (lambda d: _set(d, "version", 2), ("version", "1")),
    "scaler-too-short": (
        lambda d: d["state"]["scaler"]["medians"].pop(),
        ("state.scaler.medians", "one per scaled feature"),
    ),
    "vocabulary-field-missing": (
        lambda d: d["state"]["vocabularies"].pop("api.operation"),
        ("state.vocabularies.api.operation", "missing"),
    ),
    "vocabulary-field-extra": (
        lambda d: d["state"]["vocabularies"].__setitem__(
            "bogus", {"values": [], "rare_values": []}
        ),
        ("state.vocabularies.bogus", "unexpected key"),
    ),
    "repeated-vocabulary-value": (
        lambda d: _set(
            d,
            "state.vocabularies.class_uid.rare_values",
            [d["state"]["vocabularies"]["class_uid"]["values"][0]],
        ),
        ("state.vocabularies.class_uid", "distinct"),
    ),
    "bad-window": (
        lambda d: _set(d, "params.windows.0.aggregate", "median"),
        ("params.windows.0.aggregate", "'count', 'sum' or 'nunique'"),
    ),
    "zero-window": (
        lambda d: _set(d, "params.windows.0.window_s", 0),
        ("params.windows.0.window_s",),
    ),
}


@pytest.mark.parametrize(
    "name", sorted(FEATURIZER_CASES), ids=[f"error-{n}" for n in sorted(FEATURIZER_CASES)]
)
def test_saved_featurizer_case(tmp_path: Path, name: str) -> None:
    path, data = saved_dict(tmp_path)
    edit, words = FEATURIZER_CASES[name]
    edit(data)
    path.write_text(json.dumps(data))  # json writes NaN and Infinity for non-finite floats
    with pytest.raises(SavedFileError) as info:
        load_featurizer(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize(
    ("name", "damage", "words"),
    [
        ("truncated", lambda text: text[: len(text) // 2], ("not valid JSON", "truncated")),
        ("empty", lambda text: "", ("not valid JSON",)),
        ("not-json", lambda text: "format = featurizer", ("not valid JSON",)),
        ("a-list", lambda text: "[1, 2]", ("expected an object",)),
    ],
    ids=["error-truncated", "error-empty", "error-not-json", "error-a-list"],
)
def test_damaged_featurizer_file(tmp_path: Path, name: str, damage, words) -> None:
    path, _ = saved_dict(tmp_path)
    path.write_text(damage(path.read_text()))
    with pytest.raises(SavedFileError) as info:
        load_featurizer(path)
    for word in (str(path), *words):
        assert word in str(info.value), (word, str(info.value))


def test_handled_featurizer_round_trip_and_atomic_replace(tmp_path: Path) -> None:
    path, _ = saved_dict(tmp_path)
    save_featurizer(FITTED, path)  # replaces the file in one step
    assert sorted(p.name for p in tmp_path.iterdir()) == ["featurizer.json"]
    loaded = load_featurizer(path)
    np.testing.assert_array_equal(loaded.transform(FRAME), FITTED.transform(FRAME))


# --- encoders ------------------------------------------------------------------------------------

TINY = dict(width=8, depth=1, d_out=4, d_embed_cat=2, batch_size=64, epochs=1, progress=False)


@pytest.fixture(scope="module")
def encoder():
    return train_encoder(FITTED.transform_split(FRAME), featurizer=FITTED, seed=0, **TINY)


@pytest.fixture
def folder(tmp_path: Path, encoder) -> Path:
    return save_encoder(encoder, tmp_path / "enc")


def _edit_weights(folder: Path, edit: Callable[[dict[str, Any]], Any]) -> None:
    weights = torch.load(folder / "weights.pt", weights_only=True)
    edit(weights)
    torch.save(weights, folder / "weights.pt")


def _first_weight(weights: dict[str, Any]) -> str:
    return next(k for k, v in weights["model"].items() if v.is_floating_point())


def _nan_weight(w):
    w["model"][_first_weight(w)].view(-1)[0] = float("nan")


WEIGHT_CASES = {
    "nan-weight": (_nan_weight, ("weights.pt", "model.", "finite values", "NaN")),
    "missing-tensor": (lambda w: w["model"].pop(_first_weight(w)), ("required tensor is missing",)),
    "extra-tensor": (
        lambda w: w["model"].__setitem__("extra.bias", torch.zeros(3)),
        ("model.extra.bias", "unexpected tensor"),
    ),
    "wrong-shape": (
        lambda w: w["model"].__setitem__(_first_weight(w), torch.zeros(2, 2)),
        ("expected shape", "found [2, 2]"),
    ),
    "wrong-dtype": (
        lambda w: w["model"].__setitem__(_first_weight(w), w["model"][_first_weight(w)].double()),
        ("expected dtype torch.float32", "float64"),
    ),
    "extra-part": (lambda w: w.__setitem__("optimizer", {}), ("optimizer", "unexpected key")),
    "no-model": (lambda w: w.pop("model"), ("'model'",)),
}


@pytest.mark.parametrize(
    "name", sorted(WEIGHT_CASES), ids=[f"error-{n}" for n in sorted(WEIGHT_CASES)]
)
def test_bad_weights(folder: Path, name: str) -> None:
    edit, words = WEIGHT_CASES[name]
    _edit_weights(folder, edit)
    with pytest.raises(SavedFileError) as info:
        load_encoder(folder)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("truncated", lambda data: data[: len(data) // 2]),
        ("garbage", lambda data: b"not a torch file at all"),
        ("empty", lambda data: b""),
    ],
    ids=["error-truncated", "error-garbage", "error-empty"],
)
def test_damaged_weights_file(folder: Path, name: str, damage) -> None:
    path = folder / "weights.pt"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(SavedFileError, match="cannot be read as torch weights") as info:
        load_encoder(folder)
    assert str(path) in str(info.value)


META_CASES = {
    "truncated": (lambda text: text[:-40], ("encoder.json", "not valid JSON")),
    "missing-key": (
        lambda text: _json_edit(text, lambda d: d.pop("config")),
        ("'config'", "missing"),
    ),
    "extra-key": (
        lambda text: _json_edit(text, lambda d: d.__setitem__("notes", 1)),
        ("'notes'", "unexpected key"),
    ),
    "config-wrong-type": (
        lambda text: _json_edit(text, lambda d: d["config"].__setitem__("width", "8")),
        ("config.width", "valid integer", "'8'"),
    ),
    "config-unknown-setting": (
        lambda text: _json_edit(text, lambda d: d["config"].__setitem__("layers", 3)),
        ("config.layers", "unexpected key"),
    ),
    "config-out-of-range": (
        lambda text: _json_edit(text, lambda d: d["config"].__setitem__("dropout", 1.5)),
        ("config", "dropout must be in [0, 1)"),
    ),
    "config-nan": (
        lambda text: _json_edit(text, lambda d: d["config"].__setitem__("lr", float("nan"))),
        ("config.lr", "finite number"),
    ),
    "cardinality-zero": (
        lambda text: _json_edit(text, lambda d: d["schema"]["cardinalities"].__setitem__(0, 0)),
        ("schema.cardinalities.0", "greater than or equal to 1"),
    ),
    "cardinalities-too-short": (
        lambda text: _json_edit(text, lambda d: d["schema"]["cardinalities"].pop()),
        ("schema.cardinalities", "one per categorical field"),
    ),
    "history-nan": (
        lambda text: _json_edit(
            text, lambda d: d["history"][0].__setitem__("train_loss", float("nan"))
        ),
        ("history.0.train_loss", "finite number"),
    ),
    "wrong-format": (
        lambda text: _json_edit(text, lambda d: d.__setitem__("format", "x")),
        ("format", "not a saved encoder"),
    ),
}


def _json_edit(text: str, edit) -> str:
    data = json.loads(text)
    edit(data)
    return json.dumps(data)


@pytest.mark.parametrize("name", sorted(META_CASES), ids=[f"error-{n}" for n in sorted(META_CASES)])
def test_bad_encoder_json(folder: Path, name: str) -> None:
    damage, words = META_CASES[name]
    path = folder / "encoder.json"
    path.write_text(damage(path.read_text()))
    with pytest.raises(SavedFileError) as info:
        load_encoder(folder)
    assert str(info.value).startswith(str(path))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_error_bad_featurizer_inside_an_encoder_folder(folder: Path) -> None:
    path = folder / "featurizer.json"
    path.write_text(path.read_text().replace('"scales": [', '"scales": [-1.0, ', 1))
    with pytest.raises(SavedFileError, match=r"featurizer\.json: key 'state\.scaler\.scales\.0'"):
        load_encoder(folder)


def test_error_save_never_deletes_a_foreign_folder(tmp_path: Path, encoder) -> None:
    precious = tmp_path / "photos"
    precious.mkdir()
    (precious / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(FileExistsError, match="not a saved encoder folder"):
        save_encoder(encoder, precious)
    assert (precious / "holiday.jpg").read_bytes() == b"\xff\xd8"
    a_file = tmp_path / "model"
    a_file.write_text("x")
    with pytest.raises(FileExistsError):
        save_encoder(encoder, a_file)


def test_handled_save_replaces_a_damaged_encoder_folder(tmp_path: Path, encoder) -> None:
    target = tmp_path / "enc"
    target.mkdir()
    (target / "encoder.json").write_text("{trunc")  # an interrupted earlier save
    save_encoder(encoder, target)
    assert load_encoder(target).config == encoder.config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]
