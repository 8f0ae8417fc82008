"""nnplay sweep: the table, --json, plots, runs listed; bad input exits 2 with one line; a
sweep killed with SIGKILL resumes without re-running its finished trials."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli, kill_sweep_after_a_trial, user_error

TINY = ["--set", 'data.name="spiral"', "--set", "data.samples=100", "--set", "train.epochs=4",
        "--set", "train.probe_every=0", "--set", "model.hidden=[4]"]


def test_a_grid_sweep_prints_a_table_json_and_plots(tmp_path):
    runs = tmp_path / "runs"
    r = cli("sweep", *TINY, "--grid", "train.lr=[0.003, 0.03]", "--grid", "model.hidden=[[4], [8]]",
            "--name", "g", "--json", "--runs-dir", str(runs))
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["name"] == "g" and out["metric"] == "val_loss" and out["direction"] == "minimize"
    assert len(out["trials"]) == 4
    assert out["best"]["value"] == min(t["value"] for t in out["trials"])
    assert set(out["best"]) >= {"params", "value", "run_id"}
    for name in ("history", "parallel", "importance"):
        png = runs / "sweeps" / "g" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "trial" in r.stderr and "val_loss" in r.stderr
    listed = json.loads(cli("runs", "--json", "--runs-dir", str(runs)).stdout.strip().splitlines()[-1])
    assert sorted(x["id"] for x in listed["runs"]) == sorted(t["run_id"] for t in out["trials"])
    # without --json the table goes to stdout; one searched key: importance skipped with a note
    r = cli("sweep", *TINY, "--grid", "train.lr=[0.003, 0.03]", "--name", "one", "--runs-dir", str(runs),
            "--lang", "ko")
    assert r.exit_code == 0, r.output
    assert "train.lr" in r.stdout and "시행" in r.stdout
    assert "importance" in r.stderr and "생략" in r.stderr


@pytest.mark.parametrize("args, words", [
    (["--grid", "train.lrr=[0.1]"], ["train.lrr", "unknown key", "lr, momentum"]),
    (["--grid", "train.lr=[-1]"], ["train.lr", "greater than 0", "-1"]),
    (["--sample", "train.lr=loguniform(1)", "--trials", "3"], ["loguniform", "low < high"]),
    (["--grid", "train.lr=[0.1]", "--trials", "0"], ["--trials", "received 0"]),
    (["--grid", "train.lr=[0.1]", "--metric", "val_accuracy", "--set", 'data.name="reg-plane"'],
     ["val_accuracy", "regression", "val_mse"]),
    (["--grid", "train.lr=[0.1]", "--name", "../x"], ["--name"]),
    (["--grid", "train.lr=[0.1]", "--folds", "1"], ["--folds", "2 or more"]),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, words):
    runs = tmp_path / "runs"
    user_error(cli("sweep", *TINY, *args, "--runs-dir", str(runs)), *words)
    assert not (runs / "sweeps").exists()


def test_korean_errors(tmp_path):
    line = user_error(cli("sweep", *TINY, "--grid", "train.lr=[-1]", "--lang", "ko",
                          "--runs-dir", str(tmp_path)), "train.lr")
    assert line.startswith("오류: ") and "0보다 커야" in line



def test_a_sweep_killed_with_sigkill_resumes_without_rerunning_finished_trials(tmp_path):
    runs = tmp_path / "runs"
    exe = shutil.which("nnplay", path=str(Path(sys.executable).parent)) or "nnplay"
    # trials of about a second, so the kill lands mid-sweep
    args = [exe, "sweep", "--set", "data.samples=200", "--set", "train.epochs=300", "--set",
            "train.probe_every=0", "--set", "model.hidden=[8]", "--grid",
            "train.lr=[0.005, 0.01, 0.02, 0.03, 0.04, 0.05]", "--name", "k", "--json", "--runs-dir", str(runs)]
    db = runs / "sweeps" / "k.sqlite"
    before = kill_sweep_after_a_trial(args, db, 60)
    assert 1 <= len(before) < 6, before
    folders = [p for p in runs.iterdir() if (p / "spec.toml").is_file()]   # + maybe one killed mid-run
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(out["trials"]) == 6
    assert sorted(t["params"]["train.lr"] for t in out["trials"]) == [0.005, 0.01, 0.02, 0.03, 0.04, 0.05]
    ids = {t["number"]: t["run_id"] for t in out["trials"]}
    assert {n: json.dumps(ids[n]) for n in before} == before          # finished trials kept their runs
    after = [p for p in runs.iterdir() if (p / "spec.toml").is_file()]
    assert len(after) == len(folders) + 6 - len(before)               # only the missing trials ran
    with sqlite3.connect(db) as c:
        states = dict(c.execute("SELECT state, count(*) FROM trials GROUP BY state"))
    assert states["COMPLETE"] == 6 and set(states) <= {"COMPLETE", "FAIL"}
