"""Layers that draw their randomness from a session's own ``torch.Generator``."""
from __future__ import annotations

import torch
from torch import nn


def dropout(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Inverted dropout: zero each value with probability p, scale the rest by 1/(1-p).
    The same values as ``F.dropout`` in training mode, with the mask drawn from ``generator``."""
    if p == 0:
        return x
    return x * torch.empty_like(x).bernoulli_(1 - p, generator=generator).div_(1 - p)


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose masks come from ``generator`` (on the input's device), so that two
    sessions in one process never change each other's masks. ``generator=None``: PyTorch's
    dropout on the global RNG (the compiled step's traced copy: Inductor cannot lower random
    ops that take a generator)."""

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None):
        super().__init__(p)
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.generator is None or not self.training:
            return super().forward(x)
        return dropout(x, self.p, self.generator)


class NgramBag(nn.Module):
    """fastText's text representation: the mean of the embeddings of a text's character
    n-grams (n = 1..``ngrams``), each hashed into one of ``buckets`` rows (row 0: an n-gram
    that reaches into the padding, left out of the mean). Input (N, T) character ids,
    output (N, dim). The hash is integer arithmetic in the graph, so the layer exports.
    Joulin et al. 2016, "Bag of Tricks for Efficient Text Classification",
    https://arxiv.org/abs/1607.01759 (rows start at U(+-1/dim), as in fastText)."""
    PRIME = 1_000_003

    def __init__(self, buckets: int, dim: int, ngrams: int, generator: torch.Generator | None = None):
        super().__init__()
        self.buckets, self.ngrams = buckets, ngrams
        self.bag = nn.utils.skip_init(nn.EmbeddingBag, buckets, dim, mode="mean", padding_idx=0)
        with torch.no_grad():
            self.bag.weight.uniform_(-1 / dim, 1 / dim, generator=generator)
            self.bag.weight[0] = 0

    def ids(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T) character ids -> (N, M) n-gram rows (0 where an n-gram touches padding)."""
        m = self.buckets - 1
        out = []
        for k in range(1, self.ngrams + 1):
            g = x.unfold(1, k, 1)                         # (N, T-k+1, k)
            h = torch.full_like(g[..., 0], k)             # n-grams of each length hash apart
            for j in range(k):
                h = (h * self.PRIME + g[..., j]) % m
            out.append(torch.where((g == 0).any(-1), 0, h + 1))
        return torch.cat(out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bag(self.ids(x))                      # (N, dim)
