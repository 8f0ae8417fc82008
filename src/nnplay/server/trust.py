"""The playground's "Can we believe it?" (믿을 수 있을까?) tab: one ``trust`` message, one answer.

Each answer is a binary frame (header ``type`` = ``trust``) made of ``nnplay.trust`` calls on
the session's current model and test set; nothing is computed here but the packing.
The worker thread calls ``answer`` between epochs, like every other message.
"""
from __future__ import annotations

import numpy as np
import torch

from ..train import Trainer
from ..trust import attacks, explain, uncertainty
from ..trust.base import TrustError, check_eps, check_task, logits
from .protocol import MessageError, Trust

MC_PASSES = 10      # MC dropout passes: few, so the answer stays fast (about 0.1 s on digits)
BINS = uncertainty.BINS   # confidence bins: reliability diagram and confidence histograms


def answer(tr: Trainer, m: Trust) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) answering ``m`` for the trainer's current model; user errors raise."""
    d = tr.data
    if not d.is_image:
        raise MessageError("trust: the 'Can we believe it?' tab works in image mode; "
                           "allowed data: digits or an IDX image set")
    check_task(d.task, "trust")
    n = len(d.x_test)
    if not 0 <= m.image < n:
        raise MessageError(f"trust.image: must be a test image index between 0 and {n - 1}; "
                           f"received: {m.image}")
    try:
        check_eps(m.eps, d.bounds)   # the library's rule, worded for the message's field
    except TrustError as e:
        raise MessageError(f"trust.{e}") from None
    header = {"type": "trust", "what": m.what, "epoch": tr.epoch,
              "image": {"index": m.image, "label": int(d.y_test[m.image])}}
    make = {"attack": _attack, "explain": _explain, "uncertainty": _uncertainty}[m.what]
    more, arrays = make(tr, m)
    return {**header, **more}, arrays


def _probs(model, x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits(model, x), 1)


def _attack(tr: Trainer, m: Trust):
    """The picked image attacked, and the same attack on the whole test set."""
    d, method = tr.data, m.method or "fgsm"
    x, y = d.x_test[m.image:m.image + 1], d.y_test[m.image:m.image + 1]
    one = attacks.attack(tr.model, x, y, eps=m.eps, method=method, bounds=d.bounds)
    test = attacks.attack(tr.model, d.x_test, d.y_test, eps=m.eps, method=method, bounds=d.bounds)
    clean, adv = _probs(tr.model, x)[0], _probs(tr.model, one.x_adv)[0]
    header = {"method": method, "eps": m.eps, "norm": one.norm, "steps": one.extra["steps"],
              "clean": {"pred": int(one.clean_pred[0]), "probs": clean.tolist()},
              "adversarial": {"pred": int(one.adv_pred[0]), "probs": adv.tolist()},
              "perturbation": float(one.perturbation[0]),
              "test": {k: v for k, v in test.summary().items()
                       if k in ("samples", "clean_accuracy", "adversarial_accuracy", "success_rate")}}
    arrays = {"input": x[0].numpy(), "perturbation": (one.x_adv - x)[0].numpy(),
              "adversarial": one.x_adv[0].numpy()}
    return header, arrays


def _explain(tr: Trainer, m: Trust):
    """Attribution maps of the picked image for ``m.method``, or for every method."""
    x = tr.data.x_test[m.image:m.image + 1]
    methods = [m.method] if m.method else list(explain.METHODS)
    header: dict = {"methods": [], "errors": {}, "probs": _probs(tr.model, x)[0].tolist()}
    arrays = {"input": x[0].numpy()}
    for name in methods:
        try:
            e = explain.explain(tr.model, x, name)
        except TrustError as err:      # e.g. Grad-CAM on a network without conv layers
            header["errors"][name] = str(err)
            continue
        header["methods"].append(name)
        header["predicted"], header["target"] = int(e.predicted[0]), int(e.target[0])
        if e.completeness_gap is not None:
            header["completeness_gap"] = float(e.completeness_gap[0])
        arrays[f"attr:{name}"] = e.attribution[0].numpy()
    return header, arrays


def _uncertainty(tr: Trainer, m: Trust):
    """Calibration on the test set, and confidence on inputs it never saw (OOD)."""
    d = tr.data
    res = uncertainty.uncertainty(tr.model, d.x_test, d.y_test, m.method or "single", bounds=d.bounds,
                                  passes=MC_PASSES, bins=BINS)
    arrays = {f"confidence:{k}": uncertainty.confidence_histogram(p.probs, BINS).numpy()
              for k, p in {"test": res.test, **res.ood}.items()}
    return res.summary(), arrays
