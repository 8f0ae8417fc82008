"""nnplay's Dropout: PyTorch's dropout, with masks from a session's own generator."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from nnplay.model.layers import Dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_same_values_as_pytorchs_dropout_from_the_same_seed(p):
    x = torch.randn(64, 33)
    torch.manual_seed(7)
    want = F.dropout(x, p, training=True)
    got = Dropout(p, torch.Generator().manual_seed(7))(x)
    assert torch.equal(got, want)


def test_masks_do_not_touch_the_global_rng_and_differ_each_call():
    drop = Dropout(0.5, torch.Generator().manual_seed(0))
    x = torch.ones(8, 100)
    before = torch.get_rng_state()
    a, b = drop(x), drop(x)
    assert torch.equal(torch.get_rng_state(), before)
    assert not torch.equal(a, b)
    assert set(a.unique().tolist()) <= {0.0, 2.0}


def test_gradient_flows_through_the_kept_units_only():
    drop = Dropout(0.25, torch.Generator().manual_seed(1))
    x = torch.randn(5, 40, requires_grad=True)
    y = drop(x)
    y.sum().backward()
    kept = y.detach() != 0
    torch.testing.assert_close(x.grad, kept.float() / 0.75)


def test_eval_mode_and_no_generator_are_pytorchs_dropout():
    x = torch.randn(4, 10)
    drop = Dropout(0.5, torch.Generator().manual_seed(0)).eval()
    assert torch.equal(drop(x), x)
    plain = Dropout(0.5)               # no generator: the global RNG, as nn.Dropout
    torch.manual_seed(3)
    want = F.dropout(x, 0.5, training=True)
    torch.manual_seed(3)
    assert torch.equal(plain(x), want)
    assert isinstance(plain, torch.nn.Dropout)
