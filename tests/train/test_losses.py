"""TaskLoss against hand computation: MSE, BCE with logits, cross-entropy with label smoothing."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

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


def test_weighted_cross_entropy_matches_torch():
    w = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    z, y = torch.tensor(LOGITS), torch.tensor(LABELS)
    want = torch.nn.CrossEntropyLoss(weight=w)(z, y)
    torch.testing.assert_close(TaskLoss("multiclass", class_weight=w)(z, y), want)


# a 2-class problem: 3 of class 1 against 9 of class 0
Z2 = torch.tensor([0.5, -1.0, 2.0, -0.2, 1.5, -3.0, 0.3, 0.0, -0.7, 1.1, -2.2, 0.9], dtype=torch.float64)
Y2 = torch.tensor([1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0])


def test_balanced_weights_are_sklearns_for_binary_and_multiclass():
    from sklearn.utils.class_weight import compute_class_weight
    want = compute_class_weight("balanced", classes=np.array([0, 1]), y=Y2.numpy())   # n / (k n_c)
    np.testing.assert_allclose(want, [12 / (2 * 9), 12 / (2 * 3)])
    np.testing.assert_allclose(class_weights(Y2, 2).numpy(), want, rtol=1e-6)
    y3 = torch.tensor([0] * 5 + [1] * 2 + [2] * 1)
    want3 = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=y3.numpy())
    np.testing.assert_allclose(class_weights(y3, 3).numpy(), want3, rtol=1e-6)


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_weighted_binary_equals_weighted_two_way_softmax(eps):
    """A binary logit z is the 2-way softmax over logits (0, z): with the same balanced weights,
    sigmoid + BCE gives torch's weighted cross-entropy, sum w_y l / sum w_y (no 1/w_0 factor)."""
    w = class_weights(Y2, 2).double()
    binary = TaskLoss("binary", label_smoothing=eps, class_weight=w)(Z2[:, None], Y2.double())
    logits2 = torch.stack([torch.zeros_like(Z2), Z2], 1)
    if eps == 0:
        want = F.cross_entropy(logits2, Y2, weight=w)
    else:   # binary smoothing moves targets to 1 - eps/2, eps/2: cross-entropy with soft targets
        target = F.one_hot(Y2, 2).double() * (1 - eps) + eps / 2
        per = -(target * F.log_softmax(logits2, 1)).sum(1)
        want = (w[Y2] * per).sum() / w[Y2].sum()
    torch.testing.assert_close(binary, want)
    bce = F.binary_cross_entropy_with_logits(Z2, Y2.double() * (1 - eps) + eps / 2, weight=w[Y2],
                                             reduction="sum") / w[Y2].sum()
    torch.testing.assert_close(binary, bce)


def test_balanced_weighting_keeps_the_loss_scale():
    """Balanced weights sum to n over the samples, and the loss is their weighted mean: when
    every sample's loss is log 2 the weighted loss is log 2 (pos_weight = w1/w0 gave 1.5 log 2)."""
    w = class_weights(Y2, 2).double()
    assert float(w[Y2].sum()) == pytest.approx(len(Y2))
    zero = torch.zeros(len(Y2), 1, dtype=torch.float64)
    assert float(TaskLoss("binary", class_weight=w)(zero, Y2.double())) == pytest.approx(np.log(2))


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
