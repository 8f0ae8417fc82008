"""The CUDA path: training on a GPU, with and without mixed precision (skipped on CPU)."""
from __future__ import annotations

from pathlib import Path

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


def test_compiled_step_on_cuda_matches_autograd():
    from nnplay.train.compiled import CompiledStep
    spec = load("examples/spiral.toml", ["train.device='cuda'", "train.amp=false"])
    tr = Trainer(spec)
    step = CompiledStep(tr.model, tr.loss_fn, spec.train.batch_size)
    xb, yb = tr.x["train"][:spec.train.batch_size], tr.y["train"][:spec.train.batch_size]
    step.build(xb, yb)
    assert step.ready.is_set(), step.error
    twin = __import__("copy").deepcopy(tr.model)
    loss, _ = step(xb, yb, torch.optim.SGD(tr.model.parameters(), lr=0.0), keep_grads=True)
    want = tr.loss_fn(twin(xb), yb)
    want.backward()
    torch.testing.assert_close(loss, want.detach())
    for p, q in zip(tr.model.parameters(), twin.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)


EXAMPLES = sorted(p for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.toml")
                  if p.name != "sweep_spiral.toml")   # wherever pytest runs from


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_trains_an_epoch_on_cuda(path, tmp_path):
    """Each lesson's model kind, data and features (augmentation, recurrent layers, GANs, metric
    losses, class weights) run on the CUDA path: an epoch on the GPU with finite losses."""
    from helpers import write_reviews
    over = ["train.device='cuda'", "train.epochs=1"]
    if path.name == "text_reviews.toml":
        over.append(f"data.path='{write_reviews(tmp_path / 'data.csv')}'")
    trainer = Trainer(load(path, over))
    assert next(trainer.model.parameters()).device.type == "cuda"
    summary = trainer.fit().summary
    assert summary["device"].startswith("cuda")
    assert all(v == v for k, v in summary.items() if k.endswith("loss") and isinstance(v, float))
