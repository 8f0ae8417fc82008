"""The Predict view's routes: onnxruntime-web's files, and the input side of an exported network.

The page runs the network itself (onnxruntime-web, wasm backend, one thread). The server
only serves that runtime from the npm package set-up installed (``npm ci`` into
``node_modules/``; nothing from a CDN) and turns a learner's raw inputs into the network's
inputs with ``nnplay.export.Predictor`` (featurized and scaled as in training).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .answers import error
from ..export import Predictor
from ..spec import UserError

# the wasm-only build of onnxruntime-web and what it loads (numThreads = 1: no worker script)
ORT_FILES = {"ort.wasm.min.mjs": "text/javascript", "ort-wasm-simd-threaded.mjs": "text/javascript",
             "ort-wasm-simd-threaded.wasm": "application/wasm"}
ORT_PACKAGE = Path("node_modules") / "onnxruntime-web" / "dist"
MAX_VALUES = 1_000_000     # raw numbers in one prepare request (a thousand 28x28 images)


def ort_dist() -> Path | None:
    """onnxruntime-web's ``dist`` folder: ``$NNPLAY_ORT_DIST``, else ``node_modules/`` in the
    source checkout (``pip install -e .``) or in the working directory; None when missing."""
    env = os.environ.get("NNPLAY_ORT_DIST")
    places = [Path(env)] if env else [Path(__file__).resolve().parents[3] / ORT_PACKAGE, Path.cwd() / ORT_PACKAGE]
    return next((p for p in places if all((p / f).is_file() for f in ORT_FILES)), None)


class Prepare(BaseModel):
    """``meta``: the ``nnplay`` metadata of an exported .onnx file (the page reads it from the
    file); ``inputs``: raw inputs, flat (N x the raw shape), may be empty."""
    model_config = ConfigDict(extra="forbid")
    meta: dict
    inputs: list[float] = Field(default_factory=list, max_length=MAX_VALUES)



def router() -> APIRouter:
    r = APIRouter()

    @r.get("/ort/{name}")
    def ort_file(name: str):
        """One of onnxruntime-web's files (``ORT_FILES``), from the installed npm package."""
        if name not in ORT_FILES:
            return error(404, f"ort: no file {name[:80]!r}; served: {', '.join(ORT_FILES)}")
        dist = ort_dist()
        if dist is None:
            return error(404, "ort: onnxruntime-web is not installed; run `make setup` "
                               "(npm ci) in the nnplay folder, then restart nnplay serve")
        return FileResponse(dist / name, media_type=ORT_FILES[name])

    @r.post("/api/predict/prepare")
    def prepare(body: Prepare) -> JSONResponse:
        """What a network exported by nnplay expects (kind, task, class names, the CSV columns,
        one raw input's shape) and ``inputs`` turned into its inputs (flat float32 values)."""
        try:
            p = Predictor.from_meta(body.meta)
            for shape in (p.raw_shape, p.input_shape):
                if not all(type(d) is int and d >= 1 for d in shape) or math.prod(shape) > MAX_VALUES:
                    raise ValueError(f"shape {shape}")
            if p.prepare(np.zeros((1, *p.raw_shape), np.float32)).shape[1:] != tuple(p.input_shape):
                raise ValueError("the prepared inputs do not have the input shape")
        except (KeyError, TypeError, ValueError, IndexError, UserError) as e:
            return error(400, f"meta: not the metadata of a network exported by nnplay ({type(e).__name__}: "
                               f"{str(e)[:120]})")
        size = math.prod(p.raw_shape)
        if len(body.inputs) % size or not all(math.isfinite(v) for v in body.inputs):
            return error(400, f"inputs: {len(body.inputs)} numbers; need finite numbers, a multiple of "
                               f"{size} (one input: {p.raw_shape}, columns: {', '.join(p.columns)})")
        raw = np.asarray(body.inputs, np.float32).reshape((-1, *p.raw_shape))
        x = p.prepare(raw) if len(raw) else raw
        return JSONResponse({"kind": p.kind, "task": p.task, "class_names": p.class_names,
                             "columns": p.columns, "raw_shape": list(p.raw_shape),
                             "input_shape": list(p.input_shape), "rows": int(len(raw)),
                             "inputs": x.ravel().tolist()})

    return r
