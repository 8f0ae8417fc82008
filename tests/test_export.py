"""ONNX export and predict: ONNX Runtime's outputs equal PyTorch's for every kind of network
nnplay trains, and predict prepares raw inputs exactly as training did."""
from __future__ import annotations

import csv
import json
from typing import get_args

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from helpers import force_torchscript_export
from PIL import Image
from sklearn.model_selection import train_test_split

from nnplay import export as ex
from nnplay.runs import RunStore, load_trained, train_run
from nnplay.spec import Activation, load

TOL = 1e-4


def ort_logits(path, x: torch.Tensor) -> np.ndarray:
    """ONNX Runtime on CPU, straight from onnxruntime (not through nnplay.export)."""
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x.numpy()})[0]


def torch_logits(trainer, x: torch.Tensor) -> np.ndarray:
    trainer.model.eval()
    with torch.no_grad():
        return trainer.model(x).numpy()


def train(store, spec_file=None, *overrides):
    run, _ = train_run(load(spec_file, list(overrides)), store)
    return run, load_trained(run)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return RunStore(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def digits(store):
    return train(store, "examples/digits_cnn.toml", "train.epochs=2")


@pytest.fixture(scope="module")
def spiral(store):
    return train(store, "examples/spiral.toml", "train.epochs=5",
                 'data.features=["x1", "x2", "x1^2", "x1*x2", "sin(x2)"]')


def test_digits_cnn_equals_pytorch_on_all_1797_images(digits, tmp_path):
    run, tr = digits
    d = tr.data
    x = torch.cat([d.x_train, d.x_val, d.x_test])
    assert len(x) == 1797
    res = ex.export_onnx(run, tmp_path / "d.onnx", inputs=x)
    assert res["inputs"] == 1797 and res["max_abs_diff"] < TOL and res["exporter"] == "dynamo"
    got = ort_logits(tmp_path / "d.onnx", x)
    assert got.shape == (1797, 10)
    assert np.abs(got - torch_logits(tr, x)).max() < TOL
    assert (got.argmax(1) == tr.predict(x).numpy().argmax(1)).all()
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "d.onnx")).metadata_props}
    info = json.loads(meta[ex.META])     # what predict on the file alone needs
    assert info["class_names"] == [str(k) for k in range(10)] and info["input_shape"] == [1, 8, 8]
    assert 'name = "digits-cnn"' in info["spec"] and info["kind"] == "image"


def test_spiral_mlp_equals_pytorch_on_the_points(spiral, tmp_path):
    run, tr = spiral
    d = tr.data
    grid = np.stack(np.meshgrid(np.linspace(-6, 6, 41), np.linspace(-6, 6, 41)), -1).reshape(-1, 2)
    points = np.concatenate([d.points["train"], d.points["val"], d.points["test"], grid])
    x = d.featurize(points)
    res = ex.export_onnx(tr, tmp_path / "s.onnx")      # a Trainer works too; checks on x_test
    assert res["inputs"] == len(d.x_test) and res["max_abs_diff"] < TOL
    assert np.abs(ort_logits(tmp_path / "s.onnx", x) - torch_logits(tr, x)).max() < TOL


# step is an MLP case only: a pre-activation within rounding of 0 may flip it, and a conv layer
# has tens of thousands of them
MLP = [pytest.param(["model.hidden=[6, 5]", f'model.activation="{a}"'], id=a) for a in get_args(Activation)] + [
    pytest.param(["model.hidden=[6, 5]", "model.dropout=0.3"], id="dropout"),
    pytest.param(["model.hidden=[6, 5]", "model.batchnorm=true"], id="batchnorm"),
    pytest.param(["model.hidden=[6, 5]", "model.layernorm=true", 'model.activation="prelu"'], id="layernorm-prelu"),
]
CNN = {
    "conv-same-valid-stride": '[{type="conv2d", filters=4, kernel=3, padding="same"}, '
                              '{type="conv2d", filters=5, kernel=3, padding="valid", stride=2}]',
    "maxpool-avgpool-flatten": '[{type="conv2d", filters=4, kernel=3}, {type="maxpool2d", kernel=2}, '
                               '{type="avgpool2d", kernel=2, stride=1}, {type="flatten"}, {type="dense", units=8}]',
    "batchnorm2d-dropout": '[{type="conv2d", filters=4, kernel=3}, {type="batchnorm"}, {type="dropout", rate=0.2}]',
    "layernorm-crelu-prelu": '[{type="conv2d", filters=3, kernel=3, activation="crelu"}, {type="layernorm"}, '
                             '{type="conv2d", filters=4, kernel=5, activation="prelu"}]',
    "sigmoid-leaky-gelu": '[{type="conv2d", filters=3, kernel=3, activation="sigmoid"}, '
                       '{type="activation", activation="leaky_relu", alpha=0.2}, '
                       '{type="conv2d", filters=3, kernel=1, activation="gelu"}]',
}


@pytest.mark.parametrize("overrides", MLP + [
    pytest.param(['data.name="digits"', "data.limit=300", f"model.layers={v}"], id=k) for k, v in CNN.items()])
def test_every_activation_and_layer_round_trips(store, overrides, tmp_path):
    run, tr = train(store, None, "train.epochs=2", "data.samples=200", *overrides)
    res = ex.export_onnx(run, tmp_path / "m.onnx")
    assert res["max_abs_diff"] < TOL
    x = torch.cat([tr.data.x_train, tr.data.x_test])
    for batch in (x[:1], x[:7], x):                     # the batch axis is dynamic
        assert np.abs(ort_logits(tmp_path / "m.onnx", batch) - torch_logits(tr, batch)).max() < TOL


def test_dynamo_failure_falls_back_to_torchscript(spiral, tmp_path, monkeypatch):
    run, tr = spiral
    force_torchscript_export(monkeypatch)
    res = ex.export_onnx(run, tmp_path / "t.onnx")
    assert res["exporter"] == "torchscript" and res["max_abs_diff"] < TOL
    x = tr.data.x_test
    assert np.abs(ort_logits(tmp_path / "t.onnx", x) - torch_logits(tr, x)).max() < TOL


def test_a_mismatch_is_an_error_and_leaves_no_file(spiral, tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "TOLERANCE", -1.0)            # no export can pass
    with pytest.raises(ex.ExportError, match="both exporters.*max abs diff"):
        ex.export_onnx(spiral[0], tmp_path / "x.onnx")
    assert list(tmp_path.iterdir()) == []


# --- predict: raw inputs prepared as in training ------------------------------------------

def close(a, b):
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


def test_predict_points_csv_and_onnx_equal_trainer(spiral, store, tmp_path):
    run, tr = spiral
    pts = tr.data.points["test"]
    path = tmp_path / "p.csv"
    with path.open("w", newline="") as f:        # columns in another order than training
        csv.writer(f).writerows([["x2", "x1"], *([float(b), float(a)] for a, b in pts)])
    want = tr.predict(tr.data.x_test).numpy()
    onnx_path = tmp_path / "s.onnx"
    ex.export_onnx(run, onnx_path)
    for source in (run.id, str(onnx_path)):
        p = ex.Predictor.load(source, store)
        labels, raw = p.read(path)
        close(p.predict(raw), want)
        assert labels[0] == "2" and len(labels) == len(pts)


def test_predict_npy_and_images_equal_trainer(digits, store, tmp_path):
    run, tr = digits
    x = tr.data.x_test
    want = tr.predict(x).numpy()
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "hw.npy", x.numpy()[:, 0])           # (N, 8, 8): greyscale without a channel
    ex.export_onnx(run, tmp_path / "d.onnx")
    pix = np.round(x.numpy()[:12, 0] * 255).astype(np.uint8)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, im in enumerate(pix):                            # 4x larger: a box resize gives them back
        Image.fromarray(np.kron(im, np.ones((4, 4), np.uint8))).save(folder / f"{i:02d}.png")
    (folder / "notes.txt").write_text("not an image")
    for source in (run.id, str(tmp_path / "d.onnx")):
        p = ex.Predictor.load(source, store)
        for name in ("x.npy", "hw.npy"):
            labels, raw = p.read(tmp_path / name)
            close(p.predict(raw), want)
        labels, raw = p.read(folder)
        assert labels == [f"{i:02d}.png" for i in range(12)]
        close(p.predict(raw), tr.predict(torch.from_numpy(pix[:, None] / np.float32(255))).numpy())
        probs = p.predict(raw)
        assert [r["class"] for r in p.rows(labels, probs)] == [str(k) for k in probs.argmax(1)]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_predict_csv_run_scales_as_training(store, tmp_path, task):
    rng = np.random.default_rng(0)
    n = 240
    X = rng.normal([50, -3, 0.01], [20, 2, 0.005], (n, 3))
    yc = np.array(["cat", "dog", "eel"])[(X[:, 0] > 50).astype(int) + (X[:, 1] > -3)]
    y = yc if task == "classification" else X @ [0.1, 1.0, 30.0]
    data = tmp_path / "d.csv"
    with data.open("w", newline="") as f:
        csv.writer(f).writerows([["a", "b", "target", "c"], *([r[0], r[1], t, r[2]] for r, t in zip(X, y))])
    run, tr = train(store, None, 'data.name="csv"', f'data.path="{data}"', 'data.target="target"',
                    f'data.task="{task}"', "data.train_ratio=0.75", "data.val_ratio=0", "train.epochs=3")
    # the test rows, found independently with scikit-learn's split (stratified for classes)
    _, test = train_test_split(np.arange(n), train_size=0.75, random_state=0,
                               stratify=yc if task == "classification" else None)
    rows = tmp_path / "rows.csv"
    with rows.open("w", newline="") as f:        # other column order; the target may stay
        csv.writer(f).writerows([["c", "target", "b", "a"], *([X[i, 2], y[i], X[i, 1], X[i, 0]] for i in test)])
    p = ex.Predictor.load(run.id, store)
    labels, raw = p.read(rows)
    got = p.predict(raw)
    close(got, tr.predict(tr.data.x_test).numpy())
    if task == "classification":
        assert p.class_names == ["cat", "dog", "eel"]
        assert {r["class"] for r in p.rows(labels, got)} <= {"cat", "dog", "eel"}
    ex.export_onnx(run, tmp_path / "c.onnx")
    q = ex.Predictor.load(str(tmp_path / "c.onnx"))
    close(q.predict(q.read(rows)[1]), got)
