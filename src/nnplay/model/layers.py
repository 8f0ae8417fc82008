"""Layers that draw their randomness from a session's own ``torch.Generator``."""
from __future__ import annotations

import torch
from torch import nn


def dropout(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Inverted dropout: zero each value with probability p, scale the rest by 1/(1-p).
    The same values as ``F.dropout`` in training mode, with the mask drawn from ``generator``."""
    if p == 0:
        return x
    return x * torch.empty_like(x).bernoulli_(1 - p, generator=generator).div_(1 - p)


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose masks come from ``generator`` (on the input's device), so that two
    sessions in one process never change each other's masks. ``generator=None``: PyTorch's
    dropout on the global RNG (the compiled step's traced copy: Inductor cannot lower random
    ops that take a generator)."""

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None):
        super().__init__(p)
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.generator is None or not self.training:
            return super().forward(x)
        return dropout(x, self.p, self.generator)
