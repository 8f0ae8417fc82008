"""The CNN explainer's probes (probes.convolution_at, pooling_at, softmax_at): every number they
show equals PyTorch's own op on the same input (F.conv2d on the patch, max_pool2d / avg_pool2d
on the window, torch.softmax on the logits), and bad places are clear errors in both languages."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnplay import probes
from nnplay.data import load_data
from nnplay.model import build_model
from nnplay.spec import DataSpec, ModelSpec

LAYERS = [{"type": "conv2d", "filters": 4, "kernel": 3},                 # same padding: 1
          {"type": "maxpool2d", "kernel": 2},
          {"type": "conv2d", "filters": 5, "kernel": 3, "stride": 2},
          {"type": "avgpool2d", "kernel": 1},
          {"type": "flatten"}, {"type": "dense", "units": 8}]


@pytest.fixture(scope="module")
def net():
    d = load_data(DataSpec(name="digits"))
    torch.manual_seed(0)
    m = build_model(ModelSpec(layers=LAYERS, activation="relu", init="he_normal"), d.input_shape, d.out_dim)
    for p in m.parameters():                      # biases too, so the "+ b" step shows
        torch.nn.init.normal_(p, std=0.5)
    return m.eval(), d.x_test[7]


def _input(model, x, name):
    """The layer's input as PyTorch computes it: the children before it."""
    z = x[None]
    for n, m in model.named_children():
        if n == name:
            return z
        z = m(z)


@pytest.mark.parametrize("layer,unit,row,col", [("conv1", 2, 0, 0), ("conv1", 3, 4, 7), ("act1", 1, 5, 2),
                                                ("conv2", 4, 1, 0), ("act2", 0, 0, 1)])
def test_convolution_at_equals_conv2d_on_the_patch(net, layer, unit, row, col):
    model, x = net
    got = probes.convolution_at(model, x, layer, unit, row, col)
    conv = getattr(model, got["conv"])
    assert got["conv"] == layer.replace("act", "conv")
    with torch.no_grad():
        inp = _input(model, x, got["conv"])[0]
        patch = torch.from_numpy(got["patch"])
        # PyTorch's conv2d on the shown patch alone (no padding: the patch holds the zeros)
        ref = F.conv2d(patch[None], conv.weight[unit:unit + 1], conv.bias[unit:unit + 1])[0, 0, 0, 0]
        full = F.conv2d(inp[None], conv.weight, conv.bias, conv.stride, conv.padding)[0, unit, row, col]
        # the shown patch is the input under the window (zero outside the input)
        padded = F.pad(inp, (conv.padding[1],) * 2 + (conv.padding[0],) * 2)
        top, left = got["top"] + conv.padding[0], got["left"] + conv.padding[1]
    k = conv.kernel_size[0]
    np.testing.assert_array_equal(got["patch"], padded[:, top:top + k, left:left + k].numpy())
    np.testing.assert_array_equal(got["kernel"], conv.weight[unit].detach().numpy())
    np.testing.assert_allclose(got["products"], got["patch"] * got["kernel"], rtol=1e-6)
    np.testing.assert_allclose(got["channel_sums"], got["products"].sum((1, 2)), rtol=1e-5, atol=1e-6)
    with torch.no_grad():   # each input channel's share of the sum: PyTorch's conv2d on that channel alone
        window = padded[:, top:top + k, left:left + k]
        np.testing.assert_allclose(got["products"], (window * conv.weight[unit]).numpy(), rtol=1e-6)
        per_channel = [F.conv2d(window[c:c + 1][None], conv.weight[unit:unit + 1, c:c + 1])[0, 0, 0, 0]
                       for c in range(window.shape[0])]
    np.testing.assert_allclose(got["channel_sums"], torch.stack(per_channel).numpy(), rtol=1e-5, atol=1e-6)
    assert got["bias"] == pytest.approx(conv.bias[unit].item())
    assert got["z"] == pytest.approx(float(ref), abs=1e-5)
    assert got["z"] == pytest.approx(float(full), abs=1e-5) == got["out"]
    (act,) = got["after"]                          # the ReLU after it, at the same place
    assert act["activation"] == "relu" and act["value"] == pytest.approx(float(F.relu(full)), abs=1e-6)
    assert got["input"] == ("input" if layer.endswith("1") else "pool1")


def test_padding_shows_zeros_outside_the_input(net):
    model, x = net
    got = probes.convolution_at(model, x, "conv1", 0, 0, 0)    # the corner: window starts at (-1, -1)
    assert (got["top"], got["left"]) == (-1, -1)
    assert np.all(got["patch"][:, 0, :] == 0) and np.all(got["patch"][:, :, 0] == 0)
    np.testing.assert_array_equal(got["patch"][:, 1:, 1:], x[:, :2, :2].numpy())


@pytest.mark.parametrize("layer,op", [("pool1", F.max_pool2d), ("pool2", F.avg_pool2d)])
def test_pooling_at_equals_torch_pooling(net, layer, op):
    model, x = net
    pool = getattr(model, layer)
    inp = _input(model, x, layer)
    with torch.no_grad():
        ref = op(inp, pool.kernel_size, pool.stride)[0]
    C, H, W = ref.shape
    for unit, row, col in [(0, 0, 0), (C - 1, H - 1, W - 1), (1 % C, H // 2, W - 1)]:
        got = probes.pooling_at(model, x, layer, unit, row, col)
        assert got["value"] == pytest.approx(float(ref[unit, row, col]), abs=1e-6) == got["out"]
        if got["op"] == "max":                     # the winner is where the max sits in the window
            i, j = got["winner"]
            assert got["window"][i, j] == got["window"].max() == pytest.approx(got["value"])
            assert got["window"].shape == (2, 2)


def test_softmax_at_equals_torch_softmax(net):
    model, x = net
    got = probes.softmax_at(model, x)
    with torch.no_grad():
        logits = model(x[None])[0]
    np.testing.assert_allclose(got["logits"], logits.numpy(), rtol=1e-6)
    np.testing.assert_allclose(got["probs"], torch.softmax(logits, 0).numpy(), atol=1e-6)
    assert max(got["shifted"]) == 0 and got["sum"] == pytest.approx(sum(got["exps"]))
    exps = torch.exp((logits - logits.max()).double())          # the same steps in PyTorch's ops
    np.testing.assert_allclose(got["exps"], exps.numpy(), rtol=1e-6)
    assert got["sum"] == pytest.approx(float(exps.sum()), rel=1e-6)
    assert sum(got["probs"]) == pytest.approx(1.0)


def test_softmax_of_one_logit_is_the_sigmoid():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1))
    x = torch.randn(1, 2, 2)
    got = probes.softmax_at(model, x)
    p = torch.sigmoid(model(x[None]))[0, 0].item()
    assert got["probs"] == pytest.approx([1 - p, p], abs=1e-7) and got["logits"][0] == 0


def test_explain_at_dispatches_and_conv_filters_cover_every_conv(net):
    model, x = net
    assert probes.explain_at(model, x, "act1", 0, 0, 0)["kind"] == "conv"
    assert probes.explain_at(model, x, "pool1", 0, 0, 0)["kind"] == "pool"
    assert probes.explainable(model) == {"conv1": "conv1", "act1": "conv1", "pool1": "pool1",
                                         "conv2": "conv2", "act2": "conv2", "pool2": "pool2"}
    f = probes.conv_filters(model)
    assert {k: v.shape for k, v in f.items()} == {"conv1": (4, 1, 3, 3), "conv2": (5, 4, 3, 3)}


@pytest.mark.parametrize("call,words", [
    (lambda m, x: probes.convolution_at(m, x, "dense1", 0, 0, 0), ("inspect.layer", "'dense1'", "conv1, act1")),
    (lambda m, x: probes.convolution_at(m, x, "pool1", 0, 0, 0), ("inspect.layer", "conv1, act1, conv2, act2")),
    (lambda m, x: probes.pooling_at(m, x, "conv1", 0, 0, 0), ("inspect.layer", "pool1, pool2")),
    (lambda m, x: probes.convolution_at(m, x, "conv1", 4, 0, 0), ("inspect.unit", "0 and 3", "received: 4")),
    (lambda m, x: probes.convolution_at(m, x, "conv2", 0, 2, 0), ("inspect.row", "0 and 1", "conv2")),
    (lambda m, x: probes.pooling_at(m, x, "pool1", 0, 0, -1), ("inspect.col", "0 and 3", "received: -1")),
])
def test_bad_places_name_the_field_and_the_allowed_values(net, call, words):
    model, x = net
    with pytest.raises(probes.ProbeError) as e:
        call(model, x)
    for w in words:
        assert w in str(e.value)
    assert "받은 값" in e.value.render("ko") or "가능한 값" in e.value.render("ko")


def test_a_drawn_image_is_standardized_as_in_training():
    """DataBundle.from_raw: raw pixels in [0, 1] become the model's input as the data's own were."""
    raw = load_data(DataSpec(name="digits"))
    std = load_data(DataSpec(name="digits", scale="standard"))
    np.testing.assert_array_equal(raw.from_raw(raw.x_test[:5].numpy()).numpy(), raw.x_test[:5].numpy())
    np.testing.assert_allclose(std.from_raw(raw.x_test[:5].numpy()).numpy(), std.x_test[:5].numpy(), atol=1e-5)
    assert not np.allclose(std.x_test[:5].numpy(), raw.x_test[:5].numpy())


def test_the_steps_after_a_conv_are_torchs_relu_batch_norm_and_dropout():
    """Each value-by-value child after the conv (ReLU, batch norm in eval mode, dropout = identity
    in eval mode) shows its value at the same place, equal to PyTorch's functional ops."""
    torch.manual_seed(1)
    layers = [{"type": "conv2d", "filters": 3, "kernel": 3}, {"type": "batchnorm"}, {"type": "dropout", "rate": 0.2},
              {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"}]
    m = build_model(ModelSpec(layers=layers, activation="relu"), (1, 8, 8), 10)
    m.train()
    for _ in range(3):                          # running statistics that are not the defaults
        m(torch.rand(16, 1, 8, 8) * 2)
    m.eval()
    x = torch.rand(1, 8, 8)
    got = probes.convolution_at(m, x, "drop1", 2, 5, 6)
    assert [s["name"] for s in got["after"]] == ["act1", "bn1", "drop1"]
    bn = m.bn1
    with torch.no_grad():
        z = F.conv2d(x[None], m.conv1.weight, m.conv1.bias, padding=1)
        ref = F.batch_norm(F.relu(z), bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    assert got["after"][0]["value"] == pytest.approx(float(F.relu(z)[0, 2, 5, 6]), abs=1e-6)
    assert got["after"][1]["value"] == pytest.approx(float(ref[0, 2, 5, 6]), abs=1e-5) == got["after"][2]["value"]
