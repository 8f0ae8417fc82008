"""A session lives no longer than its socket, its inbox is bounded, it tells the page when it
stops on its own, and hostile points are refused before anything is sized by them."""
from __future__ import annotations

import json
import threading
import time

import pytest
import torch
from fastapi.testclient import TestClient

from nnplay.server import Limits, create_app
from nnplay.spec import from_dict
from nnplay.train import Trainer
from nnplay.train.loop import Cancelled

# one epoch of 2500 single-sample steps: seconds of work on any CPU
SLOW = {"data": {"samples": 5000}, "model": {"hidden": [32] * 6}, "train": {"batch_size": 1}}


def _app(tmp_path, **limits):
    return create_app(Limits(**limits), runs_dir=tmp_path / "runs", allow_hosts=["testserver"])


def test_closing_the_socket_stops_the_session_within_a_second(tmp_path, wrap):
    app = _app(tmp_path)
    with TestClient(app) as c:
        with c.websocket_connect("/ws") as ws:
            s = wrap(ws)
            s.start(SLOW)
            for _ in range(60):
                s.send(type="step")
            time.sleep(0.5)                              # the first epoch is under way
            (session,) = app.state.sessions
            assert session.thread.is_alive() and session.trainer.epoch >= 1
            t0 = time.monotonic()
        session.thread.join(5)
        took = time.monotonic() - t0
        assert not session.thread.is_alive() and took < 1.0, took
        assert session.trainer is None and not app.state.sessions


def test_a_full_inbox_refuses_messages_and_the_socket_goes_on(tmp_path, wrap):
    with TestClient(_app(tmp_path, inbox=4)) as c, c.websocket_connect("/ws") as ws:
        s = wrap(ws)
        s.start({"data": {"samples": 1000}, "model": {"hidden": [8]}, "train": {"batch_size": 1}})
        for _ in range(20):
            s.send(type="step")
        states, refused = 0, 0
        while states + refused < 20:
            kind, m = s.recv()
            if kind == "json" and m["type"] == "state":
                states += 1
            elif kind == "json" and m["type"] == "error":
                assert m["code"] == "limit" and "inbox: 4 messages are already waiting" in m["message"]
                refused += 1
        assert refused >= 1 and states >= 4        # each accepted step answered, each other refused
        header, _ = s.frame()
        assert header["epoch"] == states             # exactly the accepted steps were trained


def test_a_failing_session_tells_the_page_it_stopped(sock, monkeypatch):
    sock.start({"data": {"samples": 100}, "model": {"hidden": [3]}})
    sock.send(type="play")
    assert sock.until("state")["running"] is True

    def broken(self, probe=None):
        raise RuntimeError("boom")
    monkeypatch.setattr(Trainer, "train_epoch", broken)
    err = sock.until("error")
    assert err["code"] == "internal" and "boom" in err["message"]
    assert sock.until("state") == {"type": "state", "running": False}
    monkeypatch.undo()
    sock.send(type="step")                       # stopped, not training, and still serving
    assert sock.until("state")["running"] is False
    header, _ = sock.frame()
    assert header["running"] is False


def test_a_frame_that_fails_is_not_retried_in_a_loop(sock, monkeypatch):
    from nnplay.server.session import Session
    sock.start({"data": {"samples": 100}, "model": {"hidden": [3]}})
    calls = []

    def broken(self):
        calls.append(1)
        raise RuntimeError("no frame")
    monkeypatch.setattr(Session, "_send_frame", broken)
    sock.send(type="frame")
    assert "no frame" in sock.until("error")["message"]
    assert sock.until("state")["running"] is False
    time.sleep(0.5)
    assert len(calls) == 1                       # one error, not one per loop turn
    monkeypatch.undo()
    sock.send(type="step")
    header, _ = sock.frame()
    if header["step"]:   # the request whose frame failed, answered between the step's batches
        header, _ = sock.frame()
    assert header["epoch"] == 1


def test_the_cancel_hook_stops_an_epoch_between_batches():
    tr = Trainer(from_dict({"data": {"samples": 200}, "model": {"hidden": [3]}}))
    tr.cancel = threading.Event()
    before = [p.detach().clone() for p in tr.model.parameters()]
    tr.cancel.set()
    with pytest.raises(Cancelled):
        tr.train_epoch()
    assert all(torch.equal(a, b) for a, b in zip(before, tr.model.parameters()))   # no step taken
    tr.cancel.clear()
    assert tr.train_epoch()["epoch"] == 2


@pytest.mark.parametrize("points, words", [
    ([[0, 0, 0], [1, 1, 1e9], [0.5, 0.5, 0], [0.2, 0.1, 1e9]], "data.points[1]: the label must be a whole number from 0 to 9"),
    ([[0, 0, 0], [1, 1, 1.5]], "received 1.5"),
    ([[0, 0, 0], [1, 1, -1]], "received -1"),
    ([[0, 0, 0], [1, 1, 20]], "received 20"),
    ([[0, 0, 0], [1, 1]], "data.points[1]: each row must be [x1, x2, label]"),
])
def test_hostile_points_are_refused_before_any_allocation(sock, points, words):
    sock.until("hello")
    sock.send(type="spec", spec={"data": {"name": "points", "points": points}})
    err = sock.until("error")
    assert err["code"] == "spec" and words in err["message"], err
    sock.send(type="spec", spec={"data": {"samples": 60}, "model": {"hidden": [3]}})
    assert sock.until("ready")["info"]["mode"] == "2d"          # and it goes on serving


def test_non_finite_coordinates_are_refused(sock):
    sock.until("hello")
    sock.ws.send_text('{"type": "spec", "spec": {"data": {"name": "points", '
                      '"points": [[0, 0, 0], [NaN, 1, 1], [1, 1, 1]]}}}')
    err = sock.until("error")
    assert "data.points[1][0]: must be a finite number" in err["message"]
    sock.ws.send_text(json.dumps({"type": "spec", "spec": {"data": {"samples": 60}}}))
    assert sock.until("ready")


def test_a_step_may_hold_at_most_limits_activations_layer_outputs(tmp_path, wrap):
    # hidden [32, 32] on 2 inputs: dense1, act1, dense2, act2 (32 each) and out (1) = 129 per sample
    net = {"data": {"samples": 400}, "model": {"hidden": [32, 32]}}
    with TestClient(_app(tmp_path, activations=129 * 50)) as c, c.websocket_connect("/ws") as ws:
        s = wrap(ws)
        s.until("hello")
        s.send(type="spec", spec={**net, "train": {"batch_size": 51}})
        err = s.until("error")
        assert "train.batch_size: 51 samples x 129 layer outputs" in err["message"]
        assert "allowed: batch_size 1..50" in err["message"]
        s.send(type="spec", spec={**net, "train": {"batch_size": 50}})
        assert s.until("ready")["spec"]["train"]["batch_size"] == 50
        s.send(type="spec", spec={**net, "train": {"batch_size": 60}})      # a live change, refused
        assert "allowed: batch_size 1..50" in s.until("error")["message"]
        s.send(type="spec", spec={**net, "train": {"batch_size": 20}})      # a live change, taken
        assert s.until("updated")["spec"]["train"]["batch_size"] == 20
