"""The compiled step (train/compiled.py) computes what the eager step computes: the same
loss, outputs, gradients (checked against autograd) and updates (checked against
torch.optim), and the Trainer switches to it once it is built."""
from __future__ import annotations

import copy
import os
import threading

import pytest
import torch

from nnplay.spec import from_dict
from nnplay.train import Trainer, compiled
from nnplay.train.compiled import CompiledEpoch, CompiledStep, optimizer_kind, unsupported

# one network for most tests, so that Inductor's cache serves the repeated builds
SPEC = {"data": {"name": "spiral", "samples": 200, "train_ratio": 0.8, "val_ratio": 0.0},
        "model": {"hidden": [8, 8], "activation": "tanh"},
        "train": {"optimizer": "sgd", "lr": 0.1, "batch_size": 10, "compile": True}}


def trainer(**train) -> Trainer:
    return Trainer(from_dict({**SPEC, "train": {**SPEC["train"], **train}}))


@pytest.fixture(scope="module")
def built():
    """(trainer, compiled step, a batch), the step built synchronously."""
    tr = trainer()
    step = CompiledStep(tr.model, tr.loss_fn, 10)
    xb, yb = tr.x["train"][:10], tr.y["train"][:10]
    step.build(xb, yb)
    assert step.ready.is_set(), step.error
    return tr, step, xb, yb


def eager_grads(model, loss_fn, xb, yb, l1=0.0, l2=0.0):
    model.zero_grad()
    out = model(xb)
    loss = loss_fn(out, yb)
    ws = [model[i].weight for i in range(0, len(model), 2)]
    (loss + l1 * sum(w.abs().sum() for w in ws) + l2 * sum(w.pow(2).sum() for w in ws)).backward()
    return loss.detach(), out.detach(), [p.grad.clone() for p in model.parameters()]


def test_loss_output_and_gradients_match_autograd(built):
    tr, step, xb, yb = built
    twin = copy.deepcopy(tr.model)
    for l1, l2 in [(0.0, 0.0), (0.01, 0.0), (0.0, 0.03), (0.02, 0.05)]:
        frozen = torch.optim.SGD(tr.model.parameters(), lr=0.0)   # lr 0: weights stay put
        loss, out = step(xb, yb, frozen, l1, l2, keep_grads=True)
        want_loss, want_out, want_grads = eager_grads(twin, tr.loss_fn, xb, yb, l1, l2)
        torch.testing.assert_close(loss, want_loss)
        torch.testing.assert_close(out, want_out)
        for p, g in zip(tr.model.parameters(), want_grads):
            torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(list(tr.model.parameters()), list(twin.parameters()))


@pytest.mark.parametrize("opt", ["sgd", "sgd-momentum", "adam"])
def test_updates_match_torch_optimizers(built, opt):
    tr, step, xb, yb = built
    twin = copy.deepcopy(tr.model)
    make = {"sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),           # applied inside the graph
            "sgd-momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
            "adam": lambda ps: torch.optim.Adam(ps, lr=0.01)}[opt]
    mine, theirs = make(tr.model.parameters()), make(twin.parameters())
    for _ in range(3):
        step(xb, yb, mine, 0.0, 0.01)
        eager_grads(twin, tr.loss_fn, xb, yb, 0.0, 0.01)
        theirs.step()
    torch.testing.assert_close(list(tr.model.parameters()), list(twin.parameters()),
                               rtol=1e-5, atol=1e-6)


def test_trainer_switches_to_the_compiled_step_and_learns_the_same(monkeypatch):
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 0.0)
    fast, slow = trainer(), trainer(compile=False)
    assert fast.engine == "eager"
    fast.train_epoch()                     # starts the build in the background
    assert fast.engine in ("compiling", "compiled")
    assert fast.compiled.wait(120), fast.compiled.error
    slow.train_epoch()
    torch.testing.assert_close(list(fast.model.parameters()), list(slow.model.parameters()))
    for _ in range(5):
        a, b = fast.train_epoch(), slow.train_epoch()
        assert fast.engine == "compiled" and slow.engine == "eager"
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["train_accuracy"] == b["train_accuracy"]
        assert a["grad_norm"].keys() == b["grad_norm"].keys()
        for k in a["grad_norm"]:
            assert a["grad_norm"][k] == pytest.approx(b["grad_norm"][k], rel=1e-3)
    torch.testing.assert_close(list(fast.model.parameters()), list(slow.model.parameters()),
                               rtol=1e-4, atol=1e-5)


def test_short_runs_never_build_it():
    tr = trainer()
    tr.train_epoch()
    assert compiled.COMPILE_AFTER > tr.seconds and tr.compiled is None and tr.engine == "eager"


def test_settings_it_does_not_cover_stay_eager(monkeypatch):
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 0.0)
    bn = Trainer(from_dict({**SPEC, "model": {**SPEC["model"], "batchnorm": True}}))
    assert "batch norm" in unsupported(bn.model)
    bn.train_epoch()
    assert bn.compiled is None and bn.engine == "eager"


def test_a_traced_in_setting_changing_asks_for_a_new_step(built):
    tr, step, *_ = built
    assert step.matches(tr.loss_fn, 10)
    assert not step.matches(tr.loss_fn, 20)          # batch size: another shape
    smoothed = copy.deepcopy(tr.loss_fn)
    smoothed.eps = 0.1
    assert not step.matches(smoothed, 10)            # label smoothing is part of the graph


def test_dropout_draws_new_masks_each_step(monkeypatch):
    tr = Trainer(from_dict({**SPEC, "model": {**SPEC["model"], "dropout": 0.5}}))
    step = CompiledStep(tr.model, tr.loss_fn, 10)
    xb, yb = tr.x["train"][:10], tr.y["train"][:10]
    step.build(xb, yb)
    frozen = torch.optim.SGD(tr.model.parameters(), lr=0.0)
    outs = [step(xb, yb, frozen)[1] for _ in range(3)]
    assert not torch.equal(outs[0], outs[1]) and not torch.equal(outs[1], outs[2])
    # the same distribution as eager dropout: compare the means over 400 masks each
    compiled = torch.stack([step(xb, yb, frozen)[1] for _ in range(400)])
    tr.model.train()
    with torch.no_grad():
        eager = torch.stack([tr.model(xb) for _ in range(400)])
    spread = (compiled.std(0) + eager.std(0)) / 400 ** 0.5
    assert ((compiled.mean(0) - eager.mean(0)).abs() < 5 * spread + 1e-3).all()


def test_a_network_rebuilt_with_the_same_layers_reuses_the_built_step(built):
    tr, step, xb, yb = built
    again = trainer(seed=7)                       # other weights, the same layers and loss
    reused = CompiledStep(again.model, again.loss_fn, 10)
    reused.start(xb, yb)
    assert reused.ready.is_set() and reused._thread is None     # no second build
    twin = copy.deepcopy(again.model)
    loss, _ = reused(xb, yb, torch.optim.SGD(again.model.parameters(), lr=0.0), keep_grads=True)
    want_loss, _, want_grads = eager_grads(twin, again.loss_fn, xb, yb)
    torch.testing.assert_close(loss, want_loss)
    for p, g in zip(again.model.parameters(), want_grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-7)
    # what is traced in tells builds apart: another loss setting or batch shape is a new build
    weighted = copy.deepcopy(again.loss_fn)
    weighted.weight = torch.tensor([1.0, 3.0])
    keys = {CompiledStep(again.model, loss, 10)._key(x, yb[:len(x)])
            for loss in (again.loss_fn, weighted) for x in (xb, xb[:5])}
    assert len(keys) == 4


def test_a_failed_build_leaves_training_eager(monkeypatch, caplog):
    import torch._inductor
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 0.0)

    def broken(*a, **k):
        raise RuntimeError("no C++ compiler")
    monkeypatch.setattr(torch._inductor, "compile", broken)
    tr = trainer(batch_size=20)                  # a batch shape no other test built
    tr.train_epoch()
    assert not tr.compiled.wait(60) and "no C++ compiler" in tr.compiled.error
    assert tr.engine == "eager" and "stays eager" in caplog.text
    before = tr.train_epoch()["train_loss"]
    assert tr.train_epoch()["train_loss"] < before      # still learning


def test_a_process_that_lost_its_built_steps_loads_them_from_the_disk_cache(built, monkeypatch):
    """Inductor's FX graph cache keeps the step on disk (compiled.cache_dir()): a build
    that is not in this process's memory (a restarted server, the next nnplay train) is a
    cache hit, not a new C++ compile."""
    from torch._dynamo.utils import counters

    from nnplay.train import compiled
    tr, _, xb, yb = built
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == compiled.cache_dir()
    monkeypatch.setattr(compiled, "_BUILT", compiled.OrderedDict())   # as in a fresh process
    CompiledStep(tr.model, tr.loss_fn, 10).build(xb, yb)   # on a cold disk cache, this one writes it
    monkeypatch.setattr(compiled, "_BUILT", compiled.OrderedDict())   # and this process forgets it again
    def cache() -> dict:   # AOTAutograd's cache answers first; Inductor's FX graph cache below it
        return {k: v for k, v in [*counters["aot_autograd"].items(), *counters["inductor"].items()]
                if "cache" in k}
    before = cache()
    again = CompiledStep(tr.model, tr.loss_fn, 10)
    again.build(xb, yb)
    assert again.ready.is_set(), again.error
    new = {k: v - before.get(k, 0) for k, v in cache().items() if v != before.get(k, 0)}
    assert new.get("autograd_cache_hit", 0) + new.get("fxgraph_cache_hit", 0) >= 1, new
    assert not [k for k in new if "miss" in k or "bypass" in k], new
    loss, _ = again(xb, yb, torch.optim.SGD(tr.model.parameters(), lr=0.0))
    torch.testing.assert_close(loss, eager_grads(copy.deepcopy(tr.model), tr.loss_fn, xb, yb)[0])


def test_a_process_that_lost_its_epoch_call_loads_it_from_the_disk_cache(monkeypatch):
    """Inductor's FX graph cache refuses graphs with a while_loop unless told otherwise
    (compiled._cacheable_loop): a second process's epoch call is a cache hit, and computes
    what the first one did. Bodies that differ (another optimizer) are told apart by the
    equivalence tests above and below, which build several on one network against eager."""
    from torch._dynamo.utils import counters
    tr = trainer()
    x, y = tr.x["train"], tr.y["train"]
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    found, results = [], []
    for _ in range(2):
        monkeypatch.setattr(compiled, "_BUILT", compiled.OrderedDict())   # as in a fresh process
        before = dict(counters["inductor"])
        model = copy.deepcopy(tr.model)
        epoch = CompiledEpoch(model, tr.loss_fn, 10, "sgd")
        epoch.build(x, y)
        assert epoch.ready.is_set(), epoch.error
        found.append({k: v - before.get(k, 0) for k, v in counters["inductor"].items()
                      if "cache" in k and v != before.get(k, 0)})
        losses, hits = epoch(x, y, order, torch.optim.SGD(model.parameters(), lr=0.1))
        results.append((losses, hits, [p.detach().clone() for p in model.parameters()]))
    assert found[1].get("fxgraph_cache_hit", 0) == 1, found    # the first may hit too (a warm disk)
    assert not [k for k in found[1] if "miss" in k or "bypass" in k], found
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=0)


def test_a_closed_sessions_build_that_has_not_begun_is_dropped(built):
    from nnplay.train import compiled
    tr, _, xb, yb = built
    step = CompiledStep(tr.model, tr.loss_fn, 7)      # a batch shape no other test built
    step.cancel = threading.Event()
    with compiled._BUILDING:                          # another build holds the compiler
        step.start(xb[:7], yb[:7])
        step.cancel.set()                             # the session closes meanwhile
    assert not step.wait(60) and step.error == "cancelled"
    assert step._key(xb[:7], yb[:7]) not in compiled._BUILT


# --- the whole epoch in one call (CompiledEpoch) ------------------------------------------
@pytest.mark.parametrize("train", [
    {"optimizer": "sgd", "batch_size": 15},                          # 10 full batches + 10 eager
    {"optimizer": "nesterov", "momentum": 0.8, "weight_decay": 0.01},
    {"optimizer": "adam", "lr": 0.01, "weight_decay": 0.01},
    {"optimizer": "adamw", "lr": 0.01, "weight_decay": 0.1},
    {"optimizer": "adam", "lr": 0.01, "dropout": 0.3},              # the same masks as eager dropout
], ids=lambda t: t["optimizer"] + ("-dropout" if "dropout" in t else ""))
def test_the_whole_epoch_in_one_call_gives_the_eager_trainers_numbers(train):
    """Shuffling, every batch's forward, loss, backward and update in one compiled call:
    the same losses, accuracies, probes and weights as the eager Trainer (torch.optim)."""
    train = dict(train)
    model = {**SPEC["model"], "dropout": train.pop("dropout", 0.0)}
    data = {**SPEC["data"], "val_ratio": 0.2}   # the validation pass after the call compared too
    fast, slow = (Trainer(from_dict({**SPEC, "data": data, "model": model,
                                     "train": {**SPEC["train"], **train, "compile": c}}))
                  for c in (True, False))
    assert fast.compile_now(300), fast.compiled.error
    assert isinstance(fast.compiled, CompiledEpoch) and fast.engine == "compiled"
    for epoch in range(4):
        if epoch == 2:   # a live change reaches the graph's inputs: no new build
            for tr in (fast, slow):
                tr.update(lr=tr.spec.train.lr / 2)
                tr.update_model(regularization="l2", reg_rate=0.01)
        step = fast.compiled
        a, b = fast.train_epoch(), slow.train_epoch()
        assert fast.compiled is step and step.ready.is_set()
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["train_accuracy"] == b["train_accuracy"]
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
        assert a["grad_norm"].keys() == b["grad_norm"].keys()
        for k in a["grad_norm"]:
            assert a["grad_norm"][k] == pytest.approx(b["grad_norm"][k], rel=1e-3)
        torch.testing.assert_close(list(fast.model.parameters()), list(slow.model.parameters()),
                                   rtol=1e-4, atol=1e-5)
    # the optimizer's state is torch.optim's: the eager step goes on from it
    for p, q in zip(fast.model.parameters(), slow.model.parameters()):
        for k, v in slow.optimizer.state[q].items():
            torch.testing.assert_close(fast.optimizer.state[p][k], v, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("n", [160, 150, 40])   # 16 full batches (the capacity), 15, 4
def test_one_epoch_call_trains_any_number_of_batches_up_to_its_capacity(n):
    """The call holds the epoch's batches up to a capacity (a power of two) and takes how many
    to train as an input: a training set that grew or shrank (a point clicked onto the map)
    trains with the call already built, with torch.optim's numbers, batch by batch."""
    tr = trainer()
    x, y = tr.x["train"], tr.y["train"]
    epoch = CompiledEpoch(tr.model, tr.loss_fn, 10, "sgd")
    epoch.build(x[:150], y[:150])                    # 15 full batches: a capacity of 16
    assert epoch.ready.is_set(), epoch.error
    assert epoch.capacity == 16 and epoch._key(x[:150], y[:150]) == epoch._key(x[:n], y[:n])
    sgd = torch.optim.SGD(tr.model.parameters(), lr=0.1)
    assert epoch.fits(sgd, n) and not epoch.fits(sgd, 170) and not epoch.fits(sgd, 9)
    twin = copy.deepcopy(tr.model)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(n))
    losses, hits = epoch(x[:n], y[:n], order, sgd)
    eager = torch.optim.SGD(twin.parameters(), lr=0.1)
    want = []
    for i in range(n // 10):
        idx = order[i * 10:(i + 1) * 10]
        want.append(eager_grads(twin, tr.loss_fn, x[idx], y[idx])[0])
        eager.step()
    torch.testing.assert_close(losses, torch.stack(want), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(list(tr.model.parameters()), list(twin.parameters()), rtol=1e-5, atol=1e-6)


def test_a_point_clicked_onto_the_map_keeps_the_built_epoch_call():
    """Trainer.keep_training_on with one more point: the same network trains on, and its
    epoch call is the one already built (no build thread), still torch.optim's numbers."""
    pts = [[x / 7, (x % 5) / 2, x % 2] for x in range(-60, 60)]
    def spec(points):
        return from_dict({"data": {"name": "points", "points": points, "train_ratio": 0.8, "val_ratio": 0.0},
                          "model": {"hidden": [8]}, "train": {"batch_size": 10, "compile": True, "lr": 0.1}})
    fast, slow = Trainer(spec(pts)), Trainer(spec(pts))
    assert fast.compile_now(300) and isinstance(fast.compiled, CompiledEpoch), fast.compiled.error
    more = spec(pts + [[0.3, 0.4, 1], [0.1, -0.2, 0]])
    for tr in (fast, slow):
        tr.train_epoch()
        assert tr.keep_training_on(more)
    assert fast.compile_now(1) and fast.compiled._thread is None and fast.engine == "compiled"
    a, b = fast.train_epoch(), slow.train_epoch()
    assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
    torch.testing.assert_close(list(fast.model.parameters()), list(slow.model.parameters()), rtol=1e-4, atol=1e-5)


def test_settings_the_whole_epoch_does_not_cover_train_per_batch():
    """A per-batch schedule, an optimizer without an in-graph update: the per-batch
    compiled step instead."""
    assert trainer()._epoch_kind() == "sgd"
    assert Trainer(from_dict({**SPEC, "model": {**SPEC["model"], "dropout": 0.5}}))._epoch_kind() == "sgd"
    assert trainer(schedule="onecycle")._epoch_kind() is None
    assert trainer(optimizer="rmsprop")._epoch_kind() is None
    assert optimizer_kind(torch.optim.Adam([torch.zeros(1, requires_grad=True)], amsgrad=True)) is None


def test_random_ops_are_refused_by_the_whole_epoch_build():
    """A random op traced into the loop would draw the same numbers every batch: the build
    refuses it (and the Trainer builds the per-batch step)."""
    tr = trainer()
    noisy = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Sequential(torch.nn.Dropout(0.5)),
                                torch.nn.Linear(8, 1))     # a dropout the masks do not reach
    epoch = CompiledEpoch(noisy, tr.loss_fn, 10, "sgd")
    epoch.build(tr.x["train"], tr.y["train"])
    assert not epoch.ready.is_set() and "random ops" in epoch.error
