"""Where a Trainer's tensors live: the device named by ``train.device``, and the data's
splits moved there once before training (a batch is then an index into them, never a copy
from the CPU at each step)."""
from __future__ import annotations

import torch

from ..data import DataBundle

SPLITS = ("train", "val", "test")


def resolve_device(name: str) -> torch.device:
    """``train.device``: "auto" is CUDA when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from ..spec import SpecError
        raise SpecError("train.device = 'cuda' but no CUDA device is available; allowed here: cpu, auto")
    return torch.device(name)


def place(data: DataBundle, device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """({split: inputs}, {split: targets}) on ``device``; binary targets as floats once, not
    converted for the loss at every step."""
    x = {s: getattr(data, f"x_{s}").to(device) for s in SPLITS}
    ydt = torch.float32 if data.task == "binary" else None
    y = {s: getattr(data, f"y_{s}").to(device, ydt) for s in SPLITS}
    return x, y
