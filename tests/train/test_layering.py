"""train/ sits below trust/ in the data flow: it takes the adversarial-training hook as a
parameter (runs.new_trainer passes nnplay.trust's) and never imports trust/."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nnplay
from nnplay.runs import new_trainer
from nnplay.spec import from_dict
from nnplay.train import Trainer

TRAIN = Path(nnplay.__file__).parent / "train"


def imported(source: str, package: list[str]) -> set[str]:
    """Every module ``source`` (a module of ``package``) imports, relative imports resolved."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            names |= {mod} | {f"{mod}.{a.name}" for a in node.names}
    return names


def test_train_never_imports_trust():
    files = sorted(TRAIN.rglob("*.py"))
    assert len(files) > 5
    for f in files:
        package = ["nnplay", "train", *f.relative_to(TRAIN).parent.parts]
        bad = {m for m in imported(f.read_text(), package) if m.split(".")[:2] == ["nnplay", "trust"]}
        assert not bad, (f.name, bad)


def test_the_checker_sees_every_way_of_importing_trust():
    for source in ["from ..trust.attacks import adversarial_trainer", "from .. import trust",
                   "import nnplay.trust.attacks", "def f():\n    from ..trust import attacks"]:
        assert any(m.split(".")[:2] == ["nnplay", "trust"] for m in imported(source, ["nnplay", "train"])), source
    assert imported("from ..runs import new_trainer", ["nnplay", "train"]) == {"nnplay.runs", "nnplay.runs.new_trainer"}


SPEC = {"data": {"name": "moons", "samples": 80}, "model": {"hidden": [8]},
        "train": {"epochs": 1, "batch_size": 16, "adversarial": {"method": "pgd", "eps": 0.1, "steps": 2}}}


def test_the_hook_comes_from_new_trainer_and_a_trainer_without_it_says_so():
    with pytest.raises(ValueError, match="train.adversarial.*new_trainer"):
        Trainer(from_dict(SPEC))
    tr = new_trainer(from_dict(SPEC))
    assert tr.adversary is not None
    xb, yb = tr.x["train"][:16], tr.y["train"][:16]
    out = tr.adversary(xb, yb)
    assert out.shape == xb.shape and not torch_equal(out, xb)
    assert new_trainer(from_dict({**SPEC, "train": {"epochs": 1}})).adversary is None


def torch_equal(a, b) -> bool:
    import torch
    return bool(torch.equal(a, b))
