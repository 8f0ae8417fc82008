"""Generated 2-D data sets, as in the TensorFlow Playground (points in [-6, 6]^2).

Each generator returns ``(X, y)``: ``X`` (N, 2) float32; ``y`` int64 class labels,
or float32 targets in [-1, 1] for the regression sets.
"""
from __future__ import annotations

import numpy as np
from sklearn.datasets import make_moons

R = 6.0  # half-width of the square the points live in


def circle(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Concentric rings: class k lives at radius band k (2 classes = inner disc + ring)."""
    band = R / classes
    y = rng.integers(0, classes, n)
    r = band * (y + rng.uniform(0.1, 0.9, n))
    t = rng.uniform(0, 2 * np.pi, n)
    X = np.stack([r * np.sin(t), r * np.cos(t)], 1) + rng.normal(0, noise * band, (n, 2))
    return X, y


def xor(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Quadrants: the label is whether x1 and x2 have the same sign."""
    X = rng.uniform(-(R - 0.3), R - 0.3, (n, 2))
    X += np.sign(X) * 0.3  # keep a small margin off the axes (and stay inside [-R, R])
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    return X + rng.normal(0, noise * R / 3, (n, 2)), y


def gauss(n: int, noise: float, classes: int, rng: np.random.Generator):
    """One Gaussian blob per class, centres spread on a circle."""
    angles = 2 * np.pi * np.arange(classes) / classes + np.pi / 4
    centres = 3.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
    y = rng.integers(0, classes, n)
    X = centres[y] + rng.normal(0, 0.5 + 2.0 * noise, (n, 2))
    return X, y


def spiral(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Interleaved spiral arms, one per class."""
    y = rng.integers(0, classes, n)
    s = rng.uniform(0, 1, n)                 # position along the arm
    r = 5.0 * s
    t = 1.75 * s * 2 * np.pi + 2 * np.pi * y / classes
    X = np.stack([r * np.sin(t), r * np.cos(t)], 1) + rng.uniform(-1, 1, (n, 2)) * noise * 2
    return X, y


def moons(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Two interleaving half circles (scikit-learn's make_moons), scaled up."""
    X, y = make_moons(n, noise=noise * 0.5, random_state=int(rng.integers(0, 2**31 - 1)))
    return (X - [0.5, 0.25]) * 3.0, y


def reg_plane(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Regression: a tilted plane, target (x1 + x2) / 12 in [-1, 1]."""
    X = rng.uniform(-R, R, (n, 2))
    y = (X[:, 0] + X[:, 1]) / (2 * R) + rng.normal(0, noise * 0.3, n)
    return X, y


def reg_gauss(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Regression: a sum of signed Gaussian bumps."""
    X = rng.uniform(-R, R, (n, 2))
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    y = sum(s * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 2) for cx, cy, s in bumps)
    return X, np.clip(y + rng.normal(0, noise * 0.3, n), -1, 1)


def _modes(centres: np.ndarray, std: float):
    def mixture(n: int, noise: float, classes: int, rng: np.random.Generator):
        y = rng.integers(0, len(centres), n)
        return centres[y] + rng.normal(0, std, (n, 2)), y
    return mixture


# PacGAN's (Lin et al. 2018, https://arxiv.org/abs/1712.04086) mixtures for mode collapse:
# name -> (mode centres, std). The label of a point is its mode; data.noise is not used.
_ANGLES = 2 * np.pi * np.arange(8) / 8
MODES = {"ring": (np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], 1), 0.01),
         "grid": (np.array([(i, j) for i in (-4, -2, 0, 2, 4) for j in (-4, -2, 0, 2, 4)], float), 0.05)}
ring = _modes(*MODES["ring"])     # 8 Gaussians on the unit circle, std 0.01
grid = _modes(*MODES["grid"])     # 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05

GENERATORS = {"ring": ring, "grid": grid, "circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral, "moons": moons,
              "reg-plane": reg_plane, "reg-gauss": reg_gauss}
REGRESSION = {"reg-plane", "reg-gauss"}
BINARY_ONLY = {"xor", "moons"}


def generate(name: str, n: int, noise: float, classes: int, seed: int):
    rng = np.random.default_rng(seed)
    k = 2 if name in BINARY_ONLY else classes
    X, y = GENERATORS[name](n, noise, k, rng)
    y = y.astype(np.float32) if name in REGRESSION else y.astype(np.int64)
    return X.astype(np.float32), y
