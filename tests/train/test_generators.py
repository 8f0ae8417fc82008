"""Each Trainer draws from its own generators: sessions in one process (two playground tabs,
compare mode) never change each other's weights, dropout masks, data order or attacks."""
from __future__ import annotations

import copy

import pytest
import torch

from nnplay.spec import from_dict
from nnplay.runs import new_trainer
from nnplay.train import Trainer

SPECS = {
    "dropout": {"model": {"hidden": [8, 8], "dropout": 0.3}},
    "dropout+pgd": {"model": {"hidden": [8], "dropout": 0.2},
                    "train": {"adversarial": {"method": "pgd", "eps": 0.1, "steps": 2}}},
    "cnn": {"data": {"name": "digits", "limit": 120},
            "model": {"init": "default", "layers": [
                {"type": "conv2d", "filters": 2, "activation": "relu"}, {"type": "maxpool2d", "kernel": 2},
                {"type": "flatten"}, {"type": "dropout", "rate": 0.5}, {"type": "dense", "units": 8}]}},
}
EPOCHS = 3


def make(name: str, seed: int = 0) -> Trainer:
    d = SPECS[name]
    return new_trainer(from_dict({"data": {"name": "moons", "samples": 80, "noise": 0.2, **d.get("data", {})},
                              "model": d["model"],
                              "train": {"epochs": EPOCHS, "batch_size": 16, "seed": seed,
                                        **d.get("train", {})}}))


@pytest.mark.parametrize("name", SPECS)
def test_interleaved_trainers_equal_one_trained_alone(name):
    alone = make(name)
    want = [alone.train_epoch() for _ in range(EPOCHS)]
    a, b = make(name), make(name)
    for _ in range(EPOCHS):
        a.train_epoch()
        torch.rand(100)                     # anyone else drawing from the global RNG
        b.train_epoch()
    assert a.history == want and b.history == want
    for p, q in zip(alone.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("name", SPECS)
def test_another_trainer_created_in_between_changes_nothing(name):
    alone = make(name)
    want = [alone.train_epoch() for _ in range(EPOCHS)]
    a = make(name)
    got = [a.train_epoch()]
    other = make(name, seed=5)              # e.g. a second tab opened mid-run
    other.train_epoch()
    got += [a.train_epoch() for _ in range(EPOCHS - 1)]
    assert got == want
    assert other.history[0] != want[0]      # the other seed really trains differently


def test_training_leaves_the_global_rng_alone():
    before = torch.get_rng_state()
    tr = make("dropout+pgd")
    tr.train_epoch()
    tr.evaluate("test")
    assert torch.equal(torch.get_rng_state(), before)


def test_resumed_state_continues_the_dropout_masks():
    a = make("dropout")
    a.train_epoch()
    st, hist = copy.deepcopy(a.state()), list(a.history)   # (state() holds live tensors)
    want = a.train_epoch()
    b = make("dropout", seed=9)             # other weights and generators, then the state
    b.load_state(st, hist)
    assert b.train_epoch() == want
