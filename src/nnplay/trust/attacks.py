"""Adversarial examples (적대적 공격): small input changes that flip a prediction.

One family, one call shape: ``attack(model, x, y, eps=..., method=...) -> AttackResult``.
PGD (Madry et al. 2018, https://arxiv.org/abs/1706.06083) repeats

    x <- Proj_{||x - x0|| <= eps}( x + alpha * step(grad_x loss) ),  then clip to the valid range,

with step = sign(g) for the L-infinity ball and g / ||g||_2 for the L2 ball, from a
random point in the ball. FGSM (Goodfellow et al. 2015, https://arxiv.org/abs/1412.6572)
is PGD with one step of size eps and no random start. A targeted attack descends the
loss of the target class instead of ascending the loss of the true class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..model import eval_mode
from .base import (
    TrustError,
    as_classifier,
    check_choice,
    check_eps,
    check_labels,
    logits,
)

METHODS = ("fgsm", "pgd")
NORMS = ("linf", "l2")


@dataclass
class AttackResult:
    """Adversarial inputs and the figures that check them: success rate, achieved norm."""
    x_adv: torch.Tensor          # (N, ...) inside the valid range
    y: torch.Tensor              # (N,) true labels
    clean_pred: torch.Tensor     # (N,)
    adv_pred: torch.Tensor       # (N,)
    perturbation: torch.Tensor   # (N,) achieved ||x_adv - x|| in the attack's norm
    method: str
    eps: float
    norm: str                    # "linf" | "l2" | "patch"
    target: torch.Tensor | None = None   # (N,) for targeted attacks
    extra: dict = field(default_factory=dict)   # method settings, shown in the summary
    patch: torch.Tensor | None = None    # (C, s, s): the learned patch (method "patch")

    @property
    def clean_accuracy(self) -> float:
        return float((self.clean_pred == self.y).float().mean())

    @property
    def adversarial_accuracy(self) -> float:
        return float((self.adv_pred == self.y).float().mean())

    @property
    def success_rate(self) -> float:
        """Untargeted: share of correctly classified inputs now wrong.
        Targeted: share of inputs not already in the target class now predicted as it."""
        if self.target is None:
            base = self.clean_pred == self.y
            hit = self.adv_pred != self.y
        else:
            base = self.clean_pred != self.target
            hit = self.adv_pred == self.target
        return float(hit[base].float().mean()) if base.any() else 0.0

    def summary(self) -> dict:
        return {"method": self.method, "norm": self.norm, "eps": self.eps,
                "targeted": self.target is not None, "samples": len(self.y),
                "clean_accuracy": self.clean_accuracy,
                "adversarial_accuracy": self.adversarial_accuracy,
                "success_rate": self.success_rate,
                "max_perturbation": float(self.perturbation.max()) if len(self.y) else 0.0,
                "mean_perturbation": float(self.perturbation.mean()) if len(self.y) else 0.0,
                **self.extra}


def norm_of(d: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-sample norm of a batch (N, ...) -> (N,)."""
    flat = d.flatten(1)
    return flat.abs().amax(1) if norm == "linf" else flat.norm(dim=1)


def _unit(g: torch.Tensor, norm: str) -> torch.Tensor:
    """The steepest-ascent step of length 1 in ``norm``: sign(g), or g / ||g||_2."""
    if norm == "linf":
        return g.sign()
    n = g.flatten(1).norm(dim=1).clamp_min(1e-12)
    return g / n.view(-1, *[1] * (g.dim() - 1))


def _project(d: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """Nearest point of the eps-ball to the perturbation d."""
    if norm == "linf":
        return d.clamp(-eps, eps)
    n = d.flatten(1).norm(dim=1).clamp_min(1e-12)
    return d * (eps / n).clamp(max=1).view(-1, *[1] * (d.dim() - 1))


def _random_start(x: torch.Tensor, eps: float, norm: str, gen: torch.Generator | None) -> torch.Tensor:
    """A uniform random point of the eps-ball (L2: random direction, radius eps * U^(1/D))."""
    u = torch.rand(x.shape, generator=gen).to(x)
    if norm == "linf":
        return (2 * u - 1) * eps
    d = torch.randn(x.shape, generator=gen).to(x)
    r = torch.rand(len(x), generator=gen).to(x) ** (1 / x[0].numel()) * eps
    return _unit(d, "l2") * r.view(-1, *[1] * (x.dim() - 1))


def pgd_step(eps: float, steps: int) -> float:
    """PGD's default step size: 2.5 * eps / steps, so the steps can cross the eps-ball and back
    (Madry et al. 2018)."""
    return 2.5 * eps / steps


def perturb(loss_of: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float,
            steps: int, step_size: float, norm: str = "linf", random_start: bool = True,
            bounds: tuple[float, float] = (0.0, 1.0), generator: torch.Generator | None = None
            ) -> torch.Tensor:
    """The PGD loop: ascend ``loss_of(x_adv)`` (a scalar) inside the eps-ball and the bounds."""
    lo, hi = bounds
    x0 = x.detach()
    xa = x0.clone()
    if random_start and eps > 0:
        xa = (x0 + _random_start(x0, eps, norm, generator)).clamp(lo, hi)
    for _ in range(steps):
        xa.requires_grad_(True)
        (g,) = torch.autograd.grad(loss_of(xa), xa)       # only the input's gradient
        xa = xa.detach() + step_size * _unit(g, norm)
        xa = (x0 + _project(xa - x0, eps, norm)).clamp(lo, hi)
    return xa.detach()


def attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float = 0.1,
           method: str = "pgd", norm: str = "linf", steps: int = 10, step_size: float | None = None,
           random_start: bool | None = None, target: int | torch.Tensor | None = None,
           bounds: tuple[float, float] = (0.0, 1.0), seed: int = 0) -> AttackResult:
    """Attack a classifier on a batch (N, ...) with labels (N,).

    ``method="fgsm"``: one step of size eps, no random start. ``"pgd"``: ``steps`` steps of
    ``step_size`` (default 2.5 * eps / steps) from a random start. ``target``: a class
    (or one per sample) to push the predictions to; None attacks the true class.
    The model runs in eval mode (dropout off, batch-norm statistics untouched).
    """
    check_choice("method", method, METHODS)
    check_choice("norm", norm, NORMS)
    check_labels(y)
    check_eps(eps, bounds, norm, x[0].numel() if len(x) else 1)
    if steps < 1:
        raise TrustError(f"steps: must be an integer >= 1; received: {steps!r}")
    clf = as_classifier(model)
    if method == "fgsm":
        steps, step_size, random_start = 1, eps if step_size is None else step_size, bool(random_start)
    else:
        step_size = pgd_step(eps, steps) if step_size is None else step_size
        random_start = True if random_start is None else random_start
    clean = logits(clf, x)
    tgt = None
    if target is not None:
        tgt = torch.as_tensor(target, dtype=torch.long, device=y.device).expand(len(y)).clone()
        k = clean.shape[1]
        if int(tgt.min()) < 0 or int(tgt.max()) >= k:
            raise TrustError(f"target: must be a class between 0 and {k - 1}; received: {target!r}")
    labels, sign = (y, 1.0) if tgt is None else (tgt, -1.0)
    with eval_mode(clf):
        xa = perturb(lambda z: sign * F.cross_entropy(clf(z), labels, reduction="sum"), x, eps,
                     steps, step_size, norm, random_start, bounds,
                     torch.Generator().manual_seed(seed))
    return AttackResult(xa, y, clean.argmax(1), logits(clf, xa).argmax(1), norm_of(xa - x, norm),
                        method, float(eps), norm, tgt,
                        {"steps": steps, "step_size": float(step_size), "random_start": random_start})


def robustness_curve(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilons: list[float],
                     **kw) -> list[dict]:
    """Accuracy against epsilon (eps = 0 is the clean accuracy): [{eps, accuracy, success_rate}]."""
    rows = []
    for eps in epsilons:
        r = attack(model, x, y, eps=float(eps), **kw)
        rows.append({"eps": float(eps), "accuracy": r.adversarial_accuracy,
                     "success_rate": r.success_rate})
    return rows


def adversary_for(trainer) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``train.adversarial``'s hook for a Trainer: ``Trainer(spec, adversary=adversary_for)``."""
    return adversarial_trainer(trainer.model, trainer.loss_fn, trainer.spec.train.adversarial,
                               trainer.data.bounds, trainer.generator)


def adversarial_trainer(model: nn.Module, loss_fn: Callable, adv, bounds: tuple[float, float],
                        generator: torch.Generator | None = None
                        ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Adversarial training (Madry et al. 2018): a callable (xb, yb) -> xb for the Trainer.

    A share ``adv.mix`` of each batch is replaced by attacked copies (FGSM, or PGD with
    ``adv.steps`` steps) against the training loss. The attack runs in eval mode so
    batch-norm statistics and dropout are untouched; the train mode is then restored.
    PGD's random starts come from ``generator`` (the Trainer's own; None: the global RNG).
    """
    steps = 1 if adv.method == "fgsm" else adv.steps
    step_size = adv.eps if adv.method == "fgsm" else pgd_step(adv.eps, steps)

    def adversary(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        k = round(adv.mix * len(xb))
        if k == 0 or adv.eps == 0:
            return xb
        with eval_mode(model):
            xa = perturb(lambda z: loss_fn(model(z).float(), yb[:k]), xb[:k], adv.eps, steps,
                         step_size, "linf", adv.method == "pgd", bounds, generator)
        return torch.cat([xa, xb[k:]])

    return adversary
