"""Generative models: autoencoder, VAE and GAN (``model.kind``), on the same spec, run store,
reports and CLI as classifiers. ``Trainer(spec)`` gives a ``GenerativeTrainer`` for them."""
import numpy as np

from .models import GAN, VAE, AutoEncoder, build_generative
from .trainer import GenerativeTrainer

__all__ = ["AutoEncoder", "VAE", "GAN", "build_generative", "GenerativeTrainer"]


def load_generative(run) -> GenerativeTrainer:
    """The trained generative model of a finished run; a classifier run is a ``SpecError``."""
    from ..runs import load_trained
    from ..spec import SpecError
    if run.spec.model.kind == "classifier":
        raise SpecError.say("gen.not_generative", run=repr(run.id))
    return load_trained(run)


def write_samples(run, out: str, n: int | None = None, between: tuple[int, int] | None = None,
                  steps: int = 8, seed: int = 0) -> np.ndarray:
    """``nnplay sample``: n samples (VAE, GAN), or the ``steps`` decodings on the latent line
    between test samples ``between`` (autoencoder, VAE), saved as a .npy array in the data's
    units and shape; -> the array."""
    trainer = load_generative(run)
    a = trainer.interpolate(*between, steps=steps) if between is not None else trainer.sample(n, seed)
    np.save(out, a, allow_pickle=False)
    return a
