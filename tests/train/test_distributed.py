"""nnplay train --nproc 2 (DDP, gloo on 127.0.0.1): the result of one process with the same
global batch; a killed process stops the run with a message, and --resume finishes it."""
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
from helpers import cli, user_error

from nnplay.spec import load
from nnplay.train import Trainer
from nnplay.train.distributed import check

SPIRAL = str(Path(__file__).resolve().parents[2] / "examples" / "spiral.toml")


@pytest.fixture(scope="module")
def one_process():
    """examples/spiral.toml in one process: its summary (one thread: module fixtures run
    before conftest's per-test setting)."""
    import torch
    torch.set_num_threads(1)
    return Trainer(load(SPIRAL)).fit().summary


def test_two_processes_give_the_one_process_result(one_process, tmp_path):
    r = cli("train", SPIRAL, "--nproc", "2", "--json", "--runs-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["epochs"] == 200
    assert abs(got["test_loss"] - one_process["test_loss"]) < 1e-4
    assert abs(got["val_loss"] - one_process["val_loss"]) < 1e-4
    assert got["test_accuracy"] == one_process["test_accuracy"]
    # process 0 wrote the run: every epoch once, and the model
    run = Path(got["run_dir"])
    assert [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()] == list(range(1, 201))
    assert (run / "model.safetensors").exists()


def test_uneven_shares_weight_the_loss(tmp_path):
    """A last batch of 3 split 2 + 1 between two processes: still one process's step."""
    over = ["data.samples=100", "train.batch_size=5", "train.epochs=3", "model.hidden=[4]", "train.probe_every=0"]
    spec = load(SPIRAL, over)   # 56 training samples: 11 batches of 5 and one of 1 -> too small
    with pytest.raises(Exception, match="--nproc 2"):
        check(spec, 56, 2)
    over[1] = "train.batch_size=6"   # 9 batches of 6 and one of 2
    one = Trainer(load(SPIRAL, over)).fit().summary
    r = cli("train", SPIRAL, *sum((["--set", o] for o in over), []), "--nproc", "2", "--json",
            "--runs-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert abs(got["test_loss"] - one["test_loss"]) < 1e-6
    assert abs(got["train_loss"] - one["train_loss"]) < 1e-6


def test_bad_nproc_exits_2(tmp_path):
    user_error(cli("train", SPIRAL, "--nproc", "0", "--runs-dir", str(tmp_path)), "--nproc", "received 0")
    user_error(cli("train", SPIRAL, "--nproc", "64", "--runs-dir", str(tmp_path)), "--nproc 64", "train.batch_size")
    line = user_error(cli("train", SPIRAL, "--nproc", "0", "--lang", "ko", "--runs-dir", str(tmp_path)))
    assert "1 이상" in line


def _ranks(parent: int) -> list[int]:
    """The spawned training processes of ``parent`` (not multiprocessing's resource tracker)."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent \
                    and b"spawn_main" in (d / "cmdline").read_bytes():
                out.append(int(d.name))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(out)


def test_a_killed_process_stops_the_run_and_resume_finishes_it(one_process, tmp_path):
    runs = tmp_path / "runs"
    exe = shutil.which("nnplay", path=str(Path(sys.executable).parent)) or "nnplay"
    proc = subprocess.Popen([exe, "train", SPIRAL, "--nproc", "2", "-q", "--runs-dir", str(runs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while True:   # a checkpoint and a few more epochs
        lines = [len(p.read_text().splitlines()) for p in runs.glob("*/metrics.jsonl")]
        if lines and lines[0] >= 15 and list(runs.glob("*/checkpoint.safetensors")):
            break
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    ranks = _ranks(proc.pid)
    assert len(ranks) == 2, ranks
    os.kill(ranks[-1], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr and "SIGKILL" in stderr
    [run_dir] = [p for p in runs.iterdir() if (p / "spec.toml").exists()]
    assert f"--resume {run_dir.name}" in stderr
    assert _ranks(proc.pid) == []                       # the other process was stopped too
    listed = json.loads(cli("runs", "--json", "--runs-dir", str(runs)).stdout.strip().splitlines()[-1])
    assert [x["status"] for x in listed["runs"]] == ["interrupted"]
    r = cli("train", "--resume", run_dir.name, "--nproc", "2", "--json", "--runs-dir", str(runs))
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert abs(got["test_loss"] - one_process["test_loss"]) < 1e-4
    assert [json.loads(x)["epoch"] for x in (run_dir / "metrics.jsonl").read_text().splitlines()] == list(range(1, 201))
