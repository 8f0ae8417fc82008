"""The hello message carries what the page builds its controls from (issue 9): the spec's
JSON schema with this server's caps, the UI hints kept in spec.py, and the library's lists."""
from __future__ import annotations

import json
from typing import get_args

from fastapi.testclient import TestClient

from nnplay import spec
from nnplay.server import Limits, create_app
from nnplay.server.protocol import TRUST_METHODS
from nnplay.trust import attacks, explain, uncertainty

from .conftest import HOST, ORIGIN, Socket

SMALL = Limits(samples=700, units=6, hidden_layers=3, filters=5, dense_units=40, batch_size=64, points=99)


def _hello(tmp_path, limits=SMALL) -> dict:
    app = create_app(limits, runs_dir=tmp_path / "runs", allow_hosts=[HOST])
    with TestClient(app, headers={"origin": ORIGIN}) as c, c.websocket_connect("/ws") as ws:
        return Socket(ws).until("hello")


def _prop(schema: dict, section: str, name: str) -> dict:
    p = schema["$defs"][section]["properties"][name]
    return next((b for b in p.get("anyOf", []) if b.get("type") != "null"), p)


def test_hello_schema_is_the_spec_schema_capped_by_the_limits(tmp_path):
    s = _hello(tmp_path)["schema"]
    assert _prop(s, "DataSpec", "samples")["maximum"] == 700          # spec allows 200,000
    assert _prop(s, "DataSpec", "samples")["minimum"] == 10           # the spec's own bound stays
    assert _prop(s, "DataSpec", "classes")["maximum"] == spec.MAX_CLASSES
    assert _prop(s, "DataSpec", "points")["maxItems"] == 99
    assert _prop(s, "ModelSpec", "hidden")["maxItems"] == 3
    assert _prop(s, "ModelSpec", "hidden")["items"]["maximum"] == 6
    assert _prop(s, "LayerSpec", "filters")["maximum"] == 5
    assert _prop(s, "LayerSpec", "units")["maximum"] == 40
    assert _prop(s, "TrainSpec", "batch_size")["maximum"] == 64
    # a cap above the spec's own bound leaves the spec's
    big = _hello(tmp_path, Limits(samples=10**9, uploads_bytes=10**9, upload_bytes=10))["schema"]
    assert _prop(big, "DataSpec", "samples")["maximum"] == 200_000
    # the live marks and the default come with it
    lr = _prop(s, "TrainSpec", "lr")
    assert lr["live"] is True and lr["default"] == spec.TrainSpec().lr
    assert {n for n, p in s["$defs"]["TrainSpec"]["properties"].items() if p.get("live")} \
        == spec.live_fields(spec.TrainSpec)


def test_ui_hints_are_values_the_spec_accepts(tmp_path):
    s = _hello(tmp_path)["schema"]
    for section, name, key in [("TrainSpec", "lr", "train"), ("ModelSpec", "reg_rate", "model"),
                               ("ModelSpec", "dropout", "model"), ("ModelSpec", "label_smoothing", "model"),
                               ("ModelSpec", "activation", "model")]:
        choices = _prop(s, section, name)["ui"]["choices"]
        assert len(choices) >= 3
        for v in choices:                      # each menu entry validates
            spec.from_dict({key: {name: v}})
    assert "softmax" not in _prop(s, "ModelSpec", "activation")["ui"]["choices"]
    spec.from_dict({"model": {"reg_rate": _prop(s, "ModelSpec", "reg_rate")["ui"]["start"]}})
    spec.from_dict({"data": {"limit": s["$defs"]["DataSpec"]["properties"]["limit"]["ui"]["start"]}})
    eps = s["$defs"]["AdversarialSpec"]["properties"]["eps"]
    assert 0 < eps["ui"]["slider"]["max"] <= eps["maximum"]


def test_hello_lists_are_the_library_lists(tmp_path):
    o = _hello(tmp_path)["options"]
    assert o["optimizers"] == list(get_args(spec.Optimizer))
    assert o["activations"] == list(get_args(spec.Activation))
    assert o["inits"] == list(get_args(spec.Init))
    assert o["schedules"] == list(get_args(spec.Schedule))
    assert o["trust"]["attack"] == list(attacks.METHODS)
    assert o["trust"]["explain"] == list(explain.METHODS)
    assert o["trust"]["uncertainty"] == list(TRUST_METHODS["uncertainty"])
    assert o["trust"]["ood"] == list(uncertainty.OOD_KINDS)
    assert set(o["layers"]) == set(get_args(spec.LayerType))
    for t, d in o["layers"].items():         # each new layer is a valid one of just its own fields
        layer = spec.LayerSpec(type=t, **d["start"])
        assert set(layer.model_dump(mode="json", exclude_none=True)) <= {"type", *d["fields"]}
    assert set(o["image_layers"]) >= set(o["before_flatten"])
    json.dumps(o)


def test_ready_describes_the_hidden_blocks(tmp_path):
    app = create_app(Limits(), runs_dir=tmp_path / "runs", allow_hosts=[HOST])
    with TestClient(app, headers={"origin": ORIGIN}) as c, c.websocket_connect("/ws") as ws:
        ready = Socket(ws).start({"model": {"hidden": [3, 4], "activations": ["crelu", "relu"],
                                            "dropout": 0.1}, "train": {"epochs": 1}})
    blocks = ready["info"]["blocks"]
    assert [(b["name"], b["units"], b["activation"]) for b in blocks] == [("dense1", 6, "crelu"),
                                                                         ("dense2", 4, "relu")]
    shapes = {row["name"]: row["shape"] for row in ready["info"]["layers"]}
    assert all(shapes[b["last"]] == [b["units"]] for b in blocks)   # a unit is the last child's output
    assert all(b["last"].startswith("drop") for b in blocks)
