"""Adversarial patch (Brown et al. 2017, https://arxiv.org/abs/1712.09665).

Not an invisible change but a visible sticker: one small square, learned once, that
makes the model say ``target`` wherever it is pasted on any image (the "toaster"
patch next to a banana). Learning maximizes log p(target | image with the patch at a
random place), averaged over training images, with Adam on the patch pixels.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..model import eval_mode
from .attacks import AttackResult, norm_of
from .base import TrustError, as_classifier, check_labels, logits


def paste(x: torch.Tensor, patch: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Images (N, C, H, W) with ``patch`` (C, s, s) pasted with its corner at (rows[i], cols[i])."""
    h, w = x.shape[-2:]
    s = patch.shape[-1]
    rows, cols = rows.to(x.device), cols.to(x.device)
    dr = torch.arange(h, device=x.device).view(1, h, 1) - rows.view(-1, 1, 1)   # (N, H, 1): row in the patch
    dc = torch.arange(w, device=x.device).view(1, 1, w) - cols.view(-1, 1, 1)   # (N, 1, W)
    inside = (dr >= 0) & (dr < s) & (dc >= 0) & (dc < s)          # (N, H, W)
    canvas = patch[:, dr.clamp(0, s - 1), dc.clamp(0, s - 1)]     # (C, N, H, W)
    m = inside.unsqueeze(1).to(x.dtype)
    return x * (1 - m) + canvas.transpose(0, 1) * m


def _places(n: int, h: int, w: int, s: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.randint(0, h - s + 1, (n,), generator=gen),
            torch.randint(0, w - s + 1, (n,), generator=gen))


def learn_patch(model: nn.Module, x: torch.Tensor, target: int, size: int,
                bounds: tuple[float, float] = (0.0, 1.0), steps: int = 300, batch: int = 128,
                lr: float = 0.1, seed: int = 0) -> torch.Tensor:
    """A (C, size, size) patch in ``bounds`` that pushes images ``x`` towards class ``target``."""
    lo, hi = bounds
    clf = as_classifier(model)
    gen = torch.Generator().manual_seed(seed)
    c, h, w = x.shape[1:]
    raw = torch.zeros(c, size, size, device=x.device, requires_grad=True)   # patch = lo + (hi-lo) * sigmoid(raw)
    opt = torch.optim.Adam([raw], lr=lr)
    with eval_mode(clf):
        for _ in range(steps):
            idx = torch.randint(0, len(x), (min(batch, len(x)),), generator=gen).to(x.device)
            rows, cols = _places(len(idx), h, w, size, gen)
            xb = paste(x[idx], lo + (hi - lo) * torch.sigmoid(raw), rows, cols)
            loss = F.cross_entropy(clf(xb), torch.full((len(idx),), target, device=x.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (lo + (hi - lo) * torch.sigmoid(raw)).detach()


def patch_attack(model: nn.Module, x_train: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 target: int, size: int | None = None, bounds: tuple[float, float] = (0.0, 1.0),
                 steps: int = 200, seed: int = 0) -> AttackResult:
    """Learn a patch on ``x_train``, paste it at random places on ``x``; success = now ``target``.

    ``size`` defaults to half the image side (a quarter of its area, at least 2 pixels).
    """
    check_labels(y)
    if x.dim() != 4:
        raise TrustError("method 'patch' needs image inputs (N, C, H, W); this data is not "
                         "images; allowed methods here: fgsm, pgd")
    h, w = x.shape[-2:]
    size = size or max(2, round(min(h, w) / 2))
    if not 1 <= size <= min(h, w):
        raise TrustError(f"size: the patch side must be between 1 and {min(h, w)} pixels; "
                         f"received: {size!r}")
    k = logits(model, x[:1]).shape[1]
    if not 0 <= int(target) < k:
        raise TrustError(f"target: must be a class between 0 and {k - 1}; received: {target!r}")
    patch = learn_patch(model, x_train, int(target), size, bounds, steps, seed=seed)
    rows, cols = _places(len(x), h, w, size, torch.Generator().manual_seed(seed + 1))
    xa = paste(x, patch, rows, cols)
    tgt = torch.full_like(y, int(target))
    return AttackResult(xa, y, logits(model, x).argmax(1), logits(model, xa).argmax(1),
                        norm_of(xa - x, "linf"), "patch", size * size / (h * w), "patch", tgt,
                        {"patch_size": size, "target": int(target)}, patch)
