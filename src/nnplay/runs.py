"""The run store: one folder per run plus a SQLite index.

runs/<run_id>/
  spec.toml              the resolved spec
  process.json           who trains it: pid, host, boot id, process start time
  metrics.jsonl          one JSON object per finished epoch (losses, metrics, probes), append-only
  checkpoint.safetensors resumable state after one epoch, with that epoch's metrics line
  model.safetensors      the weights (never pickle)
  summary.json           final metrics, seconds, device, versions
runs/index.sqlite        what ``nnplay runs`` lists

Statuses: ``running`` (its process is alive), ``done``, ``diverged``, and ``interrupted``
(stopped by Ctrl-C, or its process is gone: killed, crashed, machine rebooted; ``list``
notices and re-indexes it). ``nnplay train --resume RUN_ID`` finishes an interrupted run.

Checkpoints: after epoch 1, every ``train.checkpoint_every`` epochs, and after any epoch
once a checkpoint costs at most CHECKPOINT_SHARE of the training since the last one, or
CHECKPOINT_SECONDS have passed. Measured on one CPU thread: a checkpoint takes ~1.7 ms
(177 KiB) against a 46 ms epoch of examples/digits_cnn.toml (3.7%), so one every epoch;
a tiny MLP's 1.2 ms epochs get one every ~30 epochs (or checkpoint_every).
A checkpoint holds its epoch's metrics line and is written before that line is appended,
so a kill at any instant leaves a checkpoint at epoch c and lines 1..c-1 (or more);
resume keeps lines 1..c-1 plus the checkpoint's line, rewrites metrics.jsonl and
re-trains only the epochs after c: every epoch is recorded exactly once. No checkpoint
(killed in epoch 1): resume starts over, with the same seed.

Every file but the append-only metrics.jsonl is written to a temporary name and renamed
into place (atomic); resume deletes temporary files a kill left and rewrites metrics.jsonl
(dropping a line cut short). A new run's folder is filled under a temporary name and
renamed, so it never appears half made; ``list`` indexes one a kill left unindexed.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import spec as specmod
from .spec import Spec, SpecError, UserError, shorten

if TYPE_CHECKING:   # torch, safetensors and the Trainer load inside the functions that use them,
    import torch    # so that listing runs (nnplay runs) starts without them (tests/cli/test_cli_imports.py)

    from .train import FitResult, Trainer

DEFAULT_ROOT = "runs"
CHECKPOINT_SECONDS = 2.0   # never more training than this (plus one epoch) without a checkpoint
CHECKPOINT_SHARE = 0.05    # otherwise checkpoint once its cost is at most this share of training


class RunError(UserError):
    """A run that does not exist or cannot be resumed (exit code 2 in the CLI)."""


# --- atomic writes ------------------------------------------------------------
def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict | None = None) -> None:
    """safetensors file, written atomically (``atomic_write``)."""
    from safetensors.torch import save
    clean = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write(Path(path), save(clean, metadata={k: str(v) for k, v in (meta or {}).items()}))


# --- nested state <-> (JSON, tensors), so checkpoints need no pickle ----------
def _pack(obj, key: str, tensors: dict):
    import torch
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__items__": [[k, _pack(v, f"{key}/{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_pack(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]
    return obj


def _unpack(obj, tensors: dict):
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__items__" in obj:
        return {k: _unpack(v, tensors) for k, v in obj["__items__"]}
    if isinstance(obj, list):
        return [_unpack(v, tensors) for v in obj]
    return obj


# --- which process trains a run, and is it still alive? -------------------------------
def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux); None when it is gone or a
    zombie. With the boot id it tells a reused pid from the process that wrote process.json."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()   # after "pid (name) ": state is field 3
    return None if fields[0] in "ZX" else fields[19]


def this_process() -> dict:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "boot": _boot_id(), "start": _start_time(pid)}


def alive(owner: dict) -> bool:
    """Whether the process described by ``owner`` (``this_process()`` then) still runs.
    True when this machine cannot tell: another host, or no /proc and not POSIX."""
    if owner.get("host") != socket.gethostname():
        return True
    if owner.get("boot") != _boot_id():
        return False                                    # the machine rebooted since
    pid = int(owner["pid"])
    if owner.get("start") is not None:
        return _start_time(pid) == owner["start"]
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


# --- one run --------------------------------------------------------------------
class Run:
    def __init__(self, root: Path, run_id: str):
        self.root, self.id = Path(root), run_id
        self.dir = self.root / run_id

    def path(self, name: str) -> Path:
        return self.dir / name

    @property
    def spec(self) -> Spec:
        return specmod.load(self.path("spec.toml"))

    def metrics(self) -> list[dict]:
        p = self.path("metrics.jsonl")
        if not p.exists():
            return []
        out = []
        for line in p.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:   # a line cut short by a crash
                break
        return out

    def summary(self) -> dict:
        p = self.path("summary.json")
        return json.loads(p.read_text()) if p.exists() else {}

    def append_metrics(self, rec: dict) -> None:
        with self.path("metrics.jsonl").open("a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()

    def owner(self) -> dict | None:
        """The process training this run (``this_process()`` when it started or resumed)."""
        try:
            owner = json.loads(self.path("process.json").read_text())
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) and isinstance(owner.get("pid"), int) else None

    def save_checkpoint(self, trainer: Trainer) -> None:
        """The state after ``trainer.epoch`` (>= 1, finished) and that epoch's metrics line,
        in one atomic file."""
        tensors: dict = {}
        meta = _pack(trainer.state(), "s", tensors)
        record = trainer.history[-1]
        assert record["epoch"] == trainer.epoch, "a checkpoint is taken between epochs only"
        save_tensors(self.path("checkpoint.safetensors"), tensors,
                     {"state": json.dumps(meta), "record": json.dumps(record)})

    def load_checkpoint(self) -> dict | None:
        """The last checkpoint's state, its metrics line under "record"; None without one."""
        from safetensors import SafetensorError, safe_open
        p = self.path("checkpoint.safetensors")
        if not p.exists():
            return None
        try:
            with safe_open(p, framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError) as e:
            raise RunError.say("runs.damaged", run=repr(self.id), file=p.name, reason=e) from None
        if "state" not in meta:   # written by an older version: start over
            return None
        state = _unpack(json.loads(meta["state"]), tensors)
        state["record"] = json.loads(meta["record"])
        return state

    def save_model(self, model: torch.nn.Module) -> None:
        save_tensors(self.path("model.safetensors"), model.state_dict(),
                     {"format": "nnplay", "spec": self.spec.to_json()})


def versions() -> dict:
    import numpy as np
    import sklearn
    import torch

    from . import __version__
    return {"nnplay": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "sklearn": sklearn.__version__, "python": platform.python_version()}


# --- the store ---------------------------------------------------------------------
class RunStore:
    """Folders under ``root`` plus ``root/index.sqlite``."""

    COLUMNS = ("id", "created", "name", "data", "status", "epochs", "seconds", "test_loss",
               "test_metric", "metric_name")

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root or os.environ.get("NNPLAY_RUNS", DEFAULT_ROOT))
        self.root.mkdir(parents=True, exist_ok=True)
        with closing(self._db()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, created TEXT, "
                       "name TEXT, data TEXT, status TEXT, epochs INTEGER, seconds REAL, "
                       "test_loss REAL, test_metric REAL, metric_name TEXT)")

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "index.sqlite", timeout=30)

    def create(self, spec: Spec) -> Run:
        """A new run folder, filled under a temporary name and renamed: never half made."""
        text = _spec_bytes(spec)
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in spec.name)[:40]
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}-{secrets.token_hex(2)}"
        run = Run(self.root, run_id)
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{run_id}."))
        try:
            atomic_write(tmp / "spec.toml", text)
            atomic_write(tmp / "process.json", json.dumps(this_process()))
            tmp.rename(run.dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.index(run, spec, status="running")
        return run

    def adopt(self, run_id: str, files: dict[str, bytes]) -> Run:
        """File a finished run trained elsewhere (a Ray worker's own store): its folder's
        ``files``, written under a temporary name and renamed, and indexed as done."""
        run = Run(self.root, run_id)
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{run_id}."))
        try:
            summary = {**json.loads(files["summary.json"]), "run_dir": str(run.dir)}
            for name, data in {**files, "summary.json": json.dumps(summary, indent=2).encode()}.items():
                (tmp / name).write_bytes(data)
            tmp.rename(run.dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.index(run, run.spec, "done", summary)
        return run

    def get(self, run_id: str) -> Run:
        run = Run(self.root, run_id)
        if not run_id or "/" in run_id or ".." in run_id or not run.path("spec.toml").exists():
            known = [r["id"] for r in self.list()[:5]]
            hint = ("runs.recent", {"runs": ", ".join(known)}) if known else ("runs.none", {})
            raise RunError.say("runs.unknown", run=shorten(run_id), root=repr(str(self.root)), hint=hint)
        return run

    def index(self, run: Run, spec: Spec, status: str, summary: dict | None = None,
              created: float | None = None) -> None:
        s = summary or {}
        metric = next((k for k in ("test_accuracy", "test_mae") if k in s), "test_mse")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))
        row = (run.id, when, spec.name, spec.data.name, status, s.get("epochs"), s.get("seconds"), s.get("test_loss"), s.get(metric), metric)
        with closing(self._db()) as db, db:
            # an upsert keeps the row (and its rowid, the creation order within one second)
            db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                       "name=excluded.name, data=excluded.data, status=excluded.status, "
                       "epochs=excluded.epochs, seconds=excluded.seconds, test_loss=excluded.test_loss, "
                       "test_metric=excluded.test_metric, metric_name=excluded.metric_name", row)

    def list(self) -> list[dict]:
        self.settle()
        with closing(self._db()) as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created DESC, rowid DESC").fetchall()
        return [dict(zip(self.COLUMNS, r)) for r in rows]

    def settle(self) -> None:
        """Re-index ``running`` runs whose process is gone (interrupted, or done / diverged as
        their files say), and index run folders the index lacks (killed before indexing)."""
        with closing(self._db()) as db:
            known = dict(db.execute("SELECT id, status FROM runs").fetchall())
        orphans = [n for n in os.listdir(self.root) if n not in known and not n.startswith(".")
                   and (self.root / n / "spec.toml").is_file()]
        for run_id in [i for i, status in known.items() if status == "running"] + orphans:
            run = Run(self.root, run_id)
            owner = run.owner()
            if run_id in known and (owner is None or alive(owner)):   # None: made before process.json
                continue
            summary = run.summary()
            status = ("running" if owner is not None and alive(owner) else
                      "done" if summary.get("epochs") is not None else
                      "diverged" if "error" in summary else "interrupted")
            try:
                self.index(run, run.spec, status, summary if status == "done" else None,
                           created=run.path("spec.toml").stat().st_mtime)
            except (UserError, OSError):   # a spec this version cannot read: leave it be
                continue


def _spec_bytes(spec: Spec) -> bytes:
    """spec.toml's bytes; a clear error naming the field when some text cannot be saved as
    UTF-8 (a lone surrogate such as "\\ud800" in a name typed in the playground)."""
    try:
        return spec.to_toml().encode()
    except UnicodeEncodeError:
        pass

    def strings(obj, where: str):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from strings(v, f"{where}.{k}" if where else str(k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                yield from strings(v, f"{where}[{i}]")
        elif isinstance(obj, str):
            yield where, obj

    for where, text in strings(spec.to_dict(), ""):
        try:
            text.encode()
        except UnicodeEncodeError:
            raise SpecError(f"{where}: must be text that can be saved as UTF-8 (no lone surrogate "
                            f"characters); received {text!r}") from None
    raise SpecError("the spec cannot be saved as UTF-8")


# --- train into a run -------------------------------------------------------------------
def _eager(fn):
    """``train.compiled.eager`` imported when called: these run the network, maybe beside a
    build still tracing (train.compile), and runs.py loads without torch (nnplay runs)."""
    @functools.wraps(fn)
    def holding(*args, **kwargs):
        from .train.compiled import TRACING
        with TRACING.eager():
            return fn(*args, **kwargs)
    return holding


@_eager
def _classification_extras(trainer: Trainer) -> dict:
    from sklearn.metrics import precision_recall_fscore_support

    from .probes import confusion
    d = trainer.data
    if (d.task == "regression" or len(d.x_test) == 0 or trainer.spec.data.name == "text"
            or trainer.spec.model.kind != "classifier"):
        return {}   # a character model's classes are its characters; generative: no classes
    cm, pred, _ = confusion(trainer.model, d.x_test, d.y_test, d.task, d.num_classes)
    p, _, f1, _ = precision_recall_fscore_support(d.y_test.numpy(), pred, average="macro", zero_division=0)
    return {"test_precision": float(p), "test_f1": float(f1),   # per-class test_recall: Trainer.summary
            "confusion_matrix": cm.tolist()}


@_eager
def _sequence_extras(trainer: Trainer) -> dict:
    """Series: test MAE/RMSE in the data's own units and each baseline's on the same windows;
    adding problem: the MSE of always answering 1.0 (the target's mean)."""
    d = trainer.data
    if len(d.x_test) == 0:
        return {}
    if d.forecasts is not None:
        f = d.forecasts
        model = f.scores(f.unscale(trainer.predict(d.x_test).numpy()))
        return {"test_mae": model["mae"], "test_rmse": model["rmse"],
                "baselines": {name: {f"test_{k}": v for k, v in f.scores(pred).items()}
                              for name, pred in f.baselines.items()}}
    if trainer.spec.data.name == "adding":
        from .data.adding import CONSTANT
        return {"baselines": {"constant": {"test_mse": float(((d.y_test - CONSTANT) ** 2).mean())}}}
    return {}


@_eager
def _retrieval_extras(trainer: Trainer) -> dict:
    """Metric learning (``model.embedding``): recall@1, mAP and mAP with query expansion on
    the test split, raw pixels as the baseline (nnplay.retrieval)."""
    if trainer.spec.model.embedding is None or len(trainer.data.x_test) < 2:
        return {}
    from .retrieval import summary
    return summary(trainer.model, trainer.x["test"], trainer.y["test"])


def finish(run: Run, store: RunStore, trainer: Trainer, result: FitResult,
           spec: Spec | None = None) -> dict:
    """Write weights, summary and index entry for a trained run (``spec``: the run's, when it
    is not the trainer's own)."""
    from .text import summary_extras
    run.save_model(trainer.model)
    summary = {"run_id": run.id, "run_dir": str(run.dir), **result.summary,
               "stopped_early": result.stopped_early, **_classification_extras(trainer),
               **_sequence_extras(trainer), **summary_extras(trainer),
               **_retrieval_extras(trainer),
               "versions": versions()}
    atomic_write(run.path("summary.json"), json.dumps(summary, indent=2))
    store.index(run, spec or trainer.spec, "done", summary)
    return summary


def new_trainer(spec: Spec, **kwargs) -> Trainer:
    """A Trainer for ``spec`` with the hooks that live above train/ (``train.adversarial``'s
    attack, from nnplay.trust): every caller that builds a Trainer from a spec builds it here."""
    from .train import Trainer
    adversary = None
    if spec.train.adversarial.method != "none":
        from .trust.attacks import adversary_for as adversary
    return Trainer(spec, adversary=adversary, **kwargs)


def save_trained(store: RunStore, trainer: Trainer, name: str | None = None) -> tuple[Run, dict]:
    """A new run of a network trained in place (the playground's Save): its history, weights
    and summary, under its spec with ``train.epochs`` set to the epochs trained (the saved spec
    retrains exactly as long) and ``name``; the trainer itself is left as it is."""
    from .train import FitResult
    if trainer.epoch == 0:
        raise RunError.say("runs.untrained")
    t = trainer.spec.train.model_copy(update={"epochs": trainer.epoch})
    spec = trainer.spec.model_copy(update={"train": t, **({"name": name} if name else {})})
    run = store.create(spec)
    for rec in trainer.history:
        run.append_metrics(rec)
    summary = finish(run, store, trainer, FitResult(trainer.history, trainer.summary(trainer.seconds)),
                     spec=spec)
    return run, summary


def _resume(store: RunStore, run_id: str) -> tuple[Run, Trainer]:
    """Run ``run_id`` and a Trainer at its last checkpoint (or at the start, without one);
    metrics.jsonl rewritten to hold exactly the epochs 1..checkpoint."""
    run = store.get(run_id)
    if run.summary().get("epochs") is not None:
        raise RunError.say("runs.complete", run=repr(run_id))
    owner, me = run.owner(), this_process()
    if owner is not None and alive(owner) and (owner["pid"], owner.get("start")) != (me["pid"], me["start"]):
        raise RunError.say("runs.busy", run=repr(run_id), pid=owner["pid"], host=owner.get("host"))
    for tmp in run.dir.glob(".*"):   # temporary files of writes cut short by a kill
        tmp.unlink(missing_ok=True)
    spec = run.spec
    trainer = new_trainer(spec)
    state = run.load_checkpoint()
    history: list[dict] = []
    if state is not None:
        c, rec = int(state["epoch"]), state.pop("record")
        kept = {r["epoch"]: r for r in run.metrics() if r["epoch"] < c}   # once each
        history = [kept[e] for e in sorted(kept)] + [rec]
        trainer.load_state(state, history)
    atomic_write(run.path("process.json"), json.dumps(me))
    store.index(run, spec, "running")
    atomic_write(run.path("metrics.jsonl"), "".join(json.dumps(r) + "\n" for r in history))
    return run, trainer


def _patience_ran_out(trainer: Trainer) -> bool:
    es = trainer.spec.train.early_stopping
    best = trainer.best["epoch"]
    return es.patience > 0 and best > 0 and trainer.epoch - best >= es.patience


def train_run(spec: Spec, store: RunStore | None = None, on_epoch: Callable[[dict], None] | None = None,
              resume: str | None = None, trainer: Trainer | None = None,
              prepare: Callable[[Run, Trainer], None] | None = None) -> tuple[Run, dict]:
    """Train ``spec`` into a new run (or continue run ``resume``); returns (run, summary).
    ``prepare(run, trainer)`` runs before training (train/distributed.py joins the processes)."""
    from .train import DivergenceError
    store = store or RunStore()
    if resume:
        run, trainer = _resume(store, resume)
        spec = trainer.spec
    else:
        trainer = trainer or new_trainer(spec)
        run = store.create(spec)
    if prepare is not None:
        prepare(run, trainer)
    every = spec.train.checkpoint_every
    stopped = resume is not None and _patience_ran_out(trainer)   # killed after early stopping
    if stopped:
        trainer.update(epochs=trainer.epoch)
    clock = {"at": time.perf_counter(), "cost": 0.0}   # the last checkpoint: when, how long

    def record(rec: dict) -> None:
        now = time.perf_counter()
        if rec["epoch"] == 1 or rec["epoch"] % every == 0 or \
                now - clock["at"] >= min(CHECKPOINT_SECONDS, clock["cost"] / CHECKPOINT_SHARE):
            run.save_checkpoint(trainer)   # before the line: see the module docstring
            clock["at"] = time.perf_counter()
            clock["cost"] = clock["at"] - now
        run.append_metrics(rec)
        if on_epoch is not None:
            on_epoch(rec)

    try:
        result = trainer.fit(on_epoch=record)
    except DivergenceError as e:
        atomic_write(run.path("summary.json"), json.dumps({"run_id": run.id, "error": str(e)}))
        store.index(run, spec, "diverged")
        raise
    except BaseException:
        if trainer.epoch and len(trainer.history) == trainer.epoch:   # between epochs: the state
            run.save_checkpoint(trainer)                                # is consistent, keep it
        store.index(run, spec, "interrupted")
        raise
    result.stopped_early = result.stopped_early or stopped
    return run, finish(run, store, trainer, result)


def load_trained(run: Run, device: str = "cpu") -> Trainer:
    """A Trainer for a finished run, with its saved weights loaded."""
    from safetensors.torch import load_file

    if not run.path("model.safetensors").exists():
        raise RunError(f"run {run.id!r} has no saved model (status: not finished)")
    trainer = new_trainer(run.spec, device=device)
    trainer.model.load_state_dict(load_file(run.path("model.safetensors"), device=str(trainer.device)))
    trainer.model.eval()
    trainer.history = run.metrics()
    trainer.epoch = len(trainer.history)
    return trainer


# --- the playground's "Runs" view (read-only) ---------------------------------------
def model_label(spec: Spec) -> str:
    """The network in a few words for a table: "MLP 16-16 tanh" or a layer stack such as
    "conv2d16 maxpool2d dense64" (flatten, dropout and activation layers left out)."""
    m = spec.model
    if m.layers is None:
        return f"MLP {'-'.join(map(str, m.hidden)) or '(none)'} {m.activation}"
    keep = [f"{layer.type}{layer.filters or layer.units or ''}" for layer in m.layers
            if layer.type not in ("flatten", "dropout", "activation")]
    return " ".join(keep)


def overview(store: RunStore) -> list[dict]:
    """``store.list()`` plus each run's network (``model``: ``model_label``) and epoch count
    from its spec when the index has none yet (a running or interrupted run)."""
    rows = store.list()
    for row in rows:
        try:
            row["model"] = model_label(Run(store.root, row["id"]).spec)
        except (UserError, OSError):          # a spec this version cannot read
            row["model"] = None
    return rows


def curves(run: Run) -> list[dict]:
    """The run's per-epoch numbers (losses, metrics, lr, seconds): metrics.jsonl without the
    nested probe records, for overlaying runs' curves."""
    return [{k: v for k, v in rec.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            for rec in run.metrics()]


def transfer_from(trainer: Trainer, run: Run) -> dict:
    """Start ``trainer`` from finished run ``run``'s weights, layer by layer where name and
    shape match (``nnplay train --from``); a run none of whose layers fit, or that leaves a
    frozen layer untrained, is a ``RunError``. -> {"from", "loaded", "kept", "frozen"}."""
    if not run.path("model.safetensors").exists():
        raise RunError.say("runs.from_unfinished", run=repr(run.id))
    from safetensors.torch import load_file
    state = load_file(run.path("model.safetensors"))
    info = trainer.start_from(state, run.id)
    if not info["loaded"]:
        def shapes(sd: dict) -> str:
            return ", ".join(f"{k.removesuffix('.weight')} {'x'.join(map(str, v.shape))}"
                             for k, v in sd.items() if k.endswith(".weight"))
        raise RunError.say("runs.from_misfit", run=repr(run.id), theirs=shapes(state),
                           mine=shapes(trainer.model.state_dict()))
    unloaded = [n for n in info["frozen"] if n not in info["loaded"]]
    if unloaded:
        raise RunError.say("runs.from_frozen", run=repr(run.id), layers=", ".join(unloaded))
    return info
