"""The run store: one folder per run plus a SQLite index.

runs/<run_id>/
  spec.toml              the resolved spec
  metrics.jsonl          one JSON object per epoch (losses, metrics, probes)
  model.safetensors      the weights (never pickle)
  checkpoint.safetensors + checkpoint.json   resumable state (every train.checkpoint_every epochs)
  summary.json           final metrics, seconds, device, versions
runs/index.sqlite        what ``nnplay runs`` lists

Every file is written to a temporary name and renamed into place (atomic).
"""
from __future__ import annotations

import json
import os
import platform
import secrets
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from . import spec as specmod
from .spec import Spec, SpecError
from .train import DivergenceError, FitResult, Trainer

DEFAULT_ROOT = "runs"


class RunError(SpecError):
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
    """safetensors file, written atomically."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        clean = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        save_file(clean, tmp, metadata={k: str(v) for k, v in (meta or {}).items()})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- nested state <-> (JSON, tensors), so checkpoints need no pickle ----------
def _pack(obj, key: str, tensors: dict):
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

    def save_checkpoint(self, trainer: Trainer) -> None:
        tensors: dict = {}
        meta = _pack(trainer.state(), "s", tensors)
        save_tensors(self.path("checkpoint.safetensors"), tensors)
        atomic_write(self.path("checkpoint.json"), json.dumps(meta))

    def load_checkpoint(self) -> dict:
        if not self.path("checkpoint.json").exists():
            raise RunError(f"run {self.id!r} has no checkpoint to resume from")
        tensors = load_file(self.path("checkpoint.safetensors"))
        return _unpack(json.loads(self.path("checkpoint.json").read_text()), tensors)

    def save_model(self, model: torch.nn.Module) -> None:
        save_tensors(self.path("model.safetensors"), model.state_dict(),
                     {"format": "nnplay", "spec": self.spec.to_json()})


def versions() -> dict:
    import sklearn
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
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in spec.name)[:40]
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}-{secrets.token_hex(2)}"
        run = Run(self.root, run_id)
        run.dir.mkdir(parents=True)
        atomic_write(run.path("spec.toml"), spec.to_toml())
        self.index(run, spec, status="running")
        return run

    def get(self, run_id: str) -> Run:
        run = Run(self.root, run_id)
        if not run_id or "/" in run_id or ".." in run_id or not run.path("spec.toml").exists():
            known = [r["id"] for r in self.list()[:5]]
            hint = f"; recent runs: {', '.join(known)}" if known else "; no runs yet"
            raise RunError(f"unknown run {run_id!r} in {str(self.root)!r}{hint}")
        return run

    def index(self, run: Run, spec: Spec, status: str, summary: dict | None = None) -> None:
        s = summary or {}
        metric = "test_accuracy" if "test_accuracy" in s else "test_mse"
        row = (run.id, time.strftime("%Y-%m-%d %H:%M:%S"), spec.name, spec.data.name, status,
               s.get("epochs"), s.get("seconds"), s.get("test_loss"), s.get(metric), metric)
        with closing(self._db()) as db, db:
            # an upsert keeps the row (and its rowid, the creation order within one second)
            db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                       "name=excluded.name, data=excluded.data, status=excluded.status, "
                       "epochs=excluded.epochs, seconds=excluded.seconds, test_loss=excluded.test_loss, "
                       "test_metric=excluded.test_metric, metric_name=excluded.metric_name", row)

    def list(self) -> list[dict]:
        with closing(self._db()) as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created DESC, rowid DESC").fetchall()
        return [dict(zip(self.COLUMNS, r)) for r in rows]


# --- train into a run -------------------------------------------------------------------
def _classification_extras(trainer: Trainer) -> dict:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
    d = trainer.data
    if d.task == "regression" or len(d.x_test) == 0:
        return {}
    pred = trainer.predict(d.x_test).argmax(1).numpy()
    true = d.y_test.numpy()
    p, r, f1, _ = precision_recall_fscore_support(true, pred, average="macro", zero_division=0)
    cm = confusion_matrix(true, pred, labels=list(range(d.num_classes)))
    return {"test_precision": float(p), "test_recall": float(r), "test_f1": float(f1),
            "confusion_matrix": cm.tolist()}


def finish(run: Run, store: RunStore, trainer: Trainer, result: FitResult) -> dict:
    """Write weights, summary and index entry for a trained run."""
    run.save_model(trainer.model)
    summary = {"run_id": run.id, "run_dir": str(run.dir), **result.summary,
               "stopped_early": result.stopped_early, **_classification_extras(trainer),
               "versions": versions()}
    atomic_write(run.path("summary.json"), json.dumps(summary, indent=2))
    store.index(run, trainer.spec, "done", summary)
    return summary


def train_run(spec: Spec, store: RunStore | None = None, on_epoch: Callable[[dict], None] | None = None,
              resume: str | None = None, trainer: Trainer | None = None) -> tuple[Run, dict]:
    """Train ``spec`` into a new run (or continue run ``resume``); returns (run, summary)."""
    store = store or RunStore()
    if resume:
        run = store.get(resume)
        if run.summary().get("epochs") is not None:
            raise RunError(f"run {resume!r} is already complete; nothing to resume")
        spec = run.spec
        state = run.load_checkpoint()
        trainer = Trainer(spec)
        history = [r for r in run.metrics() if r["epoch"] <= int(state["epoch"])]
        trainer.load_state(state, history)
        atomic_write(run.path("metrics.jsonl"), "".join(json.dumps(r) + "\n" for r in history))
    else:
        trainer = trainer or Trainer(spec)
        run = store.create(spec)
    every = spec.train.checkpoint_every

    def record(rec: dict) -> None:
        run.append_metrics(rec)
        if rec["epoch"] % every == 0:
            run.save_checkpoint(trainer)
        if on_epoch is not None:
            on_epoch(rec)

    try:
        result = trainer.fit(on_epoch=record)
    except DivergenceError as e:
        atomic_write(run.path("summary.json"), json.dumps({"run_id": run.id, "error": str(e)}))
        store.index(run, spec, "diverged")
        raise
    except BaseException:
        if len(trainer.history) == trainer.epoch:   # between epochs: the state is consistent
            run.save_checkpoint(trainer)             # so keep what was done for --resume
        store.index(run, spec, "interrupted")
        raise
    return run, finish(run, store, trainer, result)


def load_trained(run: Run, device: str = "cpu") -> Trainer:
    """A Trainer for a finished run, with its saved weights loaded."""
    if not run.path("model.safetensors").exists():
        raise RunError(f"run {run.id!r} has no saved model (status: not finished)")
    trainer = Trainer(run.spec, device=device)
    trainer.model.load_state_dict(load_file(run.path("model.safetensors"), device=str(trainer.device)))
    trainer.model.eval()
    trainer.history = run.metrics()
    trainer.epoch = len(trainer.history)
    return trainer
