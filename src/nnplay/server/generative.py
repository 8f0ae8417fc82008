"""The playground's "Generative" mode: what a session sends about an autoencoder, a VAE or a
GAN. Thin: every number comes from the library's GenerativeTrainer (decision_grid,
gradient_arrows, manifold, sample, gan_metrics, encode, interpolate, reconstruct, d_step,
g_step); this module only picks sizes from the view and turns results into a frame.
"""
from __future__ import annotations

from typing import get_args

import numpy as np

from .. import probes
from .. import spec as specmod

DATA_2D = ("ring", "grid", "moons", "spiral", "points")   # 2-D sets a GAN learns in the page
SHOWN = 40            # test images offered for picking (interpolation ends, reconstructions)
SHOWN_REAL = 500      # real training points drawn under the fakes


def options() -> dict:
    """The vocabularies the Generative mode offers (added to the hello's ``options``)."""
    return {"generative_kinds": [k for k in get_args(specmod.ModelKind) if k != "classifier"],
            "generative_data": list(DATA_2D) + ["digits"]}


def is_generative(spec) -> bool:
    return spec.model.kind != "classifier"


def layers(tr) -> list[dict]:
    """``probes.layer_table`` of each stack on its own input: encoder and decoder, or
    generator and discriminator (which judges ``model.pack`` samples at once)."""
    shape, z = tr.shape, (tr.spec.model.latent,)
    stacks = (("generator", z), ("discriminator", (tr.spec.model.pack * shape[0], *shape[1:]))) \
        if tr.kind == "gan" else (("encoder", shape), ("decoder", z))
    return [row for name, s in stacks for row in probes.layer_table(getattr(tr.model, name), s)]


def describe(tr) -> dict:
    """The ``ready`` message's extras: the kind, and the real points and the plot's extent (2-D)
    or the test images offered for picking with their labels (images)."""
    out: dict = {"kind": tr.kind, "data": tr.spec.data.name}
    if tr.data.is_2d:
        e = tr.extent
        out.update(extent=[-e, e], real=tr.data.points["train"][:SHOWN_REAL].round(4).tolist())
        if tr.modes is not None:
            out["modes"] = tr.modes[0].round(4).tolist()
    if tr.data.is_image:
        x, y = tr.data.x_test[:SHOWN], tr.data.y_test[:SHOWN]
        out.update(shape=list(tr.shape), test_size=int(len(tr.data.x_test)), labels=y.tolist(),
                   class_names=tr.data.class_names, pixels=x.reshape(len(x), -1).numpy().round(3).tolist())
    return out


def step(tr, part: str) -> dict:
    """One D-step, one G-step, or one of each (GAN only): the losses as numbers."""
    tr.model.train()
    rec: dict = {}
    if part in ("d", "both"):
        rec.update({k: float(v) for k, v in tr.d_step().items()})
    if part in ("g", "both"):
        rec.update({k: float(v) for k, v in tr.g_step().items()})
    return rec


def frame(tr, view, rec: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """(header extras, arrays) for one frame.

    GAN on 2-D data: ``fake`` (n, 2) samples, ``arrows`` (n, 2) the way G's step pushes each,
    ``heat`` (grid, grid) D's probability of "real", ``manifold`` (m, m, 2) G over the noise
    grid; the header's ``gan`` holds the last step's losses and the mode metrics.
    GAN on images: ``samples`` (16, C, H, W). Autoencoder, VAE: ``latent`` (N, 2) test codes
    (the first two dimensions) with ``labels``; ``morph`` (steps, C, H, W) the decodings between
    test images ``view.pick_a`` and ``view.pick_b``; ``recon`` the pair's reconstructions;
    VAE also ``samples``."""
    head: dict = {"kind": tr.kind}
    arrays: dict[str, np.ndarray] = {}
    if tr.kind == "gan":
        gan = {k: rec[k] for k in ("d_loss", "g_loss", "d_accuracy", "d_train_accuracy") if k in rec}
        gan.update(tr.gan_metrics())       # D's accuracy now, modes_covered, high_quality (ring, grid)
        head["gan"] = gan
        if tr.data.is_2d:
            fake = tr.sample(view.fakes, seed=tr.spec.train.seed)
            arrays["fake"] = fake
            arrays["arrows"] = tr.gradient_arrows(fake)
            arrays["heat"] = tr.decision_grid(view.grid, tr.extent)
            arrays["manifold"] = tr.manifold(view.manifold)
            head["extent"] = tr.extent
        else:
            arrays["samples"] = tr.sample(16, seed=tr.spec.train.seed)
        return head, arrays
    n = len(tr.x["test"])
    a, b = min(view.pick_a, n - 1), min(view.pick_b, n - 1)
    codes, labels = tr.encode("test")
    arrays["latent"] = codes[:, :2] if codes.shape[1] >= 2 else np.concatenate([codes, 0 * codes], 1)
    arrays["labels"] = labels.astype(np.float32)
    arrays["morph"] = tr.interpolate(a, b, steps=view.steps)
    arrays["recon"] = tr.reconstruct([a, b])
    arrays["pair"] = tr.data.x_test[[a, b]].numpy()     # the two picked inputs as loaded
    if tr.kind == "vae":
        arrays["samples"] = tr.sample(16, seed=tr.spec.train.seed)
    head["pick"] = {"a": a, "b": b, "label_a": int(labels[a]), "label_b": int(labels[b])}
    return head, arrays
