"""The playground's FastAPI app: static page, a few JSON routes, one WebSocket per session.

Routes only turn requests into library calls (nnplay.spec, nnplay.data, nnplay.runs)
and results into JSON; training and probes run in ``session.Session``. The socket
protocol is documented in protocol.md. Only the page itself may use the server
(``Guard``: the Host allow-list and the Origin check).
"""
from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Iterable, Literal, get_args

from fastapi import FastAPI, Query, Request, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers

from .. import __version__
from .. import spec as specmod
from ..data import csv as csv_source
from ..data import toy2d
from ..export import export_onnx
from ..i18n import LANGS, messages
from ..runs import RunStore, atomic_write
from ..spec import UserError
from ..trust import uncertainty
from . import dashboard, generative, practice, predict, sequences
from .limits import LimitError, Limits, schema
from .protocol import TRUST_METHODS, parse
from .session import Session

log = logging.getLogger("nnplay.server")
HERE = Path(__file__).parent
WEB = HERE.parent / "web"
MAX_OUTBOX = 256      # queued replies to one socket before it is closed (a client that never reads)
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
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
            "layers": {t: {"fields": list(specmod.LAYER_FIELDS[t]), "start": specmod.LAYER_START.get(t, {})}
                       for t in get_args(specmod.LayerType)},
            "image_layers": list(specmod.IMAGE_LAYERS), "before_flatten": list(specmod.BEFORE_FLATTEN),
            "trust": {**{k: list(v) for k, v in TRUST_METHODS.items()}, "ood": list(uncertainty.OOD_KINDS)},
            "image_sets": {"digits": None, **idx_sets}, **sequences.options(), **generative.options()}


def _presets() -> dict:
    return {p.stem: specmod.loads(p.read_text(encoding="utf-8")).to_dict()
            for p in sorted((HERE / "presets").glob("*.toml"))}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host header values this server answers: the loopback names and the bound address,
    each with the port (a browser leaves out port 80), plus ``extra`` exactly as given."""
    names = {*LOOPBACK, f"[{host}]" if ":" in host else host} - {"0.0.0.0", "[::]", ""}
    hosts = {f"{n}:{port}" for n in names} | (names if port == 80 else set())
    return frozenset(h.lower() for h in (*hosts, *extra))


class Guard:
    """Only the page itself may drive the server (ASGI middleware, every HTTP route and /ws).

    A Host outside ``hosts`` gets 400 (DNS rebinding: another site's name pointing here);
    an Origin other than the page's own (scheme://Host) gets 403; a request that changes
    state (any method but GET, HEAD, OPTIONS) needs the page's Origin. A socket may come
    without an Origin (a browser always sends one; a Python client need not). Refused
    sockets are closed before they are accepted (HTTP 403 to the client).
    """

    def __init__(self, app, hosts: frozenset[str]):
        self.app, self.hosts = app, hosts

    def problem(self, scope) -> tuple[int, str] | None:
        headers = Headers(scope=scope)
        host, origin = headers.get("host", "").lower(), headers.get("origin")
        if host not in self.hosts:
            return 400, (f"host: {host!r} is not this server; allowed: {', '.join(sorted(self.hosts))} "
                         f"(nnplay serve --allow-host adds one)")
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        if origin is not None and origin.lower() != f"{scheme}://{host}":
            return 403, f"origin: {origin!r} is another site; only the page served here may use this server"
        if origin is None and scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            return 403, f"origin: {scope['method']} needs the page's Origin header ({scheme}://{host})"
        return None

    async def __call__(self, scope, receive, send) -> None:
        refused = self.problem(scope) if scope["type"] in ("http", "websocket") else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, message = refused
        log.warning("refused %s %s: %s", scope["type"], scope.get("path"), message)
        if scope["type"] == "websocket":
            await receive()                               # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        await _error(status, message)(scope, receive, send)


def prune_uploads(folder: Path, keep_bytes: int, max_age_s: float,
                  protected: Iterable[str] = ()) -> int:
    """Delete uploads older than ``max_age_s``, then the oldest others until at most ``keep_bytes``
    remain; files in ``protected`` (open sessions train on them) stay. Returns the bytes kept."""
    kept, now = [], time.time()
    protected = {str(Path(p).resolve()) for p in protected}
    for f in folder.glob("*.csv"):
        st = f.stat()
        if str(f.resolve()) in protected:
            kept.append((float("inf"), st.st_size, f))
        elif now - st.st_mtime > max_age_s:
            f.unlink(missing_ok=True)
        else:
            kept.append((st.st_mtime, st.st_size, f))
    kept.sort(key=lambda k: k[0])          # oldest first; protected last (never deleted)
    total = sum(size for _, size, _ in kept)
    for mtime, size, f in kept:
        if total <= keep_bytes or mtime == float("inf"):
            break
        f.unlink(missing_ok=True)
        total -= size
    return total


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
               data_dir: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 8000,
               allow_hosts: Iterable[str] = ()) -> FastAPI:
    """The playground app for a server bound to ``host``:``port`` (the Host allow-list is
    built from them, see ``allowed_hosts``; ``allow_hosts`` adds exact Host values)."""
    limits = limits or Limits()
    store = RunStore(runs_dir)
    uploads = store.root / "uploads"
    uploads.mkdir(exist_ok=True)
    idx_sets = find_idx_sets(data_dir)
    folder_sets = practice.find_folder_sets(data_dir, limits)   # data.name = "folder"
    presets = _presets()
    spec_schema = schema(limits)
    sessions: set[Session] = set()

    def in_use() -> set[str]:
        """Uploaded files the open sessions train on (the quota's clean-up keeps them)."""
        trainers = [s.trainer for s in list(sessions)]   # read once: a worker may drop its own
        return {t.spec.data.path for t in trainers if t is not None and t.spec.data.name == "csv"}

    @asynccontextmanager
    async def lifespan(_app):
        prune_uploads(uploads, limits.uploads_bytes, limits.upload_hours * 3600)
        yield
        for s in list(sessions):              # stopping: cut every session's work short
            s.stop()

    app = FastAPI(title="nnplay playground", version=__version__, lifespan=lifespan,
                  description="Train a network live in the browser. Socket protocol: /ws "
                              "(see src/nnplay/server/protocol.md).")
    app.add_middleware(Guard, hosts=allowed_hosts(host, port, allow_hosts))
    app.state.sessions = sessions
    app.state.limits = limits
    app.state.store_root = store.root

    def hello() -> dict:
        return {"type": "hello", "version": __version__, "limits": limits.model_dump(),
                "schema": spec_schema,
                "options": {**options(idx_sets), **practice.options(folder_sets)}, "presets": presets}

    @app.get("/api/info")
    def info() -> dict:
        """Version, caps, the spec's vocabularies and the presets (the socket's hello)."""
        return {**hello(), "sessions": len(sessions)}

    @app.get("/api/i18n/{lang}")
    def i18n(lang: Literal[LANGS]) -> dict[str, str]:   # a file name: only the known ones
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
        new = not path.exists()
        if new:
            room = limits.uploads_bytes - len(body)
            if prune_uploads(uploads, room, limits.upload_hours * 3600, in_use()) > room:
                return _error(507, f"upload: the uploads folder is full ({limits.uploads_bytes} bytes, "
                                   f"held by open sessions); close a tab that trains on a file and retry")
            atomic_write(path, text)   # a kill mid-write leaves no cut file to be reused
        else:
            path.touch()                       # used again: the newest, the last to be cleaned up
        try:
            X, y, names, task, classes = csv_source.load(path, target)
            if len(names) == 2 and task == "classification" and len(X) <= limits.points:
                data = {"name": "points", "points": csv_source.to_points(X, y)}
            else:
                data = {"name": "csv", "path": str(path), "target": target}
        except UserError as e:   # the CSV loader's and the spec's
            if new:
                path.unlink(missing_ok=True)   # nothing can use a refused file
            return _error(400, str(e))
        if data["name"] == "points" and new:
            path.unlink(missing_ok=True)       # the points travel in the spec: the file is not needed
        return JSONResponse({"data": data, "rows": int(len(X)), "columns": columns,
                             "target": target, "task": task, "classes": classes})

    @app.get("/api/runs")
    def runs() -> dict:
        """The run store's index, newest first (as ``nnplay runs --json``)."""
        return {"runs": store.list()}

    @app.get("/api/runs/{run_id}/{name}")
    def run_file(run_id: Annotated[str, PathParam(max_length=120)],
                 name: Literal["spec.toml", "model.safetensors", "snippet.py", "model.onnx"]):
        """Download a saved run's spec, weights (safetensors), a Python snippet or the network
        as ONNX (exported on the first request, then kept in the run's folder)."""
        try:
            run = store.get(run_id)
        except UserError as e:
            return _error(404, str(e))
        if name == "snippet.py":
            return PlainTextResponse(SNIPPET.format(run_id=run.id), headers={
                "Content-Disposition": f'attachment; filename="{run.id}.py"'})
        path = run.path(name)
        if name == "model.onnx" and not path.exists() and run.path("model.safetensors").exists():
            try:
                export_onnx(run, path)
            except UserError as e:
                return _error(500, str(e))
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
        session = Session(emit, limits, store, uploads, {**idx_sets, **folder_sets})
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
                except UserError as e:
                    code = "limit" if isinstance(e, LimitError) else "message"
                    emit(json.dumps({"type": "error", "code": code, "message": str(e)}))
                if outbox.qsize() > MAX_OUTBOX:
                    await ws.close(code=1008)
                    break
        except (RuntimeError, OSError):       # the socket broke mid-receive
            pass
        finally:
            sender.cancel()
            try:
                await asyncio.to_thread(session.close)   # pending messages dropped, the epoch cut short
            finally:
                sessions.discard(session)

    app.include_router(dashboard.router(store))   # the "Runs" view (read-only)
    app.include_router(predict.router())          # the "Predict" view: onnxruntime-web, inputs
    app.mount("/", StaticFiles(directory=WEB, html=True), name="web")
    return app
