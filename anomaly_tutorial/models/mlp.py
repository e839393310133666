"""Why residual connections: train a plain deep MLP and a residual MLP of the same depth.

Both networks have an input layer ``Linear(d_in, width)``, ``depth`` hidden layers
``Linear(width, width)`` and an output layer ``Linear(width, d_out)``; they have exactly the same
parameters. The only difference is how a hidden layer is applied:

* plain: ``h = ReLU(W h + b)``;
* residual: ``h = h + W ReLU(h) + b`` (an identity path around every layer, He et al. 2016).

With the default PyTorch initialisation and no normalisation, the signal and the gradient of a
plain network shrink layer after layer, so its first layers barely learn; the identity paths of
the residual network carry the gradient to every layer. :func:`train_depth_experiment` trains one
network on real data and records the loss at every step and the gradient norm of every hidden
layer's weights, so both effects are measured, not drawn. (It shows the vanishing gradient of
plain networks *without* normalisation; He et al.'s degradation result concerns plain networks
*with* batch normalisation, whose gradients do not vanish.) :func:`depth_experiment_inputs`
builds the book's inputs from OCSF events.

The loop here is not :func:`~anomaly_tutorial.models.loop.fit_module` on purpose: it records
the gradient of every layer *at every step*, before the optimiser uses it, and trains for a
fixed number of steps without validation; it is an instrument, not a model for later use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .loop import deterministic_training
from .optim import AdamW

__all__ = [
    "DepthExperiment",
    "PlainMLP",
    "ResidualMLP",
    "depth_experiment_inputs",
    "train_depth_experiment",
]

#: Column-name prefix of the service one-hot columns, left out of the experiment's inputs.
_SERVICE_PREFIX = "cat__dst_endpoint.svc_name="


class _DeepMLP(nn.Module):
    residual = False

    def __init__(self, d_in: int, width: int, depth: int, d_out: int) -> None:
        super().__init__()
        for name, value in (("d_in", d_in), ("width", width), ("depth", depth), ("d_out", d_out)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.input_layer = nn.Linear(d_in, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.output_layer = nn.Linear(width, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, d_in)`` -> ``(n, d_out)``."""
        h = torch.relu(self.input_layer(x))
        for layer in self.hidden:
            h = h + layer(torch.relu(h)) if self.residual else torch.relu(layer(h))
        return self.output_layer(h)


class PlainMLP(_DeepMLP):
    """Deep MLP without skip connections: ``h = ReLU(W h + b)`` per hidden layer.

    Parameters
    ----------
    d_in, width, depth, d_out
        Input width, hidden width, number of hidden layers, output width.
    """

    residual = False


class ResidualMLP(_DeepMLP):
    """Same layers as :class:`PlainMLP`, applied as ``h = h + W ReLU(h) + b``.

    Parameters
    ----------
    d_in, width, depth, d_out
        Input width, hidden width, number of hidden layers, output width.
    """

    residual = True


def depth_experiment_inputs(
    events: Any, featurizer: Any, *, n_events: int = 3000, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs of the book's depth experiment: predict an event's service from its features.

    Parameters
    ----------
    events
        Flat OCSF events (the book uses the training period).
    featurizer
        A fitted :class:`~anomaly_tutorial.features.OCSFFeaturizer`.
    n_events
        Events sampled (with ``random_state``), then featurised in time order.
    random_state
        Seed of the sample.

    Returns
    -------
    (X, y, services)
        ``float32 (n_events, d)`` features without the service's own one-hot columns (the
        answer would otherwise be in the input), ``int64`` service codes, and the service
        names in code order.
    """
    import pandas as pd

    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events: expected a DataFrame, got {type(events).__name__}")
    if not hasattr(featurizer, "scaler_"):
        raise ValueError("featurizer: must be fitted (OCSFFeaturizer().fit(train))")
    if isinstance(n_events, bool) or not isinstance(n_events, int) or n_events < 2:
        raise ValueError(f"n_events must be an integer >= 2, got {n_events!r}")
    if n_events > len(events):
        raise ValueError(f"n_events={n_events} is larger than the {len(events)} events")
    sample = events.sample(n=n_events, random_state=random_state).sort_values("time")
    names = featurizer.get_feature_names_out().astype(str)
    keep = ~np.char.startswith(names, _SERVICE_PREFIX)
    X = featurizer.transform(sample)[:, keep].astype(np.float32)
    services, y = np.unique(sample["dst_endpoint.svc_name"].astype(str), return_inverse=True)
    return X, y.astype(np.int64), services


@dataclass
class DepthExperiment:
    """Record of one :func:`train_depth_experiment` run.

    Attributes
    ----------
    residual, depth
        The network trained.
    loss
        Training loss at every step, ``(steps,)``.
    grad_norms
        L2 norm of the gradient of each hidden layer's weight matrix at every step,
        ``(steps, depth)``; column 0 is the layer nearest the input.
    final_loss
        Loss of the trained network on all of ``X``.
    n_parameters
        Number of parameters of the network.
    """

    residual: bool
    depth: int
    loss: np.ndarray
    grad_norms: np.ndarray
    final_loss: float
    n_parameters: int


def train_depth_experiment(
    X: np.ndarray,
    y: np.ndarray,
    *,
    depth: int = 20,
    residual: bool = True,
    width: int = 64,
    steps: int = 200,
    batch_size: int = 256,
    lr: float = 1e-3,
    task: str = "regression",
    seed: int = 0,
) -> DepthExperiment:
    """Train a plain or residual deep MLP and record loss and per-layer gradient norms.

    Parameters
    ----------
    X
        Inputs ``(n, d)``, finite.
    y
        Targets: ``(n,)`` or ``(n, k)`` floats for ``task="regression"`` (mean squared error;
        e.g. a self-supervised target such as the features themselves), ``(n,)`` integer
        classes for ``task="classification"`` (cross-entropy).
    depth
        Number of hidden layers.
    residual
        Train :class:`ResidualMLP` (``True``) or :class:`PlainMLP` (``False``).
    width, steps, batch_size, lr
        Hidden width, optimiser steps (Adam), mini-batch size, learning rate.
    task
        ``"regression"`` or ``"classification"``.
    seed
        Seed of the initialisation and the mini-batch draws: a plain and a residual run with
        the same seed see the same batches.

    Returns
    -------
    DepthExperiment
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X: expected a 2-D array with at least 2 rows, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"X: {int((~np.isfinite(X)).sum())} values are NaN or infinite")
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} rows but X has {X.shape[0]}")
    if task == "classification":
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise ValueError("y: classification needs a 1-D array of integer classes >= 0")
        target = torch.from_numpy(y.astype(np.int64))
        d_out = int(y.max()) + 1
        loss_fn: nn.Module = nn.CrossEntropyLoss()
    else:
        y = y.astype(np.float32).reshape(len(y), -1)
        if not np.isfinite(y).all():
            raise ValueError("y: regression targets must be finite")
        target = torch.from_numpy(y)
        d_out = y.shape[1]
        loss_fn = nn.MSELoss()
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    inputs = torch.from_numpy(X)
    with deterministic_training(seed):
        cls = ResidualMLP if residual else PlainMLP
        model = cls(X.shape[1], width, depth, d_out)
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    draws = torch.Generator().manual_seed(seed + 1)
    losses = np.empty(steps)
    norms = np.empty((steps, depth))
    size = min(batch_size, X.shape[0])
    model.train()
    for step in range(steps):
        idx = torch.randperm(X.shape[0], generator=draws)[:size]
        loss = loss_fn(model(inputs[idx]), target[idx])
        optimizer.zero_grad()
        loss.backward()
        norms[step] = [float(layer.weight.grad.norm()) for layer in model.hidden]
        optimizer.step()
        losses[step] = float(loss.detach())
    with torch.no_grad():
        final = float(loss_fn(model(inputs), target))
    return DepthExperiment(
        residual=bool(residual),
        depth=int(depth),
        loss=losses,
        grad_norms=norms,
        final_loss=final,
        n_parameters=sum(p.numel() for p in model.parameters()),
    )
