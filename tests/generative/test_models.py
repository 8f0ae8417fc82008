"""Generative models: shapes through the builder, PacGAN packing, the VAE's loss terms against
torch.distributions, PacGAN's metrics and the PCA baseline on hand-worked cases."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from nnplay.data import load_data
from nnplay.generative import GenerativeTrainer
from nnplay.generative.metrics import mode_coverage, pca_mse
from nnplay.generative.models import PackedCritic
from nnplay.spec import SpecError, from_dict, load
from nnplay.train import Trainer

def toml(layers: list[dict]) -> str:
    """A layer list as a TOML value for ``--set``."""
    return "[" + ", ".join("{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in L.items()) + "}"
                           for L in layers) + "]"


CONV_DECODER = [{"type": "dense", "units": 64, "activation": "relu"},
                {"type": "reshape", "shape": [4, 4, 4]},
                {"type": "conv_transpose2d", "filters": 8, "kernel": 4, "stride": 2, "activation": "relu"},
                {"type": "conv2d", "filters": 1, "kernel": 3, "activation": "linear"}]


def test_spec_round_trips_with_generative_fields():
    s = load("examples/vae_digits.toml", ["model.decoder=" + toml(CONV_DECODER),
                                         "train.gan.freeze_d=false", "model.pack=2"])
    assert from_dict(s.to_dict()) == s and s.model.kind == "vae" and s.train.gan.freeze_d is False
    assert s.model.decoder[2].type == "conv_transpose2d"


def test_trainer_of_a_generative_spec_is_the_generative_trainer():
    tr = Trainer(load("examples/autoencoder_digits.toml"))
    assert isinstance(tr, GenerativeTrainer) and isinstance(tr.model, torch.nn.Module)
    assert type(Trainer(load("examples/spiral.toml"))) is Trainer


@pytest.mark.parametrize("kernel,stride,size", [(4, 2, 4), (3, 2, 4), (2, 2, 4), (3, 1, 8), (5, 2, 3)])
def test_conv_transpose_same_padding_multiplies_the_size_by_the_stride(kernel, stride, size):
    from nnplay.generative.models import build_generative
    spec = load(None, ['model.kind="autoencoder"', "model.latent=3", "model.decoder=" + toml([
        {"type": "dense", "units": 2 * size * size}, {"type": "reshape", "shape": [2, size, size]},
        {"type": "conv_transpose2d", "filters": 1, "kernel": kernel, "stride": stride}])])
    n = size * stride
    if n != 8:   # a decoder that ends in another shape than the data's is named
        with pytest.raises(SpecError, match=rf"model.decoder: the network ends in shape 1x{n}x{n} but "
                                            r"the data's samples are 1x8x8"):
            build_generative(spec.model, (1, 8, 8), True)
        return
    model = build_generative(spec.model, (1, 8, 8), True)
    assert model.decode(torch.zeros(5, 3)).shape == (5, 1, 8, 8)   # PyTorch's own output size


def test_a_conv_decoder_gives_images_and_samples_are_pixels():
    spec = load("examples/vae_digits.toml", ["model.decoder=" + toml(CONV_DECODER),
                                            "train.epochs=1"])
    tr = Trainer(spec)
    assert [type(m).__name__ for m in tr.model.decoder][:4] == ["Linear", "ReLU", "Unflatten", "ConvTranspose2d"]
    s = tr.sample(5)
    assert s.shape == (5, 1, 8, 8) and s.min() >= 0 and s.max() <= 1


def test_packing_concatenates_pack_samples_along_channels_and_features():
    seen = []
    critic = PackedCritic(torch.nn.Identity(), 2)
    critic.net.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    x = torch.arange(6 * 2.0).reshape(6, 2)
    assert torch.equal(critic(x), torch.cat([x[0::2], x[1::2]], 1))
    img = torch.randn(4, 1, 8, 8)
    assert torch.equal(critic(img), torch.cat([img[0::2], img[1::2]], 1))   # (2, 2, 8, 8)


def test_vae_terms_equal_torch_distributions():
    tr = Trainer(load("examples/vae_digits.toml"))
    x = tr.x["train"][:16]
    g1, g2 = (torch.Generator().manual_seed(3) for _ in range(2))
    terms = tr._terms(x, g1, train=True)
    mu, logvar = tr.model.moments(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g2)
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1).mean()
    logp = Bernoulli(logits=tr.model.decoder(z), validate_args=False).log_prob(x).flatten(1).sum(1).mean()
    torch.testing.assert_close(terms["kl"], kl)
    torch.testing.assert_close(terms["recon"], -logp)
    torch.testing.assert_close(terms["loss"], -logp + tr.spec.model.beta * kl)


def test_pacgan_metrics_hand_worked():
    centres, std = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 0.1
    samples = np.array([[0.0, 0.29], [0.0, 0.31], [1.2, 0.0], [0.05, 0.95], [0.0, 1.0]])
    # 0.29 <= 3 std: high quality near mode 0; 0.31: low quality; 1.2 is 0.2 from mode 1: high
    # quality; mode 2 gets two high-quality samples
    assert mode_coverage(samples, centres, std) == (3, 0.8)
    assert mode_coverage(samples[[0, 1, 3]], centres, std) == (2, pytest.approx(2 / 3))


def test_pca_baseline_is_the_truncated_svd_reconstruction():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    test = rng.normal(size=(50, 6)) @ rng.normal(size=(6, 6))
    mean = train.mean(0)
    v = np.linalg.svd(train - mean, full_matrices=False)[2][:2]   # top-2 principal axes
    ref = np.mean(((test - mean) @ v.T @ v + mean - test) ** 2)
    assert pca_mse(train, test, 2) == pytest.approx(ref, rel=1e-6)
    assert pca_mse(train, test, 6) == pytest.approx(0, abs=1e-12)


def test_ring_and_grid_follow_pacgan():
    for name, modes, std, lim in (("ring", 8, 0.01, 1.0), ("grid", 25, 0.05, 4.0)):
        d = load_data(load(None, [f'data.name="{name}"', "data.samples=4000"]).data)
        pts = np.concatenate([d.points["train"], d.points["test"]])
        covered, hq = mode_coverage(pts, *__import__("nnplay.data.toy2d", fromlist=["MODES"]).MODES[name])
        assert covered == modes and hq > 0.97           # 1 - exp(-4.5) = 0.989 of a 2-D Gaussian
        assert np.abs(pts).max() == pytest.approx(lim, abs=6 * std)


def test_spread_is_zero_for_one_repeated_sample_and_one_for_the_data():
    from nnplay.generative.metrics import COLLAPSE_SPREAD, spread
    data = np.random.default_rng(0).normal(size=(500, 64))
    assert spread(data, data) == pytest.approx(1.0)
    assert spread(np.repeat(data[:1], 500, 0), data) < 1e-12 < COLLAPSE_SPREAD
    assert spread(data[:, :] * 0.5, data) == pytest.approx(0.25)   # variance scales with the square


@pytest.mark.parametrize("key", ['data.augment=[{type="noise"}]', "train.tta=2", 'model.freeze=["features"]',
                                 "model.embedding=8", 'train.metric_loss="triplet"'])
def test_classifier_only_fields_are_refused_for_generative_kinds(key):
    """A generative spec does not silently drop a classifier's practice field."""
    s = load(None, ['model.kind="vae"', 'data.name="digits"', key])
    with pytest.raises(SpecError, match=key.split("=")[0]):
        Trainer(s)
