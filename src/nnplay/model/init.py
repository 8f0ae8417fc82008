"""Weight initialisation (가중치 초기화): Xavier/Glorot, He, LeCun, zeros.

n_in = fan-in, n_out = fan-out of the layer.
- xavier_normal:  N(0, 2/(n_in+n_out));  xavier_uniform: U(+-sqrt(6/(n_in+n_out)))  (for sigmoid/tanh)
- he_normal:      N(0, 2/n_in);          he_uniform:     U(+-sqrt(6/n_in))           (for ReLU)
- lecun_normal:   N(0, 1/n_in);          lecun_uniform:  U(+-sqrt(3/n_in))
- zeros: every weight 0, so every neuron of a layer computes the same thing (symmetry never breaks)
Biases start at 0 (except "default", PyTorch's own scheme).
Papers: Glorot & Bengio 2010 (AISTATS); He et al. 2015, https://arxiv.org/abs/1502.01852;
LeCun et al. 1998, "Efficient BackProp".
"""
from __future__ import annotations

from torch import nn

_INIT = {
    "xavier_normal": nn.init.xavier_normal_,
    "xavier_uniform": nn.init.xavier_uniform_,
    "he_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "he_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "lecun_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="linear"),
    "lecun_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="linear"),
    "zeros": nn.init.zeros_,
}


def initialize(layer: nn.Module, scheme: str) -> None:
    """Set a Linear/Conv2d layer's weights by ``scheme`` and its bias to 0."""
    if scheme == "default":
        return
    _INIT[scheme](layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
