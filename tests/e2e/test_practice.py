"""The practice views in Debian's headless Chromium against `nnplay serve` (fixtures in
conftest.py): the augmentation preview, the active-learning prompt and the nearest-neighbours
view, each with a 1400x900 screenshot (tmp_path, and $NNPLAY_SCREENSHOTS when set)."""
from __future__ import annotations

import pytest
from helpers import PAGE_WAIT, page_image_mode

pytestmark = pytest.mark.e2e

WAIT = PAGE_WAIT   # ms: the longest any condition may take



def test_augmentation_preview(page, shot):
    page_image_mode(page)
    assert "No transforms" in page.get_by_test_id("augment-list").inner_text()
    page.get_by_test_id("augment-type").select_option("rotate")
    page.get_by_test_id("augment-add").click()
    page.wait_for_function("() => (nnplay.sessions[0].spec.data.augment || []).length === 1", timeout=WAIT)
    page.get_by_test_id("augment-type").select_option("erase")
    page.get_by_test_id("augment-add").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.data.augment.length === 2", timeout=WAIT)
    page.get_by_test_id("augment-1-p").fill("1")
    page.get_by_test_id("augment-1-p").dispatch_event("change")
    page.wait_for_function("() => nnplay.sessions[0].spec.data.augment[1].p === 1", timeout=WAIT)
    page.get_by_test_id("augment-refresh").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=augment-after] canvas').length === 16",
                           timeout=WAIT)
    assert page.locator("[data-testid=augment-before] canvas").count() == 16
    assert "random erasing" in page.get_by_test_id("augment-list").inner_text()
    assert page.evaluate("location.hash").count("augment") >= 1            # the URL holds the transforms
    page.get_by_test_id("augment-view").scroll_into_view_if_needed()
    shot(page, "practice-augment")
    page.get_by_test_id("lang").click()
    page.wait_for_function("() => document.querySelector('[data-testid=augment-view] h2').textContent.includes('증강')",
                           timeout=WAIT)
    assert "무작위 지우기" in page.get_by_test_id("augment-list").inner_text()
    page.get_by_test_id("lang").click()


def test_active_learning_prompt(page, shot):
    for i in range(2):
        page.get_by_test_id("step").click()
        page.wait_for_function(f"() => nnplay.sessions[0].frame.header.epoch === {i + 1}", timeout=WAIT)
    page.get_by_test_id("ask-strategy").select_option("entropy")
    page.get_by_test_id("ask").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid^=ask-][data-testid$=-class-0]').length === 5",
                           timeout=WAIT)
    assert "~ask=entropy" in page.evaluate("location.hash")
    asked = page.evaluate("nnplay.practice.asked.map((p) => p.slice())")
    shot(page, "practice-active")
    before = page.evaluate("nnplay.sessions[0].info.sizes.train + nnplay.sessions[0].info.sizes.val + nnplay.sessions[0].info.sizes.test")
    page.get_by_test_id("ask-0-class-1").click()
    page.wait_for_function(f"() => nnplay.sessions[0].spec.data.name === 'points' && "
                           f"nnplay.sessions[0].spec.data.points.length === {before + 1}", timeout=WAIT)
    last = page.evaluate("nnplay.sessions[0].spec.data.points.at(-1)")
    assert last[2] == 1 and abs(last[0] - asked[0][0]) < 1e-3 and abs(last[1] - asked[0][1]) < 1e-3
    assert page.locator("[data-testid^=ask-][data-testid$=-class-0]").count() == 4
    page.get_by_test_id("step").click()                                   # training goes on with it
    page.wait_for_function("() => nnplay.sessions[0].frame && nnplay.sessions[0].frame.header.epoch >= 3", timeout=WAIT)
    url = page.url.split("#")[0]
    page.goto("about:blank")
    page.goto(url + "#~ask=entropy")                                      # the strategy comes back from the URL
    page.wait_for_function("() => window.nnplay && nnplay.sessions[0] && nnplay.sessions[0].frame", timeout=WAIT)
    assert page.get_by_test_id("ask-strategy").input_value() == "entropy"


def test_neighbors_view(page, shot):
    page_image_mode(page)
    assert "metric learning" in page.get_by_test_id("neighbors").inner_text()
    page.get_by_test_id("metric-toggle").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.model.embedding > 0 && nnplay.sessions[0].frame", timeout=WAIT)
    page.get_by_test_id("step").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch === 1", timeout=WAIT)
    page.get_by_test_id("pick-3").click()
    page.wait_for_function("() => document.querySelector('[data-testid=neighbor-query]')?.textContent.startsWith('#3')",
                           timeout=WAIT)
    assert page.locator("[data-testid^=neighbor-]").count() == 1 + 8
    sims = [float(t.split()[-1]) for t in page.locator("[data-testid^=neighbor-] figcaption").all_inner_texts()[1:]]
    assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
    page.get_by_test_id("neighbors-view").scroll_into_view_if_needed()
    shot(page, "practice-neighbors")
