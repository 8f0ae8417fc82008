"""Retrieval (검색) with a learned embedding: find the test items most like a query.

A network with ``model.embedding`` maps each input to an L2-normalized vector (its
``embed`` layer); items are ranked by cosine similarity to the query, and every test item
queries all the others (the usual deep-metric-learning protocol):

- recall@1: the share of queries whose nearest other item has the query's class;
- mAP: the mean over queries of the average precision of the whole ranking,
  AP = (1 / R) sum_{r: item r relevant} precision@r, with R the query's relevant items;
- query expansion (average query expansion of "Total Recall", Chum et al. 2007,
  https://doi.org/10.1109/ICCV.2007.4408891): the query is replaced by the normalized
  mean of itself and its top-k neighbors, and the search runs again.

The baseline is raw pixels with the same cosine similarity, in the same run.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .model import CHUNK, eval_mode

QE_K = 2      # neighbors averaged into the query by query expansion
BLOCK = 1024  # queries ranked at a time


@torch.no_grad()
def embed(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """(N, D) L2-normalized embeddings: the output of every layer before ``out``, in eval mode."""
    body = model[:-1]
    with eval_mode(model):
        out = [body(x[i:i + CHUNK]).float() for i in range(0, len(x), CHUNK)]
    return F.normalize(torch.cat(out).flatten(1), dim=1)


def pixels(x: torch.Tensor) -> torch.Tensor:
    """The raw-pixel baseline: each input flattened and L2-normalized."""
    return F.normalize(x.float().flatten(1), dim=1)


def _blocks(emb: torch.Tensor, queries: torch.Tensor | None = None):
    """(rows, similarities (B, N)) for blocks of queries: the cosine similarity of each item's
    query (``queries``, default the item itself) to every item, its own item set to -inf
    (never retrieved). Blocks keep memory at B x N for large test sets."""
    q = emb if queries is None else queries
    for start in range(0, len(q), BLOCK):
        rows = torch.arange(start, min(start + BLOCK, len(q)))
        s = q[rows] @ emb.T
        s[torch.arange(len(rows)), rows] = -torch.inf
        yield rows, s


def neighbors(emb: torch.Tensor, i: int, k: int = 5) -> tuple[list[int], list[float]]:
    """The ``k`` items nearest to item ``i`` (itself excluded), nearest first, and their
    cosine similarities."""
    s = emb @ emb[i]
    s[i] = -torch.inf
    top = s.topk(min(k, len(emb) - 1))
    return top.indices.tolist(), top.values.tolist()


def recall_at_1(emb: torch.Tensor, y: torch.Tensor) -> float:
    """Share of items whose nearest other item has the same label."""
    hits = sum(int((y[s.argmax(1)] == y[rows]).sum()) for rows, s in _blocks(emb))
    return hits / len(y)


def mean_average_precision(emb: torch.Tensor, y: torch.Tensor, queries: torch.Tensor | None = None) -> float:
    """Mean over queries of the average precision of the full ranking of the other items
    (queries with no other item of their class are left out). ``queries``: a new query
    vector for each item (query expansion), searched against ``emb``."""
    aps = []
    for rows, s in _blocks(emb, queries):
        order = s.argsort(1, descending=True)[:, :-1]                # (B, N-1): self is last
        rel = (y[order] == y[rows, None]).double()                   # relevant?
        hits = rel.sum(1)
        precision = rel.cumsum(1) / torch.arange(1, rel.shape[1] + 1, dtype=torch.double)
        aps.append(((precision * rel).sum(1) / hits.clamp_min(1))[hits > 0])
    return float(torch.cat(aps).mean())


def query_expansion(emb: torch.Tensor, k: int = QE_K) -> torch.Tensor:
    """Average query expansion: each item becomes normalize(item + its k nearest others)."""
    top = torch.cat([s.topk(k, dim=1).indices for _, s in _blocks(emb)])   # (N, k)
    return F.normalize(emb + emb[top].sum(1), dim=1)


def scores(emb: torch.Tensor, y: torch.Tensor, qe_k: int | None = QE_K) -> dict:
    """recall@1 and mAP on ``emb``, and with ``qe_k`` the mAP of the expanded queries."""
    out = {"test_recall_at_1": recall_at_1(emb, y), "test_map": mean_average_precision(emb, y)}
    if qe_k:
        out["test_map_qe"] = mean_average_precision(emb, y, query_expansion(emb, qe_k))
        out["qe_k"] = qe_k
    return out


def summary(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> dict:
    """The run's retrieval figures on the test split, with raw pixels as the baseline."""
    return {**scores(embed(model, x), y),
            "baselines": {"pixels": scores(pixels(x), y, qe_k=None)}}


def projection(emb: torch.Tensor, seed: int = 0) -> np.ndarray:
    """(N, 2): the embedding's first two principal components (scikit-learn's PCA)."""
    from sklearn.decomposition import PCA
    return PCA(2, random_state=seed).fit_transform(emb.numpy())
