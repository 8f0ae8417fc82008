"""Uncertainty (불확실성): can the model say "I am not sure"?

Several predictions per input, as logits (S, N, K), give a predictive distribution:
MC dropout (Gal & Ghahramani 2016, https://arxiv.org/abs/1506.02142) keeps dropout on
at inference and runs S passes; a deep ensemble (Lakshminarayanan et al. 2017,
https://arxiv.org/abs/1612.01474) runs S members trained from different seeds.
From them: the predictive mean p = mean_s softmax(logits_s / T), its entropy H[p]
(total uncertainty) and the mutual information H[p] - mean_s H[p_s] (the model's own
doubt). Calibration: expected calibration error and temperature scaling (Guo et al.
2017, https://arxiv.org/abs/1706.04599). Out-of-distribution inputs are scored by
their entropy, and the separation is measured by the area under the ROC curve.

One call shape for the family, like ``attack`` and ``explain``:
``uncertainty(model_or_models, x, y, method=...)`` -> ``Uncertainty``, whose ``summary()``
carries its own sanity figures (ECE, OOD AUROCs) under the keys the CLI and the server share.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..model import eval_mode
from ..model.layers import dropout
from .base import TrustError, as_classifier, check_choice, logits

OOD_KINDS = ("noise", "rotated", "inverted")
METHODS = ("single", "mc-dropout", "ensemble")   # one eval pass; MC dropout; a deep ensemble
ONE_MODEL = METHODS[:2]                           # the methods that need only one network
PASSES = 50                                       # MC dropout passes (nnplay uncertainty --passes)
BINS = 10                                         # confidence bins (ECE, reliability diagram)


def entropy(p: torch.Tensor) -> torch.Tensor:
    """H[p] = -sum_k p_k log p_k along the last axis (nats)."""
    return -(p * p.clamp_min(1e-12).log()).sum(-1)


@dataclass
class Predictive:
    """S predictions of N inputs: logits (S, N, K), at temperature T."""
    logits: torch.Tensor
    temperature: float = 1.0

    @property
    def member_probs(self) -> torch.Tensor:          # (S, N, K)
        return torch.softmax(self.logits / self.temperature, -1)

    @property
    def probs(self) -> torch.Tensor:                 # (N, K): the predictive mean
        return self.member_probs.mean(0)

    @property
    def entropy(self) -> torch.Tensor:               # (N,): total uncertainty
        return entropy(self.probs)

    @property
    def mutual_information(self) -> torch.Tensor:    # (N,): disagreement between passes
        return (self.entropy - entropy(self.member_probs).mean(0)).clamp_min(0)

    def scaled(self, temperature: float) -> "Predictive":
        return Predictive(self.logits, float(temperature))


def single(model: nn.Module, x: torch.Tensor) -> Predictive:
    """One deterministic pass (eval mode): the baseline the other methods improve on."""
    return Predictive(logits(model, x).unsqueeze(0))


def has_dropout(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.dropout._DropoutNd) for m in model.modules())


@torch.no_grad()
def mc_dropout(model: nn.Module, x: torch.Tensor, passes: int = 50, seed: int = 0) -> Predictive:
    """MC dropout: ``passes`` forward passes with only the dropout layers in train mode;
    the masks of ``nn.Dropout`` layers come from a generator seeded with ``seed``."""
    if not has_dropout(model):
        raise TrustError("method 'mc-dropout' needs a model with dropout (model.dropout > 0 or a "
                         "layer of type 'dropout'); this model has none; allowed instead: ensemble")
    if passes < 2:
        raise TrustError(f"passes: must be an integer >= 2; received: {passes!r}")
    clf = as_classifier(model)
    drops = [m for m in clf.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    gen = torch.Generator(x.device).manual_seed(seed)   # seeded masks, the global RNG untouched
    with eval_mode(clf):
        for m in drops:
            m.train()
            if isinstance(m, nn.Dropout):   # nnplay's and PyTorch's: masks from gen for this call
                m.forward = functools.partial(dropout, p=m.p, generator=gen)
        try:
            out = torch.stack([clf(x).float() for _ in range(passes)])
        finally:
            for m in drops:
                m.__dict__.pop("forward", None)
    return Predictive(out)


def ensemble(models: list[nn.Module], x: torch.Tensor) -> Predictive:
    """Deep ensemble: each member's eval-mode logits."""
    if len(models) < 2:
        raise TrustError(f"members: an ensemble needs 2 or more models; received: {len(models)}")
    return Predictive(torch.stack([logits(m, x) for m in models]))


# --- calibration -----------------------------------------------------------------------
@dataclass
class Calibration:
    """ECE = sum_b |B_b| / N * |accuracy(B_b) - confidence(B_b)| over equal-width bins."""
    ece: float
    bins: list[dict]    # {lo, hi, count, confidence, accuracy}


def calibration(probs: torch.Tensor, y: torch.Tensor, bins: int = 10) -> Calibration:
    """Confidence = max probability; bin b holds confidences in (b/M, (b+1)/M]."""
    conf, pred = probs.max(1)
    hit = (pred == y).float()
    n = len(y)
    rows, ece = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        m = (conf > lo) & (conf <= hi) if b else (conf >= lo) & (conf <= hi)
        k = int(m.sum())
        c = float(conf[m].mean()) if k else 0.0
        a = float(hit[m].mean()) if k else 0.0
        ece += k / n * abs(a - c)
        rows.append({"lo": lo, "hi": hi, "count": k, "confidence": c, "accuracy": a})
    return Calibration(ece, rows)


def confidence_histogram(probs: torch.Tensor, bins: int = 10) -> torch.Tensor:
    """Share of inputs (bins,) whose confidence max_k p_k falls in each of ``calibration``'s bins."""
    conf = probs.max(1).values
    b = (torch.ceil(conf * bins).long() - 1).clamp(0, bins - 1)   # (b/M, (b+1)/M] -> b; 0 -> bin 0
    return torch.bincount(b, minlength=bins).float() / max(1, len(conf))


def fit_temperature(pred: Predictive, y: torch.Tensor, steps: int = 100) -> float:
    """The T > 0 that minimizes the negative log-likelihood of ``y`` (validation data)."""
    log_t = torch.zeros((), device=pred.logits.device, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")
    lg = pred.logits.detach()

    def nll() -> torch.Tensor:
        opt.zero_grad()
        p = torch.softmax(lg / log_t.exp(), -1).mean(0)           # (N, K)
        loss = -p.gather(1, y.view(-1, 1)).clamp_min(1e-12).log().mean()
        loss.backward()
        return loss

    opt.step(nll)
    return float(log_t.detach().exp().clamp(0.05, 20))


# --- out-of-distribution inputs ------------------------------------------------------
def ood_inputs(x: torch.Tensor, kind: str, bounds: tuple[float, float], seed: int = 0) -> torch.Tensor:
    """Inputs the model never saw, shaped like ``x``: uniform noise over ``bounds``;
    for images also digits rotated a quarter turn, or inverted (lo + hi - x)."""
    check_choice("ood", kind, OOD_KINDS)
    lo, hi = bounds
    if kind == "noise":
        u = torch.rand(x.shape, generator=torch.Generator().manual_seed(seed)).to(x)
        return lo + (hi - lo) * u
    if x.dim() != 4:
        raise TrustError(f"ood: {kind!r} needs image inputs; allowed for this data: noise")
    if kind == "rotated":
        return torch.rot90(x, 1, dims=(2, 3)) if x.shape[2] == x.shape[3] else x.flip(2)
    return lo + hi - x


def ood_auroc(score_in: torch.Tensor, score_out: torch.Tensor) -> float:
    """AUROC of telling OOD (positive) from in-distribution inputs by a score (e.g. entropy)."""
    from sklearn.metrics import roc_auc_score
    labels = np.r_[np.zeros(len(score_in)), np.ones(len(score_out))]
    return float(roc_auc_score(labels, np.r_[score_in.cpu().numpy(), score_out.cpu().numpy()]))


# --- deep-ensemble members as runs -------------------------------------------------------
def ensemble_runs(run, members: int, store, on_member=None) -> list:
    """``run`` plus ``members - 1`` runs of the same spec with seeds seed+1, seed+2, ...

    Members already in ``store`` (same spec but the seed, finished) are reused; the
    others are trained with ``nnplay.runs.train_run``, so they are ordinary runs.
    ``on_member(i, seed)`` is called before each member is trained.
    """
    from ..runs import train_run
    if members < 2:
        raise TrustError(f"members: an ensemble needs 2 or more members; received: {members!r}")
    spec = run.spec
    base = spec.train.seed

    def key(s) -> str:
        d = s.to_dict()
        d["train"].pop("seed", None)
        return repr(d)

    found: dict[int, object] = {base: run}
    for row in store.list():
        if row["status"] != "done" or row["id"] == run.id or row["name"] != spec.name:
            continue
        other = store.get(row["id"])
        s = other.spec
        if key(s) == key(spec) and s.train.seed not in found:
            found[s.train.seed] = other
    out = [run]
    for i in range(1, members):
        seed = base + i
        if seed not in found:
            if on_member is not None:
                on_member(i, seed)
            found[seed], _ = train_run(spec.model_copy(update={"train": spec.train.model_copy(
                update={"seed": seed})}), store)
        out.append(found[seed])
    return out


# --- the family's one call ---------------------------------------------------------------
@dataclass
class Uncertainty:
    """``uncertainty``'s answer: the test set's predictive distribution, its calibration, and
    each OOD kind's predictive; ``passes``: predictions per input (an ensemble's members);
    ``temperature`` fitted on validation data (1 without)."""
    method: str
    test: Predictive
    y: torch.Tensor
    calibration: Calibration
    ood: dict[str, Predictive]
    passes: int = 1
    temperature: float = 1.0
    val: tuple[Predictive, torch.Tensor] | None = None

    def summary(self) -> dict:
        """The figures, under the keys ``nnplay uncertainty --json`` and the playground share:
        accuracy, ece (and at the fitted temperature), each OOD kind's AUROC by entropy
        (``auroc``) and by mutual information, and ``ood_auroc`` over every kind together."""
        test, bins = self.test, len(self.calibration.bins)
        out = {"method": self.method, "passes": self.passes,
               "accuracy": float((test.probs.argmax(1) == self.y).float().mean()),
               "ece": self.calibration.ece, "bins": self.calibration.bins,
               "mean_confidence": float(test.probs.max(1).values.mean()),
               "mean_entropy": float(test.entropy.mean()),
               "temperature": self.temperature,
               "ece_calibrated": calibration(test.scaled(self.temperature).probs, self.y, bins).ece}
        if self.val is not None:
            val, yv = self.val
            out.update(val_ece=calibration(val.probs, yv, bins).ece,
                       val_ece_calibrated=calibration(val.scaled(self.temperature).probs, yv, bins).ece)
        out["ood"] = {k: {"auroc": ood_auroc(test.entropy, p.entropy),
                          "auroc_mutual_information": ood_auroc(test.mutual_information, p.mutual_information),
                          "mean_confidence": float(p.probs.max(1).values.mean()),
                          "mean_entropy": float(p.entropy.mean())} for k, p in self.ood.items()}
        out["ood_auroc"] = ood_auroc(test.entropy, torch.cat([p.entropy for p in self.ood.values()]))
        return out


def uncertainty(model_or_models: nn.Module | list[nn.Module], x: torch.Tensor, y: torch.Tensor,
                method: str = "single", *, bounds: tuple[float, float], ood: tuple[str, ...] | None = None,
                passes: int = PASSES, bins: int = BINS,
                val: tuple[torch.Tensor, torch.Tensor] | None = None, seed: int = 0) -> Uncertainty:
    """How sure the model is on ``x`` (labels ``y``) and on inputs it never saw.

    ``method``: "single" (one eval pass), "mc-dropout" (``passes`` passes with dropout on,
    Gal & Ghahramani 2016) or "ensemble" (a list of 2+ models, Lakshminarayanan et al.
    2017). ``ood``: the OOD kinds (default: every kind for images, noise otherwise), made
    from ``x`` within ``bounds``. ``val`` (x, y): the temperature is fitted on it (Guo et
    al. 2017)."""
    check_choice("method", method, METHODS)
    models = model_or_models if isinstance(model_or_models, (list, tuple)) else [model_or_models]
    if method == "ensemble":
        def predict(z): return ensemble(list(models), z)
    elif method == "mc-dropout":
        def predict(z): return mc_dropout(models[0], z, passes, seed)
    else:
        def predict(z): return single(models[0], z)
    kinds = ood if ood is not None else OOD_KINDS if x.dim() == 4 else ("noise",)
    test = predict(x)
    v = (predict(val[0]), val[1]) if val is not None and len(val[0]) else None
    temperature = fit_temperature(v[0], v[1]) if v is not None else 1.0
    outs = {k: predict(ood_inputs(x, k, bounds, seed)) for k in kinds}
    return Uncertainty(method, test, y, calibration(test.probs, y, bins), outs,
                       passes if method == "mc-dropout" else len(models) if method == "ensemble" else 1,
                       temperature, v)

