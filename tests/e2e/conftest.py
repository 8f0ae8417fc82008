"""What the browser tests share: `nnplay serve` on a free port, Debian's headless Chromium
driven by Playwright, and screenshots kept in tmp_path (and $NNPLAY_SCREENSHOTS if set)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import page_tab, start_serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]



@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`nnplay serve` on a free 127.0.0.1 port, with its own run store."""
    runs, logs = tmp_path_factory.mktemp("runs"), tmp_path_factory.mktemp("serve")
    proc, url = start_serve(runs, logs, "--open")
    out, log = logs / "stdout", logs / "stderr"
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
def viewport():
    """The page's window size; a module that wants another one overrides this fixture."""
    return {"width": 1400, "height": 900}


@pytest.fixture
def page(browser, server, viewport):
    """A tab on the playground (1400x900 unless ``viewport`` says otherwise), in English, once
    its first frame is drawn; the test fails if the page threw an error."""
    with page_tab(browser, server["url"], viewport) as (pg, _):
        yield pg


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
