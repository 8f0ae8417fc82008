"""A generative Trainer's views (samples, codes, morphs, D's grid) run in eval mode and leave
the network in the mode it was in: the server no longer sets it back (model.eval_mode)."""
from __future__ import annotations

from pathlib import Path

import pytest

from nnplay.spec import load
from nnplay.train import Trainer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example, overrides", [
    ("gan_ring.toml", ["data.samples=200", "model.batchnorm=true"]),
    ("vae_digits.toml", ["data.limit=150"]),
])
def test_views_leave_the_training_mode_as_it_was(example, overrides):
    tr = Trainer(load(EXAMPLES / example, overrides))
    views = [lambda: tr.sample(4), lambda: tr.evaluate("test")]
    if tr.kind == "gan":
        views += [lambda: tr.manifold(4), lambda: tr.decision_grid(8), lambda: tr.gan_metrics(),
                  lambda: tr.gradient_arrows(tr.sample(4))]
    else:
        views += [lambda: tr.encode(), lambda: tr.interpolate(0, 1, 3), lambda: tr.reconstruct([0, 1])]
    for training in (True, False):
        tr.model.train(training)
        for view in views:
            view()
            assert all(m.training is training for m in tr.model.modules()), (example, training)
