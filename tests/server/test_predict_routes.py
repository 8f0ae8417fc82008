"""The Predict view's routes (server/predict.py): onnxruntime-web's files from the npm package
(the right MIME types, nothing else served, a clear error when it is not installed) and raw
inputs prepared as in training (equal to the inputs the network was trained on)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from nnplay.runs import RunStore, load_trained, train_run
from nnplay.server import predict
from nnplay.spec import load

needs_ort = pytest.mark.skipif(predict.ort_dist() is None, reason="onnxruntime-web not installed (make setup: npm ci)")


@needs_ort
def test_ort_files_come_from_node_modules_with_their_mime_types(client):
    dist = predict.ort_dist()
    for name, mime in predict.ORT_FILES.items():
        res = client.get(f"/ort/{name}")
        assert res.status_code == 200 and res.headers["content-type"].startswith(mime), (name, res.headers)
        assert res.content == (dist / name).read_bytes()
    assert client.get("/ort/ort-wasm-simd-threaded.wasm").content[:4] == b"\0asm"
    for other in ("ort.min.js", "ort.all.mjs", "..%2fpackage.json", "..%2f..%2fpackage.json", "ort.wasm.min.mjs.map"):
        assert client.get(f"/ort/{other}").status_code == 404


def test_missing_package_is_a_clear_404(client, monkeypatch, tmp_path):
    monkeypatch.setenv("NNPLAY_ORT_DIST", str(tmp_path))
    res = client.get("/ort/ort.wasm.min.mjs")
    assert res.status_code == 404 and "npm ci" in res.json()["error"]
    assert client.get("/api/info").status_code == 200


@pytest.fixture
def spiral_meta(client):
    store = RunStore(Path(client.app.state.store_root))
    run, _ = train_run(load("examples/spiral.toml", ["train.epochs=2", "data.samples=300",
                                                     'data.features=["x1", "x2", "x1^2", "sin(x2)"]']), store)
    blob = client.get(f"/api/runs/{run.id}/model.onnx").content
    meta = json.loads({p.key: p.value for p in onnx.load_from_string(blob).metadata_props}["nnplay"])
    return run, meta


def test_prepare_turns_raw_points_into_the_trained_inputs(client, spiral_meta):
    run, meta = spiral_meta
    tr = load_trained(run)
    raw = np.asarray(tr.data.points["test"], np.float32)[:, :2]
    res = client.post("/api/predict/prepare", json={"meta": meta, "inputs": raw.ravel().tolist()})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["columns"] == ["x1", "x2"] and body["raw_shape"] == [2] and body["kind"] == "points"
    assert body["class_names"] == tr.data.class_names and body["rows"] == len(raw)
    got = np.asarray(body["inputs"], np.float32).reshape(len(raw), -1)
    np.testing.assert_allclose(got, tr.data.x_test.numpy(), atol=1e-6)   # what the network trained on
    empty = client.post("/api/predict/prepare", json={"meta": meta}).json()
    assert empty["inputs"] == [] and empty["input_shape"] == [4]


def test_prepare_refuses_bad_meta_and_inputs_with_400(client, spiral_meta):
    _, meta = spiral_meta
    for body in ({"meta": {}}, {"meta": {**meta, "input_shape": "x"}}, {"meta": {"kind": "points"}}):
        res = client.post("/api/predict/prepare", json=body)
        assert res.status_code == 400 and res.json()["error"].startswith("meta:"), res.text
    res = client.post("/api/predict/prepare", json={"meta": meta, "inputs": [1.0, 2.0, 3.0]})
    assert res.status_code == 400 and "multiple of 2" in res.json()["error"] and "x1, x2" in res.json()["error"]
    res = client.post("/api/predict/prepare", content='{"meta": %s, "inputs": [NaN, 1]}' % json.dumps(meta),
                      headers={"content-type": "application/json"})
    assert 400 <= res.status_code < 500
    assert client.post("/api/predict/prepare", json={"meta": meta, "extra": 1}).status_code == 422
    assert client.post("/api/predict/prepare", json={"meta": meta, "inputs": [0.0] * 1_000_002}).status_code == 422
    assert client.get("/api/info").status_code == 200
