"""The playground's FastAPI app: static page, a few JSON routes, one WebSocket per session.

Routes only turn requests into library calls (nnplay.spec, nnplay.data, nnplay.runs)
and results into JSON; training and probes run in ``session.Session``. The socket
protocol is documented in protocol.md. Only the page itself may use the server
(``Guard``: the Host allow-list and the Origin check).
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Iterable, Literal, get_args

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .. import __version__, lessons, palette
from .. import spec as specmod
from ..data import toy2d
from ..i18n import LANGS, messages
from ..runs import RunStore
from ..trust import uncertainty
from . import dashboard, generative, practice, predict, sequences
from . import uploads as uploads_routes
from . import ws as socket_routes
from .boot import WEB
from .guard import Guard, allowed_hosts
from .limits import Limits, schema
from .protocol import TRUST_METHODS
from .session import Session
from .uploads import prune_uploads

HERE = Path(__file__).parent
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
    course = lessons.grouped()   # the course's lessons (examples/lessons/), for the page's menu
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
                "schema": spec_schema, "palette": palette.hello(),   # class colors and fade (palette.py)
                "options": {**options(idx_sets), **practice.options(folder_sets)}, "presets": presets,
                "lessons": course}

    @app.get("/api/info")
    def info() -> dict:
        """Version, caps, the spec's vocabularies and the presets (the socket's hello)."""
        return {**hello(), "sessions": len(sessions)}

    @app.get("/api/i18n/{lang}")
    def i18n(lang: Literal[LANGS]) -> dict[str, str]:   # a file name: only the known ones
        """The page's text in ``lang``: every ``web.*`` message (one place for text)."""
        return {k.removeprefix("web."): v for k, v in messages(lang).items() if k.startswith("web.")}

    app.include_router(uploads_routes.router(limits, uploads, in_use))   # CSV uploads
    app.include_router(socket_routes.router(limits, store, uploads, {**idx_sets, **folder_sets},
                                            sessions, hello))             # the training sessions
    app.include_router(dashboard.router(store))   # the run store: index, files, the "Runs" view
    app.include_router(predict.router())          # the "Predict" view: onnxruntime-web, inputs
    app.mount("/", StaticFiles(directory=WEB, html=True), name="web")
    return app
