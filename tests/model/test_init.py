"""Weight initialisers (가중치 초기화): empirical spread against each scheme's formula."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nnplay.model import build_model
from nnplay.model.init import initialize
from nnplay.spec import ModelSpec

N_IN, N_OUT = 400, 300


def dense(scheme: str) -> nn.Linear:
    torch.manual_seed(0)
    layer = nn.Linear(N_IN, N_OUT)
    initialize(layer, scheme)
    return layer


@pytest.mark.parametrize("scheme, std", [
    ("xavier_normal", math.sqrt(2 / (N_IN + N_OUT))),
    ("he_normal", math.sqrt(2 / N_IN)),
    ("lecun_normal", math.sqrt(1 / N_IN)),
])
def test_normal_schemes_have_the_formula_std(scheme, std):
    w = dense(scheme).weight.detach()
    assert abs(w.mean().item()) < 4 * std / math.sqrt(w.numel())   # centred on 0
    assert abs(w.std().item() / std - 1) < 0.02
    assert w.abs().max() > 3 * std            # Gaussian tails, not a uniform box


@pytest.mark.parametrize("scheme, bound", [
    ("xavier_uniform", math.sqrt(6 / (N_IN + N_OUT))),
    ("he_uniform", math.sqrt(6 / N_IN)),
    ("lecun_uniform", math.sqrt(3 / N_IN)),
])
def test_uniform_schemes_fill_the_formula_bounds(scheme, bound):
    w = dense(scheme).weight.detach()
    assert w.abs().max() <= bound and w.abs().max() > 0.99 * bound
    assert abs(w.std().item() / (bound / math.sqrt(3)) - 1) < 0.02   # std of U(-b, b)


def test_zeros_is_all_zero():
    layer = dense("zeros")
    assert torch.count_nonzero(layer.weight) == 0 and torch.count_nonzero(layer.bias) == 0


@pytest.mark.parametrize("scheme", ["xavier_normal", "xavier_uniform", "he_normal", "he_uniform",
                                    "lecun_normal", "lecun_uniform"])
def test_biases_start_at_zero(scheme):
    assert torch.count_nonzero(dense(scheme).bias) == 0


def test_default_keeps_pytorchs_scheme():
    layer = dense("default")
    bound = 1 / math.sqrt(N_IN)                 # PyTorch's Linear: U(+-1/sqrt(fan_in)) for w and b
    assert layer.weight.abs().max() <= bound and layer.bias.abs().max() > 0.5 * bound


def test_conv_fan_in_counts_the_kernel():
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 64, 3)
    initialize(conv, "he_normal")
    fan_in = 16 * 3 * 3
    assert abs(conv.weight.std().item() / math.sqrt(2 / fan_in) - 1) < 0.03


def test_model_init_reaches_every_layer_and_per_layer_init_wins():
    spec = ModelSpec(init="zeros", layers=[{"type": "dense", "units": 50, "init": "he_uniform"},
                                           {"type": "dense", "units": 50}])
    m = build_model(spec, (40,), 3)
    assert m.dense1.weight.abs().max() > 0 and m.dense1.weight.abs().max() <= math.sqrt(6 / 40)
    assert torch.count_nonzero(m.dense2.weight) == 0 and torch.count_nonzero(m.out.weight) == 0


def test_zeros_init_makes_units_identical():
    """Symmetry: with zero weights every hidden unit computes the same value."""
    m = build_model(ModelSpec(hidden=[5], activation="tanh", init="zeros"), (2,), 1)
    h = m.act1(m.dense1(torch.randn(10, 2)))
    assert torch.equal(h, h[:, :1].expand_as(h))
