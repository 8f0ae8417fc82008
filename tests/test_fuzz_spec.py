"""Fuzz the spec loader: every input is a ``Spec`` or a one-line ``SpecError``, never a crash.

1,500 generated inputs (dicts, TOML text, files of raw bytes, ``--set`` lists), derandomized so
CI sees the same ones. The strategies carry the values that once crashed the loader: seeds
past numpy's and torch's ranges, tables and lists where scalars go, nesting 1,000 deep,
non-UTF-8 bytes, huge class labels, nan and inf.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnplay import spec as S
from nnplay.spec import Spec, SpecError

def fuzz(examples: int) -> settings:
    """A fixed number of examples, the same every run, no time limit per example."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- values ---------------------------------------------------------------------------------------
BAD_INTS = [-1, -(2**31), 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64, 10**30, 0, 1]
BAD_FLOATS = [math.nan, math.inf, -math.inf, 1e9, -1e9, 1e300, -0.0, 1e-300, 3.5e38]
BAD_TEXT = ["", " ", "x" * 5000, "he", "xavier", "\x00", "한국어", "a.b", "=", "[1", "nan", "{}"]


def nest(depth: int, table: bool) -> object:
    """A value nested ``depth`` levels deep, built without recursion."""
    v: object = 1
    for _ in range(depth):
        v = {"a": v} if table else [v]
    return v


deep = st.builds(nest, st.sampled_from([2, 5, 17, 40, 1000]), st.booleans())
scalar = st.one_of(st.booleans(), st.integers(), st.sampled_from(BAD_INTS), st.floats(),
                   st.sampled_from(BAD_FLOATS), st.text(max_size=12), st.sampled_from(BAD_TEXT))
anything = st.recursive(scalar, lambda c: st.lists(c, max_size=4)
                        | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8)
points = st.lists(st.lists(st.one_of(st.integers(-3, 12), st.sampled_from([1e9, 2e6, -1, 0.5, 1e7,
                                                                           math.nan])),
                           min_size=0, max_size=4), min_size=0, max_size=12)

# good values per field, from which a draw strays to ``anything``, ``deep`` or a known-bad value
GOOD = {
    "data": {"name": ["spiral", "xor", "circle", "gauss", "moons", "reg-plane", "reg-gauss", "digits",
                      "idx", "csv", "points"],
             "noise": [0, 0.1, 1], "samples": [10, 50, 500, 200_000], "limit": [10, 100],
             "classes": [2, 3, 10], "train_ratio": [0.01, 0.5, 0.99], "val_ratio": [0, 0.2, 0.99],
             "seed": [0, 7, 2**32 - 1], "features": [["x1", "x2"], ["x1x2", "sin x1"], []],
             "path": ["/no/such", "."], "target": ["y"], "task": ["auto", "regression"],
             "resample": ["none", "smote"], "scale": ["unit", "standard"],
             "points": [[[0, 0, 0], [1, 1, 1]], [[0, 0, 0], [1, 1, 1e9]]]},
    "model": {"hidden": [[8, 8], [], [4096]], "activation": ["relu", "tanh"], "activations": [["relu"]],
              "init": ["he", "xavier_normal", {"a": 1}, [1]], "dropout": [0, 0.5], "batchnorm": [True],
              "layernorm": [False], "alpha": [0.01], "regularization": ["l1", "l2"], "reg_rate": [0.1],
              "label_smoothing": [0.1],
              "layers": [[{"type": "dense", "units": 4, "init": "he"}], [{"type": "conv2d"}],
                         [{"type": "dense", "units": 3, "init": {"x": 1}}], [1, "dense"]]},
    "train": {"optimizer": ["adam", "sgd"], "lr": [0.01, 10], "momentum": [0.9], "weight_decay": [0],
              "batch_size": [1, 32], "epochs": [1, 100_000], "seed": [0, 2**63 - 1],
              "schedule": ["none", "onecycle"], "step_size": [1], "gamma": [0.5],
              "early_stopping": [{"patience": 2}, {"metric": "val_mse"}], "class_weights": ["balanced"],
              "device": ["cpu", "auto"], "amp": [True], "compile": [False], "probe_every": [0],
              "checkpoint_every": [1], "adversarial": [{"method": "pgd", "steps": 2}, {"eps": 2}]},
}


def field_value(section: str, key: str):
    good = GOOD.get(section, {}).get(key, [0])
    extra = [points] if key == "points" else []
    return st.one_of(st.sampled_from(good), st.sampled_from(good), anything, deep,
                     st.sampled_from(BAD_INTS + BAD_FLOATS + BAD_TEXT), *extra)


def section(name: str):
    keys = list(GOOD[name])
    entries = st.lists(st.one_of(st.sampled_from(keys), st.sampled_from(keys), st.text(max_size=6)),
                       max_size=5, unique=True)
    table = entries.flatmap(lambda ks: st.fixed_dictionaries({k: field_value(name, k) for k in ks}))
    return st.one_of(table, table, table, anything, deep)


specs = st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.text(max_size=20), st.sampled_from(BAD_TEXT), anything),
    "data": section("data"), "model": section("model"), "train": section("train"),
    "extra": anything})


def expect_spec_or_clear_error(load, *args) -> Spec | None:
    """``load(*args)`` is a Spec, or a SpecError whose message is one line (English and Korean)."""
    try:
        return load(*args)
    except SpecError as e:
        for lang in ("en", "ko"):
            text = e.render(lang)
            assert text and "\n" not in text and len(text) < 5000, text[:500]
        return None


# --- dicts ------------------------------------------------------------------------------------------
@fuzz(600)
@given(specs)
def test_from_dict_never_crashes(d):
    s = expect_spec_or_clear_error(S.from_dict, d)
    if s is not None:   # what validates round-trips through TOML and JSON
        assert S.loads(s.to_toml()) == s and S.from_dict(s.to_dict()) == s


# --- TOML text and raw bytes ----------------------------------------------------------------------
def toml_text(d: dict) -> str:
    try:
        return tomli_w.dumps(d)
    except (TypeError, ValueError, RecursionError):   # nothing TOML can hold: try its repr
        return repr(d)


texts = st.one_of(specs.map(toml_text), st.text(max_size=200),
                  st.builds(lambda d, cut: toml_text(d)[:cut], specs, st.integers(0, 200)),
                  st.builds(lambda n: "a = " + "[" * n + "]" * n, st.sampled_from([5, 20, 1000])),
                  st.builds(lambda n: "".join(f"[{'a.' * i}b]\n" for i in range(n)), st.integers(1, 30)))


@fuzz(300)
@given(texts)
def test_loads_never_crashes(text):
    expect_spec_or_clear_error(S.loads, text)


raw = st.one_of(st.binary(max_size=300), texts.map(lambda t: t.encode("utf-8")),
                st.builds(lambda t, junk: t.encode("utf-8") + junk, texts,
                          st.sampled_from([b"\xff", b"\xfe\xff", b"\x80abc", b"\xc3\x28", b"\x00"])),
                st.just(b"\xef\xbb\xbf[train]\nlr = 0.1\n"), st.just('name = "한국어"'.encode("cp949")))


@fuzz(300)
@given(raw)
def test_spec_files_of_any_bytes(content):
    with tempfile.TemporaryDirectory() as folder:
        p = Path(folder) / "spec.toml"
        p.write_bytes(content)
        expect_spec_or_clear_error(S.load, p)


# --- --set overrides ------------------------------------------------------------------------------
paths = [f"{s}.{k}" for s, fields in GOOD.items() for k in fields] + ["name", "data", "train"]
keys = st.one_of(st.sampled_from(paths), st.sampled_from(paths), st.text(max_size=10),
                 st.sampled_from(["a..b", ".a", "a.", "", " ", "data.seed.x", "train.lr.", "a" * 3000,
                                  ".".join("a" * 200)]))
values = st.one_of(st.text(max_size=20), st.sampled_from([str(v) for v in BAD_INTS + BAD_FLOATS] + BAD_TEXT),
                   st.builds(lambda n: "[" * n + "]" * n, st.sampled_from([3, 17, 1000])),
                   st.builds(lambda n: "{a=" * n + "1" + "}" * n, st.sampled_from([3, 17, 1000])),
                   anything.map(lambda v: toml_text({"v": v})[4:].strip()))
sets = st.lists(st.one_of(st.builds(lambda k, v: f"{k}={v}", keys, values), st.text(max_size=10)),
                min_size=1, max_size=4)


@fuzz(300)
@given(sets)
def test_set_overrides_never_crash(overrides):
    expect_spec_or_clear_error(S.load, None, overrides)
