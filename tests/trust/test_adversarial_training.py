"""Adversarial training in the Trainer (train.adversarial): the batch hook and the digits bar."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from nnplay import spec as specmod
from nnplay.spec import AdversarialSpec
from nnplay.runs import new_trainer
from nnplay.train.losses import TaskLoss
from nnplay.trust.attacks import adversarial_trainer, attack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn.toml"


def test_adversary_replaces_the_mix_share_in_eval_mode_and_restores_train_mode():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
    net.train()
    seen = []
    net[1].register_forward_hook(lambda m, i, o: seen.append(m.training))
    stats = (net[1].running_mean.clone(), net[1].running_var.clone())
    adv = adversarial_trainer(net, TaskLoss("multiclass"), AdversarialSpec(method="pgd", eps=0.1, steps=3, mix=0.25),
                              (0.0, 1.0))
    xb, yb = torch.rand(16, 6), torch.randint(0, 3, (16,))
    out = adv(xb, yb)
    assert seen and not any(seen)                               # every attack pass in eval mode
    assert net.training
    assert torch.equal(net[1].running_mean, stats[0]) and torch.equal(net[1].running_var, stats[1])
    assert torch.equal(out[4:], xb[4:])                         # 75% untouched
    d = (out[:4] - xb[:4]).abs().flatten(1).amax(1)
    assert float(d.max()) <= 0.1 + 1e-6 and float(d.min()) > 0.05
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    # the attacked copies raise the loss they were made against
    net.eval()
    loss = nn.CrossEntropyLoss()
    assert loss(net(out[:4]), yb[:4]) > loss(net(xb[:4]), yb[:4])


def test_digits_bar_adversarial_training_raises_pgd_accuracy(model_data):
    """The example's model, trained with `--set train.adversarial.method=pgd --set
    train.adversarial.eps=0.1` (default 7 steps, half of each batch) for 15 of its 30 epochs."""
    plain, d = model_data
    pgd = dict(eps=0.1, method="pgd", steps=10, bounds=d.bounds)
    plain_pgd = attack(plain, d.x_test, d.y_test, **pgd).adversarial_accuracy
    spec = specmod.load(EXAMPLE, ["train.adversarial.method=pgd", "train.adversarial.eps=0.1",
                                  "train.epochs=15", "train.probe_every=0"])
    tr = new_trainer(spec, data=d)
    tr.fit()
    robust = attack(tr.model, d.x_test, d.y_test, **pgd)
    assert robust.clean_accuracy > 0.90, robust.summary()
    # gain measured +0.322 (train.seed 0; +0.225 to +0.322 over seeds 0-3)
    assert robust.adversarial_accuracy >= plain_pgd + 0.20, (plain_pgd, robust.summary())
    # a stronger attack (more steps, another random start) does not undo the gain
    strong = attack(tr.model, d.x_test, d.y_test, **{**pgd, "steps": 40}, seed=1)
    assert strong.adversarial_accuracy >= plain_pgd + 0.15, (plain_pgd, strong.summary())   # +0.308
