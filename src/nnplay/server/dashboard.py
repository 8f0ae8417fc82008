"""The run store's routes: the index and a run's files (spec, weights, snippet, ONNX), and the
"Runs" view's: runs' curves, their reports, the sweeps.

Each route is one library call (``nnplay.runs.overview``, ``nnplay.runs.curves``,
``nnplay.report.write_report``, ``nnplay.sweep.stored``); the page draws the answers.
Run ids and file names are checked against patterns before any path is built from them,
so no request reaches outside the run's report folder.
"""
from __future__ import annotations

import threading
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse

from ..export import export_onnx
from ..i18n import LANGS
from ..runs import RunError, RunStore, curves, overview
from ..spec import UserError
from .answers import error

RUN_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$"          # RunStore.create's ids: date-time-name-hex
REPORT_FILE = r"^(index\.html|[a-z_]{1,40}\.png)$"     # report.write_report's page and plots

SNIPPET = '''"""Rebuild run {run_id} with nnplay: same data, same network, trained weights."""
from safetensors.torch import load_file

from nnplay.spec import load
from nnplay.train import Trainer

trainer = Trainer(load("spec.toml"))             # data and network from the spec
trainer.model.load_state_dict(load_file("model.safetensors"))
print(trainer.evaluate("test"))                   # the saved network's test metrics
# or train it again from scratch:  nnplay train spec.toml
'''

RunId = Annotated[str, PathParam(pattern=RUN_ID)]



def router(store: RunStore) -> APIRouter:
    """The run store's routes: its index and a run's files (the save panel), and the Runs view."""
    r = APIRouter()
    writing = threading.Lock()     # one report written at a time (two tabs asking for the same one)

    @r.get("/api/runs")
    def index() -> dict:
        """The run store's index, newest first (as ``nnplay runs --json``)."""
        return {"runs": store.list()}

    @r.get("/api/runs/{run_id}/{name}")
    def run_file(run_id: Annotated[str, PathParam(max_length=120)],
                 name: Literal["spec.toml", "model.safetensors", "snippet.py", "model.onnx"]):
        """Download a saved run's spec, weights (safetensors), a Python snippet or the network
        as ONNX (exported on the first request, then kept in the run's folder)."""
        try:
            run = store.get(run_id)
        except UserError as e:
            return error(404, str(e))
        if name == "snippet.py":
            return PlainTextResponse(SNIPPET.format(run_id=run.id), headers={
                "Content-Disposition": f'attachment; filename="{run.id}.py"'})
        path = run.path(name)
        if name == "model.onnx" and not path.exists() and run.path("model.safetensors").exists():
            try:
                export_onnx(run, path)
            except UserError as e:
                return error(500, str(e))
        if not path.exists():
            return error(404, f"run {run.id!r} has no {name}")
        return FileResponse(path, filename=f"{run.id}-{name}")

    @r.get("/api/dashboard/runs")
    def runs() -> dict:
        """``{"runs": runs.overview, "sweeps": sweep.stored}``: the index with each run's
        network, and every sweep with its best trial."""
        from ..sweep import stored
        return {"runs": overview(store), "sweeps": stored(store.root)}

    @r.get("/api/dashboard/runs/{run_id}/curves")
    def run_curves(run_id: RunId):
        """``{"id", "epochs": [{epoch, train_loss, test_loss, ...}]}`` (``runs.curves``)."""
        try:
            run = store.get(run_id)
        except UserError as e:
            return error(404, str(e))
        return {"id": run.id, "epochs": curves(run)}

    @r.get("/api/dashboard/runs/{run_id}/report/{lang}/{name}")
    def report(run_id: RunId, lang: Annotated[str, PathParam(max_length=8)],
               name: Annotated[str, PathParam(pattern=REPORT_FILE)]):
        """The run's report in ``lang`` (``index.html`` and its PNG plots), written into
        ``<run>/report/<lang>/`` by ``report.write_report`` on the first request (again
        when the weights are newer)."""
        from ..report import write_report
        if lang not in LANGS:
            return error(404, f"lang: {lang[:8]!r} is not one of: {', '.join(LANGS)}")
        try:
            run = store.get(run_id)
        except UserError as e:
            return error(404, str(e))
        folder = run.dir / "report" / lang
        page, weights = folder / "index.html", run.path("model.safetensors")
        if not weights.exists():
            return error(409, f"run {run.id!r} has no saved model (not finished): no report yet")
        with writing:
            if not page.exists() or page.stat().st_mtime < weights.stat().st_mtime:
                try:
                    write_report(run, folder, lang=lang)
                except RunError as e:
                    return error(409, str(e))
        path = folder / name
        if not path.is_file():
            return error(404, f"run {run.id!r}'s report has no {name}")
        return FileResponse(path)

    return r
