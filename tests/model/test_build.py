"""Spec -> nn.Sequential: every layer type, output heads, and shape errors naming the layer."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from nnplay.model import build_model
from nnplay.spec import ModelSpec, SpecError


def layers(*ls, **kw) -> ModelSpec:
    return ModelSpec(layers=list(ls), **kw)


def test_mlp_children_are_course_named_in_order():
    m = build_model(ModelSpec(hidden=[5, 4], activation="relu", batchnorm=True, dropout=0.2), (3,), 1)
    assert list(dict(m.named_children())) == ["dense1", "bn1", "act1", "drop1",
                                              "dense2", "bn2", "act2", "drop2", "out"]
    assert (m.dense1.in_features, m.dense1.out_features, m.dense2.out_features) == (3, 5, 4)


def test_perceptron_is_a_single_linear_layer():
    m = build_model(ModelSpec(hidden=[]), (2,), 1)
    assert list(dict(m.named_children())) == ["out"] and isinstance(m.out, nn.Linear)
    x = torch.randn(5, 2)
    torch.testing.assert_close(m(x), x @ m.out.weight.T + m.out.bias)


@pytest.mark.parametrize("out_dim", [1, 4, 10])
def test_output_head_width(out_dim):
    m = build_model(ModelSpec(hidden=[6]), (2,), out_dim)
    assert m.out.out_features == out_dim and m(torch.randn(3, 2)).shape == (3, out_dim)


def test_output_head_follows_the_task():
    from nnplay.data import load_data
    from nnplay.spec import DataSpec
    for name, classes, k in [("xor", 2, 1), ("reg-plane", 2, 1), ("spiral", 3, 3), ("gauss", 5, 5)]:
        d = load_data(DataSpec(name=name, samples=60, classes=classes))
        assert build_model(ModelSpec(), d.input_shape, d.out_dim).out.out_features == k


def test_dense_layer_is_wx_plus_b():
    m = build_model(layers({"type": "dense", "units": 3, "activation": "linear"}), (4,), 2)
    x = torch.randn(2, 4)
    torch.testing.assert_close(m.dense1(x), x @ m.dense1.weight.T + m.dense1.bias)
    assert "act1" not in dict(m.named_children())


@pytest.mark.parametrize("conv, hw", [
    ({"kernel": 3, "padding": "same"}, (9, 7)),
    ({"kernel": 5, "padding": "same"}, (9, 7)),
    ({"kernel": 3, "padding": "valid"}, (7, 5)),
    ({"kernel": 5, "padding": "valid"}, (5, 3)),
    ({"kernel": 3, "padding": "same", "stride": 2}, (5, 4)),     # ceil(9/2), ceil(7/2)
    ({"kernel": 3, "padding": "valid", "stride": 2}, (4, 3)),    # floor((9-3)/2)+1, floor((7-3)/2)+1
    ({"kernel": 1, "padding": "valid"}, (9, 7)),
])
def test_conv2d_output_shapes(conv, hw):
    m = build_model(layers({"type": "conv2d", "filters": 6, **conv}, {"type": "flatten"}), (2, 9, 7), 3)
    out = m.act1(m.conv1(torch.randn(4, 2, 9, 7)))
    assert out.shape == (4, 6, *hw)
    assert m.out.in_features == 6 * hw[0] * hw[1]


def test_conv2d_same_padding_with_even_kernel_is_refused():
    with pytest.raises(SpecError, match=r"model.layers\[0\].*odd"):
        build_model(layers({"type": "conv2d", "filters": 2, "kernel": 4}), (1, 8, 8), 2)


def test_conv2d_computes_a_cross_correlation():
    m = build_model(layers({"type": "conv2d", "filters": 1, "kernel": 3, "padding": "valid",
                            "activation": "linear"}), (1, 4, 4), 1)
    with torch.no_grad():
        m.conv1.weight.copy_(torch.tensor([[[[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]]]))   # Laplacian
        m.conv1.bias.fill_(0.5)
    x = torch.arange(16.0).reshape(1, 1, 4, 4) ** 2
    out = m.conv1(x)[0, 0]
    # hand-worked: x[i,j] = (4i+j)^2; Laplacian at interior = 2 + 32 = 34 everywhere, + bias
    torch.testing.assert_close(out, torch.full((2, 2), 34.5))


GRID = torch.arange(16.0).reshape(1, 1, 4, 4)


def test_maxpool_values():
    m = build_model(layers({"type": "maxpool2d", "kernel": 2}), (1, 4, 4), 1)
    torch.testing.assert_close(m.pool1(GRID)[0, 0], torch.tensor([[5.0, 7.0], [13.0, 15.0]]))


def test_avgpool_values():
    m = build_model(layers({"type": "avgpool2d", "kernel": 2}), (1, 4, 4), 1)
    torch.testing.assert_close(m.pool1(GRID)[0, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]]))


def test_pool_with_explicit_stride():
    m = build_model(layers({"type": "maxpool2d", "kernel": 3, "stride": 1}), (1, 4, 4), 1)
    torch.testing.assert_close(m.pool1(GRID)[0, 0], torch.tensor([[10.0, 11.0], [14.0, 15.0]]))


def test_flatten_and_automatic_flatten_before_the_head():
    m = build_model(layers({"type": "conv2d", "filters": 3}, {"type": "flatten"}), (2, 4, 5), 2)
    assert m.flatten1(torch.zeros(7, 3, 4, 5)).shape == (7, 60)
    auto = build_model(layers({"type": "conv2d", "filters": 3}), (2, 4, 5), 2)
    assert list(dict(auto.named_children()))[-2:] == ["flatten1", "out"] and auto.out.in_features == 60


def test_dropout_active_in_training_and_off_in_eval():
    m = build_model(layers({"type": "dropout", "rate": 0.5}), (1000,), 1)
    x = torch.ones(4, 1000)
    m.train()
    y = m.drop1(x)
    zeros = (y == 0).float().mean().item()
    assert 0.45 < zeros < 0.55 and torch.allclose(y[y != 0], torch.tensor(2.0))   # inverted dropout
    m.eval()
    assert torch.equal(m.drop1(x), x)


def test_batchnorm_normalizes_then_scales_and_shifts():
    m = build_model(layers({"type": "dense", "units": 3, "activation": "linear"}, {"type": "batchnorm"}),
                    (2,), 1)
    x = torch.randn(64, 3) * torch.tensor([5.0, 0.1, 2.0]) + torch.tensor([10.0, -3.0, 0.0])
    m.train()
    z = m.bn1(x)
    # Ioffe & Szegedy 2015: x_hat = (x - batch mean) / sqrt(batch var + eps)
    x_hat = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + m.bn1.eps)
    torch.testing.assert_close(z, x_hat, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(z.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    gamma, beta = torch.tensor([2.0, 1.0, 0.5]), torch.tensor([3.0, -1.0, 0.0])
    with torch.no_grad():
        m.bn1.weight.copy_(gamma)
        m.bn1.bias.copy_(beta)
    torch.testing.assert_close(m.bn1(x), gamma * x_hat + beta, atol=1e-5, rtol=1e-5)
    assert m.bn1.weight.requires_grad and m.bn1.bias.requires_grad


def test_batchnorm_2d_on_feature_maps_and_before_the_activation():
    m = build_model(layers({"type": "conv2d", "filters": 4, "activation": "linear"}, {"type": "batchnorm"},
                           {"type": "activation", "activation": "relu"}), (1, 5, 5), 2)
    assert isinstance(m.bn1, nn.BatchNorm2d) and m.bn1.num_features == 4
    names = list(dict(m.named_children()))
    assert names.index("bn1") < names.index("act1")
    z = m.bn1(m.conv1(torch.randn(8, 1, 5, 5)))
    torch.testing.assert_close(z.mean((0, 2, 3)), torch.zeros(4), atol=1e-5, rtol=0)


def test_layernorm_normalizes_each_sample():
    m = build_model(ModelSpec(hidden=[6], layernorm=True, activation="relu"), (2,), 1)
    assert list(dict(m.named_children()))[:3] == ["dense1", "ln1", "act1"]
    z = m.ln1(torch.randn(5, 6) * 4 + 2)
    torch.testing.assert_close(z.mean(1), torch.zeros(5), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.var(1, unbiased=False), torch.ones(5), atol=1e-3, rtol=0)


def test_digits_cnn_example_builds():
    from nnplay.spec import load
    spec = load("examples/digits_cnn.toml")
    m = build_model(spec.model, (1, 8, 8), 10)
    assert m(torch.zeros(2, 1, 8, 8)).shape == (2, 10) and m.dense1.in_features == 32 * 2 * 2


# --- shapes that do not fit -------------------------------------------------------------
@pytest.mark.parametrize("spec_layers, input_shape, where, hint", [
    ([{"type": "conv2d", "filters": 4}, {"type": "dense", "units": 3}], (1, 8, 8), "model.layers[1]", "flatten"),
    ([{"type": "conv2d", "filters": 4, "kernel": 5, "padding": "valid"}], (1, 3, 3), "model.layers[0]", "kernel 5"),
    ([{"type": "maxpool2d", "kernel": 2}, {"type": "maxpool2d", "kernel": 2},
      {"type": "maxpool2d", "kernel": 2}], (1, 4, 4), "model.layers[2]", "1x1"),
    ([{"type": "conv2d", "filters": 4}], (2,), "model.layers[0]", "image"),
    ([{"type": "avgpool2d"}], (5,), "model.layers[0]", "image"),
])
def test_shape_errors_name_the_layer(spec_layers, input_shape, where, hint):
    with pytest.raises(SpecError) as e:
        build_model(layers(*spec_layers), input_shape, 2)
    assert where in str(e.value) and hint in str(e.value)


def test_mlp_on_images_needs_a_flatten():
    with pytest.raises(SpecError, match=r"model.hidden \(dense\).*flatten"):
        build_model(ModelSpec(hidden=[8]), (1, 8, 8), 10)
