"""TabularResNet: residual MLP encoder for mixed numeric and categorical features.

The architecture follows the ResNet baseline of Gorishniy et al. (2021), "Revisiting deep
learning models for tabular data", itself an MLP version of the residual networks of He et al.
(2016):

1. every categorical field gets its own learned embedding table (``d_embed_cat`` numbers per
   code), the numeric features go through one linear projection;
2. both are concatenated and projected to ``width``;
3. ``depth`` residual blocks ``x + Dropout(Linear(Dropout(ReLU(Linear(Norm(x))))))``;
4. a final normalisation, activation and a linear layer give the embedding of width ``d_out``
   (``output_norm=False`` drops the normalisation and activation: the head is then a linear
   map of the residual stream, so unusually large inputs give unusually large embeddings, the
   property a distance-based anomaly detector on the embeddings relies on).

Inputs are exactly what :meth:`anomaly_tutorial.features.OCSFFeaturizer.transform_split`
returns: ``float32`` numeric features and ``int64`` codes (one column per categorical field,
values ``0 .. cardinality - 1``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ResidualBlock", "TabularResNet", "count_parameters"]

_NORMS = ("layernorm", "batchnorm")


def _norm(kind: str, width: int) -> nn.Module:
    if kind == "layernorm":
        return nn.LayerNorm(width)
    return nn.BatchNorm1d(width)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters (scalars) of ``model``.

    Parameters
    ----------
    model
        Any ``torch.nn.Module``.
    trainable_only
        Count only parameters with ``requires_grad`` (default) or all of them.

    Returns
    -------
    int
    """
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


class ResidualBlock(nn.Module):
    """Pre-norm residual block ``x + Dropout(Linear(Dropout(ReLU(Linear(Norm(x))))))``.

    Parameters
    ----------
    width
        Width of the input and the output (the skip connection needs equal widths).
    hidden
        Width of the inner layer.
    dropout
        Dropout probability applied after the activation and after the second linear layer.
    norm
        ``"layernorm"`` or ``"batchnorm"``.
    """

    def __init__(self, width: int, hidden: int, dropout: float, norm: str = "layernorm") -> None:
        super().__init__()
        self.norm = _norm(norm, width)
        self.linear1 = nn.Linear(width, hidden)
        self.activation = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)
        self.linear2 = nn.Linear(hidden, width)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block; the output has the shape of ``x``."""
        h = self.dropout1(self.activation(self.linear1(self.norm(x))))
        return x + self.dropout2(self.linear2(h))


class TabularResNet(nn.Module):
    """Residual encoder for tabular rows with numeric and categorical features.

    Parameters
    ----------
    n_numeric
        Number of numeric input columns (may be 0).
    cardinalities
        Number of codes of each categorical column (may be empty); the codes of column ``j``
        must lie in ``0 .. cardinalities[j] - 1``.
    d_embed_cat
        Width of each categorical embedding.
    width
        Width of the residual stream.
    depth
        Number of residual blocks (0 gives a linear-projection-plus-head model).
    dropout
        Dropout probability inside the blocks.
    d_out
        Width of the output embedding.
    d_numeric
        Width of the linear projection of the numeric features; default ``width // 2``
        (at least 8).
    hidden_factor
        The inner layer of each block is ``hidden_factor * width`` wide.
    norm
        ``"layernorm"`` (default: independent of the batch, so a row's embedding does not depend
        on its batch) or ``"batchnorm"``.
    output_norm
        Normalise and activate the residual stream before the output layer (as in Gorishniy et
        al. 2021). ``False`` keeps the output a linear function of the residual stream, which
        preserves the scale of unusual rows.

    Examples
    --------
    >>> model = TabularResNet(n_numeric=4, cardinalities=[5, 3], width=32, depth=2, d_out=8)
    >>> z = model(torch.zeros(10, 4), torch.zeros(10, 2, dtype=torch.long))
    >>> tuple(z.shape)
    (10, 8)
    """

    def __init__(
        self,
        n_numeric: int,
        cardinalities: Sequence[int],
        d_embed_cat: int = 8,
        width: int = 128,
        depth: int = 3,
        dropout: float = 0.1,
        d_out: int = 32,
        d_numeric: int | None = None,
        hidden_factor: float = 2.0,
        norm: str = "layernorm",
        output_norm: bool = True,
    ) -> None:
        super().__init__()
        cardinalities = [int(c) for c in cardinalities]
        for name, value, low in (
            ("n_numeric", n_numeric, 0),
            ("d_embed_cat", d_embed_cat, 1),
            ("width", width, 1),
            ("depth", depth, 0),
            ("d_out", d_out, 1),
        ):
            if isinstance(value, bool) or int(value) != value or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        bad = [(j, c) for j, c in enumerate(cardinalities) if c < 1]
        if bad:
            raise ValueError(
                f"cardinalities: column {bad[0][0]} has {bad[0][1]} codes; each needs at least 1"
            )
        if n_numeric == 0 and not cardinalities:
            raise ValueError("TabularResNet needs at least one numeric or categorical column")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if norm not in _NORMS:
            raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}")
        self.n_numeric = int(n_numeric)
        self.cardinalities = cardinalities
        self.d_embed_cat = int(d_embed_cat)
        self.width = int(width)
        self.depth = int(depth)
        self.d_out = int(d_out)
        d_num = max(8, self.width // 2) if d_numeric is None else int(d_numeric)
        self.numeric_projection = nn.Linear(self.n_numeric, d_num) if self.n_numeric else None
        self.embeddings = nn.ModuleList(nn.Embedding(c, self.d_embed_cat) for c in cardinalities)
        d_in = (d_num if self.n_numeric else 0) + self.d_embed_cat * len(cardinalities)
        self.input_projection = nn.Linear(d_in, self.width)
        hidden = max(1, round(hidden_factor * self.width))
        self.blocks = nn.ModuleList(
            ResidualBlock(self.width, hidden, float(dropout), norm) for _ in range(self.depth)
        )
        self.output_norm = _norm(norm, self.width) if output_norm else nn.Identity()
        self.output_activation = nn.ReLU() if output_norm else nn.Identity()
        self.head = nn.Linear(self.width, self.d_out)

    def check_inputs(self, x_num: torch.Tensor, x_cat: torch.Tensor) -> None:
        """Raise ``ValueError`` naming the problem when the inputs do not fit the model."""
        if x_num.ndim != 2 or x_num.shape[1] != self.n_numeric:
            raise ValueError(
                f"x_num: expected shape (n, {self.n_numeric}), got {tuple(x_num.shape)}"
            )
        n_cat = len(self.cardinalities)
        if x_cat.ndim != 2 or x_cat.shape[1] != n_cat:
            raise ValueError(f"x_cat: expected shape (n, {n_cat}), got {tuple(x_cat.shape)}")
        if x_num.shape[0] != x_cat.shape[0]:
            raise ValueError(f"x_num has {x_num.shape[0]} rows but x_cat has {x_cat.shape[0]}")
        if x_cat.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"x_cat: expected integer codes, got dtype {x_cat.dtype}")
        if n_cat and x_cat.numel():
            high = torch.as_tensor(self.cardinalities, device=x_cat.device)
            bad = (x_cat < 0) | (x_cat >= high)
            if bool(bad.any()):
                row, col = (int(v) for v in bad.nonzero()[0])
                raise ValueError(
                    f"x_cat column {col}: code {int(x_cat[row, col])} (row {row}) outside "
                    f"0..{self.cardinalities[col] - 1}"
                )

    def features(self, x_num: torch.Tensor, x_cat: torch.Tensor) -> torch.Tensor:
        """Concatenated numeric projection and categorical embeddings, ``(n, d_in)``."""
        parts = []
        if self.numeric_projection is not None:
            parts.append(self.numeric_projection(x_num))
        parts.extend(emb(x_cat[:, j]) for j, emb in enumerate(self.embeddings))
        return torch.cat(parts, dim=1)

    def forward(self, x_num: torch.Tensor, x_cat: torch.Tensor) -> torch.Tensor:
        """Embed rows.

        Parameters
        ----------
        x_num
            ``float32`` tensor ``(n, n_numeric)``.
        x_cat
            ``int64`` tensor ``(n, len(cardinalities))`` of codes.

        Returns
        -------
        torch.Tensor
            ``(n, d_out)`` embeddings.
        """
        self.check_inputs(x_num, x_cat)
        h = self.input_projection(self.features(x_num, x_cat))
        for block in self.blocks:
            h = block(h)
        return self.head(self.output_activation(self.output_norm(h)))
