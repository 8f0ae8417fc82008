"""Generative networks as plain ``torch.nn.Module``s, each stack built by ``build_model``.

- ``AutoEncoder``: x -> encoder -> code (``model.latent`` wide) -> decoder -> x'. The
  "self-label" is the input itself, so it trains as supervised learning.
- ``VAE`` (Kingma & Welling 2014, https://arxiv.org/abs/1312.6114): the encoder gives the
  mean and log-variance of q(z|x); z = mu + sigma * eps (the reparameterisation trick).
- ``GAN`` (Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661): a generator G (the
  forger) maps noise to samples, a discriminator D (the police) gives a real/fake logit.
  ``pack`` > 1 is PacGAN (Lin et al. 2018, https://arxiv.org/abs/1712.04086): D judges
  ``pack`` samples at once, concatenated, which penalizes a G that repeats itself.
  ``spectral_norm``: D's weights divided by their largest singular value (Miyato et al. 2018,
  https://arxiv.org/abs/1802.05957), which keeps D smooth.

Decoders and generators give images as logits (``squash`` = sigmoid turns them into pixels
in [0, 1]) and 2-D points as they are.
"""
from __future__ import annotations

import torch
from torch import nn

from ..model import build_model
from ..model.build import _mlp_layers
from ..spec import LayerSpec, ModelSpec, SpecError


def _stack(spec: ModelSpec, name: str, reverse: bool, image_in: bool = False) -> tuple[list[LayerSpec], str]:
    """``model.<name>`` or, when not given, the MLP of ``model.hidden`` (reversed for the
    networks that go from the code back to the data; flattening an image input first)."""
    given = getattr(spec, name)
    if given is not None:
        return given, f"model.{name}"
    hidden = list(reversed(spec.hidden)) if reverse else list(spec.hidden)
    flat = [LayerSpec(type="flatten")] if image_in else []
    return flat + _mlp_layers(spec.model_copy(update={"hidden": hidden, "activations": None})), "model.hidden"


class AutoEncoder(nn.Module):
    """x -> code -> x' (logits for [0, 1] images: ``squash`` is the sigmoid)."""
    variational = False

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent: int, squash: bool):
        super().__init__()
        self.encoder, self.decoder, self.latent, self.squash = encoder, decoder, latent, squash

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code (VAE: the mean of q(z|x))."""
        return self.encoder(x)[:, :self.latent]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes -> outputs in the data's units (pixels in [0, 1] when squashed)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.squash else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class VAE(AutoEncoder):
    """The encoder gives (mu, log sigma^2) of q(z|x), 2 x latent values."""
    variational = True

    def moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return h[:, :self.latent], h[:, self.latent:]


class PackedCritic(nn.Module):
    """D over ``pack`` samples at once: (B * pack, *S) -> (B, 1) logits; images are packed
    along the channels, points along the features (PacGAN)."""

    def __init__(self, net: nn.Module, pack: int):
        super().__init__()
        self.net, self.pack = net, pack

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0] // self.pack
        x = x[:b * self.pack].reshape(b, self.pack * x.shape[1], *x.shape[2:])   # (B, pack*C, ...)
        return self.net(x)


class GAN(nn.Module):
    """``generator``: noise (N, latent) -> samples; ``discriminator``: samples -> logit."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent: int, noise: str,
                 squash: bool):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent, self.noise, self.squash = latent, noise, squash

    def draw(self, n: int, generator: torch.Generator | None = None,
             device: torch.device | str = "cpu") -> torch.Tensor:
        """Noise z: N(0, I), or uniform on [-1, 1]^latent."""
        z = torch.empty(n, self.latent, device=device)
        if self.noise == "uniform":
            return z.uniform_(-1, 1, generator=generator)
        return z.normal_(generator=generator)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) in the data's units (pixels in [0, 1] when squashed)."""
        out = self.generator(z)
        return torch.sigmoid(out) if self.squash else out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(z)


class Decoder(nn.Module):
    """Only the way back: code or noise -> sample (what ``nnplay export`` writes)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.net, self.squash = (model.decoder if isinstance(model, AutoEncoder) else model.generator), model.squash

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(z)
        return torch.sigmoid(out) if self.squash else out


def build_generative(spec: ModelSpec, data_shape: tuple[int, ...], squash: bool,
                     weights: torch.Generator | None = None,
                     dropout: torch.Generator | None = None) -> nn.Module:
    """The ``model.kind`` network for data of shape ``data_shape``; a decoder or generator
    whose output is not that shape raises ``SpecError`` naming its stack."""
    shape, z = tuple(data_shape), spec.latent
    if spec.kind in ("autoencoder", "vae"):
        layers, field = _stack(spec, "encoder", False, len(shape) == 3)
        width = 2 * z if spec.kind == "vae" else z
        enc = build_model(spec, shape, width, weights, dropout, layers=layers, field=field)
        layers, field = _stack(spec, "decoder", True)
        dec = build_model(spec, (z,), 0, weights, dropout, layers=layers, field=field, out_shape=shape)
        return (VAE if spec.kind == "vae" else AutoEncoder)(enc, dec, z, squash)
    if spec.kind == "gan":
        layers, field = _stack(spec, "generator", True)
        gen = build_model(spec, (z,), 0, weights, dropout, layers=layers, field=field, out_shape=shape)
        layers, field = _stack(spec, "discriminator", False, len(shape) == 3)
        packed = (spec.pack * shape[0], *shape[1:])
        net = build_model(spec, packed, 1, weights, dropout, layers=layers, field=field)
        if spec.spectral_norm:
            with torch.random.fork_rng(devices=[]):   # its power iteration starts from a random u
                torch.manual_seed(int(torch.randint(2**31 - 1, (1,), generator=weights)) if weights else 0)
                for m in net.modules():
                    if isinstance(m, (nn.Linear, nn.Conv2d)):
                        nn.utils.parametrizations.spectral_norm(m)
        return GAN(gen, PackedCritic(net, spec.pack), z, spec.noise, squash)
    raise SpecError(f"model.kind: {spec.kind!r} is not a generative model")
