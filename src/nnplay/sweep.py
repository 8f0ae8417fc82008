"""Hyper-parameter sweeps on Optuna: a search space over spec fields, one training run per
trial, the study kept in SQLite in the runs folder so a killed sweep resumes. Trials run in
this process, or (``backend="ray"``) as Ray tasks that the same study drives (``run_on_ray``).

- ``--grid key=[...]`` alone: every point of the grid is enqueued, in order (trials default to
  the grid's size). Any ``--sample key=dist(...)``: a ``TPESampler`` seeded from ``train.seed``
  (grid keys become choices).
- Every candidate value (grid values, choices, range ends and middle) is validated through the
  spec before any trial runs, so a bad key or value is a ``SpecError`` naming it.
- Trial ``n`` is a normal run named ``<sweep>-t<n>`` (user attr ``run_id``); with ``folds`` a
  trial is the mean over k folds (``cross_validate``) and makes no run (user attr ``folds``).
- Resume: ``--trials`` is the study's total. Trials left RUNNING by a dead process are marked
  failed; a grid enqueues each point that has no finished trial (every point is enqueued, so a
  kill at any instant loses none), TPE re-enqueues a failed trial's parameters once. Finished
  trials never re-run. A resumed TPE's sampler is seeded by ``train.seed`` + the trials so far.
"""
from __future__ import annotations

import json
import math
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .cluster import need
from .spec import Spec, SpecError, UserError, from_dict, set_field, shorten

DISTS = ("loguniform", "uniform", "int", "choice")
MAXIMIZE = ("accuracy", "f1", "precision", "recall")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SweepError(UserError):
    """A bad ``--grid``/``--sample`` item: ``prefix: <the spec's own message>``, in either language."""

    def __init__(self, prefix: str, inner: SpecError):
        super().__init__(f"{prefix}: {inner.render('en')}")
        self.prefix, self.inner = prefix, inner

    def render(self, lang: str = "en") -> str:
        return f"{self.prefix}: {self.inner.render(lang)}"


@dataclass
class Param:
    """One searched spec field: ``kind`` is grid, choice, int, uniform or loguniform."""
    key: str
    kind: str
    values: list = field(default_factory=list)   # grid / choice
    low: float = 0.0
    high: float = 0.0

    def encode(self, v: Any) -> Any:
        """Optuna choices are scalars: lists (model.hidden) travel as their JSON text."""
        return v if v is None or isinstance(v, (bool, int, float, str)) else json.dumps(v)

    def decode(self, v: Any) -> Any:
        for x in self.values:
            if self.encode(x) == v:
                return x
        return v

    def describe(self) -> str:
        if self.kind in ("grid", "choice"):
            return f"{self.kind}({json.dumps(self.values)})"
        return f"{self.kind}({self.low:g}, {self.high:g})"


def _set(base: dict, key: str, value: Any) -> dict:
    """A copy of spec dict ``base`` with dotted ``key`` set to ``value`` (``spec.set_field``)."""
    d = json.loads(json.dumps(base))
    set_field(d, key, value, key)
    return d


def _toml(text: str, flag: str, item: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        raise SpecError.say("sweep.bad_value", flag=flag, item=shorten(item)) from None


def parse_space(base: Spec, grid: list[str], sample: list[str]) -> list[Param]:
    """``--grid``/``--sample`` items -> params, every candidate value checked through the spec."""
    params: list[Param] = []
    for flag, items in (("--grid", grid), ("--sample", sample)):
        for item in items:
            key, sep, text = item.partition("=")
            key, text = key.strip(), text.strip()
            if not sep or not key or not text:
                raise SpecError.say("sweep.bad_item", flag=flag, item=shorten(item))
            if key in (p.key for p in params):
                raise SpecError.say("sweep.twice", field=key)
            if key == "name":
                raise SpecError.say("sweep.name_key")
            if flag == "--grid":
                values = _toml(text, flag, item)
                if not isinstance(values, list) or not values:
                    raise SpecError.say("sweep.bad_grid", item=shorten(item))
                p = Param(key, "grid", values)
            else:
                p = _distribution(key, text, item)
            for v in _candidates(p):
                try:
                    from_dict(_set(base.to_dict(), key, v))
                except UserError as e:
                    raise SweepError(f"{flag} {key}={shorten(v, 40)}", e) from None
            params.append(p)
    if not params:
        raise SpecError.say("sweep.empty")
    return params


def _distribution(key: str, text: str, item: str) -> Param:
    m = re.fullmatch(r"(\w+)\s*\((.*)\)", text, re.S)
    kind = m.group(1) if m else None
    if kind not in DISTS:
        raise SpecError.say("sweep.bad_dist", item=shorten(item), allowed=", ".join(f"{d}(...)" for d in DISTS))
    args = _toml(f"[{m.group(2)}]", "--sample", item)
    if kind == "choice":
        if len(args) != 1 or not isinstance(args[0], list) or not args[0]:
            raise SpecError.say("sweep.bad_choice", item=shorten(item))
        return Param(key, "choice", args[0])
    number = int if kind == "int" else (int, float)
    if len(args) != 2 or not all(isinstance(a, number) and not isinstance(a, bool) for a in args) \
            or not all(math.isfinite(a) for a in args) or not args[0] < args[1] \
            or (kind == "loguniform" and args[0] <= 0):
        raise SpecError.say(f"sweep.bad_{'int' if kind == 'int' else 'range'}", item=shorten(item), dist=kind)
    return Param(key, kind, low=args[0], high=args[1])


def _candidates(p: Param) -> list:
    if p.kind in ("grid", "choice"):
        return p.values
    if p.kind == "int":
        return [int(p.low), int(p.high)]
    mid = math.sqrt(p.low * p.high) if p.kind == "loguniform" else (p.low + p.high) / 2
    return [float(p.low), float(p.high), float(mid)]   # the ends first: the message names them


def metrics_for(task: str, has_val: bool, folds: int) -> list[str]:
    """The metrics a sweep can optimize for this data."""
    score = "mse" if task == "regression" else "accuracy"
    if folds:
        return ["val_loss", f"val_{score}"]
    out = [f"{s}_{m}" for s in ("val", "test", "train") for m in ("loss", score) if has_val or s != "val"]
    return out + ([] if task == "regression" else ["test_f1"])


def direction(metric: str) -> str:
    return "maximize" if metric.endswith(MAXIMIZE) else "minimize"


@dataclass
class Sweep:
    """A prepared sweep: ``run`` it to complete ``trials`` trials in all."""
    name: str
    spec: Spec
    params: list[Param]
    metric: str
    trials: int
    folds: int
    root: Path
    note: str = ""            # e.g. "no validation split: test_loss"

    @property
    def storage_path(self) -> Path:
        return self.root / "sweeps" / f"{self.name}.sqlite"

    @property
    def plot_dir(self) -> Path:
        return self.root / "sweeps" / self.name

    @property
    def is_grid(self) -> bool:
        return all(p.kind == "grid" for p in self.params)

    def config(self) -> dict:
        """What a resumed sweep must share with the stored study."""
        return {"spec": self.spec.to_dict(), "space": {p.key: p.describe() for p in self.params},
                "metric": self.metric, "folds": self.folds}


def prepare(spec: Spec, root: Path, grid: list[str], sample: list[str], trials: int | None = None,
            metric: str | None = None, folds: int = 0, name: str | None = None) -> Sweep:
    """Check everything a sweep needs before it runs a single trial."""
    from .data import load_data

    need("optuna")
    name = name or spec.name
    if not NAME.match(name):
        raise SpecError.say("sweep.bad_name", name=shorten(name))
    params = parse_space(spec, grid, sample)
    if folds and folds < 2:
        raise SpecError.say("sweep.bad_folds", got=folds)
    data = load_data(spec.data)
    has_val = len(data.x_val) > 0
    allowed = metrics_for(data.task, has_val, folds)
    note = ""
    if metric is None:
        metric = "val_loss" if has_val or folds else "test_loss"
        if metric == "test_loss":
            note = "no_val"
    if metric not in allowed:
        raise SpecError.say("sweep.bad_metric", got=shorten(metric), task=data.task, allowed=", ".join(allowed))
    size = math.prod(len(p.values) for p in params) if all(p.kind == "grid" for p in params) else None
    if trials is None:
        if size is None:
            raise SpecError.say("sweep.trials_needed")
        trials = size
    if trials < 1:
        raise SpecError.say("sweep.bad_trials", got=trials)
    if size is not None and trials > size:
        raise SpecError.say("sweep.grid_too_small", got=trials, size=size)
    return Sweep(name, spec, params, metric, trials, folds, Path(root), note)


def _quiet_optuna():
    optuna = need("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def open_study(sweep: Sweep):
    """The sweep's study (created or loaded), its sampler seeded from ``train.seed``."""
    optuna = _quiet_optuna()
    sweep.storage_path.parent.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{sweep.storage_path}",
                                         engine_kwargs={"connect_args": {"timeout": 30}})
    seed = sweep.spec.train.seed % 2**32
    if sweep.is_grid:
        # every grid point is enqueued (see _recover), so the sampler never draws. Not
        # GridSampler: it counts a killed trial's point as visited, and its after_trial raises
        # KeyError('grid_id') on enqueued trials (optuna 5.0.0)
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        # offset by the trials already stored: a resumed TPE does not replay its first draws
        try:
            done = len(optuna.load_study(study_name=sweep.name, storage=storage).trials)
        except KeyError:
            done = 0
        sampler = optuna.samplers.TPESampler(seed=(seed + done) % 2**32)
    study = optuna.create_study(study_name=sweep.name, storage=storage, sampler=sampler,
                                direction=direction(sweep.metric), load_if_exists=True)
    stored = study.user_attrs.get("config")
    if stored is None:
        study.set_user_attr("config", sweep.config())
    elif stored != json.loads(json.dumps(sweep.config())):
        raise SpecError.say("sweep.changed", name=sweep.name)
    return study


def _recover(study, sweep: Sweep) -> int:
    """Mark trials a dead process left RUNNING as failed and queue what is missing: for a grid,
    every point without a finished or queued trial (GridSampler itself would count a killed
    trial's point as visited, and lose it when the kill came before its parameters were drawn);
    otherwise each failed trial's parameters, once. -> the trials still to run."""
    import itertools

    from optuna.trial import TrialState

    from .runs import alive
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = t.user_attrs.get("owner")
        if owner is not None and alive(owner):
            raise SpecError.say("sweep.busy", name=study.study_name, pid=owner.get("pid"))
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    if sweep.is_grid:
        keys = [p.key for p in sweep.params]
        taken = {tuple(t.params.get(k) for k in keys) for t in trials
                 if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.WAITING)}
        taken |= {tuple(t.system_attrs.get("fixed_params", {}).get(k) for k in keys)
                  for t in trials if t.state == TrialState.WAITING}
        points = itertools.islice(itertools.product(*[[p.encode(v) for v in p.values] for p in sweep.params]),
                                  sweep.trials)
        for point in points:
            if point not in taken:
                study.enqueue_trial(dict(zip(keys, point)), skip_if_exists=False)
        return sum(t.state == TrialState.WAITING for t in study.get_trials(deepcopy=False))
    retried = set(study.user_attrs.get("retried", []))
    for t in trials:
        if t.state == TrialState.FAIL and t.number not in retried:
            retried.add(t.number)
            study.set_user_attr("retried", sorted(retried))
            if t.params and finished < sweep.trials:
                study.enqueue_trial(t.params, skip_if_exists=False)
    return sweep.trials - finished


def _suggest(sweep: Sweep, trial) -> Spec:
    """The trial's spec: the base spec with the trial's suggested values, named <sweep>-t<n>."""
    d = sweep.spec.to_dict()
    for p in sweep.params:
        if p.kind == "grid" or p.kind == "choice":
            v = p.decode(trial.suggest_categorical(p.key, [p.encode(x) for x in p.values]))
        elif p.kind == "int":
            v = trial.suggest_int(p.key, int(p.low), int(p.high))
        else:
            v = trial.suggest_float(p.key, p.low, p.high, log=p.kind == "loguniform")
        d = _set(d, p.key, v)
    d["name"] = f"{sweep.name}-t{trial.number}"
    return from_dict(d)


def score(spec: Spec, metric: str, folds: int, store) -> tuple[float, dict]:
    """Train one trial -> (value, user attrs: run_id, or the per-fold values). The same
    function on either backend, so a trial's value depends only on its spec."""
    from .runs import new_trainer, train_run
    if folds:
        from .train.folds import cross_validate
        values = [row[metric] for row in cross_validate(spec, folds, build=new_trainer)["per_fold"]]
        return float(sum(values) / len(values)), {"folds": values}
    run_, summary = train_run(spec, store)
    return float(summary[metric]), {"run_id": run_.id}


def run(sweep: Sweep, store, on_trial: Callable[[dict], None] | None = None,
        backend: str = "local", address: str | None = None) -> dict:
    """Run the sweep's missing trials -> {name, metric, direction, trials, best}.
    ``backend="ray"``: the trials run as Ray tasks (``run_on_ray``), the same study driving them."""
    from optuna import TrialPruned

    from .runs import this_process
    from .train import DivergenceError

    study = open_study(sweep)
    missing = _recover(study, sweep)

    def report(trial, value: float, attrs: dict) -> None:
        if on_trial is not None:
            on_trial({"number": trial.number, "params": params_of(sweep, trial.params), "value": value,
                      "run_id": attrs.get("run_id")})

    def objective(trial) -> float:
        trial.set_user_attr("owner", this_process())
        try:
            value, attrs = score(_suggest(sweep, trial), sweep.metric, sweep.folds, store)
        except DivergenceError as e:
            trial.set_user_attr("error", str(e))
            raise TrialPruned(str(e)) from None
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        report(trial, value, attrs)
        return value

    if missing > 0 and backend == "ray":
        from .cluster import ray_session
        with ray_session(address) as ray:
            run_on_ray(ray, sweep, study, missing, store, report)
    elif missing > 0:
        study.optimize(objective, n_trials=missing, catch=())
    return result(sweep, study)


def _remote_trial(spec: dict, metric: str, folds: int, threads: int) -> dict:
    """A trial in a Ray worker: trained into a store of its own, whose run folder is sent back
    (the driver files it in its store), so no file system need be shared with the cluster."""
    import tempfile

    import torch

    from .runs import RunStore
    from .train import DivergenceError
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            value, attrs = score(from_dict(spec), metric, folds, RunStore(tmp))
        except DivergenceError as e:
            return {"diverged": str(e)}
        run_id = attrs.get("run_id")
        files = {} if run_id is None else \
            {f.name: f.read_bytes() for f in (Path(tmp) / run_id).iterdir() if f.is_file() and not f.name.startswith(".")}
        return {"value": value, "attrs": attrs, "files": files}


def run_on_ray(ray, sweep: Sweep, study, missing: int, store, report: Callable) -> None:
    """Ray tasks driven by the same Optuna study (ask and tell): as many trials at once as
    the cluster has CPUs. A grid's points are asked in the local backend's order, and a
    trial's value depends only on its spec, so the values are the local backend's; a TPE's
    proposals depend on how many trials run at once (the sampler sees fewer results)."""
    import torch
    from optuna.trial import TrialState

    from .runs import this_process
    task = ray.remote(num_cpus=1, max_retries=0)(_remote_trial)
    slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
    threads = torch.get_num_threads()
    pending: dict = {}
    asked = 0
    try:
        while asked < missing or pending:
            while asked < missing and len(pending) < slots:
                trial = study.ask()
                trial.set_user_attr("owner", this_process())
                spec = _suggest(sweep, trial)
                pending[task.remote(spec.to_dict(), sweep.metric, sweep.folds, threads)] = trial
                asked += 1
            [ref], _ = ray.wait(list(pending), num_returns=1)
            trial = pending.pop(ref)
            try:
                out = ray.get(ref)
            except ray.exceptions.RayError as e:
                study.tell(trial, state=TrialState.FAIL)
                cause = getattr(e, "cause", None)
                if isinstance(cause, UserError):
                    raise cause from None
                raise SpecError.say("scale.trial_failed", number=trial.number,
                                    reason=shorten(str(cause or e).strip().splitlines()[-1], 300)) from None
            if "diverged" in out:
                trial.set_user_attr("error", out["diverged"])
                study.tell(trial, state=TrialState.PRUNED)
                continue
            if out["files"]:
                store.adopt(out["attrs"]["run_id"], out["files"])
            for k, v in out["attrs"].items():
                trial.set_user_attr(k, v)
            study.tell(trial, out["value"])
            report(trial, out["value"], out["attrs"])
    finally:
        for ref in pending:          # a failure or Ctrl-C: the trials still running stop; the
            ray.cancel(ref, force=True)   # next run marks them failed and asks them again


def params_of(sweep: Sweep, raw: dict) -> dict:
    by_key = {p.key: p for p in sweep.params}
    return {k: by_key[k].decode(v) if k in by_key else v for k, v in raw.items()}


def result(sweep: Sweep, study) -> dict:
    from optuna.trial import TrialState
    rows = [{"number": t.number, "params": params_of(sweep, t.params), "value": t.value,
             "run_id": t.user_attrs.get("run_id"), **({"folds": t.user_attrs["folds"]} if "folds" in t.user_attrs else {})}
            for t in study.trials if t.state == TrialState.COMPLETE]
    best = None
    if rows:
        pick = max if direction(sweep.metric) == "maximize" else min
        b = pick(rows, key=lambda r: r["value"])
        best = {"number": b["number"], "params": b["params"], "value": b["value"], "run_id": b["run_id"]}
    return {"name": sweep.name, "metric": sweep.metric, "direction": direction(sweep.metric),
            "trials": rows, "best": best}


def plot(sweep: Sweep) -> dict[str, str]:
    """PNG plots in ``runs/sweeps/<name>/``: {plot: path or the reason it was skipped}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    optuna = _quiet_optuna()
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as vis

    from .figure import save_png
    study = optuna.load_study(study_name=sweep.name, storage=f"sqlite:///{sweep.storage_path}")
    done = study.get_trials(states=(TrialState.COMPLETE,))
    sweep.plot_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}
    importance = optuna.importance.FanovaImportanceEvaluator(seed=sweep.spec.train.seed % 2**32)
    plots = {"history": vis.plot_optimization_history, "parallel": vis.plot_parallel_coordinate,
             "importance": lambda s: vis.plot_param_importances(s, evaluator=importance)}
    for what, fn in plots.items():
        if what == "importance" and (len(sweep.params) < 2 or len(done) < 4):
            out[what] = "skipped"     # needs >= 2 params and a few trials
            continue
        if what == "parallel" and len(done) < 2:
            out[what] = "skipped"
            continue
        try:
            ax = fn(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as e:   # e.g. every param constant
            out[what] = f"skipped: {e}"
            continue
        fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
        fig.set_size_inches(8, 5)
        path = sweep.plot_dir / f"{what}.png"
        save_png(fig, path, dpi=80)
        plt.close(fig)
        out[what] = str(path)
    return out


def stored(root: str | Path) -> list[dict]:
    """Every sweep kept in ``root/sweeps/`` (newest first): {name, metric, direction, space,
    trials (finished), best {number, params, value, run_id} or None}. Read-only; [] without
    Optuna (the optional ``scale`` extra)."""
    try:
        optuna = _quiet_optuna()
    except ImportError:
        return []
    from optuna.trial import TrialState
    out = []
    files = sorted((Path(root) / "sweeps").glob("*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in files:
        try:
            storage = optuna.storages.RDBStorage(f"sqlite:///{path}",
                                                 engine_kwargs={"connect_args": {"timeout": 30}})
            summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
        except Exception as e:  # noqa: BLE001 - not an Optuna study (SQLAlchemy's or Optuna's errors)
            warnings.warn(f"sweeps: skipped {path.name}: {type(e).__name__}: {str(e)[:120]}", stacklevel=2)
            continue
        for summary in summaries:
            study = optuna.load_study(study_name=summary.study_name, storage=storage)
            config = study.user_attrs.get("config", {})
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            best = None
            if done:
                b = study.best_trial
                best = {"number": b.number, "params": b.params, "value": b.value,
                        "run_id": b.user_attrs.get("run_id")}
            out.append({"name": summary.study_name, "metric": config.get("metric"),
                        "direction": study.direction.name.lower(), "space": config.get("space", {}),
                        "trials": len(done), "best": best})
    return out
