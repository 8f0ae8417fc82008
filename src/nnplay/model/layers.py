"""Layers that draw their randomness from a session's own ``torch.Generator``; the
normalized-softmax head of metric learning (``model.embedding``)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


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


class Recurrent(nn.Module):
    """A stack of ``num_layers`` recurrent layers (PyTorch's ``nn.RNN`` / ``nn.LSTM`` /
    ``nn.GRU``, one layer each) with dropout between them, on inputs (batch, time, features).

    One module per layer, not ``nn.LSTM(num_layers=n, dropout=p)``: PyTorch draws that dropout
    from the global RNG, ours from the session's ``generator``, and the gate probe reads each
    layer on its own. Output: every step's (B, T, D*units) with ``return_sequences``, else the
    state that summarizes the sequence, (B, D*units): the last step forwards and, when
    ``bidirectional`` (D = 2), the first step of the backward pass (its last).
    Papers: Elman 1990 (RNN); Hochreiter & Schmidhuber 1997 (LSTM); Cho et al. 2014 (GRU),
    https://arxiv.org/abs/1406.1078.
    """
    KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(self, kind: str, input_size: int, units: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, return_sequences: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__()
        d = 2 if bidirectional else 1
        self.kind, self.units, self.bidirectional, self.return_sequences = kind, units, bidirectional, return_sequences
        self.layers = nn.ModuleList(   # made on "meta", uninitialized: model.init sets the weights
            self.KINDS[kind](input_size if i == 0 else d * units, units, batch_first=True,
                             bidirectional=bidirectional, device="meta").to_empty(device="cpu")
            for i in range(num_layers))
        self.drop = Dropout(dropout, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            if i:
                x = self.drop(x)
            x, _ = layer(x)                                   # (B, T, D*H)
        if self.return_sequences:
            return x
        if not self.bidirectional:
            return x[:, -1]                                   # (B, H)
        h = self.units
        return torch.cat([x[:, -1, :h], x[:, 0, h:]], 1)      # (B, 2H)


class Conv1d(nn.Conv1d):
    """``nn.Conv1d`` over time on inputs (batch, time, features), the recurrent layers' layout:
    (B, T, F) -> (B, T', filters). Each filter slides along the time axis."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


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


class NormalizedSoftmax(nn.Linear):
    """The normalized-softmax classifier of "Making Classification Competitive for Deep Metric
    Learning" (Zhai & Wu 2019, https://arxiv.org/abs/1811.12649): logits
    z_k = cos(e, w_k) / T = (e / ||e||) . (w_k / ||w_k||) / T for an embedding e and one
    weight vector (a class "proxy") w_k per class. Trained with plain cross-entropy, it pulls
    each embedding towards its class's direction, so cosine similarity between embeddings
    retrieves samples of the same class. T (0.05 in the paper) sharpens the softmax: cosines
    lie in [-1, 1]. The same loss as pytorch-metric-learning's ``NormalizedSoftmaxLoss``."""

    def __init__(self, in_features: int, out_features: int, temperature: float = 0.05,
                 device=None, dtype=None):
        super().__init__(in_features, out_features, bias=False, device=device, dtype=dtype)
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:   # (N, D) -> (N, K)
        return F.linear(F.normalize(x, dim=1), F.normalize(self.weight, dim=1)) / self.temperature

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, temperature={self.temperature}"
