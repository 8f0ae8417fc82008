"""What the browser tests share: `nnplay serve` on a free port, Debian's headless Chromium
driven by Playwright, and screenshots kept in tmp_path (and $NNPLAY_SCREENSHOTS if set)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`nnplay serve` on a free 127.0.0.1 port, with its own run store."""
    runs = tmp_path_factory.mktemp("runs")
    port = _free_port()
    exe = shutil.which("nnplay", path=str(Path(sys.executable).parent)) or "nnplay"
    env = {**os.environ, "NNPLAY_RUNS": str(runs)}
    # its output to files: a pipe that nobody reads could fill up and stall the server
    logs = tmp_path_factory.mktemp("serve")
    out, log = logs / "stdout", logs / "stderr"
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--open"], env=env,
                            stdout=out.open("w"), stderr=log.open("w"), text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "api/info", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"nnplay serve did not start: {log.read_text()}")
            time.sleep(0.1)
    first = out.read_text().splitlines()[0]
    assert url in first          # the command prints the URL (--open without a screen: no browser)
    yield {"url": url, "runs": runs, "log": log}
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():   # pragma: no cover - `make browser` installs it
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (make browser)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shot(tmp_path):
    """shot(page, name): a screenshot of the whole page, kept where the tests say."""
    def take(pg, name: str) -> None:
        path = tmp_path / f"{name}.png"
        size = pg.viewport_size   # grow the window to the page, so the help line sits at the bottom
        pg.set_viewport_size({"width": size["width"], "height": max(size["height"], pg.evaluate(
            "document.documentElement.scrollHeight"))})
        pg.screenshot(path=path)
        pg.set_viewport_size(size)
        keep = os.environ.get("NNPLAY_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / path.name)
        assert path.stat().st_size > 10_000
    return take
