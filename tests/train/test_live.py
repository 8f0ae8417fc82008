"""Live changes (Trainer.update / update_model between epochs) reach the optimizer and the
schedule, one test per field the playground changes live. Expected learning rates come
from PyTorch's own schedulers or hand-worked numbers."""
from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler

from nnplay.spec import from_dict
from nnplay.train import Trainer

DATA = {"name": "spiral", "samples": 200, "train_ratio": 0.8, "val_ratio": 0.2}


def trainer(**train) -> Trainer:
    return Trainer(from_dict({"data": DATA, "model": {"hidden": [8]},
                              "train": {"batch_size": 16, "epochs": 10, **train}}))


def lr_of(tr: Trainer) -> float:
    return tr.optimizer.param_groups[0]["lr"]


def torch_onecycle(max_lr: float, total: int, steps: int) -> float:
    """PyTorch's OneCycleLR after ``steps`` steps."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=max_lr, momentum=0.9)
    s = lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total)
    for _ in range(steps):
        opt.step()
        s.step()
    return opt.param_groups[0]["lr"]


def test_lr_with_onecycle_holds_after_the_next_epoch():
    """Before: a live lr of 0.5 was back to 0.00083 one epoch later."""
    tr = trainer(optimizer="momentum", schedule="onecycle", lr=0.01)
    spe = tr.steps_per_epoch
    for _ in range(3):
        tr.train_epoch()
    tr.update(lr=0.5)
    assert lr_of(tr) == pytest.approx(torch_onecycle(0.5, 10 * spe, 3 * spe))
    tr.train_epoch()
    assert lr_of(tr) == pytest.approx(torch_onecycle(0.5, 10 * spe, 4 * spe))
    assert lr_of(tr) > 0.25   # near the peak of the new cycle, not the old 0.01's


def test_batch_size_with_onecycle_follows_the_new_number_of_steps():
    """Before: a live batch size pinned the lr at the end of the cycle."""
    tr = trainer(optimizer="momentum", schedule="onecycle", lr=0.1, batch_size=64)
    tr.train_epoch()
    tr.update(batch_size=8)
    spe = tr.steps_per_epoch
    tr.train_epoch()
    assert lr_of(tr) == pytest.approx(torch_onecycle(0.1, 10 * spe, 2 * spe))
    assert lr_of(tr) > 0.05


def test_step_size_and_gamma_reach_the_step_schedule():
    """Before: live step_size/gamma changes were ignored. lr = 0.1 * gamma ** (epoch // step_size)."""
    tr = trainer(optimizer="sgd", schedule="step", lr=0.1, step_size=30, gamma=0.1)
    for _ in range(3):
        tr.train_epoch()
    assert lr_of(tr) == pytest.approx(0.1)
    tr.update(step_size=2, gamma=0.5)
    assert lr_of(tr) == pytest.approx(0.1 * 0.5 ** (3 // 2))
    tr.train_epoch()
    assert lr_of(tr) == pytest.approx(0.1 * 0.5 ** (4 // 2))


def test_epochs_reach_the_cosine_schedule():
    tr = trainer(optimizer="sgd", schedule="cosine", lr=0.1, epochs=10)
    for _ in range(4):
        tr.train_epoch()
    tr.update(epochs=20)
    tr.train_epoch()   # 5 of 20: 0.1 * (1 + cos(pi * 5 / 20)) / 2
    assert lr_of(tr) == pytest.approx(0.1 * (1 + math.cos(math.pi * 5 / 20)) / 2)


def test_schedule_switched_on_live_starts_at_the_position_reached():
    tr = trainer(optimizer="sgd", lr=0.1, step_size=2, gamma=0.5)
    for _ in range(5):
        tr.train_epoch()
    tr.update(schedule="step")
    assert lr_of(tr) == pytest.approx(0.1 * 0.5 ** 2)


def test_lr_without_schedule_changes_in_place_and_keeps_the_state():
    tr = trainer(optimizer="adam", lr=0.01)
    tr.train_epoch()
    opt, state = tr.optimizer, dict(tr.optimizer.state)
    tr.update(lr=0.123)
    assert tr.optimizer is opt and lr_of(tr) == 0.123 and len(opt.state) == len(state) > 0


def test_momentum_and_weight_decay_change_in_place_keeping_the_momentum_buffers():
    tr = trainer(optimizer="momentum", lr=0.05, momentum=0.5)
    tr.train_epoch()
    opt = tr.optimizer
    bufs = [opt.state[p]["momentum_buffer"].clone() for p in tr.model.parameters()]
    tr.update(momentum=0.95, weight_decay=0.01)
    g = opt.param_groups[0]
    assert tr.optimizer is opt and (g["momentum"], g["weight_decay"]) == (0.95, 0.01)
    for p, b in zip(tr.model.parameters(), bufs):
        torch.testing.assert_close(opt.state[p]["momentum_buffer"], b)
    # the next step uses them: buf = 0.95 * buf + (grad + 0.01 * p)  (torch.optim.SGD's rule)
    p = next(tr.model.parameters())
    twin = torch.optim.SGD([torch.nn.Parameter(p.detach().clone())], lr=0.05, momentum=0.95,
                           weight_decay=0.01)
    assert twin.param_groups[0]["momentum"] == g["momentum"]


def test_weight_decay_reaches_adam():
    tr = trainer(optimizer="adamw", lr=0.01, weight_decay=0.0)
    tr.train_epoch()
    tr.update(weight_decay=0.2)
    assert tr.optimizer.param_groups[0]["weight_decay"] == 0.2


def test_a_new_optimizer_is_built_and_keeps_the_schedule_position():
    tr = trainer(optimizer="adam", schedule="step", lr=0.1, step_size=2, gamma=0.5)
    for _ in range(4):
        tr.train_epoch()
    tr.update(optimizer="momentum")
    assert isinstance(tr.optimizer, torch.optim.SGD) and tr.optimizer.param_groups[0]["momentum"] == 0.9
    assert lr_of(tr) == pytest.approx(0.1 * 0.5 ** 2)


def test_probe_every_early_stopping_and_checkpoint_every_are_read_live():
    tr = trainer(optimizer="adam", lr=0.01, probe_every=1)
    assert "grad_norm" in tr.train_epoch()
    tr.update(probe_every=0, checkpoint_every=3)
    assert "grad_norm" not in tr.train_epoch() and tr.spec.train.checkpoint_every == 3
    tr.update(early_stopping={"patience": 1, "min_delta": 10.0}, epochs=50)
    res = tr.fit()
    assert res.stopped_early and tr.epoch < 50


def test_model_fields_change_the_loss_live():
    tr = trainer(optimizer="sgd", lr=0.1)
    tr.update_model(label_smoothing=0.3)
    assert tr.loss_fn.eps == 0.3
    twin = trainer(optimizer="sgd", lr=0.1)
    twin.update_model(label_smoothing=0.3)
    tr.update_model(regularization="l2", reg_rate=1.0)   # each step: w -= 0.1 * (g + 2 w)
    tr.train_epoch(), twin.train_epoch()

    def norm(t: Trainer) -> float:
        return sum(float((m.weight.detach() ** 2).sum()) for m in t.model
                   if isinstance(m, torch.nn.Linear))
    assert norm(tr) < 0.5 * norm(twin)


def test_onecycle_cycles_momentum_only_where_the_optimizer_has_some():
    for name, key, want in [("sgd", "momentum", 0.0), ("rmsprop", "momentum", 0.0),
                            ("momentum", "momentum", 0.95)]:
        tr = trainer(optimizer=name, schedule="onecycle", lr=0.1)
        assert tr.optimizer.param_groups[0][key] == pytest.approx(want), name


def test_a_late_live_change_is_placed_at_once_not_replayed():
    """100,000 epochs of batch 1 (the spec's limits): the schedule lands on the step reached."""
    tr = trainer(optimizer="momentum", schedule="onecycle", lr=0.1, batch_size=1, epochs=100_000)
    tr.epoch = 90_000   # as if trained that long
    spe = tr.steps_per_epoch
    tr.update(lr=0.2)
    total = 100_000 * spe
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2, momentum=0.9)
    ref = lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=total)
    ref.last_epoch = 90_000 * spe - 1
    ref.step()
    assert lr_of(tr) == pytest.approx(opt.param_groups[0]["lr"])
    # and PyTorch's closed form for the step schedule (lr * gamma ** (epoch // step_size))
    tr.update(schedule="step", step_size=7, gamma=0.9)
    assert lr_of(tr) == pytest.approx(0.2 * 0.9 ** (90_000 // 7))


# --- every field the spec marks live reaches its target, and stays there -----------------------
class FakeStep:
    """Stands in for the compiled step: records that one was asked for (building it takes seconds)."""
    def __init__(self, model, loss_fn, batch_size):
        self.batch_size, self.error, self.cancel = batch_size, None, None
        self.ready = __import__("threading").Event()

    def matches(self, loss_fn, batch_size):
        return batch_size == self.batch_size

    def start(self, x, y):
        pass


class FakeEpoch(FakeStep):
    """Stands in for the whole-epoch call (train/compiled.py's CompiledEpoch) the same way."""
    def __init__(self, model, loss_fn, batch_size, kind):
        super().__init__(model, loss_fn, batch_size)

    def fits(self, optimizer, n):
        return True


def adam_steps(tr: Trainer) -> int:
    return int(next(iter(tr.optimizer.state.values()))["step"])


def weight_norm(tr: Trainer) -> float:
    return sum(float((m.weight.detach() ** 2).sum()) for m in tr.model if isinstance(m, torch.nn.Linear))


# field -> (starting train fields, the change, a check that the change is in force)
LIVE = {
    "train.lr": ({"optimizer": "adam", "lr": 0.01}, {"lr": 0.2}, lambda tr: lr_of(tr) == 0.2),
    "train.optimizer": ({"optimizer": "adam"}, {"optimizer": "rmsprop"},
                        lambda tr: isinstance(tr.optimizer, torch.optim.RMSprop)),
    "train.momentum": ({"optimizer": "momentum", "momentum": 0.5}, {"momentum": 0.8},
                       lambda tr: tr.optimizer.param_groups[0]["momentum"] == 0.8),
    "train.weight_decay": ({"optimizer": "adamw"}, {"weight_decay": 0.3},
                           lambda tr: tr.optimizer.param_groups[0]["weight_decay"] == 0.3),
    # Adam counts its steps: ceil(n / 40) an epoch after the change instead of ceil(n / 16)
    "train.batch_size": ({"optimizer": "adam"}, {"batch_size": 40},
                         lambda tr: adam_steps(tr) == math.ceil(len(tr.x["train"]) / 16) * tr.epoch_at_change
                         + math.ceil(len(tr.x["train"]) / 40) * (tr.epoch - tr.epoch_at_change)),
    # the cosine schedule's length: lr = 0.1 (1 + cos(pi e / 20)) / 2
    "train.epochs": ({"optimizer": "sgd", "lr": 0.1, "schedule": "cosine", "epochs": 10}, {"epochs": 20},
                     lambda tr: lr_of(tr) == pytest.approx(0.1 * (1 + math.cos(math.pi * tr.epoch / 20)) / 2)),
    "train.schedule": ({"optimizer": "sgd", "lr": 0.1, "step_size": 1, "gamma": 0.5}, {"schedule": "step"},
                       lambda tr: lr_of(tr) == pytest.approx(0.1 * 0.5 ** tr.epoch)),
    "train.step_size": ({"optimizer": "sgd", "lr": 0.1, "schedule": "step", "step_size": 50, "gamma": 0.5},
                        {"step_size": 1}, lambda tr: lr_of(tr) == pytest.approx(0.1 * 0.5 ** tr.epoch)),
    "train.gamma": ({"optimizer": "sgd", "lr": 0.1, "schedule": "step", "step_size": 1, "gamma": 1.0},
                    {"gamma": 0.5}, lambda tr: lr_of(tr) == pytest.approx(0.1 * 0.5 ** tr.epoch)),
    "train.early_stopping": ({"epochs": 60}, {"early_stopping": {"patience": 1, "min_delta": 10.0}},
                             lambda tr: tr.fit().stopped_early and tr.epoch < 60),
    "train.compile": ({"optimizer": "sgd"}, {"compile": True},
                      lambda tr: isinstance(tr.compiled, FakeStep)),
    "train.probe_every": ({"probe_every": 1}, {"probe_every": 0},
                          lambda tr: "grad_norm" not in tr.train_epoch()),
    # read by runs.train_run from the spec at each epoch's end
    "train.checkpoint_every": ({}, {"checkpoint_every": 7}, lambda tr: tr.spec.train.checkpoint_every == 7),
    "model.label_smoothing": ({}, {"label_smoothing": 0.2}, lambda tr: tr.loss_fn.eps == 0.2),
    "model.regularization": ({"optimizer": "sgd", "lr": 0.1}, {"regularization": "l2", "reg_rate": 1.0},
                             lambda tr: weight_norm(tr) < 0.5 * weight_norm(tr.twin)),
    "model.reg_rate": ({"optimizer": "sgd", "lr": 0.1}, {"regularization": "l2", "reg_rate": 1.0},
                       lambda tr: weight_norm(tr) < 0.5 * weight_norm(tr.twin)),
    # a GAN's rounds of D-steps: its own test below (a GAN trainer)
    "train.gan": "test_gan_steps_reach_the_rounds_and_stay",
}


def test_the_walk_covers_every_field_the_spec_marks_live():
    from nnplay.spec import ModelSpec, TrainSpec, live_fields
    marked = {f"train.{k}" for k in live_fields(TrainSpec)} | {f"model.{k}" for k in live_fields(ModelSpec)}
    assert set(LIVE) == marked


@pytest.mark.parametrize("field", sorted(k for k, v in LIVE.items() if isinstance(v, tuple)))
def test_each_live_field_reaches_its_target_and_stays_for_the_next_epochs(field, monkeypatch):
    from nnplay.train import compiled
    monkeypatch.setattr(compiled, "CompiledStep", FakeStep)
    monkeypatch.setattr(compiled, "CompiledEpoch", FakeEpoch)
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 0.0)
    start, change, holds = LIVE[field]
    section = field.split(".")[0]

    def make() -> Trainer:
        return trainer(**{"probe_every": 0, **start})
    tr, tr.twin = make(), make()
    tr.train_epoch(), tr.twin.train_epoch()
    tr.epoch_at_change = tr.epoch
    u = tr.update({section: change})
    assert u.applied and set(u.live) == {section} and set(u.live[section]) == set(change) and u.rebuild == []
    for _ in range(2):   # in force after each of the next epochs
        tr.train_epoch(), tr.twin.train_epoch()
        assert holds(tr), field


def test_update_says_what_happened_and_applies_nothing_when_a_rebuild_is_needed():
    tr = trainer(optimizer="adam", lr=0.01)
    u = tr.update({"train": {"lr": 0.01, "batch_size": 8}})
    assert (u.kept, u.live, u.rebuild) == (["train.lr"], {"train": {"batch_size": 8}}, [])
    opt = tr.optimizer
    u = tr.update({"train": {"lr": 0.5, "seed": 3}, "model": {"hidden": [4]}})
    assert not u.applied and u.rebuild == ["model.hidden", "train.seed"]
    assert u.live == {"train": {"lr": 0.5}} and u.spec.model.hidden == [4]
    assert (tr.spec.train.lr, tr.spec.train.seed, tr.spec.model.hidden) == (0.01, 0, [8])
    assert tr.optimizer is opt and lr_of(tr) == 0.01
    new = tr.spec.model_copy(update={"name": "b", "data": tr.spec.data.model_copy(update={"samples": 300})})
    assert tr.update(new).rebuild == ["data.samples"] and tr.spec.name != "b"
    u = tr.update(tr.spec.model_copy(update={"name": "b"}))
    assert u.live == {"name": "b"} and tr.spec.name == "b"
    with pytest.raises(ValueError, match="hidden"):
        tr.update_model(hidden=[3])


def test_thin_history_keeps_the_recent_epochs_whole():
    tr = trainer()
    tr.history = [{"epoch": i} for i in range(1, 3001)]
    tr.thin_history(2500, recent=1000)
    epochs = [r["epoch"] for r in tr.history]
    assert epochs[-1000:] == list(range(2001, 3001)) and epochs[:3] == [1, 3, 5] and len(epochs) == 2000
    tr.thin_history(2500)
    assert len(tr.history) == 2000


def test_predict_and_evaluate_leave_the_training_mode_as_it_was():
    tr = Trainer(from_dict({"data": DATA, "model": {"hidden": [8], "dropout": 0.5}}))
    x = tr.data.x_test
    p = tr.predict(x)
    assert tr.model.training
    torch.testing.assert_close(p, tr.predict(x))   # dropout off while predicting
    tr.model.eval()
    tr.evaluate("val"), tr.predict(x)
    assert not tr.model.training


def test_gan_steps_reach_the_rounds_and_stay():
    """train.gan.d_steps live: each round then has 3 D-steps, ceil(n / (batch * 3)) rounds an
    epoch (generative/trainer.py), counted by D's Adam; G's optimizer and its state are kept."""
    from pathlib import Path

    from nnplay.spec import load
    example = Path(__file__).resolve().parents[2] / "examples" / "gan_ring.toml"
    tr = Trainer(load(example, ["data.samples=200", "train.batch_size=16", "train.probe_every=0"]))
    n, bs = len(tr.x["train"]), 16

    def d_steps() -> int:
        return int(next(iter(tr.optimizer.state.values()))["step"])
    tr.train_epoch()
    assert d_steps() == math.ceil(n / bs)
    g_opt = tr.g_optimizer
    u = tr.update({"train": {"gan": {**tr.spec.train.gan.model_dump(), "d_steps": 3}}})
    assert u.applied and set(u.live["train"]) == {"gan"} and tr.g_optimizer is g_opt
    for epoch in (2, 3):
        tr.train_epoch()
        assert d_steps() == math.ceil(n / bs) + (epoch - 1) * 3 * math.ceil(n / (bs * 3))
