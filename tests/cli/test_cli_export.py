"""nnplay export | predict: the check is printed, predictions equal Trainer.predict, bad input
exits 2 with one line naming what is wrong and what is expected."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from helpers import cli, user_error

from nnplay.runs import RunStore, load_trained, train_run
from nnplay.spec import load


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A spiral MLP (featurized) and the digits CNN, trained briefly, in one store."""
    root = tmp_path_factory.mktemp("runs")
    store = RunStore(root)
    spiral, _ = train_run(load("examples/spiral.toml", [
        "train.epochs=3", 'data.features=["x1", "x2", "sin(x1)", "x1*x2"]']), store)
    digits, _ = train_run(load("examples/digits_cnn.toml", ["train.epochs=1"]), store)
    return root, spiral, digits


def last_json(res) -> dict:
    assert res.exit_code == 0, (res.output, res.exception)
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_export_writes_the_run_folder_and_prints_the_check(runs):
    root, spiral, _ = runs
    res = cli("export", spiral.id, "--runs-dir", str(root), "--json")
    out = last_json(res)
    assert out["path"] == str(spiral.path("model.onnx")) and out["max_abs_diff"] < 1e-4
    assert out["inputs"] == 300 and out["exporter"] in ("dynamo", "torchscript") and out["opset"] >= 17
    assert f"{out['exporter']} exporter" in res.stderr and "max abs diff" in res.stderr
    assert sorted(p.name for p in spiral.path("x").parent.iterdir() if "onnx" in p.name) == ["model.onnx"]


def test_predict_csv_npy_and_onnx_equal_trainer(runs, tmp_path):
    root, spiral, digits = runs
    tr = load_trained(spiral)
    pts = tr.data.points["test"][:25]
    with (tmp_path / "p.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["x1", "x2"], *pts.tolist()])
    want = tr.predict(tr.data.x_test[:25]).numpy()
    onnx_file = tmp_path / "spiral.onnx"
    assert cli("export", spiral.id, "--runs-dir", str(root), "--out", str(onnx_file)).exit_code == 0
    for source in (spiral.id, str(onnx_file)):
        out = last_json(cli("predict", source, str(tmp_path / "p.csv"), "--runs-dir", str(root), "--json"))
        got = np.array([[r["probs"]["0"], r["probs"]["1"]] for r in out["predictions"]])
        np.testing.assert_allclose(got, want, atol=1e-5)
        assert [r["class"] for r in out["predictions"]] == [str(k) for k in want.argmax(1)]

    td = load_trained(digits)
    np.save(tmp_path / "x.npy", td.data.x_test.numpy())
    want = td.predict(td.data.x_test).numpy()
    res = cli("predict", digits.id, str(tmp_path / "x.npy"), "--runs-dir", str(root), "--out", str(tmp_path / "o.csv"))
    assert res.exit_code == 0 and "Wrote 360 predictions" in res.stderr
    with (tmp_path / "o.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["input", "class", *(f"p({k})" for k in range(10))]
    np.testing.assert_allclose(np.array([r[2:] for r in rows[1:]], float), want, atol=1e-5)
    plain = cli("predict", digits.id, str(tmp_path / "x.npy"), "--runs-dir", str(root))
    assert plain.stdout.splitlines()[0].split("\t")[:2] == ["0", str(want[0].argmax())]


@pytest.fixture
def bad(runs, tmp_path):
    """Input files that are wrong for the spiral run."""
    (tmp_path / "cols.csv").write_text("x1,y\n1,2\n")
    (tmp_path / "num.csv").write_text("x1,x2\n1,abc\n")
    np.save(tmp_path / "shape.npy", np.zeros((4, 3), np.float32))
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "plain.onnx").write_text("not onnx")
    return tmp_path


@pytest.mark.parametrize("args, texts", [
    (("export", "no-such-run"), ["unknown run 'no-such-run'"]),
    (("export", "SPIRAL", "--format", "tflite"), ["--format", "'tflite'", "allowed: onnx"]),
    (("export", "SPIRAL", "--out", "BAD/no/such/dir/m.onnx"), ["cannot read or write", "m.onnx"]),
    (("predict", "no-such-run", "BAD/cols.csv"), ["unknown run 'no-such-run'"]),
    (("predict", "SPIRAL", "BAD/cols.csv"), ["missing: x2", "unknown: y", "expected columns: x1, x2"]),
    (("predict", "SPIRAL", "BAD/num.csv"), ["column 'x2', line 2", "'abc'"]),
    (("predict", "SPIRAL", "BAD/shape.npy"), ["shape (4, 3)", "shape (N, 2)"]),
    (("predict", "SPIRAL", "BAD/missing.csv"), ["input not found", "missing.csv"]),
    (("predict", "SPIRAL", "BAD/notes.txt"), [".csv file, a .npy array or a folder of images"]),
    (("predict", "SPIRAL", "BAD"), ["is a folder", "x1, x2"]),
    (("predict", "DIGITS", "BAD/cols.csv"), ["takes images"]),
    (("predict", "DIGITS", "BAD/shape.npy"), ["shape (4, 3)", "(N, 1, 8, 8)"]),
    (("predict", "DIGITS", "BAD"), ["no images"]),
    (("predict", "BAD/missing.onnx", "BAD/cols.csv"), ["input not found", "missing.onnx"]),
    (("predict", "BAD/plain.onnx", "BAD/cols.csv"), ["not an ONNX model"]),
])
def test_bad_input_exits_2_with_one_line(runs, bad, args, texts):
    root, spiral, digits = runs
    subst = {"SPIRAL": spiral.id, "DIGITS": digits.id}
    args = [subst.get(a, a.replace("BAD", str(bad))) for a in args]
    user_error(cli(*args, "--runs-dir", str(root)), *texts)


def test_errors_in_korean(runs, bad):
    root, spiral, _ = runs
    line = user_error(cli("predict", spiral.id, str(bad / "cols.csv"), "--runs-dir", str(root), "--lang", "ko"),
                      "빠진 열: x2", "필요한 열: x1, x2")
    assert line.startswith("오류: ")
    user_error(cli("export", spiral.id, "--format", "pt", "--runs-dir", str(root), "--lang", "ko"), "알 수 없는 형식")


def test_an_onnx_file_without_nnplay_metadata_says_so(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(2, 3))
    torch.onnx.export(model, (torch.zeros(2, 2),), str(tmp_path / "foreign.onnx"), dynamo=False)
    np.save(tmp_path / "x.npy", np.zeros((2, 2), np.float32))
    user_error(cli("predict", str(tmp_path / "foreign.onnx"), str(tmp_path / "x.npy")),
               "not written by nnplay export", "nnplay export RUN_ID")
