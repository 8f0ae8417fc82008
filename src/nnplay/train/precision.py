"""``train.amp = "auto"``: mixed precision only where it speeds the step up.

Autocast adds a cast kernel around each matmul and convolution; it pays only when those ops
are large enough for half-precision tensor cores to save more time than the casts and the
loss scaling cost. A small network's step is bound by kernel launches instead, and there a
probe on an H100 measured mixed precision *doubling* the step time. The rule, decided once
per Trainer and the same on every run of a spec (no timing noise in the numbers):

    amp = device is CUDA and the forward pass of one batch costs >= AMP_MIN_FLOPS

counted by PyTorch's own ``FlopCounterMode`` on the first training batch. On CPU "auto" is
off (autocast on CPU is bfloat16 and slower for these networks). ``benchmarks/amp_auto.py``
measures both ways on a GPU to check the threshold. Micikevicius et al. 2018, "Mixed
Precision Training", https://arxiv.org/abs/1710.03740
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..model import eval_mode

AMP_MIN_FLOPS = 3e10  # forward FLOPs of one batch; below this, autocast's casts cost more.
# Measured on an H200 (benchmarks/amp_auto.py, 2026-11-30): mixed precision took 1.36x as long
# at 1.7e10 FLOPs per batch and 0.68x at 6.9e10.


def forward_flops(model: nn.Module, batch: torch.Tensor) -> int:
    """FLOPs of one forward pass on ``batch`` (PyTorch's count: 2 per multiply-add)."""
    with eval_mode(model), torch.no_grad(), FlopCounterMode(display=False) as count:
        model(batch)
    return count.get_total_flops()


def use_amp(setting, model: nn.Module, batch: torch.Tensor, device: torch.device) -> bool:
    """Whether to train in mixed precision: ``train.amp`` true/false on CUDA as set, "auto"
    by the rule above; never on CPU."""
    if device.type != "cuda":
        return False
    if setting != "auto":
        return bool(setting)
    return forward_flops(model, batch) >= AMP_MIN_FLOPS


class MixedPrecision:
    """One Trainer's mixed precision, on or off: the forward pass under autocast; the loss
    scaled for the backward pass so that fp16 gradients do not underflow (``GradScaler``),
    and the optimizer stepping on the unscaled gradients. Off, it is the plain step."""

    def __init__(self, on: bool, device: torch.device):
        self.on = on
        self.device_type = device.type
        self.scaler = torch.amp.GradScaler("cuda", enabled=on)

    def forward(self, forward, x: torch.Tensor) -> torch.Tensor:
        """``forward(x)``, under autocast when on (the loss then takes ``out.float()``)."""
        if not self.on:
            return forward(x)
        with torch.autocast(self.device_type):
            return forward(x)

    def backward_step(self, objective: torch.Tensor, optimizer: torch.optim.Optimizer, look=None):
        """``objective.backward()``, then the optimizer's step; ``look()`` runs between the two
        on the true (unscaled) gradients, and its result is returned (None without it)."""
        seen = None
        if self.on:
            self.scaler.scale(objective).backward()
            if look is not None:
                self.scaler.unscale_(optimizer)
                seen = look()
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            objective.backward()
            if look is not None:
                seen = look()
            optimizer.step()
        return seen
