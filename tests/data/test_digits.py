"""scikit-learn's embedded 8x8 digits as images (N, 1, 8, 8) in [0, 1]."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits

from nnplay.data import digits, load_data
from nnplay.spec import DataSpec


def test_images_shape_range_and_values():
    X, y = digits.load()
    ref = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_allclose(X[5, 0], ref.images[5] / 16.0, rtol=1e-6)
    assert np.array_equal(y, ref.target) and np.bincount(y).min() > 170


def test_bundle_is_an_image_set():
    b = load_data(DataSpec(name="digits", train_ratio=0.8, val_ratio=0.1))
    assert b.input_shape == (1, 8, 8) and b.is_image and not b.is_2d and b.points is None
    assert (b.task, b.num_classes, b.out_dim, b.bounds) == ("multiclass", 10, 10, (0.0, 1.0))
    assert len(b.x_train) + len(b.x_val) + len(b.x_test) == 1797
    assert len(b.x_test) == 1797 - int(1797 * 0.8)


def test_standard_scale_uses_train_statistics():
    b = load_data(DataSpec(name="digits", scale="standard", limit=400))
    mu = b.x_train.mean(0)
    assert torch.allclose(mu, torch.zeros_like(mu), atol=1e-4)
    used = b.x_train.std(0) > 0.1                  # pixels that ever vary
    assert torch.allclose(b.x_train.std(0, unbiased=False)[used], torch.ones(()), atol=1e-3)
    assert b.x_test.mean().abs() < 0.2 and b.x_test.mean().abs() > 0  # test gets train's mu/sd
