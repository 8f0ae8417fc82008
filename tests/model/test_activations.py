"""Every activation against its formula (활성화 함수)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nnplay.model import activations, build_model
from nnplay.spec import ModelSpec

X = torch.tensor([[-3.0, -0.5, 0.0, 0.25, 2.0], [1.5, -1.0, 4.0, -2.5, 0.1]], dtype=torch.float64)


def run(name: str, x: torch.Tensor = X, **kw) -> torch.Tensor:
    return activations.make(name, **kw).double()(x)


def each(f, x=X):
    return torch.tensor([[f(v) for v in row] for row in x.tolist()], dtype=torch.float64)


def test_step_outputs_0_or_1_and_passes_zero_gradient():
    x = X.clone().requires_grad_(True)
    out = activations.make("step")(x)
    assert torch.equal(out.detach(), (X > 0).double())
    out.sum().backward()
    assert x.grad is not None and torch.count_nonzero(x.grad) == 0


def test_linear_is_the_identity():
    assert torch.equal(run("linear"), X)


@pytest.mark.parametrize("name, f", [
    ("sigmoid", lambda v: 1 / (1 + math.exp(-v))),
    ("tanh", math.tanh),
    ("relu", lambda v: max(0.0, v)),
    ("gelu", lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2)))),   # Hendrycks & Gimpel 2016
])
def test_elementwise_formula(name, f):
    torch.testing.assert_close(run(name), each(f), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.01, 0.2, 0.5])
def test_leaky_relu_slope_is_alpha(alpha):
    torch.testing.assert_close(run("leaky_relu", alpha=alpha), each(lambda v: v if v > 0 else alpha * v))


def test_leaky_relu_alpha_reaches_the_built_model():
    m = build_model(ModelSpec(hidden=[3], activation="leaky_relu", alpha=0.3), (2,), 1)
    assert isinstance(m.act1, nn.LeakyReLU) and m.act1.negative_slope == 0.3


def test_prelu_slope_is_learned_per_unit():
    act = activations.make("prelu", width=5)
    assert isinstance(act, nn.PReLU) and act.weight.shape == (5,)
    torch.testing.assert_close(act(X.float()), each(lambda v: v if v > 0 else 0.25 * v).float())
    x = -torch.ones(4, 5)
    act(x).sum().backward()
    torch.testing.assert_close(act.weight.grad, torch.full((5,), -4.0))   # d/da (a*x) summed
    torch.optim.SGD(act.parameters(), lr=0.1).step()
    torch.testing.assert_close(act.weight.detach(), torch.full((5,), 0.25 + 0.4))


def test_prelu_in_a_model_is_a_trained_parameter():
    m = build_model(ModelSpec(hidden=[6], activation="prelu"), (2,), 1)
    names = [n for n, _ in m.named_parameters()]
    assert "act1.weight" in names and m.act1.weight.shape == (6,)


def test_crelu_is_relu_x_and_relu_minus_x():
    out = run("crelu")
    assert out.shape == (2, 10)
    assert torch.equal(out[:, :5], X.clamp(min=0)) and torch.equal(out[:, 5:], (-X).clamp(min=0))


def test_crelu_doubles_the_width_of_dense_and_conv_layers():
    m = build_model(ModelSpec(hidden=[3, 4], activation="crelu"), (2,), 1)
    assert m.dense2.in_features == 6 and m.out.in_features == 8
    assert m(torch.randn(7, 2)).shape == (7, 1)
    spec = ModelSpec(layers=[{"type": "conv2d", "filters": 4, "activation": "crelu"},
                             {"type": "conv2d", "filters": 2, "activation": "relu"}])
    c = build_model(spec, (1, 5, 5), 3)
    assert c.conv2.in_channels == 8 and c(torch.randn(2, 1, 5, 5)).shape == (2, 3)


def test_softmax_rows_are_probabilities():
    p = run("softmax")
    torch.testing.assert_close(p.sum(1), torch.ones(2, dtype=torch.float64))
    e = X.exp()
    torch.testing.assert_close(p, e / e.sum(1, keepdim=True))


def test_width_factor():
    assert activations.width_factor("crelu") == 2
    assert all(activations.width_factor(n) == 1 for n in ("relu", "tanh", "prelu", "softmax"))


def test_unknown_activation():
    with pytest.raises(ValueError, match="swish"):
        activations.make("swish")


def test_per_layer_activation_overrides_the_default():
    spec = ModelSpec(activation="tanh", layers=[{"type": "dense", "units": 4, "activation": "sigmoid"},
                                                 {"type": "dense", "units": 4}])
    m = build_model(spec, (2,), 1)
    assert isinstance(m.act1, nn.Sigmoid) and isinstance(m.act2, nn.Tanh)
