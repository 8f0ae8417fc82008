"""Issue 9 and 15 on the page: its colors are the library's (palette.py, sent in the hello) and
its multiclass fade draws what figure.confidence_image computes; the embedded digits' name
follows the language; a bad upload's error names the user's file, in the page's language."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import PAGE_WAIT, page_lang
from nnplay import palette
from nnplay.figure import confidence_image
from nnplay.i18n import t

pytestmark = pytest.mark.e2e
WAIT = PAGE_WAIT   # ms: the longest any condition may take
DRAW = "import('/js/draw.js')"


def test_the_pages_palette_is_the_librarys(page):
    got = page.evaluate(f"{DRAW}.then((d) => ({{classes: d.CLASS_COLORS, neg: d.NEG, pos: d.POS}}))")
    assert got == {"classes": palette.hello()["classes"], "neg": list(palette.NEG), "pos": list(palette.POS)}


def test_the_pages_multiclass_fade_is_the_figures(page):
    probs = [[0.2, 0.5, 0.3], [1 / 3, 1 / 3, 1 / 3], [0.9, 0.05, 0.05], [0.1, 0.1, 0.1, 0.7]]
    drawn = page.evaluate(f"""(probs) => {DRAW}.then((d) => probs.map((p) => {{
        const c = document.createElement("canvas"); c.width = c.height = 1;
        d.heatmap(c, {{shape: [1, 1, p.length], data: Float32Array.from(p)}}, {{task: "multiclass"}});
        return Array.from(c.getContext("2d").getImageData(0, 0, 1, 1).data.slice(0, 3));
    }}))""", probs)
    for p, rgb in zip(probs, drawn):
        want = confidence_image(np.array([[p]]))[0, 0] * 255
        np.testing.assert_allclose(rgb, want, atol=1.01)     # the canvas rounds to whole bytes


def test_embedded_digits_are_named_in_korean(page):
    option = page.locator("[data-testid=image-set] option[value=digits]")
    assert option.text_content() == t("web.data.digits", "en")
    page_lang(page, "ko")
    try:
        assert option.text_content() == t("web.data.digits", "ko")
    finally:
        page_lang(page, "en")


def test_a_bad_upload_names_the_users_file(page, tmp_path):
    bad = tmp_path / "my flowers.csv"
    bad.write_text("a,b,c\n1,2,0\n3,4\n5,6,1\n")
    page.get_by_test_id("upload").set_input_files(str(bad))
    page.wait_for_function("() => document.body.innerText.includes('line 3 has 2 fields')", timeout=WAIT)
    text = page.evaluate("document.body.innerText")
    assert "my flowers.csv: line 3" in text and "uploads/" not in text
