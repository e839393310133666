"""A small AdamW optimiser (Loshchilov & Hutter 2019) for the package's training loops.

``torch.optim`` optimisers import the ``torch.compile`` machinery (``torch._dynamo``) the first
time they run, which costs 5-20 seconds on a laptop CPU: more than training the book's small
models. This class implements the same update as ``torch.optim.AdamW`` (default settings,
no AMSGrad) in a few tensor operations, without that import.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["AdamW"]


class AdamW:
    """Adam with decoupled weight decay.

    Parameters
    ----------
    params
        Tensors to optimise (``requires_grad=True``).
    lr
        Learning rate.
    betas
        Decay rates of the first and second moment estimates.
    eps
        Added to the denominator for numerical stability.
    weight_decay
        Decoupled weight decay: each step multiplies the weights by ``1 - lr * weight_decay``.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        self.params = [p for p in params if p.requires_grad]
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.lr = float(lr)
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.step_count = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        """Drop the gradients of all parameters."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        self.step_count += 1
        t = self.step_count
        bias1 = 1.0 - self.beta1**t
        bias2 = 1.0 - self.beta2**t
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True):
            if p.grad is None:
                continue
            g = p.grad
            if self.weight_decay:
                p.mul_(1.0 - self.lr * self.weight_decay)
            m.mul_(self.beta1).add_(g, alpha=1.0 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1.0 - self.beta2)
            denom = (v / bias2).sqrt_().add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / bias1)
