"""The digits CNN of examples/digits_cnn.toml, trained once for all trust tests (~3 s)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nnplay import spec as specmod
from nnplay.runs import RunStore, load_trained, train_run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn.toml"


@pytest.fixture(scope="session")
def digits(tmp_path_factory):
    """(store, run, trainer): the unchanged example spec, trained into its own run store."""
    torch.set_num_threads(1)
    store = RunStore(tmp_path_factory.mktemp("trust-runs"))
    run, summary = train_run(specmod.load(EXAMPLE), store)
    assert summary["test_accuracy"] > 0.95   # a sanity gate: the 0.97 bar is the lesson's, over 5 seeds
    return store, run, load_trained(run)


@pytest.fixture
def model_data(digits):
    _, _, trainer = digits
    trainer.model.eval()
    return trainer.model, trainer.data
