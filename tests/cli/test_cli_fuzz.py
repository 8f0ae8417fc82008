"""Fuzz ``nnplay train``: 400 generated runs, each exits 0 or 2, never with a traceback.

Specs are tiny (at most 80 samples, 2 epochs, a few units) so a run takes milliseconds, and
mostly valid, with one or two fields pushed to the values that once crashed training: seeds out
of range, empty splits, fewer test samples than classes, SMOTE on one class, huge point labels,
CSV and IDX files with nan, huge or float labels, wrong magic numbers.
"""
from __future__ import annotations

import gzip
import math
import struct

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnplay.cli import app


# --- files the specs point at ---------------------------------------------------------------------
def _idx(arr: np.ndarray, code: int = 0x08) -> bytes:
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}i", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("fuzz-files")
    rng = np.random.default_rng(0)
    out = {}
    csvs = {
        "good": [[f"{a:.3f}", f"{b:.3f}", str(int(a > b))] for a, b in rng.normal(size=(40, 2))],
        "nan": [["nan", "1", "0"], ["1", "2", "1"]] * 20,
        "inf": [["1", "1e39", "0"], ["1", "2", "1"]] * 20,
        "huge_label": [["1", "2", "1e9"], ["1", "3", "0"]] * 20,
        "float_label": [[str(i), "1", f"{i * 0.37:.2f}"] for i in range(40)],
        "text": [["a", "1", "x"], ["2", "2", "y"]] * 20,
        "empty": [],
        "blank": [["", "", ""]] * 3,
    }
    for name, rows in csvs.items():
        p = root / f"{name}.csv"
        p.write_text("u,v,y\n" + "".join(",".join(r) + "\n" for r in rows))
        out[f"csv:{name}"] = str(p)
    (root / "bom.csv").write_bytes(b"\xef\xbb\xbfu,y\n" + b"".join(b"%d,%d\n" % (i, i % 2) for i in range(40)))
    out["csv:bom"] = str(root / "bom.csv")
    (root / "latin1.csv").write_bytes("u,y\n\xe9,1\n".encode("latin-1"))
    out["csv:latin1"] = str(root / "latin1.csv")
    images = rng.integers(0, 256, (40, 6, 6), dtype=np.uint8)
    idx = {"good": np.arange(40) % 3, "huge_label": np.r_[np.zeros(39), [200]], "float_label": None,
           "bad_magic": None, "gz_junk": None, "short": None}
    for name, labels in idx.items():
        folder = root / f"idx-{name}"
        folder.mkdir()
        (folder / "train-images-idx3-ubyte").write_bytes(_idx(images))
        lab = folder / "train-labels-idx1-ubyte"
        if name == "float_label":
            lab.write_bytes(_idx(np.arange(40) * 0.5, 0x0E))
        elif name == "bad_magic":
            lab.write_bytes(b"\x08\x03\x00\x01" + bytes(40))
        elif name == "gz_junk":
            (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(np.zeros(40, np.uint8)))[:20])
        elif name == "short":
            lab.write_bytes(b"\x00\x00\x08\xff")
        else:
            lab.write_bytes(_idx(labels.astype(np.uint8)))
        out[f"idx:{name}"] = str(folder)
    out["idx:file"] = str(root / "idx-good" / "train-images-idx3-ubyte")
    return out


# --- specs ----------------------------------------------------------------------------------------
rarely = st.sampled_from([False] * 5 + [True])
TOY = ["spiral", "xor", "circle", "gauss", "moons", "reg-plane", "reg-gauss"]
BAD = [-1, 2**32, 2**63, 2**64, 10**30, math.nan, math.inf, -math.inf, 1e9, "x" * 300, {"a": 1}, [1],
       [[1]], True, "", 0]


def point_rows(n: int, labels: list) -> list[list[float]]:
    return [[(i * 0.37) % 6 - 3, (i * 0.61) % 6 - 3, labels[i % len(labels)]] for i in range(n)]


@st.composite
def data_section(draw, files: dict[str, str]) -> dict:
    kind = draw(st.sampled_from(["toy"] * 6 + ["points"] * 3 + ["digits", "csv", "idx"]))
    d: dict = {"train_ratio": draw(st.sampled_from([0.5, 0.5, 0.7, 0.8, 0.01, 0.99])),
               "val_ratio": draw(st.sampled_from([0.0, 0.2, 0.2, 0.25, 0.01, 0.9])),
               "seed": draw(st.integers(0, 5))}
    if kind == "toy":
        d.update(name=draw(st.sampled_from(TOY)), samples=draw(st.sampled_from([60, 80, 40, 25, 10])),
                 classes=draw(st.sampled_from([2, 2, 3, 4, 10])), noise=draw(st.sampled_from([0.0, 0.3, 1.0])),
                 features=draw(st.lists(st.sampled_from(["x1", "x2", "x1^2", "x1*x2", "sin(x2)"]),
                                        min_size=1, max_size=3, unique=True)))
    elif kind == "points":
        labels = draw(st.sampled_from([[0, 1], [0, 1, 2], [1, 0, 0], [0, 9], [0] * 19 + [1], [0],
                                       [0, 1e9], [0, 2e6], [0, -1], [0, 1.5], [0, 10]]))
        rows = point_rows(draw(st.sampled_from([60, 80, 40, 20, 3, 1])), labels)
        if draw(rarely):
            rows[0] = draw(st.sampled_from([[0, 0], [0, 0, 0, 0], [math.nan, 0, 0], [1e7, 0, 1], []]))
        d.update(name="points", points=rows)
    elif kind == "digits":
        d.update(name="digits", limit=draw(st.sampled_from([80, 100, 60, 10])), scale=draw(st.sampled_from(["unit", "standard"])))
    else:
        key = draw(st.sampled_from(sorted(k for k in files if k.startswith(kind))))
        d.update(name=kind, path=files[key], limit=draw(st.sampled_from([None, 10, 30])))
        if kind == "csv":
            d.update(target=draw(st.sampled_from(["y", "y", "u", "nope"])),
                     task=draw(st.sampled_from(["auto", "classification", "regression"])))
    if draw(rarely):
        d["resample"] = "smote"
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def spec_dicts(draw, files: dict[str, str]) -> dict:
    data = draw(data_section(files))
    model: dict = {"hidden": draw(st.lists(st.integers(1, 6), max_size=2)),
                   "activation": draw(st.sampled_from(["relu", "tanh", "sigmoid", "step", "crelu", "softmax"])),
                   "init": draw(st.sampled_from(["he", "xavier", "zeros", "default", "lecun_uniform"])),
                   "dropout": draw(st.sampled_from([0.0, 0.5])), "batchnorm": draw(st.booleans()),
                   "layernorm": draw(st.booleans()),
                   "regularization": draw(st.sampled_from(["none", "l1", "l2"])), "reg_rate": 0.01,
                   "label_smoothing": draw(st.sampled_from([0.0, 0.2]))}
    if data["name"] == "digits" and draw(st.booleans()):
        model["layers"] = [{"type": "conv2d", "filters": 2, "kernel": 3}, {"type": "maxpool2d", "kernel": 2},
                           {"type": "flatten"}, {"type": "dense", "units": 4}]
    train: dict = {"epochs": draw(st.integers(1, 2)), "batch_size": draw(st.sampled_from([1, 2, 7, 64])),
                   "optimizer": draw(st.sampled_from(["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                                                      "adamw", "radam", "adabound", "adabelief"])),
                   "lr": draw(st.sampled_from([0.001, 0.05, 0.5])),
                   "schedule": draw(st.sampled_from(["none", "step", "cosine", "onecycle"])), "step_size": 1,
                   "seed": draw(st.integers(0, 3)), "probe_every": draw(st.integers(0, 1)),
                   "checkpoint_every": draw(st.integers(1, 2)),
                   "class_weights": draw(st.sampled_from(["none", "balanced"])),
                   "early_stopping": {"patience": draw(st.integers(0, 1))}}
    if draw(rarely):
        train["adversarial"] = {"method": draw(st.sampled_from(["fgsm", "pgd"])), "steps": 2}
    spec = {"name": draw(st.sampled_from(["fuzz", "퍼즈", "a b/c", "x" * 200])),
            "data": data, "model": model, "train": train}
    for _ in range(draw(st.sampled_from([0] * 8 + [1, 2]))):     # push a field or two out of bounds
        sec = draw(st.sampled_from(["data", "model", "train"]))
        key = draw(st.sampled_from(["seed", "samples", "lr", "epochs", "hidden", "init", "batch_size",
                                    "classes", "train_ratio", "val_ratio", "points", "limit", "noise"]))
        spec[sec][key] = draw(st.sampled_from(BAD))
    return spec


def toml_value(v) -> str:
    return tomli_w.dumps({"v": v})[4:].strip()


@st.composite
def invocations(draw, files: dict[str, str]) -> tuple[list[str], dict | None]:
    """(arguments after ``train``, the spec written to a file or None)."""
    spec = draw(spec_dicts(files))
    args = ["-q"] if draw(st.booleans()) else []
    args += draw(st.sampled_from([[], ["--json"], ["--lang", "ko"], ["--json", "--lang", "ko"]]))
    if draw(st.sampled_from([False, False, True])):       # everything through --set
        for sec in ("data", "model", "train"):
            for k, v in spec[sec].items():
                if isinstance(v, dict):
                    args += [f"{sec}.{k}.{kk}={toml_value(vv)}" for kk, vv in v.items()]
                else:
                    args += [f"{sec}.{k}={toml_value(v)}"]
        args = [a for s in args for a in (["--set", s] if "=" in s and not s.startswith("-") else [s])]
        spec = None
    if draw(rarely):
        args += ["--folds", draw(st.sampled_from(["2", "3", "1", "1000", "9" * 25]))]
    if draw(rarely):
        args += ["--set", draw(st.sampled_from([
            "train.epochs=1", "train.seed=18446744073709551616", "data.seed=-1", "data.seed=4294967296", "a..b=1", "=1",
            "data=1", "model.init={a=1}", "model.init=[1]", "train.lr", "x=" + "[" * 1000 + "]" * 1000,
            "data.name=points", "name=" + "y" * 3000]))]
    return args, spec


def run_cli(tmp, args: list[str], spec: dict | None):
    if spec is not None:
        path = tmp / "spec.toml"
        try:
            path.write_text(tomli_w.dumps(spec), encoding="utf-8")
        except (TypeError, ValueError):
            path.write_bytes(b"\xff\xfe not utf-8")
        args = [str(path), *args]
    return CliRunner().invoke(app, ["train", *args])


def test_fuzzed_train_runs_exit_0_or_2(files, tmp_path):
    outcomes = {0: 0, 2: 0}

    @settings(max_examples=400, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(invocations(files))
    def one(case):
        args, spec = case
        r = run_cli(tmp_path, args, spec)
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, spec, r.exception)
        assert r.exit_code in (0, 2), (args, spec, r.output)
        assert "Traceback" not in r.output
        if r.exit_code == 2:     # one line of error (a progress bar may have been drawn before it)
            lines = [x for x in r.stderr.splitlines() if x.startswith(("error: ", "오류: "))]
            assert len(lines) == 1, r.stderr
            if "-q" in args and "--folds" not in args:   # quiet: nothing but the error
                assert r.stderr.count("\n") == 1, r.stderr
        outcomes[r.exit_code] += 1

    one()
    assert outcomes[0] >= 80 and outcomes[2] >= 80, outcomes   # both kinds really exercised
