"""The one figure helper: fonts for the text inside plots, the page's colors (palette.py) as
matplotlib colors, and PNG files written atomically.

Every plot (report.py and generative/report.py, trust/figures.py, active.py, sweep.py) is
drawn with matplotlib's object API and goes through here: Korean text needs a Hangul font,
and without one the plot's text falls back to English (no boxes for missing glyphs).
"""
from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
from matplotlib import font_manager, rc_context
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from . import palette

HANGUL_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "AppleGothic", "UnDotum")
HANGUL_FILES = ("NanumGothic.", "NotoSansCJK", "NotoSansKR")   # font files to register if matplotlib missed them
DPI = 100


@functools.cache
def _installed() -> frozenset[str]:
    """Font names matplotlib knows; Hangul font files added after it built its cache are added."""
    have = {f.name for f in font_manager.fontManager.ttflist}
    if not have & set(HANGUL_FONTS):
        for path in font_manager.findSystemFonts():
            if any(k in Path(path).name for k in HANGUL_FILES):
                font_manager.fontManager.addfont(path)
        have = {f.name for f in font_manager.fontManager.ttflist}
    return frozenset(have)


def fonts(lang: str) -> tuple[str, list[str]]:
    """(language of the text inside plots, fonts): Korean needs a Hangul font, else English."""
    found = [f for f in HANGUL_FONTS if f in _installed()] if lang == "ko" else []
    return ("ko" if found else "en"), found + ["DejaVu Sans"]


def style(lang: str):
    """matplotlib settings for plots whose text is in ``fonts(lang)[0]`` (a context manager)."""
    plot_lang, names = fonts(lang)
    return rc_context({"font.family": names, "axes.unicode_minus": plot_lang == "en"})


def rgb(color) -> np.ndarray:
    """A palette color (0-255) as matplotlib's RGB in [0, 1]."""
    return np.asarray(color, np.float64) / 255


def class_colors(labels) -> np.ndarray:
    """(N,) class labels -> (N, 3) RGB: the page's class colors (palette.CLASSES), cycling."""
    return rgb(palette.CLASSES)[np.asarray(labels) % len(palette.CLASSES)]


# Signed values (weights, attributions, perturbations, P(class 1) - 1/2): negative orange,
# zero white, positive blue, as drawn on the page (draw.js ``diverging``). Use it with
# vmin = -vmax so that 0 is white.
DIVERGING = LinearSegmentedColormap.from_list(
    "nnplay", [rgb(palette.NEG), rgb(palette.WHITE), rgb(palette.POS)])


def confidence_image(p: np.ndarray) -> np.ndarray:
    """(R, R, K) probabilities -> (R, R, 3) RGB as the page draws a multiclass boundary
    (draw.js ``pixels``): the classes' colors mixed by probability, faded towards white
    as the confidence falls to chance (palette.FADE)."""
    k = p.shape[-1]
    colors, white = rgb(palette.CLASSES)[np.arange(k) % len(palette.CLASSES)], rgb(palette.WHITE)
    mixed = p @ colors                                                    # (R, R, 3)
    sure = ((p.max(-1) - 1 / k) / (1 - 1 / k))[..., None]
    keep = palette.FADE["floor"] + palette.FADE["span"] * sure
    return (white + (mixed - white) * keep).clip(0, 1)


def png(fig: Figure, dpi: int = DPI) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def save_png(fig: Figure, path: Path | str, dpi: int = DPI) -> Path:
    """``fig`` as a PNG at ``path`` (its folder made; a temporary file, then renamed)."""
    from .runs import atomic_write
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, png(fig, dpi))
    return path
