"""Report figures of generative runs (``nnplay report`` calls ``plots``): loss curves (the
VAE's ELBO split into reconstruction and KL; a GAN's D and G losses, D's accuracy and, on
2-D mode sets, PacGAN's metrics), reconstructions, the latent map, sampling grids, and on
2-D data real vs generated points over D's heat map with G's gradient arrows."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..figure import class_colors
from ..model import eval_mode
from ..report import _epoch_axis, mosaic

# history keys per panel: (title key, [(record key, legend key)])
CURVES = {
    "autoencoder": [("report.fig.loss", [("train_mse", "report.fig.train"), ("val_mse", "report.fig.val")])],
    "vae": [("report.fig.loss", [("train_loss", "report.fig.train"), ("val_loss", "report.fig.val")]),
            ("report.fig.elbo", [("train_recon", "report.fig.recon"), ("train_kl", "report.fig.kl")])],
    "gan": [("report.fig.loss", [("d_loss", "report.fig.d_loss"), ("g_loss", "report.fig.g_loss")]),
            ("report.fig.gan_quality", [("d_accuracy", "report.fig.d_accuracy"),
                                        ("high_quality", "report.fig.high_quality")])],
}


def plot_curves(history: list[dict], kind: str, L) -> Figure | None:
    if not history:
        return None
    panels = CURVES[kind]
    fig = Figure(figsize=(5 * len(panels), 4))
    ep = [r["epoch"] for r in history]
    for ax, (title, lines) in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels):
        for key, label in lines:
            if all(key in r for r in history):
                ax.plot(ep, [r[key] for r in history], label=L(label))
        if kind == "gan" and "modes_covered" in history[0] and title == "report.fig.gan_quality":
            modes = history[0]["modes"]
            ax.plot(ep, [r["modes_covered"] / modes for r in history], label=L("report.fig.modes_share"))
            ax.set_ylim(-0.02, 1.02)
        ax.set(xlabel=L("report.fig.epoch"), title=L(title))
        _epoch_axis(ax)
    return fig


def _image_grid(images: np.ndarray, cols: int, title: str) -> Figure:
    """(N, C, H, W) in [0, 1] -> one grey mosaic (channel 0)."""
    rows = -(-len(images) // cols)
    fig = Figure(figsize=(0.6 * cols + 0.6, 0.6 * rows + 0.8))
    ax = fig.subplots()
    ax.imshow(mosaic(images[:, 0], cols), cmap="gray_r", vmin=0, vmax=1)
    ax.set(title=title, xticks=[], yticks=[], frame_on=False)
    return fig


def plot_reconstructions(trainer, L, n: int = 10) -> Figure | None:
    """Test images (top row) and their reconstructions (bottom row)."""
    if trainer.kind == "gan" or not trainer.data.is_image:
        return None
    x = trainer.x["test"][:n]
    with eval_mode(trainer.model):
        rec = trainer._units(trainer.model(x))
    return _image_grid(np.concatenate([trainer._units(x), rec]), len(x), L("report.fig.reconstructions"))


def plot_samples(trainer, L, n: int = 64) -> Figure | None:
    """A grid of samples (images) or samples over the real data (2-D)."""
    if trainer.kind == "autoencoder":
        return None
    s = trainer.sample(n if trainer.data.is_image else 2500, seed=trainer.spec.train.seed)
    if trainer.data.is_image:
        return _image_grid(s, 8, L("report.fig.samples"))
    fig = Figure(figsize=(6, 5.4))
    ax = fig.subplots()
    e = trainer.extent
    if trainer.kind == "gan":             # D's heat map, real and fake points, G's arrows
        ax.imshow(trainer.decision_grid(100, e), extent=(-e, e, -e, e), origin="upper",
                  cmap="PiYG", vmin=0, vmax=1, alpha=0.6)
    real = trainer._units(trainer.x["train"])
    ax.scatter(*real.T, s=4, c="tab:green", label=L("report.fig.real"))
    ax.scatter(*s.T, s=4, c="tab:purple", alpha=0.5, label=L("report.fig.fake"))
    if trainer.kind == "gan":
        few = s[:200]
        g = trainer.gradient_arrows(few)
        g = g / (np.abs(g).max() or 1.0) * e * 0.1
        ax.quiver(*few.T, *g.T, angles="xy", scale_units="xy", scale=1, width=0.003, color="k")
    ax.set(xlim=(-e, e), ylim=(-e, e), aspect="equal", title=L("report.fig.samples"))
    ax.legend(loc="upper right", fontsize=8)
    return fig


def plot_latent(trainer, L) -> Figure | None:
    """The test set's codes (first two latent dimensions), colored by class."""
    if trainer.kind == "gan":
        return None
    z, y = trainer.encode("test")
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    for c in np.unique(y):                   # the page's class colors (palette.py)
        pts = z[y == c]
        ax.scatter(pts[:, 0], pts[:, 1] if z.shape[1] > 1 else np.zeros(len(pts)), s=6,
                   color=class_colors([int(c)])[0], label=trainer.data.class_names[int(c)]
                   if int(c) < len(trainer.data.class_names) else str(c))
    ax.set(xlabel="z1", ylabel="z2", title=L("report.fig.latent"))
    ax.legend(fontsize=7, markerscale=2, ncol=2)
    return fig


def plot_interpolation(trainer, L, steps: int = 10) -> Figure | None:
    """The decoded line between the first two test images of different classes."""
    if trainer.kind == "gan" or not trainer.data.is_image or len(trainer.x["test"]) < 2:
        return None
    y = trainer.y["test"].cpu().numpy()
    j = int(np.argmax(y != y[0])) if (y != y[0]).any() else 1
    return _image_grid(trainer.interpolate(0, j, steps), steps, L("report.fig.interpolation"))


def plots(trainer, history: list[dict], L) -> dict:
    """{figure name: maker} for ``report.write_report``."""
    return {"gen_curves": lambda: plot_curves(history, trainer.kind, L),
            "reconstructions": lambda: plot_reconstructions(trainer, L),
            "samples": lambda: plot_samples(trainer, L),
            "latent": lambda: plot_latent(trainer, L),
            "interpolation": lambda: plot_interpolation(trainer, L)}
