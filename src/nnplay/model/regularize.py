"""Regularization (규제): J(theta) = loss + lambda * R(theta), on weights (not biases).

L1: R = sum |w|   (drives weights to exactly zero: sparsity)
L2: R = sum w^2   (weight decay: shrinks all weights)
"""
from __future__ import annotations

import torch
from torch import nn


def weights(model: nn.Module) -> list[torch.Tensor]:
    """The weight matrices/kernels of dense and conv layers, and the input-to-hidden and
    hidden-to-hidden matrices of recurrent layers."""
    return [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.Conv1d))] + \
        [p for m in model.modules() if isinstance(m, nn.RNNBase)
         for n, p in m.named_parameters() if n.startswith("weight")]


def l1(ws: list[torch.Tensor]) -> torch.Tensor:
    """R = sum |w| over the weights ``ws``."""
    return sum(w.abs().sum() for w in ws)


def l2(ws: list[torch.Tensor]) -> torch.Tensor:
    """R = sum w^2 over the weights ``ws``."""
    return sum(w.pow(2).sum() for w in ws)


def penalty(model: nn.Module, kind: str, rate: float) -> torch.Tensor | None:
    """lambda * R(theta), or None when regularization is off."""
    if kind == "none" or rate == 0:
        return None
    return rate * (l1 if kind == "l1" else l2)(weights(model))
