"""Everything on Ray, on one real local Ray head (127.0.0.1, 2 CPUs, no dashboard) shared by
this module: nnplay sweep --backend ray gives the local backend's trials, and a killed Ray
sweep resumes; nnplay train --nproc 2 --backend ray (Ray Train) gives one process's result."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers import cli, kill_sweep_after_a_trial

from nnplay import spec as specmod
from nnplay import sweep as sw
from nnplay.runs import RunStore

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sweep_spiral.toml"
SPIRAL = Path(__file__).resolve().parents[1] / "examples" / "spiral.toml"
GRID = ["--grid", "train.lr=[0.003, 0.03]", "--grid", "model.hidden=[[8], [16, 16]]"]


@pytest.fixture(scope="module")
def ray_head():
    """A local Ray head started as `nnplay sweep --backend ray` starts one; its GCS address."""
    import ray

    from nnplay.cluster import start_local
    start_local(ray, num_cpus=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def test_ray_sweep_gives_the_local_trials(ray_head, tmp_path):
    local = sw.prepare(specmod.load(EXAMPLE), tmp_path / "local", [GRID[1], GRID[3]], [])
    want = sw.run(local, RunStore(tmp_path / "local"))
    runs = tmp_path / "ray"
    r = cli("sweep", str(EXAMPLE), *GRID, "--backend", "ray", "--json", "--runs-dir", str(runs))
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(got["trials"]) == len(want["trials"]) == 4
    for a, b in zip(want["trials"], got["trials"]):
        assert a["params"] == b["params"]
        assert b["value"] == pytest.approx(a["value"], abs=1e-6)
    assert (got["best"]["number"], got["best"]["params"]) == (want["best"]["number"], want["best"]["params"])
    # each trial is a finished run of the driver's store, with its summary
    listed = {x["id"]: x for x in RunStore(runs).list()}
    assert sorted(listed) == sorted(t["run_id"] for t in got["trials"])
    assert {x["status"] for x in listed.values()} == {"done"}
    for t in got["trials"]:
        summary = json.loads((runs / t["run_id"] / "summary.json").read_text())
        assert summary["val_loss"] == pytest.approx(t["value"], abs=1e-12)
        assert summary["run_dir"] == str(runs / t["run_id"])



def test_a_killed_ray_sweep_resumes(ray_head, tmp_path):
    runs = tmp_path / "runs"
    exe = shutil.which("nnplay", path=str(Path(sys.executable).parent)) or "nnplay"
    args = ["sweep", "--set", "data.samples=200", "--set", "train.epochs=300", "--set", "train.probe_every=0",
            "--set", "model.hidden=[8]", "--grid", "train.lr=[0.005, 0.01, 0.02, 0.03, 0.04, 0.05]",
            "--name", "k", "--backend", "ray", "--json", "--runs-dir", str(runs)]
    db = runs / "sweeps" / "k.sqlite"
    # a second driver joins the head by its address, and is killed once a trial has finished
    before = kill_sweep_after_a_trial([exe, *args, "--address", ray_head], db, 120,
                                      env={**os.environ, "NNPLAY_RUNS": str(runs)})
    assert 1 <= len(before) < 6, before
    r = cli(*args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert sorted(t["params"]["train.lr"] for t in out["trials"]) == [0.005, 0.01, 0.02, 0.03, 0.04, 0.05]
    ids = {t["number"]: t["run_id"] for t in out["trials"]}
    assert {n: json.dumps(ids[n]) for n in before} == before          # finished trials kept their runs
    done = [x for x in RunStore(runs).list() if x["status"] == "done"]
    assert sorted(x["id"] for x in done) == sorted(ids.values())      # one finished run per trial


def test_ray_train_gives_the_one_process_result(ray_head, tmp_path):
    from nnplay.train import Trainer
    over = ["train.epochs=20"]
    want = Trainer(specmod.load(SPIRAL, over)).fit().summary
    r = cli("train", str(SPIRAL), "--set", over[0], "--nproc", "2", "--backend", "ray", "--json",
            "--runs-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert abs(got["test_loss"] - want["test_loss"]) < 1e-4
    assert [x["status"] for x in RunStore(tmp_path).list()] == ["done"]
    assert len((Path(got["run_dir"]) / "metrics.jsonl").read_text().splitlines()) == 20
