"""Weight initialization (가중치 초기화): Xavier/Glorot, He, LeCun, zeros, PyTorch's default.

n_in = fan-in, n_out = fan-out of the layer.
- xavier_normal:  N(0, 2/(n_in+n_out));  xavier_uniform: U(+-sqrt(6/(n_in+n_out)))  (for sigmoid/tanh)
- he_normal:      N(0, 2/n_in);          he_uniform:     U(+-sqrt(6/n_in))           (for ReLU)
- lecun_normal:   N(0, 1/n_in);          lecun_uniform:  U(+-sqrt(3/n_in))
- zeros: every weight 0, so every neuron of a layer computes the same thing (symmetry never breaks)
- default: PyTorch's own Linear/Conv2d scheme, weights and biases U(+-1/sqrt(n_in))
  (kaiming_uniform with a = sqrt(5)); the other schemes start biases at 0.
Every draw comes from the ``generator`` passed in (a session's own), never the global RNG.
Papers: Glorot & Bengio 2010 (AISTATS); He et al. 2015, https://arxiv.org/abs/1502.01852;
LeCun et al. 1998, "Efficient BackProp".
"""
from __future__ import annotations

import math

import torch
from torch import nn

_INIT = {   # scheme -> (PyTorch initializer, its keyword arguments)
    "xavier_normal": (nn.init.xavier_normal_, {}),
    "xavier_uniform": (nn.init.xavier_uniform_, {}),
    "he_normal": (nn.init.kaiming_normal_, {"nonlinearity": "relu"}),
    "he_uniform": (nn.init.kaiming_uniform_, {"nonlinearity": "relu"}),
    "lecun_normal": (nn.init.kaiming_normal_, {"nonlinearity": "linear"}),
    "lecun_uniform": (nn.init.kaiming_uniform_, {"nonlinearity": "linear"}),
}


@torch.no_grad()
def initialize(layer: nn.Module, scheme: str, generator: torch.Generator | None = None) -> None:
    """Set a Linear/Conv2d layer's weights and bias by ``scheme``, drawing from ``generator``."""
    w, b = layer.weight, layer.bias
    if scheme == "default":   # what nn.Linear/nn.Conv2d.reset_parameters draws, in the same order
        nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator)
        if b is not None:
            fan_in = w[0].numel()            # inputs x kernel size
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            b.uniform_(-bound, bound, generator=generator)
        return
    if scheme == "zeros":
        nn.init.zeros_(w)
    else:
        fn, kw = _INIT[scheme]
        fn(w, generator=generator, **kw)
    if b is not None:
        nn.init.zeros_(b)


@torch.no_grad()
def initialize_recurrent(layer: nn.RNNBase, scheme: str, generator: torch.Generator | None = None) -> None:
    """Set every weight matrix (input-to-hidden ``weight_ih``, hidden-to-hidden ``weight_hh``)
    of an RNN/LSTM/GRU layer by ``scheme``, biases at 0; "default" is PyTorch's own
    ``reset_parameters``: every weight and bias U(+-1/sqrt(hidden size))."""
    for name, p in layer.named_parameters():
        if scheme == "default":
            bound = 1 / math.sqrt(layer.hidden_size)
            p.uniform_(-bound, bound, generator=generator)
        elif name.startswith("bias") or scheme == "zeros":
            nn.init.zeros_(p)
        else:
            fn, kw = _INIT[scheme]
            fn(p, generator=generator, **kw)
