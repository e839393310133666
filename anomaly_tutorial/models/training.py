"""Train a :class:`~anomaly_tutorial.models.TabularResNet` encoder without labels.

:func:`train_encoder` runs either self-supervised objective
(:mod:`anomaly_tutorial.models.objectives`) through the package's one training loop,
:func:`anomaly_tutorial.models.loop.fit_module` (AdamW, early stopping on the validation loss,
best epoch restored, a per-epoch history), and returns a :class:`TrainedEncoder` that embeds new
events in batches.

Determinism: weights are initialised inside :func:`~anomaly_tutorial.models.loop.
deterministic_training` and trained by ``fit_module``, both seeded from ``seed`` inside
:func:`torch.random.fork_rng` with deterministic algorithms on, so the caller's RNG state and
flags are left untouched; corruption draws from a ``torch.Generator`` seeded from ``seed``.
On CPU two calls with the same data and arguments give bit-for-bit identical weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .corruption import select_fields
from .loop import deterministic_training, fit_module
from .objectives import ContrastiveObjective, MaskedReconstructionObjective
from .tabular_resnet import TabularResNet

if TYPE_CHECKING:
    from anomaly_tutorial.features import FeatureSplit, OCSFFeaturizer

__all__ = ["OBJECTIVES", "EncoderConfig", "TrainedEncoder", "build_objective", "train_encoder"]

OBJECTIVES: tuple[str, ...] = ("contrastive", "masked")
#: Values of ``EncoderConfig.corrupt``.
CORRUPT_KINDS: tuple[str, ...] = ("all", "categorical", "numeric")
#: Field used by default to keep corruption class-consistent, when the schema has it.
GROUP_FIELD = "class_uid"


@dataclass(frozen=True)
class EncoderConfig:
    """Every setting of an encoder and its training (saved with the model as JSON).

    Attributes
    ----------
    objective
        ``"contrastive"`` (SCARF + InfoNCE) or ``"masked"`` (masked-feature reconstruction).
    width, depth, d_out, d_embed_cat, dropout, norm, output_norm
        :class:`~anomaly_tutorial.models.TabularResNet` architecture. ``output_norm`` is off
        by default here (unlike the model's own default) so that the embedding of an event
        with extreme values stays far from the normal ones.
    temperature
        InfoNCE temperature (contrastive only).
    corruption_rate
        Fraction of corruptible fields corrupted (contrastive) or masked (masked) per row.
    mask_strategy
        ``"token"`` or ``"marginal"`` (masked objective only), see
        :class:`~anomaly_tutorial.models.objectives.MaskedReconstructionObjective`.
    corrupt
        Kinds of fields that may be corrupted: ``"all"``, ``"categorical"`` (numeric
        features are never corrupted) or ``"numeric"``. The contrastive embedding becomes
        invariant to what is corrupted, so this decides what the embedding ignores.
    exclude_fields
        Further fields never corrupted. ``None``: the group field when there is one, else
        none.
    group_field
        Categorical field within which corruption draws replacement values (keeps corrupted
        events consistent with their OCSF class). ``None``: ``class_uid`` when the schema
        has it, else no grouping; ``""`` switches grouping off.
    epochs, batch_size, lr, weight_decay, patience
        Optimisation: AdamW, at most ``epochs`` epochs, stop after ``patience`` epochs without
        a lower validation loss (the best weights are restored).
    val_fraction
        Share of the training rows held out for validation when no validation split is given.
    seed
        Seed of initialisation, shuffling, corruption and the validation carve-out.
    normalize_embeddings
        :meth:`TrainedEncoder.embed` returns L2-normalised embeddings (unit length), the
        geometry the contrastive loss shapes (cosine similarity). Off by default: on the book's
        data, k-NN anomaly detection works better on the raw embeddings, whose length
        still carries how extreme an event is.
    """

    objective: str = "contrastive"
    width: int = 128
    depth: int = 3
    d_out: int = 32
    d_embed_cat: int = 8
    dropout: float = 0.1
    norm: str = "layernorm"
    output_norm: bool = False
    temperature: float = 0.2
    corruption_rate: float = 0.4
    mask_strategy: str = "token"
    corrupt: str = "all"
    exclude_fields: tuple[str, ...] | None = None
    group_field: str | None = None
    epochs: int = 20
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-5
    patience: int = 3
    val_fraction: float = 0.1
    seed: int = 0
    normalize_embeddings: bool = False

    def validate(self) -> EncoderConfig:
        """Raise ``ValueError`` naming the first invalid setting; return ``self``."""
        if self.corrupt not in CORRUPT_KINDS:
            raise ValueError(f"corrupt must be one of {CORRUPT_KINDS}, got {self.corrupt!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        for name in ("width", "d_out", "d_embed_cat", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("depth", "patience", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {self.batch_size}")
        checks = (
            ("temperature", self.temperature > 0, "> 0"),
            ("corruption_rate", 0 < self.corruption_rate <= 1, "in (0, 1]"),
            ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
            ("lr", self.lr > 0, "> 0"),
            ("weight_decay", self.weight_decay >= 0, ">= 0"),
            ("val_fraction", 0 < self.val_fraction < 1, "in (0, 1)"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"{name} must be {rule}, got {getattr(self, name)!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        if out["exclude_fields"] is not None:
            out["exclude_fields"] = list(out["exclude_fields"])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"EncoderConfig: unknown setting(s) {unknown}")
        values = dict(data)
        if values.get("exclude_fields") is not None:
            values["exclude_fields"] = tuple(values["exclude_fields"])
        return cls(**values)


@dataclass
class TrainedEncoder:
    """A trained encoder with everything needed to embed new events.

    Attributes
    ----------
    model
        The :class:`~anomaly_tutorial.models.TabularResNet` (in eval mode after training).
    config
        The :class:`EncoderConfig` it was trained with.
    history
        One dict per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``seconds``.
    numeric_feature_names, categorical_feature_names, cardinalities
        Input schema the model expects.
    featurizer
        The fitted :class:`~anomaly_tutorial.features.OCSFFeaturizer` whose
        ``transform_split`` produced the training features, or ``None``.
    objective
        The objective module with its heads (projection or reconstruction heads).
    best_epoch
        Epoch (1-based) whose weights were kept.
    """

    model: TabularResNet
    config: EncoderConfig
    history: list[dict[str, float]]
    numeric_feature_names: list[str]
    categorical_feature_names: list[str]
    cardinalities: list[int]
    featurizer: OCSFFeaturizer | None = None
    objective: nn.Module | None = None
    best_epoch: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def d_out(self) -> int:
        """Width of the embeddings."""
        return self.model.d_out

    def features(self, data: Any, history: Any = None) -> FeatureSplit:
        """Turn ``data`` into a checked :class:`~anomaly_tutorial.features.FeatureSplit`.

        Parameters
        ----------
        data
            A ``FeatureSplit`` or, when a featurizer is attached, a flat OCSF DataFrame (or
            anything ``OCSFFeaturizer.transform_split`` accepts).
        history
            Earlier events passed to ``transform_split`` as window context (e.g. the training
            period when embedding the test period). Only used for frames.
        """
        from anomaly_tutorial.features import FeatureSplit

        if isinstance(data, FeatureSplit):
            split = data
        elif self.featurizer is None:
            raise TypeError(
                f"this encoder has no featurizer attached, so it embeds only FeatureSplit "
                f"objects, got {type(data).__name__}"
            )
        else:
            split = self.featurizer.transform_split(data, history=history)
        _check_split(split, len(self.numeric_feature_names), self.cardinalities, "data")
        return split

    def embed(
        self,
        data: Any,
        batch_size: int = 4096,
        *,
        history: Any = None,
        normalize: bool | None = None,
    ) -> np.ndarray:
        """Embeddings of ``data``, computed in eval mode in batches.

        Parameters
        ----------
        data
            A ``FeatureSplit`` or a flat OCSF DataFrame (needs an attached featurizer).
        batch_size
            Rows per forward pass.
        history
            Window context for frames, see :meth:`features`.
        normalize
            L2-normalise the rows; default ``config.normalize_embeddings``.

        Returns
        -------
        numpy.ndarray
            ``float32 (n, d_out)``, rows in the order of ``data``.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        split = self.features(data, history)
        x_num = torch.from_numpy(np.ascontiguousarray(split.numeric, dtype=np.float32))
        x_cat = torch.from_numpy(np.ascontiguousarray(split.categorical, dtype=np.int64))
        norm = self.config.normalize_embeddings if normalize is None else bool(normalize)
        return embed_tensors(self.model, x_num, x_cat, batch_size, norm)

    def embed_frame(self, data: Any, batch_size: int = 4096, **kwargs: Any) -> pd.DataFrame:
        """Like :meth:`embed`, as a DataFrame indexed by ``event_id`` (columns ``z0, z1, ...``)."""
        split = self.features(data, kwargs.pop("history", None))
        z = self.embed(split, batch_size, **kwargs)
        index = pd.Index(split.event_ids, name="event_id")
        return pd.DataFrame(z, index=index, columns=[f"z{i}" for i in range(z.shape[1])])


def embed_tensors(
    model: nn.Module,
    x_num: torch.Tensor,
    x_cat: torch.Tensor,
    batch_size: int = 4096,
    normalize: bool = False,
) -> np.ndarray:
    """Run ``model`` in eval mode without gradients over batches; ``float32`` numpy output."""
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with torch.no_grad():
            for start in range(0, x_num.shape[0], batch_size):
                stop = start + batch_size
                z = model(x_num[start:stop], x_cat[start:stop])
                if normalize:
                    z = torch.nn.functional.normalize(z, dim=1)
                outputs.append(z)
    finally:
        model.train(was_training)
    if not outputs:
        return np.zeros((0, getattr(model, "d_out", 0)), dtype=np.float32)
    return torch.cat(outputs).numpy().astype(np.float32, copy=False)


def _check_split(split: Any, n_numeric: int, cardinalities: Sequence[int], name: str) -> None:
    numeric, categorical = np.asarray(split.numeric), np.asarray(split.categorical)
    if numeric.ndim != 2 or numeric.shape[1] != n_numeric:
        raise ValueError(
            f"{name}: numeric features have shape {numeric.shape}, the encoder expects "
            f"(n, {n_numeric})"
        )
    if categorical.ndim != 2 or categorical.shape[1] != len(cardinalities):
        raise ValueError(
            f"{name}: categorical codes have shape {categorical.shape}, the encoder expects "
            f"(n, {len(cardinalities)})"
        )
    if numeric.shape[0] != categorical.shape[0]:
        raise ValueError(
            f"{name}: {numeric.shape[0]} numeric rows but {categorical.shape[0]} categorical rows"
        )
    if not np.issubdtype(categorical.dtype, np.integer):
        raise ValueError(f"{name}: categorical codes must be integers, got {categorical.dtype}")
    bad = ~np.isfinite(numeric)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise ValueError(
            f"{name}: {int(bad.sum())} numeric values are NaN or infinite "
            f"(first at row {rows[0]}, column {cols[0]})"
        )
    if categorical.size:
        high = np.asarray(cardinalities)
        out = (categorical < 0) | (categorical >= high)
        if out.any():
            rows, cols = np.nonzero(out)
            raise ValueError(
                f"{name}: categorical column {cols[0]} has code {categorical[rows[0], cols[0]]} "
                f"(row {rows[0]}) outside 0..{high[cols[0]] - 1}"
            )


def _as_split(data: Any, featurizer: OCSFFeaturizer | None, name: str, history: Any = None) -> Any:
    from anomaly_tutorial.features import FeatureSplit

    if isinstance(data, FeatureSplit):
        return data
    if isinstance(data, pd.DataFrame):
        if featurizer is None:
            raise TypeError(f"{name}: a DataFrame needs a fitted featurizer")
        return featurizer.transform_split(data, history=history)
    raise TypeError(f"{name}: expected a FeatureSplit or a DataFrame, got {type(data).__name__}")


def _resolve_fields(
    config: EncoderConfig, numeric_names: list[str], categorical_names: list[str]
) -> tuple[int | None, tuple[str, ...]]:
    group = config.group_field
    if group is None:
        group = GROUP_FIELD if GROUP_FIELD in categorical_names else ""
    group_column = None
    if group:
        if group not in categorical_names:
            raise ValueError(
                f"group_field {group!r} is not a categorical field; fields are {categorical_names}"
            )
        group_column = categorical_names.index(group)
    exclude = config.exclude_fields
    if exclude is None:
        exclude = (group,) if group else ()
    if config.corrupt == "categorical":
        exclude = (*exclude, *numeric_names)
    elif config.corrupt == "numeric":
        exclude = (*exclude, *categorical_names)
    return group_column, tuple(dict.fromkeys(exclude))


def build_objective(
    config: EncoderConfig,
    numeric_names: list[str],
    categorical_names: list[str],
    cardinalities: list[int],
) -> ContrastiveObjective | MaskedReconstructionObjective:
    """The objective module described by ``config`` for this input schema."""
    group_column, exclude = _resolve_fields(config, numeric_names, categorical_names)
    selection = select_fields(numeric_names, categorical_names, exclude)
    if config.objective == "contrastive":
        return ContrastiveObjective(
            config.d_out,
            selection,
            corruption_rate=config.corruption_rate,
            temperature=config.temperature,
            group_column=group_column,
        )
    return MaskedReconstructionObjective(
        config.d_out,
        len(numeric_names),
        cardinalities,
        selection,
        corruption_rate=config.corruption_rate,
        group_column=group_column,
        mask_strategy=config.mask_strategy,
    )


def build_model(
    config: EncoderConfig, n_numeric: int, cardinalities: Sequence[int]
) -> TabularResNet:
    """The :class:`TabularResNet` described by ``config`` for this input schema."""
    return TabularResNet(
        n_numeric,
        cardinalities,
        d_embed_cat=config.d_embed_cat,
        width=config.width,
        depth=config.depth,
        dropout=config.dropout,
        d_out=config.d_out,
        norm=config.norm,
        output_norm=config.output_norm,
    )


def _batches(n: int, batch_size: int, order: torch.Tensor) -> Iterator[torch.Tensor]:
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        if idx.numel() >= 2:  # InfoNCE needs at least one negative
            yield idx


def _mean_loss(
    objective: nn.Module,
    model: nn.Module,
    x_num: torch.Tensor,
    x_cat: torch.Tensor,
    reference: tuple[torch.Tensor, torch.Tensor],
    batch_size: int,
    seed: int,
) -> float:
    """Validation loss with a fixed corruption draw, so epochs are comparable."""
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    objective.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for idx in _batches(x_num.shape[0], batch_size, torch.arange(x_num.shape[0])):
            loss = objective(model, x_num[idx], x_cat[idx], generator, reference)
            total += float(loss) * idx.numel()
            count += idx.numel()
    return total / max(count, 1)


def train_encoder(
    split_train: Any,
    split_val: Any = None,
    *,
    objective: str = "contrastive",
    width: int = 128,
    depth: int = 3,
    d_out: int = 32,
    d_embed_cat: int = 8,
    dropout: float = 0.1,
    temperature: float = 0.2,
    corruption_rate: float = 0.4,
    mask_strategy: str = "token",
    corrupt: str = "all",
    exclude_fields: Sequence[str] | None = None,
    group_field: str | None = None,
    epochs: int = 20,
    batch_size: int = 512,
    lr: float = 1e-3,
    weight_decay: float = 1e-5,
    patience: int = 3,
    val_fraction: float = 0.1,
    seed: int = 0,
    normalize_embeddings: bool = False,
    norm: str = "layernorm",
    output_norm: bool = False,
    featurizer: OCSFFeaturizer | None = None,
    feature_names: tuple[Sequence[str], Sequence[str]] | None = None,
    progress: bool = True,
) -> TrainedEncoder:
    """Train a TabularResNet encoder with a self-supervised objective.

    Parameters
    ----------
    split_train
        Training features: a :class:`~anomaly_tutorial.features.FeatureSplit` (from
        ``OCSFFeaturizer.transform_split``) or a flat OCSF DataFrame; for a DataFrame,
        ``featurizer`` is used when given and fitted, else an ``OCSFFeaturizer()`` is fitted on
        it.
    split_val
        Validation features (same kinds). A DataFrame is featurised with ``split_train`` as
        window history when that is a DataFrame too (the validation period follows the
        training period). ``None``: a random ``val_fraction`` of the training rows, drawn
        with ``seed``, is held out.
    objective
        ``"contrastive"`` or ``"masked"``.
    width, depth, d_out, d_embed_cat, dropout, norm, output_norm
        Architecture, see :class:`~anomaly_tutorial.models.TabularResNet`.
    temperature, corruption_rate, mask_strategy, corrupt, exclude_fields, group_field
        Objective settings, see :class:`EncoderConfig`. By default ``class_uid`` is never
        corrupted and replacement values are drawn among events of the same class, so a
        corrupted event never mixes fields of different OCSF classes.
    epochs, batch_size, lr, weight_decay, patience, val_fraction, seed
        Optimisation settings, see :class:`EncoderConfig`.
    normalize_embeddings
        Default of :meth:`TrainedEncoder.embed`'s ``normalize``.
    featurizer
        Fitted featurizer that produced the splits; attached to the result so that
        :meth:`TrainedEncoder.embed` accepts DataFrames, and its feature names are used for
        ``exclude_fields`` / ``group_field``.
    feature_names
        ``(numeric_names, categorical_names)`` when no featurizer is given; default
        ``num0, num1, ...`` and ``cat0, cat1, ...``.
    progress
        Show a tqdm progress bar over epochs (on stderr).

    Returns
    -------
    TrainedEncoder
        With the weights of the epoch with the lowest validation loss.
    """
    config = EncoderConfig(
        objective=objective,
        width=width,
        depth=depth,
        d_out=d_out,
        d_embed_cat=d_embed_cat,
        dropout=dropout,
        norm=norm,
        output_norm=output_norm,
        temperature=temperature,
        corruption_rate=corruption_rate,
        mask_strategy=mask_strategy,
        corrupt=corrupt,
        exclude_fields=None if exclude_fields is None else tuple(exclude_fields),
        group_field=group_field,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        patience=patience,
        val_fraction=val_fraction,
        seed=seed,
        normalize_embeddings=normalize_embeddings,
    ).validate()
    if isinstance(split_train, pd.DataFrame) and (
        featurizer is None or not hasattr(featurizer, "scaler_")
    ):
        from anomaly_tutorial.features import OCSFFeaturizer

        featurizer = (featurizer or OCSFFeaturizer()).fit(split_train)
    train = _as_split(split_train, featurizer, "split_train")
    if featurizer is not None:
        numeric_names = list(featurizer.numeric_feature_names_)
        categorical_names = list(featurizer.categorical_feature_names_)
        cardinalities = [int(c) for c in featurizer.cardinalities_]
    else:
        p, c = np.asarray(train.numeric).shape[1], np.asarray(train.categorical).shape[1]
        numeric_names, categorical_names = (
            (list(feature_names[0]), list(feature_names[1]))
            if feature_names is not None
            else ([f"num{i}" for i in range(p)], [f"cat{j}" for j in range(c)])
        )
        if len(numeric_names) != p or len(categorical_names) != c:
            raise ValueError(
                f"feature_names: {len(numeric_names)} numeric and {len(categorical_names)} "
                f"categorical names for {p} numeric and {c} categorical columns"
            )
        codes = np.asarray(train.categorical)
        cardinalities = [int(v) + 1 for v in codes.max(axis=0)] if codes.size else [1] * c
    _check_split(train, len(numeric_names), cardinalities, "split_train")
    # A validation frame follows the training period: its window features see the training
    # events as history, so its first windows do not start empty.
    history = split_train if isinstance(split_train, pd.DataFrame) else None
    val = None if split_val is None else _as_split(split_val, featurizer, "split_val", history)
    if val is not None:
        _check_split(val, len(numeric_names), cardinalities, "split_val")
    return _train(
        config, train, val, numeric_names, categorical_names, cardinalities, featurizer, progress
    )


def _train(
    config: EncoderConfig,
    train: Any,
    val: Any,
    numeric_names: list[str],
    categorical_names: list[str],
    cardinalities: list[int],
    featurizer: OCSFFeaturizer | None,
    progress: bool,
) -> TrainedEncoder:
    x_num = torch.from_numpy(np.ascontiguousarray(train.numeric, dtype=np.float32))
    x_cat = torch.from_numpy(np.ascontiguousarray(train.categorical, dtype=np.int64))
    seed = config.seed
    if val is None:
        n = x_num.shape[0]
        n_val = max(2, round(config.val_fraction * n))
        if n - n_val < 2:
            raise ValueError(f"split_train: {n} rows are too few to carve a validation split")
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 7919))
        val_idx, train_idx = perm[:n_val].sort().values, perm[n_val:].sort().values
        v_num, v_cat = x_num[val_idx], x_cat[val_idx]
        x_num, x_cat = x_num[train_idx], x_cat[train_idx]
    else:
        v_num = torch.from_numpy(np.ascontiguousarray(val.numeric, dtype=np.float32))
        v_cat = torch.from_numpy(np.ascontiguousarray(val.categorical, dtype=np.int64))
        if v_num.shape[0] < 2:
            raise ValueError(f"split_val: needs at least 2 rows, got {v_num.shape[0]}")
    if x_num.shape[0] < 2:
        raise ValueError(f"split_train: needs at least 2 rows, got {x_num.shape[0]}")
    reference = (x_num, x_cat)
    n_train = x_num.shape[0]
    corrupt = torch.Generator().manual_seed(seed + 2)

    def batches(shuffle: torch.Generator) -> Iterator[torch.Tensor]:
        return _batches(n_train, config.batch_size, torch.randperm(n_train, generator=shuffle))

    def batch_loss(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
        return objective(model, x_num[idx], x_cat[idx], corrupt, reference)

    def validation_loss(model: nn.Module) -> float:
        return _mean_loss(objective, model, v_num, v_cat, reference, config.batch_size, seed + 3)

    with deterministic_training(seed):
        model = build_model(config, len(numeric_names), cardinalities)
        objective = build_objective(config, numeric_names, categorical_names, cardinalities)
    record = fit_module(
        model,
        batches,
        batch_loss,
        max_epochs=config.epochs,
        seed=seed,
        lr=config.lr,
        weight_decay=config.weight_decay,
        validation_loss=validation_loss,
        patience=max(config.patience, 1),
        extra_modules=[objective],
        progress=progress,
        description=f"{config.objective} encoder",
    )
    return TrainedEncoder(
        model=model,
        config=config,
        history=record.epochs,
        numeric_feature_names=numeric_names,
        categorical_feature_names=categorical_names,
        cardinalities=list(cardinalities),
        featurizer=featurizer,
        objective=objective,
        best_epoch=int(record.best_epoch),
    )
