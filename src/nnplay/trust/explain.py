"""Interpretability (해석 가능성): which parts of the input made the model say this?

One call shape for every method, Captum underneath:
``explain(model, x, method=..., target=None) -> Explanation`` with an attribution
the shape of ``x`` (positive = evidence for the target class's logit).

- saliency: |d logit / d x| (Simonyan et al. 2014, https://arxiv.org/abs/1312.6034)
- integrated-gradients: (x - x') * mean of the gradients on the path x' -> x; the
  attributions add up to logit(x) - logit(x') ("completeness"; Sundararajan et al.
  2017, https://arxiv.org/abs/1703.01365); the gap is returned as a sanity figure
- occlusion: how much the logit drops when a patch is hidden (Zeiler & Fergus 2014,
  https://arxiv.org/abs/1311.2901)
- gradcam: the last conv layer's maps weighted by their mean gradient, ReLU, upsampled
  (Selvaraju et al. 2017, https://arxiv.org/abs/1610.02391); CNNs only
- lime: a local linear model fitted to the logits of randomly masked inputs (Ribeiro et
  al. 2016, https://arxiv.org/abs/1602.04938); images are masked in square blocks
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..model import eval_mode
from .base import TrustError, as_classifier, check_choice, logits

METHODS = ("saliency", "integrated-gradients", "occlusion", "gradcam", "lime")


@dataclass
class Explanation:
    attribution: torch.Tensor      # (N, ...) like the input
    method: str
    target: torch.Tensor           # (N,) the class explained
    predicted: torch.Tensor        # (N,)
    completeness_gap: torch.Tensor | None = None   # integrated gradients: sum(attr) - (F(x) - F(x'))


def block(shape: tuple[int, ...]) -> int:
    """Square block side for occlusion and LIME on an image of ``shape`` (C, H, W)."""
    return max(1, min(shape[-2:]) // 4)


def _last_conv(model: nn.Module) -> nn.Module:
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise TrustError("method 'gradcam' needs a convolutional layer (conv2d); this model has "
                         "none; allowed for it: saliency, integrated-gradients, occlusion, lime")
    return convs[-1]


def _block_mask(x: torch.Tensor) -> torch.Tensor:
    """LIME's interpretable features: one id per square block (images), per feature otherwise."""
    shape = x.shape[1:]
    if x.dim() != 4:
        return torch.arange(shape.numel()).view(1, *shape)
    _, h, w = shape
    b = block(shape)
    ids = (torch.arange(h) // b).view(h, 1) * ((w + b - 1) // b) + (torch.arange(w) // b).view(1, w)
    return ids.expand(1, *shape).contiguous()


def explain(model: nn.Module, x: torch.Tensor, method: str = "integrated-gradients",
            target: int | torch.Tensor | None = None, baseline: float = 0.0,
            steps: int = 64, samples: int = 200, seed: int = 0) -> Explanation:
    """Attribute the logit of ``target`` (default: the predicted class) to the inputs ``x`` (N, ...).

    ``baseline`` is the "absent" input value for integrated gradients, occlusion and LIME;
    ``steps`` the integrated-gradients path steps; ``samples`` LIME's masked inputs.
    """
    from captum import attr as ca

    check_choice("method", method, METHODS)
    clf = as_classifier(model)
    with eval_mode(clf):
        pred = logits(clf, x).argmax(1)
        k = logits(clf, x[:1]).shape[1]
        tgt = pred if target is None else \
            torch.as_tensor(target, dtype=torch.long, device=x.device).expand(len(x)).clone()
        if int(tgt.min()) < 0 or int(tgt.max()) >= k:
            raise TrustError(f"target: must be a class between 0 and {k - 1}; received: {target!r}")
        gap = None
        if method == "saliency":
            a = ca.Saliency(clf).attribute(x.detach().clone().requires_grad_(True), target=tgt, abs=True)
        elif method == "integrated-gradients":
            a, gap = ca.IntegratedGradients(clf).attribute(
                x, baselines=baseline, target=tgt, n_steps=steps, return_convergence_delta=True)
        elif method == "occlusion":
            b = block(x.shape[1:])
            win = (x.shape[1], b, b) if x.dim() == 4 else (1,) * (x.dim() - 1)
            stride = (x.shape[1], max(1, b // 2), max(1, b // 2)) if x.dim() == 4 else win
            a = ca.Occlusion(clf).attribute(x, sliding_window_shapes=win, strides=stride,
                                            baselines=baseline, target=tgt)
        elif method == "gradcam":
            if x.dim() != 4:
                raise TrustError("method 'gradcam' needs image inputs and a CNN; allowed for this "
                                 "data: saliency, integrated-gradients, occlusion, lime")
            cam = ca.LayerGradCam(clf, _last_conv(clf)).attribute(x, target=tgt, relu_attributions=True)
            a = ca.LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear").expand_as(x)
        else:
            from captum._utils.models.linear_model import SkLearnRidge
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                lime = ca.Lime(clf, interpretable_model=SkLearnRidge(alpha=1.0))
                mask = _block_mask(x).to(x.device)
                a = torch.cat([lime.attribute(x[i:i + 1], target=tgt[i:i + 1], baselines=baseline,
                                              feature_mask=mask, n_samples=samples,
                                              perturbations_per_eval=samples) for i in range(len(x))])
    return Explanation(a.detach(), method, tgt, pred, None if gap is None else gap.detach())


INK = 0.3   # a pixel is ink (part of a stroke) above this share of the input range


def strokes(x: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
    """The ink of images ``x`` with inputs in ``bounds``: a mask of the pixels above INK."""
    lo, hi = bounds
    return x > lo + INK * (hi - lo)


def positive_share(attribution: torch.Tensor, mask: torch.Tensor) -> float:
    """Share of the positive attribution mass that falls on ``mask`` (e.g. the digit's strokes)."""
    pos = attribution.clamp_min(0)
    total = float(pos.sum())
    return float(pos[mask].sum()) / total if total > 0 else 0.0
