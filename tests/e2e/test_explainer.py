"""The image mode's CNN explainer in a real headless Chromium (Debian's), driven by Playwright,
against `nnplay serve` on a free port (fixtures in conftest.py): click a feature-map pixel and
the arithmetic shown is the library's (probes.convolution_at / pooling_at on the same model,
saved and loaded back here); the arrow keys move the window; a drawn or uploaded digit flows
through the network and changes the prediction. Screenshots in English and Korean."""
from __future__ import annotations

import io

import numpy as np
import pytest
from helpers import PAGE_WAIT, page_image_mode

from nnplay import probes
from nnplay.runs import RunStore, load_trained

pytestmark = pytest.mark.e2e

WAIT = PAGE_WAIT   # ms: the longest any condition may take


def _value(page, testid) -> float:
    return float(page.get_by_test_id(testid).get_attribute("data-value"))


def _click_unit(page, testid, row, col, size):
    """Click the middle of cell (row, col) of a (size x size) feature-map canvas."""
    page.get_by_test_id(testid).scroll_into_view_if_needed()
    box = page.get_by_test_id(testid).bounding_box()
    page.mouse.click(box["x"] + (col + 0.5) * box["width"] / size, box["y"] + (row + 0.5) * box["height"] / size)


def _wait_place(page, layer, unit, row, col):
    page.wait_for_function(f"() => {{ const e = document.querySelector('[data-testid=explain-title]'); "
                           f"return e && e.dataset.layer === '{layer}' && e.dataset.place === '{unit},{row},{col}'; }}",
                           timeout=WAIT)


def _check_conv(page, ref):
    """The numbers on the page are the library's, for the same model, image and place."""
    assert _value(page, "explain-sum") == pytest.approx(ref["sum"], abs=1e-5)
    assert _value(page, "explain-bias") == pytest.approx(ref["bias"], abs=1e-6)
    assert _value(page, "explain-z") == pytest.approx(ref["z"], abs=1e-5)
    assert _value(page, "explain-after-0") == pytest.approx(ref["after"][0]["value"], abs=1e-5)
    assert _value(page, "explain-after-0") == pytest.approx(max(ref["z"], 0.0), abs=1e-5)   # ReLU
    for c in range(ref["patch"].shape[0]):
        assert _value(page, f"explain-channel-sum-{c}") == pytest.approx(float(ref["channel_sums"][c]), abs=1e-5)
        for grid, key in (("patch", "patch"), ("kernel", "kernel"), ("products", "products")):
            shown = page.get_by_test_id(f"explain-{grid}-{c}").locator("td").all_inner_texts()
            assert [float(t) for t in shown] == pytest.approx(ref[key][c].ravel(), abs=0.0051), (grid, c)   # 2 decimals


@pytest.fixture
def viewport():
    """A window a little larger than the default: the explainer and its softmax box side by side."""
    return {"width": 1440, "height": 1000}


def test_click_a_feature_map_unit_and_see_the_library_arithmetic(page, server, shot):
    page_image_mode(page, epochs=2)                                     # train the digits CNN two epochs
    page.get_by_test_id("pick-2").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.header.image.index === 2", timeout=WAIT)
    page.get_by_test_id("save").click()                                 # the same weights, for the library
    run_id = page.get_by_test_id("saved-run").inner_text(timeout=WAIT)
    tr = load_trained(RunStore(server["runs"]).get(run_id))
    x = tr.data.x_test[2]
    np.testing.assert_allclose(np.array(page.evaluate("Array.from(nnplay.sessions[0].frame.arrays.input.data)")),
                               x.numpy().ravel(), atol=1e-6)

    # hover: a feature map's value
    page.get_by_test_id("fmap-conv1-0").hover()
    fm = probes.feature_maps(tr.model, x)
    v = float(page.get_by_test_id("fmap-readout").get_attribute("data-value"))
    assert any(abs(v - float(u)) < 1e-5 for u in fm["conv1"][0].ravel())

    # click conv2's map 3 at row 1, column 2 (conv2 reads pool1's 8 channels: 8 kernels)
    _click_unit(page, "fmap-conv2-3", 1, 2, 4)
    _wait_place(page, "conv2", 3, 1, 2)
    ref = probes.convolution_at(tr.model, x, "conv2", 3, 1, 2)
    assert ref["patch"].shape == (8, 3, 3)
    _check_conv(page, ref)
    assert "+ bias of filter 3" in page.get_by_test_id("explain-result").inner_text()
    assert "ReLU" in page.get_by_test_id("explain-result").inner_text()

    # the arrow keys slide the window: the arithmetic follows
    page.keyboard.press("ArrowRight")
    _wait_place(page, "conv2", 3, 1, 3)
    _check_conv(page, probes.convolution_at(tr.model, x, "conv2", 3, 1, 3))
    page.keyboard.press("ArrowRight")                                    # the edge: it stays
    page.keyboard.press("ArrowDown")
    _wait_place(page, "conv2", 3, 2, 3)
    page.keyboard.press("PageDown")                                      # the next filter
    _wait_place(page, "conv2", 4, 2, 3)
    _check_conv(page, probes.convolution_at(tr.model, x, "conv2", 4, 2, 3))
    page.get_by_test_id("explain-left").click()
    _wait_place(page, "conv2", 4, 2, 2)
    shot(page, "explainer-conv")

    # the ReLU map of conv1 is explained by conv1, with zero padding at the corner
    _click_unit(page, "fmap-act1-5", 0, 0, 8)
    _wait_place(page, "act1", 5, 0, 0)
    ref = probes.convolution_at(tr.model, x, "act1", 5, 0, 0)
    assert ref["top"] == -1 and not ref["patch"][0, 0].any()
    _check_conv(page, ref)

    # pooling: which value of the window wins
    _click_unit(page, "fmap-pool1-1", 2, 1, 4)
    _wait_place(page, "pool1", 1, 2, 1)
    ref = probes.pooling_at(tr.model, x, "pool1", 1, 2, 1)
    assert _value(page, "explain-value") == pytest.approx(ref["value"], abs=1e-6)
    win = page.get_by_test_id("explain-window").locator("td.win")
    assert win.count() == 1 and win.inner_text() == f"{ref['value']:.2f}"
    page.get_by_test_id("explain-play").click()                        # the window slides by itself
    page.wait_for_function("() => ['1,0,2', '1,0,3', '1,1,0'].includes("
                           "document.querySelector('[data-testid=explain-title]').dataset.place)", timeout=WAIT)
    page.get_by_test_id("explain-play").click()                        # stop
    page.wait_for_timeout(700)                                         # an answer already on its way
    place = page.get_by_test_id("explain-title").get_attribute("data-place")
    page.wait_for_timeout(1200)
    assert page.get_by_test_id("explain-title").get_attribute("data-place") == place

    # softmax: the logits and probabilities of the picked image, as the library computes them
    sm = probes.softmax_at(tr.model, x)
    rows = page.get_by_test_id("softmax-box").locator("tbody tr")
    assert rows.count() == 10
    for k in range(10):
        p = float(page.get_by_test_id(f"softmax-row-{k}").locator("td").nth(4).get_attribute("data-value"))
        assert p == pytest.approx(sm["probs"][k], abs=1e-5)
    assert _value(page, "softmax-sum") == pytest.approx(sm["sum"], rel=1e-5)

    # every conv layer's filters, one kernel per input channel
    assert page.get_by_test_id("filters-conv1").locator("canvas").count() == 8 * 1
    assert page.get_by_test_id("filters-conv2").locator("canvas").count() == 16 * 8
    page.get_by_test_id("filter-conv2-3-5").hover()
    assert "filter 3" in page.get_by_test_id("filter-readout").inner_text()

    page.get_by_test_id("lang").click()                                  # Korean
    page.wait_for_function("() => document.querySelector('[data-testid=explain-title]').textContent.includes('풀링')",
                           timeout=WAIT)
    assert "최댓값" in page.get_by_test_id("explain-result").inner_text()
    _click_unit(page, "fmap-conv1-2", 3, 4, 8)
    _wait_place(page, "conv1", 2, 3, 4)
    assert "합성곱" in page.get_by_test_id("explain-title").inner_text()
    assert "편향" in page.get_by_test_id("explain-result").inner_text()
    assert "로짓" in page.get_by_test_id("softmax-box").inner_text()
    shot(page, "explainer-ko")
    page.get_by_test_id("lang").click()


def _probs(page):
    return page.evaluate("nnplay.sessions[0].frame.header.image.probs")


def _stroke(page, points):
    page.get_by_test_id("own-canvas").scroll_into_view_if_needed()
    box = page.get_by_test_id("own-canvas").bounding_box()
    at = lambda p: (box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"])   # noqa: E731
    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*at(p), steps=4)
    page.mouse.up()


def test_draw_or_upload_a_digit_and_see_the_prediction_change(page, shot, tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    page_image_mode(page, epochs=3)
    test_probs = _probs(page)
    assert "test image" in page.get_by_test_id("own-state").inner_text()

    _stroke(page, [(0.5, 0.12), (0.5, 0.5), (0.5, 0.88)])              # a "1"
    page.wait_for_function("() => nnplay.sessions[0].frame.header.image.drawn === true", timeout=WAIT)
    one = _probs(page)
    drawn = np.array(page.evaluate("Array.from(nnplay.sessions[0].frame.arrays.input.data)")).reshape(8, 8)
    assert drawn[2:6, 3:5].min() > 0.3 and drawn[:, :2].max() < 0.05    # the stroke, downsampled to 8x8
    assert np.abs(np.subtract(one, test_probs)).max() > 0.01            # the network sees another image
    assert "your image" in page.get_by_test_id("own-state").inner_text()
    assert page.locator("[data-i18n=\"h.probsOwn\"]").inner_text() == "Prediction for your image"
    shot(page, "explainer-drawn")

    page.get_by_test_id("own-clear").click()                            # back to the test image
    page.wait_for_function("() => nnplay.sessions[0].frame.header.image.drawn === false", timeout=WAIT)
    assert _probs(page) == pytest.approx(test_probs, abs=1e-6)
    _stroke(page, [(0.2, 0.2), (0.8, 0.2), (0.8, 0.5), (0.2, 0.5), (0.2, 0.8), (0.8, 0.8)])   # a "5"-ish
    page.wait_for_function("() => nnplay.sessions[0].frame.header.image.drawn === true", timeout=WAIT)
    five = _probs(page)
    assert np.abs(np.subtract(five, one)).max() > 0.05                  # another drawing, another prediction
    assert int(np.argmax(five)) != int(np.argmax(one)) or np.abs(np.subtract(five, one)).max() > 0.2

    # an uploaded picture: dark ink on white paper, inverted with one click
    img = PIL.new("L", (64, 64), 255)
    for y in range(8, 56):
        for x in range(28, 36):
            img.putpixel((x, y), 0)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    path = tmp_path / "one.png"
    path.write_bytes(buf.getvalue())
    page.get_by_test_id("own-upload").set_input_files(str(path))
    page.wait_for_function("() => nnplay.sessions[0].frame.arrays.input.data[0] > 0.9", timeout=WAIT)   # white paper
    page.get_by_test_id("own-invert").click()
    page.wait_for_function("() => nnplay.sessions[0].frame.arrays.input.data[0] < 0.1", timeout=WAIT)
    up = np.array(page.evaluate("Array.from(nnplay.sessions[0].frame.arrays.input.data)")).reshape(8, 8)
    assert up[2:6, 3:5].min() > 0.3 and up[:, :2].max() < 0.05         # the bar, light on dark
    page.get_by_test_id("pick-4").click()                               # a test image again
    page.wait_for_function("() => nnplay.sessions[0].frame.header.image.index === 4", timeout=WAIT)
    assert not page.evaluate("nnplay.sessions[0].frame.header.image.drawn")
    page.get_by_test_id("lang").click()
    page.wait_for_function("() => document.querySelector('[data-testid=own-state]').textContent.includes('테스트')",
                           timeout=WAIT)
    shot(page, "explainer-own-ko")
    page.get_by_test_id("lang").click()
