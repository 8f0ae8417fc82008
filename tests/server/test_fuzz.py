"""Fuzz: malformed, hostile and oversized input to the socket (hypothesis) and to every HTTP
route (schemathesis on the OpenAPI schema). Each gets an answer, never a crash, and the
server goes on serving."""
from __future__ import annotations

import json

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from nnplay.server import Limits, create_app
from nnplay.server.protocol import TYPES

LIMITS = Limits(message_bytes=4096, samples=300, hidden_layers=3, units=8, layers=6, filters=8,
                dense_units=32, points=200, image_samples=200)
SMALL = {"data": {"samples": 60}, "model": {"hidden": [3]}}

json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats(allow_nan=True)
                           | st.text(max_size=20), lambda c: st.lists(c, max_size=4)
                           | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=12)
spec_keys = st.sampled_from(["data", "model", "train", "name", "bogus"])
section = st.dictionaries(st.sampled_from(["name", "samples", "hidden", "lr", "optimizer", "layers",
                                           "points", "path", "activation", "batch_size", "classes",
                                           "features", "limit", "noise"]), json_values, max_size=3)
messages = st.one_of(
    st.text(max_size=60),                                                  # not JSON at all
    st.binary(max_size=40),                                                # binary frames
    json_values.map(json.dumps),                                           # JSON, wrong shape
    st.builds(lambda t, extra: json.dumps({"type": t, **extra}), st.sampled_from(TYPES + ("x",)),
              st.dictionaries(st.sampled_from(["spec", "grid", "image", "name", "z"]), json_values, max_size=2)),
    st.builds(lambda spec: json.dumps({"type": "spec", "spec": spec}),
              st.dictionaries(spec_keys, section, max_size=3)),           # specs with odd values
    st.just(json.dumps({"type": "spec", "spec": {"name": "x" * 5000}})),    # over the size cap
    st.builds(lambda pts: json.dumps({"type": "spec", "spec": {"data": {"name": "points", "points": pts}}}),
              st.lists(st.lists(st.integers(-10**12, 10**12) | st.floats(), max_size=4),
                       max_size=6)),                                     # hostile points (huge labels)
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(LIMITS, runs_dir=tmp_path_factory.mktemp("runs"), allow_hosts=["testserver"])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(messages, min_size=1, max_size=6))
def test_socket_survives_any_message(app, batch):
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
        for m in batch:
            if isinstance(m, bytes):
                ws.send_bytes(m)
            else:
                ws.send_text(m)
        ws.send_text(json.dumps({"type": "spec", "spec": SMALL}))   # then a good request
        ws.send_text(json.dumps({"type": "step"}))
        ws.send_text(json.dumps({"type": "frame"}))
        while True:
            m = ws.receive()
            if m.get("bytes"):
                assert m["bytes"][:4] == b"NNPF"
                break
            msg = json.loads(m["text"])
            if msg["type"] == "error":
                assert msg["code"] in ("message", "spec", "limit", "state", "diverged")
                assert isinstance(msg["message"], str) and msg["message"]
            else:
                assert msg["type"] in ("ready", "updated", "state", "saved")
    assert not app.state.sessions or len(app.state.sessions) <= 1


schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(LIMITS, allow_hosts=["testserver"]))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_http_routes_never_fail_with_a_server_error(case):
    case.call_and_validate(headers={"Origin": "http://testserver"}, checks=[not_a_server_error])
