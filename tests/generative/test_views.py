"""What the playground's Generative mode draws (GAN Lab's views), from the library: D's heat
map, G's gradient arrows, the manifold of a noise grid; the VAE's latent map."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay.spec import load
from nnplay.train import Trainer


@pytest.fixture(scope="module")
def gan():
    torch.set_num_threads(1)
    tr = Trainer(load("examples/gan_ring.toml"))
    for _ in range(20):       # a few rounds: D is no longer flat
        tr.d_step()
        tr.g_step()
    return tr


def test_decision_grid_is_d_on_the_plane(gan):
    e = 1.5
    grid = gan.decision_grid(5, e)          # top row: x2 = +e; left column: x1 = -e
    assert grid.shape == (5, 5) and 0 <= grid.min() and grid.max() <= 1
    point = torch.tensor([[-e, e], [e, -e]])
    x = (point - torch.as_tensor(gan.unit[0], dtype=torch.float32)) / gan.unit[1]
    gan.model.discriminator.eval()
    with torch.no_grad():   # least squares: D's output is the probability-like score itself
        want = gan.model.discriminator(x.repeat_interleave(gan.spec.model.pack, 0)).squeeze(1).clamp(0, 1)
    gan.model.discriminator.train()
    np.testing.assert_allclose([grid[0, 0], grid[-1, -1]], want.numpy(), rtol=1e-5)


def test_gradient_arrows_point_where_g_loss_falls(gan):
    pts = gan.sample(64, seed=3)
    arrows = gan.gradient_arrows(pts)
    assert arrows.shape == (64, 2)

    def g_loss(p):                        # G's loss of each point, as D judges it now
        with torch.no_grad():
            out = gan._judge(gan._inward(torch.as_tensor(p, dtype=torch.float32)))
        return ((out - 1) ** 2).numpy()
    h = 1e-3 / (np.linalg.norm(arrows, axis=1, keepdims=True) + 1e-12)
    moved = g_loss(pts + h * arrows) - g_loss(pts)
    assert (moved < 0).mean() > 0.9       # a small step along each arrow lowers G's loss


def test_manifold_is_g_on_a_noise_grid(gan):
    m = gan.manifold(4)
    assert m.shape == (4, 4, 2)
    z = torch.tensor([[-2.0, -2.0], [2.0, 2.0]])
    with torch.no_grad():
        want = gan._units(gan.model.decode(z))
    np.testing.assert_allclose(m[[0, -1], [0, -1]], want, rtol=1e-5)


def test_d_step_and_g_step_report_their_losses(gan):
    d, g = gan.d_step(), gan.g_step()
    assert set(d) == {"d_loss", "d_accuracy"} and set(g) == {"g_loss"}
    assert 0 <= float(d["d_accuracy"]) <= 1 and float(d["d_loss"]) > 0


def test_latent_map_of_the_vae_has_a_code_and_a_label_per_test_image():
    tr = Trainer(load("examples/vae_digits.toml"))
    z, y = tr.encode("test")
    assert z.shape == (len(tr.data.x_test), 2) and np.array_equal(y, tr.data.y_test.numpy())
