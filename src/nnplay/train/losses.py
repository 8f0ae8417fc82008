"""Loss and metrics that follow the task (출력층):
regression -> MSE on the raw output; binary -> sigmoid + binary cross-entropy;
K classes -> softmax + cross-entropy (with optional label smoothing).
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch import nn
from torch.nn import functional as F


class TaskLoss(nn.Module):
    """loss(logits, y) for ``task``; ``label_smoothing`` eps mixes targets with uniform.
    ``class_weight`` (one per class) makes the loss a weighted mean, sum w_y l / sum w_y, for
    binary and K classes alike (as ``F.cross_entropy(weight=...)``).

    Label smoothing: Szegedy et al. 2016, https://arxiv.org/abs/1512.00567
    """

    def __init__(self, task: str, label_smoothing: float = 0.0, class_weight: torch.Tensor | None = None):
        super().__init__()
        self.task, self.eps = task, label_smoothing
        self.register_buffer("weight", class_weight)

    def forward(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.task == "regression":
            return F.mse_loss(out.squeeze(1), y)
        if self.task == "binary":
            target = y.to(out.dtype)
            if self.eps:   # skipped when off: two tensor ops per step, the same values
                target = target * (1 - self.eps) + 0.5 * self.eps
            if self.weight is None:
                return F.binary_cross_entropy_with_logits(out.squeeze(1), target)
            # class weights as cross_entropy applies them: sum w_y * loss / sum w_y
            w = self.weight[y.long()]
            return F.binary_cross_entropy_with_logits(out.squeeze(1), target, weight=w,
                                                      reduction="sum") / w.sum()
        return F.cross_entropy(out, y, weight=self.weight, label_smoothing=self.eps)


def class_weights(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """'balanced' weights n / (k * count_c) (scikit-learn's formula)."""
    labels = y.cpu().numpy()
    present = np.unique(labels)
    w = np.ones(num_classes)
    w[present] = compute_class_weight("balanced", classes=present, y=labels)
    return torch.tensor(w, dtype=torch.float32)


def predict(out: torch.Tensor, task: str) -> torch.Tensor:
    """Logits -> probabilities (classification) or values (regression)."""
    if task == "regression":
        return out.squeeze(1)
    if task == "binary":
        p = torch.sigmoid(out.squeeze(1))
        return torch.stack([1 - p, p], 1)
    return torch.softmax(out, 1)


def correct(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Number of right answers in a batch (a 0-d tensor: no sync)."""
    if task == "binary":
        return ((out.squeeze(1) > 0).long() == y).sum()
    return (out.argmax(1) == y).sum()
