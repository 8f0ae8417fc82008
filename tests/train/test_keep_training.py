"""Trainer.keep_training_on: the library's rule for points a learner clicks onto the canvas
(the server only asks it)."""
import torch

from nnplay.spec import from_dict
from nnplay.train import Trainer

POINTS = [[x / 3, (x % 5) / 2, x % 2] for x in range(-12, 12)]


def _spec(points, **model):
    return from_dict({"data": {"name": "points", "points": points}, "model": {"hidden": [4], **model},
                      "train": {"epochs": 2, "probe_every": 0}})


def test_a_new_point_of_a_known_class_keeps_the_network_and_its_epoch():
    tr = Trainer(_spec(POINTS))
    tr.train_epoch()
    weights = [p.detach().clone() for p in tr.model.parameters()]
    assert tr.keep_training_on(_spec(POINTS + [[0.5, 0.5, 1]]))
    assert tr.epoch == 1 and len(tr.data.x_train) + len(tr.data.x_val) + len(tr.data.x_test) == 25
    assert all(torch.equal(a, b) for a, b in zip(weights, tr.model.parameters()))


def test_a_new_class_or_another_change_is_left_to_a_rebuild():
    tr = Trainer(_spec(POINTS))
    before = tr.spec
    assert not tr.keep_training_on(_spec(POINTS + [[0.5, 0.5, 2]]))   # a third class: a new output
    assert not tr.keep_training_on(_spec(POINTS + [[0.5, 0.5, 1]], hidden=[5]))   # the model changed
    assert tr.spec == before
