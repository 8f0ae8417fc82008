"""Metric losses (거리 학습) from pytorch-metric-learning, on the embedding of ``model.embedding``.

- triplet: max(0, d(a, p) - d(a, n) + margin) for an anchor a, a positive p of its class and
  a negative n of another (FaceNet, Schroff et al. 2015, https://arxiv.org/abs/1503.03832);
- contrastive: d(a, p) for pairs of one class, max(0, 1 - d(a, n)) for pairs of two
  (Hadsell et al. 2006);
with d the Euclidean distance of L2-normalized embeddings. A miner picks the informative
pairs of each batch: batch_hard the farthest positive and nearest negative per anchor
(Hermans et al. 2017, https://arxiv.org/abs/1703.07737), multi_similarity the pairs that
break the margin of similarity (Wang et al. 2019, https://arxiv.org/abs/1904.06627);
none: every pair or triplet of the batch.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..spec import SpecError, TrainSpec


def metric_loss(t: TrainSpec, embedding: int | None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
    """``loss(embeddings (N, D), labels (N,))`` for ``train.metric_loss``; None when off.
    ``embedding``: ``model.embedding``, which a metric loss needs."""
    if t.metric_loss == "none":
        return None
    if embedding is None:
        raise SpecError.say("train.metric_needs_embedding", loss=repr(t.metric_loss))
    from pytorch_metric_learning import losses, miners
    loss = losses.TripletMarginLoss(margin=t.triplet_margin) if t.metric_loss == "triplet" \
        else losses.ContrastiveLoss()
    miner = {"none": None, "batch_hard": miners.BatchHardMiner,
             "multi_similarity": miners.MultiSimilarityMiner}[t.miner]
    miner = miner() if miner is not None else None

    def fn(emb: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss(emb, y, miner(emb, y) if miner is not None else None)
    return fn
