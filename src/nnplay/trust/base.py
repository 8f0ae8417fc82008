"""What every trust tool shares: its error type, checks, and one view of a classifier.

A binary model in nnplay has one output logit z (sigmoid + BCE). The trust tools
see every classifier as K logits, so a binary model becomes ``[-z/2, z/2]``:
its softmax is ``[1 - sigmoid(z), sigmoid(z)]``, the same probabilities, and
cross-entropy on it equals the binary cross-entropy the model was trained with.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..model import CHUNK, eval_mode
from ..spec import UserError


class TrustError(UserError):
    """A request the user can fix (the CLI exits with code 2): names the field and what is allowed."""


class Classifier(nn.Module):
    """``model`` seen as K-class logits (N, K); a one-logit binary model becomes two logits."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.training = model.training      # mirror the model's mode, so restoring it is exact

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        if out.dim() == 2 and out.shape[1] == 1:      # binary: z -> [-z/2, z/2]
            return torch.cat([-out / 2, out / 2], 1)
        return out


def as_classifier(model: nn.Module) -> Classifier:
    return model if isinstance(model, Classifier) else Classifier(model)


def check_labels(y: torch.Tensor, what: str = "y") -> None:
    """Classifier-only tools need integer class labels, not regression targets."""
    if y.is_floating_point():
        raise TrustError(f"{what}: this method needs a classifier (integer class labels); received "
                         f"real-valued targets, i.e. a regression task; allowed tasks: binary, multiclass")


def check_task(task: str, method: str) -> None:
    if task == "regression":
        raise TrustError(f"{method} needs a classifier, but this run's task is 'regression'; "
                         f"allowed tasks: binary, multiclass")


def check_eps(eps: float, bounds: tuple[float, float], norm: str = "linf", dim: int = 1) -> None:
    """Epsilon must be >= 0 and no larger than the valid input range allows."""
    lo, hi = bounds
    top = (hi - lo) * (math.sqrt(dim) if norm == "l2" else 1.0)
    if not (0 <= eps <= top) or math.isnan(eps):
        raise TrustError(f"eps: must be between 0 and {top:g} for {norm} attacks on inputs in "
                         f"[{lo:g}, {hi:g}]; received: {eps!r}")


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise TrustError(f"{name}: must be one of: {', '.join(allowed)}; received: {value!r}")


@torch.no_grad()
def logits(model: nn.Module, x: torch.Tensor, batch: int = CHUNK) -> torch.Tensor:
    """K-class logits of ``x`` (N, K) in eval mode, in chunks; the model's mode is restored."""
    with eval_mode(as_classifier(model)) as clf:
        return torch.cat([clf(x[i:i + batch]).float() for i in range(0, len(x), batch)])
