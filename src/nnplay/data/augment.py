"""Data augmentation: transform scarce training images into more, on batches, with kornia.

``data.augment`` lists the transforms; the Trainer applies them to each training batch only
(never to validation or test). Per-sample transforms (shift, rotate, flip, noise, erase) keep
the label; the mixes replace a batch by pairs blended together and blend the labels the same
way, so the loss gets soft targets  y = (1 - lam) onehot(y_i) + lam onehot(y_j):
- MixUp, Zhang et al. 2018, https://arxiv.org/abs/1710.09412 (pixels blended: (1 - lam) x_i + lam x_j);
- CutMix, Yun et al. 2019, https://arxiv.org/abs/1905.04899 (a box of x_j pasted into x_i; lam = its area).
Test-time augmentation (``train.tta = N``) averages the predictions over N augmented copies of
each test image (per-sample transforms only).

kornia draws from torch's global generator; ``Augment`` swaps in its own generator's state for
each call, so training stays reproducible from ``train.seed`` and the global stream is untouched.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from ..spec import AugmentSpec, SpecError

DEFAULTS = {"shift": 0.125, "degrees": 10.0, "std": 0.05, "area": 0.2}   # unset amounts
MIXES = ("cutmix", "mixup")
MIRROR_BLIND = ("digits", "idx")   # digits: a mirrored 2 is no digit, so flips are refused


def _amount(a: AugmentSpec, name: str) -> float:
    v = getattr(a, name)
    return DEFAULTS[name] if v is None else v


def _kornia(a: AugmentSpec) -> nn.Module:
    """The kornia module for one transform."""
    import kornia.augmentation as K
    if a.type == "shift":
        s = _amount(a, "shift")
        return K.RandomAffine(degrees=0.0, translate=(s, s), p=a.p)
    if a.type == "rotate":
        return K.RandomAffine(degrees=_amount(a, "degrees"), p=a.p)
    if a.type == "flip":
        return K.RandomHorizontalFlip(p=a.p)
    if a.type == "noise":
        return K.RandomGaussianNoise(std=_amount(a, "std"), p=a.p)
    if a.type == "erase":
        area = _amount(a, "area")
        return K.RandomErasing(scale=(min(0.02, area), area), p=a.p)
    if a.type == "cutmix":   # lam = the pasted box's share of the image (the paper's lambda)
        return K.RandomCutMixV2(p=a.p, use_correct_lambda=True, data_keys=["input", "class"])
    return K.RandomMixUpV2(p=a.p, data_keys=["input", "class"])


@contextmanager
def own_rng(generator: torch.Generator):
    """Run kornia (which draws from torch's global CPU generator) on ``generator``'s stream."""
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(generator.get_state())
        try:
            yield
        finally:
            generator.set_state(torch.get_rng_state())


def soft_targets(labels: torch.Tensor, y: torch.Tensor, num_classes: int, kind: str = "mixup") -> torch.Tensor:
    """kornia's mix labels, rows [y_i, y_j, lam] ((B, 3), or (1, B, 3) for CutMix) -> soft
    targets (B, K) = (1 - s) onehot(y_i) + s onehot(y_j), s the share of image j in the result.
    kornia's lam is that share for MixUp (x' = (1 - lam) x_i + lam x_j), but the share of image
    i kept for CutMix (use_correct_lambda: lam = 1 - box area / image area)."""
    mix = labels.reshape(-1, 3)[-len(y):]                         # (B, 3)
    lam = mix[:, 2:3].float()
    share = 1 - lam if kind == "cutmix" else lam                  # (B, 1)
    own = nn.functional.one_hot(y.long(), num_classes).float()
    other = nn.functional.one_hot(mix[:, 1].long(), num_classes).float()
    return (1 - share) * own + share * other


class Augment:
    """The transforms of ``data.augment`` for one data set: ``augment(x, y)`` -> (images,
    targets); targets are soft (B, K) when a mix is on, else ``y`` itself."""

    def __init__(self, specs: list[AugmentSpec], num_classes: int, task: str,
                 bounds: tuple[float, float], seed: int = 0):
        self.specs = list(specs)
        self.per_sample = nn.Sequential(*[_kornia(a) for a in specs if a.type not in MIXES])
        mixes = [a for a in specs if a.type in MIXES]
        self.mix = _kornia(mixes[0]) if mixes else None      # build() allows one
        self.mix_kind = mixes[0].type if mixes else None
        self.num_classes, self.task, self.bounds = num_classes, task, bounds
        self.generator = torch.Generator().manual_seed(seed)

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample transforms only, clamped to the data's valid range (noise may leave it)."""
        if len(self.per_sample) == 0:
            return x
        with own_rng(self.generator):
            out = self.per_sample(x)
        return out.clamp(*self.bounds)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.images(x)                                   # (B, C, H, W)
        if self.mix is None:
            return x, y
        k = 2 if self.task == "binary" else self.num_classes
        with own_rng(self.generator):
            x, labels = self.mix(x, y.long())
        target = soft_targets(labels, y, k, self.mix_kind)    # (B, K)
        return x, (target[:, 1] if self.task == "binary" else target)


def build(specs: list[AugmentSpec], data, seed: int) -> Augment | None:
    """``data.augment`` for a DataBundle, or None when empty; unusable transforms are errors."""
    if not specs:
        return None
    if not data.is_image:
        raise SpecError.say("augment.images_only", shape="x".join(map(str, data.input_shape)))
    mixes = [a.type for a in specs if a.type in MIXES]
    if mixes and data.task == "regression":
        raise SpecError.say("augment.mix_classes")
    if len(mixes) > 1:
        raise SpecError.say("augment.one_mix", got=", ".join(mixes))
    return Augment(specs, data.num_classes, data.task, data.bounds, seed)


def check(specs: list[AugmentSpec], data_name: str) -> None:
    """Flips are refused for digits: they change what a digit means."""
    if data_name in MIRROR_BLIND and any(a.type == "flip" for a in specs):
        raise SpecError.say("augment.flip_digits", name=data_name)


def tta_predict(predict, x: torch.Tensor, augment: Augment, n: int) -> torch.Tensor:
    """Probabilities averaged over ``n`` augmented copies of ``x`` (test-time augmentation)."""
    return torch.stack([predict(augment.images(x)) for _ in range(n)]).mean(0)


def preview(spec, n: int = 16, seed: int = 0, data=None) -> dict:
    """A training batch before and after ``spec.data.augment`` (what the playground shows):
    {"before": (n, C, H, W), "after": (n, C, H, W), "labels": (n,), "targets": labels or soft
    (n, K) after a mix}. ``data``: the spec's DataBundle when already loaded."""
    from . import load_data
    check(spec.data.augment, spec.data.name)
    data = data if data is not None else load_data(spec.data)
    aug = build(spec.data.augment, data, seed)
    idx = np.random.default_rng(seed).permutation(len(data.x_train))[:n]
    x, y = data.x_train[idx], data.y_train[idx]
    if aug is None:
        return {"before": x, "after": x.clone(), "labels": y, "targets": y}
    after, targets = aug(x, y)
    return {"before": x, "after": after, "labels": y, "targets": targets}
