"""A real `nnplay serve` process on a free 127.0.0.1 port: SIGTERM stops it within 2 s while
sessions train, and the hostile points message gets an error frame within 10 s with the
server's peak memory (VmHWM) under the cap protocol.md states (1.5 GB)."""
from __future__ import annotations

import json
import signal
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import start_serve
from websockets.sync.client import connect

MEMORY_CAP_MB = 1500
SLOW = {"data": {"samples": 5000}, "model": {"hidden": [32] * 6}, "train": {"batch_size": 1}}
HOSTILE = {"type": "spec", "spec": {"data": {"name": "points", "points": [
    [0, 0, 0], [1, 1, 1e9], [0.5, 0.5, 0], [0.2, 0.1, 1e9]]}}}


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.fixture
def server(tmp_path):
    """`nnplay serve` on a free port; stopped (killed if need be) after the test."""
    proc, url = start_serve(tmp_path, tmp_path)
    url = url.rstrip("/")
    try:
        yield proc, url, url.replace("http", "ws", 1) + "/ws"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _until(ws, kind: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(msg, str) and json.loads(msg)["type"] == kind:
            return json.loads(msg)


def test_sigterm_stops_the_server_within_two_seconds_while_sessions_train(server):
    proc, url, ws_url = server
    sockets = [connect(ws_url, max_size=None) for _ in range(2)]
    try:
        for ws in sockets:
            _until(ws, "hello", 10)
            ws.send(json.dumps({"type": "spec", "spec": SLOW}))
            _until(ws, "ready", 30)
            ws.send(json.dumps({"type": "play"}))
            assert _until(ws, "state", 10)["running"] is True
        time.sleep(0.5)                                   # both are mid-epoch
        assert json.loads(urllib.request.urlopen(url + "/api/info").read())["sessions"] == 2
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        took = time.monotonic() - t0
    finally:
        for ws in sockets:
            ws.close()
    assert took < 2.0, f"SIGTERM took {took:.2f} s"


def test_hostile_points_get_an_error_within_10_s_under_the_memory_cap(server):
    proc, url, ws_url = server
    with connect(ws_url) as ws:
        _until(ws, "hello", 10)
        t0 = time.monotonic()
        ws.send(json.dumps(HOSTILE))
        err = _until(ws, "error", 10)
        took = time.monotonic() - t0
        peak = _status_mb(proc.pid, "VmHWM")            # the process's peak resident memory
        assert "data.points[1]: the label must be a whole number" in err["message"]
        ws.send(json.dumps({"type": "spec", "spec": {"data": {"samples": 60}}}))
        assert _until(ws, "ready", 30)["info"]["mode"] == "2d"      # still serving
    assert took < 10 and peak < MEMORY_CAP_MB, (took, peak)
