"""The page at once, the library when it has loaded.

``nnplay serve`` listens before torch and the training stack are imported (several seconds on
a small machine). Meanwhile this ASGI app answers the page's own files (index.html, js, css)
behind the same ``Guard``; every other request (the socket, /api, /runs, /ort) waits for the
real app, which a background thread builds. The page therefore appears within a second and
connects when the server is ready. Once built, the real app answers everything, its lifespan
(upload clean-up at start, stopping sessions at shutdown) included.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Callable

from starlette.staticfiles import StaticFiles

from .answers import error
from .guard import Guard

log = logging.getLogger("nnplay.server")
WEB = Path(__file__).resolve().parent.parent / "web"


class Booting:
    """ASGI app: the static page now, ``build()``'s app once a thread has made it."""

    def __init__(self, build: Callable[[], object], hosts: frozenset[str], web: Path = WEB):
        self.web = web.resolve()
        self.page = Guard(StaticFiles(directory=self.web, html=True), hosts)
        self.failed = Guard(self._failed, hosts)   # the answer when the real app could not start
        self.app = self.failure = self._lifespan = None
        self.built = threading.Event()
        self.live = False          # the real app's lifespan has started (set on the event loop)
        self._thread = threading.Thread(target=self._build, args=(build,), name="nnplay-boot", daemon=True)

    def start(self) -> None:
        """Build the real app in the background. Called once the server listens: imports in two
        threads at once would wait on each other's module locks and delay the page."""
        if not self._thread.is_alive() and not self.built.is_set():
            self._thread.start()

    def _build(self, build) -> None:
        try:
            self.app = build()
        except BaseException as e:  # noqa: BLE001 - reported on every request, and logged
            self.failure = e
            log.exception("the playground could not start")
        finally:
            self.built.set()

    def _is_page(self, scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        path = scope["path"]
        if path == "/":
            return True
        try:
            file = (self.web / path.lstrip("/")).resolve()
            return file.is_relative_to(self.web) and file.is_file()
        except (ValueError, OSError):   # a NUL byte, a name too long: not one of the page's files
            return False

    async def _until_built(self) -> None:
        self.start()
        while not self.built.is_set():
            await asyncio.sleep(0.05)

    async def _ready(self):
        await self._until_built()
        while self.app is not None and not self.live:   # the lifespan task enters it
            await asyncio.sleep(0.01)
        return self.app

    async def _start_when_built(self) -> None:
        await self._until_built()
        if self.app is not None:
            try:
                self._lifespan = self.app.router.lifespan_context(self.app)
                await self._lifespan.__aenter__()
            except BaseException as e:  # noqa: BLE001 - answered on every request, and logged
                self.failure, self.app, self._lifespan = e, None, None
                log.exception("the playground could not start")
                return
            self.live = True

    async def _failed(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            await error(500, f"the playground could not start: {self.failure}")(scope, receive, send)
        else:
            await receive()
            await send({"type": "websocket.close", "code": 1011})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await receive()                                    # lifespan.startup
            starting = asyncio.create_task(self._start_when_built())
            await send({"type": "lifespan.startup.complete"})
            await receive()                                    # lifespan.shutdown
            if not self.live:
                starting.cancel()
            elif self._lifespan is not None:
                await self._lifespan.__aexit__(None, None, None)
            await send({"type": "lifespan.shutdown.complete"})
            return
        if not self.live and self._is_page(scope):
            await self.page(scope, receive, send)
            return
        app = await self._ready()
        if app is None:
            await self.failed(scope, receive, send)
            return
        await app(scope, receive, send)
