"""Only the page itself drives the server: the Host allow-list (DNS rebinding) and the Origin
check (other websites) on every HTTP route and the socket."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from nnplay.server import Limits, create_app
from nnplay.server.guard import allowed_hosts

CSV = "a,b,label\n0,10,0\n5,20,1\n10,30,0\n"


@pytest.fixture
def app(tmp_path):
    return create_app(Limits(), runs_dir=tmp_path / "runs", host="127.0.0.1", port=8123)


def _client(app, host: str) -> TestClient:
    return TestClient(app, base_url=f"http://{host}")


def test_the_allow_list_is_loopback_and_the_bound_host_with_the_port():
    assert allowed_hosts("127.0.0.1", 8000) == {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    assert "192.168.1.5:9000" in allowed_hosts("192.168.1.5", 9000)
    assert "[fe80::1]:9000" in allowed_hosts("fe80::1", 9000)
    assert not {h for h in allowed_hosts("0.0.0.0", 8000) if h.startswith(("0.0.0.0", "[::]"))}
    assert "localhost" in allowed_hosts("127.0.0.1", 80)            # a browser leaves out port 80
    assert "testserver" not in allowed_hosts("127.0.0.1", 8000)     # tests add it themselves
    assert "box.lan:8000" in allowed_hosts("0.0.0.0", 8000, ["box.lan:8000"])


@pytest.mark.parametrize("host", ["127.0.0.1:8123", "localhost:8123", "[::1]:8123", "LOCALHOST:8123"])
def test_loopback_hosts_are_served(app, host):
    with _client(app, host) as c:
        assert c.get("/api/runs").status_code == 200
        assert c.get("/").status_code == 200
        with c.websocket_connect(f"ws://{host}/ws") as ws:   # no Origin: a non-browser client
            assert ws.receive_json()["type"] == "hello"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8123", "127.0.0.1:9999", "testserver"])
def test_other_hosts_are_refused_on_every_route_and_the_socket(app, host):
    with _client(app, host) as c:
        for path in ("/", "/api/info", "/api/runs", "/js/main.js", "/openapi.json"):
            r = c.get(path)
            assert r.status_code == 400 and "is not this server" in r.json()["error"], path
        r = c.post("/api/upload", content=CSV, headers={"origin": f"http://{host}"})
        assert r.status_code == 400
        with pytest.raises(WebSocketDisconnect) as e, c.websocket_connect(f"ws://{host}/ws"):
            pass
        assert e.value.code == 1008


def test_a_foreign_origin_is_refused(app, tmp_path):
    uploads = tmp_path / "runs" / "uploads"
    with _client(app, "127.0.0.1:8123") as c:
        for origin in ("http://evil.example", "http://127.0.0.1:9999", "https://127.0.0.1:8123", "null"):
            with pytest.raises(WebSocketDisconnect) as e, \
                    c.websocket_connect("ws://127.0.0.1:8123/ws", headers={"origin": origin}):
                pass
            assert e.value.code == 1008, origin
            r = c.post("/api/upload", content=CSV, headers={"origin": origin, "content-type": "text/plain"})
            assert r.status_code == 403 and "another site" in r.json()["error"], origin
            assert c.get("/api/runs", headers={"origin": origin}).status_code == 403
        assert not list(uploads.iterdir())                   # nothing was written
        with c.websocket_connect("ws://127.0.0.1:8123/ws", headers={"origin": "http://127.0.0.1:8123"}) as ws:
            assert ws.receive_json()["type"] == "hello"      # the page's own origin


def test_uploads_need_the_pages_origin(app):
    with _client(app, "localhost:8123") as c:
        r = c.post("/api/upload", content=CSV, headers={"content-type": "text/csv"})
        assert r.status_code == 403 and "needs the page's Origin" in r.json()["error"]
        r = c.post("/api/upload", content=CSV, headers={"content-type": "text/csv",
                                                         "origin": "http://localhost:8123"})
        assert r.status_code == 200 and r.json()["data"]["name"] == "points"
