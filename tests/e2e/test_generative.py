"""The playground's Generative mode in Debian's headless Chromium against `nnplay serve`: the
ring GAN's heat map, gradient arrows and mode coverage after separate D- and G-steps, the
D-/G-steps sliders changing live, a VAE's latent map and interpolation between two picked test
images, both languages, and the URL that brings it back. Screenshots (1400x900) go to tmp_path
and $NNPLAY_SCREENSHOTS when set. Short: a few epochs, not the lessons' bars."""
from __future__ import annotations

import pytest
from helpers import HANGUL, PAGE_WAIT, page_in_korean, page_reopen, page_set, page_shot, page_steps

pytestmark = pytest.mark.e2e




def _ready(pg, kind: str, epoch: int = 0):
    pg.wait_for_function(f"() => {{ const l = window.nnplay && nnplay.sessions[0]; return l && l.info && l.info.mode === 'generative' && "
                         f"l.gen && l.gen.kind === '{kind}' && !l.pending && l.frame && l.frame.header.kind && "
                         f"l.frame.header.epoch >= {epoch}; }}", timeout=PAGE_WAIT)





def _frame_after(pg, action, key: str):
    """Run ``action``; wait for a newer frame; -> its header."""
    n = pg.evaluate("nnplay.sessions[0].frames")
    action()
    pg.wait_for_function(f"() => nnplay.sessions[0].frames > {n} && nnplay.sessions[0].frame.header.{key} !== undefined",
                         timeout=PAGE_WAIT)
    return pg.evaluate("nnplay.sessions[0].frame.header")


def test_gan_ring_heat_map_arrows_steps_and_url(page, server, tmp_path):
    page.get_by_test_id("mode-gen").click()
    _ready(page, "gan")
    kinds = page.eval_on_selector_all("[data-testid=gen-kind] option", "os => os.map(o => o.value)")
    assert kinds == page.evaluate("nnplay.hello.options.generative_kinds")          # from the hello
    assert page.get_by_test_id("gen-d-steps").get_attribute("max") == str(
        page.evaluate("nnplay.hello.schema.$defs.GanTrainSpec.properties.d_steps.maximum"))
    # one D-step, one G-step, one of each: the losses of exactly those steps come back
    h = _frame_after(page, lambda: page.get_by_test_id("gen-step-d").click(), "gan.d_loss")
    assert "g_loss" not in h["gan"] and h["epoch"] == 0
    h = _frame_after(page, lambda: page.get_by_test_id("gen-step-g").click(), "gan.g_loss")
    h = _frame_after(page, lambda: page.get_by_test_id("gen-step-both").click(), "gan.g_loss")
    page_steps(page, 3)
    f = page.evaluate("(() => { const a = nnplay.sessions[0].frame.arrays; return {heat: a.heat.shape, arrows: a.arrows.shape, "
                      "fake: a.fake.shape, manifold: a.manifold.shape, h: nnplay.sessions[0].frame.header.gan}; })()")
    assert f["heat"] == [50, 50] and f["arrows"] == f["fake"] == [300, 2] and f["manifold"] == [12, 12, 2]
    assert page.get_by_test_id("gen-modes").inner_text() == f"{f['h']['modes_covered']} / 8"
    assert page.get_by_test_id("gen-hq").inner_text() == f"{100 * f['h']['high_quality']:.1f}%"
    # the plane has the heat map's colors (not blank)
    colors = page.eval_on_selector("[data-testid=gen-plane]", """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const s = new Set(); for (let i = 0; i < d.length; i += 4 * 97) s.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]); return s.size; }""")
    assert colors > 20
    # D-steps per round change live: the same GAN goes on (epoch kept), the URL says so
    epoch = page.evaluate("nnplay.sessions[0].frame.header.epoch")
    page_set(page, "gen-d-steps", 3)
    page.wait_for_function("() => nnplay.sessions[0].spec.train.gan.d_steps === 3 && !nnplay.sessions[0].pending", timeout=PAGE_WAIT)
    assert page.evaluate("nnplay.sessions[0].frame.header.epoch") >= epoch
    assert "train.gan.d_steps=3" in page.url and "model.kind=gan" in page.url   # readable, as README.md writes it
    page.get_by_test_id("gen-show-manifold").click()
    page_in_korean(page, lambda lang: page_shot(page, tmp_path, f"gen-gan-ring-{lang}"),
                   lambda: all(HANGUL.search(page.get_by_test_id(i).inner_text()) for i in ("gen-step-d", "gen-readouts")))
    page_reopen(page)   # the link brings the experiment back
    _ready(page, "gan")
    assert page.evaluate("nnplay.sessions[0].spec.train.gan.d_steps") == 3
    assert page.get_by_test_id("gen-d-steps-value").inner_text() == "3"


def test_vae_latent_map_interpolation_and_url(page, server, tmp_path):
    page.get_by_test_id("mode-gen").click()
    _ready(page, "gan")
    page.get_by_test_id("gen-kind").select_option("vae")
    _ready(page, "vae")
    assert page.get_by_test_id("gen-plane").is_hidden() and page.get_by_test_id("gen-latent").is_visible()
    page_steps(page, 4)
    page_set(page, "gen-pick-a", 3)
    h = _frame_after(page, lambda: page_set(page, "gen-pick-b", 10), "pick")
    page.wait_for_function("() => nnplay.sessions[0].frame.header.pick.b === 10", timeout=PAGE_WAIT)
    h = page.evaluate("nnplay.sessions[0].frame.header")
    labels = page.evaluate("nnplay.sessions[0].gen.labels")
    assert h["pick"] == {"a": 3, "b": 10, "label_a": labels[3], "label_b": labels[10]}
    assert page.evaluate("nnplay.sessions[0].frame.arrays.morph.shape") == [9, 1, 8, 8]
    page_set(page, "gen-morph", 4)
    assert page.evaluate("document.querySelectorAll('[data-testid=gen-strip] canvas').length") == 9
    assert page.evaluate("[...document.querySelectorAll('[data-testid=gen-strip] canvas')].findIndex(c => c.classList.contains('on'))") == 4
    assert "~pick=3,10" in page.url and "~morph=4" in page.url
    page_in_korean(page, lambda lang: page_shot(page, tmp_path, f"gen-vae-interpolation-{lang}"),
                   lambda: HANGUL.search(page.get_by_test_id("gen-view").inner_text()))
    page_reopen(page)
    _ready(page, "vae")
    page.wait_for_function("() => nnplay.sessions[0].frame.header.pick && nnplay.sessions[0].frame.header.pick.b === 10", timeout=PAGE_WAIT)
    assert page.get_by_test_id("gen-morph-value").inner_text() == "4"


def test_gan_on_points_the_learner_draws(page):
    page.get_by_test_id("mode-gen").click()
    _ready(page, "gan")
    real = page.evaluate("nnplay.sessions[0].gen.real.length")
    page.get_by_test_id("gen-draw").check()
    page.get_by_test_id("gen-plane").click(position={"x": 60, "y": 60})   # top left: x1 < 0 < x2
    page.wait_for_function("() => nnplay.sessions[0].spec.data.name === 'points' && !nnplay.sessions[0].pending", timeout=PAGE_WAIT)
    _ready(page, "gan")
    pts = page.evaluate("nnplay.sessions[0].spec.data.points")
    assert len(pts) == real + 1 and {p[2] for p in pts} == {0}          # one label: labels are not learned
    assert pts[-1][0] < 0 < pts[-1][1]
    h = _frame_after(page, lambda: page.get_by_test_id("gen-step-both").click(), "gan.g_loss")
    assert "modes_covered" not in h["gan"]                              # drawn points have no known modes
    assert page.get_by_test_id("gen-data").input_value() == "points"
