"""The package's one training loop for torch models.

Every torch model of the package (the TabularResNet encoders, the LSTM autoencoder of metric
series, the next-event and sequence models) trains through :func:`fit_module`, so they all share
the same guarantees:

* **Deterministic and side-effect free.** Training runs inside :func:`torch.random.fork_rng`
  with deterministic algorithms on; the caller's global RNG state and determinism flags are
  restored afterwards. Shuffling uses its own seeded :class:`torch.Generator`.
* **Early stopping on a validation loss** (when one is given): the weights of the best epoch
  are restored at the end.
* **No torch.compile import**: the optimiser is the package's :class:`~.optim.AdamW`, and
  the determinism flag is set by :func:`set_deterministic_algorithms`.

Public objects: :func:`fit_module`, :class:`TrainingHistory`, :func:`deterministic_training`,
:func:`set_deterministic_algorithms`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm import tqdm  # console bar: tqdm.auto needs ipywidgets, which the book lacks

from anomaly_tutorial.models.optim import AdamW

__all__ = [
    "TrainingHistory",
    "deterministic_training",
    "fit_module",
    "set_deterministic_algorithms",
]


def set_deterministic_algorithms(mode: bool, warn_only: bool = False) -> None:
    """Switch torch's deterministic algorithms on or off, without importing ``torch._inductor``.

    The package's one place that sets the flag. The public
    :func:`torch.use_deterministic_algorithms` also sets the flag of the ``torch.compile``
    backend and for that imports ``torch._inductor.config``: measured with torch 2.13.0 (CPU)
    on the book's machine, the first call costs 1.4-2.2 s, in every chapter that trains a
    model. The package never compiles, so while that backend is not loaded only the flag of
    the eager kernels is set, through the private ``torch._C._set_deterministic_algorithms``
    that the public function calls itself; once ``torch._inductor.config`` is loaded (someone
    else compiled) the public function is used, so both flags stay in step.
    ``tests/test_models_loop.py`` fails if the private function disappears or stops setting
    the flag the public getters read.
    """
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
    else:
        torch._C._set_deterministic_algorithms(mode, warn_only=warn_only)


@contextlib.contextmanager
def deterministic_training(seed: int) -> Iterator[None]:
    """Seed torch for a block of code and restore the caller's RNG and flags afterwards.

    Inside the block ``torch.manual_seed(seed)`` is in force and deterministic algorithms are
    on; on exit the global CPU RNG state and the determinism flags are what they were before.
    """
    flags = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        set_deterministic_algorithms(True)
        try:
            yield
        finally:
            set_deterministic_algorithms(*flags)


@dataclass
class TrainingHistory:
    """What :func:`fit_module` did.

    Attributes
    ----------
    epochs
        One dict per epoch run: ``epoch``, ``train_loss``, ``val_loss`` (NaN without
        validation) and ``seconds``.
    best_epoch
        The epoch whose weights were kept (the last one without validation).
    stopped_early
        Whether training stopped before ``max_epochs`` because the validation loss had not
        improved for ``patience`` epochs.
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False

    @property
    def train_loss(self) -> list[float]:
        """Mean training loss of each epoch."""
        return [e["train_loss"] for e in self.epochs]

    @property
    def val_loss(self) -> list[float]:
        """Validation loss after each epoch (NaN without validation)."""
        return [e["val_loss"] for e in self.epochs]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: must be a positive int, got {value!r}")
    return value


def fit_module(
    module: nn.Module,
    batches: Callable[[torch.Generator], Iterable[Any]],
    loss: Callable[[nn.Module, Any], torch.Tensor],
    *,
    max_epochs: int,
    seed: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    validation_loss: Callable[[nn.Module], float] | None = None,
    patience: int | None = None,
    extra_parameters: Sequence[torch.Tensor] = (),
    extra_modules: Sequence[nn.Module] = (),
    grad_clip: float | None = None,
    progress: bool = False,
    description: str = "training",
) -> TrainingHistory:
    """Train ``module`` in place; the package's single training loop.

    Parameters
    ----------
    module
        The model; it is trained in place and left in ``eval()`` mode with the best weights.
    batches
        ``batches(generator)`` yields the batches of one epoch; use ``generator`` (seeded by
        :func:`fit_module`) for shuffling so that runs are reproducible.
    loss
        ``loss(module, batch)`` returns the mean loss of a batch (a scalar tensor).
    max_epochs, seed, lr, weight_decay
        Training length, seed of every random draw, and the AdamW settings.
    validation_loss
        ``validation_loss(module)`` returns a float computed without gradients (called after
        each epoch, in ``eval()`` mode); enables early stopping and best-epoch restoring.
    patience
        Stop when the validation loss has not improved for this many epochs (``None``: never).
    extra_parameters, extra_modules
        Further trainable tensors or modules (an objective's projection head, for instance)
        optimised together with ``module``; modules are switched between train and eval and
        restored to their best state with it.
    grad_clip
        Clip the global gradient norm to this value (``None``: no clipping).
    progress
        Show a tqdm progress bar.
    description
        The progress bar's label.

    Returns
    -------
    TrainingHistory

    Raises
    ------
    ValueError
        On a non-positive ``max_epochs`` or ``patience``, a negative learning rate, or an
        epoch that produced no batch.
    """
    _positive_int("max_epochs", max_epochs)
    if patience is not None:
        _positive_int("patience", patience)
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr: must be a positive number, got {lr!r}")
    modules = [module, *extra_modules]
    params = [p for m in modules for p in m.parameters()] + list(extra_parameters)
    history = TrainingHistory()
    with deterministic_training(seed):
        optimizer = AdamW(params, lr=float(lr), weight_decay=float(weight_decay))
        shuffle = torch.Generator().manual_seed(seed + 1)
        best_loss = math.inf
        best_state = [copy.deepcopy(m.state_dict()) for m in modules]
        bar = tqdm(range(1, max_epochs + 1), desc=description, disable=not progress, leave=False)
        for epoch in bar:
            start = time.perf_counter()
            for m in modules:
                m.train()
            total, count = 0.0, 0
            for batch in batches(shuffle):
                value = loss(module, batch)
                optimizer.zero_grad()
                value.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, grad_clip)
                optimizer.step()
                total += float(value.detach())
                count += 1
            if count == 0:
                raise ValueError(f"batches: epoch {epoch} produced no batch")
            for m in modules:
                m.eval()
            val = math.nan
            if validation_loss is not None:
                with torch.no_grad():
                    val = float(validation_loss(module))
            history.epochs.append(
                {
                    "epoch": epoch,
                    "train_loss": total / count,
                    "val_loss": val,
                    "seconds": time.perf_counter() - start,
                }
            )
            bar.set_postfix(train=f"{total / count:.4f}", val=f"{val:.4f}")
            if validation_loss is None:
                history.best_epoch = epoch
                continue
            if val < best_loss:
                best_loss, history.best_epoch = val, epoch
                best_state = [copy.deepcopy(m.state_dict()) for m in modules]
            elif patience is not None and epoch - history.best_epoch >= patience:
                history.stopped_early = True
                break
        bar.close()
    if validation_loss is not None:
        for m, state in zip(modules, best_state, strict=True):
            m.load_state_dict(state)
    for m in modules:
        m.eval()
    return history
