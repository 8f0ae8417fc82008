"""The "Runs" and "Predict" views in a real headless Chromium (Debian's), against `nnplay serve`
on a free port (fixtures in conftest.py). Predict: a digits CNN and a 2-D MLP run in the page
with onnxruntime-web (wasm, one thread), and the page's outputs equal ONNX Runtime's in Python
on the same inputs. Runs: the index sorted, curves overlaid, a report opened, a sweep's best
trial, all in the URL. Screenshots (1400x900) go to tmp_path and $NNPLAY_SCREENSHOTS."""
from __future__ import annotations

import json
import urllib.request

import numpy as np
import onnxruntime as ort
import pytest
from helpers import PAGE_WAIT, start_serve

from nnplay import sweep
from nnplay.export import Predictor
from nnplay.runs import RunStore, train_run
from nnplay.server.predict import ort_dist
from nnplay.spec import load

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(ort_dist() is None, reason="onnxruntime-web not installed (make setup: npm ci)")]

WAIT = PAGE_WAIT   # ms: the longest any condition may take
TOL = 1e-4           # the bar: the page's outputs vs ONNX Runtime in Python
VIEW = {"width": 1400, "height": 900}


@pytest.fixture(scope="module")
def runs(server):
    """Runs in the served store: a digits CNN, two spiral MLPs and a two-trial sweep."""
    store = RunStore(server["runs"])
    cnn, _ = train_run(load("examples/digits_cnn.toml", ["train.epochs=2"]), store)
    mlp, _ = train_run(load("examples/spiral.toml", ["train.epochs=30", 'data.features=["x1", "x2", "x1^2", "sin(x2)"]']), store)
    small, _ = train_run(load("examples/spiral.toml", ["name=spiral-small", "train.epochs=12", "model.hidden=[4]"]), store)
    sw = sweep.prepare(load(None, ["name=lr-sweep", "train.epochs=3", "data.samples=200", "model.hidden=[4]"]),
                       store.root, ["train.lr=[0.003, 0.1]"], [], metric="test_loss")
    best = sweep.run(sw, store)["best"]
    return {"cnn": cnn, "mlp": mlp, "small": small, "best": best, "store": store}



def ort_python(path, inputs: np.ndarray) -> np.ndarray:
    """ONNX Runtime in Python, straight from onnxruntime."""
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: inputs})[0]


def check_against_python(pg, onnx_path) -> dict:
    """The page's last prediction vs ONNX Runtime (logits, on the page's own network inputs) and
    vs export.Predictor (probabilities, from the page's raw inputs: scaling as in training)."""
    last = pg.evaluate("nnplay.predictView.last")
    info = pg.evaluate("nnplay.predictView.info")
    x = np.asarray(last["inputs"], np.float32).reshape((last["rows"], *info["input_shape"]))
    want = ort_python(onnx_path, x)
    got = np.asarray(last["logits"], np.float32).reshape(want.shape)
    assert np.abs(got - want).max() <= TOL, np.abs(got - want).max()
    raw = np.asarray(last["raw"], np.float32).reshape((last["rows"], *info["raw_shape"]))
    p = Predictor.load(str(onnx_path)).predict(raw)
    page_p = np.asarray(last["probs"], np.float32)
    assert np.abs(page_p.reshape(p.shape) - p).max() <= TOL
    print(f"FIGURE {onnx_path.name} rows={last['rows']} logits max|page - python|={np.abs(got - want).max():.2e} "
          f"probs {np.abs(page_p.reshape(p.shape) - p).max():.2e}; forward {last['ms']:.2f} ms, "
          f"load {pg.evaluate('nnplay.predictView.loadMs'):.0f} ms")
    return {"last": last, "info": info, "probs": p, "diff": float(np.abs(got - want).max())}


def wait_ready(pg):
    pg.wait_for_function("() => document.querySelector('[data-testid=predict-status]')?.dataset.key === 'predict.ready'",
                         timeout=WAIT)


def test_digits_cnn_drawn_in_the_page_equals_onnx_runtime(page, runs, shot):
    page.get_by_test_id("runs-tab").click()
    page.get_by_test_id(f"runs-predict-{runs['cnn'].id}").click()
    wait_ready(page)
    assert page.get_by_test_id("predict-runtime").inner_text().startswith("onnxruntime-web 1.30.0 · wasm · 1 thread")
    assert f"~run={runs['cnn'].id}" in page.url and "~view=predict" in page.url
    pad = page.get_by_test_id("predict-canvas").bounding_box()
    x0, y0, w, h = pad["x"], pad["y"], pad["width"], pad["height"]
    page.mouse.move(x0 + 0.5 * w, y0 + 0.15 * h)          # a "1": one stroke down the middle
    page.mouse.down()
    for i in range(1, 13):
        page.mouse.move(x0 + (0.5 - 0.01 * i) * w, y0 + (0.15 + 0.06 * i) * h)
    page.mouse.up()
    page.wait_for_function("() => nnplay.predictView.last", timeout=WAIT)
    got = check_against_python(page, runs["cnn"].path("model.onnx"))
    raw = np.asarray(got["last"]["raw"]).reshape(8, 8)
    assert raw.max() > 0.5 and raw[:, 0].max() == 0 and raw[:, 7].max() == 0   # ink in the middle columns only
    shown = page.get_by_test_id("predict-class").inner_text()
    assert shown == got["info"]["class_names"][int(got["probs"][0].argmax())]
    shot(page, "predict-digits")
    page.get_by_test_id("lang").click()
    page.wait_for_function("() => document.querySelector('[data-testid=predict-tab]')?.textContent === '예측'", timeout=WAIT)
    assert "확률" in page.get_by_test_id("predict-output").inner_text()            # every text follows
    assert page.get_by_test_id("predict-clear").inner_text() == "지우기"
    assert "스레드 1개" in page.get_by_test_id("predict-runtime").inner_text()
    assert page.get_by_test_id("predict-class").inner_text() == shown                # the same answer
    shot(page, "predict-digits-ko")
    page.get_by_test_id("lang").click()


def test_mlp_from_a_file_and_from_the_session_equals_onnx_runtime(page, runs, server, tmp_path, shot):
    page.get_by_test_id("predict-tab").click()
    onnx_file = tmp_path / "spiral.onnx"
    with urllib.request.urlopen(f"{server['url']}api/runs/{runs['mlp'].id}/model.onnx") as r:
        onnx_file.write_bytes(r.read())
    page.get_by_test_id("predict-upload").set_input_files(str(onnx_file))
    wait_ready(page)
    assert page.get_by_test_id("predict-model").inner_text().count("spiral.onnx") == 1
    page.get_by_test_id("predict-row").fill("0.5, -1.25")
    page.get_by_test_id("predict-row").press("Enter")
    page.wait_for_function("() => nnplay.predictView.last", timeout=WAIT)
    got = check_against_python(page, onnx_file)
    assert got["last"]["raw"] == [0.5, -1.25] and len(got["last"]["inputs"]) == 4   # x1, x2, x1^2, sin(x2)
    points = np.random.default_rng(0).uniform(-5, 5, (25, 2)).round(3)   # a CSV of 25 rows
    csv = tmp_path / "rows.csv"
    csv.write_text("x2,x1\n" + "\n".join(f"{b},{a}" for a, b in points))   # columns found by name
    page.get_by_test_id("predict-csv").set_input_files(str(csv))
    page.wait_for_function("() => nnplay.predictView.last.rows === 25", timeout=WAIT)
    got = check_against_python(page, onnx_file)
    np.testing.assert_allclose(np.asarray(got["last"]["raw"]).reshape(25, 2), points, atol=1e-6)
    assert page.get_by_test_id("predict-rows").locator("tbody tr").count() == 25
    shot(page, "predict-mlp")
    # the network being trained in this tab: saved as a run, exported, run in the page
    page.get_by_test_id("mode-2d").click()
    for i in range(2):
        page.get_by_test_id("step").click()
        page.wait_for_function(f"() => nnplay.sessions[0].frame.header.epoch === {i + 1}", timeout=WAIT)
    page.get_by_test_id("predict-tab").click()
    page.get_by_test_id("predict-session").click()
    page.wait_for_function("() => nnplay.predictView.source && nnplay.predictView.source.run", timeout=WAIT)
    wait_ready(page)
    run_id = page.evaluate("nnplay.predictView.source.run")
    page.get_by_test_id("predict-row").fill("-2, 3")
    page.get_by_test_id("predict-run").click()
    page.wait_for_function("() => nnplay.predictView.last", timeout=WAIT)
    check_against_python(page, runs["store"].get(run_id).path("model.onnx"))


def test_runs_table_sorts_overlays_curves_opens_reports_and_keeps_its_url(page, runs, server, shot):
    page.get_by_test_id("runs-tab").click()
    table = page.get_by_test_id("runs-table")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=runs-table] tbody tr[data-run]').length >= 5",
                           timeout=WAIT)
    api = json.load(urllib.request.urlopen(f"{server['url']}api/dashboard/runs"))
    page.get_by_test_id("runs-sort-test_loss").click()          # descending first, then ascending
    page.get_by_test_id("runs-sort-test_loss").click()
    order = [r.get_attribute("data-run") for r in table.locator("tbody tr[data-run]").all()]
    losses = {r["id"]: r["test_loss"] for r in api["runs"]}
    shown = [losses[i] for i in order if losses[i] is not None]
    assert shown == sorted(shown) and len(shown) == len(api["runs"])
    row = table.locator(f"tr[data-run='{runs['cnn'].id}']")
    assert "conv2d16 maxpool2d conv2d32 maxpool2d dense64" in row.inner_text()
    assert f"{[r for r in api['runs'] if r['id'] == runs['cnn'].id][0]['test_metric']:.4g}"[:5] in row.inner_text()
    for key in ("mlp", "small"):
        page.get_by_test_id(f"runs-pick-{runs[key].id}").check()
    page.wait_for_function("() => document.querySelector('[data-testid=runs-chart-loss]')?.dataset.lines === '4'",
                           timeout=WAIT)                       # 2 runs x (train, validation)
    assert page.get_by_test_id("runs-chart-metric").get_attribute("data-lines") == "4"
    legend = page.get_by_test_id("runs-legend").locator(".item")
    assert legend.count() == 2 and legend.nth(0).inner_text().startswith("spiral ") \
        and legend.nth(1).inner_text().startswith("spiral-small ")
    best = page.get_by_test_id("sweep-best-lr-sweep").inner_text()
    assert best.startswith(f"#{runs['best']['number']}:")
    href = page.get_by_test_id(f"runs-report-{runs['mlp'].id}").get_attribute("href")
    assert href == f"/api/dashboard/runs/{runs['mlp'].id}/report/en/index.html"
    report = page.request.get(server["url"].rstrip("/") + href)
    assert report.status == 200 and 'src="boundary.png"' in report.text()
    assert page.request.get(server["url"].rstrip("/") + href.replace("index.html", "boundary.png")).body()[:4] == b"\x89PNG"
    page.wait_for_function("() => location.hash.includes('~view=runs') && location.hash.includes('~sort=test_loss')",
                           timeout=WAIT)
    shot(page, "runs-view")
    url = page.url
    page.reload()                                              # the URL brings the view back
    page.wait_for_function("() => document.querySelector('[data-testid=runs-chart-loss]')?.dataset.lines === '4'",
                           timeout=WAIT)
    assert page.get_by_test_id(f"runs-pick-{runs['small'].id}").is_checked() and page.url == url
    page.get_by_test_id("lang").click()
    page.wait_for_function("() => document.querySelector('[data-testid=runs-sort-status]')?.textContent.startsWith('상태')",
                           timeout=WAIT)
    assert "에포크별 손실" in page.get_by_test_id("runs-compare").inner_text()
    assert page.get_by_test_id(f"runs-report-{runs['mlp'].id}").get_attribute("href").endswith("/report/ko/index.html")
    shot(page, "runs-view-ko")
    page.get_by_test_id("lang").click()
    page.get_by_test_id("mode-2d").click()                     # back to the playground, same session
    assert page.locator("#view-2d").is_visible() and page.get_by_test_id("runs-view").is_hidden()


def test_missing_onnxruntime_web_is_said_in_the_page(browser, tmp_path, monkeypatch, runs, server):
    monkeypatch.setenv("NNPLAY_ORT_DIST", str(tmp_path / "nothing"))
    proc, url = start_serve(server["runs"], tmp_path)
    try:
        ctx = browser.new_context(viewport=VIEW)
        pg = ctx.new_page()
        pg.goto(f"{url}#~view=predict&~run={runs['mlp'].id}")
        pg.wait_for_function("() => document.querySelector('[data-testid=predict-status]')?.dataset.key === 'predict.noOrt'",
                             timeout=WAIT)
        banner = pg.get_by_test_id("error").inner_text()
        assert "make setup" in banner and "npm ci" in banner
        ctx.close()
    finally:
        proc.terminate()
        proc.wait(10)
