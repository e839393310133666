"""Corrupted views of events, for the alignment of an encoder (Wang & Isola 2020).

:func:`corrupted_view` applies the same SCARF-style marginal corruption the contrastive
objective trains with (:func:`anomaly_tutorial.models.corrupt_marginal`): a fixed share of the
corruptible fields of each event takes the value of another event of the same OCSF class.
:func:`view_alignment` then measures how far each event's embedding moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .geometry import alignment, uniformity

__all__ = [
    "class_consistency",
    "corrupted_view",
    "corruption_fields",
    "split_rows",
    "view_alignment",
]


def split_rows(split: Any, rows: Any) -> Any:
    """The rows ``rows`` (indices or a boolean mask) of a ``FeatureSplit``.

    Take rows *after* featurizing the whole period: window features of an event depend on the
    events before it, so featurizing a sample alone would change them.
    """
    from anomaly_tutorial.features import FeatureSplit

    index = np.asarray(rows)
    n = np.asarray(split.numeric).shape[0]
    if index.dtype == bool:
        if index.shape != (n,):
            raise ValueError(f"rows: boolean mask of shape {index.shape} for {n} rows")
    elif not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"rows: expected integer indices or a boolean mask, got {index.dtype}")
    elif index.size and (index.min() < -n or index.max() >= n):
        raise ValueError(f"rows: indices must lie in 0..{n - 1}")
    return FeatureSplit(
        np.asarray(split.numeric)[index],
        np.asarray(split.categorical)[index],
        np.asarray(split.event_ids)[index],
    )


def corruption_fields(encoder: Any) -> tuple[Any, int | None]:
    """Corruptible fields and group column of ``encoder``, exactly as in its training.

    Parameters
    ----------
    encoder
        A :class:`~anomaly_tutorial.models.TrainedEncoder`.

    Returns
    -------
    (FieldSelection, int or None)
        The :class:`~anomaly_tutorial.models.FieldSelection` of fields its objective corrupts
        (after ``exclude_fields``, the group field and ``corrupt``) and the index of the
        categorical column within which replacement values are drawn (``None``: no grouping).
    """
    from anomaly_tutorial.models.training import build_objective

    objective = build_objective(
        encoder.config,
        list(encoder.numeric_feature_names),
        list(encoder.categorical_feature_names),
        list(encoder.cardinalities),
    )
    return objective.selection, objective.group_column


def corrupted_view(
    encoder: Any,
    data: Any,
    *,
    corruption_rate: float | None = None,
    seed: int = 0,
    history: Any = None,
    group_field: str | None = None,
) -> Any:
    """A corrupted copy of ``data`` drawn as in the encoder's contrastive training.

    Parameters
    ----------
    encoder
        A :class:`~anomaly_tutorial.models.TrainedEncoder` (its schema and corruption settings
        are used).
    data
        ``FeatureSplit`` or flat OCSF frame (needs the encoder's featurizer).
    corruption_rate
        Share of corruptible fields replaced per event; default the encoder's setting. The
        corruptible fields are those of the encoder's training (:func:`corruption_fields`).
    seed
        Seed of the corruption draw.
    history
        Window context when ``data`` is a frame.
    group_field
        ``None``: the encoder's setting (``class_uid``); ``""``: draw replacement values from
        all events regardless of their class (to show what goes wrong); else a categorical
        field name.

    Returns
    -------
    FeatureSplit
        Same rows and event ids; replacement values are drawn from ``data`` itself, among
        events of the same group (``class_uid``).
    """
    from anomaly_tutorial.features import FeatureSplit
    from anomaly_tutorial.models import corrupt_marginal, sample_field_mask

    split = encoder.features(data, history)
    rate = encoder.config.corruption_rate if corruption_rate is None else float(corruption_rate)
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"corruption_rate must be in (0, 1], got {corruption_rate!r}")
    selection, group_column = corruption_fields(encoder)
    if group_field is not None:
        names = list(encoder.categorical_feature_names)
        if group_field and group_field not in names:
            raise ValueError(f"group_field {group_field!r} is not a categorical field")
        group_column = names.index(group_field) if group_field else None
    generator = torch.Generator().manual_seed(int(seed))
    x_num = torch.from_numpy(np.ascontiguousarray(split.numeric, dtype=np.float32))
    x_cat = torch.from_numpy(np.ascontiguousarray(split.categorical, dtype=np.int64))
    mask_num, mask_cat = sample_field_mask(x_num.shape[0], selection, rate, generator)
    result = corrupt_marginal(
        x_num, x_cat, mask_num, mask_cat, generator, group_column=group_column
    )
    return FeatureSplit(
        numeric=result.x_num.numpy(), categorical=result.x_cat.numpy(), event_ids=split.event_ids
    )


def class_consistency(reference: Any, data: Any, group_column: int = 0) -> np.ndarray:
    """Which rows only hold categorical codes seen together with their group in ``reference``.

    A corrupted OCSF event is *inconsistent* when one of its fields takes a value that never
    occurs in events of its class in the training data, e.g. an HTTP Activity event with a
    logon type. This function marks, per row of ``data``, whether every categorical code
    (other than the group column itself) was seen in ``reference`` in a row of the same group.

    Parameters
    ----------
    reference
        ``FeatureSplit`` (or anything with ``.categorical``) whose rows define what is
        consistent, e.g. the training features.
    data
        ``FeatureSplit`` to check, e.g. a corrupted view.
    group_column
        Index of the group column (``class_uid`` is column 0 of the featurizer's codes).

    Returns
    -------
    numpy.ndarray
        Boolean ``(n,)``: ``True`` where the row is consistent.
    """
    ref = np.asarray(reference.categorical)
    codes = np.asarray(data.categorical)
    if ref.ndim != 2 or codes.ndim != 2 or ref.shape[1] != codes.shape[1]:
        raise ValueError(
            f"reference and data must have categorical codes of the same width, got "
            f"{ref.shape} and {codes.shape}"
        )
    if not 0 <= group_column < codes.shape[1]:
        raise ValueError(f"group_column {group_column} is not a column of {codes.shape[1]}")
    width = int(max(ref.max(initial=0), codes.max(initial=0))) + 1
    ok = np.ones(codes.shape[0], dtype=bool)
    for j in range(codes.shape[1]):
        if j == group_column:
            continue
        seen = np.unique(ref[:, group_column].astype(np.int64) * width + ref[:, j])
        pairs = codes[:, group_column].astype(np.int64) * width + codes[:, j]
        ok &= np.isin(pairs, seen)
    return ok


def view_alignment(
    encoder: Any,
    data: Any,
    *,
    corruption_rate: float | None = None,
    seed: int = 0,
    history: Any = None,
    sample_size: int | None = 2000,
) -> dict[str, float]:
    """Alignment between events and their corrupted views, and uniformity of the events.

    Both on L2-normalised embeddings; see :func:`~anomaly_tutorial.embedding_quality.alignment`
    and :func:`~anomaly_tutorial.embedding_quality.uniformity`.

    Parameters
    ----------
    encoder, data, corruption_rate, seed, history
        See :func:`corrupted_view`.
    sample_size
        Rows used for the uniformity (drawn with ``seed``).

    Returns
    -------
    dict
        ``alignment`` (lower = views stay together), ``uniformity`` (lower = more spread),
        ``corruption_rate``.
    """
    split = encoder.features(data, history)
    view = corrupted_view(encoder, split, corruption_rate=corruption_rate, seed=seed)
    z = encoder.embed(split, normalize=True)
    z_view = encoder.embed(view, normalize=True)
    rate = encoder.config.corruption_rate if corruption_rate is None else float(corruption_rate)
    return {
        "alignment": alignment(z, z_view),
        "uniformity": uniformity(z, sample_size=sample_size, random_state=seed),
        "corruption_rate": rate,
    }
