"""The "Can we believe it?" tab in a real headless Chromium (Debian's), driven by Playwright,
against `nnplay serve` on a free port (fixtures in conftest.py): train the digits CNN in the
page, attack, explain, check calibration and OOD confidence. The screenshot goes to tmp_path
and, when NNPLAY_SCREENSHOTS names a folder, there too."""
from __future__ import annotations

import pytest
from helpers import page_image_mode

pytestmark = pytest.mark.e2e

WAIT = 20_000   # ms: the longest any condition may take


@pytest.fixture
def viewport():
    """A window a little larger than the default: the tab's three panels at once."""
    return {"width": 1440, "height": 980}


def test_trust_tab_attack_explain_uncertainty(page, shot):
    assert not page.get_by_test_id("trust-tab").is_visible()          # 2-D mode: no tab
    page_image_mode(page, epochs=3)                                   # train the CNN three epochs
    page.get_by_test_id("trust-tab").click()
    assert page.get_by_test_id("trust-view").is_visible() and not page.locator("#view-image").is_visible()
    clean = page.get_by_test_id("trust-pred-clean")
    page.wait_for_function("() => document.querySelector('[data-testid=trust-pred-adv]').textContent.includes('%')",
                           timeout=WAIT)
    label = page.evaluate("nnplay.sessions[0].images.labels[0]")
    assert clean.inner_text().endswith("%)")
    page.get_by_test_id("trust-method").select_option("pgd")
    slider = page.get_by_test_id("trust-eps")
    slider.fill("0.3")                                                # move epsilon: a new attack
    page.wait_for_function("() => document.querySelector('[data-testid=trust-test-acc]').textContent.includes('0.30')",
                           timeout=WAIT)
    assert "PGD" in page.get_by_test_id("trust-test-acc").inner_text()
    adv = page.get_by_test_id("trust-pred-adv").inner_text()
    assert adv.endswith("%)") and adv.split(" ")[0] in [str(k) for k in range(10)]
    assert page.get_by_test_id("trust-eps-value").inner_text() == "0.30"
    page.wait_for_function("() => /^0\\.\\d{3}$/.test(document.querySelector('[data-testid=trust-ece]').textContent) "
                           "&& /^[01]\\.\\d{3}$/.test(document.querySelector('[data-testid=trust-auroc]').textContent)",
                           timeout=WAIT)
    ece = float(page.get_by_test_id("trust-ece").inner_text())
    auroc = float(page.get_by_test_id("trust-auroc").inner_text())
    assert 0 <= ece <= 1 and 0 <= auroc <= 1
    for m in ("saliency", "integrated-gradients", "occlusion", "gradcam", "lime"):
        assert page.get_by_test_id(f"trust-explain-{m}").is_visible()
    page.wait_for_function("() => document.querySelector('[data-testid=trust-explain-note]').textContent.length > 5",
                           timeout=WAIT)
    assert label in range(10)
    shot(page, "trust-tab")
    page.get_by_test_id("lang").click()                               # Korean labels
    page.wait_for_function("() => document.querySelector('[data-testid=trust-tab]').textContent === '믿을 수 있을까?'",
                           timeout=WAIT)
    assert "적대적 공격" in page.get_by_test_id("trust-attack").inner_text()
    assert "불확실성" in page.get_by_test_id("trust-uncertainty").inner_text()
    assert "해석 가능성" in page.get_by_test_id("trust-explain").inner_text()
    assert "정확도" in page.get_by_test_id("trust-test-acc").inner_text()   # drawn texts follow too
    shot(page, "trust-tab-ko")
    page.get_by_test_id("lang").click()
