"""Freezing the discriminator while the generator trains through it (the Keras note:
``discriminator.trainable = False`` in the combined model): D's weights, buffers and optimizer
state do not move in G's step; unfrozen, G's step teaches D that fakes are real."""
from __future__ import annotations

import copy

import torch

from nnplay.spec import load
from nnplay.train import Trainer


def flat(obj, key=""):
    """Every tensor and number of a (nested) state dict, by path."""
    if isinstance(obj, dict):
        return {k2: v2 for k, v in obj.items() for k2, v2 in flat(v, f"{key}/{k}").items()}
    if isinstance(obj, (list, tuple)):
        return {k2: v2 for i, v in enumerate(obj) for k2, v2 in flat(v, f"{key}/{i}").items()}
    return {key: obj.clone() if isinstance(obj, torch.Tensor) else copy.deepcopy(obj)}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        torch.equal(a[k], b[k]) if isinstance(a[k], torch.Tensor) else a[k] == b[k] for k in a)


def trainer(*overrides: str):
    # batch norm (running statistics) and spectral norm (power-iteration vector) give D buffers
    # that a forward pass in training mode would move
    return Trainer(load("examples/gan_ring.toml", ["model.batchnorm=true", "model.spectral_norm=true",
                                                   "model.pack=2", *overrides]))


def test_d_weights_buffers_and_optimizer_state_do_not_change_in_g_step():
    tr = trainer()
    D, G = tr.model.discriminator, tr.model.generator
    for _ in range(3):
        tr.d_step()
        tr.g_step()
    d_before, opt_before = flat(D.state_dict()), flat(tr.optimizer.state_dict())
    g_before, g_opt_before = flat(G.state_dict()), flat(tr.g_optimizer.state_dict())
    assert any(k.endswith("running_mean") for k in d_before) and any("_u" in k for k in d_before)
    tr.g_step()
    assert same(flat(D.state_dict()), d_before)
    assert same(flat(tr.optimizer.state_dict()), opt_before)
    assert not same(flat(G.state_dict()), g_before)                   # G did learn
    assert not same(flat(tr.g_optimizer.state_dict()), g_opt_before)
    assert D.training and all(p.requires_grad for p in D.parameters())   # D trains again after
    d_step_before = flat(D.state_dict())
    tr.d_step()
    assert not same(flat(D.state_dict()), d_step_before)


def test_unfrozen_g_step_teaches_d_that_fakes_are_real():
    tr = trainer("train.gan.freeze_d=false")
    D = tr.model.discriminator
    for _ in range(3):
        tr.d_step()
    fakes = tr.fakes(256, torch.Generator().manual_seed(1)).detach()
    D.eval()
    with torch.no_grad():
        before = D(fakes).mean()
    D.train()
    d_before, opt_before = flat(D.state_dict()), flat(tr.optimizer.state_dict())
    tr.g_step()
    assert not same(flat(D.state_dict()), d_before) and not same(flat(tr.optimizer.state_dict()), opt_before)
    D.eval()
    with torch.no_grad():
        assert D(fakes).mean() > before       # D now calls the (same) fakes more real
