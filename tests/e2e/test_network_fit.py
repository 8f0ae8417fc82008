"""The network diagram fits its column (issue 15): the vanishing-gradient lesson's 10 hidden
layers, in compare mode at 1400x900, and the page's allowed most layers alone. Every unit box
and every per-layer control lies inside the diagram's box and none overlaps another."""
from __future__ import annotations

import pytest
from helpers import HANGUL, PAGE_WAIT, page_in_korean, page_open_lesson

from nnplay.server.limits import Limits

pytestmark = pytest.mark.e2e

# the boxes of the diagram's parts, in page pixels: units (with their labels), each layer's
# controls (+/-, count, activation), the column labels, and the diagram itself
BOXES = """() => {
  const net = document.querySelector('[data-testid=network]');
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const parts = [...net.querySelectorAll('.unit, .feature-name, .layer-head .pm, .layer-head .count, .layer-act, .col-label')];
  return { net: box(net), parts: parts.map((e) => ({ name: e.dataset.testid || e.className + ':' + e.textContent, box: box(e) })) };
}"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def assert_fits(pg) -> int:
    """Every part of the diagram inside its box, no two overlapping; -> the number of parts."""
    got = pg.evaluate(BOXES)
    net, parts = got["net"], got["parts"]
    for p in parts:
        x0, y0, x1, y1 = p["box"]
        assert x0 >= net[0] - 0.5 and y0 >= net[1] - 0.5 and x1 <= net[2] + 0.5 and y1 <= net[3] + 0.5, (p, net)
    clash = [(p["name"], q["name"]) for i, p in enumerate(parts) for q in parts[i + 1:]
             if _overlap(p["box"], q["box"])]
    assert not clash, clash[:10]
    return len(parts)



def test_ten_layers_fit_in_compare_mode(page, shot):
    page_open_lesson(page, "vanishing_gradient", epochs=1)
    page.wait_for_function("() => nnplay.sessions.length === 2 && nnplay.sessions.every((s) => s.frame && s.info)",
                           timeout=PAGE_WAIT)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=network] .layer-head').length === 10",
                           timeout=PAGE_WAIT)
    assert page.evaluate("document.body.classList.contains('comparing')")
    assert assert_fits(page) > 10 * 16
    page_in_korean(page, lambda lang: shot(page, f"network-ten-layers-{lang}"),
                   lambda: HANGUL.search(page.get_by_test_id("network").inner_text()) and assert_fits(page))


def test_the_most_layers_fit_alone(page, shot):
    """The page's own most hidden layers (the server's Limits), in the 2-D view alone."""
    most = Limits().hidden_layers
    heads = "document.querySelectorAll('[data-testid=network] .layer-head').length"
    while (n := page.evaluate(heads)) < most:
        page.get_by_test_id("add-layer").click()
        page.wait_for_function(f"() => {heads} === {n + 1}", timeout=PAGE_WAIT)
    assert not page.evaluate("document.body.classList.contains('comparing')")
    assert assert_fits(page) > most * 4
    shot(page, "network-most-layers-en")
    page.get_by_test_id("add-layer").click()   # the most: one more is refused
    page.get_by_test_id("error").wait_for(state="visible", timeout=PAGE_WAIT)
    assert page.evaluate(heads) == most
