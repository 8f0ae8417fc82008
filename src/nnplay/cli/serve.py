"""nnplay serve: the browser playground."""
from __future__ import annotations

import os
import re
import socket
from typing import Annotated

import typer

from ..i18n import t
from ._app import check_threads, command, fail, set_threads, start


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn binds: TIME_WAIT is fine
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def open_browser(url: str) -> bool:
    """Open ``url`` in a graphical browser if this machine has one; never fails or blocks."""
    import sys
    import webbrowser
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or
                                                 os.environ.get("WAYLAND_DISPLAY")):
        return False   # no screen: a text browser would take over the terminal
    try:
        return webbrowser.get().open(url)
    except Exception:  # noqa: BLE001 - no browser is fine: the URL is printed
        return False


@command
def serve(
    port: Annotated[int, typer.Option("--port", help="Port (default 8000).")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to bind; 127.0.0.1 keeps it on this machine.")] = "127.0.0.1",
    open_: Annotated[bool, typer.Option("--open", help="Open the page in a browser (if there is one).")] = False,
    data_dir: Annotated[str | None, typer.Option("--data-dir", help="Folder with IDX sets (MNIST, Fashion-MNIST) and image folders (one sub-folder per class) in subfolders.")] = None,
    sessions: Annotated[int, typer.Option("--sessions", help="Training sessions (open tabs) at once.")] = 8,
    *, threads,
    allow_host: Annotated[list[str] | None, typer.Option("--allow-host", help="Another name the page may be opened as (this machine's LAN name or address with --host 0.0.0.0); repeatable.")] = None,
    runs_dir, lang,
) -> None:
    """Start the browser playground and print its URL."""
    lang = start(lang)
    check_threads(threads)   # torch is set to it in build(), off the listening path
    if not 0 < port < 65536:
        fail(f"--port: {port} is not a port; allowed: 1..65535")
    if sessions < 1:
        fail(f"--sessions: must be 1 or more; received {sessions}")
    if data_dir and not os.path.isdir(data_dir):
        fail(f"--data-dir: folder not found: {data_dir!r}")
    if not _port_free(host, port):
        fail(t("cli.serve.port_busy", lang, port=port))

    import uvicorn

    from ..server.boot import Booting
    from ..server.guard import allowed_hosts
    from ..server.limits import Limits

    limits = Limits(sessions=sessions)
    hosts = allowed_hosts(host, port, [h if re.search(r":\d+$", h) else f"{h}:{port}" for h in allow_host or ()])

    def build():   # in a thread, while the page is already served (server/boot.py)
        from ..server.app import create_app
        set_threads(threads)
        return create_app(limits, runs_dir=runs_dir, data_dir=data_dir, host=host, port=port,
                          allow_hosts=hosts)

    application = Booting(build, hosts)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    typer.echo(t("cli.serve.url", lang, url=url), err=False)
    if open_:   # once the server is listening; without a browser the printed URL is enough
        import threading
        threading.Timer(1.0, lambda: open_browser(url) or typer.echo(
            t("cli.serve.no_browser", lang), err=True)).start()
    uvicorn.run(application, host=host, port=port, log_level="warning",
                ws_max_size=limits.message_bytes * 2,
                timeout_graceful_shutdown=1,   # SIGTERM/Ctrl-C: open sockets get a second, then go
                ws_per_message_deflate=False)   # frames are small binary arrays on a local link: compressing them costs more than it saves
