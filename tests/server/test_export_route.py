"""GET /api/runs/{id}/model.onnx: exported on demand through nnplay.export, then served from
the run's folder; the file runs in ONNX Runtime with PyTorch's outputs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from nnplay.runs import RunStore, load_trained, train_run
from nnplay.spec import load


def test_model_onnx_is_exported_once_and_matches_pytorch(client, tmp_path):
    store = RunStore(Path(client.app.state.store_root))
    run, _ = train_run(load(None, ["train.epochs=2", "data.samples=200", "model.hidden=[5]"]), store)
    assert client.get(f"/api/runs/{run.id}/model.onnx.bak").status_code == 422   # the allow-list
    assert client.get("/api/runs/no-such-run/model.onnx").status_code == 404
    res = client.get(f"/api/runs/{run.id}/model.onnx")
    assert res.status_code == 200 and run.path("model.onnx").read_bytes() == res.content
    (tmp_path / "m.onnx").write_bytes(res.content)
    tr = load_trained(run)
    x = tr.data.x_test
    s = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        want = tr.model(x).numpy()
    assert np.abs(s.run(None, {"input": x.numpy()})[0] - want).max() < 1e-4
    stamp = run.path("model.onnx").stat().st_mtime_ns
    assert client.get(f"/api/runs/{run.id}/model.onnx").content == res.content   # cached
    assert run.path("model.onnx").stat().st_mtime_ns == stamp
