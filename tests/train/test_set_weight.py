"""Trainer.set_weight: one weight (or bias) set by hand between epochs, as a click on a link of
the TF Playground's diagram; checked against torch.func.functional_call with the edited tensor."""
from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from nnplay.spec import UserError, from_dict
from nnplay.train import Trainer

SMALL = {"data": {"samples": 200}, "model": {"hidden": [6, 4]}}


def test_one_weight_and_one_bias_change_the_network_as_torch_says():
    tr = Trainer(from_dict(SMALL))
    tr.train_epoch()
    x = tr.x["test"][:16]
    params = {k: v.detach().clone() for k, v in tr.model.named_parameters()}
    params["dense2.weight"][1, 3] = 0.5
    params["out.bias"][0] = -0.25
    with torch.no_grad():
        want = functional_call(tr.model, params, (x,))
    tr.set_weight("dense2", 1, 3, 0.5)
    tr.set_weight("out", 0, None, -0.25)
    with torch.no_grad():
        got = tr.model(x)
    torch.testing.assert_close(got, want)
    assert float(tr.model.dense2.weight.detach()[1, 3]) == 0.5 and float(tr.model.out.bias.detach()[0]) == -0.25


def test_training_goes_on_from_the_edited_weight_with_the_optimizer_state():
    a, b = Trainer(from_dict(SMALL)), Trainer(from_dict(SMALL))
    a.train_epoch()
    b.train_epoch()
    a.set_weight("dense1", 2, 0, 1.5)
    with torch.no_grad():                      # the same edit by hand, beside the library
        b.model.dense1.weight[2, 0] = 1.5
    a.train_epoch()
    b.train_epoch()
    assert float(a.model.dense1.weight.detach()[2, 0]) != 1.5   # it trained on from there
    for (n, p), q in zip(a.model.named_parameters(), b.model.parameters()):
        torch.testing.assert_close(p, q, msg=n)


@pytest.mark.parametrize("args, words", [
    (("dense9", 0, 0, 1.0), ["weight.layer", "dense1, dense2, out", "'dense9'"]),
    (("dense1", 6, 0, 1.0), ["weight.to", "0..5", "6"]),
    (("dense2", 0, 6, 1.0), ["weight.source", "0..5", "6"]),
    (("out", 0, 0, float("nan")), ["weight.value", "finite"]),
])
def test_bad_edits_name_the_field_and_the_allowed_values(args, words):
    tr = Trainer(from_dict(SMALL))
    before = {k: v.detach().clone() for k, v in tr.model.state_dict().items()}
    with pytest.raises(UserError) as e:
        tr.set_weight(*args)
    for w in words:
        assert w in str(e.value)
    assert "다음 중 하나여야" in e.value.render("ko") or "이어야" in e.value.render("ko") or "유한한" in e.value.render("ko")
    for k, v in tr.model.state_dict().items():   # nothing changed
        torch.testing.assert_close(v, before[k])
