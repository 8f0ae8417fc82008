"""Every mode of the playground at 1400x900 and at a phone's 390x844, in English and Korean:
no control covered by another, none out of its box, no label cut, no word broken, no page
wider than the window (tests/e2e/layout.py), with a screenshot of each (tmp_path, and
$NNPLAY_SCREENSHOTS when set). One server, one browser tab for the whole module: each mode is
set up once and then checked at both sizes in both languages."""
from __future__ import annotations

import pytest
from e2e.layout import layout_problems
from helpers import PAGE_WAIT, page_ready, page_tab

pytestmark = pytest.mark.e2e

WAIT = PAGE_WAIT   # ms: the longest any condition may take
SIZES = {"wide": (1400, 900), "phone": (390, 844)}
MODES = ["2d", "2d-compare", "2d-practice", "lesson", "image", "image-practice", "trust", "seq", "gen", "runs", "predict"]



def _step(pg) -> None:
    at = pg.evaluate("nnplay.sessions.map((s) => s.frame.header.epoch)")
    pg.get_by_test_id("step").click()
    pg.wait_for_function(f"() => nnplay.sessions.every((s, i) => s.frame && s.frame.header.epoch > {at}[i])", timeout=WAIT)


def _open(pg, mode: str) -> None:
    """Bring the page to ``mode`` with something in each view to lay out."""
    if pg.evaluate("nnplay.sessions.length") > 1:
        pg.get_by_test_id("compare").click()
    if pg.get_by_test_id("lesson-panel").is_visible():
        pg.get_by_test_id("lesson-close").click()
    if mode == "lesson":   # a lesson's panel over the 2-D view (the Lessons menu)
        pg.get_by_test_id("lessons").click()
        pg.get_by_test_id("lesson-xor").click()
        pg.get_by_test_id("lesson-panel").wait_for(state="visible", timeout=WAIT)
        page_ready(pg, mode="2d")
    elif mode.startswith("2d"):
        pg.get_by_test_id("mode-2d").click()
        page_ready(pg, mode="2d")
        _step(pg)
        if mode == "2d-compare":
            pg.get_by_test_id("compare").click()
            pg.wait_for_function("() => nnplay.sessions[1] && nnplay.sessions[1].frame", timeout=WAIT)
            _step(pg)
        if mode == "2d-practice":   # the active-learning prompt, and the "Saved as run" notice
            pg.get_by_test_id("ask").click()
            pg.wait_for_function("() => document.querySelectorAll('[data-testid^=ask-][data-testid$=-class-0]').length",
                                 timeout=WAIT)
            pg.get_by_test_id("save").click()
            pg.get_by_test_id("saved-run").wait_for(timeout=WAIT)
    elif mode.startswith("image") or mode == "trust":
        pg.get_by_test_id("mode-image").click()
        page_ready(pg, mode="image")
        _step(pg)
        if mode == "image-practice":   # the augmentation preview and nearest neighbors
            pg.get_by_test_id("augment-type").select_option("rotate")
            pg.get_by_test_id("augment-add").click()
            pg.wait_for_function("() => (nnplay.sessions[0].spec.data.augment || []).length === 1", timeout=WAIT)
            pg.get_by_test_id("metric-toggle").click()
            pg.wait_for_function("() => nnplay.sessions[0].spec.model.embedding > 0 && nnplay.sessions[0].frame "
                                 "&& !nnplay.sessions[0].pending", timeout=WAIT)
            _step(pg)
            pg.get_by_test_id("pick-3").click()
            pg.wait_for_function("() => document.querySelector('[data-testid=neighbor-query]')", timeout=WAIT)
            pg.get_by_test_id("augment-refresh").click()
            pg.wait_for_function("() => document.querySelectorAll('[data-testid=augment-after] canvas').length",
                                 timeout=WAIT)
        if mode == "trust":
            pg.get_by_test_id("trust-tab").click()
            pg.wait_for_function("() => /^0\\.\\d{3}$/.test(document.querySelector('[data-testid=trust-ece]').textContent)"
                                 " && document.querySelector('[data-testid=trust-pred-adv]').textContent.includes('%')",
                                 timeout=WAIT)
    elif mode == "seq":
        pg.get_by_test_id("mode-seq").click()
        page_ready(pg, mode="sequence")
        _step(pg)
    elif mode == "gen":
        pg.get_by_test_id("mode-gen").click()
        page_ready(pg, mode="generative")
        _step(pg)
    else:
        pg.get_by_test_id(f"{mode}-tab").click()
        pg.get_by_test_id(f"{mode}-view").wait_for(timeout=WAIT)
        if mode == "runs":
            pg.wait_for_function("() => document.querySelectorAll('[data-testid=runs-view] tbody tr').length", timeout=WAIT)
        pg.wait_for_timeout(300)   # the model card and the drawing pad


@pytest.fixture(scope="module")
def tab(browser, server):
    """One tab for the module; ``state`` remembers which mode and language it shows."""
    with page_tab(browser, server["url"], {"width": 1400, "height": 900}) as (pg, errors):
        _step(pg)   # a run in the store, for the Runs table
        pg.get_by_test_id("save").click()
        pg.get_by_test_id("saved-run").wait_for(timeout=WAIT)
        pg.get_by_test_id("saved").locator(".close").click()
        yield {"page": pg, "mode": None, "lang": "en", "errors": errors}


CASES = [pytest.param(m, lang, size, id=f"{m}-{lang}-{size}") for m in MODES for lang in ("en", "ko") for size in SIZES]


@pytest.mark.parametrize("mode, lang, size", CASES)
def test_layout(tab, shot, mode, lang, size):
    pg = tab["page"]
    if tab["mode"] != mode:
        pg.set_viewport_size({"width": 1400, "height": 900})
        if tab["lang"] != "en":
            pg.get_by_test_id("lang").click()
            tab["lang"] = "en"
        tab["mode"] = None
        _open(pg, mode)
        tab["mode"] = mode
    if tab["lang"] != lang:
        pg.get_by_test_id("lang").click()
        pg.wait_for_function(f"() => document.documentElement.lang === '{lang}'", timeout=WAIT)
        tab["lang"] = lang
    w, h = SIZES[size]
    pg.set_viewport_size({"width": w, "height": h})
    pg.evaluate("window.scrollTo(0, 0)")
    pg.wait_for_function("() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok(true))))")
    problems = layout_problems(pg)
    shot(pg, f"layout-{mode}-{lang}-{w}")
    assert not tab["errors"], tab["errors"]
    assert not problems, "\n".join(problems)
