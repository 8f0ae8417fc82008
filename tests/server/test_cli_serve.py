"""nnplay serve: argument errors exit 2 with one line; --open never fails without a browser."""
from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from nnplay.cli import app
from nnplay.cli.serve import open_browser


@pytest.mark.parametrize("args, words", [
    (["--port", "0"], "--port: 0 is not a port"),
    (["--port", "70000"], "allowed: 1..65535"),
    (["--sessions", "0"], "--sessions: must be 1 or more"),
    (["--threads", "0"], "--threads: must be 1.."),
    (["--data-dir", "/no/such/folder"], "--data-dir: folder not found"),
])
def test_bad_arguments_exit_2(args, words):
    res = CliRunner().invoke(app, ["serve", *args])
    assert res.exit_code == 2 and words in res.stderr
    assert "Traceback" not in res.output


def test_busy_port_exits_2_in_both_languages():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        en = CliRunner().invoke(app, ["serve", "--port", str(port)])
        ko = CliRunner().invoke(app, ["serve", "--port", str(port), "--lang", "ko"])
    assert en.exit_code == 2 and f"port {port} is in use" in en.stderr
    assert ko.exit_code == 2 and f"포트 {port}" in ko.stderr


def test_open_without_a_screen_just_returns(monkeypatch):
    import webbrowser
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    called = []
    monkeypatch.setattr(webbrowser, "get", lambda *a: called.append(a))
    assert open_browser("http://127.0.0.1:1/") is False and not called


def test_open_survives_a_broken_browser(monkeypatch):
    import webbrowser
    monkeypatch.setenv("DISPLAY", ":0")

    def broken(*a):
        raise webbrowser.Error("could not locate runnable browser")
    monkeypatch.setattr(webbrowser, "get", broken)
    assert open_browser("http://127.0.0.1:1/") is False


def test_serve_builds_the_host_allow_list_and_a_short_shutdown(monkeypatch, tmp_path):
    import uvicorn
    from fastapi.testclient import TestClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: got.update(app=app, **kw))
    res = CliRunner().invoke(app, ["serve", "--port", str(port), "--host", "0.0.0.0", "--runs-dir", str(tmp_path),
                                   "--allow-host", "box.lan", "--allow-host", "10.0.0.7:9999"])
    assert res.exit_code == 0, res.output
    assert got["host"] == "0.0.0.0" and got["timeout_graceful_shutdown"] <= 1
    for host, status in [(f"box.lan:{port}", 200), ("10.0.0.7:9999", 200), (f"127.0.0.1:{port}", 200),
                         ("box.lan:1", 400), (f"0.0.0.0:{port}", 400), (f"evil.example:{port}", 400)]:
        with TestClient(got["app"], base_url=f"http://{host}") as c:
            assert c.get("/api/info").status_code == status, host
