"""``nnplay serve`` answers its page before the training stack has loaded (server/boot.py)."""
from __future__ import annotations

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient

from nnplay.server.boot import Booting
from nnplay.server.guard import allowed_hosts

HOSTS = allowed_hosts("127.0.0.1", 8000) | {"testserver"}


def slow_app(release: threading.Event, events: list):
    """A build() that waits for ``release``; its app records its lifespan in ``events``."""
    def build():
        release.wait(10)

        @asynccontextmanager
        async def lifespan(_app):
            events.append("start")
            yield
            events.append("stop")
        app = FastAPI(lifespan=lifespan)
        app.get("/api/info")(lambda: {"ready": True})
        return app
    return build


def test_the_page_comes_before_the_app_and_the_rest_waits_for_it():
    release, events = threading.Event(), []
    booting = Booting(slow_app(release, events), HOSTS)
    with TestClient(booting) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()   # served while building
        assert client.get("/js/main.js").status_code == 200
        assert not booting.built.is_set() and events == []
        assert client.get("/", headers={"host": "evil.example:8000"}).status_code == 400   # guarded
        threading.Timer(0.3, release.set).start()
        assert client.get("/api/info").json() == {"ready": True}   # waited for the real app
        assert events == ["start"]                                 # its lifespan ran
    assert events == ["start", "stop"]


def test_a_failed_build_answers_500_with_the_reason():
    def build():
        raise RuntimeError("no torch here")
    with TestClient(Booting(build, HOSTS)) as client:
        r = client.get("/api/info")
        assert r.status_code == 500 and "no torch here" in r.json()["error"]
        assert client.get("/").status_code == 200


def test_nothing_outside_the_page_folder_is_served_early():
    release = threading.Event()
    booting = Booting(slow_app(release, []), HOSTS)
    assert booting._is_page({"type": "http", "method": "GET", "path": "/index.html"})
    assert not booting._is_page({"type": "http", "method": "GET", "path": "/../server/app.py"})
    assert not booting._is_page({"type": "http", "method": "GET", "path": "/api/info"})
    assert not booting._is_page({"type": "http", "method": "POST", "path": "/"})
    release.set()


def test_a_real_app_whose_start_fails_answers_500_and_a_stranger_400():
    @asynccontextmanager
    async def lifespan(_app):
        raise OSError("uploads folder is read-only")
        yield

    def build():
        app = FastAPI(lifespan=lifespan)
        app.get("/api/info")(lambda: {"ready": True})
        return app
    with TestClient(Booting(build, HOSTS)) as client:
        r = client.get("/api/info")   # answered, not left waiting for a start that never comes
        assert r.status_code == 500 and "read-only" in r.json()["error"]
        assert client.get("/api/info", headers={"host": "evil.example:8000"}).status_code == 400


def test_odd_paths_during_boot_are_not_page_files():
    release = threading.Event()
    booting = Booting(slow_app(release, []), HOSTS)
    assert not booting._is_page({"type": "http", "method": "GET", "path": "/\x00"})
    assert not booting._is_page({"type": "http", "method": "GET", "path": "/" + "a" * 5000})
    release.set()
