"""The playground's practice views (issue 12): augmentation preview, active learning in the
2-D mode, nearest neighbours of a metric-learning embedding, and image folders from --data-dir.

Thin: every number comes from the library (``data.augment.preview``, ``active.ask``,
``retrieval.embed`` / ``retrieval.neighbors``, ``data.folder``); this module checks the
request against the session and the server's caps and packs the answer as a binary frame
(header ``type`` = the message's type). The worker thread calls ``answer`` between epochs.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import get_args

import numpy as np

from .. import active, probes, retrieval
from .. import spec as specmod
from ..data import augment
from ..data.folder import SUFFIXES
from ..train import Trainer
from .limits import LimitError, Limits
from .protocol import Ask, AugmentPreview, MessageError, Neighbors

log = logging.getLogger("nnplay.server")
ASK_GRID = 15      # the 2-D pool the model asks about: a 15 x 15 grid over the plane


def options(folder_sets: dict[str, str]) -> dict:
    """The hello's extras: active-learning strategies, transforms and the offered image folders."""
    return {"strategies": list(active.STRATEGIES), "transforms": list(get_args(specmod.Transform)),
            "folder_sets": folder_sets}


def find_folder_sets(data_dir: str | Path | None, limits: Limits) -> dict[str, str]:
    """{name: folder} of ``data_dir``'s sub-folders that hold one sub-folder per class (at least
    two, each with a PNG or JPEG); folders with more images than ``limits.image_samples`` are
    left out (the server would load them whole)."""
    root = Path(data_dir) if data_dir else None
    if root is None or not root.is_dir():
        return {}
    found = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        classes = [c for c in sub.iterdir() if c.is_dir() and not c.name.startswith(".")]
        counts = [sum(1 for f in c.iterdir() if f.suffix.lower() in SUFFIXES) for c in classes]
        if len(classes) < 2 or not all(counts):
            continue
        if sum(counts) > limits.image_samples:
            log.warning("image folder %s: %d images, over the limit of %d; not offered",
                        sub, sum(counts), limits.image_samples)
            continue
        found[sub.name] = str(sub.resolve())
    return found


def answer(tr: Trainer, m, limits: Limits) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) answering an ``augment``, ``ask`` or ``neighbors`` message."""
    make = {"augment": _augment, "ask": _ask, "neighbors": _neighbors}[m.type]
    header, arrays = make(tr, m, limits)
    return {"type": m.type, "epoch": tr.epoch, **header}, arrays


def _augment(tr: Trainer, m: AugmentPreview, limits: Limits):
    """A training batch before and after the spec's ``data.augment`` (``augment.preview``)."""
    if not tr.data.is_image:
        raise MessageError("augment: the augmentation preview works in image mode; "
                           "allowed data: digits, an IDX set or an image folder")
    if m.n > limits.preview_images:
        raise LimitError(f"augment.n: {m.n} is over this server's limit; allowed: 1..{limits.preview_images}")
    p = augment.preview(tr.spec, m.n, m.seed, data=tr.data)
    targets = p["targets"]
    return ({"n": int(len(p["labels"])), "seed": m.seed, "labels": p["labels"].tolist(),
             "transforms": [a.model_dump(exclude_none=True) for a in tr.spec.data.augment],
             "soft": targets.ndim == 2},
            {"before": p["before"].numpy(), "after": p["after"].numpy(),
             "targets": targets.float().numpy()})


def _ask(tr: Trainer, m: Ask, limits: Limits):
    """The ``k`` points of a grid over the plane the model is least sure of (``active.ask``)."""
    d = tr.data
    if not d.is_2d or d.task == "regression":
        raise MessageError("ask: active learning works in the 2-D mode with classes; "
                           "allowed data: a classification set of points")
    if m.k > limits.ask_points:
        raise LimitError(f"ask.k: {m.k} is over this server's limit; allowed: 1..{limits.ask_points}")
    pool = probes.plane(d.extent, ASK_GRID)                        # (225, 2) raw points
    idx = active.ask(tr, pool, m.k, m.strategy)
    probs = tr.predict(d.featurize(pool[idx]))
    return ({"strategy": m.strategy, "indices": idx, "probs": probs.tolist()},
            {"points": pool[idx]})


def _neighbors(tr: Trainer, m: Neighbors, limits: Limits):
    """Test image ``m.image`` and its ``k`` nearest test images in the embedding."""
    d = tr.data
    if tr.spec.model.embedding is None or not d.is_image:
        raise MessageError("neighbors: needs an image network with model.embedding set "
                           "(metric learning)")
    n = len(d.x_test)
    if not 0 <= m.image < n:
        raise MessageError(f"neighbors.image: must be a test image index between 0 and {n - 1}; "
                           f"received: {m.image}")
    if m.k > limits.neighbors:
        raise LimitError(f"neighbors.k: {m.k} is over this server's limit; allowed: 1..{limits.neighbors}")
    emb = retrieval.embed(tr.model, d.x_test)
    idx, sims = retrieval.neighbors(emb, m.image, m.k)
    return ({"image": {"index": m.image, "label": int(d.y_test[m.image])},
             "neighbors": [{"index": i, "label": int(d.y_test[i]), "similarity": s}
                           for i, s in zip(idx, sims)]},
            {"query": d.x_test[m.image].numpy(), "images": d.x_test[idx].numpy()})
