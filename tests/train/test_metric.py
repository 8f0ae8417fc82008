"""Metric losses on the embedding (train.metric_loss): triplet with a batch-hard miner by hand,
the head as a probe (no gradient into the embedding), and the errors."""
from __future__ import annotations

import math

import pytest
import torch

from nnplay import spec as specmod
from nnplay.train import Trainer
from nnplay.train.metric import metric_loss

SPEC = {"data": {"name": "digits", "limit": 300}, "model": {"embedding": 8, "activation": "relu",
        "layers": [{"type": "flatten"}, {"type": "dense", "units": 32}]},
        "train": {"epochs": 1, "probe_every": 0}}


def test_triplet_with_batch_hard_miner_by_hand():
    """e0 = (1, 0), e1 = (0, 1) of class 0; e2 = (0.6, 0.8), e3 = (-1, 0) of class 1. Each
    anchor takes its farthest positive and nearest negative: d(a, p) - d(a, n) + 0.2 is
    0 -> sqrt 2 - sqrt 0.8, 1 -> sqrt 2 - sqrt 0.4, 2 -> sqrt 3.2 - sqrt 0.4, 3 -> sqrt 3.2 - sqrt 2,
    each + 0.2; all positive, and the loss is their mean (over triplets with a loss > 0)."""
    t = specmod.TrainSpec(metric_loss="triplet", miner="batch_hard", triplet_margin=0.2)
    e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [-1.0, 0.0]])
    y = torch.tensor([0, 0, 1, 1])
    r = math.sqrt
    parts = [r(2) - r(0.8), r(2) - r(0.4), r(3.2) - r(0.4), r(3.2) - r(2)]
    assert float(metric_loss(t, 2)(e, y)) == pytest.approx(sum(p + 0.2 for p in parts) / 4, rel=1e-5)


def test_head_only_probes_the_embedding():
    """With a metric loss the cross-entropy trains the head alone: no gradient reaches the
    layers before it, which only the metric loss moves."""
    tr = Trainer(specmod.from_dict({**SPEC, "train": {**SPEC["train"], "metric_loss": "triplet",
                                                      "miner": "batch_hard"}}))
    x, y = tr.x["train"][:64], tr.y["train"][:64]
    out = tr._forward_fn()(x)
    tr.loss_fn(out, y).backward()
    assert tr.model.out.weight.grad is not None
    assert all(p.grad is None for p in tr.model[:-1].parameters())
    tr.metric_loss(tr.embedding, y).backward()
    assert all(p.grad is not None for p in tr.model[:-1].parameters())


def test_metric_loss_trains_the_embedding():
    """Contrastive loss with a multi-similarity miner: every pair's loss (no miner) falls, and
    the test mAP rises far above the untrained network's."""
    s = specmod.from_dict({**SPEC, "train": {"epochs": 15, "probe_every": 0, "metric_loss": "contrastive",
                                             "miner": "multi_similarity"}})
    from nnplay.retrieval import embed, mean_average_precision
    tr = Trainer(s)
    every_pair = metric_loss(specmod.TrainSpec(metric_loss="contrastive"), 8)

    def measure():
        return (float(every_pair(embed(tr.model, tr.x["train"]), tr.y["train"])),
                mean_average_precision(embed(tr.model, tr.x["test"]), tr.y["test"]))
    (loss0, map0), _, (loss1, map1) = measure(), tr.fit(), measure()
    assert loss1 < 0.7 * loss0        # measured 1.02 -> 0.54
    assert map1 > map0 + 0.2          # measured 0.34 -> 0.74


def test_metric_loss_needs_an_embedding():
    with pytest.raises(specmod.SpecError, match="model.embedding"):
        Trainer(specmod.from_dict({"train": {"metric_loss": "triplet"}}))
    with pytest.raises(specmod.SpecError, match="batch_hard, multi_similarity"):
        specmod.from_dict({"train": {"miner": "hardest"}})


def test_metric_loss_is_refused_with_several_processes():
    from nnplay.train.distributed import check
    s = specmod.from_dict({**SPEC, "train": {"metric_loss": "triplet"}})
    with pytest.raises(specmod.SpecError, match="train.metric_loss"):
        check(s, 270, 2)
