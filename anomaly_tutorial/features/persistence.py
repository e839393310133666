"""Save and load a fitted :class:`~anomaly_tutorial.features.pipeline.OCSFFeaturizer` as JSON.

The file holds the constructor parameters and the fitted state (vocabularies as lists,
medians and IQRs, rarity tables as ``[value, count]`` lists); no pickle is involved, so a file
can be inspected by eye and loading it cannot run code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .encoders import CategoricalVocabulary, RobustScaler1D
from .windows import WindowSpec

if TYPE_CHECKING:
    from .pipeline import OCSFFeaturizer

__all__ = [
    "FORMAT",
    "featurizer_from_dict",
    "featurizer_to_dict",
    "load_featurizer",
    "save_featurizer",
]

FORMAT = "anomaly_tutorial.features.OCSFFeaturizer"
VERSION = 1


def featurizer_to_dict(fz: OCSFFeaturizer) -> dict[str, Any]:
    """JSON-ready dict of a fitted featurizer."""
    if not hasattr(fz, "scaler_"):
        raise ValueError("only a fitted OCSFFeaturizer can be saved; call fit first")
    return {
        "format": FORMAT,
        "version": VERSION,
        "params": {
            "min_frequency": int(fz.min_frequency),
            "max_categories": None if fz.max_categories is None else int(fz.max_categories),
            "n_hash_buckets": int(fz.n_hash_buckets),
            "windows": [spec.to_dict() for spec in fz.windows_],
            "template_url_paths": bool(fz.template_url_paths),
        },
        "state": {
            "vocabularies": {
                field: {"values": list(v.values), "rare_values": list(v.rare_values)}
                for field, v in fz.vocabularies_.items()
            },
            "rarity": {
                field: {
                    "counts": sorted([k, int(c)] for k, c in table["counts"].items()),
                    "missing": int(table["missing"]),
                }
                for field, table in fz.rarity_.items()
            },
            "scaler": {"medians": list(fz.scaler_.medians), "scales": list(fz.scaler_.scales)},
            "n_train_events": int(fz.n_train_events_),
        },
    }


def featurizer_from_dict(data: dict[str, Any]) -> OCSFFeaturizer:
    """Rebuild a fitted featurizer from :func:`featurizer_to_dict` output."""
    from .pipeline import CATEGORICAL_FIELDS, HASHED_FIELDS, OCSFFeaturizer

    if data.get("format") != FORMAT:
        raise ValueError(f"not a saved OCSFFeaturizer (format {data.get('format')!r})")
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported OCSFFeaturizer file version {data.get('version')!r}")
    params = dict(data["params"])
    params["windows"] = tuple(WindowSpec(**w) for w in params["windows"])
    fz = OCSFFeaturizer(**params)
    fz.windows_ = fz._check_params()
    state = data["state"]
    missing = set(CATEGORICAL_FIELDS) - set(state["vocabularies"])
    missing |= set(HASHED_FIELDS) - set(state["rarity"])
    if missing:
        raise ValueError(f"saved featurizer lacks fields {sorted(missing)}")
    fz.vocabularies_ = {
        field: CategoricalVocabulary(values=list(v["values"]), rare_values=list(v["rare_values"]))
        for field, v in state["vocabularies"].items()
    }
    fz.rarity_ = {
        field: {"counts": {k: int(c) for k, c in t["counts"]}, "missing": int(t["missing"])}
        for field, t in state["rarity"].items()
    }
    fz.scaler_ = RobustScaler1D(
        medians=[float(m) for m in state["scaler"]["medians"]],
        scales=[float(s) for s in state["scaler"]["scales"]],
    )
    fz.n_train_events_ = int(state["n_train_events"])
    fz._set_names()
    n_scaled = sum(n.startswith(("num__", "win__")) for n in fz.numeric_feature_names_)
    if len(fz.scaler_.medians) != n_scaled or len(fz.scaler_.scales) != n_scaled:
        raise ValueError("saved featurizer: scaler size does not match its feature list")
    fz.unknown_counts_ = dict.fromkeys((*CATEGORICAL_FIELDS, *HASHED_FIELDS), 0)
    return fz


def save_featurizer(fz: OCSFFeaturizer, path: str | os.PathLike[str]) -> None:
    """Write ``fz`` to ``path`` as JSON."""
    Path(path).write_text(json.dumps(featurizer_to_dict(fz), indent=1), encoding="utf-8")


def load_featurizer(path: str | os.PathLike[str]) -> OCSFFeaturizer:
    """Read a featurizer written by :func:`save_featurizer`."""
    return featurizer_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
