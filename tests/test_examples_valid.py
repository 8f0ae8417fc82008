"""Every lesson spec in examples/ loads, round-trips and builds, and explains itself."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from helpers import write_reviews
from nnplay import spec
from nnplay.data import load_data
from nnplay.model import build_model

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml"))
USER_FILES = {"text_reviews.toml": write_reviews}   # lessons on the user's own file: one made here
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_there_are_lessons():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_round_trips(path):
    s = spec.load(path)
    text = s.to_toml()
    again = spec.loads(text)
    assert again == s                       # TOML -> Spec -> TOML -> Spec
    assert again.to_toml() == text
    assert spec.from_dict(s.to_dict()) == s  # and through the JSON-shaped dict


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_opens_with_a_bilingual_lesson(path):
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    assert header and header[0].startswith("# Lesson:"), f"{path.name}: start with '# Lesson: ...'"
    assert any(HANGUL.search(line) for line in header), f"{path.name}: add a Korean line"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_builds(path, tmp_path):
    s = spec.load(path)
    if path.name in USER_FILES:
        s = spec.load(path, [f'data.path="{USER_FILES[path.name](tmp_path / "data.csv")}"'])
    data = load_data(s.data)
    if s.model.kind != "classifier":   # autoencoder, VAE, GAN: samples of the data's shape
        from nnplay.train import Trainer
        tr = Trainer(s, data)
        assert tuple(tr.model.decode(torch.zeros(4, s.model.latent)).shape) == (4, *tr.shape)
        return
    model = build_model(s.model, data.input_shape, data.out_dim,
                        vocabulary=len(data.vocabulary) if data.vocabulary else None)
    out = model(data.x_train[:4])
    assert out.shape == (min(4, len(data.x_train)), data.out_dim)
