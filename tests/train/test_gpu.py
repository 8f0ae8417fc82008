"""The CUDA path: training on a GPU, with and without mixed precision (skipped on CPU)."""
from __future__ import annotations

import pytest
import torch

from nnplay.spec import load
from nnplay.train import Trainer

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("amp", [False, True])
def test_spiral_trains_on_cuda(amp):
    spec = load("examples/spiral.toml", ["train.device='cuda'", f"train.amp={str(amp).lower()}",
                                         "train.epochs=150"])
    trainer = Trainer(spec)
    assert next(trainer.model.parameters()).device.type == "cuda"
    result = trainer.fit()
    assert result.summary["device"].startswith("cuda")
    assert result.summary["test_accuracy"] >= 0.95


def test_digits_cnn_amp_matches_fp32_accuracy():
    accs = {}
    for amp in (False, True):
        spec = load("examples/digits_cnn.toml", ["train.device='cuda'", f"train.amp={str(amp).lower()}"])
        accs[amp] = Trainer(spec).fit().summary["test_accuracy"]
    assert accs[True] >= 0.97 and abs(accs[True] - accs[False]) < 0.02
