"""The image mode's CNN explainer (issue 15, after CNN Explainer, Wang et al. 2020,
https://arxiv.org/abs/2004.15004): how one number of a feature map is made, and the learner's
own drawn or uploaded image flowing through the network.

Thin: the numbers come from ``probes.explain_at`` / ``probes.softmax_at`` and the raw pixels
become the model's input with ``DataBundle.from_raw``; this module checks the request against
the session and packs the answer (a binary frame, header ``type`` = ``inspect``).
"""
from __future__ import annotations

import numpy as np
import torch

from .. import probes
from ..train import Trainer
from .protocol import Input, Inspect, MessageError, View

SCALARS = ("kind", "conv", "pool", "op", "unit", "row", "col", "top", "left", "stride",
           "padding", "sum", "bias", "z", "out", "after", "winner", "value")
ARRAYS = ("patch", "kernel", "products", "channel_sums", "window")


def _image_mode(tr: Trainer, what: str) -> None:
    if not tr.data.is_image:
        raise MessageError(f"{what}: works in image mode; allowed data: digits, an IDX set or an image folder")


def drawn(tr: Trainer, m: Input) -> np.ndarray | None:
    """The raw image of an ``input`` message, (C, H, W), checked against the data's shape."""
    _image_mode(tr, "input")
    if m.pixels is None:
        return None
    shape = tr.data.input_shape
    n = int(np.prod(shape))
    if len(m.pixels) != n:
        raise MessageError(f"input.pixels: must hold C x H x W = {' x '.join(map(str, shape))} = {n} "
                           f"numbers in [0, 1]; received: {len(m.pixels)}")
    return np.asarray(m.pixels, np.float32).reshape(shape)


def shown(tr: Trainer, view: View, raw: np.ndarray | None) -> tuple[torch.Tensor, dict]:
    """(the model's input (C, H, W), the frame's ``image`` header) of the image the frames
    show: the learner's own (``raw``, when it fits the data) or test image ``view.image``."""
    d = tr.data
    if raw is not None and raw.shape == tuple(d.input_shape):
        return d.from_raw(raw[None])[0], {"index": None, "label": None, "drawn": True}
    i = min(view.image, len(d.x_test) - 1)
    return d.x_test[i], {"index": i, "label": int(d.y_test[i]), "drawn": False}


def softmax(tr: Trainer, x: torch.Tensor) -> dict | None:
    """``probes.softmax_at`` for a classifier (None for regression)."""
    return probes.softmax_at(tr.model, x) if tr.data.task != "regression" else None


def answer(tr: Trainer, m: Inspect, x: torch.Tensor, image: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) answering ``m`` for image ``x``; a bad layer or place raises
    ``probes.ProbeError`` (worded in English and Korean)."""
    _image_mode(tr, "inspect")
    r = probes.explain_at(tr.model, x, m.layer, m.unit, m.row, m.col)
    header = {"type": "inspect", "epoch": tr.epoch, "layer": m.layer, "image": image, "input_layer": r["input"],
              **{k: r[k] for k in SCALARS if k in r}}
    arrays = {k: r[k] for k in ARRAYS if k in r}
    arrays["input"] = r["input_map"]
    return header, arrays
