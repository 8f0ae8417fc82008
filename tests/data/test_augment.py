"""data.augment: kornia's transforms on training batches only; CutMix/MixUp label mixing; TTA."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from helpers import cli, user_error
from nnplay import spec
from nnplay.data import augment as A
from nnplay.spec import AugmentSpec, SpecError
from nnplay.train import Trainer

SMALL = ["data.name=digits", "data.limit=300", "data.val_ratio=0.2",
         'model.layers=[{type="conv2d",filters=4},{type="flatten"}]', "model.activation=relu",
         "train.epochs=2", "train.probe_every=0"]


def test_soft_targets_hand_worked():
    # rows [y_i, y_j, lam]: target = (1 - lam) onehot(y_i) + lam onehot(y_j)
    labels = torch.tensor([[0., 2., 0.25], [1., 1., 0.5], [2., 0., 0.0]])
    got = A.soft_targets(labels, torch.tensor([0, 1, 2]), 3)
    want = torch.tensor([[0.75, 0.0, 0.25], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert torch.equal(got, want)
    # the loss on the soft target is the paper's mixed loss (1 - lam) CE(y_i) + lam CE(y_j)
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    mixed = 0.75 * F.cross_entropy(logits, torch.tensor([0])) + 0.25 * F.cross_entropy(logits, torch.tensor([2]))
    assert torch.allclose(F.cross_entropy(logits, got[:1]), mixed)


def _constant_batch(n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """Image i is filled with the value i / 10 and labelled i: whose pixels ended where is
    easy to read, and each image's class tells it apart."""
    x = (torch.arange(n, dtype=torch.float32) / 10).view(n, 1, 1, 1).expand(n, 1, 8, 8).contiguous()
    return x, torch.arange(n)


def test_mixup_targets_blend_as_kornia_blends_the_pixels():
    x, y = _constant_batch()
    aug = A.Augment([AugmentSpec(type="mixup", p=1.0)], 6, "multiclass", (0.0, 1.0), seed=1)
    out, target = aug(x, y)
    pairs = aug.mix._params["mixup_pairs"]          # kornia's partner of each image
    lam = aug.mix._params["mixup_lambdas"].view(-1, 1, 1, 1)
    # kornia: x_i' = (1 - lam) x_i + lam x_j; the target must move the same share to j's class
    assert torch.allclose(out, (1 - lam) * x + lam * x[pairs], atol=1e-6)
    share = (out[:, 0, 0, 0] - x[:, 0, 0, 0]) / (x[pairs, 0, 0, 0] - x[:, 0, 0, 0]).where(pairs != y, 1.0)
    for i in range(len(x)):
        if pairs[i] != i:
            assert target[i, i] == pytest.approx(1 - float(share[i]), abs=1e-5)
            assert target[i, pairs[i]] == pytest.approx(float(share[i]), abs=1e-5)
        else:
            assert target[i, i] == pytest.approx(1.0)
    assert torch.allclose(target.sum(1), torch.ones(len(x)))


def test_cutmix_targets_follow_the_pasted_area():
    x, y = _constant_batch()
    aug = A.Augment([AugmentSpec(type="cutmix", p=1.0)], 6, "multiclass", (0.0, 1.0), seed=3)
    out, target = aug(x, y)
    pasted = 0
    for i in range(len(x)):
        values = out[i].flatten()
        own = float((values == x[i, 0, 0, 0]).float().mean())   # share of pixels still image i's
        assert target[i, i] == pytest.approx(own, abs=1e-6)
        if own < 1:     # the rest came from one partner, whose class gets the rest of the target
            j = int(round(float(values[values != x[i, 0, 0, 0]][0]) * 10))
            assert target[i, j] == pytest.approx(1 - own, abs=1e-6)
            pasted += 1
    assert pasted, "cutmix with p=1 pasted nothing"


def test_augmentation_touches_training_batches_only(monkeypatch):
    tr = Trainer(spec.load(None, SMALL + ['data.augment=[{type="noise",std=0.3,p=1.0}]']))
    sizes = []
    real = A.Augment.__call__

    def spy(self, x, y):
        sizes.append(len(x))
        return real(self, x, y)
    monkeypatch.setattr(A.Augment, "__call__", spy)
    val, test = tr.x["val"].clone(), tr.x["test"].clone()
    tr.fit()
    assert len(sizes) == 2 * tr.steps_per_epoch and sum(sizes) == 2 * len(tr.x["train"])
    assert torch.equal(tr.x["val"], val) and torch.equal(tr.x["test"], test)
    # evaluation sees the clean images: the same model scores the same as on untouched copies
    tr.model.eval()
    with torch.no_grad():
        assert tr.evaluate("test") == tr.metrics(tr.model(test).float(), tr.y["test"])


def test_same_seed_same_run_and_global_rng_untouched():
    sets = SMALL + ['data.augment=[{type="shift"},{type="rotate"},{type="erase"},{type="mixup"}]']
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = Trainer(spec.load(None, sets)).fit().summary
    assert torch.equal(torch.get_rng_state(), before)      # kornia drew from the trainer's stream
    b = Trainer(spec.load(None, sets)).fit().summary
    assert a["train_loss"] == b["train_loss"] and a["test_accuracy"] == b["test_accuracy"]


def test_tta_reports_both_accuracies():
    s = Trainer(spec.load(None, SMALL + ['data.augment=[{type="shift",p=1.0}]', "train.tta=4"])).fit().summary
    assert 0 <= s["test_accuracy_tta"] <= 1 and "test_accuracy" in s


def test_preview_gives_a_batch_before_and_after():
    s = spec.load(None, SMALL + ['data.augment=[{type="erase",p=1.0,area=0.3}]'])
    out = A.preview(s, n=8, seed=0)
    assert out["before"].shape == out["after"].shape == (8, 1, 8, 8)
    assert not torch.equal(out["before"], out["after"])
    assert torch.equal(out["labels"], out["targets"])     # per-sample transforms keep labels
    mixed = A.preview(spec.load(None, SMALL + ['data.augment=[{type="mixup",p=1.0}]']), n=8)
    assert mixed["targets"].shape == (8, 10)


def test_flips_on_digits_and_other_misuse_are_errors():
    with pytest.raises(SpecError, match="'flip' is off for digits"):
        Trainer(spec.load(None, SMALL + ['data.augment=[{type="flip"}]']))
    with pytest.raises(SpecError, match="at most one of cutmix, mixup"):
        Trainer(spec.load(None, SMALL + ['data.augment=[{type="cutmix"},{type="mixup"}]']))
    with pytest.raises(SpecError, match="work on images"):
        Trainer(spec.load(None, ['data.augment=[{type="noise"}]', "train.epochs=1"]))
    with pytest.raises(SpecError, match="train.tta"):
        Trainer(spec.load(None, SMALL + ["train.tta=3"]))


def test_cli_errors_for_unknown_transform_and_flips(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('[data]\nname = "digits"\naugment = [{ type = "zoom" }]\n')
    user_error(cli("train", str(p)), "data.augment[0].type", "shift, rotate, flip, noise, erase, cutmix, mixup", "'zoom'")
    p.write_text('[data]\nname = "digits"\naugment = [{ type = "flip" }]\n')
    user_error(cli("train", str(p)), "'flip' is off for digits")
    user_error(cli("train", str(p), "--lang", "ko"), "'flip'을 쓸 수 없습니다")


def test_a_resumed_augmented_run_equals_the_uninterrupted_one():
    sets = SMALL + ['data.augment=[{type="shift"},{type="noise"},{type="cutmix"}]', "train.epochs=4"]
    whole = Trainer(spec.load(None, sets))
    whole.fit()
    first = Trainer(spec.load(None, sets))
    for _ in range(2):
        first.train_epoch()
    again = Trainer(spec.load(None, sets))
    again.load_state(first.state(), first.history)   # the augmentation stream comes back too
    again.fit()
    for k, v in whole.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k]), k
