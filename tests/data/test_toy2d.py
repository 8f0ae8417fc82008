"""The generated 2-D sets: shapes, balance, seeds, noise and each set's geometry."""
from __future__ import annotations

import numpy as np
import pytest

from nnplay.data import toy2d

ALL = ["circle", "xor", "gauss", "spiral", "moons", "reg-plane", "reg-gauss"]
CLASSIFY = ["circle", "xor", "gauss", "spiral", "moons"]
MULTI = ["circle", "gauss", "spiral"]          # sets that take data.classes > 2
N = 600


@pytest.mark.parametrize("name", ALL)
def test_shapes_dtypes_and_square(name):
    X, y = toy2d.generate(name, N, 0.0, 2, seed=0)
    assert X.shape == (N, 2) and X.dtype == np.float32 and y.shape == (N,)
    assert np.abs(X).max() <= toy2d.R       # points live in [-6, 6]^2 at noise 0
    if name in toy2d.REGRESSION:
        assert y.dtype == np.float32 and y.min() >= -1 and y.max() <= 1 and y.std() > 0.1
    else:
        assert y.dtype == np.int64 and set(np.unique(y)) == {0, 1}


@pytest.mark.parametrize("name", CLASSIFY)
def test_two_classes_are_balanced(name):
    _, y = toy2d.generate(name, N, 0.0, 2, seed=1)
    share = np.bincount(y) / N
    assert np.all(np.abs(share - 0.5) < 0.07), share


@pytest.mark.parametrize("name", MULTI)
def test_more_than_two_classes(name):
    _, y = toy2d.generate(name, N, 0.0, 4, seed=2)
    counts = np.bincount(y)
    assert len(counts) == 4 and np.all(np.abs(counts / N - 0.25) < 0.06), counts


@pytest.mark.parametrize("name", ["xor", "moons"])
def test_binary_only_sets_ignore_classes(name):
    _, y = toy2d.generate(name, N, 0.0, 5, seed=0)
    assert set(np.unique(y)) == {0, 1}


@pytest.mark.parametrize("name", ALL)
def test_seed_reproducible_and_seeds_differ(name):
    a = toy2d.generate(name, 200, 0.3, 2, seed=7)
    b = toy2d.generate(name, 200, 0.3, 2, seed=7)
    c = toy2d.generate(name, 200, 0.3, 2, seed=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])


@pytest.mark.parametrize("name", ALL)
def test_noise_changes_the_data(name):
    X0, y0 = toy2d.generate(name, 300, 0.0, 2, seed=3)
    X1, y1 = toy2d.generate(name, 300, 0.5, 2, seed=3)
    changed = np.abs(X1 - X0).mean() + np.abs(y1.astype(float) - y0.astype(float)).mean()
    assert changed > 0.05


# --- each set's geometry, at noise 0 ---------------------------------------------------
def test_circle_inner_class_is_inside_outer():
    X, y = toy2d.generate("circle", N, 0.0, 2, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r[y == 0].max() < r[y == 1].min()
    assert r[y == 0].max() <= 3.0 and r[y == 1].min() >= 3.0   # bands of width R/classes = 3


def test_circle_three_rings_are_ordered():
    X, y = toy2d.generate("circle", N, 0.0, 3, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    for k in range(2):
        assert r[y == k].max() < r[y == k + 1].min()


def test_xor_label_is_opposite_signs():
    X, y = toy2d.generate("xor", N, 0.0, 2, seed=0)
    assert np.array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    assert np.abs(X).min() >= 0.3                  # the margin off the axes


def test_gauss_clusters_sit_at_their_centres():
    K = 3
    X, y = toy2d.generate("gauss", 900, 0.0, K, seed=0)
    for k in range(K):
        a = 2 * np.pi * k / K + np.pi / 4
        centre = 3.0 * np.array([np.cos(a), np.sin(a)])
        pts = X[y == k]
        assert np.linalg.norm(pts.mean(0) - centre) < 0.15
        assert abs(pts.std(0).mean() - 0.5) < 0.06        # std 0.5 at noise 0


def test_spiral_points_lie_on_their_arm():
    K = 2
    X, y = toy2d.generate("spiral", N, 0.0, K, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    theta = np.arctan2(X[:, 0], X[:, 1])        # x1 = r sin t, x2 = r cos t
    expected = 1.75 * 2 * np.pi * (r / 5.0) + 2 * np.pi * y / K
    gap = np.angle(np.exp(1j * (theta - expected)))   # wrapped to (-pi, pi]
    assert np.abs(gap[r > 1e-3]).max() < 1e-3


def test_moons_lie_on_two_unit_half_circles():
    X, y = toy2d.generate("moons", N, 0.0, 2, seed=0)
    u = X / 3.0 + [0.5, 0.25]                   # undo the scaling
    upper, lower = u[y == 0], u[y == 1]
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1, atol=1e-5) and upper[:, 1].min() >= -1e-6
    assert np.allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, atol=1e-5)
    assert lower[:, 1].max() <= 0.5 + 1e-6


def test_reg_plane_target_is_the_plane():
    X, y = toy2d.generate("reg-plane", N, 0.0, 2, seed=0)
    np.testing.assert_allclose(y, (X[:, 0] + X[:, 1]) / 12, atol=1e-6)


def test_reg_gauss_target_is_the_sum_of_bumps():
    X, y = toy2d.generate("reg-gauss", N, 0.0, 2, seed=0)
    x1, x2 = X[:, 0].astype(float), X[:, 1].astype(float)
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    want = np.clip(sum(s * np.exp(-((x1 - a) ** 2 + (x2 - b) ** 2) / 2) for a, b, s in bumps), -1, 1)
    np.testing.assert_allclose(y, want, atol=1e-5)
    near = lambda a, b: np.hypot(x1 - a, x2 - b) < 0.5
    assert y[near(-4, 2.5)].min() > 0.7 and y[near(0, 2.5)].max() < -0.7


def test_reg_plane_noise_keeps_inputs_moves_targets():
    X0, y0 = toy2d.generate("reg-plane", 400, 0.0, 2, seed=0)
    X1, y1 = toy2d.generate("reg-plane", 400, 0.5, 2, seed=0)
    assert np.array_equal(X0, X1)
    assert abs(np.std(y1 - y0) - 0.15) < 0.03      # noise * 0.3
