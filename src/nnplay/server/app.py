"""The playground's FastAPI app: static page, a few JSON routes, one WebSocket per session.

Routes only turn requests into library calls (nnplay.spec, nnplay.data, nnplay.runs)
and results into JSON; training and probes run in ``session.Session``. The socket
protocol is documented in protocol.md.
"""
from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Annotated, Literal, get_args

from fastapi import FastAPI, Query, Request, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from .. import spec as specmod
from ..data import csv as csv_source
from ..data import toy2d
from ..i18n import LANGS, messages
from ..runs import RunStore
from ..spec import SpecError
from .limits import LimitError, Limits
from .protocol import parse
from .session import Session

log = logging.getLogger("nnplay.server")
HERE = Path(__file__).parent
WEB = HERE.parent / "web"
MAX_OUTBOX = 256      # queued replies to one socket before it is closed (a client that never reads)
SNIPPET = '''"""Rebuild run {run_id} with nnplay: same data, same network, trained weights."""
from safetensors.torch import load_file

from nnplay.spec import load
from nnplay.train import Trainer

trainer = Trainer(load("spec.toml"))             # data and network from the spec
trainer.model.load_state_dict(load_file("model.safetensors"))
print(trainer.evaluate("test"))                   # the saved network's test metrics
# or train it again from scratch:  nnplay train spec.toml
'''


def options(idx_sets: dict[str, str]) -> dict:
    """The spec's vocabularies, so the page offers exactly what the library accepts."""
    return {"datasets": list(get_args(specmod.Toy2D)), "regression": sorted(toy2d.REGRESSION),
            "binary_only": sorted(toy2d.BINARY_ONLY),
            "features": list(get_args(specmod.Feature)),
            "activations": list(get_args(specmod.Activation)),
            "inits": list(get_args(specmod.Init)), "optimizers": list(get_args(specmod.Optimizer)),
            "schedules": list(get_args(specmod.Schedule)),
            "regularizations": list(get_args(specmod.Regularization)),
            "layer_types": [t for t in get_args(specmod.LayerType) if t != "activation"],
            "image_sets": {"digits": None, **idx_sets}}


def _presets() -> dict:
    return {p.stem: specmod.loads(p.read_text(encoding="utf-8")).to_dict()
            for p in sorted((HERE / "presets").glob("*.toml"))}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def find_idx_sets(data_dir: str | Path | None) -> dict[str, str]:
    """{name: folder} of the IDX sets (MNIST, Fashion-MNIST...) in ``data_dir``'s subfolders."""
    if not data_dir:
        return {}
    root = Path(data_dir)
    found = {}
    for sub in sorted([root, *[p for p in root.iterdir() if p.is_dir()]] if root.is_dir() else []):
        if any(sub.glob("train-images*idx3*")):
            found[sub.name] = str(sub.resolve())
    return found


def create_app(limits: Limits | None = None, runs_dir: str | Path | None = None,
               data_dir: str | Path | None = None) -> FastAPI:
    limits = limits or Limits()
    store = RunStore(runs_dir)
    uploads = store.root / "uploads"
    uploads.mkdir(exist_ok=True)
    idx_sets = find_idx_sets(data_dir)
    presets = _presets()
    sessions: set[Session] = set()
    app = FastAPI(title="nnplay playground", version=__version__,
                  description="Train a network live in the browser. Socket protocol: /ws "
                              "(see src/nnplay/server/protocol.md).")
    app.state.sessions = sessions
    app.state.limits = limits
    app.state.store_root = store.root

    def hello() -> dict:
        return {"type": "hello", "version": __version__, "limits": limits.model_dump(),
                "options": options(idx_sets), "presets": presets}

    @app.get("/api/info")
    def info() -> dict:
        """Version, caps, the spec's vocabularies and the presets (the socket's hello)."""
        return {**hello(), "sessions": len(sessions)}

    @app.get("/api/i18n/{lang}")
    def i18n(lang: Literal["en", "ko"]) -> dict[str, str]:
        """The page's text in ``lang``: every ``web.*`` message (one place for text)."""
        return {k.removeprefix("web."): v for k, v in messages(lang).items() if k.startswith("web.")}

    @app.post("/api/upload", openapi_extra={"requestBody": {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}}}}})
    async def upload(request: Request,
                     target: Annotated[str | None, Query(max_length=200)] = None) -> JSONResponse:
        """A CSV (header row, numeric features, one target column; the last by default).

        Two features and class labels become drawable points (data.name = "points");
        anything else is kept on the server as a table (data.name = "csv").
        """
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limits.upload_bytes:
                return _error(413, f"upload: over this server's limit of {limits.upload_bytes} bytes")
        try:
            text = bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError:
            return _error(400, "upload: the file is not UTF-8 text (save it as CSV, UTF-8)")
        try:
            header = next(csv.reader(io.StringIO(text, newline="")), [])
        except csv.Error as e:
            return _error(400, f"upload: not a readable CSV file ({e})")
        columns = [h.strip() for h in header]
        if len(columns) < 2:
            return _error(400, "upload: needs a header row with at least two columns "
                               "(features, then the target)")
        target = target or columns[-1]
        path = uploads / f"{hashlib.sha256(body).hexdigest()[:16]}.csv"
        if not path.exists():
            path.write_text(text, encoding="utf-8")
        try:
            X, y, names, task, classes = csv_source.load(path, target)
            if task == "classification" and len(set(y.tolist())) < 2:
                raise csv_source.CSVError(f"upload: the target {target!r} needs at least two classes")
            if len(names) == 2 and task == "classification" and len(X) <= limits.points:
                data = {"name": "points", "points": csv_source.to_points(X, y)}
            else:
                data = {"name": "csv", "path": str(path), "target": target}
        except (csv_source.CSVError, SpecError) as e:
            return _error(400, str(e))
        return JSONResponse({"data": data, "rows": int(len(X)), "columns": columns,
                             "target": target, "task": task, "classes": classes})

    @app.get("/api/runs")
    def runs() -> dict:
        """The run store's index, newest first (as ``nnplay runs --json``)."""
        return {"runs": store.list()}

    @app.get("/api/runs/{run_id}/{name}")
    def run_file(run_id: Annotated[str, PathParam(max_length=120)],
                 name: Literal["spec.toml", "model.safetensors", "snippet.py"]):
        """Download a saved run's spec, weights (safetensors) or a Python snippet."""
        try:
            run = store.get(run_id)
        except SpecError as e:
            return _error(404, str(e))
        if name == "snippet.py":
            return PlainTextResponse(SNIPPET.format(run_id=run.id), headers={
                "Content-Disposition": f'attachment; filename="{run.id}.py"'})
        path = run.path(name)
        if not path.exists():
            return _error(404, f"run {run.id!r} has no {name}")
        return FileResponse(path, filename=f"{run.id}-{name}")

    @app.websocket("/ws")
    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        if len(sessions) >= limits.sessions:
            await ws.send_text(json.dumps({"type": "error", "code": "busy", "message":
                                           f"sessions: this server allows {limits.sessions} at once; "
                                           f"close another tab and reload"}))
            await ws.close(code=1013)
            return
        loop = asyncio.get_running_loop()
        outbox: asyncio.Queue = asyncio.Queue()

        def emit(msg: str | bytes) -> None:   # called from the session's thread
            try:
                loop.call_soon_threadsafe(outbox.put_nowait, msg)
            except RuntimeError:              # the loop is gone: the server is stopping
                pass

        emit(json.dumps(hello()))
        session = Session(emit, limits, store, uploads, idx_sets)
        sessions.add(session)

        async def pump() -> None:
            while True:
                msg = await outbox.get()
                if isinstance(msg, bytes):
                    await ws.send_bytes(msg)
                else:
                    await ws.send_text(msg)

        sender = asyncio.create_task(pump())
        try:
            while not sender.done():
                event = await ws.receive()
                if event["type"] == "websocket.disconnect":
                    break
                try:
                    session.post(parse(event.get("text"), limits))
                except SpecError as e:
                    code = "limit" if isinstance(e, LimitError) else "message"
                    emit(json.dumps({"type": "error", "code": code, "message": str(e)}))
                if outbox.qsize() > MAX_OUTBOX:
                    await ws.close(code=1008)
                    break
        except (RuntimeError, OSError):       # the socket broke mid-receive
            pass
        finally:
            sender.cancel()
            sessions.discard(session)
            await asyncio.to_thread(session.close)

    app.mount("/", StaticFiles(directory=WEB, html=True), name="web")
    return app
