"""TaskLoss against hand computation: MSE, BCE with logits, cross-entropy with label smoothing."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay.train.losses import TaskLoss, class_weights, correct, predict

LOGITS = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, -0.3], [-2.0, 3.0, 1.0], [0.0, 0.0, 0.0]])
LABELS = np.array([0, 2, 1, 1])


def log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def test_mse():
    out = torch.tensor([[1.0], [2.0], [-1.0]])
    y = torch.tensor([0.5, 2.0, 1.0])
    # ((0.5)^2 + 0 + 2^2) / 3 = 4.25 / 3
    assert TaskLoss("regression")(out, y).item() == pytest.approx(4.25 / 3)


def test_binary_cross_entropy_with_logits():
    z = np.array([2.0, -1.0, 0.3, -3.0])
    y = np.array([1, 0, 0, 1])
    p = 1 / (1 + np.exp(-z))
    want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    got = TaskLoss("binary")(torch.tensor(z)[:, None], torch.tensor(y))
    assert got.item() == pytest.approx(want, rel=1e-9)


def test_binary_label_smoothing_moves_targets_toward_half():
    z = np.array([4.0, -4.0])
    y = np.array([1, 0])
    eps = 0.2
    t = y * (1 - eps) + 0.5 * eps          # 0.9, 0.1
    p = 1 / (1 + np.exp(-z))
    want = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    got = TaskLoss("binary", label_smoothing=eps)(torch.tensor(z)[:, None], torch.tensor(y))
    assert got.item() == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_cross_entropy_with_label_smoothing(eps):
    """Szegedy et al. 2016: target = (1 - eps) * one_hot + eps / K."""
    K = LOGITS.shape[1]
    target = (1 - eps) * np.eye(K)[LABELS] + eps / K
    want = -np.mean((target * log_softmax(LOGITS)).sum(1))
    got = TaskLoss("multiclass", label_smoothing=eps)(torch.tensor(LOGITS), torch.tensor(LABELS))
    assert got.item() == pytest.approx(want, rel=1e-9)


def test_balanced_class_weights_formula():
    y = torch.tensor([0] * 6 + [1] * 3 + [2] * 1)
    n, k = 10, 3
    want = [n / (k * 6), n / (k * 3), n / (k * 1)]
    torch.testing.assert_close(class_weights(y, 3), torch.tensor(want, dtype=torch.float32))


def test_balanced_class_weights_absent_class_gets_one():
    w = class_weights(torch.tensor([0, 0, 0, 2]), 3)
    torch.testing.assert_close(w, torch.tensor([4 / 6, 1.0, 4 / 2]))


def test_weighted_cross_entropy_is_a_weighted_mean():
    w = np.array([0.5, 2.0, 1.0])
    nll = -log_softmax(LOGITS)[np.arange(4), LABELS]
    want = (w[LABELS] * nll).sum() / w[LABELS].sum()
    got = TaskLoss("multiclass", class_weight=torch.tensor(w))(torch.tensor(LOGITS), torch.tensor(LABELS))
    assert got.item() == pytest.approx(want, rel=1e-9)


def test_weighted_binary_scales_positives_by_w1_over_w0():
    z = np.array([0.5, -1.0, 2.0, -0.2])
    y = np.array([1, 0, 1, 0])
    w = np.array([0.8, 2.0])
    p = 1 / (1 + np.exp(-z))
    want = -np.mean((w[1] / w[0]) * y * np.log(p) + (1 - y) * np.log(1 - p))
    got = TaskLoss("binary", class_weight=torch.tensor(w))(torch.tensor(z)[:, None], torch.tensor(y))
    assert got.item() == pytest.approx(want, rel=1e-9)


def test_predict_per_task():
    z = torch.tensor([[0.0], [2.0]])
    p = predict(z, "binary")
    s = 1 / (1 + np.exp(-2.0))
    torch.testing.assert_close(p, torch.tensor([[0.5, 0.5], [1 - s, s]], dtype=torch.float32))
    torch.testing.assert_close(predict(z, "regression"), torch.tensor([0.0, 2.0]))
    q = predict(torch.tensor(LOGITS), "multiclass")
    torch.testing.assert_close(q, torch.tensor(np.exp(log_softmax(LOGITS))))


def test_correct_counts():
    assert correct(torch.tensor([[1.0], [-1.0], [0.5]]), torch.tensor([1, 1, 0]), "binary").item() == 1
    # argmax rows: 0, 1, 1, 0 (tie -> first) vs labels 0, 2, 1, 1
    assert correct(torch.tensor(LOGITS), torch.tensor(LABELS), "multiclass").item() == 2
