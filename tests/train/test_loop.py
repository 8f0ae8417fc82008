"""The Trainer: determinism, early stopping, divergence, live updates, probes, eval mode."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from nnplay.data import load_data
from nnplay.spec import Spec, from_dict
from nnplay.train import DivergenceError, Trainer
from nnplay.train.losses import class_weights


def spec(data=None, model=None, train=None) -> Spec:
    return from_dict({
        "data": {"name": "spiral", "samples": 200, "noise": 0.1, "train_ratio": 0.7, **(data or {})},
        "model": {"hidden": [8, 8], **(model or {})},
        "train": {"epochs": 4, "batch_size": 16, **(train or {})},
    })


def flat(rec: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in rec.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def assert_same_history(a: list[dict], b: list[dict]):
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        fa, fb = flat(ra), flat(rb)
        assert fa.keys() == fb.keys()
        for k in fa:
            assert fa[k] == pytest.approx(fb[k], rel=1e-6, abs=1e-6), k


@pytest.mark.parametrize("overrides", [
    {},
    {"model": {"dropout": 0.3, "batchnorm": True, "activation": "relu"}, "train": {"optimizer": "momentum"}},
    {"data": {"name": "digits", "limit": 150},
     "model": {"layers": [{"type": "conv2d", "filters": 4}, {"type": "maxpool2d", "kernel": 2},
                          {"type": "flatten"}, {"type": "dense", "units": 8}, {"type": "dropout", "rate": 0.2}],
               "activation": "relu"},
     "train": {"epochs": 2}},
])
def test_same_spec_and_seed_give_identical_history(overrides):
    s = spec(**overrides)
    a, b = Trainer(s).fit(), Trainer(s).fit()
    assert_same_history(a.history, b.history)
    assert flat(a.summary).keys() == flat(b.summary).keys()
    for k in ("train_loss", "test_loss", "val_loss"):
        assert a.summary[k] == pytest.approx(b.summary[k], rel=1e-6, abs=1e-6)


def test_different_seeds_differ():
    a = Trainer(spec(train={"seed": 1})).fit().history
    b = Trainer(spec(train={"seed": 2})).fit().history
    assert abs(a[-1]["train_loss"] - b[-1]["train_loss"]) > 1e-4


def test_record_keys_and_values():
    tr = Trainer(spec(train={"epochs": 2}))
    rec = tr.train_epoch()
    assert rec["epoch"] == 1 and tr.epoch == 1 and tr.history == [rec]
    for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
        assert k in rec and math.isfinite(rec[k])
    assert 0 <= rec["train_accuracy"] <= 1 and rec["lr"] == 0.01
    assert rec["val_loss"] == pytest.approx(tr.evaluate("val")["loss"])


def test_regression_records_mse():
    tr = Trainer(spec(data={"name": "reg-plane"}))
    rec = tr.train_epoch()
    assert "train_mse" in rec and "val_mse" in rec and "train_accuracy" not in rec
    x, y = tr.data.split("test")
    pred = tr.predict(x)
    assert pred.shape == (len(x),)
    assert tr.evaluate("test")["mse"] == pytest.approx(float(((pred - y) ** 2).mean()), rel=1e-5)


def test_training_learns():
    tr = Trainer(spec(data={"name": "gauss", "noise": 0.0}, train={"epochs": 15}))
    res = tr.fit()
    assert res.history[-1]["train_loss"] < 0.5 * res.history[0]["train_loss"]
    assert res.summary["test_accuracy"] > 0.9


def test_evaluate_matches_a_hand_computed_accuracy():
    tr = Trainer(spec(data={"classes": 3}, train={"epochs": 3}))
    tr.fit()
    x, y = tr.data.split("test")
    probs = tr.predict(x)
    assert probs.shape == (len(x), 3)
    torch.testing.assert_close(probs.sum(1), torch.ones(len(x)))
    assert tr.evaluate("test")["accuracy"] == pytest.approx(float((probs.argmax(1) == y).float().mean()))


def test_an_evaluation_runs_in_slices_with_the_watcher_called_between_them():
    """A set of thousands is evaluated in slices (a frame can go out between two); the
    watcher sees (the epoch's batches, None) and changes nothing: the same outputs as one
    pass of torch's own module, and the same confusion matrix from them as from the network."""
    from nnplay import probes
    from nnplay.train.loop import EVAL_SLICE
    tr = Trainer(spec(data={"classes": 3, "samples": 3000}, train={"epochs": 1}))
    tr.fit()
    calls = []
    tr.between_batches = lambda step, loss: calls.append((step, loss))
    out = tr.outputs("test")
    n = len(tr.x["test"])
    assert n > 2 * EVAL_SLICE and calls == [(tr.steps_per_epoch, None)] * ((n - 1) // EVAL_SLICE)
    with torch.no_grad():
        torch.testing.assert_close(out, tr.model.eval()(tr.x["test"]), rtol=1e-6, atol=1e-6)
    assert tr.evaluate("test") == tr.metrics(out, tr.y["test"])
    d = tr.data
    with_out, without = (probes.confusion(tr.model, d.x_test, d.y_test, d.task, d.num_classes, o)
                         for o in (out, None))
    for a, b in zip(with_out, without):
        np.testing.assert_array_equal(a, b)


def test_a_cancelled_trainer_stops_an_evaluation_between_slices():
    import threading

    from nnplay.train.loop import Cancelled
    tr = Trainer(spec(data={"classes": 3, "samples": 3000}))
    tr.cancel = threading.Event()
    tr.cancel.set()                                # the tab closed
    with pytest.raises(Cancelled):
        tr.outputs("test")                         # thousands: stopped after the first slice
    tr.cancel.clear()
    assert len(tr.outputs("test")) == len(tr.x["test"])


def test_dropout_is_off_at_evaluation():
    tr = Trainer(spec(model={"dropout": 0.5}, train={"epochs": 2}))
    tr.fit()
    tr.model.train()
    a, b = tr.evaluate("test"), tr.evaluate("test")
    assert a == b
    assert tr.model.training                   # evaluate restores the training mode
    x = tr.x["test"]
    assert not torch.equal(tr.model(x), tr.model(x))   # while training it is random


def test_early_stopping_stops_and_restores_the_best_weights():
    s = spec(data={"samples": 120, "noise": 0.4}, model={"hidden": [32, 32], "activation": "relu"},
             train={"epochs": 300, "lr": 0.05, "early_stopping": {"patience": 3}})
    tr = Trainer(s)
    res = tr.fit()
    vals = [r["val_loss"] for r in res.history]
    best = int(np.argmin(vals))
    assert res.stopped_early and len(vals) < 300
    assert len(vals) == best + 1 + 3                      # stopped `patience` epochs after the best
    assert res.summary["best_epoch"] == best + 1
    assert tr.evaluate("val")["loss"] == pytest.approx(vals[best], rel=1e-6, abs=1e-7)
    assert tr.evaluate("val")["loss"] < vals[-1]


def test_early_stopping_on_accuracy():
    s = spec(data={"samples": 120, "noise": 0.4}, model={"hidden": [16]},
             train={"epochs": 200, "lr": 0.05, "early_stopping": {"patience": 2, "metric": "val_accuracy"}})
    res = Trainer(s).fit()
    accs = [r["val_accuracy"] for r in res.history]
    first_best = int(np.argmax(accs))             # ties do not count as improvement
    assert res.stopped_early and len(accs) == first_best + 1 + 2


def test_divergence_names_the_learning_rate():
    s = spec(data={"name": "reg-plane", "samples": 100}, model={"hidden": [8], "activation": "relu",
                                                                 "init": "he_normal"},
             train={"optimizer": "sgd", "lr": 10, "epochs": 20})
    with pytest.raises(DivergenceError, match="train.lr") as e:
        Trainer(s).fit()
    assert "lr 10.0" in str(e.value) and "sgd" in str(e.value)


def test_class_weights_balanced():
    rows = [[x, x, 0] for x in np.linspace(-3, -0.5, 40)] + [[x, x, 1] for x in np.linspace(0.5, 3, 10)]
    d = {"name": "points", "points": rows, "train_ratio": 0.8}
    plain = Trainer(spec(data=d))
    weighted = Trainer(spec(data=d, train={"class_weights": "balanced"}))
    assert plain.loss_fn.weight is None
    y = weighted.data.y_train
    counts = torch.bincount(y).double()
    want = len(y) / (2 * counts)
    torch.testing.assert_close(weighted.loss_fn.weight.double(), want, rtol=1e-6, atol=0)
    torch.testing.assert_close(weighted.loss_fn.weight, class_weights(y, 2))
    assert weighted.loss_fn.weight[1] > 3 * weighted.loss_fn.weight[0]
    # same weights at the start, different loss
    assert weighted.evaluate("val")["loss"] != pytest.approx(plain.evaluate("val")["loss"])


def test_class_weights_ignored_for_regression():
    assert Trainer(spec(data={"name": "reg-plane"}, train={"class_weights": "balanced"})).loss_fn.weight is None


def test_update_lr_changes_the_optimizer_in_place():
    tr = Trainer(spec(train={"optimizer": "adam"}))
    tr.train_epoch()
    opt = tr.optimizer
    state = {k: v["exp_avg"].clone() for k, v in enumerate(opt.state.values())}
    tr.update(lr=0.123)
    assert tr.optimizer is opt and all(g["lr"] == 0.123 for g in opt.param_groups)
    assert tr.spec.train.lr == 0.123
    assert all(torch.equal(state[k], v["exp_avg"]) for k, v in enumerate(opt.state.values()))
    assert tr.train_epoch()["lr"] == 0.123


def test_update_optimizer_rebuilds():
    tr = Trainer(spec(train={"optimizer": "adam"}))
    tr.train_epoch()
    tr.update(optimizer="sgd", lr=0.2)
    assert type(tr.optimizer) is torch.optim.SGD and tr.optimizer.param_groups[0]["lr"] == 0.2
    assert tr.optimizer.param_groups[0]["params"][0] is next(tr.model.parameters())
    rec = tr.train_epoch()
    assert rec["epoch"] == 2 and math.isfinite(rec["train_loss"])


def test_update_rejects_bad_values():
    tr = Trainer(spec())
    with pytest.raises(Exception, match="lr"):
        tr.update(lr=-1)
    with pytest.raises(Exception, match="optimizer"):
        tr.update(optimizer="magic")


def test_update_model_label_smoothing_changes_the_loss():
    tr = Trainer(spec())
    before = tr.evaluate("val")["loss"]
    tr.update_model(label_smoothing=0.3)
    assert tr.loss_fn.eps == 0.3 and tr.spec.model.label_smoothing == 0.3
    assert tr.evaluate("val")["loss"] != pytest.approx(before)
    with pytest.raises(ValueError, match="hidden"):
        tr.update_model(hidden=[3])


def test_regularization_enters_the_objective():
    """L1 at a huge rate drives the weights to (almost) zero; without it they stay."""
    s = dict(data={"name": "gauss"}, train={"optimizer": "sgd", "lr": 0.05, "epochs": 5, "probe_every": 0})
    plain = Trainer(spec(**s))
    plain.fit()
    l1 = Trainer(spec(model={"regularization": "l1", "reg_rate": 0.5}, **s))
    l1.fit()
    norm = lambda t: float(t.model.dense1.weight.detach().abs().sum())
    assert norm(l1) < 0.5 * norm(plain)


def test_probes_every_epoch_and_off():
    on = Trainer(spec(model={"activation": "relu"}, train={"probe_every": 1, "epochs": 2}))
    rec = on.train_epoch()
    assert set(rec["grad_norm"]) == {"dense1", "dense2", "out"}
    assert set(rec["activations"]) == {"act1", "act2"}
    assert set(rec["weights"]) == {"dense1", "dense2", "out"}
    assert all(v > 0 for v in rec["grad_norm"].values())
    assert rec["weights"]["dense1"]["l2"] == pytest.approx(float(on.model.dense1.weight.detach().norm()), rel=1e-6)
    off = Trainer(spec(train={"probe_every": 0}))
    assert not {"grad_norm", "activations", "weights"} & set(off.train_epoch())
    two = Trainer(spec(train={"probe_every": 2}))
    assert "grad_norm" not in two.train_epoch() and "grad_norm" in two.train_epoch()


def test_trainer_accepts_a_prepared_bundle():
    s = spec()
    d = load_data(s.data)
    tr = Trainer(s, data=d)
    assert tr.data is d and torch.equal(tr.x["train"], d.x_train)


def test_state_round_trip_continues_identically():
    s = spec(train={"epochs": 6})
    a = Trainer(s)
    for _ in range(3):
        a.train_epoch()
    st = copy.deepcopy(a.state())                 # state() hands out live tensors
    rest_a = [a.train_epoch() for _ in range(3)]
    b = Trainer(s)
    b.load_state(st, a.history[:3])
    rest_b = [b.train_epoch() for _ in range(3)]
    assert_same_history(rest_a, rest_b)


def test_fast_forward_matches_module_call_and_respects_hooks():
    """The training step skips nn.Module.__call__ only when no layer has hooks; both paths agree."""
    from nnplay.spec import from_dict
    from nnplay.train import Trainer
    d = {"data": {"name": "moons", "samples": 120}, "model": {"hidden": [6, 6], "dropout": 0.2},
         "train": {"epochs": 3, "batch_size": 16}}
    plain = Trainer(from_dict(d))   # each Trainer draws its own dropout masks
    assert plain._forward_fn() is not plain.model
    a = [plain.train_epoch() for _ in range(3)]
    hooked = Trainer(from_dict(d))
    calls = []

    def count(module, inputs, output):   # training batches only (the validation pass runs in eval)
        if module.training:
            calls.append(len(inputs[0]))
    hooked.model.dense1.register_forward_hook(count)
    assert hooked._forward_fn() is hooked.model
    b = [hooked.train_epoch() for _ in range(3)]
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    assert [r["val_loss"] for r in a] == [r["val_loss"] for r in b]
    assert sum(calls) == 3 * len(plain.x["train"])   # the hook saw every training batch


def test_set_data_keeps_the_network_and_its_state():
    from nnplay.spec import DataSpec
    tr = Trainer(spec(train={"optimizer": "adam", "class_weights": "balanced"}))
    for _ in range(2):
        tr.train_epoch()
    weights = [p.detach().clone() for p in tr.model.parameters()]
    moments = [tr.optimizer.state[p]["exp_avg"].clone() for p in tr.model.parameters()]
    rows = [[float(i % 7) - 3, float(i % 5) - 2, int(i % 4 == 0)] for i in range(90)]   # 1 in 4 positive
    tr.set_data(DataSpec(name="points", points=rows))
    assert tr.epoch == 2 and len(tr.history) == 2 and tr.spec.data.name == "points"
    for p, w, m in zip(tr.model.parameters(), weights, moments):
        assert torch.equal(p, w) and torch.equal(tr.optimizer.state[p]["exp_avg"], m)
    n = len(tr.x["train"]) + len(tr.x["val"]) + len(tr.x["test"])
    assert n == 90 and tr.data.points["train"].shape[1] == 2
    y = tr.data.y_train
    want = len(y) / (2 * torch.bincount(y, minlength=2).float())     # 'balanced', by hand
    torch.testing.assert_close(tr.loss_fn.weight, want)
    tr.train_epoch()
    assert tr.epoch == 3
    with pytest.raises(ValueError, match="network takes"):
        tr.set_data(DataSpec(name="points", points=rows + [[0.0, 0.0, 2]]))   # a third class
