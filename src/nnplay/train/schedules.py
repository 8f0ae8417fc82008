"""Learning-rate schedules: step decay, cosine annealing, one-cycle (PyTorch's own).

One-cycle: Smith & Topin 2017, https://arxiv.org/abs/1708.07120
Cosine: Loshchilov & Hutter 2016 (SGDR), https://arxiv.org/abs/1608.03983
"""
from __future__ import annotations

from torch.optim import lr_scheduler

from ..spec import TrainSpec


def make_schedule(spec: TrainSpec, optimizer, steps_per_epoch: int):
    """-> (scheduler or None, per_batch: bool)."""
    if spec.schedule == "step":
        return lr_scheduler.StepLR(optimizer, spec.step_size, spec.gamma), False
    if spec.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=spec.epochs), False
    if spec.schedule == "onecycle":
        # momentum cycles only where the optimizer has some (not plain SGD, RMSprop or Adagrad)
        cycles = optimizer.defaults.get("momentum", 0) > 0 or "betas" in optimizer.defaults
        return lr_scheduler.OneCycleLR(optimizer, max_lr=spec.lr, cycle_momentum=cycles,
                                       total_steps=spec.epochs * steps_per_epoch), True
    return None, False
