"""Adversarial patch: pasting is exact, and a learned patch pulls predictions to its target."""
from __future__ import annotations

import pytest
import torch

from nnplay.trust import TrustError
from nnplay.trust.patch import paste, patch_attack


def test_paste_puts_the_patch_at_each_place_and_nowhere_else():
    x = torch.rand(3, 2, 8, 8)
    p = torch.rand(2, 3, 3)
    rows, cols = torch.tensor([0, 5, 2]), torch.tensor([0, 5, 4])
    out = paste(x, p, rows, cols)
    for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
        expected = x[i].clone()
        expected[:, r:r + 3, c:c + 3] = p                  # the hand-made version
        assert torch.equal(out[i], expected)


def test_learned_patch_flips_predictions_to_the_target(model_data):
    model, d = model_data
    r = patch_attack(model, d.x_train, d.x_test, d.y_test, target=8, bounds=d.bounds, steps=150)
    assert r.patch.shape == (1, 4, 4)                           # default: half the side of 8x8
    assert float(r.patch.min()) >= 0 and float(r.patch.max()) <= 1
    changed = (r.x_adv != d.x_test).flatten(1).sum(1)
    assert int(changed.max()) <= 16                             # only the patch's pixels change
    before = float((r.clean_pred == 8).float().mean())
    after = float((r.adv_pred == 8).float().mean())
    assert r.success_rate > 0.15 and after > before + 0.1, r.summary()
    # a random patch of the same size does far less than the learned one
    noise = paste(d.x_test, torch.rand(1, 4, 4, generator=torch.Generator().manual_seed(0)),
                  torch.zeros(len(d.x_test), dtype=torch.long), torch.zeros(len(d.x_test), dtype=torch.long))
    assert float((model(noise).argmax(1) == 8).float().mean()) < after


def test_patch_errors(model_data):
    model, d = model_data
    x, y = d.x_test[:8], d.y_test[:8]
    with pytest.raises(TrustError, match="target: must be a class between 0 and 9; received: 10"):
        patch_attack(model, x, x, y, target=10)
    with pytest.raises(TrustError, match="size: the patch side must be between 1 and 8"):
        patch_attack(model, x, x, y, target=1, size=9)
    with pytest.raises(TrustError, match="needs image inputs"):
        patch_attack(torch.nn.Linear(4, 3), torch.rand(5, 4), torch.rand(5, 4), torch.zeros(5, dtype=torch.long), 1)
