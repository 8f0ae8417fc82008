"""scikit-learn's embedded 8x8 handwritten digits (1,797 images, 10 classes)."""
from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

N = 1797  # images in the set (split sizes are checked against it before loading)


def load() -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, 8, 8) scaled to [0, 1] and labels (N,)."""
    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None]   # (N, 1, 8, 8)
    return X, d.target.astype(np.int64)
