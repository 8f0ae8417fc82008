"""train.amp = "auto": mixed precision only where the step is large enough to gain from it;
always off on CPU. The FLOP count is PyTorch's own (FlopCounterMode), checked by hand here."""
from __future__ import annotations

import pytest
import torch
from helpers import user_error, cli
from torch import nn

from nnplay.spec import load, loads
from nnplay.train import Trainer
from nnplay.train.precision import AMP_MIN_FLOPS, forward_flops, use_amp

CUDA, CPU = torch.device("cuda"), torch.device("cpu")


def test_forward_flops_by_hand():
    # 2 -> 16 -> 16 -> 1 on a batch of 32: 2 * 32 * (2*16 + 16*16 + 16*1) multiply-adds
    mlp = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
    assert forward_flops(mlp, torch.zeros(32, 2)) == 2 * 32 * (2 * 16 + 16 * 16 + 16)
    # a 3x3 convolution, 1 -> 8 channels, 8x8 -> 6x6 outputs: 2 * 8 * 36 * 9 per sample
    conv = nn.Conv2d(1, 8, 3)
    assert forward_flops(conv, torch.zeros(4, 1, 8, 8)) == 4 * 2 * 8 * 36 * 9
    assert conv.training and mlp.training   # the count leaves the mode as it was


def test_auto_follows_the_flops_rule_and_is_off_on_cpu():
    small = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    big = nn.Sequential(nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10))
    xs, xb = torch.zeros(32, 2), torch.zeros(4096, 2048)
    assert forward_flops(big, xb) >= AMP_MIN_FLOPS > forward_flops(small, xs)
    assert use_amp("auto", big, xb, CUDA) and not use_amp("auto", small, xs, CUDA)
    assert use_amp(True, small, xs, CUDA) and not use_amp(False, big, xb, CUDA)   # as set
    for setting in ("auto", True, False):
        assert not use_amp(setting, big, xb, CPU)


def test_the_spec_default_is_auto_and_round_trips(tmp_path):
    spec = load(None)
    assert spec.train.amp == "auto"
    for v in ("true", "false", '"auto"'):
        s = load(None, [f"train.amp={v}"])
        assert loads(s.to_toml()).train.amp == s.train.amp
    assert not Trainer(load("examples/spiral.toml", ["train.epochs=1"])).amp   # CPU: off
    user_error(cli("train", "--set", 'train.amp="sometimes"', "--runs-dir", str(tmp_path)),
               "train.amp", "auto", "sometimes")


@pytest.mark.gpu
def test_on_cuda_auto_picks_the_faster_step():
    """The spiral MLP trains in float32 (mixed precision would slow it); a wide MLP on a big
    batch in mixed precision, and its step is measured faster that way."""
    import time
    assert not Trainer(load("examples/spiral.toml", ["train.device='cuda'"])).amp
    wide = nn.Sequential(nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                         nn.Linear(4096, 10)).cuda()
    x = torch.randn(1024, 4096, device="cuda")
    y = torch.randint(0, 10, (1024,), device="cuda")
    assert use_amp("auto", wide, x, CUDA)
    opt = torch.optim.SGD(wide.parameters(), lr=1e-3)

    def steps(amp: bool, n: int = 30) -> float:
        for i in range(n + 5):
            if i == 5:
                torch.cuda.synchronize()
                start = time.perf_counter()
            with torch.autocast("cuda", enabled=amp):
                loss = nn.functional.cross_entropy(wide(x).float(), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        torch.cuda.synchronize()
        return time.perf_counter() - start
    assert steps(True) < steps(False)
