"""Trainer.between_batches: called after every batch with the step and its loss; what a
watcher does there (the playground's frames: eval-mode pictures, evaluations) leaves the
numbers exactly as they are without one."""
from __future__ import annotations

import torch

from nnplay import probes
from nnplay.spec import from_dict
from nnplay.train import Trainer

# dropout draws masks and batch norm keeps running statistics: both would show a watcher
# that touched the training state
MLP = {"data": {"name": "spiral", "samples": 300}, "model": {"hidden": [8, 8], "dropout": 0.3, "batchnorm": True},
       "train": {"batch_size": 16, "optimizer": "adam", "lr": 0.01}}
CNN = {"data": {"name": "digits", "limit": 200},
       "model": {"activation": "relu", "layers": [{"type": "conv2d", "filters": 4, "kernel": 3},
                                                  {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
                                                  {"type": "dropout", "rate": 0.2}]},
       "train": {"batch_size": 25}}


def watch(tr: Trainer) -> list[tuple[int, int, float]]:
    """Hook a frame-maker like the playground's into ``tr``; -> the calls (epoch, step, loss)."""
    calls = []
    d = tr.data

    def frame(step: int, loss: torch.Tensor | None) -> None:
        if loss is None:   # between two slices of an evaluation (a set of more than 256)
            return
        calls.append((tr.epoch, step, float(loss.detach())))
        if d.is_2d:
            probes.boundary_grid(tr.model, d, 20)
            probes.unit_grids(tr.model, d, 8)
        else:
            probes.feature_maps(tr.model, d.x_test[0])
            tr.predict(d.x_test[:1])
        tr.evaluate("test")
    tr.between_batches = frame
    return calls


def same_training(spec: dict, epochs: int = 3) -> list[tuple[int, int, float]]:
    watched, alone = Trainer(from_dict(spec)), Trainer(from_dict(spec))
    calls = watch(watched)
    for _ in range(epochs):
        a, b = watched.train_epoch(), alone.train_epoch()
        assert a == b                                   # every figure of the record, probes included
    for (k, v), w in zip(alone.model.state_dict().items(), watched.model.state_dict().values()):
        assert torch.equal(v, w), k                     # weights and batch-norm statistics
    assert torch.equal(watched.dropout_generator.get_state(), alone.dropout_generator.get_state())
    return calls


def test_a_watcher_between_batches_changes_nothing_an_mlp_learns():
    tr = Trainer(from_dict(MLP))
    calls = same_training(MLP)
    n = tr.steps_per_epoch
    assert [(e, s) for e, s, _ in calls] == [(e, s) for e in (1, 2, 3) for s in range(1, n + 1)]


def test_a_watcher_between_batches_changes_nothing_a_cnn_learns():
    calls = same_training(CNN, epochs=2)
    assert len(calls) == 2 * Trainer(from_dict(CNN)).steps_per_epoch


def test_the_batch_loss_it_gets_is_the_batch_the_epoch_averages():
    tr = Trainer(from_dict({**MLP, "model": {"hidden": [8]}}))   # no dropout: loss is the batch's own
    calls = watch(tr)
    rec = tr.train_epoch()
    sizes = [min(tr.spec.train.batch_size, len(tr.x["train"]) - i * tr.spec.train.batch_size)
             for i in range(tr.steps_per_epoch)]
    mean = sum(loss * k for (_, _, loss), k in zip(calls, sizes)) / sum(sizes)
    assert abs(mean - rec["train_loss"]) < 1e-5
