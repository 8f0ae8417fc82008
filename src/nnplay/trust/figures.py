"""PNG figures for the trust tools (matplotlib's object API: no global state, server-safe).

Each function draws one picture from a result and writes it to ``path`` atomically. Signed maps
(perturbations, attributions) use the page's colors: positive ("for" the class) blue, negative
orange, zero white (figure.DIVERGING); labels are at least LABEL points, readable at 100 dpi.
"""
from __future__ import annotations

import functools
import inspect
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from .. import palette
from ..figure import DIVERGING, class_colors, fonts, rgb, save_png, style
from ..i18n import t

LABEL, TITLE = 11, 13   # points: an image's label, a figure's title

def _styled(draw):
    """Run a drawing function inside ``figure.style(lang)`` so every text gets a font that has
    its glyphs (Korean falls back to English without a Hangul font)."""
    @functools.wraps(draw)
    def wrapper(*args, **kw):
        bound = inspect.signature(draw).bind(*args, **kw)
        bound.apply_defaults()
        lang = bound.arguments["lang"]
        bound.arguments["lang"] = fonts(lang)[0]
        with style(lang):
            return draw(*bound.args, **bound.kwargs)
    return wrapper


def _image(a: torch.Tensor) -> np.ndarray:
    """(C, H, W) -> what imshow takes: (H, W) for one channel, (H, W, 3) for color."""
    a = a.detach().cpu()
    return a[0].numpy() if a.shape[0] == 1 else a[:3].permute(1, 2, 0).clamp(0, 1).numpy()


@_styled
def attack_examples(x: torch.Tensor, res, class_names: list[str], path: Path, lang: str = "en",
                    n: int = 8) -> Path:
    """Clean inputs, adversarial inputs and the difference, with both predictions.

    Images: three rows of pictures. Vectors: the first two inputs, clean -> attacked as arrows.
    """
    names = lambda i: class_names[i] if i < len(class_names) else str(i)
    title = f"{res.method} eps={res.eps:g}"
    if x.dim() == 4:
        flipped = (res.adv_pred != res.clean_pred).nonzero().flatten().tolist()
        idx = (flipped + [i for i in range(len(x)) if i not in flipped])[:n]
        fig = Figure(figsize=(2.0 * len(idx) + 1.2, 7), layout="constrained")
        axes = fig.subplots(3, len(idx), squeeze=False)
        d = (res.x_adv - x)
        lim = float(d.abs().max()) or 1.0
        for j, i in enumerate(idx):
            for r, (img, kw) in enumerate([(x[i], {"cmap": "gray"}), (res.x_adv[i], {"cmap": "gray"}),
                                           (d[i], {"cmap": DIVERGING, "vmin": -lim, "vmax": lim})]):
                ax = axes[r][j]
                ax.imshow(_image(img), **kw)
                ax.set_xticks([]), ax.set_yticks([])
            axes[0][j].set_title(f"{t('trust.fig.pred', lang)} {names(int(res.clean_pred[i]))}", fontsize=LABEL)
            axes[1][j].set_title(f"{t('trust.fig.pred', lang)} {names(int(res.adv_pred[i]))}", fontsize=LABEL,
                                 color="red" if res.adv_pred[i] != res.clean_pred[i] else "black")
        for r, key in enumerate(("trust.fig.clean", "trust.fig.adversarial", "trust.fig.difference")):
            axes[r][0].set_ylabel(t(key, lang), fontsize=LABEL)
    else:
        fig = Figure(figsize=(6, 5))
        ax = fig.subplots()
        a, b = x[:, :2].numpy(), res.x_adv[:, :2].numpy()
        flip = (res.adv_pred != res.clean_pred).numpy()
        ax.scatter(a[:, 0], a[:, 1], c=class_colors(res.y.numpy()), s=10, label=t("trust.fig.clean", lang))
        ax.quiver(a[flip, 0], a[flip, 1], b[flip, 0] - a[flip, 0], b[flip, 1] - a[flip, 1],
                  angles="xy", scale_units="xy", scale=1, color="red", width=0.004,
                  label=t("trust.fig.flipped", lang))
        ax.legend(fontsize=LABEL)
    fig.suptitle(title, fontsize=TITLE)
    return save_png(fig, path)


@_styled
def robustness_curve(curve: list[dict], path: Path, title: str, lang: str = "en") -> Path:
    """Accuracy against epsilon."""
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    ax.plot([r["eps"] for r in curve], [r["accuracy"] for r in curve], "o-")
    ax.set_xlabel("epsilon")
    ax.set_ylabel(t("trust.fig.accuracy", lang))
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    return save_png(fig, path)


PATCH_COLS = 5   # the patch figure's images a row


@_styled
def patch_examples(x: torch.Tensor, res, class_names: list[str], path: Path, lang: str = "en",
                   n: int = 8) -> Path:
    """The learned patch and a few patched images with the model's new answer."""
    names = lambda i: class_names[i] if i < len(class_names) else str(i)
    tgt = res.target
    hit = ((res.adv_pred == tgt) & (res.clean_pred != tgt)).nonzero().flatten().tolist()
    rest = [i for i in (res.clean_pred != tgt).nonzero().flatten().tolist() if i not in hit]
    idx = (hit + rest)[:n]                   # successes first, never images already in the target class
    cols = min(PATCH_COLS, len(idx) + 1)     # a grid, not one strip: readable on a page
    rows = -(-(len(idx) + 1) // cols)
    fig = Figure(figsize=(2.2 * cols, 2.3 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    axes[0].imshow(_image(res.patch), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title(t("trust.fig.patch", lang), fontsize=LABEL)
    for j, i in enumerate(idx, 1):
        axes[j].imshow(_image(res.x_adv[i]), cmap="gray")
        axes[j].set_title(f"{names(int(res.clean_pred[i]))} -> {names(int(res.adv_pred[i]))}",
                          fontsize=LABEL, color="red" if i in hit else "black")
    for ax in axes:
        ax.set_xticks([]), ax.set_yticks([])
    for ax in axes[len(idx) + 1:]:
        ax.set_axis_off()
    fig.suptitle(f"{t('trust.fig.patch', lang)} -> {names(int(res.target[0]))}: "
                 f"{t('trust.fig.success', lang)} {res.success_rate:.0%}", fontsize=TITLE)
    return save_png(fig, path)


@_styled
def reliability(cal, path: Path, title: str, lang: str = "en") -> Path:
    """Reliability diagram: accuracy per confidence bin against the diagonal, and ECE."""
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    width = cal.bins[0]["hi"] - cal.bins[0]["lo"]
    lows = [b["lo"] for b in cal.bins]
    ax.bar(lows, [b["accuracy"] for b in cal.bins], width=width, align="edge", edgecolor="k",
           alpha=0.8, label=t("trust.fig.accuracy", lang))
    ax.bar(lows, [b["confidence"] - b["accuracy"] if b["count"] else 0 for b in cal.bins],
           bottom=[b["accuracy"] for b in cal.bins], width=width, align="edge", facecolor="none",
           edgecolor="red", hatch="//", label=t("trust.fig.gap", lang))
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlabel(t("trust.fig.confidence", lang))
    ax.set_ylabel(t("trust.fig.accuracy", lang))
    ax.set_xlim(0, 1), ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"{title}  ECE={cal.ece:.3f}")
    return save_png(fig, path)


@_styled
def entropy_histograms(h_in: torch.Tensor, h_out: dict[str, torch.Tensor], path: Path, title: str,
                       lang: str = "en") -> Path:
    """Predictive entropy of test inputs against out-of-distribution inputs."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    top = max([float(h_in.max())] + [float(h.max()) for h in h_out.values()]) or 1.0
    bins = np.linspace(0, top, 30)
    ax.hist(h_in.numpy(), bins=bins, alpha=0.6, density=True, label=t("trust.fig.in_dist", lang))
    for kind, h in h_out.items():
        ax.hist(h.numpy(), bins=bins, alpha=0.5, density=True, label=t(f"trust.ood.{kind}", lang))
    ax.set_xlabel(t("trust.fig.entropy", lang))
    ax.legend(fontsize=8)
    ax.set_title(title)
    return save_png(fig, path)


@_styled
def attribution(x: torch.Tensor, attr: torch.Tensor, path: Path, title: str, lang: str = "en",
                feature_names: list[str] | None = None) -> Path:
    """One input and its attribution: side-by-side heat map (images) or a bar chart (vectors)."""
    if x.dim() == 3:
        fig = Figure(figsize=(7, 3.4))
        a1, a2 = fig.subplots(1, 2)
        a1.imshow(_image(x), cmap="gray")
        heat = attr.sum(0).numpy()
        lim = float(np.abs(heat).max()) or 1.0
        im = a2.imshow(heat, cmap=DIVERGING, vmin=-lim, vmax=lim)
        a2.imshow(_image(x), cmap="gray", alpha=0.25)
        fig.colorbar(im, ax=a2, fraction=0.046).set_label(t("trust.fig.for_against", lang), fontsize=LABEL - 2)
        a1.set_title(t("trust.fig.input", lang), fontsize=LABEL)
        a2.set_title(t("trust.fig.attribution", lang), fontsize=LABEL)
        for ax in (a1, a2):
            ax.set_xticks([]), ax.set_yticks([])
    else:
        fig = Figure(figsize=(6, 0.4 * len(attr) + 1.2))
        ax = fig.subplots()
        names = feature_names if feature_names and len(feature_names) == len(attr) else \
            [f"x{i + 1}" for i in range(len(attr))]
        v = attr.numpy()
        ax.barh(names, v, color=[rgb(palette.POS if a > 0 else palette.NEG) for a in v])
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(f"{t('trust.fig.attribution', lang)} ({t('trust.fig.for_against', lang)})")
    fig.suptitle(title)
    return save_png(fig, path)
