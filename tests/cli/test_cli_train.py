"""nnplay train / runs through Typer's CliRunner, plus one real console-script run.

User errors exit with code 2 and one paragraph naming the field, never a traceback.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import cli, interrupt_at, user_error
from nnplay.cli import app
from nnplay.runs import RunStore

SPEC = """
name = "cli-test"
[data]
name = "spiral"
samples = 120
noise = 0.1
[model]
hidden = [6]
[train]
epochs = 3
batch_size = 16
probe_every = 0
"""


@pytest.fixture
def spec_file(tmp_path) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(SPEC)
    return p


def last_json(result) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_train_json_summary(spec_file):
    r = cli("train", str(spec_file), "--json", "-q")
    assert r.exit_code == 0, r.output
    s = last_json(r)
    for k in ("run_id", "run_dir", "epochs", "seconds", "train_loss", "test_loss", "test_accuracy"):
        assert k in s, k
    assert s["epochs"] == 3 and 0 <= s["test_accuracy"] <= 1
    run = RunStore().get(s["run_id"])
    assert len(run.metrics()) == 3 and run.summary()["test_loss"] == pytest.approx(s["test_loss"])
    assert "Done: run " + s["run_id"] in r.stderr


def test_set_overrides_take_effect(spec_file, tmp_path):
    r = cli("train", str(spec_file), "--set", "train.epochs=2", "--set", "model.hidden=[5, 4]",
            "--set", "model.activation=relu", "--set", "data.features=[\"x1\", \"x2\", \"x1*x2\"]",
            "--runs-dir", str(tmp_path / "mine"), "--json", "-q")
    assert r.exit_code == 0, r.output
    s = last_json(r)
    assert s["epochs"] == 2 and Path(s["run_dir"]).parent == tmp_path / "mine"
    spec = RunStore(tmp_path / "mine").get(s["run_id"]).spec
    assert spec.model.hidden == [5, 4] and spec.model.activation == "relu"
    assert spec.data.features == ["x1", "x2", "x1*x2"] and spec.train.batch_size == 16


def test_defaults_without_a_spec_file():
    r = cli("train", "--set", "train.epochs=1", "--set", "data.samples=60", "--json", "-q")
    assert r.exit_code == 0, r.output
    s = last_json(r)
    assert s["epochs"] == 1 and RunStore().get(s["run_id"]).spec.data.name == "spiral"


def test_folds(spec_file):
    r = cli("train", str(spec_file), "--folds", "3", "--set", "train.epochs=1", "--json")
    assert r.exit_code == 0, r.output
    res = last_json(r)
    assert res["folds"] == 3 and len(res["per_fold"]) == 3 and res["metric"] == "val_accuracy"
    vals = [row["val_accuracy"] for row in res["per_fold"]]
    assert res["mean"] == pytest.approx(sum(vals) / 3)
    assert "3-fold cross-validation" in r.stderr and RunStore().list() == []


def test_runs_lists_trained_runs(spec_file):
    empty = cli("runs")
    assert empty.exit_code == 0 and "No runs yet" in empty.stdout
    ids = [last_json(cli("train", str(spec_file), "--set", "train.epochs=1", "--json", "-q"))["run_id"]
           for _ in range(2)]
    listed = last_json(cli("runs", "--json"))["runs"]
    assert [r["id"] for r in listed] == ids[::-1]
    assert all(r["status"] == "done" and r["metric_name"] == "test_accuracy" for r in listed)
    table = cli("runs")
    assert table.exit_code == 0 and all(i in table.stdout for i in ids) and "test accuracy 0." in table.stdout


def test_korean_messages(spec_file, tmp_path):
    empty = cli("runs", "--lang", "ko", "--runs-dir", str(tmp_path / "empty")).stdout
    assert "실행 기록이 없습니다" in " ".join(empty.split())     # rich may wrap the line
    r = cli("train", str(spec_file), "--lang", "ko", "-q", "--set", "train.epochs=1")
    assert r.exit_code == 0 and "완료: 실행" in r.stderr and "테스트" in r.stderr
    bad = cli("train", str(spec_file), "--lang", "ko", "--set", "train.optimizer=adamax")
    user_error(bad, "train.optimizer", "adabelief")
    assert bad.stderr.startswith("오류: 잘못된 명세입니다.") and "다음 중 하나여야 합니다" in bad.stderr
    small = cli("train", str(spec_file), "--lang", "ko", "--set", "train.batch_size=0")
    user_error(small, "train.batch_size", "1 이상이어야 합니다")


def test_nnplay_lang_sets_the_language(spec_file):
    r = CliRunner().invoke(app, ["train", str(spec_file), "--set", "train.lr=0"], env={"NNPLAY_LANG": "ko"})
    user_error(r, "train.lr: 0보다 커야 합니다")
    r = CliRunner().invoke(app, ["train", str(spec_file), "--set", "train.lr=0", "--lang", "en"],
                           env={"NNPLAY_LANG": "ko"})
    user_error(r, "train.lr: must be greater than 0")       # --lang wins
    user_error(CliRunner().invoke(app, ["runs"], env={"NNPLAY_LANG": "fr"}), "--lang", "en, ko")


def test_unknown_language():
    user_error(cli("runs", "--lang", "fr"), "--lang", "en, ko")


# --- every bad input: exit 2, the field and the allowed values named ------------------------------
@pytest.mark.parametrize("sets, texts", [
    (["train.optimizer=adamax"], ["train.optimizer", "sgd", "momentum", "adam", "adabelief", "'adamax'"]),
    (["train.lr=-0.5"], ["train.lr", "greater than 0", "-0.5"]),
    (["model.activation=swish"], ["model.activation", "relu", "leaky_relu", "crelu"]),
    (["model.init=orthogonal"], ["model.init", "he_normal", "xavier_uniform"]),
    (["data.train_ratio=1.5"], ["data.train_ratio", "less than 1"]),
    (["train.lrr=0.1"], ["train.lrr", "unknown key", "optimizer", "batch_size"]),
    (['model.layers=[{type="attention"}]'], ["model.layers[0].type", "dense", "conv2d", "flatten", "lstm", "conv1d"]),
    (["data.name=csv", "data.path=/no/such/file.csv", "data.target=y"], ["data.path", "/no/such/file.csv"]),
    (["data.name=idx", "data.path=/no/such/folder"], ["data.path", "/no/such/folder"]),
    (["data.name=digits", 'model.layers=[{type="conv2d", filters=4}, {type="dense", units=8}]'],
     ["model.layers[1]", "flatten"]),
    (["data.name=digits", 'model.layers=[{type="conv2d", filters=4, kernel=9, padding="valid"}]'],
     ["model.layers[0]", "kernel 9"]),
    (["data.name=digits", 'model.layers=[{type="maxpool2d", kernel=4}, {type="maxpool2d", kernel=4}]'],
     ["model.layers[1]", "pool size 4"]),
    (["train.lr"], ["key=value"]),
    (["train.device=tpu"], ["train.device", "cpu", "cuda", "auto"]),
    # found by fuzzing (tests/cli/test_cli_fuzz.py): each was a traceback with exit 1
    (["x=" + "[" * 1000 + "]" * 1000], ["--set", "nest more than 16 levels deep"]),
    (["model.init={a=1}"], ["model.init", "he_normal", "xavier_uniform"]),
    (["model.init=[1]"], ["model.init", "he_normal", "(received: [1])"]),
    (["data.seed=-1"], ["data.seed: must be at least 0 (received: -1)"]),
    (["data.seed=18446744073709551616"], ["data.seed: must be at most 4294967295"]),
    (["train.seed=18446744073709551616"], ["train.seed: must be at most 9223372036854775807"]),
    (["data.samples=10", "data.train_ratio=0.01"], ["data.samples = 10", "data.train_ratio = 0.01",
                                                    "0 train, 0 validation, 10 test", "at least 2"]),
    (["data.samples=10", "data.val_ratio=0.01"], ["4 train, 1 validation, 5 test"]),
    (["data.samples=30", "data.classes=10", "data.name=gauss"], ["15 test", "at least 10 (one per class)"]),
    (["data.name=points", "data.points=[[0,0,0],[1,1,1e9],[0.5,0.5,0],[0.2,0.1,1e9]]"],
     ["data.points[1]: the label must be a whole number from 0 to 9 (at most 10 classes); received 1e+09"]),
    (["data.name=points", "data.points=[[0,0,0],[1,1],[0.5,0.5,0],[0.2,0.1,1]]"],
     ["data.points[1]: each row must be [x1, x2, label]"]),
    (["data.name=points", "data.points=[[0,0,0],[1,1,1],[nan,0.5,0],[0.2,0.1,1]]"],
     ["data.points[2][0]: must be a finite number"]),
    (["data.name=points", "data.resample=smote", "data.val_ratio=0",
      "data.points=" + str([[i * 0.1, 0, 0] for i in range(39)] + [[5, 5, 1]])],
     ["data.resample = 'smote' needs at least 2 classes", "training split holds (class: samples) 0: "]),
    (["a..b=1"], ["--set a..b", "single dots"]),
    (["=1"], ["key=value"]),
    (["data=1"], ["data: must be a table", "samples", "(received: 1)"]),
    (["model.batchnorm=true", "train.batch_size=1"], ["batch norm needs at least 2 samples in every batch",
                                                      "train.batch_size = 1"]),
    (["model.batchnorm=true", "data.samples=120", "train.batch_size=47"], ["48 training samples",
                                                                         "leave a batch of 1"]),
])
def test_bad_input_exits_2_naming_the_field(spec_file, sets, texts):
    args = ["train", str(spec_file)]
    for s in sets:
        args += ["--set", s]
    r = cli(*args)
    user_error(r, *texts)
    assert r.stderr.count("\n") == 1          # one paragraph, nothing else


def test_missing_and_malformed_spec_files(tmp_path):
    user_error(cli("train", str(tmp_path / "nope.toml")), "spec file not found", "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nlr = 0.1\n")
    user_error(cli("train", str(bad)), "bad.toml", "malformed TOML")


def test_bad_folds(spec_file):
    user_error(cli("train", str(spec_file), "--folds", "1"), "--folds", "2 or more")
    user_error(cli("train", str(spec_file), "--folds", "61"), "--folds: must be at most 60", "received 61")
    user_error(cli("train", str(spec_file), "--folds", "9" * 25), "--folds: must be at most 60")


def test_divergence_exits_2(spec_file):
    r = cli("train", str(spec_file), "--set", "data.name=reg-plane", "--set", "model.activation=relu",
            "--set", "model.init=he_normal", "--set", "train.optimizer=sgd", "--set", "train.lr=10",
            "--set", "train.epochs=20")
    user_error(r, "diverged", "train.lr")
    assert RunStore().list()[0]["status"] == "diverged"


def test_resume_errors(spec_file):
    user_error(cli("train", "--resume", "no-such-run"), "unknown run", "no-such-run")
    run_id = last_json(cli("train", str(spec_file), "--json", "-q"))["run_id"]
    user_error(cli("train", "--resume", run_id), "already complete")
    user_error(cli("train", str(spec_file), "--resume", run_id), "--resume")


def test_interrupt_then_resume(spec_file, monkeypatch):
    Trainer, real = interrupt_at(monkeypatch, 2)
    r = cli("train", str(spec_file), "-q")
    msg = user_error(r, "Interrupted", "nnplay train --resume")
    run_id = msg.strip().split()[-1]
    monkeypatch.setattr(Trainer, "train_epoch", real)
    done = cli("train", "--resume", run_id, "--json", "-q")
    assert done.exit_code == 0, done.output
    s = last_json(done)
    assert s["run_id"] == run_id and s["epochs"] == 3
    assert [m["epoch"] for m in RunStore().get(run_id).metrics()] == [1, 2, 3]


def test_console_script_exits_2_without_traceback(tmp_path):
    args = ["train", "--set", "data.name=csv", "--set", "data.path=missing.csv", "--set", "data.target=y"]
    texts = ["data.path", "missing.csv"]
    exe = Path(sys.executable).parent / "nnplay"
    env = {**os.environ, "NNPLAY_RUNS": str(tmp_path / "runs"), "NNPLAY_LANG": "en"}
    p = subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and p.stderr.startswith("error: ")
    for text in texts:
        assert text in p.stderr


def test_an_interrupted_resume_names_the_resumed_run(spec_file, monkeypatch):
    Trainer, real = interrupt_at(monkeypatch, 1)
    first = user_error(cli("train", str(spec_file), "-q")).split()[-1]
    monkeypatch.setattr(Trainer, "train_epoch", real)
    newer = last_json(cli("train", str(spec_file), "--json", "-q"))["run_id"]
    interrupt_at(monkeypatch, 1)
    again = user_error(cli("train", "--resume", first, "-q"), "Interrupted")
    assert again.split()[-1] == first != newer
    listed = {r["id"]: r["status"] for r in last_json(cli("runs", "--json"))["runs"]}
    assert listed == {first: "interrupted", newer: "done"}


def test_resume_of_a_run_another_live_process_trains_exits_2(spec_file):
    from nnplay import runs
    run = RunStore().create(runs.specmod.load(spec_file))
    owner = {**runs.this_process(), "pid": 1, "start": runs._start_time(1)}   # pid 1 is alive
    runs.atomic_write(run.path("process.json"), json.dumps(owner))
    assert last_json(cli("runs", "--json"))["runs"][0]["status"] == "running"
    user_error(cli("train", "--resume", run.id), run.id, "still being trained by process 1")
    runs.atomic_write(run.path("process.json"), json.dumps({**owner, "start": "-1"}))   # now gone
    assert last_json(cli("runs", "--json"))["runs"][0]["status"] == "interrupted"
    done = cli("train", "--resume", run.id, "--json", "-q")
    assert done.exit_code == 0 and last_json(done)["epochs"] == 3
