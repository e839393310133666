"""Save and load a fitted :class:`~anomaly_tutorial.serving.DetectionPipeline` as a bundle.

A bundle is a folder that an operations team can inspect, copy and verify:

``manifest.json``
    Format and version, the ``anomaly_tutorial`` version that wrote it, creation time (UTC),
    the detector's name, the feature schema (names and dtypes) and its hash, the training
    and validation periods (first / last time, number of events, data fingerprint), the
    threshold with its validation figures, and the sha256 and size of every other file.
``pipeline.json``
    The pipeline's parameters and small fitted values (threshold, privileged accounts, kind
    rule, severity rules).
``featurizer.json``
    The featurizer in its own validated JSON format
    (:mod:`anomaly_tutorial.features.persistence`).
``decision.json``
    The threshold decision (:meth:`~anomaly_tutorial.thresholds.ThresholdDecision.to_json`).
``arrays.npz``
    Every numeric array (calibration scores, the detector's fitted arrays, the explainer's
    sorted training values), compressed, read with ``allow_pickle=False``.
``explainer.json``
    The explainer's tables (account medians, seen values, hour counts).
``detector.skops`` / ``category.skops`` (only when needed)
    scikit-learn objects that are not plain arrays (an Isolation Forest's trees, the category
    tree), in skops' format, loaded with an explicit list of trusted types.

**Why not pickle.** Unpickling runs whatever code the file names: a model file from an
untrusted place is a program. Nothing here is pickled; JSON and ``.npz`` without pickle hold
data only, and a ``.skops`` file holding any type not on the explicit list of
:func:`trusted_types` is refused before anything is built.

Loading refuses, with a :class:`BundleError` that says what is wrong: a missing manifest or
file, a file not in the manifest, a file whose size or sha256 differs (tampered or
truncated), a feature schema that differs from what the installed package computes, and a
bundle written by a package version with another major.minor version. Saving writes to a
temporary folder beside the target and renames it into place, so a reader never sees a
half-written bundle.

Public objects: :func:`save_bundle`, :func:`load_bundle`, :func:`read_manifest`,
:class:`BundleError`, :data:`BUNDLE_FORMAT`, :data:`BUNDLE_VERSION`, :func:`trusted_types`,
:data:`SKLEARN_TRUSTED_TYPES`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from anomaly_tutorial import __version__
from anomaly_tutorial.detectors import make_detector
from anomaly_tutorial.features.persistence import SavedFileError
from anomaly_tutorial.features.pipeline import load_featurizer, save_featurizer
from anomaly_tutorial.serving.pipeline import DetectionPipeline
from anomaly_tutorial.thresholds import ConformalCalibrator, ThresholdDecision
from anomaly_tutorial.triage import FeatureDeviations, KindRule, SeverityPolicy, SeverityRules

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "SKLEARN_TRUSTED_TYPES",
    "BundleError",
    "load_bundle",
    "read_manifest",
    "save_bundle",
    "trusted_types",
]

BUNDLE_FORMAT = "anomaly_tutorial.serving.bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
#: The scikit-learn types (beyond skops' own safe defaults: numpy arrays, builtins, sklearn
#: estimators skops trusts) that the package's detectors and category tree contain.
SKLEARN_TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
)


def trusted_types() -> tuple[str, ...]:
    """The exact type names a ``.skops`` file of a bundle may hold beyond skops' defaults.

    The package's detectors (:data:`anomaly_tutorial.detectors.DETECTORS`), its category tree
    and :data:`SKLEARN_TRUSTED_TYPES`; any other type is refused before anything is built.
    """
    from anomaly_tutorial.detectors import DETECTORS
    from anomaly_tutorial.triage import CategoryClassifier

    classes = [*DETECTORS.values(), CategoryClassifier]
    return (*(f"{c.__module__}.{c.__qualname__}" for c in classes), *SKLEARN_TRUSTED_TYPES)


_FILES = ("pipeline.json", "featurizer.json", "decision.json", "arrays.npz", "explainer.json")
_OPTIONAL = ("detector.skops", "category.skops")
_CHUNK = 1 << 20


class BundleError(ValueError):
    """A bundle that cannot be saved or loaded; the message starts with the bundle's path."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(str(version).split(".")[:2])


# --- the parts -------------------------------------------------------------------------------
def _array_state(estimator: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """Fitted attributes as (JSON scalars, numeric arrays), or ``None`` if some are neither."""
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for name, value in vars(estimator).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, np.ndarray) and value.dtype != object:
            arrays[name] = value
        elif isinstance(value, (bool, int, float, str)) or value is None:
            scalars[name] = value
        elif isinstance(value, (np.integer, np.floating, np.bool_)):
            scalars[name] = value.item()
        else:
            return None
    return scalars, arrays


def _skops_bytes(obj: Any) -> bytes:
    import skops.io as sio  # imported here: skops imports dask, too heavy for package import

    return sio.dumps(obj)


def _skops_load(data: bytes, path: Path) -> Any:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    allowed = set(trusted_types())
    refused = [t for t in untrusted if t not in allowed]
    if refused:
        raise BundleError(
            path,
            f"holds types outside the trusted list (see bundle.trusted_types()): {refused}; "
            "refusing to load it",
        )
    return sio.loads(data, trusted=untrusted)


def _explainer_state(fd: FeatureDeviations) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    class_values: dict[str, list[int]] = {}
    for field, per_class in fd.class_values_.items():
        class_values[field] = sorted(int(c) for c in per_class)
        for c, values in per_class.items():
            arrays[f"explainer/class_values/{field}/{int(c)}"] = np.asarray(values)
    for field, values in fd.ratio_values_.items():
        arrays[f"explainer/ratio_values/{field}"] = np.asarray(values)
    for name, values in fd.window_values_.items():
        arrays[f"explainer/window_values/{name}"] = np.asarray(values)
    state = {
        "params": fd.get_params(),
        "class_values": class_values,
        "ratio_fields": list(fd.ratio_values_),
        "window_names": list(fd.window_values_),
        "window_medians": {k: float(v) for k, v in fd.window_medians_.items()},
        "entity_medians": {
            field: [[str(k), float(v)] for k, v in series.items()]
            for field, series in fd.entity_medians_.items()
        },
        "entity_events": [[str(k), int(v)] for k, v in fd.entity_events_.items()],
        "seen": {
            field: [[_plain(u), _plain(v)] for u, v in index] for field, index in fd.seen_.items()
        },
        "hour_counts": [[_plain(u), int(h), int(c)] for (u, h), c in fd.hour_counts_.items()],
    }
    return state, arrays


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _explainer_from_state(state: dict[str, Any], arrays: Any) -> FeatureDeviations:
    fd = FeatureDeviations(**state["params"])
    fd.class_values_ = {
        field: {c: arrays[f"explainer/class_values/{field}/{c}"] for c in classes}
        for field, classes in state["class_values"].items()
    }
    fd.ratio_values_ = {f: arrays[f"explainer/ratio_values/{f}"] for f in state["ratio_fields"]}
    fd.window_values_ = {n: arrays[f"explainer/window_values/{n}"] for n in state["window_names"]}
    fd.window_medians_ = dict(state["window_medians"])
    fd.entity_medians_ = {
        field: pd.Series(
            [v for _, v in pairs],
            index=pd.Index([k for k, _ in pairs], dtype=object),
            dtype="float64",
        )
        for field, pairs in state["entity_medians"].items()
    }
    events = state["entity_events"]
    fd.entity_events_ = pd.Series(
        [c for _, c in events],
        index=pd.Index([u for u, _ in events], dtype=object),
        dtype="int64",
    )
    fd.seen_ = {
        field: pd.MultiIndex.from_arrays(
            [
                pd.Index([u for u, _ in pairs], dtype=object),
                pd.Index([v for _, v in pairs], dtype=object),
            ]
        )
        for field, pairs in state["seen"].items()
    }
    hours = state["hour_counts"]
    fd.hour_counts_ = pd.Series(
        np.asarray([c for *_, c in hours], dtype="int64"),
        index=pd.MultiIndex.from_arrays(
            [
                pd.Index([u for u, _, _ in hours], dtype=object),
                pd.Index(np.asarray([h for _, h, _ in hours], dtype="int64")),
            ]
        ),
    )
    return fd


def _rules_state(rules: SeverityRules | None) -> dict[str, Any] | None:
    if rules is None:
        return None
    return {
        "default": rules.default.to_dict(),
        "domains": {name: policy.to_dict() for name, policy in rules.domains.items()},
        "domain_column": rules.domain_column,
    }


def _policy(data: dict[str, Any]) -> SeverityPolicy:
    return SeverityPolicy(
        thresholds=data["thresholds"],
        tier_points={int(k): float(v) for k, v in data["tier_points"].items()},
        privileged_points=data["privileged_points"],
        external_points=data["external_points"],
    )


def _rules_from_state(data: dict[str, Any] | None) -> SeverityRules | None:
    if data is None:
        return None
    return SeverityRules(
        default=_policy(data["default"]),
        domains={name: _policy(p) for name, p in data["domains"].items()},
        domain_column=data["domain_column"],
    )


def _featurizer_params(params: Any) -> Any:
    if params is None:
        return None
    out = dict(params)
    if "windows" in out:
        out["windows"] = [w.to_dict() for w in out["windows"]]
    return out


def _featurizer_params_from_state(params: Any) -> Any:
    if params is None or "windows" not in params:
        return params
    from anomaly_tutorial.features import WindowSpec

    out = dict(params)
    out["windows"] = tuple(WindowSpec(**w) for w in out["windows"])
    return out


# --- save ------------------------------------------------------------------------------------
def save_bundle(
    pipeline: DetectionPipeline, path: str | os.PathLike[str], overwrite: bool = False
) -> Path:
    """Write a fitted pipeline as a bundle folder at ``path``, atomically.

    Parameters
    ----------
    pipeline
        A fitted :class:`~anomaly_tutorial.serving.DetectionPipeline`.
    path
        The bundle folder to create.
    overwrite
        Replace an existing bundle at ``path`` (the old one stays in place until the new one
        is complete). Without it an existing ``path`` is an error.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    BundleError
        If ``path`` exists (and ``overwrite`` is false) or is not a folder.
    sklearn.exceptions.NotFittedError
        If the pipeline is not fitted.
    """
    check_is_fitted(pipeline, "threshold_")
    target = Path(path)
    if target.exists() and not overwrite:
        raise BundleError(target, "already exists; pass overwrite=True to replace it")
    if target.exists() and not target.is_dir():
        raise BundleError(target, "exists and is not a bundle folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _write_parts(pipeline, tmp)
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            old.rmdir()
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _write_parts(pipeline: DetectionPipeline, folder: Path) -> None:
    arrays: dict[str, np.ndarray] = {
        "calibration_scores": pipeline.calibrator_.calibration_scores_,
    }
    detector = pipeline.detector_
    state = _array_state(detector)
    detector_info: dict[str, Any] = {"name": pipeline.detector}
    if state is None:
        (folder / "detector.skops").write_bytes(_skops_bytes(detector))
        detector_info["storage"] = "skops"
    else:
        scalars, detector_arrays = state
        detector_info["storage"] = "arrays"
        detector_info["params"] = detector.get_params()
        detector_info["scalars"] = scalars
        detector_info["arrays"] = sorted(detector_arrays)
        arrays.update({f"detector/{k}": v for k, v in detector_arrays.items()})
    explainer_state, explainer_arrays = _explainer_state(pipeline.explainer_)
    arrays.update(explainer_arrays)
    (folder / "explainer.json").write_bytes(_json_bytes(explainer_state))
    if pipeline.category_model_ is not None:
        (folder / "category.skops").write_bytes(_skops_bytes(pipeline.category_model_))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    (folder / "arrays.npz").write_bytes(buffer.getvalue())
    save_featurizer(pipeline.featurizer_, folder / "featurizer.json")
    (folder / "decision.json").write_text(pipeline.decision_.to_json(), encoding="utf-8")
    kind = pipeline.kind_rule_
    depths = pipeline.category_depths_
    (folder / "pipeline.json").write_bytes(
        _json_bytes(
            {
                "params": {
                    "detector": pipeline.detector,
                    "detector_params": None
                    if pipeline.detector_params is None
                    else dict(pipeline.detector_params),
                    "alerts_per_day": int(pipeline.alerts_per_day),
                    "service_tiers": None
                    if pipeline.service_tiers is None
                    else {str(k): int(v) for k, v in pipeline.service_tiers.items()},
                    "severity_rules": _rules_state(pipeline.severity_rules),
                    "featurizer_params": _featurizer_params(pipeline.featurizer_params),
                },
                "detector": detector_info,
                "threshold": pipeline.threshold_,
                "privileged": sorted(pipeline.privileged_),
                "window_s": pipeline.window_s_,
                "training": pipeline.training_,
                "validation": pipeline.validation_,
                "validation_figures": pipeline.validation_figures_,
                "package_version": pipeline.package_version_,
                "kind_fitted": bool(pipeline.kind_fitted_),
                "kind_rule": {
                    "params": {k: list(v) for k, v in kind.get_params().items()},
                    "thresholds": {
                        name: float(getattr(kind, name))
                        for name in (
                            "window_threshold_",
                            "burst_threshold_",
                            "point_threshold_",
                            "point_margin_",
                        )
                    },
                    "fit_score": None if np.isnan(kind.fit_score_) else float(kind.fit_score_),
                },
                "category_depths": None if depths is None else depths.to_dict(orient="records"),
            }
        )
    )
    files = {}
    for file in sorted(folder.iterdir()):
        files[file.name] = {"sha256": _sha256(file), "bytes": file.stat().st_size}
    decision = pipeline.decision_
    manifest = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "package": "anomaly_tutorial",
        "package_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "detector": pipeline.detector,
        "feature_schema": pipeline.feature_schema(),
        "schema_hash": pipeline.schema_hash(),
        "window_s": pipeline.window_s_,
        "training": pipeline.training_,
        "validation": pipeline.validation_,
        "threshold": {
            "policy": decision.policy,
            "params": decision.params,
            "value": pipeline.threshold_,
            "reason": decision.reason,
            "validation": pipeline.validation_figures_,
        },
        "files": files,
    }
    (folder / MANIFEST).write_bytes(_json_bytes(manifest))


# --- load ------------------------------------------------------------------------------------
def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the bundle at ``path``, checked for format and version only.

    Raises
    ------
    BundleError
        If the folder or its manifest is missing, the manifest is not JSON, not a bundle
        manifest, or from another bundle format version.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise BundleError(folder, "no such bundle folder")
    file = folder / MANIFEST
    if not file.is_file():
        raise BundleError(folder, f"has no {MANIFEST}; not a bundle (or an incomplete copy)")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(folder, f"{MANIFEST} is not valid JSON (truncated?): {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(folder, f"{MANIFEST} is not a bundle manifest ({BUNDLE_FORMAT!r})")
    if manifest.get("format_version") != BUNDLE_VERSION:
        raise BundleError(
            folder,
            f"bundle format version {manifest.get('format_version')!r}; this package reads "
            f"version {BUNDLE_VERSION}",
        )
    for key in ("package_version", "files", "schema_hash", "feature_schema"):
        if key not in manifest:
            raise BundleError(folder, f"{MANIFEST}: required key {key!r} is missing")
    return manifest


def _verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    listed = manifest["files"]
    if not isinstance(listed, dict):
        raise BundleError(folder, f"{MANIFEST}: 'files' must map file names to checksums")
    present = {p.name for p in folder.iterdir()} - {MANIFEST}
    missing = sorted(set(listed) - present)
    if missing:
        raise BundleError(folder, f"files listed in the manifest are missing: {missing}")
    extra = sorted(present - set(listed))
    if extra:
        raise BundleError(
            folder, f"files not listed in the manifest (added after saving?): {extra}"
        )
    required = [name for name in _FILES if name not in listed]
    unknown = sorted(set(listed) - set(_FILES) - set(_OPTIONAL))
    if required or unknown:
        raise BundleError(
            folder,
            f"{MANIFEST}: expected the files {list(_FILES)} (and optionally "
            f"{list(_OPTIONAL)}); missing {required}, unknown {unknown}",
        )
    for name, entry in sorted(listed.items()):
        file = folder / name
        size = file.stat().st_size
        if size != entry.get("bytes"):
            raise BundleError(
                folder,
                f"{name} has {size} bytes, the manifest says {entry.get('bytes')} "
                "(truncated or modified)",
            )
        digest = _sha256(file)
        if digest != entry.get("sha256"):
            raise BundleError(
                folder, f"{name}: sha256 {digest} differs from the manifest's (tampered with?)"
            )


def load_bundle(path: str | os.PathLike[str]) -> DetectionPipeline:
    """Load and verify a bundle written by :func:`save_bundle`.

    Parameters
    ----------
    path
        The bundle folder.

    Returns
    -------
    DetectionPipeline
        The fitted pipeline; its scores equal those of the pipeline that was saved.

    Raises
    ------
    BundleError
        If the manifest is missing or invalid; a file is missing, extra, truncated or has
        another sha256; the bundle was written by ``anomaly_tutorial`` with another
        major.minor version; or the feature schema the installed package computes from the
        bundle differs from the manifest's. The message names the bundle and the problem.
    """
    folder = Path(path)
    manifest = read_manifest(folder)
    if _major_minor(manifest["package_version"]) != _major_minor(__version__):
        raise BundleError(
            folder,
            f"written by anomaly_tutorial {manifest['package_version']}; this is "
            f"{__version__}, and bundles load only within the same major.minor version "
            "(refit the pipeline and save a new bundle)",
        )
    _verify_files(folder, manifest)
    try:
        pipeline = _read_parts(folder)
    except SavedFileError as exc:
        raise BundleError(folder, f"featurizer.json: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(folder, f"cannot rebuild the pipeline: {exc!r}") from None
    found = pipeline.schema_hash()
    if found != manifest["schema_hash"]:
        raise BundleError(
            folder,
            f"feature schema mismatch: the manifest's hash is {manifest['schema_hash']}, the "
            f"installed package computes {found} from this bundle (the features changed "
            "since it was saved; refit)",
        )
    return pipeline


def _read_parts(folder: Path) -> DetectionPipeline:
    state = json.loads((folder / "pipeline.json").read_text(encoding="utf-8"))
    params = dict(state["params"])
    params["severity_rules"] = _rules_from_state(params["severity_rules"])
    params["featurizer_params"] = _featurizer_params_from_state(params["featurizer_params"])
    pipeline = DetectionPipeline(**params)
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    pipeline.featurizer_ = load_featurizer(folder / "featurizer.json")
    info = state["detector"]
    if info["storage"] == "skops":
        detector = _skops_load((folder / "detector.skops").read_bytes(), folder)
    else:
        detector = make_detector(info["name"], **info["params"])
        for name, value in info["scalars"].items():
            setattr(detector, name, value)
        for name in info["arrays"]:
            setattr(detector, name, arrays[f"detector/{name}"])
    pipeline.detector_ = detector
    pipeline.calibrator_ = ConformalCalibrator().fit(arrays["calibration_scores"])
    pipeline.decision_ = ThresholdDecision.from_json(
        (folder / "decision.json").read_text(encoding="utf-8")
    )
    pipeline.threshold_ = float(state["threshold"])
    if pipeline.threshold_ != pipeline.decision_.threshold:
        raise ValueError("pipeline.json and decision.json disagree on the threshold")
    pipeline.privileged_ = frozenset(state["privileged"])
    explainer = json.loads((folder / "explainer.json").read_text(encoding="utf-8"))
    pipeline.explainer_ = _explainer_from_state(explainer, arrays)
    kind = state["kind_rule"]
    rule = KindRule(**{k: tuple(v) for k, v in kind["params"].items()})
    for name, value in kind["thresholds"].items():
        setattr(rule, name, float(value))
    rule.fit_score_ = float("nan") if kind["fit_score"] is None else float(kind["fit_score"])
    pipeline.kind_rule_ = rule
    pipeline.kind_fitted_ = bool(state["kind_fitted"])
    category = folder / "category.skops"
    pipeline.category_model_ = (
        _skops_load(category.read_bytes(), folder) if category.exists() else None
    )
    depths = state["category_depths"]
    pipeline.category_depths_ = None if depths is None else pd.DataFrame(depths)
    pipeline.window_s_ = float(state["window_s"])
    pipeline.training_ = state["training"]
    pipeline.validation_ = state["validation"]
    pipeline.validation_figures_ = state["validation_figures"]
    pipeline.package_version_ = state["package_version"]
    return pipeline
