"""L1/L2 penalties (규제): lambda * sum|w| and lambda * sum w^2 over weights, not biases."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from nnplay.model.regularize import penalty, weights


def hand_model() -> nn.Sequential:
    m = nn.Sequential(nn.Conv2d(1, 1, 2), nn.Flatten(), nn.Linear(4, 2))
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor([[[[1.0, -2.0], [0.5, 0.0]]]]))
        m[0].bias.fill_(100.0)
        m[2].weight.copy_(torch.tensor([[3.0, 0.0, -1.0, 0.0], [0.0, 0.0, 0.0, -0.5]]))
        m[2].bias.copy_(torch.tensor([-50.0, 7.0]))
    return m


def test_l1_is_lambda_sum_abs_weights():
    # |1| + |-2| + |0.5| + |3| + |-1| + |-0.5| = 8.0
    assert penalty(hand_model(), "l1", 0.1).item() == pytest.approx(0.8)


def test_l2_is_lambda_sum_squared_weights():
    # 1 + 4 + 0.25 + 9 + 1 + 0.25 = 15.5
    assert penalty(hand_model(), "l2", 0.01).item() == pytest.approx(0.155)


def test_off_when_none_or_rate_zero():
    assert penalty(hand_model(), "none", 0.1) is None
    assert penalty(hand_model(), "l2", 0.0) is None


def test_weights_skip_biases_and_norm_parameters():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.PReLU(4), nn.Linear(4, 1))
    ws = weights(m)
    assert [w.shape for w in ws] == [(4, 3), (1, 4)]


def test_l1_gradient_is_lambda_sign():
    m = hand_model()
    penalty(m, "l1", 0.1).backward()
    torch.testing.assert_close(m[2].weight.grad, 0.1 * torch.sign(m[2].weight.detach()))
    assert m[2].bias.grad is None and m[0].bias.grad is None      # biases are not penalized
