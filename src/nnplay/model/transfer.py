"""Transfer learning: start from a trained network's layers, and keep some of them fixed.

``load_matching`` copies every layer whose name and shapes match (``conv1``, ``dense1``...;
a head for another number of classes does not match and keeps its fresh weights).
``freeze`` fixes layers: their parameters get no gradient (and so no optimizer state), and
their batch-norm statistics stop moving (the layer stays in eval mode while the rest trains).
"Take everything before the FC layer": ``model.freeze = ["features"]`` names every layer
before the first dense layer. Yosinski et al. 2014, https://arxiv.org/abs/1411.1792
"""
from __future__ import annotations

import types

import torch
from torch import nn

from ..spec import SpecError

FEATURES = "features"   # model.freeze's word for "every layer before the first dense layer"


def stateful_layers(model: nn.Sequential) -> dict[str, dict[str, torch.Tensor]]:
    """{layer name: its state_dict} for the layers that hold weights or statistics."""
    return {name: m.state_dict() for name, m in model.named_children() if m.state_dict()}


def load_matching(model: nn.Sequential, state: dict[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    """Copy each layer of ``state`` (a saved state_dict) whose name and every tensor's shape
    match ``model``'s; -> (loaded layer names, layer names that kept their own weights)."""
    loaded, kept = [], []
    for name, own in stateful_layers(model).items():
        theirs = {k: state.get(f"{name}.{k}") for k in own}
        if all(v is not None and v.shape == own[k].shape for k, v in theirs.items()):
            model.get_submodule(name).load_state_dict(theirs)
            loaded.append(name)
        else:
            kept.append(name)
    return loaded, kept


def frozen_names(model: nn.Sequential, names: list[str]) -> list[str]:
    """``model.freeze`` -> the layer names it covers, in order ("features" expanded)."""
    children = [n for n, _ in model.named_children()]
    wanted: set[str] = set()
    for name in names:
        if name == FEATURES:
            first_dense = next((i for i, n in enumerate(children) if n.startswith("dense") or n == "out"))
            wanted.update(children[:first_dense])
        elif name in children:
            wanted.add(name)
        else:
            raise SpecError.say("model.freeze_unknown", got=name,
                                allowed=", ".join([FEATURES, *children]))
    if "out" in wanted:
        raise SpecError.say("model.freeze_all")
    return [n for n in children if n in wanted]


def _frozen_train(self: nn.Module, mode: bool = True) -> nn.Module:
    """``train`` of a frozen layer: it stays in eval mode (batch norm keeps its statistics)."""
    return nn.Module.train(self, False)


def freeze(model: nn.Sequential, names: list[str]) -> list[str]:
    """Fix the layers ``names`` covers; -> the covered layers that hold weights or statistics."""
    covered = frozen_names(model, names)
    for name in covered:
        m = model.get_submodule(name)
        for p in m.parameters():
            p.requires_grad_(False)
        for sub in m.modules():
            if isinstance(sub, nn.modules.batchnorm._BatchNorm):
                sub.train = types.MethodType(_frozen_train, sub)   # model.train() skips it
                sub.eval()
    return [n for n in covered if model.get_submodule(n).state_dict()]
