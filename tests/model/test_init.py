"""Weight initializers (가중치 초기화): empirical spread against each scheme's formula."""
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


@pytest.mark.parametrize("make", [lambda: nn.Linear(N_IN, 30), lambda: nn.Conv2d(6, 8, 3),
                                  lambda: nn.Conv2d(3, 5, (2, 4), bias=False)])
def test_default_is_pytorchs_own_init_drawn_from_the_generator(make):
    """"default" draws exactly what the layer's own reset_parameters draws from the same seed."""
    torch.manual_seed(11)
    ref = make()
    layer = make()
    initialize(layer, "default", torch.Generator().manual_seed(11))
    assert torch.equal(layer.weight, ref.weight)
    assert (layer.bias is None and ref.bias is None) or torch.equal(layer.bias, ref.bias)


def test_default_bounds_are_one_over_sqrt_fan_in():
    layer = nn.Linear(N_IN, N_OUT)
    initialize(layer, "default", torch.Generator().manual_seed(0))
    bound = 1 / math.sqrt(N_IN)   # kaiming_uniform(a=sqrt(5)): sqrt(6 / ((1 + 5) * fan_in))
    for t in (layer.weight, layer.bias):
        assert t.abs().max() <= bound and t.abs().max() > 0.98 * bound


def test_default_init_reaches_the_output_layer():
    """model.init = "default" is PyTorch's scheme for every layer, the head included."""
    torch.manual_seed(3)
    ref = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 3))
    m = build_model(ModelSpec(hidden=[6], init="default"), (4,), 3, torch.Generator().manual_seed(3))
    for ours, theirs in ((m.dense1, ref[0]), (m.out, ref[1])):
        assert torch.equal(ours.weight, theirs.weight) and torch.equal(ours.bias, theirs.bias)


@pytest.mark.parametrize("init", ["default", "xavier_uniform", "he_normal", "lecun_uniform"])
def test_building_draws_only_from_the_generator(init):
    spec = ModelSpec(init=init, dropout=0.2, layers=[{"type": "conv2d", "filters": 3},
                                                     {"type": "flatten"}, {"type": "dense", "units": 5}])
    before = torch.get_rng_state()
    a = build_model(spec, (1, 6, 6), 2, torch.Generator().manual_seed(4))
    b = build_model(spec, (1, 6, 6), 2, torch.Generator().manual_seed(4))
    c = build_model(spec, (1, 6, 6), 2, torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), before)          # the global RNG is untouched
    for (name, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb), name
        if name.endswith("weight"):
            assert not torch.equal(pa, pc), name


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
