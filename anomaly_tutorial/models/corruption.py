"""Feature corruption for self-supervised training: SCARF-style marginal replacement and masking.

A *field* is one input column: a numeric feature or a categorical code column. For every row
a random subset of the *corruptible* fields is selected (:func:`sample_field_mask`); the
selected values are then

* replaced by the value of the same field in another row, drawn uniformly from the reference
  rows (:func:`corrupt_marginal`, SCARF by Bahri et al. 2022): the replacement follows the
  field's empirical marginal distribution, so a corrupted row stays within each field's range;
* or replaced by a fixed token (:func:`mask_fields`: numeric -> ``0``, which is the training
  median after the featurizer's robust scaling; categorical -> a chosen code).

**Class-consistent corruption.** OCSF fields depend on the event class: an Authentication
event has no HTTP method and an HTTP event has no logon type. Drawing a replacement from any
row would create impossible events (an Authentication event with ``http_request.http_method =
GET``) that the encoder learns to tell apart trivially. With ``group`` set (the training code
uses the ``class_uid`` column), the donor row is drawn among rows of the *same group*, so
corrupted events stay schema-consistent, and the group column itself is never corrupted.

All randomness comes from an explicit ``torch.Generator``, so corruption is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "CorruptionResult",
    "FieldSelection",
    "corrupt_marginal",
    "mask_fields",
    "sample_field_mask",
    "select_fields",
]


@dataclass(frozen=True)
class FieldSelection:
    """Which fields may be corrupted.

    Attributes
    ----------
    numeric
        Boolean tensor ``(n_numeric,)``: ``True`` where the numeric column may be corrupted.
    categorical
        Boolean tensor ``(n_categorical,)``.
    """

    numeric: torch.Tensor
    categorical: torch.Tensor

    @property
    def n_corruptible(self) -> int:
        """Number of fields that may be corrupted."""
        return int(self.numeric.sum()) + int(self.categorical.sum())


@dataclass(frozen=True)
class CorruptionResult:
    """Corrupted inputs and the masks of the selected entries (``True`` = corrupted)."""

    x_num: torch.Tensor
    x_cat: torch.Tensor
    mask_num: torch.Tensor
    mask_cat: torch.Tensor


def select_fields(
    numeric_names: Sequence[str],
    categorical_names: Sequence[str],
    exclude: Sequence[str] = (),
) -> FieldSelection:
    """Fields that may be corrupted: all except those named in ``exclude``.

    Parameters
    ----------
    numeric_names, categorical_names
        Column names, e.g. ``OCSFFeaturizer.numeric_feature_names_`` and
        ``categorical_feature_names_``.
    exclude
        Names (numeric or categorical) never to corrupt.

    Raises
    ------
    ValueError
        If a name in ``exclude`` is not a column, or nothing is left to corrupt.
    """
    known = set(numeric_names) | set(categorical_names)
    unknown = [name for name in exclude if name not in known]
    if unknown:
        raise ValueError(f"exclude: unknown field(s) {unknown}; fields are {sorted(known)}")
    skip = set(exclude)
    selection = FieldSelection(
        numeric=torch.tensor([n not in skip for n in numeric_names], dtype=torch.bool),
        categorical=torch.tensor([n not in skip for n in categorical_names], dtype=torch.bool),
    )
    if selection.n_corruptible == 0:
        raise ValueError("exclude: no field is left to corrupt")
    return selection


def sample_field_mask(
    n_rows: int,
    selection: FieldSelection,
    rate: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick ``round(rate * n_corruptible)`` fields per row, uniformly among corruptible ones.

    Every row gets exactly the same number of selected fields (at least 1 when ``rate > 0``),
    as in SCARF.

    Returns
    -------
    (mask_num, mask_cat)
        Boolean tensors ``(n_rows, n_numeric)`` and ``(n_rows, n_categorical)``.
    """
    if not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"corruption rate must be in [0, 1], got {rate!r}")
    allowed = torch.cat([selection.numeric, selection.categorical])
    n_fields = allowed.numel()
    n_allowed = int(allowed.sum())
    n_pick = min(n_allowed, max(1, round(float(rate) * n_allowed))) if rate > 0 else 0
    keys = torch.rand(n_rows, n_fields, generator=generator)
    keys[:, ~allowed] = 2.0  # never among the smallest
    mask = torch.zeros(n_rows, n_fields, dtype=torch.bool)
    if n_pick:
        picked = torch.argsort(keys, dim=1)[:, :n_pick]
        mask.scatter_(1, picked, True)
    p = selection.numeric.numel()
    return mask[:, :p], mask[:, p:]


def _donor_rows(
    n_rows: int,
    n_fields: int,
    groups: torch.Tensor | None,
    ref_groups: torch.Tensor | None,
    n_ref: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Index of a random reference row per entry, within the entry's group when given."""
    u = torch.rand(n_rows, n_fields, generator=generator, dtype=torch.float64)
    if groups is None or ref_groups is None:
        return torch.clamp((u * n_ref).long(), max=n_ref - 1)
    order = torch.argsort(ref_groups, stable=True)
    sorted_groups = ref_groups[order].contiguous()
    start = torch.searchsorted(sorted_groups, groups, right=False)
    stop = torch.searchsorted(sorted_groups, groups, right=True)
    size = stop - start
    # A row whose group has no reference row keeps its own values (donor = itself, flagged -1).
    offset = torch.minimum((u * size[:, None]).long(), (size - 1).clamp(min=0)[:, None])
    donor = order[(start[:, None] + offset).clamp(max=n_ref - 1)]
    return torch.where(size[:, None] > 0, donor, torch.full_like(donor, -1))


def corrupt_marginal(
    x_num: torch.Tensor,
    x_cat: torch.Tensor,
    mask_num: torch.Tensor,
    mask_cat: torch.Tensor,
    generator: torch.Generator,
    *,
    reference: tuple[torch.Tensor, torch.Tensor] | None = None,
    group_column: int | None = None,
) -> CorruptionResult:
    """Replace the masked entries with values drawn from each field's marginal distribution.

    Parameters
    ----------
    x_num, x_cat
        A batch: ``float`` ``(n, p)`` and ``int64`` ``(n, c)``.
    mask_num, mask_cat
        Entries to replace (from :func:`sample_field_mask`).
    generator
        Source of randomness.
    reference
        ``(ref_num, ref_cat)`` rows whose values are drawn; default the batch itself (the
        batch marginal, as in SCARF).
    group_column
        Index of a categorical column (e.g. ``class_uid``): donors are drawn among reference
        rows with the same code in that column, and the column itself is never replaced.
        Rows whose group is absent from the reference keep their values.

    Returns
    -------
    CorruptionResult
        New tensors (the inputs are not modified); the masks are the entries selected for
        replacement (a replacement may happen to equal the original value).
    """
    ref_num, ref_cat = (x_num, x_cat) if reference is None else reference
    n_ref = ref_num.shape[0]
    if n_ref == 0:
        raise ValueError("reference: no rows to draw replacement values from")
    groups = ref_groups = None
    if group_column is not None:
        mask_cat = mask_cat.clone()
        mask_cat[:, group_column] = False
        groups = x_cat[:, group_column].contiguous()
        ref_groups = ref_cat[:, group_column].contiguous()
    n, p = x_num.shape
    c = x_cat.shape[1]
    donor = _donor_rows(n, p + c, groups, ref_groups, n_ref, generator)
    has_donor = donor >= 0
    cols_num = torch.arange(p)[None, :].expand(n, p)
    cols_cat = torch.arange(c)[None, :].expand(n, c)
    donor = donor.clamp(min=0)
    mask_num = mask_num & has_donor[:, :p]
    mask_cat = mask_cat & has_donor[:, p:]
    new_num = torch.where(mask_num, ref_num[donor[:, :p], cols_num], x_num)
    new_cat = torch.where(mask_cat, ref_cat[donor[:, p:], cols_cat], x_cat)
    return CorruptionResult(new_num, new_cat, mask_num, mask_cat)


def mask_fields(
    x_num: torch.Tensor,
    x_cat: torch.Tensor,
    mask_num: torch.Tensor,
    mask_cat: torch.Tensor,
    *,
    numeric_fill: float = 0.0,
    categorical_fill: int = 0,
) -> CorruptionResult:
    """Replace the masked entries with fixed tokens (BERT-style masking).

    Parameters
    ----------
    x_num, x_cat, mask_num, mask_cat
        As for :func:`corrupt_marginal`.
    numeric_fill
        Value of masked numeric entries (``0`` = the training median after robust scaling).
    categorical_fill
        Code of masked categorical entries. The featurizer's code ``0`` (``<unknown>``, never
        seen in training) is free during training and serves as the mask token.
    """
    new_num = torch.where(mask_num, torch.full_like(x_num, numeric_fill), x_num)
    new_cat = torch.where(mask_cat, torch.full_like(x_cat, categorical_fill), x_cat)
    return CorruptionResult(new_num, new_cat, mask_num, mask_cat)
