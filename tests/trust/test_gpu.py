"""The trust tools on a CUDA model agree with the same model on the CPU (skipped on CPU)."""
from __future__ import annotations

import copy

import pytest
import torch

from nnplay.trust import attacks, explain, uncertainty

pytestmark = pytest.mark.gpu


@pytest.fixture
def both(model_data):
    """(cpu model, cuda model, x, y): the trained digits CNN and 200 test images."""
    model, data = model_data
    return model, copy.deepcopy(model).cuda(), data.x_test[:200], data.y_test[:200]


@pytest.mark.parametrize("method", attacks.METHODS)
def test_attacks_on_cuda_match_cpu(both, method):
    cpu, gpu, x, y = both
    on_cpu = attacks.attack(cpu, x, y, eps=0.1, method=method)
    on_gpu = attacks.attack(gpu, x.cuda(), y.cuda(), eps=0.1, method=method)
    assert on_gpu.x_adv.device.type == "cuda"
    assert abs(on_gpu.adversarial_accuracy - on_cpu.adversarial_accuracy) <= 0.02


@pytest.mark.parametrize("method", explain.METHODS)
def test_attributions_on_cuda_match_cpu(both, method):
    cpu, gpu, x, _ = both
    x = x[:4]
    a_cpu = explain.explain(cpu, x, method=method, samples=50).attribution
    a_gpu = explain.explain(gpu, x.cuda(), method=method, samples=50).attribution.cpu()
    cos = torch.nn.functional.cosine_similarity(a_cpu.flatten(1), a_gpu.flatten(1)).min()
    assert cos > 0.95, method


def test_uncertainty_on_cuda_matches_cpu(both):
    cpu, gpu, x, y = both
    p_cpu = uncertainty.mc_dropout(cpu, x, passes=10).probs
    p_gpu = uncertainty.mc_dropout(gpu, x.cuda(), passes=10).probs
    assert p_gpu.device.type == "cuda"
    # dropout masks come from each device's own generator: compare the predictive means loosely
    assert (p_gpu.argmax(1).cpu() == p_cpu.argmax(1)).float().mean() > 0.95
    cal = uncertainty.calibration(p_gpu, y.cuda())
    assert 0.0 <= cal.ece <= 0.2
    noise = uncertainty.ood_inputs(x.cuda(), "noise", (0.0, 1.0))
    score_in = uncertainty.single(gpu, x.cuda()).entropy
    score_out = uncertainty.single(gpu, noise).entropy
    assert uncertainty.ood_auroc(score_in, score_out) > 0.8
