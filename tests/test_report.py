"""Run reports: which plots appear for which run, valid PNGs, the HTML page, Korean captions, CLI."""
from __future__ import annotations

import json
import re
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from nnplay import report
from nnplay.cli import app
from nnplay.i18n import t
from nnplay.runs import RunError, RunStore, load_trained, train_run
from nnplay.spec import SpecError, load

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HANGUL = re.compile("[\uac00-\ud7a3]")
CORE = {"curves", "gradients", "activations", "weights"}


SPECS = {   # tiny runs: binary 2-D, 3-class 2-D, 2-D regression, digits CNN
    "spiral": (EXAMPLES / "spiral.toml", ["train.epochs=6", "data.samples=300"]),
    "spiral3": (EXAMPLES / "spiral.toml", ["train.epochs=3", "data.samples=300", "data.classes=3"]),
    "reg": (None, ['data.name="reg-plane"', "data.samples=200", "model.hidden=[8]", "train.epochs=3",
                   'name="<b>plane</b> & co"']),
    "cnn": (EXAMPLES / "digits_cnn.toml", ["train.epochs=2", "data.limit=300"]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{key: (store, run, page)}: each run trained and reported (default folder) on first use."""
    store = RunStore(tmp_path_factory.mktemp("runs"))

    class Lazy(dict):
        def __missing__(self, key):
            run, _ = train_run(load(*SPECS[key]), store)
            self[key] = (store, run, report.write_report(run))
            return self[key]
    return Lazy()


def pngs(page: Path) -> set[str]:
    return {p.stem for p in page.parent.glob("*.png")}


@pytest.mark.parametrize("key", ["spiral", "spiral3", "reg", "cnn"])
def test_every_png_is_valid_and_linked_from_the_page(runs, key):
    _, run, page = runs[key]
    assert page == run.dir / "report" / "index.html"
    html = page.read_text(encoding="utf-8")
    for name in pngs(page):
        with Image.open(page.parent / f"{name}.png") as im:
            assert im.format == "PNG"
            w, h = im.size
            im.verify()
        assert 250 <= w <= 2500 and 150 <= h <= 2500, (name, im.size)
    linked = set(re.findall(r'<img src="([a-z_]+)\.png"', html))
    assert linked == pngs(page)
    assert not [p.name for p in page.parent.iterdir() if p.name.startswith(".")]   # no temp files left


@pytest.mark.parametrize("key, plots", [
    ("spiral", CORE | {"boundary", "confusion"}),
    ("spiral3", CORE | {"boundary", "confusion"}),
    ("reg", CORE | {"boundary"}),                                  # regression: no confusion matrix
    ("cnn", CORE | {"filters", "feature_maps", "confusion"}),      # images: no boundary
])
def test_which_plots_each_run_gets(runs, key, plots):
    assert pngs(runs[key][2]) == plots


def test_page_shows_summary_spec_and_escapes_text(runs):
    _, run, page = runs["reg"]
    html = page.read_text(encoding="utf-8")
    assert "&lt;b&gt;plane&lt;/b&gt; &amp; co" in html and "<b>plane" not in html
    assert "http://" not in html and "https://" not in html                 # self-contained
    mse = run.summary()["test_mse"]
    assert f"<td>{mse:.4g}</td>" in html
    assert "name = &quot;reg-plane&quot;" in html                          # the spec, as TOML


def test_korean_report_has_korean_captions(runs):
    _, run, en_page = runs["spiral"]
    ko_page = report.write_report(run, run.dir / "report-ko", lang="ko")
    ko, en = ko_page.read_text(encoding="utf-8"), en_page.read_text(encoding="utf-8")
    caps_ko = re.findall(r"<figcaption>(.*?)</figcaption>", ko)
    caps_en = re.findall(r"<figcaption>(.*?)</figcaption>", en)
    assert len(caps_ko) == len(caps_en) == 6
    assert all(HANGUL.search(c) for c in caps_ko) and not any(HANGUL.search(c) for c in caps_en)
    assert t("report.cap.boundary", "ko") in caps_ko and '<html lang="ko">' in ko
    assert pngs(ko_page) == pngs(en_page)


def test_plot_text_is_korean_only_with_a_hangul_font(monkeypatch):
    from nnplay import figure
    monkeypatch.setattr(figure, "HANGUL_FONTS", ("No Such Font",))
    assert figure.fonts("ko")[0] == "en"          # no Hangul glyphs: plots stay readable
    monkeypatch.setattr(figure, "HANGUL_FONTS", ("DejaVu Sans",))
    assert figure.fonts("ko") == ("ko", ["DejaVu Sans", "DejaVu Sans"])
    assert figure.fonts("en")[0] == "en"


def test_confusion_matrix_recomputed_matches_the_saved_one(runs):
    _, run, _ = runs["cnn"]
    trainer = load_trained(run)
    saved = report.confusion(run, trainer)
    assert saved.tolist() == run.summary()["confusion_matrix"]
    recomputed = report.confusion(types.SimpleNamespace(summary=lambda: {}), trainer)   # sklearn path
    np.testing.assert_array_equal(recomputed, saved)
    assert recomputed.sum() == len(trainer.data.y_test)
    assert np.trace(recomputed) / recomputed.sum() == pytest.approx(run.summary()["test_accuracy"])


def test_feature_maps_title_names_the_chosen_sample(runs):
    _, run, _ = runs["cnn"]
    trainer = load_trained(run)
    fig = report.plot_feature_maps(trainer, 3, lambda k, **kw: t(k, "en", **kw))
    label = trainer.data.class_names[int(trainer.data.y_test[3])]
    assert f"test sample 3 (label {label}," in fig._suptitle.get_text()
    names = [n for n, _ in trainer.model.named_children()]
    assert [ax.get_ylabel() for ax in fig.axes] == ["input"] + names[:names.index("flatten1")]


def test_bad_arguments_name_the_field(runs, tmp_path):
    store, run, _ = runs["cnn"]
    with pytest.raises(SpecError, match="sample: must be 0..59"):
        report.write_report(run, tmp_path, sample=60)
    with pytest.raises(SpecError, match="lang: .*allowed: en, ko"):
        report.write_report(run, tmp_path, lang="fr")
    unfinished = store.create(load(None, []))
    with pytest.raises(RunError, match="no saved model"):
        report.write_report(unfinished, tmp_path)


def test_confidence_image_hand_worked():
    """The page's fade (palette.FADE): keep 0.25 + 0.6 * sure of the probability-mixed color."""
    from nnplay.figure import confidence_image
    p = np.array([[[0, 1, 0], [1 / 3, 1 / 3, 1 / 3]]])
    img = confidence_image(p) * 255
    # certain of class 1 (blue 8,119,189): 0.85 of it on white 246,247,249
    np.testing.assert_allclose(img[0, 0], [246 - 0.85 * 238, 247 - 0.85 * 128, 249 - 0.85 * 60], atol=1e-9)
    # chance: 0.25 of the mean of orange 245,147,34, blue 8,119,189 and green 46,160,67
    mean = np.array([299 / 3, 426 / 3, 290 / 3])
    np.testing.assert_allclose(img[0, 1], [246, 247, 249] + 0.25 * (mean - [246, 247, 249]), atol=1e-9)


def test_mosaic_and_series_hand_worked():
    tiles = np.stack([np.full((2, 2), v, np.float32) for v in (1, 2, 3)])
    m = report.mosaic(tiles, cols=2)
    assert m.shape == (5, 5)
    assert (m[:2, :2] == 1).all() and (m[:2, 3:] == 2).all() and (m[3:, :2] == 3).all()
    assert np.isnan(m[2]).all() and np.isnan(m[:, 2]).all() and np.isnan(m[3:, 3:]).all()
    history = [{"epoch": 1}, {"epoch": 2, "weights": {"dense1": {"l2": 0.5}}},
               {"epoch": 3}, {"epoch": 4, "weights": {"dense1": {"l2": 0.25}}}]  # probe_every = 2
    assert report._series(history, "weights", "l2") == {"dense1": ([2, 4], [0.5, 0.25])}


def test_cli_report_and_unknown_run(runs, tmp_path):
    store, run, _ = runs["reg"]
    cli = CliRunner()
    res = cli.invoke(app, ["report", run.id, "--runs-dir", str(store.root), "--out", str(tmp_path / "r"),
                           "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out == {"run_id": run.id, "report": str(tmp_path / "r" / "index.html")}
    assert pngs(Path(out["report"])) == CORE | {"boundary"}
    res = cli.invoke(app, ["report", "no-such-run", "--runs-dir", str(store.root)])
    assert res.exit_code == 2
    assert "unknown run 'no-such-run'" in res.output and "Traceback" not in res.output


def test_every_plot_goes_through_the_one_figure_helper_and_one_confusion_matrix():
    """Fonts and PNG saving in nnplay/figure.py only; sklearn's confusion matrix in probes.py only."""
    import nnplay
    src = Path(nnplay.__file__).parent
    where = {}
    for f in src.rglob("*.py"):
        text = f.read_text()
        for word in (".savefig(", "font_manager", "rc_context(", "confusion_matrix("):
            if word in text:
                where.setdefault(word, set()).add(f.relative_to(src).as_posix())
    assert where[".savefig("] == where["font_manager"] == where["rc_context("] == {"figure.py"}
    assert where["confusion_matrix("] == {"probes.py"}


def test_trust_figures_fall_back_to_english_without_a_hangul_font(monkeypatch, tmp_path):
    import torch

    from nnplay import figure
    from nnplay.trust import figures, uncertainty
    seen = []
    monkeypatch.setattr(figures, "t", lambda key, lang="en", **kw: seen.append(lang) or key)
    cal = uncertainty.calibration(torch.tensor([[0.9, 0.1], [0.4, 0.6]]), torch.tensor([0, 0]), bins=5)
    monkeypatch.setattr(figure, "HANGUL_FONTS", ("No Such Font",))
    path = figures.reliability(cal, tmp_path / "r.png", "title", lang="ko")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and seen and set(seen) == {"en"}
    monkeypatch.setattr(figure, "HANGUL_FONTS", ("DejaVu Sans",))
    seen.clear()
    figures.reliability(cal, tmp_path / "r.png", "title", lang="ko")
    assert set(seen) == {"ko"}
