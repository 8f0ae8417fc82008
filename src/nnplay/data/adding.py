"""The adding problem (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", experiment 4):
a long-memory test for recurrent networks.

Each sequence has ``length`` steps of two features: a random value in [0, 1] and a marker,
1 at exactly two steps (one in the first half, one in the second) and 0 elsewhere. The
target is the sum of the two marked values. Always answering 1.0 (the mean) scores
MSE = Var(U1 + U2) = 2/12 ~ 0.167; a network must carry the first marked value across up
to ``length`` steps to do better. Variant of Le et al. 2015, https://arxiv.org/abs/1504.00941.
"""
from __future__ import annotations

import numpy as np


def generate(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """-> (x (n, length, 2) float32, y (n,) float32)."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (n, length))
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    marks = np.zeros((n, length))
    rows = np.arange(n)
    marks[rows, first] = marks[rows, second] = 1
    y = values[rows, first] + values[rows, second]
    return np.stack([values, marks], 2).astype(np.float32), y.astype(np.float32)


CONSTANT = 1.0   # the baseline's answer: the target's mean
