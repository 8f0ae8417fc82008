"""The run store: files of a run, atomic writes, the index, and exact resume after a crash."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from nnplay import runs
from nnplay import spec as specmod
from nnplay.model import build_model
from nnplay.runs import RunError, RunStore, atomic_write, load_trained, save_tensors, train_run
from nnplay.spec import SpecError, from_dict
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


@pytest.fixture
def sparse(monkeypatch):
    """Checkpoints only after epoch 1 and every train.checkpoint_every epochs (no timing)."""
    monkeypatch.setattr(runs, "CHECKPOINT_SECONDS", float("inf"))
    monkeypatch.setattr(runs, "CHECKPOINT_SHARE", 1e-12)


@pytest.fixture
def every_epoch(monkeypatch):
    monkeypatch.setattr(runs, "CHECKPOINT_SECONDS", 0.0)


def checkpoint_epochs(**train):
    seen = []
    store = RunStore()

    def look(rec):
        ck = store.get(store.list()[0]["id"]).load_checkpoint()
        seen.append(ck["epoch"] if ck else None)

    train_run(spec(**train), store, on_epoch=look)
    return seen


def test_checkpoints_after_epoch_one_and_every_n_epochs(sparse):
    assert checkpoint_epochs(epochs=5, checkpoint_every=2) == [1, 2, 2, 4, 4]


def test_checkpoints_every_epoch_when_time_has_passed(every_epoch):
    assert checkpoint_epochs(epochs=5, checkpoint_every=10) == [1, 2, 3, 4, 5]


def test_an_expensive_checkpoint_is_written_less_often(monkeypatch):
    """A checkpoint costing 40 ms waits for 0.8 s of training (CHECKPOINT_SHARE 5%): twenty
    ~2 ms epochs get only the first one; CHECKPOINT_SECONDS still bounds the wait."""
    real, saved = runs.Run.save_checkpoint, []

    def slow(self, trainer):
        time.sleep(0.04)
        saved.append(trainer.epoch)
        real(self, trainer)
    monkeypatch.setattr(runs.Run, "save_checkpoint", slow)
    train_run(spec(epochs=20, checkpoint_every=1000), RunStore())
    assert saved == [1]
    saved.clear()
    monkeypatch.setattr(runs, "CHECKPOINT_SECONDS", 0.0)
    train_run(spec(epochs=5, checkpoint_every=1000), RunStore())
    assert saved == [1, 2, 3, 4, 5]


def test_checkpoint_holds_its_epochs_metrics_line(every_epoch):
    run, _ = train_run(spec(epochs=3), RunStore())
    ck = run.load_checkpoint()
    assert ck["epoch"] == 3 and ck["record"] == run.metrics()[-1]


def crash_at(epoch, where="after"):
    """An on_epoch that raises once ``epoch`` has finished (for "inside" the Trainer is patched)."""
    def on_epoch(rec):
        if where == "after" and rec["epoch"] == epoch:
            raise KeyboardInterrupt
    return on_epoch


@pytest.mark.parametrize("policy, where, at", [("sparse", "after", 5), ("sparse", "inside", 4),
                                               ("every_epoch", "after", 5), ("every_epoch", "inside", 5)])
def test_resume_after_a_crash_equals_an_uninterrupted_run(policy, where, at, request, monkeypatch):
    request.getfixturevalue(policy)
    s = spec(epochs=8, checkpoint_every=2, schedule="cosine", optimizer="momentum")
    store = RunStore()
    full_run, full = train_run(s, store)
    real_train_epoch = Trainer.train_epoch
    if where == "inside":   # a crash in the middle of epoch 6: only the last checkpoint counts
        real = Trainer.train_epoch

        def crashing(self, probe=None):
            if self.epoch == 5:
                self.epoch += 1
                raise KeyboardInterrupt
            return real(self, probe)
        monkeypatch.setattr(Trainer, "train_epoch", crashing)
    with pytest.raises(KeyboardInterrupt):
        train_run(s, store, on_epoch=crash_at(5, where))
    monkeypatch.setattr(Trainer, "train_epoch", real_train_epoch)
    broken = [r for r in store.list() if r["status"] == "interrupted"]
    assert len(broken) == 1
    rid = broken[0]["id"]
    assert store.get(rid).load_checkpoint()["epoch"] == at

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


def test_resume_without_checkpoint_starts_over(monkeypatch):
    """Killed inside epoch 1: nothing to keep, so --resume trains from the start, same seed."""
    s = spec(epochs=3)
    store = RunStore()
    _, full = train_run(s, store)
    real = Trainer.train_epoch

    def crashing(self, probe=None):
        self.epoch += 1
        raise KeyboardInterrupt
    monkeypatch.setattr(Trainer, "train_epoch", crashing)
    with pytest.raises(KeyboardInterrupt):
        train_run(s, store)
    monkeypatch.setattr(Trainer, "train_epoch", real)
    rid = store.list()[0]["id"]
    assert store.get(rid).load_checkpoint() is None
    run, resumed = train_run(None, store, resume=rid)
    assert [r["epoch"] for r in run.metrics()] == [1, 2, 3]
    assert resumed["test_loss"] == pytest.approx(full["test_loss"], rel=1e-6, abs=1e-6)


def test_resume_after_early_stopping_does_not_train_on(sparse):
    """Killed after the epoch that ran out of patience but before the summary was written."""
    s = spec(epochs=40, checkpoint_every=1, lr=0.05, early_stopping={"patience": 3})
    store = RunStore()
    _, full = train_run(s, store)
    assert full["stopped_early"] and full["epochs"] < 40
    with pytest.raises(KeyboardInterrupt):
        train_run(s, store, on_epoch=crash_at(full["epochs"]))
    rid = [r for r in store.list() if r["status"] == "interrupted"][0]["id"]
    run, resumed = train_run(None, store, resume=rid)
    assert resumed["epochs"] == full["epochs"] and resumed["stopped_early"]
    assert [r["epoch"] for r in run.metrics()] == list(range(1, full["epochs"] + 1))
    assert resumed["test_loss"] == pytest.approx(full["test_loss"], rel=1e-6)


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


# --- statuses: a run whose process is gone is interrupted --------------------------------
def test_alive_tells_a_dead_or_reused_pid():
    me = runs.this_process()
    assert runs.alive(me)
    assert not runs.alive({**me, "start": "1"})             # same pid, another process (reused)
    assert not runs.alive({**me, "boot": "another-boot"})   # the machine rebooted since
    assert runs.alive({**me, "host": me["host"] + "-x", "start": "1"})   # another machine: cannot tell
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert not runs.alive({**me, "pid": p.pid, "start": None})


def dead_owner(run):
    atomic_write(run.path("process.json"), json.dumps({**runs.this_process(), "start": "1"}))


def test_a_running_run_whose_process_died_is_listed_interrupted():
    store = RunStore()
    alive_run, dead_run = store.create(spec()), store.create(spec())
    dead_owner(dead_run)
    status = {r["id"]: r["status"] for r in store.list()}
    assert status == {alive_run.id: "running", dead_run.id: "interrupted"}
    with sqlite3.connect(store.root / "index.sqlite") as db:   # re-indexed, not only shown
        assert db.execute("SELECT status FROM runs WHERE id=?", (dead_run.id,)).fetchone() == ("interrupted",)


def test_a_run_killed_after_its_summary_is_listed_done():
    store = RunStore()
    run, summary = train_run(spec(epochs=1), store)
    store.index(run, run.spec, "running")   # as if killed between summary.json and the index
    dead_owner(run)
    row = store.list()[0]
    assert row["status"] == "done" and row["test_loss"] == pytest.approx(summary["test_loss"])


def test_a_run_folder_missing_from_the_index_is_listed():
    store = RunStore()
    run = store.create(spec())
    with sqlite3.connect(store.root / "index.sqlite") as db:   # as if killed before indexing
        db.execute("DELETE FROM runs")
    assert store.list()[0]["id"] == run.id and store.list()[0]["status"] == "running"
    with sqlite3.connect(store.root / "index.sqlite") as db:
        db.execute("DELETE FROM runs")
    dead_owner(run)
    rows = store.list()
    assert [(r["id"], r["status"], r["name"]) for r in rows] == [(run.id, "interrupted", "t/run")]
    assert rows[0]["created"] == time.strftime("%Y-%m-%d %H:%M:%S",
                                               time.localtime(run.path("spec.toml").stat().st_mtime))


def test_resume_is_refused_while_another_process_trains_the_run():
    store = RunStore()
    run = store.create(spec(epochs=2))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.time() + 10
        while runs._start_time(other.pid) is None and time.time() < deadline:
            time.sleep(0.01)
        atomic_write(run.path("process.json"), json.dumps(
            {**runs.this_process(), "pid": other.pid, "start": runs._start_time(other.pid)}))
        assert store.list()[0]["status"] == "running"
        with pytest.raises(RunError, match=f"still being trained by process {other.pid}"):
            train_run(None, store, resume=run.id)
    finally:
        other.kill()
        other.wait()
    assert store.list()[0]["status"] == "interrupted"
    _, summary = train_run(None, store, resume=run.id)
    assert summary["epochs"] == 2 and store.list()[0]["status"] == "done"


# --- a run folder is never left half made ------------------------------------------------------
@pytest.mark.parametrize("name", ["\ud800", "ok\udfffname"])
def test_a_name_that_cannot_be_saved_is_a_clear_error_and_writes_nothing(name):
    store = RunStore()
    with pytest.raises(SpecError, match=r"^name: must be text that can be saved as UTF-8") as e:
        store.create(spec().model_copy(update={"name": name}))
    assert repr(name) in str(e.value)
    assert os.listdir(store.root) == ["index.sqlite"] and store.list() == []


def test_a_failed_create_leaves_no_folder(monkeypatch):
    store = RunStore()

    def broken():
        raise OSError("disk full")
    monkeypatch.setattr(runs, "this_process", broken)
    with pytest.raises(OSError, match="disk full"):
        store.create(spec())
    assert os.listdir(store.root) == ["index.sqlite"] and store.list() == []


def test_save_trained_saves_the_epochs_trained_and_leaves_the_trainer_as_it_was(tmp_path):
    """The playground's Save: a library call, not the server editing the spec or the history."""
    store = RunStore(tmp_path)
    tr = Trainer(spec(epochs=50))
    with pytest.raises(RunError, match="at least one epoch"):
        runs.save_trained(store, tr)
    for _ in range(3):
        tr.train_epoch()
    run, summary = runs.save_trained(store, tr, name="mine")
    assert (run.spec.train.epochs, run.spec.name) == (3, "mine")
    assert (tr.spec.train.epochs, tr.spec.name, tr.epoch) == (50, spec().name, 3)   # untouched
    assert [r["epoch"] for r in run.metrics()] == [1, 2, 3] and summary["epochs"] == 3
    assert store.list()[0]["status"] == "done"
    again = load_trained(run)   # the saved weights predict as the trainer does
    torch.testing.assert_close(again.predict(tr.data.x_test), tr.predict(tr.data.x_test))
