"""Activation functions (활성화 함수) by their course names.

Most are PyTorch's own modules; ``Step`` and ``CReLU`` are written here.
"""
from __future__ import annotations

from functools import cache
from typing import get_args

import torch
from torch import nn


class Step(nn.Module):
    """Step (계단 함수): 1 if x > 0 else 0. Its derivative is 0 almost everywhere,
    so backprop passes zero gradient through it: a step network cannot learn by
    gradient descent. The ``0 * x`` term keeps the graph, so the zeros are visible.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > 0).to(x.dtype) + 0 * x


class CReLU(nn.Module):
    """Concatenated ReLU: [ReLU(x), ReLU(-x)] along the channel axis (doubles width).

    Paper: Shang et al. 2016, https://arxiv.org/abs/1603.05201
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(x), torch.relu(-x)], dim=1)


def make(name: str, width: int | None = None, alpha: float = 0.01) -> nn.Module:
    """Module for activation ``name``; ``width`` sizes PReLU's learned slopes."""
    if name == "step":
        return Step()
    if name == "linear":
        return nn.Identity()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(alpha)
    if name == "prelu":   # slope for x < 0 is learned, one per unit/channel
        return nn.PReLU(width or 1, init=0.25)
    if name == "crelu":
        return CReLU()
    if name == "gelu":
        return nn.GELU()
    if name == "softmax":
        return nn.Softmax(dim=1)
    raise ValueError(f"unknown activation {name!r}")


def name_of(module: nn.Module) -> str | None:
    """The course name of an activation module made by ``make`` (None for another module)."""
    return _names().get(type(module))


@cache
def _names() -> dict[type, str]:
    from ..spec import Activation
    return {type(make(n)): n for n in get_args(Activation)}


def width_factor(name: str) -> int:
    """How much an activation multiplies the channel count (CReLU doubles it)."""
    return 2 if name == "crelu" else 1


# Activations whose output is exactly 0 for x <= 0: their "dead" units are counted.
RELU_LIKE = (nn.ReLU,)
