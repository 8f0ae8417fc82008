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
