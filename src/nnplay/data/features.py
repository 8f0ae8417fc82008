"""Input features computed from the 2-D point (x1, x2), as the playground's toggles."""
from __future__ import annotations

import numpy as np

FEATURES = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b,
    "x1*x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: np.sin(a),
    "sin(x2)": lambda a, b: np.sin(b),
}


def featurize(points: np.ndarray, names: list[str]) -> np.ndarray:
    """(N, 2) points -> (N, len(names)) feature matrix, float32."""
    a, b = points[:, 0], points[:, 1]
    return np.stack([FEATURES[n](a, b) for n in names], 1).astype(np.float32)
