"""Learning-rate schedules against their formulas, alone and inside the Trainer."""
from __future__ import annotations

import math

import pytest
import torch

from nnplay.spec import Spec, TrainSpec
from nnplay.train import Trainer
from nnplay.train.schedules import make_schedule


def lrs(spec: TrainSpec, steps_per_epoch: int, n: int) -> list[float]:
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD(p, lr=spec.lr)
    sched, _ = make_schedule(spec, opt, steps_per_epoch)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_none_has_no_scheduler():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    assert make_schedule(TrainSpec(), opt, 5) == (None, False)


def test_step_decay():
    spec = TrainSpec(schedule="step", lr=0.1, step_size=3, gamma=0.5, epochs=10)
    want = [0.1 * 0.5 ** (e // 3) for e in range(10)]
    assert lrs(spec, 4, 10) == pytest.approx(want, rel=1e-12)
    assert make_schedule(spec, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), 4)[1] is False


def test_cosine_annealing():
    T = 8
    spec = TrainSpec(schedule="cosine", lr=0.2, epochs=T)
    want = [0.1 * (1 + math.cos(math.pi * e / T)) for e in range(T + 1)]   # eta_max/2 (1 + cos(pi e / T))
    assert lrs(spec, 3, T + 1) == pytest.approx(want, abs=1e-12)


def test_one_cycle_per_batch():
    """Smith & Topin: warm up from lr/25 to lr over 30% of the steps, then anneal to lr/25/1e4 (cosine)."""
    epochs, spe = 4, 5
    total = epochs * spe
    spec = TrainSpec(schedule="onecycle", lr=0.5, epochs=epochs)
    lo, hi, end = 0.5 / 25, 0.5, 0.5 / 25 / 1e4
    up = 0.3 * total - 1

    def cos(a, b, pct):
        return b + (a - b) / 2 * (1 + math.cos(math.pi * pct))
    want = [cos(lo, hi, i / up) if i <= up else cos(hi, end, (i - up) / (total - 1 - up)) for i in range(total)]
    got = lrs(spec, spe, total)
    assert got == pytest.approx(want, rel=1e-9)
    assert max(got) == pytest.approx(hi) and got[-1] == pytest.approx(end)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    assert make_schedule(spec, opt, spe)[1] is True


def small_spec(**train) -> Spec:
    return Spec.model_validate({"data": {"name": "gauss", "samples": 60, "train_ratio": 0.8, "val_ratio": 0.0},
                                "model": {"hidden": [4]},
                                "train": {"optimizer": "sgd", "probe_every": 0, **train}})


def test_trainer_records_the_step_schedule():
    tr = Trainer(small_spec(lr=0.4, schedule="step", step_size=2, gamma=0.1, epochs=5))
    got = [tr.train_epoch()["lr"] for _ in range(5)]
    assert got == pytest.approx([0.4 * 0.1 ** (e // 2) for e in range(1, 6)], rel=1e-12)


def test_trainer_steps_one_cycle_every_batch():
    tr = Trainer(small_spec(lr=0.4, schedule="onecycle", epochs=3, batch_size=16))   # 48 samples: 3 batches
    for _ in range(3):
        rec = tr.train_epoch()
    assert tr.scheduler.last_epoch == 8                    # 9 batches use steps 0..8 of 9
    assert rec["lr"] == pytest.approx(0.4 / 25 / 1e4)       # annealed to the final lr, not past it
    assert tr.train_epoch()["lr"] == pytest.approx(0.4 / 25 / 1e4)   # an extra epoch holds it
