"""Run reports: PNG plots (matplotlib, Agg) and one self-contained ``index.html``.

What the course makes visible after training, each plot only where it applies:
loss and metric curves (overfitting: train vs validation), the decision boundary
(2-D data), per-layer gradient norms (기울기 소실), activation statistics (dead
ReLUs), weight norms (L1 sparsity), a CNN's first-layer filters and the feature
maps of one test image, and the test confusion matrix; for sequences the forecast
against the truth and the baselines, the gradient over time steps and the gates; for
metric learning (``model.embedding``) the test embedding in 2-D (PCA) and one test
image's nearest neighbors by the embedding and by raw pixels.
"""
from __future__ import annotations

import html
from functools import partial
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import ConfusionMatrixDisplay

from . import figure, probes
from .i18n import LANGS, t
from .runs import Run, atomic_write, load_trained
from .spec import SpecError

SUMMARY_KEYS = ("epochs", "train_loss", "val_loss", "test_loss", "test_accuracy", "test_mse",
                "test_mae", "test_rmse", "test_recall_at_1", "test_map", "test_map_qe", "seconds",
                "test_accuracy_tta", "test_balanced_accuracy", "test_pr_auc_mean", "rare_class",
                "test_recall_rare", "test_pr_auc_rare",
                "test_recon", "test_kl", "d_loss", "g_loss", "d_accuracy",   # generative
                "modes_covered", "high_quality")
SEQ_PROBE = 256   # test sequences the gradient-over-time curve averages over
MAX_MAPS = 8      # feature-map channels shown per layer
REPORT_SAMPLE, REPORT_TEMPERATURE = 300, 0.8   # a character model's sample on its page
CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
figure{margin:2em 0} img{max-width:100%;border:1px solid #ddd} figcaption{color:#444} pre{background:#f6f6f6}
table{border-collapse:collapse} th,td{padding:.2em .8em;text-align:left;border-bottom:1px solid #eee}"""


def _series(history: list[dict], probe: str, stat: str | None) -> dict[str, tuple[list, list]]:
    """{layer: (epochs, values)} of one probe (probes run every train.probe_every epochs)."""
    out: dict[str, tuple[list, list]] = {}
    for rec in history:
        for layer, v in rec.get(probe, {}).items():
            ep, ys = out.setdefault(layer, ([], []))
            ep.append(rec["epoch"]), ys.append(v[stat] if stat else v)
    return out


def _epoch_axis(ax) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # epochs are whole numbers
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)


# --- 1. loss and metric curves --------------------------------------------------------
def plot_curves(history: list[dict], L) -> Figure:
    metric = "accuracy" if "train_accuracy" in history[0] else "mse"
    fig = Figure(figsize=(10, 4))
    ep = [r["epoch"] for r in history]
    for ax, key in zip(fig.subplots(1, 2), ("loss", metric)):
        for split in ("train", "val"):
            if None not in (ys := [r.get(f"{split}_{key}") for r in history]):   # no val split: no line
                ax.plot(ep, ys, marker="." if len(ep) < 30 else None, label=L(f"report.fig.{split}"))
        ax.set(xlabel=L("report.fig.epoch"), ylabel=L(f"report.fig.{key}"), title=L(f"report.fig.{key}"))
        _epoch_axis(ax)
    return fig


# --- 2. decision boundary on the 2-D plane ---------------------------------------------
def plot_boundary(model, data, L, resolution: int = 100) -> Figure | None:
    if not data.is_2d:
        return None
    e, binary, splits = data.extent, data.task == "binary", ("train", "test")
    grid = probes.boundary_grid(model, data, resolution)     # (R, R) or (R, R, K), top row x2 = +e
    fig = Figure(figsize=(6, 5.2))
    ax = fig.subplots()
    kw = dict(extent=(-e, e, -e, e), origin="upper", aspect="equal")
    if data.task == "multiclass":            # the classes' colors, faded by confidence, as on the page
        ax.imshow(figure.confidence_image(grid), alpha=0.85, **kw)   # as the page draws it (view2d.js)
        style = {s: {"c": figure.class_colors(data.split(s)[1].numpy())} for s in splits}
    else:                                     # P(class 1) or the regression value
        ys = torch.cat([data.y_train, data.y_test]).float().numpy()
        lo, hi = (0.0, 1.0) if binary else (min(grid.min(), ys.min()), max(grid.max(), ys.max()))
        cmap = {"cmap": figure.DIVERGING if binary else "viridis", "vmin": lo, "vmax": hi}
        im = ax.imshow(grid, alpha=0.8, **cmap, **kw)
        fig.colorbar(im, ax=ax, shrink=0.8, label=L("report.fig.prob" if binary else "report.fig.value"))
        style = {s: {"c": data.split(s)[1].float().numpy(), **cmap} for s in splits}
    for split, marker, size, edge in zip(splits, "o^", (14, 22), ("white", "black")):
        ax.scatter(*data.points[split].T, **style[split], s=size, marker=marker,
                   edgecolors=edge, linewidths=0.6, label=L(f"report.fig.{split}"))
    ax.set(xlim=(-e, e), ylim=(-e, e), xlabel="x1", ylabel="x2",
           title=L("report.fig.value" if data.task == "regression" else "report.fig.boundary"))
    ax.legend(loc="upper right", fontsize=8)
    return fig


# --- 3. probes over epochs: gradients, activations, weights --------------------------
def plot_probe(history: list[dict], probe: str, stats: tuple, L, log: bool = False) -> Figure | None:
    """One panel per stat, one line per layer, x = epoch."""
    series = [_series(history, probe, s) for s in stats]
    if not series[0]:
        return None
    fig = Figure(figsize=(4.6 * len(stats) + 0.4, 4))
    for ax, stat, lines in zip(np.atleast_1d(fig.subplots(1, len(stats))), stats, series):
        for layer, (ep, ys) in lines.items():
            ax.plot(ep, ys, marker="." if len(ep) < 30 else None, label=layer)
        key = f"report.fig.{probe}" + (f".{stat}" if stat else "")
        ax.set(xlabel=L("report.fig.epoch"), title=L(key), yscale="log" if log else "linear")
        if stat in ("dead", "near_zero"):                           # shares: always on 0..1
            ax.set_ylim(-0.02, 1.02)
        _epoch_axis(ax)
    return fig


# --- 4. CNNs: first-layer filters and the feature maps of one test image ---------------
def mosaic(tiles: np.ndarray, cols: int, pad: int = 1) -> np.ndarray:
    """(N, H, W) tiles -> one image, ``cols`` tiles a row, NaN gaps (one imshow, not N axes: fast)."""
    n, h, w = tiles.shape
    rows = -(-n // cols)
    grid = np.full((rows * cols, h + pad, w + pad), np.nan, np.float32)
    grid[:n, :h, :w] = tiles
    grid = grid.reshape(rows, cols, h + pad, w + pad).transpose(0, 2, 1, 3)   # (rows, H, cols, W)
    return grid.reshape(rows * (h + pad), cols * (w + pad))[:-pad, :-pad]


def plot_filters(model, L) -> Figure | None:
    if (w := probes.filters(model)) is None:   # (F, C, k, k)
        return None
    w = w[:, 0]                                # input channel 0; blue +, orange - on one shared scale
    vmax = float(np.abs(w).max()) or 1.0
    cols = min(8, len(w))
    fig = Figure(figsize=(1.0 * cols + 1.2, 1.0 * -(-len(w) // cols) + 0.8))
    ax = fig.subplots()
    im = ax.imshow(mosaic(w, cols), cmap=figure.DIVERGING, vmin=-vmax, vmax=vmax)
    ax.set(title=L("report.fig.filters"), xticks=[], yticks=[], frame_on=False)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_feature_maps(trainer, sample: int, L) -> Figure | None:
    model, data = trainer.model, trainer.data
    if not data.is_image or probes.filters(model) is None:
        return None
    image = data.x_test[sample]                                 # (C, H, W)
    maps = {L("report.fig.input"): image.numpy(), **probes.feature_maps(model, image)}
    fig = Figure(figsize=(10, 0.9 * len(maps) + 0.8))
    axes = fig.subplots(len(maps), 1, squeeze=False)[:, 0]
    for i, (ax, (name, m)) in enumerate(zip(axes, maps.items())):   # row 0: the input image
        m = m[:MAX_MAPS]                                            # (C', H', W'), each scaled to [0, 1]
        lo, hi = m.min((1, 2), keepdims=True), m.max((1, 2), keepdims=True)
        m = (m - lo) / np.where(hi > lo, hi - lo, 1.0)
        f = max(1, image.shape[-1] // m.shape[-1])                  # pooled maps: blow up pixels
        m = m.repeat(f, 1).repeat(f, 2)                             # so every row has one width
        ax.imshow(mosaic(m, MAX_MAPS), cmap="viridis" if i else "gray", vmin=0, vmax=1)
        ax.set(xticks=[], yticks=[], frame_on=False)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    with torch.no_grad():                                           # image sets are classification
        pred = int(trainer.predict(image[None])[0].argmax())
    names = data.class_names
    fig.suptitle(L("report.fig.maps", i=sample, label=names[int(data.y_test[sample])], pred=names[pred]))
    return fig


# --- 5. confusion matrix on the test split -------------------------------------------
def confusion(run: Run, trainer) -> np.ndarray | None:
    """The test confusion matrix: from summary.json when saved there, else with sklearn."""
    data = trainer.data
    if data.task == "regression" or len(data.x_test) == 0 or trainer.spec.data.name == "text":
        return None      # a character model: one class per character, no readable matrix
    if (saved := run.summary().get("confusion_matrix")) is not None:
        return np.asarray(saved)
    return probes.confusion(trainer.model, data.x_test, data.y_test, data.task, data.num_classes)[0]


def plot_confusion(run: Run, trainer, L) -> Figure | None:
    if (cm := confusion(run, trainer)) is None:
        return None
    k = len(cm)
    fig = Figure(figsize=(max(4.5, 0.55 * k + 2), max(4, 0.5 * k + 1.5)))
    ax = fig.subplots()
    ConfusionMatrixDisplay(cm, display_labels=trainer.data.class_names).plot(ax=ax, cmap="Blues", colorbar=False)
    ax.set(xlabel=L("report.fig.predicted"), ylabel=L("report.fig.true"), title=L("report.fig.confusion"))
    return fig


# --- 6. sequences: forecast vs truth, gradient over time, gates ----------------------------
def plot_forecast(trainer, L) -> Figure | None:
    """The test period: truth, the network's forecasts and each baseline's, one step ahead
    (and, for a longer horizon, every horizon-th window's whole forecast)."""
    data = trainer.data
    f = data.forecasts
    if f is None or len(data.x_test) == 0:
        return None
    pred = f.unscale(trainer.predict(data.x_test).numpy()).reshape(-1, f.horizon)
    s = f.starts["test"]
    before = max(0, s[0] - 3 * f.window)                 # some history for context
    panels = 2 if f.horizon > 1 else 1
    fig = Figure(figsize=(10, 4 * panels))
    axes = np.atleast_1d(fig.subplots(panels, 1))
    for ax in axes:
        ax.plot(f.times[before:], f.values[before:], color="black", lw=1.5, label=L("report.fig.truth"))
        ax.axvline(f.times[s[0]], color="grey", ls=":", lw=1)
        ax.set(xlabel=L("report.fig.time"), ylabel=L("report.fig.series_value"))
        ax.grid(alpha=0.3)
    ax = axes[0]
    ax.plot(f.times[s], pred[:, 0], color="C3", lw=2, marker="." if len(s) < 60 else None,
            label=L("report.fig.network"))
    for i, (name, p) in enumerate(f.baselines.items()):
        ax.plot(f.times[s], p[:, 0], ls="--", lw=1, color=f"C{i}", label=L(f"baseline.{name}"))
    ax.set_title(L("report.fig.forecast"))
    ax.legend(fontsize=8)
    if panels == 2:                                      # whole forecasts from every h-th origin
        ax = axes[1]
        for j in range(0, len(s), f.horizon):
            ax.plot(f.times[s[j]:s[j] + f.horizon], pred[j], color="C3", lw=2,
                    label=L("report.fig.network") if j == 0 else None)
        ax.set_title(L("report.fig.forecast_h", h=f.horizon))
        ax.legend(fontsize=8)
    return fig


def plot_time_gradients(trainer, L) -> Figure | None:
    data = trainer.data
    if data.x_test.dim() != 3 or len(data.x_test) == 0:
        return None
    g = probes.time_gradients(trainer.model, trainer.loss_fn, data.x_test[:SEQ_PROBE],
                              data.y_test[:SEQ_PROBE])
    fig = Figure(figsize=(7, 3.8))
    ax = fig.subplots()
    ax.plot(np.arange(1, len(g) + 1), g, marker="." if len(g) < 60 else None)
    ax.set(xlabel=L("report.fig.step"), ylabel="||dL/dx_t||", yscale="log", title=L("report.fig.time_gradients"))
    ax.grid(alpha=0.3, which="both")
    return fig


def plot_gates(trainer, L, sample: int = 0) -> Figure | None:
    """Heat maps (unit x time step) of the first recurrent layer's gates and state h over one
    test sequence; adding problem: the two marked steps as dotted lines."""
    data = trainer.data
    if data.x_test.dim() != 3 or len(data.x_test) == 0:
        return None
    x = data.x_test[sample]
    res = probes.gates(trainer.model, x)
    if res is None:
        return None
    maps = {L(f"report.fig.gate.{n}"): v for n, v in res["gates"].items() if n not in ("cell", "new")}
    maps[L("report.fig.gate.h")] = res["h"]
    fig = Figure(figsize=(10, 1.8 * len(maps) + 0.8), layout="constrained")
    axes = fig.subplots(len(maps), 1, squeeze=False)[:, 0]
    marks = np.flatnonzero(x[:, 1].numpy() > 0) if data.feature_names == ["value", "marker"] else []
    for ax, (name, m) in zip(axes, maps.items()):
        gate = name != L("report.fig.gate.h")
        im = ax.imshow(m.T, aspect="auto", interpolation="nearest", cmap="viridis" if gate else figure.DIVERGING,
                       vmin=0 if gate else -1, vmax=1, extent=(0.5, len(m) + 0.5, m.shape[1] - 0.5, -0.5))
        for t_ in marks:
            ax.axvline(t_ + 1, color="white" if gate else "black", ls=":", lw=1)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, pad=0.01)
    axes[-1].set_xlabel(L("report.fig.step"))
    fig.suptitle(L("report.fig.gates", kind=res["kind"].upper(), i=sample))
    return fig


# --- 7. metric learning: the embedding in 2-D, and one test image's nearest neighbors ----
def plot_embedding(model, data, L) -> Figure | None:
    """The test embeddings' first two principal components, colored by class."""
    if not _embeds(model) or len(data.x_test) < 3:
        return None
    from . import retrieval
    xy = retrieval.projection(retrieval.embed(model, data.x_test))
    y = data.y_test.numpy()
    fig = Figure(figsize=(6, 5.2))
    ax = fig.subplots()
    ax.scatter(xy[:, 0], xy[:, 1], c=figure.class_colors(y), s=12, edgecolors="none")
    for k, name in enumerate(data.class_names):   # each class's name at its centre
        if (y == k).any():
            ax.annotate(name, xy[y == k].mean(0), fontsize=11, ha="center", va="center",
                        bbox={"boxstyle": "circle", "fc": "white", "ec": figure.class_colors([k])[0]})
    ax.set(xlabel="PC 1", ylabel="PC 2", title=L("report.fig.embedding"))
    ax.grid(alpha=0.3)
    return fig


def plot_neighbors(model, data, sample: int, L, k: int = 8) -> Figure | None:
    """Test image ``sample`` and its k nearest other test images, by the embedding and by raw
    pixels (cosine similarity; red: another class)."""
    if not _embeds(model) or not data.is_image or len(data.x_test) <= k:
        return None
    from . import retrieval
    x, y, names = data.x_test, data.y_test, data.class_names
    rows = {L("report.fig.by_embedding"): retrieval.embed(model, x), L("report.fig.by_pixels"): retrieval.pixels(x)}
    fig = Figure(figsize=(1.1 * (k + 1) + 1, 1.5 * len(rows) + 0.6))
    axes = fig.subplots(len(rows), k + 1, squeeze=False)
    for r, (label, emb) in enumerate(rows.items()):
        idx, sims = retrieval.neighbors(emb, sample, k)
        for j, (i, sim) in enumerate([(sample, None), *zip(idx, sims)]):
            ax = axes[r][j]
            ax.imshow(x[i].permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray")
            ax.set(xticks=[], yticks=[])
            wrong = int(y[i]) != int(y[sample])
            ax.set_title(names[int(y[i])] if sim is None else f"{names[int(y[i])]} {sim:.2f}",
                         fontsize=8, color="red" if wrong else "black")
        axes[r][0].set_ylabel(label, fontsize=9)
    fig.suptitle(L("report.fig.neighbors", i=sample))
    return fig


def _embeds(model) -> bool:
    from .model.layers import NormalizedSoftmax
    return isinstance(getattr(model, "out", None), NormalizedSoftmax)


# --- the page ---------------------------------------------------------------------------
def _text_section(trainer, lang: str) -> str:
    """A character model's sample (its baselines are rows of the summary table)."""
    from .data.text import Vocabulary
    from .text import is_char_model, sample
    if not is_char_model(trainer.spec):
        return ""
    text = sample(trainer.model, Vocabulary(list(trainer.data.vocabulary)), trainer.spec.data.window,
                  REPORT_SAMPLE, temperature=REPORT_TEMPERATURE)
    return f"<h2>{html.escape(t('report.sample', lang, temperature=REPORT_TEMPERATURE))}</h2><pre>{html.escape(text)}</pre>\n"


def _html(run: Run, summary: dict, shown: list[str], lang: str, extra: str = "") -> str:
    e = html.escape
    rows = "".join(f"<tr><th>{e(t('metric.' + k, lang))}</th><td>{v:.4g}</td></tr>"
                   for k in SUMMARY_KEYS if isinstance(v := summary.get(k), (int, float)))
    rows += "".join(f"<tr><th>{e(t('baseline.' + name, lang))}: {e(t('metric.' + k, lang))}</th>"
                    f"<td>{v:.4g}</td></tr>"
                    for name, scores in summary.get("baselines", {}).items() for k, v in scores.items())
    caps = {name: e(t(f"report.cap.{name}", lang)) for name in shown}
    figs = "".join(f'<figure><img src="{n}.png" alt="{c}"><figcaption>{c}</figcaption></figure>\n' for n, c in caps.items())
    title = t("report.title", lang, name=run.spec.name, run_id=run.id)
    rows += _practice_rows(summary, lang)
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{e(title)}</title><style>{CSS}</style></head>
<body><h1>{e(title)}</h1>
<h2>{e(t("report.summary", lang))}</h2><table>{rows}</table>
{extra}{figs}<h2>{e(t("report.spec", lang))}</h2><pre>{e(run.spec.to_toml())}</pre>
</body></html>
"""


def _practice_rows(summary: dict, lang: str) -> str:
    """Rows for transfer learning (layers loaded and frozen) and per-class test recall."""
    e, rows = html.escape, []
    info = summary.get("transfer")
    if info:
        rows.append((t("report.from", lang), info["from"]))
        rows.append((t("report.loaded", lang), ", ".join(info["loaded"]) or "-"))
    if summary.get("frozen") is not None:
        rows.append((t("report.frozen", lang), ", ".join(summary["frozen"]) or "-"))
    if isinstance(summary.get("test_recall"), list):
        rows.append((t("report.recall", lang), ", ".join(
            "-" if r is None else f"{c}: {r:.3f}" for c, r in enumerate(summary["test_recall"]))))
    return "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in rows)


def write_report(run: Run, out: str | Path | None = None, lang: str = "en", sample: int = 0) -> Path:
    """Write the run's PNG plots and ``index.html`` into ``out`` (default RUN/report); return the page."""
    if lang not in LANGS:
        raise SpecError(f"lang: unknown language {lang!r}; allowed: {', '.join(LANGS)}")
    trainer = load_trained(run)
    model, data, history = trainer.model, trainer.data, run.metrics()
    if data.is_image and not 0 <= sample < len(data.x_test):
        raise SpecError(f"sample: must be 0..{len(data.x_test) - 1} (a test image index); received {sample}")
    out = Path(out) if out is not None else run.dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    plot_lang = figure.fonts(lang)[0]
    L = partial(t, lang=plot_lang)            # text inside the plots
    plots = {
        "curves": lambda: plot_curves(history, L),
        "boundary": lambda: plot_boundary(model, data, L),
        "gradients": lambda: plot_probe(history, "grad_norm", (None,), L, log=True),
        "activations": lambda: plot_probe(history, "activations", ("mean", "std", "dead"), L),
        "weights": lambda: plot_probe(history, "weights", ("l2", "l1", "near_zero"), L),
        "filters": lambda: plot_filters(model, L),
        "feature_maps": lambda: plot_feature_maps(trainer, sample, L),
        "confusion": lambda: plot_confusion(run, trainer, L),
        "forecast": lambda: plot_forecast(trainer, L),
        "time_gradients": lambda: plot_time_gradients(trainer, L),
        "gates": lambda: plot_gates(trainer, L),
        "embedding": lambda: plot_embedding(model, data, L),
        "neighbors": lambda: plot_neighbors(model, data, sample, L),
    }
    if run.spec.model.kind != "classifier":   # autoencoder, VAE, GAN: their own figures
        from .generative.report import plots as generative_plots
        plots = generative_plots(trainer, history, L)
    shown = []
    with figure.style(lang):
        for name, make in plots.items():
            if (fig := make()) is not None:
                figure.save_png(fig, out / f"{name}.png")
                shown.append(name)
    page = out / "index.html"
    atomic_write(page, _html(run, run.summary(), shown, lang, _text_section(trainer, lang)))
    return page
