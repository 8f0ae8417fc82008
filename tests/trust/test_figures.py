"""Issue 15: the trust figures are readable (labels at least 10 pt; the patch figure a grid, not
a 1143x179 strip) and use the page's colors (palette.py): positive attribution, "for" the
class, is blue, negative orange, as on the page."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from nnplay import palette
from nnplay.trust import figures

G = torch.Generator().manual_seed(0)
X = torch.rand(8, 1, 8, 8, generator=G)
CLASSES = [str(i) for i in range(10)]


@pytest.fixture
def drawn(monkeypatch):
    """The Figure each call draws (it is still written, to look at its size)."""
    figs = []
    real = figures.save_png

    def keep(fig, path, *a, **kw):
        figs.append(fig)
        return real(fig, path, *a, **kw)
    monkeypatch.setattr(figures, "save_png", keep)
    return figs


def _texts(fig):
    for ax in fig.axes:
        yield from (t for t in (ax.title, ax.yaxis.label) if t.get_text())


def test_attack_examples_labels_are_readable(drawn, tmp_path):
    pred = torch.arange(8) % 10
    res = SimpleNamespace(method="fgsm", eps=0.1, clean_pred=pred, adv_pred=(pred + 1) % 10,
                          x_adv=(X + 0.1).clamp(0, 1), y=pred)
    figures.attack_examples(X, res, CLASSES, tmp_path / "a.png")
    sizes = [t.get_fontsize() for t in _texts(drawn[0])]
    assert len(sizes) == 8 * 2 + 3 and min(sizes) >= 10, sizes
    diff = next(im for ax in drawn[0].axes for im in ax.images if im.get_clim()[0] < 0)
    np.testing.assert_allclose(diff.cmap(1.0)[:3], np.array(palette.POS) / 255, atol=0.01)


def test_patch_figure_is_a_readable_grid(drawn, tmp_path):
    pred = torch.zeros(8, dtype=torch.long) + 3
    res = SimpleNamespace(target=torch.full((8,), 7), clean_pred=pred, adv_pred=torch.tensor([7] * 5 + [3] * 3),
                          patch=torch.rand(1, 4, 4, generator=G), x_adv=X, success_rate=0.625)
    path = figures.patch_examples(X, res, CLASSES, tmp_path / "p.png")
    w, h = Image.open(path).size
    assert w / h < 3 and h >= 350, (w, h)           # was 1143x179
    assert min(t.get_fontsize() for t in _texts(drawn[0])) >= 10


def test_attribution_is_blue_for_and_orange_against(drawn, tmp_path):
    figures.attribution(torch.zeros(3), torch.tensor([0.5, -0.2, 0.1]), tmp_path / "v.png", "ig")
    bars = drawn[0].axes[0].patches
    np.testing.assert_allclose(bars[0].get_facecolor()[:3], np.array(palette.POS) / 255, atol=1e-6)
    np.testing.assert_allclose(bars[1].get_facecolor()[:3], np.array(palette.NEG) / 255, atol=1e-6)
    figures.attribution(X[0], torch.randn(1, 8, 8, generator=G), tmp_path / "i.png", "ig")
    heat = drawn[1].axes[1].images[0]
    assert heat.get_clim()[0] == -heat.get_clim()[1]            # zero is the middle: white
    np.testing.assert_allclose(heat.cmap(1.0)[:3], np.array(palette.POS) / 255, atol=0.01)
    np.testing.assert_allclose(heat.cmap(0.0)[:3], np.array(palette.NEG) / 255, atol=0.01)
    np.testing.assert_allclose(heat.cmap(0.5)[:3], np.array(palette.WHITE) / 255, atol=0.01)
