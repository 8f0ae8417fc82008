"""Who may use the server: the Host allow-list and the Origin check (light: starlette only,
so ``nnplay serve`` can guard its page before the training stack is imported)."""
from __future__ import annotations

import logging
from typing import Iterable

from starlette.datastructures import Headers

from .answers import error

log = logging.getLogger("nnplay.server")
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host header values this server answers: the loopback names and the bound address,
    each with the port (a browser leaves out port 80), plus ``extra`` exactly as given."""
    names = {*LOOPBACK, f"[{host}]" if ":" in host else host} - {"0.0.0.0", "[::]", ""}
    hosts = {f"{n}:{port}" for n in names} | (names if port == 80 else set())
    return frozenset(h.lower() for h in (*hosts, *extra))


class Guard:
    """Only the page itself may drive the server (ASGI middleware, every HTTP route and /ws).

    A Host outside ``hosts`` gets 400 (DNS rebinding: another site's name pointing here);
    an Origin other than the page's own (scheme://Host) gets 403; a request that changes
    state (any method but GET, HEAD, OPTIONS) needs the page's Origin. A socket may come
    without an Origin (a browser always sends one; a Python client need not). Refused
    sockets are closed before they are accepted (HTTP 403 to the client).
    """

    def __init__(self, app, hosts: frozenset[str]):
        self.app, self.hosts = app, hosts

    def problem(self, scope) -> tuple[int, str] | None:
        headers = Headers(scope=scope)
        host, origin = headers.get("host", "").lower(), headers.get("origin")
        if host not in self.hosts:
            return 400, (f"host: {host!r} is not this server; allowed: {', '.join(sorted(self.hosts))} "
                         f"(nnplay serve --allow-host adds one)")
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        if origin is not None and origin.lower() != f"{scheme}://{host}":
            return 403, f"origin: {origin!r} is another site; only the page served here may use this server"
        if origin is None and scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            return 403, f"origin: {scope['method']} needs the page's Origin header ({scheme}://{host})"
        return None

    async def __call__(self, scope, receive, send) -> None:
        refused = self.problem(scope) if scope["type"] in ("http", "websocket") else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, message = refused
        log.warning("refused %s %s: %s", scope["type"], scope.get("path"), message)
        if scope["type"] == "websocket":
            await receive()                               # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        await error(status, message)(scope, receive, send)
