"""The 2-D page as a new learner meets it at 1400x900, in English and Korean (issue 15): the
loss chart and the 2-D set-up survive a visit to Images, the header keeps its rows, nothing
hides under the help line, the diagram and its strips follow the network, labels keep their
words whole, and a click on a link edits that weight through the library."""
from __future__ import annotations

import pytest
from helpers import PAGE_WAIT, page_ready

pytestmark = pytest.mark.e2e

WAIT = PAGE_WAIT   # ms: the longest any condition may take


def _korean(pg):
    pg.get_by_test_id("lang").click()
    pg.wait_for_function("() => document.documentElement.lang === 'ko'", timeout=WAIT)
    pg.wait_for_timeout(200)


def _box(pg, selector: str) -> dict:
    return pg.evaluate(f"() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();"
                       " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; }")


# Places where a line breaks inside a word (the character before the break is no space or hyphen).
BROKEN_WORDS = """(sel) => [...document.querySelectorAll(sel)].filter((e) => e.offsetParent).flatMap((e) => {
  const node = [...e.childNodes].find((n) => n.nodeType === 3);
  if (!node) return [];
  const text = node.textContent, r = document.createRange(), out = [];
  let top = null;
  for (let i = 0; i < text.length; i++) {
    r.setStart(node, i); r.setEnd(node, i + 1);
    const rect = r.getClientRects()[0];
    if (!rect) continue;
    if (top !== null && rect.top > top + 2 && !/[\\s-]/.test(text[i - 1]) && !/\\s/.test(text[i])) out.push(text);
    top = rect.top;
  }
  return out;
})"""

# How many lines an element's text takes.
LINES = """(sel) => [...document.querySelectorAll(sel)].filter((e) => e.offsetParent && e.textContent.trim()).map((e) => {
  const r = document.createRange(); r.selectNodeContents(e);
  return new Set([...r.getClientRects()].map((q) => Math.round(q.top))).size;
})"""


def test_loss_chart_and_2d_setup_come_back_after_images(page):
    page.get_by_test_id("dataset-xor").click()
    page_ready(page)
    page.get_by_test_id("add-layer").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.model.hidden.length === 4 && !nnplay.sessions[0].pending",
                           timeout=WAIT)
    page_ready(page)
    hash_before = page.evaluate("location.hash")
    assert "xor" in hash_before
    page.get_by_test_id("mode-image").click()
    page_ready(page, mode="image")
    page.get_by_test_id("mode-2d").click()
    page_ready(page, mode="2d")
    spec = page.evaluate("nnplay.sessions[0].spec")
    assert spec["data"]["name"] == "xor" and len(spec["model"]["hidden"]) == 4   # the learner's set-up
    assert page.evaluate("location.hash") == hash_before
    chart = page.get_by_test_id("chart")
    assert chart.is_visible()
    assert page.evaluate("document.querySelector('[data-testid=chart]').closest('main').id") == "view-2d"
    page.get_by_test_id("step").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch === 1", timeout=WAIT)
    assert chart.bounding_box()["height"] > 60


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_header_keeps_two_rows_when_the_engine_badge_shows(page, lang):
    if lang == "ko":   # as a Korean learner opens it
        page.evaluate("localStorage.setItem('nnplay.lang', 'ko')")
        page.reload()
        page_ready(page)
    for width in (1320, 1360, 1400, 1480, 1600, 1680):   # 1400 less a scrollbar, and wider windows
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate("() => { const s = nnplay.sessions[0]; s.frame.header.engine = 'eager'; nnplay.draw(s); }")
        before = _box(page, ".topbar")["height"]
        top = _box(page, "#view-2d")["top"]
        assert before < 140, width                       # two rows, no column of settings
        for kind in ("compiling", "compiled"):
            page.evaluate(f"() => {{ const s = nnplay.sessions[0]; s.frame.header.engine = '{kind}'; nnplay.draw(s); }}")
            assert page.get_by_test_id("engine").is_visible()
            assert _box(page, ".topbar")["height"] == before, (width, kind)
            assert _box(page, "#view-2d")["top"] == top, (width, kind)   # the page does not jump


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_2d_page_fits_1400x900_and_nothing_hides_under_the_help_line(page, lang, shot):
    if lang == "ko":
        _korean(page)
    page.get_by_test_id("step").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch === 1 "
                           "&& document.querySelectorAll('.grad-row').length === 4", timeout=WAIT)
    help_top = _box(page, "#help")["top"]
    for sel in ["[data-testid=init]", "[data-testid=dropout]", "[data-testid=batchnorm]",
                "[data-testid=layernorm]", ".grad-row:last-child", ".data-col .hint.small",
                "[data-testid=boundary]", "[data-testid=seed]"]:
        assert _box(page, sel)["bottom"] <= help_top, sel
    assert page.evaluate("document.documentElement.scrollHeight") <= 900
    shot(page, f"2d-fixed-{lang}")


def test_gradient_strip_follows_the_layers(page):
    page.get_by_test_id("step").click()
    page.wait_for_function("() => document.querySelectorAll('.grad-row').length === 4", timeout=WAIT)
    page.get_by_test_id("add-layer").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.model.hidden.length === 4 && nnplay.sessions[0].frame "
                           "&& !nnplay.sessions[0].pending", timeout=WAIT)
    page.wait_for_timeout(300)
    names = page.eval_on_selector_all(".grad-row .name", "es => es.map((e) => e.textContent)")
    assert names == ["dense1", "dense2", "dense3", "dense4", "out"]
    page.get_by_test_id("remove-layer").click()
    page.get_by_test_id("remove-layer").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.model.hidden.length === 2 && nnplay.sessions[0].frame "
                           "&& !nnplay.sessions[0].pending", timeout=WAIT)
    page.wait_for_timeout(300)
    names = page.eval_on_selector_all(".grad-row .name", "es => es.map((e) => e.textContent)")
    assert names == ["dense1", "dense2", "out"]


def test_activation_box_says_mixed_when_layers_differ(page):
    top = page.get_by_test_id("activation")
    first = page.eval_on_selector("[data-testid=layer-act-0]", "s => s.value")
    other = page.eval_on_selector("[data-testid=layer-act-0]",
                                  f"s => [...s.options].map((o) => o.value).find((v) => v !== {first!r})")
    page.get_by_test_id("layer-act-0").select_option(other)
    page.wait_for_function("() => nnplay.sessions[0].spec.model.activations && !nnplay.sessions[0].pending",
                           timeout=WAIT)
    page_ready(page)
    assert top.evaluate("s => s.options[s.selectedIndex].textContent") == "mixed"
    _korean(page)
    assert top.evaluate("s => s.options[s.selectedIndex].textContent") == "층마다 다름"
    top.select_option(first)                              # one activation for every layer again
    page.wait_for_function("() => !nnplay.sessions[0].spec.model.activations && !nnplay.sessions[0].pending",
                           timeout=WAIT)
    assert top.evaluate("s => s.value") == first
    assert page.eval_on_selector("[data-testid=layer-act-0]", "s => s.value") == first


def test_colorbar_only_for_maps_on_the_orange_blue_scale(page):
    bar = page.locator(".colorbar")
    assert bar.is_visible()
    page.get_by_test_id("classes-3").click()
    page.wait_for_function("() => nnplay.sessions[0].info.num_classes === 3 && nnplay.sessions[0].frame "
                           "&& !nnplay.sessions[0].pending", timeout=WAIT)
    page.wait_for_timeout(200)
    assert not bar.is_visible()
    page.locator(".unit:not(.feature):not(.output)").first.hover()   # a neuron's map: on the -1..1 scale
    assert bar.is_visible()
    page.mouse.move(5, 5)
    page.get_by_test_id("classes-2").click()
    page.wait_for_function("() => nnplay.sessions[0].info.num_classes === 2 && nnplay.sessions[0].frame "
                           "&& !nnplay.sessions[0].pending", timeout=WAIT)
    page.wait_for_timeout(200)
    assert bar.is_visible()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_labels_keep_their_words_whole(page, lang):
    page.get_by_test_id("add-layer").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.model.hidden.length === 4 && !nnplay.sessions[0].pending",
                           timeout=WAIT)
    page.get_by_test_id("add-unit-0").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.model.hidden[0] === 17 && !nnplay.sessions[0].pending",
                           timeout=WAIT)
    page_ready(page)
    if lang == "ko":
        _korean(page)
    page.get_by_test_id("step").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch === 1", timeout=WAIT)
    page.evaluate("""() => { const s = nnplay.sessions[0], h = s.frame.header;   // a layer with dead neurons
        h.activations = {...h.activations, [s.info.blocks[0].act]: {dead: 0.19}}; nnplay.draw(s); }""")
    assert page.evaluate(BROKEN_WORDS, ".dataset span, .layer-head .count, .grad-row .dead, .field .label, "
                                       ".hyper-item .label, .tabs button") == []
    assert set(page.evaluate(LINES, ".layer-head .count, .grad-row .dead")) == {1}
    # every activation's name fits its per-layer menu ("Leaky ReLU", not "Leaky ReLi")
    cut = page.evaluate("""() => { const ctx = document.createElement('canvas').getContext('2d');
        return [...document.querySelectorAll('.layer-act')].flatMap((s) => { ctx.font = getComputedStyle(s).font;
          return [...s.options].filter((o) => ctx.measureText(o.textContent).width + 30 > s.clientWidth).map((o) => o.textContent); }); }""")
    assert cut == []


def test_loss_chart_is_tall_with_an_epoch_axis_and_labels_off_the_curves(page):
    page.get_by_test_id("play").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch >= 30", timeout=WAIT)
    page.get_by_test_id("play").click()
    page.wait_for_function("() => !nnplay.sessions[0].frame.header.running", timeout=WAIT)
    assert page.get_by_test_id("chart").bounding_box()["height"] >= 110
    layout = page.evaluate("nnplay.sessions[0].chart.layout")
    plot = layout["plot"]
    epochs = [lab for lab in layout["labels"] if lab["axis"] == "epoch"]
    assert len(epochs) >= 2 and epochs[0]["text"] == "0"
    assert any(lab["axis"] == "loss" for lab in layout["labels"])
    for lab in layout["labels"]:   # each label's box is outside the plot where the curves are
        inside = lab["x0"] < plot["x1"] and lab["x1"] > plot["x0"] and lab["y0"] < plot["y1"] and lab["y1"] > plot["y0"]
        assert not inside, lab


def test_biases_are_drawn_on_the_neurons(page):
    page.get_by_test_id("step").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch === 1", timeout=WAIT)
    page.wait_for_timeout(300)
    shown = page.eval_on_selector_all(".unit:not(.feature) .bias", "es => es.map((e) => +e.dataset.value)")
    biases = page.evaluate("""() => { const b = nnplay.network.biases;
        return [...['dense1', 'dense2', 'dense3'].flatMap((n) => [...b['bias:' + n].data]), ...b['bias:out'].data]; }""")
    assert len(shown) == 3 * 16 + 1
    assert shown == pytest.approx(biases, abs=1e-3)
    page.get_by_test_id("bias-dense1-2").click()           # a click on a bias sets it, as a link's weight
    box = page.get_by_test_id("weight-edit")
    box.fill("-0.375")
    box.press("Enter")
    page.wait_for_function("() => Math.abs(nnplay.network.biases['bias:dense1'].data[2] + 0.375) < 1e-6", timeout=WAIT)
    assert page.get_by_test_id("bias-dense1-2").get_attribute("data-value") == "-0.375"


def test_click_a_link_to_edit_its_weight(page):
    xy = page.evaluate("""() => { const l = nnplay.network.links[1].group[0];
        const r = nnplay.network.canvas.getBoundingClientRect();
        return [r.left + (l.x1 + l.x2) / 2, r.top + (l.y1 + l.y2) / 2]; }""")
    page.mouse.click(*xy)
    box = page.get_by_test_id("weight-edit")
    assert box.is_visible()
    box.fill("0.625")
    box.press("Enter")
    page.wait_for_function("() => Math.abs(nnplay.network.weights.dense2.data[0] - 0.625) < 1e-6", timeout=WAIT)
    assert page.evaluate("nnplay.sessions[0].frame.header.epoch") == 0
    assert not box.is_visible()
    page.mouse.click(*xy)                                 # a value that is no number changes nothing
    box.fill("big")
    box.press("Enter")
    page.wait_for_timeout(300)
    assert page.evaluate("nnplay.network.weights.dense2.data[0]") == pytest.approx(0.625)
