"""Self-supervised objectives for :class:`~anomaly_tutorial.models.TabularResNet`.

Two objectives, both trained end to end by :func:`anomaly_tutorial.models.train_encoder`:

:class:`ContrastiveObjective` (SCARF, Bahri et al. 2022)
    Each row (the anchor) is paired with a corrupted copy of itself (the positive view,
    :func:`~anomaly_tutorial.models.corruption.corrupt_marginal`). Both go through the encoder
    and a projection head; the InfoNCE loss (Oord et al. 2018, in the symmetric in-batch form of
    SimCLR, Chen et al. 2020) asks each anchor to be closer to its own positive than to the
    positives of the other rows in the batch, measured by cosine similarity divided by a
    temperature. The projection head is thrown away after training; the encoder output is the
    embedding.
:class:`MaskedReconstructionObjective` (BERT-style masking, Devlin et al. 2019; VIME,
    Yoon et al. 2020)
    A fraction of the fields of each row is masked (replaced by a token or, VIME-style, by
    marginal draws); the encoder embeds the corrupted row and small heads predict the original
    values of the masked fields: cross-entropy for categorical fields, mean squared error for
    numeric ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .corruption import (
    CorruptionResult,
    FieldSelection,
    corrupt_marginal,
    mask_fields,
    sample_field_mask,
)

__all__ = [
    "ContrastiveObjective",
    "MaskedReconstructionObjective",
    "ProjectionHead",
    "info_nce",
]


def info_nce(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Symmetric InfoNCE loss between two views; row ``i`` of ``z_a`` and ``z_b`` is a pair.

    The similarity of two rows is their cosine similarity divided by ``temperature``; for each
    row the other rows of the batch are the negatives. The loss is the mean of the
    cross-entropies in both directions (a → b and b → a).

    Parameters
    ----------
    z_a, z_b
        ``(n, d)`` projections of the two views.
    temperature
        Softmax temperature (> 0); smaller values weigh hard negatives more.

    Returns
    -------
    torch.Tensor
        Scalar loss; ``log(n)`` for uninformative projections, near 0 when each pair is far
        more similar than any other combination.
    """
    if float(temperature) <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    if z_a.shape != z_b.shape or z_a.ndim != 2:
        raise ValueError(
            f"views must have the same 2-D shape, got {tuple(z_a.shape)} and {tuple(z_b.shape)}"
        )
    a = F.normalize(z_a, dim=1)
    b = F.normalize(z_b, dim=1)
    logits = a @ b.T / float(temperature)
    target = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


class ProjectionHead(nn.Module):
    """Two-layer MLP ``Linear → ReLU → Linear`` used only during contrastive training."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_out))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Project embeddings ``(n, d_in)`` to ``(n, d_out)``."""
        return self.net(z)


class _Objective(nn.Module):
    """Shared corruption settings of both objectives."""

    def __init__(
        self,
        selection: FieldSelection,
        corruption_rate: float,
        group_column: int | None,
    ) -> None:
        super().__init__()
        if not 0.0 < float(corruption_rate) <= 1.0:
            raise ValueError(f"corruption_rate must be in (0, 1], got {corruption_rate!r}")
        self.selection = selection
        self.corruption_rate = float(corruption_rate)
        self.group_column = group_column

    def _masks(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        mask_num, mask_cat = sample_field_mask(n, self.selection, self.corruption_rate, generator)
        if self.group_column is not None:
            mask_cat[:, self.group_column] = False
        return mask_num, mask_cat

    def _marginal(
        self,
        x_num: torch.Tensor,
        x_cat: torch.Tensor,
        generator: torch.Generator,
        reference: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> CorruptionResult:
        mask_num, mask_cat = self._masks(x_num.shape[0], generator)
        return corrupt_marginal(
            x_num,
            x_cat,
            mask_num,
            mask_cat,
            generator,
            reference=reference,
            group_column=self.group_column,
        )


class ContrastiveObjective(_Objective):
    """SCARF contrastive objective: InfoNCE between a row and its marginal-corrupted copy.

    Parameters
    ----------
    d_embedding
        Width of the encoder output.
    selection
        Corruptible fields (:func:`~anomaly_tutorial.models.corruption.select_fields`).
    corruption_rate
        Fraction of the corruptible fields replaced in the positive view.
    temperature
        InfoNCE temperature.
    group_column
        Categorical column within which replacement values are drawn (``class_uid``);
        ``None`` draws from all rows.
    d_projection
        Width of the projection head output (default ``d_embedding``).
    """

    def __init__(
        self,
        d_embedding: int,
        selection: FieldSelection,
        corruption_rate: float = 0.4,
        temperature: float = 0.2,
        group_column: int | None = None,
        d_projection: int | None = None,
    ) -> None:
        super().__init__(selection, corruption_rate, group_column)
        if float(temperature) <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.temperature = float(temperature)
        d_proj = int(d_projection or d_embedding)
        self.projection = ProjectionHead(d_embedding, max(d_embedding, d_proj), d_proj)

    def forward(
        self,
        encoder: nn.Module,
        x_num: torch.Tensor,
        x_cat: torch.Tensor,
        generator: torch.Generator,
        reference: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Loss of one batch.

        Parameters
        ----------
        encoder
            The model being trained (``encoder(x_num, x_cat) -> (n, d_embedding)``).
        x_num, x_cat
            The batch.
        generator
            Source of the corruption randomness.
        reference
            Rows to draw replacement values from; default the batch.
        """
        corrupted = self._marginal(x_num, x_cat, generator, reference)
        anchor = self.projection(encoder(x_num, x_cat))
        positive = self.projection(encoder(corrupted.x_num, corrupted.x_cat))
        return info_nce(anchor, positive, self.temperature)


class MaskedReconstructionObjective(_Objective):
    """Masked-feature reconstruction: predict the original values of masked fields.

    Parameters
    ----------
    d_embedding
        Width of the encoder output.
    n_numeric, cardinalities
        Input schema (as for :class:`~anomaly_tutorial.models.TabularResNet`).
    selection, corruption_rate, group_column
        As for :class:`ContrastiveObjective`.
    mask_strategy
        ``"token"``: masked numeric values become ``0`` (the training median) and masked
        categorical codes become ``0`` (the ``<unknown>`` code, unused in training data);
        ``"marginal"``: masked values are replaced by marginal draws (VIME), so the encoder
        must also find out which fields were changed.
    categorical_weight
        Weight of the categorical cross-entropy relative to the numeric squared error.
    d_hidden
        Width of the hidden layer of the reconstruction heads (default ``2 * d_embedding``).
    """

    def __init__(
        self,
        d_embedding: int,
        n_numeric: int,
        cardinalities: Sequence[int],
        selection: FieldSelection,
        corruption_rate: float = 0.3,
        group_column: int | None = None,
        mask_strategy: str = "token",
        categorical_weight: float = 1.0,
        d_hidden: int | None = None,
    ) -> None:
        super().__init__(selection, corruption_rate, group_column)
        if mask_strategy not in ("token", "marginal"):
            raise ValueError(f"mask_strategy must be 'token' or 'marginal', got {mask_strategy!r}")
        self.mask_strategy = mask_strategy
        self.categorical_weight = float(categorical_weight)
        hidden = int(d_hidden or 2 * d_embedding)
        self.trunk = nn.Sequential(nn.Linear(d_embedding, hidden), nn.ReLU())
        self.numeric_head = nn.Linear(hidden, n_numeric) if n_numeric else None
        self.categorical_heads = nn.ModuleList(nn.Linear(hidden, int(c)) for c in cardinalities)

    def reconstruction_loss(
        self,
        embedding: torch.Tensor,
        x_num: torch.Tensor,
        x_cat: torch.Tensor,
        mask_num: torch.Tensor,
        mask_cat: torch.Tensor,
    ) -> torch.Tensor:
        """Mean squared error over masked numeric entries plus weighted mean cross-entropy
        over masked categorical entries (each term 0 when nothing of its kind is masked)."""
        h = self.trunk(embedding)
        loss = embedding.new_zeros(())
        if self.numeric_head is not None and bool(mask_num.any()):
            pred = self.numeric_head(h)
            loss = loss + F.mse_loss(pred[mask_num], x_num[mask_num])
        if bool(mask_cat.any()):
            terms = []
            for j, head in enumerate(self.categorical_heads):
                rows = mask_cat[:, j]
                if bool(rows.any()):
                    terms.append(F.cross_entropy(head(h[rows]), x_cat[rows, j], reduction="sum"))
            loss = loss + self.categorical_weight * torch.stack(terms).sum() / mask_cat.sum()
        return loss

    def forward(
        self,
        encoder: nn.Module,
        x_num: torch.Tensor,
        x_cat: torch.Tensor,
        generator: torch.Generator,
        reference: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Loss of one batch (arguments as for :meth:`ContrastiveObjective.forward`)."""
        if self.mask_strategy == "marginal":
            corrupted = self._marginal(x_num, x_cat, generator, reference)
        else:
            mask_num, mask_cat = self._masks(x_num.shape[0], generator)
            corrupted = mask_fields(x_num, x_cat, mask_num, mask_cat)
        embedding = encoder(corrupted.x_num, corrupted.x_cat)
        return self.reconstruction_loss(
            embedding, x_num, x_cat, corrupted.mask_num, corrupted.mask_cat
        )
