"""Tests of the shared torch training loop."""

import math

import pytest
import torch
from torch import nn

from anomaly_tutorial.models.loop import deterministic_training, fit_module


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(256, 1, generator=g)
    return x, y


def _batches(x, y):
    def batches(gen):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), 32):
            idx = order[start : start + 32]
            yield x[idx], y[idx]

    return batches


def _mse(module, batch):
    xb, yb = batch
    return ((module(xb) - yb) ** 2).mean()


def _train(seed, **kwargs):
    x, y = _problem()
    with deterministic_training(seed):
        model = nn.Linear(3, 1)
    history = fit_module(model, _batches(x, y), _mse, max_epochs=30, seed=seed, lr=0.05, **kwargs)
    return model, history


def test_training_fits_a_linear_model():
    model, history = _train(1)
    assert history.train_loss[-1] < 0.05 < history.train_loss[0]
    assert torch.allclose(model.weight.detach(), torch.tensor([[1.0, -2.0, 0.5]]), atol=0.1)


def test_same_seed_same_weights_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, _ = _train(3)
    assert torch.equal(torch.random.get_rng_state(), before)
    b, _ = _train(3)
    assert torch.equal(a.weight, b.weight)
    c, _ = _train(4)
    assert not torch.equal(a.weight, c.weight)


def test_early_stopping_restores_the_best_epoch():
    losses = iter([5.0, 1.0, 2.0, 3.0, 4.0, 0.5])
    snapshots = []

    def val(module):
        snapshots.append(module.weight.detach().clone())
        return next(losses)

    model, history = _train(0, validation_loss=val, patience=3)
    assert history.best_epoch == 2 and history.stopped_early
    assert len(history.epochs) == 5
    assert torch.equal(model.weight.detach(), snapshots[1])
    assert not model.training


def test_without_validation_val_loss_is_nan_and_last_epoch_kept():
    _, history = _train(0)
    assert history.best_epoch == 30 and all(math.isnan(v) for v in history.val_loss)


def test_bad_arguments():
    x, y = _problem()
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match="max_epochs"):
        fit_module(model, _batches(x, y), _mse, max_epochs=0, seed=0)
    with pytest.raises(ValueError, match="patience"):
        fit_module(model, _batches(x, y), _mse, max_epochs=1, seed=0, patience=0)
    with pytest.raises(ValueError, match="produced no batch"):
        fit_module(model, lambda g: iter(()), _mse, max_epochs=1, seed=0)


def test_determinism_flag_is_set_without_the_public_call_and_restored():
    """The private torch call behind ``set_deterministic_algorithms`` must still exist and set
    the flag the public getters read; this fails when a torch upgrade removes or changes it."""
    import sys

    from anomaly_tutorial.models.loop import set_deterministic_algorithms

    assert callable(getattr(torch._C, "_set_deterministic_algorithms", None))
    before = torch.are_deterministic_algorithms_enabled()
    try:
        set_deterministic_algorithms(True, warn_only=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        set_deterministic_algorithms(False)
        assert not torch.are_deterministic_algorithms_enabled()
    finally:
        set_deterministic_algorithms(before)
    with deterministic_training(0):
        assert torch.are_deterministic_algorithms_enabled()
    assert torch.are_deterministic_algorithms_enabled() == before
    if "torch._inductor.config" not in sys.modules:  # the point of the private call
        set_deterministic_algorithms(before)
        assert "torch._inductor.config" not in sys.modules
