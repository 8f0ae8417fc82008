"""Sequence probes: the gates recomputed from PyTorch's documented equations reproduce
nn.LSTM's / nn.GRU's own h and c, and the gradient over time steps is the hand-worked one."""
from __future__ import annotations

import pytest
import torch

from nnplay import probes
from nnplay.model import build_model
from nnplay.spec import ModelSpec
from nnplay.train.losses import TaskLoss


def net(kind: str, before: list | None = None):
    layers = (before or []) + [{"type": kind, "units": 6, "num_layers": 2}]
    return build_model(ModelSpec(layers=layers, init="default"), (11, 3), 1,
                       torch.Generator().manual_seed(3))


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_gates_reproduce_pytorchs_own_states(kind):
    m = net(kind, [{"type": "conv1d", "filters": 3, "activation": "tanh"}])   # a layer before it
    x = torch.randn(11, 3)
    res = probes.gates(m, x)
    with torch.no_grad():
        z = m.act1(m.conv1(x[None]))
        seq, h_n = m[2].layers[0](z)                   # PyTorch's nn.LSTM / nn.GRU / nn.RNN
    torch.testing.assert_close(torch.from_numpy(res["h"]), seq[0], atol=1e-6, rtol=1e-5)
    assert res["gap"] < 1e-5 and res["kind"] == kind
    if kind == "lstm":
        torch.testing.assert_close(torch.from_numpy(res["c"]), h_n[1][0, 0], atol=1e-6, rtol=1e-5)
        assert set(res["gates"]) == {"input", "forget", "cell", "output"}
    if kind == "gru":
        assert set(res["gates"]) == {"reset", "update", "new"}
    for name, g in res["gates"].items():
        assert g.shape == (11, 6)
        if name not in ("cell", "new"):               # sigmoid gates lie in (0, 1)
            assert g.min() > 0 and g.max() < 1


def test_gates_of_a_model_without_recurrent_layers_are_none():
    m = build_model(ModelSpec(layers=[{"type": "conv1d", "filters": 2}]), (5, 1), 1)
    assert probes.gates(m, torch.randn(5, 1)) is None


def test_time_gradients_hand_worked():
    """A linear read-out of the flattened window, out = sum_t w_t . x_t + b with MSE:
    dL/dx_t = 2 (out - y) w_t / B for each sample, so the curve is mean_b 2|out_b - y_b| ||w_t|| / B."""
    m = build_model(ModelSpec(layers=[{"type": "flatten"}]), (4, 2), 1, torch.Generator().manual_seed(0))
    x, y = torch.randn(5, 4, 2), torch.randn(5)
    g = probes.time_gradients(m, TaskLoss("regression"), x, y)
    with torch.no_grad():
        resid = (m(x).squeeze(1) - y).abs()
    w = m.out.weight.reshape(4, 2)
    expect = (2 * resid.mean() / 5) * w.norm(dim=1)
    torch.testing.assert_close(torch.from_numpy(g), expect, rtol=1e-5, atol=1e-7)


def test_time_gradients_keep_the_models_mode_and_weights():
    m = net("lstm")
    m.train()
    before = [p.clone() for p in m.parameters()]
    probes.time_gradients(m, TaskLoss("regression"), torch.randn(3, 11, 3), torch.randn(3))
    assert m.training and all(torch.equal(a, b) for a, b in zip(before, m.parameters()))
    assert all(p.grad is None for p in m.parameters())
