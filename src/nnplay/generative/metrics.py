"""How good are generated samples? PacGAN's mode metrics, the PCA baseline, a spread check."""
from __future__ import annotations

import numpy as np

COLLAPSE_SPREAD = 0.5   # samples spreading less than this share of the data's spread: a warning


def mode_coverage(samples: np.ndarray, centres: np.ndarray, std: float) -> tuple[int, float]:
    """PacGAN (Lin et al. 2018, https://arxiv.org/abs/1712.04086, section 5): a sample is high
    quality when it lies within 3 std of its nearest mode's centre; a mode is covered when at
    least one high-quality sample is nearest to it. -> (modes covered, share high quality)."""
    d = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=2)   # (N, modes)
    near, good = d.argmin(1), d.min(1) <= 3 * std
    return int(len(np.unique(near[good]))), float(good.mean()) if len(samples) else 0.0


def pca_mse(train: np.ndarray, test: np.ndarray, width: int) -> float:
    """Test MSE of scikit-learn's PCA with ``width`` components fitted on the training
    inputs: the linear autoencoder an autoencoder of that bottleneck should beat."""
    from sklearn.decomposition import PCA
    tr, te = train.reshape(len(train), -1), test.reshape(len(test), -1)
    pca = PCA(n_components=min(width, *tr.shape)).fit(tr)
    return float(np.mean((pca.inverse_transform(pca.transform(te)) - te) ** 2))


def spread(samples: np.ndarray, data: np.ndarray) -> float:
    """Total variance of the samples over that of the data (both (N, D)): near 1 when G
    spreads like the data, near 0 when it makes one thing over and over (mode collapse)."""
    return float(samples.var(0).sum() / max(data.var(0).sum(), 1e-12))
