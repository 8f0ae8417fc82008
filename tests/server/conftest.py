"""Shared helpers for the playground server tests: an app on a temporary run store and a
socket client that reads messages until a condition holds."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from nnplay.server import Limits, create_app
from nnplay.server.protocol import unpack_frame


HOST, ORIGIN = "testserver", "http://testserver"   # what TestClient sends; the page's own origin


@pytest.fixture
def client(tmp_path):
    """A client like the page: Host testserver (allowed here only), the page's own Origin."""
    app = create_app(Limits(), runs_dir=tmp_path / "runs", allow_hosts=[HOST])
    with TestClient(app, headers={"origin": ORIGIN}) as c:
        yield c


class Socket:
    """A thin wrapper: JSON text in, (kind, message) out, frames decoded."""

    def __init__(self, ws):
        self.ws = ws

    def send(self, **msg) -> None:
        self.ws.send_text(json.dumps(msg))

    def recv(self):
        m = self.ws.receive()
        if m.get("bytes") is not None:
            return "frame", unpack_frame(m["bytes"])
        if m.get("text") is not None:
            return "json", json.loads(m["text"])
        raise AssertionError(f"socket closed: {m}")

    def until(self, kind: str, limit: int = 500):
        """The next JSON message of ``type == kind`` (or the next frame if kind == "frame")."""
        for _ in range(limit):
            what, msg = self.recv()
            if kind == "frame" and what == "frame":
                return msg
            if what == "json" and msg.get("type") == kind:
                return msg
            if what == "json" and msg.get("type") == "error" and kind != "error":
                raise AssertionError(f"unexpected error: {msg}")
        raise AssertionError(f"no {kind!r} within {limit} messages")

    def frame(self):
        """Ask for a frame and return it (header, arrays)."""
        self.send(type="frame")
        return self.until("frame")

    def start(self, spec: dict | None = None) -> dict:
        """hello -> spec -> ready."""
        hello = self.until("hello")
        assert hello["limits"]["sessions"] >= 1
        self.send(type="spec", spec=spec or {})
        return self.until("ready")


@pytest.fixture
def sock(client):
    with client.websocket_connect("/ws") as ws:
        yield Socket(ws)


@pytest.fixture
def wrap():
    """``wrap(ws)`` -> a ``Socket`` around a raw test websocket."""
    return Socket
