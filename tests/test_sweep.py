"""Sweeps (nnplay.sweep): the grid runs exactly its points and picks the true best, reruns are
deterministic and resume instead of repeating, TPE runs N trials, folds score by the mean."""
from __future__ import annotations

import itertools
import json
import math
import sqlite3

import pytest

from nnplay import spec as specmod
from nnplay import sweep as sw
from nnplay.runs import RunStore
from nnplay.spec import SpecError, UserError

TINY = ['data.name="spiral"', "data.samples=100", "train.epochs=4", "train.probe_every=0",
        "model.hidden=[4]", 'name="tiny"']
GRID = ["train.lr=[0.003, 0.03]", "model.hidden=[[4], [8, 8]]"]


def tiny(*more: str):
    return specmod.load(None, TINY + list(more))


def sweep_in(root, grid=GRID, sample=(), **kw):
    store = RunStore(root)
    plan = sw.prepare(tiny(), store.root, list(grid), list(sample), **kw)
    return plan, store, sw.run(plan, store)


def run_dirs(root):
    return sorted(p.name for p in root.iterdir() if (p / "spec.toml").is_file())


def test_a_grid_runs_exactly_its_points_and_the_best_is_the_argmin(tmp_path):
    root = tmp_path / "runs"
    plan, store, res = sweep_in(root)
    assert plan.is_grid and plan.trials == 4 and res["metric"] == "val_loss"
    got = sorted((r["params"]["train.lr"], tuple(r["params"]["model.hidden"])) for r in res["trials"])
    assert got == sorted(itertools.product([0.003, 0.03], [(4,), (8, 8)]))
    # each trial's value is its run's val_loss, read back from the run folder independently
    values = {}
    for r in res["trials"]:
        summary = json.loads((root / r["run_id"] / "summary.json").read_text())
        spec = specmod.loads((root / r["run_id"] / "spec.toml").read_text())
        assert spec.name == f"tiny-t{r['number']}"
        assert spec.train.lr == r["params"]["train.lr"] and spec.model.hidden == r["params"]["model.hidden"]
        assert r["value"] == pytest.approx(summary["val_loss"], abs=1e-12)
        values[r["run_id"]] = summary["val_loss"]
    assert len(set(values)) == 4 and len(run_dirs(root)) == 4
    best = min(values, key=values.get)
    assert res["best"]["run_id"] == best and res["best"]["value"] == pytest.approx(values[best])
    assert {r["name"] for r in store.list()} == {f"tiny-t{i}" for i in range(4)}
    # the study is in runs/sweeps/<name>.sqlite, every trial complete
    with sqlite3.connect(root / "sweeps" / "tiny.sqlite") as db:
        assert db.execute("SELECT state, count(*) FROM trials GROUP BY state").fetchall() == [("COMPLETE", 4)]


def test_the_same_sweep_twice_runs_nothing_new_and_is_deterministic(tmp_path):
    _, _, first = sweep_in(tmp_path / "a")
    before = run_dirs(tmp_path / "a")
    _, _, again = sweep_in(tmp_path / "a")
    assert run_dirs(tmp_path / "a") == before and again == first     # no new trial, no new run
    _, _, other = sweep_in(tmp_path / "b")                              # a fresh store: same numbers
    key = lambda r: (r["params"]["train.lr"], tuple(r["params"]["model.hidden"]))   # noqa: E731
    want = {key(r): r["value"] for r in first["trials"]}
    assert {key(r): pytest.approx(want[key(r)], abs=1e-6) for r in other["trials"]} == \
        {k: v for k, v in want.items()}


def test_tpe_runs_n_trials_within_the_ranges_and_a_larger_n_adds_only_the_missing(tmp_path):
    sample = ["train.lr=loguniform(0.001, 0.1)", "model.hidden=choice([[4], [8, 8]])",
              "train.batch_size=int(8, 32)"]
    plan, _, res = sweep_in(tmp_path, grid=(), sample=sample, trials=5)
    assert not plan.is_grid and len(res["trials"]) == 5 and len(run_dirs(tmp_path)) == 5
    for r in res["trials"]:
        p = r["params"]
        assert 0.001 <= p["train.lr"] <= 0.1 and p["model.hidden"] in ([4], [8, 8])
        assert isinstance(p["train.batch_size"], int) and 8 <= p["train.batch_size"] <= 32
    assert len({r["params"]["train.lr"] for r in res["trials"]}) == 5
    _, _, more = sweep_in(tmp_path, grid=(), sample=sample, trials=7)
    assert len(more["trials"]) == 7 and len(run_dirs(tmp_path)) == 7
    assert more["trials"][:5] == res["trials"]
    # a resumed TPE does not replay the first draws
    assert len({r["params"]["train.lr"] for r in more["trials"]}) == 7


def test_accuracy_is_maximized(tmp_path):
    plan, _, res = sweep_in(tmp_path, metric="val_accuracy")
    assert res["direction"] == "maximize"
    assert res["best"]["value"] == max(r["value"] for r in res["trials"])


def test_folds_score_a_trial_by_the_mean_over_folds_and_make_no_run(tmp_path):
    from nnplay.train.folds import cross_validate
    plan, _, res = sweep_in(tmp_path, grid=["train.lr=[0.003, 0.03]"], folds=3, metric="val_accuracy")
    assert run_dirs(tmp_path) == [] and len(res["trials"]) == 2
    for r in res["trials"]:
        assert r["run_id"] is None and len(r["folds"]) == 3
        want = cross_validate(tiny(f"train.lr={r['params']['train.lr']}"), 3)
        assert r["value"] == pytest.approx(want["mean"], abs=1e-9)


def test_without_a_validation_split_the_test_loss_is_optimized(tmp_path):
    plan = sw.prepare(tiny("data.val_ratio=0"), tmp_path, ["train.lr=[0.01]"], [])
    assert plan.metric == "test_loss" and plan.note == "no_val"
    with pytest.raises(SpecError, match="val_loss"):
        sw.prepare(tiny("data.val_ratio=0"), tmp_path, ["train.lr=[0.01]"], [], metric="val_loss")


def test_a_changed_space_under_the_same_name_is_refused(tmp_path):
    sweep_in(tmp_path, grid=["train.lr=[0.01]"])
    with pytest.raises(SpecError, match="--name"):
        sweep_in(tmp_path, grid=["train.lr=[0.02]"])
    _, _, res = sweep_in(tmp_path, grid=["train.lr=[0.02]"], name="other")
    assert len(res["trials"]) == 1


@pytest.mark.parametrize("grid, sample, words", [
    (["train.lrr=[0.1]"], [], ["train.lrr", "unknown key", "lr, momentum"]),
    (["train.lr=[0.1, -1]"], [], ["train.lr=-1", "greater than 0"]),
    (["model.activation=['tanh', 'relu', 'swish']"], [], ["model.activation", "swish", "sigmoid, tanh"]),
    ([], ["train.lr=loguniform(1)"], ["loguniform", "two finite numbers"]),
    ([], ["train.lr=loguniform(0, 1)"], ["low > 0"]),
    ([], ["train.lr=uniform(0.001, 20)"], ["train.lr=20.0", "at most 10"]),
    ([], ["train.epochs=int(1.5, 3)"], ["whole numbers"]),
    ([], ["train.lr=normal(0, 1)"], ["unknown distribution", "choice(...)"]),
    ([], ["train.optimizer=choice([])"], ["choice takes one non-empty list"]),
    (["train.lr=0.1"], [], ["non-empty list"]),
    (["train.lr=[0.1]", "train.lr=[0.2]"], [], ["twice"]),
    ([], [], ["nothing to search"]),
])
def test_a_bad_space_is_refused_before_any_trial(tmp_path, grid, sample, words):
    with pytest.raises(UserError) as e:
        sw.prepare(tiny(), tmp_path, grid, sample, trials=2)
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    assert not (tmp_path / "sweeps").exists()


def test_trials_are_checked(tmp_path):
    with pytest.raises(SpecError, match="--trials is required"):
        sw.prepare(tiny(), tmp_path, [], ["train.lr=uniform(0.01, 0.1)"])
    with pytest.raises(SpecError, match="only 4 points"):
        sw.prepare(tiny(), tmp_path, GRID, [], trials=5)
    assert sw.prepare(tiny(), tmp_path, GRID, [], trials=2).trials == 2
    assert math.prod([2, 2]) == sw.prepare(tiny(), tmp_path, GRID, []).trials


def test_a_trial_left_running_by_a_dead_process_is_rerun_with_its_params_and_a_live_one_refused(tmp_path):
    from nnplay.runs import this_process
    store = RunStore(tmp_path)
    sample = ["train.lr=loguniform(0.001, 0.1)"]
    plan = sw.prepare(tiny(), store.root, [], sample, trials=2)
    study = sw.open_study(plan)
    trial = study.ask()                                   # as a killed process leaves it
    lr = trial.suggest_float("train.lr", 0.001, 0.1, log=True)
    trial.set_user_attr("owner", {**this_process(), "start": "-1"})   # a process that is gone
    res = sw.run(plan, store)
    assert [r["params"]["train.lr"] for r in res["trials"]][0] == lr
    assert len(res["trials"]) == 2 and len(run_dirs(tmp_path)) == 2
    states = [t.state.name for t in sw.open_study(plan).trials]
    assert states == ["FAIL", "COMPLETE", "COMPLETE"]
    plan = sw.prepare(tiny(), store.root, [], sample, trials=3)
    sw.open_study(plan).ask().set_user_attr("owner", this_process())   # still running: this process
    with pytest.raises(SpecError, match="is running in process"):
        sw.run(plan, store)
