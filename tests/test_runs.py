"""The run store: files of a run, atomic writes, the index, and exact resume after a crash."""
from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import load_file

from nnplay import spec as specmod
from nnplay.model import build_model
from nnplay.runs import RunError, RunStore, atomic_write, load_trained, save_tensors, train_run
from nnplay.spec import from_dict
from nnplay.train import DivergenceError, Trainer


def spec(epochs=4, **train):
    return from_dict({"name": "t/run", "data": {"name": "spiral", "samples": 160, "noise": 0.1},
                      "model": {"hidden": [8, 8], "dropout": 0.2},
                      "train": {"epochs": epochs, "batch_size": 16, **train}})


def test_env_root_and_explicit_root(tmp_path):
    assert RunStore().root == tmp_path / "runs"          # conftest sets NNPLAY_RUNS
    other = RunStore(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "index.sqlite").exists() and other.list() == []


def test_train_run_writes_every_file():
    s = spec()
    store = RunStore()
    run, summary = train_run(s, store)
    assert run.dir.parent == store.root and "t-run" in run.id      # unsafe name characters replaced
    assert run.spec == s and specmod.load(run.path("spec.toml")) == s
    lines = run.path("metrics.jsonl").read_text().splitlines()
    assert len(lines) == 4 and [json.loads(x)["epoch"] for x in lines] == [1, 2, 3, 4]
    assert run.metrics()[-1]["train_loss"] == pytest.approx(json.loads(lines[-1])["train_loss"])
    on_disk = json.loads(run.path("summary.json").read_text())
    assert on_disk == summary == run.summary()
    for k in ("run_id", "run_dir", "epochs", "seconds", "train_loss", "test_loss", "test_accuracy",
              "confusion_matrix", "versions"):
        assert k in summary, k
    assert summary["run_id"] == run.id and summary["run_dir"] == str(run.dir) and summary["epochs"] == 4
    assert sum(map(sum, summary["confusion_matrix"])) == 80          # the test split: 160 - 160 * 0.5
    assert not [p for p in run.dir.iterdir() if p.name.startswith(".")]   # no temp files left


def test_saved_model_gives_the_same_predictions():
    s = spec()
    tr = Trainer(s)
    run, _ = train_run(s, RunStore(), trainer=tr)
    fresh = build_model(s.model, tr.data.input_shape, tr.data.out_dim)
    fresh.load_state_dict(load_file(run.path("model.safetensors")))
    fresh.eval()
    tr.model.eval()
    x = tr.data.x_test
    torch.testing.assert_close(fresh(x), tr.model(x), rtol=0, atol=0)
    loaded = load_trained(run)
    torch.testing.assert_close(loaded.predict(x), tr.predict(x), rtol=0, atol=0)
    assert len(loaded.history) == 4 and loaded.epoch == 4


def test_index_lists_runs_newest_first():
    store = RunStore()
    a, sa = train_run(spec(epochs=1), store)
    b, sb = train_run(from_dict({"name": "reg", "data": {"name": "reg-plane", "samples": 60},
                                 "train": {"epochs": 1}}), store)
    rows = store.list()
    assert [r["id"] for r in rows] == [b.id, a.id]
    ra, rb = rows[1], rows[0]
    assert (ra["status"], ra["data"], ra["epochs"], ra["metric_name"]) == ("done", "spiral", 1, "test_accuracy")
    assert ra["test_metric"] == pytest.approx(sa["test_accuracy"]) and ra["test_loss"] == pytest.approx(sa["test_loss"])
    assert rb["metric_name"] == "test_mse" and rb["test_metric"] == pytest.approx(sb["test_mse"])
    assert store.get(a.id).dir == a.dir


@pytest.mark.parametrize("bad", ["nope", "", "../x", "a/b"])
def test_unknown_run_is_a_run_error(bad):
    store = RunStore()
    with pytest.raises(RunError, match="unknown run"):
        store.get(bad)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "f.json"
    atomic_write(p, "old")
    atomic_write(p, b"new")
    assert p.read_bytes() == b"new" and os.listdir(tmp_path) == ["f.json"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path):
    p = tmp_path / "f.json"
    atomic_write(p, "old")
    with pytest.raises(TypeError):
        atomic_write(p, 12345)            # not str/bytes: fails while writing the temp file
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["f.json"]


def test_failed_save_tensors_keeps_the_old_file(tmp_path):
    p = tmp_path / "w.safetensors"
    save_tensors(p, {"w": torch.ones(2)}, {"k": 1})
    with pytest.raises(Exception):
        save_tensors(p, {"w": "not a tensor"})
    assert torch.equal(load_file(p)["w"], torch.ones(2)) and os.listdir(tmp_path) == ["w.safetensors"]


def test_checkpoints_every_n_epochs():
    seen = []
    store = RunStore()

    def look(rec):
        run = store.get(store.list()[0]["id"])
        seen.append(run.load_checkpoint()["epoch"] if run.path("checkpoint.json").exists() else None)

    train_run(spec(epochs=5, checkpoint_every=2), store, on_epoch=look)
    assert seen == [None, 2, 2, 4, 4]


def crash_at(epoch, where="after"):
    """An on_epoch that raises once ``epoch`` has finished (for "inside" the Trainer is patched)."""
    def on_epoch(rec):
        if where == "after" and rec["epoch"] == epoch:
            raise KeyboardInterrupt
    return on_epoch


@pytest.mark.parametrize("where", ["after", "inside"])
def test_resume_after_a_crash_equals_an_uninterrupted_run(where, monkeypatch):
    s = spec(epochs=8, checkpoint_every=2, schedule="cosine", optimizer="momentum")
    store = RunStore()
    full_run, full = train_run(s, store)

    if where == "inside":   # a crash in the middle of epoch 6: only the epoch-4 checkpoint counts
        real = Trainer.train_epoch

        def crashing(self, probe=None):
            if self.epoch == 5:
                self.epoch += 1
                raise KeyboardInterrupt
            return real(self, probe)
        monkeypatch.setattr(Trainer, "train_epoch", crashing)
    with pytest.raises(KeyboardInterrupt):
        train_run(s, store, on_epoch=crash_at(5, where))
    monkeypatch.undo()
    broken = [r for r in store.list() if r["status"] == "interrupted"]
    assert len(broken) == 1
    rid = broken[0]["id"]
    assert store.get(rid).load_checkpoint()["epoch"] == (5 if where == "after" else 4)

    run, resumed = train_run(None, store, resume=rid)
    assert run.id == rid and {r["id"]: r["status"] for r in store.list()}[rid] == "done"
    a, b = full_run.metrics(), run.metrics()
    assert [r["epoch"] for r in b] == list(range(1, 9))
    for ra, rb in zip(a, b):
        for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
            assert rb[k] == pytest.approx(ra[k], rel=1e-6, abs=1e-6), (ra["epoch"], k)
    for k in ("train_loss", "test_loss", "test_accuracy", "val_loss", "epochs"):
        assert resumed[k] == pytest.approx(full[k], rel=1e-6, abs=1e-6), k
    w_full, w_res = load_file(full_run.path("model.safetensors")), load_file(run.path("model.safetensors"))
    for k in w_full:
        torch.testing.assert_close(w_res[k], w_full[k], rtol=1e-6, atol=1e-6)


def test_resume_restores_early_stopping_state():
    s = spec(epochs=40, checkpoint_every=1, lr=0.05, early_stopping={"patience": 3})
    store = RunStore()
    _, full = train_run(s, store)
    with pytest.raises(KeyboardInterrupt):
        train_run(s, store, on_epoch=crash_at(2))
    rid = [r for r in store.list() if r["status"] == "interrupted"][0]["id"]
    _, resumed = train_run(None, store, resume=rid)
    assert resumed["epochs"] == full["epochs"] and resumed["best_epoch"] == full["best_epoch"]
    assert resumed["test_loss"] == pytest.approx(full["test_loss"], rel=1e-6)


def test_resume_a_finished_run_is_refused():
    store = RunStore()
    run, _ = train_run(spec(epochs=1), store)
    with pytest.raises(RunError, match="already complete"):
        train_run(None, store, resume=run.id)


def test_resume_unknown_run_is_refused():
    with pytest.raises(RunError, match="unknown run"):
        train_run(None, RunStore(), resume="19990101-000000-none-0000")


def test_resume_without_checkpoint_is_refused(monkeypatch):
    store = RunStore()
    real = Trainer.train_epoch

    def crashing(self, probe=None):
        self.epoch += 1
        raise KeyboardInterrupt
    monkeypatch.setattr(Trainer, "train_epoch", crashing)
    with pytest.raises(KeyboardInterrupt):
        train_run(spec(epochs=3), store)
    monkeypatch.setattr(Trainer, "train_epoch", real)
    with pytest.raises(RunError, match="no checkpoint"):
        train_run(None, store, resume=store.list()[0]["id"])


def test_divergence_is_recorded():
    s = from_dict({"data": {"name": "reg-plane", "samples": 100},
                   "model": {"hidden": [8], "activation": "relu", "init": "he_normal"},
                   "train": {"optimizer": "sgd", "lr": 10, "epochs": 20}})
    store = RunStore()
    with pytest.raises(DivergenceError):
        train_run(s, store)
    row = store.list()[0]
    assert row["status"] == "diverged"
    assert "train.lr" in json.loads((store.root / row["id"] / "summary.json").read_text())["error"]
