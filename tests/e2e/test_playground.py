"""The playground in a real headless Chromium (Debian's), driven by Playwright, against
`nnplay serve` started on a free port. Screenshots of each mode go to the test's tmp_path
and, when NNPLAY_SCREENSHOTS names a folder, there too."""
from __future__ import annotations

import json
import urllib.request

import pytest
from helpers import page_ready, page_tab
from typer.testing import CliRunner

from nnplay.cli import app as cli_app

pytestmark = pytest.mark.e2e

WAIT = 20_000   # ms: the longest any condition may take


@pytest.fixture
def page(browser, server):
    with page_tab(browser, server["url"], {"width": 1440, "height": 980}) as (pg, _):
        page_ready(pg, timeout=WAIT)
        yield pg




def _num(pg, testid) -> float:
    return float(pg.get_by_test_id(testid).inner_text().replace(",", ""))


def _epoch(pg) -> int:
    return int(_num(pg, "epoch"))


def test_play_spiral_epochs_rise_and_test_loss_falls(page, shot):
    assert page.get_by_test_id("dataset-spiral").get_attribute("class").endswith("selected")
    assert _epoch(page) == 0
    start = _num(page, "loss-test")
    page.get_by_test_id("play").click()
    page.wait_for_function("() => +document.querySelector('[data-testid=epoch]').textContent"
                           ".replace(/,/g, '') >= 60", timeout=WAIT)
    page.wait_for_function(f"() => +document.querySelector('[data-testid=loss-test]').textContent < {start - 0.05}",
                           timeout=WAIT)
    frames = page.evaluate("nnplay.sessions[0].frames")
    assert frames >= 5
    page.get_by_test_id("play").click()          # pause
    page.wait_for_function("() => !nnplay.sessions[0].running && !nnplay.sessions[0].frame.header.running", timeout=WAIT)
    shown = page.evaluate("nnplay.sessions[0].frame.header.epoch")
    page.wait_for_function(f"() => document.querySelector('[data-testid=epoch]').textContent === '{shown:,}'",
                           timeout=WAIT)
    page.get_by_test_id("step").click()
    page.wait_for_function(f"() => nnplay.sessions[0].frame.header.epoch === {shown + 1}", timeout=WAIT)
    assert _num(page, "loss-test") < start
    assert page.locator(".unit canvas").count() == 7 + 3 * 16 + 1   # features, 3 layers of 16, output
    neuron = page.locator(".unit:not(.feature):not(.output)").first
    neuron.hover()
    tip = page.locator(".tip")
    assert tip.is_visible() and "dense1, neuron 1" in tip.inner_text() and "bias" in tip.inner_text()
    link = page.evaluate("""() => { const l = nnplay.network.links[1].group[0];
        const t = 0.5, x = (l.x1 + l.x2) / 2, y = (l.y1 + l.y2) / 2;
        const r = nnplay.network.canvas.getBoundingClientRect(); return [r.left + x, r.top + y]; }""")
    page.mouse.move(*link)
    page.wait_for_function("() => document.querySelector('.tip').textContent.startsWith('weight dense2[1, 1]')",
                           timeout=WAIT)
    w = page.evaluate("nnplay.network.weights.dense2.data[0]")
    assert f"{w:.4f}" in tip.inner_text()
    page.mouse.move(5, 5)
    shot(page, "2d-spiral")
    page.get_by_test_id("reset").click()
    page.wait_for_function("() => nnplay.sessions[0].frame && nnplay.sessions[0].frame.header.epoch === 0", timeout=WAIT)


def test_a_long_session_switches_to_the_compiled_step(page, server, shot):
    badge = page.get_by_test_id("engine")
    assert badge.is_hidden()                      # eager: nothing to say
    page.get_by_test_id("play").click()
    # after 1 s of training the compiled step is built in the background (train/compiled.py)
    try:
        page.wait_for_function("() => nnplay.sessions[0].frame.header.engine === 'compiled'", timeout=180_000)
    except Exception:
        header = page.evaluate("nnplay.sessions[0].frame.header")
        pytest.fail(f"still {header['engine']} at epoch {header['epoch']}; server log: "
                    f"{server['log'].read_text()[-2000:]}")
    page.wait_for_function("() => document.querySelector('[data-testid=engine]').textContent === 'compiled'",
                           timeout=WAIT)
    at = _epoch(page)
    page.wait_for_function(f"() => nnplay.sessions[0].frame.header.epoch > {at + 50}", timeout=WAIT)
    page.get_by_test_id("lang").click()
    page.wait_for_function("() => document.querySelector('[data-testid=engine]').textContent === '컴파일됨'",
                           timeout=WAIT)
    assert badge.is_visible()
    shot(page, "2d-compiled")
    page.get_by_test_id("lang").click()
    page.get_by_test_id("play").click()


def test_settings_live_in_the_url_and_come_back_on_reload(page):
    page.get_by_test_id("lr").select_option(label="0.03")
    page.wait_for_function("() => location.hash.includes('train.lr=0.03')", timeout=WAIT)
    page.get_by_test_id("add-layer").click()
    page.wait_for_function("() => location.hash.includes('model.hidden')", timeout=WAIT)
    page.get_by_test_id("feature-x1^2").click()
    page.wait_for_function("() => location.hash.includes('data.features')", timeout=WAIT)
    page.get_by_test_id("layer-act-1").select_option("tanh")
    page.wait_for_function("() => location.hash.includes('model.activations')", timeout=WAIT)
    page.get_by_test_id("dataset-xor").click()
    page.wait_for_function("() => location.hash.includes('xor')", timeout=WAIT)
    page_ready(page, timeout=WAIT)
    before = page.evaluate("JSON.stringify(nnplay.sessions[0].spec)")
    url = page.url
    page.reload()
    page_ready(page, timeout=WAIT)
    assert page.url == url
    assert page.evaluate("JSON.stringify(nnplay.sessions[0].spec)") == before
    assert page.get_by_test_id("lr").input_value() == "0.03"
    assert page.get_by_test_id("layer-count").inner_text().startswith("4")
    assert "off" not in page.get_by_test_id("feature-x1^2").get_attribute("class")
    assert page.get_by_test_id("layer-act-1").input_value() == "tanh"
    assert page.get_by_test_id("dataset-xor").get_attribute("class").endswith("selected")
    spec = json.loads(before)
    assert spec["data"]["features"] == ["x1", "x2", "x1^2"] and spec["model"]["hidden"] == [16] * 4
    assert spec["model"]["activations"] == ["relu", "tanh", "relu", "relu"] and spec["train"]["lr"] == 0.03


def test_live_change_keeps_training(page):
    page.get_by_test_id("play").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch >= 20", timeout=WAIT)
    page.get_by_test_id("optimizer").select_option("rmsprop")
    page.wait_for_function("() => nnplay.sessions[0].spec.train.optimizer === 'rmsprop'", timeout=WAIT)
    epoch = page.evaluate("nnplay.sessions[0].frame.header.epoch")
    assert epoch >= 20                           # a live change: no reset
    page.wait_for_function(f"() => nnplay.sessions[0].frame.header.epoch > {epoch + 10}", timeout=WAIT)
    page.get_by_test_id("play").click()


def test_korean_toggle_persists(page, shot):
    assert page.locator("[data-i18n=epoch]").inner_text().lower() == "epoch"
    page.get_by_test_id("lang").click()
    page.wait_for_function("() => document.documentElement.lang === 'ko'", timeout=WAIT)
    assert page.locator("[data-i18n=epoch]").inner_text() == "에포크"
    assert page.get_by_test_id("play").get_attribute("title").startswith("재생")
    assert "학습률" in page.locator("#hyper").inner_text()
    page.reload()
    page_ready(page, timeout=WAIT)
    page.wait_for_function("() => document.documentElement.lang === 'ko'", timeout=WAIT)
    assert page.locator("#data-panel [data-i18n='h.data']").inner_text() == "데이터"
    page.get_by_test_id("play").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch >= 30", timeout=WAIT)
    shot(page, "2d-korean")
    page.get_by_test_id("play").click()
    page.get_by_test_id("lang").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'", timeout=WAIT)


def test_upload_csv_becomes_points(page, tmp_path, shot):
    rows = ["u,v,kind"]
    for i in range(90):        # three blobs of three classes, far apart in raw units
        k = i % 3
        rows.append(f"{100 + 40 * k + (i % 7)},{-5 + 3 * k + (i % 5) * 0.1},{'abc'[k]}")
    csv = tmp_path / "blobs.csv"
    csv.write_text("\n".join(rows))
    page.get_by_test_id("upload").set_input_files(str(csv))
    page.wait_for_function("() => nnplay.sessions[0].spec.data.name === 'points' && !nnplay.sessions[0].pending "
                           "&& nnplay.sessions[0].info.num_classes === 3", timeout=WAIT)
    page_ready(page, timeout=WAIT)
    pts = page.evaluate("nnplay.sessions[0].spec.data.points")
    assert len(pts) == 90 and {p[2] for p in pts} == {0, 1, 2}
    assert min(p[0] for p in pts) == -5.4 and max(p[0] for p in pts) == 5.4
    page.get_by_test_id("play").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.metrics.train_accuracy > 0.9", timeout=WAIT)
    page.get_by_test_id("play").click()
    assert "data.name=points" in page.url
    shot(page, "2d-uploaded")


def test_draw_points_on_the_map(page, shot):
    page.get_by_test_id("dataset-gauss").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.data.name === 'gauss' && !nnplay.sessions[0].pending", timeout=WAIT)
    page_ready(page, timeout=WAIT)
    n = page.evaluate("['train','val','test'].reduce((s, k) => s + nnplay.sessions[0].points[k].length, 0)")
    page.get_by_test_id("draw").click()
    page.get_by_test_id("draw-class-2").click()
    canvas = page.get_by_test_id("boundary")
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] / 2, "y": box["height"] / 2})          # (0, 0)
    page.wait_for_function(f"() => nnplay.sessions[0].spec.data.points && nnplay.sessions[0].spec.data.points.length === {n + 1}",
                           timeout=WAIT)
    canvas.click(position={"x": box["width"] * 0.75, "y": box["height"] * 0.25})    # (3, 3)
    page.wait_for_function(f"() => nnplay.sessions[0].spec.data.points.length === {n + 2} && !nnplay.sessions[0].pending",
                           timeout=WAIT)
    page_ready(page, timeout=WAIT)
    last = page.evaluate("nnplay.sessions[0].spec.data.points.slice(-2)")
    assert last[0][2] == 2 and last[1][2] == 2
    assert abs(last[0][0]) < 0.2 and abs(last[0][1]) < 0.2
    assert abs(last[1][0] - 3) < 0.2 and abs(last[1][1] - 3) < 0.2
    assert page.evaluate("nnplay.sessions[0].info.num_classes") == 3      # a new class appeared
    for _ in range(3):
        page.get_by_test_id("step").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch === 3", timeout=WAIT)
    page.get_by_test_id("draw-class-0").click()                  # a point of a class it has
    canvas.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.75})    # (-3, -3)
    page.wait_for_function(f"() => nnplay.sessions[0].spec.data.points.length === {n + 3} && !nnplay.sessions[0].pending",
                           timeout=WAIT)
    page_ready(page, timeout=WAIT)
    assert page.evaluate("nnplay.sessions[0].frame.header.epoch") == 3   # the same network goes on
    assert _epoch(page) == 3
    shot(page, "2d-drawn")


def test_image_mode_shows_feature_maps(page, shot):
    page.get_by_test_id("mode-image").click()
    page.wait_for_function("() => nnplay.sessions[0].info && nnplay.sessions[0].info.mode === 'image' "
                           "&& nnplay.sessions[0].frame", timeout=WAIT)
    assert page.locator("#view-image").is_visible() and not page.locator("#view-2d").is_visible()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=feature-maps] canvas').length >= 16",
                           timeout=WAIT)
    page.get_by_test_id("play").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.metrics.test_accuracy > 0.8", timeout=60_000)
    page.get_by_test_id("play").click()
    page.get_by_test_id("pick-3").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.image.index === 3", timeout=WAIT)
    rows = page.locator(".fmap-row .name").all_inner_texts()
    assert rows[0].startswith("input") and any(r.startswith("conv1") for r in rows) and any(r.startswith("pool2") for r in rows)
    assert page.locator("[data-testid=filters-conv1] canvas").count() == 8   # 8 filters x 1 input channel
    cm = page.evaluate("nnplay.sessions[0].frame.header.confusion")
    assert len(cm) == 10 and sum(map(sum, cm)) == page.evaluate("nnplay.sessions[0].info.sizes.test")
    assert "image" in page.url or "digits" in page.url
    shot(page, "image-digits")
    page.get_by_test_id("add-block-type").select_option(label="Dense")
    page.get_by_test_id("add-block").click()
    page.wait_for_function("() => nnplay.sessions[0].spec.model.layers.length === 8 && !nnplay.sessions[0].pending", timeout=WAIT)
    page.get_by_test_id("mode-2d").click()
    page.wait_for_function("() => nnplay.sessions[0].info.mode === '2d'", timeout=WAIT)


def test_compare_two_networks_side_by_side(page, shot):
    page.get_by_test_id("compare").click()
    page_ready(page, 1, timeout=WAIT)
    page.get_by_test_id("edit-b").click()
    page.get_by_test_id("activation").select_option("tanh")
    page.wait_for_function("() => nnplay.sessions[1].spec.model.activation === 'tanh' && !nnplay.sessions[1].pending", timeout=WAIT)
    assert page.evaluate("nnplay.sessions[0].spec.model.activation") == "relu"
    assert "~b.model.activation=tanh" in page.url   # B as its own readable pairs
    page.get_by_test_id("play").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.epoch > 30 && nnplay.sessions[1].frame.header.epoch > 30",
                           timeout=WAIT)
    page.get_by_test_id("play").click()
    assert page.get_by_test_id("boundary-b").is_visible()
    shot(page, "2d-compare")
    page.reload()
    page_ready(page, 1, timeout=WAIT)
    assert page.evaluate("nnplay.sessions[1].spec.model.activation") == "tanh"


def test_save_run_and_find_it_in_nnplay_runs(page, server):
    for i in range(3):
        page.get_by_test_id("step").click()
        page.wait_for_function(f"() => nnplay.sessions[0].frame.header.epoch === {i + 1}", timeout=WAIT)
    page.get_by_test_id("save").click()
    run_id = page.get_by_test_id("saved-run").inner_text(timeout=WAIT)
    res = CliRunner().invoke(cli_app, ["runs", "--json", "--runs-dir", str(server["runs"])])
    runs = json.loads(res.stdout.splitlines()[-1])["runs"]
    assert res.exit_code == 0 and run_id in [r["id"] for r in runs]
    row = next(r for r in runs if r["id"] == run_id)
    assert row["status"] == "done" and row["epochs"] == 3
    for testid, name in (("download-spec", "spec.toml"), ("download-weights", "model.safetensors"),
                         ("download-snippet", "snippet.py"), ("download-onnx", "model.onnx")):
        href = page.get_by_test_id(testid).get_attribute("href")
        assert href == f"/api/runs/{run_id}/{name}"
        body = urllib.request.urlopen(server["url"] + href.lstrip("/")).read()
        assert len(body) > 50


def test_bad_link_falls_back_with_a_clear_error(page, server):
    page.goto("about:blank")          # a new load, not a same-page hash change
    page.goto(server["url"] + "#model.activation=%22swish%22")
    page.wait_for_function("() => !document.querySelector('[data-testid=error]').hidden", timeout=WAIT)
    text = page.get_by_test_id("error").inner_text()
    assert "model.activation" in text and "relu" in text
    page_ready(page, timeout=WAIT)
    assert page.evaluate("nnplay.sessions[0].spec.model.activation") == "relu"


def test_controls_are_built_from_the_library_lists_and_the_limits(page):
    """The menus and ranges come from the hello (the library and the server's caps); the
    learning rate of each frame is shown, so a live change is visible (issue 9)."""
    from typing import get_args

    from nnplay import spec
    from nnplay.server import Limits

    values = lambda testid: page.get_by_test_id(testid).locator("option").evaluate_all(  # noqa: E731
        "os => os.map((o) => o.value)")
    assert values("optimizer") == list(get_args(spec.Optimizer))
    assert values("schedule") == list(get_args(spec.Schedule))
    assert values("init") == list(get_args(spec.Init))
    assert values("layer-act-0") == [a for a in get_args(spec.Activation) if a != "softmax"]
    assert page.locator("[data-testid^=classes-]").count() == spec.MAX_CLASSES - 1   # 2..10
    assert page.get_by_test_id("samples").get_attribute("max") == str(Limits().samples)
    page.get_by_test_id("lr").select_option(label="0.3")
    page.wait_for_function("() => nnplay.sessions[0].spec.train.lr === 0.3 && !nnplay.sessions[0].pending", timeout=WAIT)
    page.get_by_test_id("step").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.metrics.lr === 0.3", timeout=WAIT)
    page.wait_for_function("() => document.querySelector('[data-testid=lr-now]').textContent === '0.3'", timeout=WAIT)
