"""The playground's Sequences mode in Debian's headless Chromium against `nnplay serve`: a series
forecast against its baselines, recurrent blocks edited like the other modes' networks, gates and
the gradient over time for a chosen test sequence, Korean text samples at a chosen temperature,
both languages, and the URL that brings it all back. Screenshots (1400x900) go to tmp_path and
$NNPLAY_SCREENSHOTS when set."""
from __future__ import annotations

import pytest
from helpers import HANGUL, PAGE_WAIT, page_in_korean, page_set, page_shot, page_steps

pytestmark = pytest.mark.e2e




def _seq_ready(pg, kind: str, epoch: int = 0):
    pg.wait_for_function(f"() => {{ const l = window.nnplay && nnplay.sessions[0]; return !!l && l.info && l.info.mode === 'sequence' && "
                         f"l.seq && l.seq.kind === '{kind}' && !l.pending && l.frame && "
                         f"l.frame.header.epoch >= {epoch} && l.frame.header.sequence; }}", timeout=PAGE_WAIT)



def _shot(pg, tmp_path, name: str, testid: str):
    """A 1400x900 screenshot with ``testid`` scrolled into view."""
    pg.get_by_test_id(testid).scroll_into_view_if_needed()
    page_shot(pg, tmp_path, name)



def test_series_forecast_baselines_gates_and_url(page, server, tmp_path):
    page.get_by_test_id("mode-seq").click()
    _seq_ready(page, "series")
    sources = page.eval_on_selector_all("[data-testid=seq-series] option", "os => os.map(o => o.value)")
    assert sources == [s for s in page.evaluate("nnplay.hello.options.series") if s != "csv"]   # from the hello
    first = page.evaluate("nnplay.sessions[0].frame.header.scores.mae")
    page_steps(page, 12)
    h = page.evaluate("nnplay.sessions[0].frame.header")
    seq = page.evaluate("nnplay.sessions[0].seq")
    assert h["scores"]["mae"] < 0.7 * first                      # the network learned the series
    shown = page.get_by_test_id("seq-mae-forecast").inner_text()
    assert f"{h['scores']['mae']:.3f}" in shown
    for name in ("persistence", "seasonal_naive", "ar"):         # each baseline's line and MAE
        assert f"{seq['baselines'][name]['test_mae']:.3f}" in page.get_by_test_id(f"seq-mae-{name}").inner_text()
    # pick a test sequence: its gates and gradient over time come back
    page_set(page, "seq-pick", 3)
    page.wait_for_function("() => nnplay.sessions[0].frame.header.sequence.index === 3", timeout=PAGE_WAIT)
    for gate in ("input", "forget", "cell", "output", "hidden"):
        assert page.get_by_test_id(f"seq-gate-{gate}").is_visible()
    assert page.get_by_test_id("seq-timegrad").is_visible()
    assert page.evaluate("nnplay.sessions[0].frame.arrays.time_grad.shape") == [20]
    def shots(lang: str) -> None:
        _shot(page, tmp_path, f"seq-forecast-{lang}", "seq-forecast")
        _shot(page, tmp_path, f"seq-gates-{lang}", "seq-gates")
    page_in_korean(page, shots, lambda: page.get_by_test_id("mode-seq").inner_text() == "시퀀스"
                   and "지속 예측" in page.get_by_test_id("seq-mae-persistence").inner_text()
                   and "망각 게이트" in page.get_by_test_id("seq-gate-forget").inner_text())
    # a recurrent block edited like the other modes' networks: a GRU of 8 units, then a second block
    page.get_by_test_id("seq-block-0-type").select_option("gru")
    page.wait_for_function("() => nnplay.sessions[0].spec.model.layers[0].type === 'gru' && !nnplay.sessions[0].pending",
                           timeout=PAGE_WAIT)
    page.get_by_test_id("seq-block-0-units").fill("8")
    page.get_by_test_id("seq-block-0-units").dispatch_event("change")
    page.get_by_test_id("seq-add-block").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.model.layers.length === 2 && !nnplay.sessions[0].pending", timeout=PAGE_WAIT)
    layers = page.evaluate("nnplay.sessions[0].spec.model.layers")
    assert [(l["type"], l["units"], l["return_sequences"]) for l in layers] == [("gru", 8, True), ("gru", 8, False)]
    _seq_ready(page, "series")
    assert page.get_by_test_id("seq-gate-update").is_visible() and page.get_by_test_id("seq-gate-reset").is_visible()
    # everything in the URL: a new tab on the same link trains the same spec, same sequence
    link = page.url
    assert "data.name=series" in link and "~seq=3" in link
    spec = page.evaluate("nnplay.sessions[0].spec")
    other = page.context.new_page()
    other.goto(link)
    _seq_ready(other, "series")
    assert other.evaluate("nnplay.sessions[0].spec") == spec
    assert other.evaluate("nnplay.sessions[0].frame.header.sequence.index") == 3
    other.close()


def test_text_samples_follow_the_temperature_in_both_languages(page, tmp_path):
    page.get_by_test_id("mode-seq").click()
    _seq_ready(page, "series")
    page.get_by_test_id("seq-data").select_option("text")
    _seq_ready(page, "text")
    assert page.get_by_test_id("seq-forecast").is_hidden() and page.get_by_test_id("seq-sample").is_visible()
    page_set(page, "seq-temperature", 0.6)
    page_steps(page, 2)
    page.wait_for_function("() => { const s = nnplay.sessions[0].frame.header.sample; return s && s.temperature === 0.6 "
                           "&& s.epoch >= 2; }", timeout=PAGE_WAIT)
    text = page.get_by_test_id("seq-sample").inner_text()
    assert text == page.evaluate("nnplay.sessions[0].frame.header.sample.text") and len(text) == 200
    assert len(HANGUL.findall(text)) > 60                         # mostly Korean syllables
    assert "~temp=0.6" in page.url
    assert page.get_by_test_id("seq-gate-forget").is_visible()
    page_in_korean(page, lambda lang: _shot(page, tmp_path, f"seq-text-{lang}", "seq-sample"),
                   lambda: "문자 바이그램" in page.get_by_test_id("seq-mae-bigram").inner_text())


def test_adding_problem_prediction_and_gradient_over_all_steps(page):
    page.get_by_test_id("mode-seq").click()
    _seq_ready(page, "series")
    page.get_by_test_id("seq-data").select_option("adding")
    _seq_ready(page, "adding")
    assert page.get_by_test_id("seq-length").is_visible() and page.get_by_test_id("seq-window").is_hidden()
    page_steps(page, 2)
    h = page.evaluate("nnplay.sessions[0].frame.header")
    assert f"{h['metrics']['test_mse']:.3f}" in page.get_by_test_id("seq-mae-forecast").inner_text()
    length = page.evaluate("nnplay.sessions[0].spec.data.length")
    assert page.evaluate("nnplay.sessions[0].frame.arrays.time_grad.shape") == [length]
    assert page.evaluate("nnplay.sessions[0].frame.arrays.forecast.shape") == [len(page.evaluate("nnplay.sessions[0].seq.truth"))]
    assert page.get_by_test_id("seq-timegrad").is_visible()
