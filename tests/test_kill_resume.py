"""kill -9 loses no finished epoch: a run killed at any instant resumes to the same result,
every epoch recorded exactly once.

The first test stops the run folder at every file write of a run (before and after each
checkpoint and metrics line, and with a line cut short) and resumes each copy; the second
kills a real ``nnplay train`` process with SIGKILL.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnplay import runs
from nnplay.cli import app
from nnplay.runs import Run, RunStore, train_run
from nnplay.spec import from_dict

KEYS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")


def same_epochs(got: list[dict], want: list[dict]) -> None:
    assert [r["epoch"] for r in got] == [r["epoch"] for r in want]     # each epoch exactly once
    for a, b in zip(got, want):
        for k in KEYS:
            assert a[k] == pytest.approx(b[k], rel=1e-6, abs=1e-6), (a["epoch"], k)


def test_a_kill_at_any_file_write_resumes_to_the_uninterrupted_run(tmp_path, monkeypatch):
    # checkpoints after epochs 1, 3, 6 only: the other lines are past the last checkpoint
    monkeypatch.setattr(runs, "CHECKPOINT_SECONDS", float("inf"))
    monkeypatch.setattr(runs, "CHECKPOINT_SHARE", 1e-12)
    s = from_dict({"name": "kill", "data": {"name": "spiral", "samples": 160, "noise": 0.1},
                   "model": {"hidden": [8, 8], "dropout": 0.2},
                   "train": {"epochs": 7, "batch_size": 16, "checkpoint_every": 3,
                             "optimizer": "momentum", "schedule": "cosine"}})
    snaps: list[Path] = []

    def snap(run: Run, cut: bool = False) -> None:
        to = tmp_path / "snaps" / str(len(snaps))
        shutil.copytree(run.dir, to)
        if cut:   # killed while the last line was being written
            m = to / "metrics.jsonl"
            m.write_bytes(m.read_bytes()[:-len(m.read_bytes().splitlines()[-1]) // 2 - 1])
        (to / ".checkpoint.safetensors.x1y2").write_bytes(b"half a temporary file")
        snaps.append(to)

    real_save, real_append = Run.save_checkpoint, Run.append_metrics

    def save(self, trainer):   # the state after one write is the state before the next
        snap(self)
        real_save(self, trainer)

    def append(self, rec):
        snap(self)
        real_append(self, rec)
        snap(self, cut=True)
        if rec["epoch"] == 7:   # all trained, summary not yet written
            snap(self)
    monkeypatch.setattr(Run, "save_checkpoint", save)
    monkeypatch.setattr(Run, "append_metrics", append)
    full_run, full = train_run(s, RunStore(tmp_path / "full"))
    monkeypatch.setattr(Run, "save_checkpoint", real_save)
    monkeypatch.setattr(Run, "append_metrics", real_append)
    want = full_run.metrics()

    past_checkpoint = 0
    for i, folder in enumerate(snaps):
        store = RunStore(tmp_path / f"r{i}")
        shutil.copytree(folder, store.root / full_run.id)
        run = store.get(full_run.id)
        ck = run.load_checkpoint()
        past_checkpoint += len(run.metrics()) > (ck["epoch"] if ck else 0)
        run, resumed = train_run(None, store, resume=full_run.id)
        same_epochs(run.metrics(), want)
        assert len(run.path("metrics.jsonl").read_text().splitlines()) == 7, i   # no cut line left
        assert not list(run.dir.glob(".*")), i                                    # no temporary file
        for k in ("train_loss", "test_loss", "test_accuracy", "epochs"):
            assert resumed[k] == pytest.approx(full[k], rel=1e-6, abs=1e-6), (i, k)
    assert len(snaps) == 3 + 7 * 2 + 1 and past_checkpoint >= 4   # the cases meant were met


# --- a real process, killed ---------------------------------------------------------------
SPEC = """
name = "killed"
[data]
name = "spiral"
samples = 1200
noise = 0.1
[model]
hidden = [16, 16]
dropout = 0.1
[train]
epochs = 60
batch_size = 16
checkpoint_every = 10
probe_every = 0
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same spec trained without interruption, in this process."""
    import torch
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("reference")
    run, summary = train_run(from_dict(__import__("tomllib").loads(SPEC)), RunStore(folder))
    return run.metrics(), summary


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def kill_when(args: list[str], root: Path, lines: int) -> Run:
    """Start ``nnplay ARGS`` (the console script), SIGKILL it once metrics.jsonl holds
    ``lines`` epochs; the run it trained."""
    exe = Path(sys.executable).parent / "nnplay"
    env = {**os.environ, "NNPLAY_LANG": "en", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen([str(exe), *args, "--runs-dir", str(root), "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, seen, run = time.time() + 120, 0, None
    try:
        while seen < lines:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "the run did not start"
            time.sleep(0.005)
            dirs = [d for d in root.glob("*") if d.is_dir() and not d.name.startswith(".")]
            if dirs:
                run = Run(root, dirs[0].name)
                seen = len(run.metrics())
        store = RunStore(root)
        assert [r["status"] for r in store.list()] == ["running"]   # its process is alive
        assert run.owner()["pid"] == proc.pid
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert lines <= len(run.metrics()) < 60, "killed too late to test anything"
    return run


def test_kill_9_then_resume_finishes_the_run(tmp_path, reference):
    """Killed in its first epochs (before any checkpoint_every), resumed by a real process
    that is killed too, past two checkpoint_every marks, then resumed to the end."""
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(SPEC)
    root = tmp_path / "runs"
    want, full = reference
    run = kill_when(["train", str(spec_file)], root, 1)
    for kill, resumed_by in ((1, "process"), (25, "cli")):
        listed = json.loads(cli("runs", "--runs-dir", str(root), "--json").stdout.splitlines()[-1])
        assert [(r["id"], r["status"]) for r in listed["runs"]] == [(run.id, "interrupted")]
        assert "interrupted" in cli("runs", "--runs-dir", str(root)).stdout
        ck, before = run.load_checkpoint(), run.metrics()
        assert ck["epoch"] >= (1 if kill == 1 else 20)     # epoch 1 is always checkpointed
        same_epochs(before[:ck["epoch"]], want[:ck["epoch"]])
        if resumed_by == "process":
            assert kill_when(["train", "--resume", run.id], root, 25).id == run.id
            assert run.metrics()[:ck["epoch"]] == before[:ck["epoch"]]   # kept, not redone

    done = cli("train", "--resume", run.id, "--runs-dir", str(root), "--json", "-q")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["run_id"] == run.id and summary["epochs"] == 60 and run.summary() == summary
    same_epochs(run.metrics(), want)
    assert run.metrics()[:ck["epoch"]] == before[:ck["epoch"]]
    for k in ("train_loss", "test_loss", "test_accuracy"):
        assert summary[k] == pytest.approx(full[k], rel=1e-6, abs=1e-6), k
    assert [r["status"] for r in RunStore(root).list()] == ["done"]
