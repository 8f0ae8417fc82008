"""Probes: gradient norms, activation statistics, dead ReLUs, boundary and neuron grids, CNN views."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay import probes
from nnplay.data import load_data
from nnplay.model import build_model
from nnplay.spec import DataSpec, ModelSpec


def mlp(activation="relu", hidden=(4, 3), data=None):
    d = data or load_data(DataSpec(name="circle", samples=80, features=["x1", "x2", "x1^2"]))
    torch.manual_seed(0)
    return build_model(ModelSpec(hidden=list(hidden), activation=activation), d.input_shape, d.out_dim), d


def test_grad_norms_equal_the_norms_of_grad():
    m, d = mlp()
    loss = m(d.x_train).pow(2).mean()
    loss.backward()
    got = probes.grad_norms(m)
    assert list(got) == ["dense1", "dense2", "out"]
    for name, value in got.items():
        w = getattr(m, name).weight.grad
        assert value == pytest.approx(float(torch.sqrt((w ** 2).sum())), rel=1e-6)


def test_grad_norms_without_gradients_is_empty():
    m, _ = mlp()
    assert probes.grad_norms(m) == {}


def test_weight_stats():
    m, _ = mlp(hidden=(2,))
    with torch.no_grad():
        m.dense1.weight.copy_(torch.tensor([[3.0, 0.0, -4.0], [0.0005, 0.0, 0.0]]))
    s = probes.weight_stats(m)["dense1"]
    assert s["l2"] == pytest.approx(5.0, rel=1e-6) and s["l1"] == pytest.approx(7.0005, rel=1e-6)
    assert s["near_zero"] == pytest.approx(4 / 6)   # |w| < 1e-3: 0.0005 and three zeros


def test_activations_are_every_childs_output_in_eval_mode():
    m, d = mlp()
    m.train()
    outs = probes.activations(m, d.x_val)
    assert list(outs) == ["dense1", "act1", "dense2", "act2", "out"]
    torch.testing.assert_close(outs["act1"], torch.relu(m.dense1(d.x_val)))
    torch.testing.assert_close(outs["out"], m(d.x_val))
    assert m.training and not outs["out"].requires_grad


def test_dead_relu_unit_is_counted():
    m, d = mlp(hidden=(4, 3))
    with torch.no_grad():
        m.dense1.bias[2] = -100.0           # unit 2 of layer 1 never fires on this data (|x| < 40)
    stats = probes.activation_stats(m, d.x_train)
    assert stats["act1"]["dead"] == pytest.approx(0.25)
    a = torch.relu(m.dense1(d.x_train)).detach()
    assert stats["act1"]["mean"] == pytest.approx(float(a.mean()), rel=1e-6)
    assert stats["act1"]["std"] == pytest.approx(float(a.std()), rel=1e-6)
    with torch.no_grad():
        m.dense2.bias.fill_(-1000.0)         # the whole second layer dies
    assert probes.activation_stats(m, d.x_train)["act2"]["dead"] == 1.0


def test_dead_is_only_counted_for_relu():
    m, d = mlp("tanh")
    with torch.no_grad():
        m.dense1.bias[0] = -100.0
    assert probes.activation_stats(m, d.x_train)["act1"]["dead"] == 0.0


def test_plane_orientation():
    p = probes.plane(6.0, 3)
    assert p.shape == (9, 2)
    assert p[0].tolist() == [-6.0, 6.0] and p[2].tolist() == [6.0, 6.0] and p[8].tolist() == [6.0, -6.0]


def test_boundary_grid_binary_equals_model_predictions():
    m, d = mlp()
    R = 7
    grid = probes.boundary_grid(m, d, R)
    assert grid.shape == (R, R)
    pts = probes.plane(6.0, R)
    x = torch.tensor(np.c_[pts, pts[:, 0] ** 2], dtype=torch.float32)   # features x1, x2, x1^2
    m.eval()
    want = torch.sigmoid(m(x)).squeeze(1).detach().numpy().reshape(R, R)
    np.testing.assert_allclose(grid, want, rtol=1e-5, atol=1e-6)
    assert grid.min() >= 0 and grid.max() <= 1


def test_boundary_grid_multiclass_and_regression():
    d3 = load_data(DataSpec(name="spiral", samples=60, classes=3))
    m3, _ = mlp(data=d3)
    g = probes.boundary_grid(m3, d3, 5)
    assert g.shape == (5, 5, 3)
    np.testing.assert_allclose(g.sum(-1), 1, rtol=1e-5)
    dr = load_data(DataSpec(name="reg-plane", samples=60))
    mr, _ = mlp(data=dr)
    gr = probes.boundary_grid(mr, dr, 4)
    want = mr(torch.tensor(probes.plane(6.0, 4))).squeeze(1).detach().numpy().reshape(4, 4)
    np.testing.assert_allclose(gr, want, rtol=1e-5, atol=1e-6)


def cnn():
    spec = ModelSpec(activation="relu", layers=[
        {"type": "conv2d", "filters": 5, "kernel": 3}, {"type": "maxpool2d", "kernel": 2},
        {"type": "conv2d", "filters": 7, "kernel": 3, "padding": "valid"},
        {"type": "flatten"}, {"type": "dense", "units": 8}])
    torch.manual_seed(0)
    return build_model(spec, (1, 8, 8), 10)


def test_filters_are_the_first_conv_kernels():
    m = cnn()
    f = probes.filters(m)
    assert f.shape == (5, 1, 3, 3)
    np.testing.assert_array_equal(f, m.conv1.weight.detach().numpy())
    assert probes.filters(mlp()[0]) is None


def test_feature_maps_layer_by_layer():
    m = cnn()
    img = torch.rand(1, 8, 8)
    maps = probes.feature_maps(m, img)
    assert {k: v.shape for k, v in maps.items()} == {
        "conv1": (5, 8, 8), "act1": (5, 8, 8), "pool1": (5, 4, 4), "conv2": (7, 2, 2), "act2": (7, 2, 2)}
    want = torch.relu(m.conv1(img[None]))[0].detach().numpy()
    np.testing.assert_allclose(maps["act1"], want, rtol=1e-5, atol=1e-6)
    assert (maps["act2"] >= 0).all()
