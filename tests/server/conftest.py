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

    def steps(self, n: int) -> None:
        """Train ``n`` epochs, one step message each."""
        for _ in range(n):
            self.send(type="step")
            self.until("state")

    def answer(self, kind: str, **msg):
        """Send a ``kind`` request; -> its answer frame (header, arrays), of that type."""
        self.send(type=kind, **msg)
        header, arrays = self.until("frame")
        assert header["type"] == kind
        return header, arrays

    def error(self, **msg) -> dict:
        """Send ``msg``; -> its error, once a step shows the socket keeps serving."""
        self.send(**msg)
        err = self.until("error")
        self.send(type="step")
        assert self.until("state")["running"] is False
        return err

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
def trained(client, sock):
    """``trained(spec, epochs)`` -> (sock, trainer): a socket's session on ``spec``, trained
    ``epochs`` epochs, and that session's trainer."""
    def make(spec: dict, epochs: int):
        sock.start(spec)
        sock.steps(epochs)
        (session,) = client.app.state.sessions
        return sock, session.trainer
    return make


@pytest.fixture
def wrap():
    """``wrap(ws)`` -> a ``Socket`` around a raw test websocket."""
    return Socket
