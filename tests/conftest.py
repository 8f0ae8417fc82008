"""Shared fixtures: every test writes runs into its own temporary store."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

DIGITS_CNN = Path(__file__).resolve().parents[1] / "examples" / "digits_cnn.toml"
DIGITS_SEEDS = range(5)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("NNPLAY_RUNS", str(tmp_path / "runs"))
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def digits_seeds():
    """examples/digits_cnn.toml trained with train.seed 0..4 (one thread, ~1.5 s each): bars on
    learned outcomes are asserted on their mean, so they hold on any x86 CPU. Measured on
    2026-11-30 under three CPU code paths (AVX-512, AVX2, no SIMD): a single seed's test
    accuracy moves 0.969-0.983 and its FGSM drop 0.29-0.38 with the path."""
    from nnplay import spec as specmod
    from nnplay.train import Trainer
    torch.set_num_threads(1)
    out = []
    for seed in DIGITS_SEEDS:
        tr = Trainer(specmod.load(DIGITS_CNN, [f"train.seed={seed}"]))
        result = tr.fit()
        tr.model.eval()
        out.append((tr, result.summary))
    return out


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
