"""data.name = "folder": one sub-folder per class, PNG and JPEG, grey and RGB, mixed sizes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import cli, user_error
from nnplay import spec
from nnplay.data import load_data
from nnplay.spec import SpecError
from nnplay.train import Trainer


def write_shapes(root: Path, per_class: int = 40, seed: int = 0) -> Path:
    """Two classes drawn by hand: 'bars' (a vertical bar) and 'rings' (a hollow square), at
    16-28 pixels, every other image grey (PNG) or color (JPEG), on noisy backgrounds."""
    rng = np.random.default_rng(seed)
    for cls in ("bars", "rings"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            n = int(rng.integers(16, 29))
            img = rng.uniform(0, 0.3, (n, n))
            a, b = n // 4 + int(rng.integers(-1, 2)), 3 * n // 4 + int(rng.integers(-1, 2))
            if cls == "bars":
                img[a:b, n // 2 - 2:n // 2 + 2] = 1.0
            else:
                img[a:b, a:b] = 1.0
                img[a + 2:b - 2, a + 2:b - 2] = 0.1
            pixels = (img * 255).astype(np.uint8)
            if i % 2:
                tint = rng.uniform(0.6, 1.0, 3)
                Image.fromarray((pixels[..., None] * tint).astype(np.uint8), "RGB").save(root / cls / f"{i}.jpg", quality=90)
            else:
                Image.fromarray(pixels, "L").save(root / cls / f"{i}.png")
    return root


FOLDER_SPEC = ['data.name="folder"', "data.size=16", "data.train_ratio=0.6", "data.val_ratio=0.2",
               'model.layers=[{type="conv2d",filters=8},{type="maxpool2d",kernel=2},{type="flatten"},{type="dense",units=16}]',
               "model.activation=relu", "model.init=he_normal", "train.epochs=15", "train.lr=0.003",
               "train.probe_every=0"]


def test_a_folder_of_mixed_images_loads_and_trains(tmp_path):
    root = write_shapes(tmp_path / "shapes")
    s = spec.load(None, FOLDER_SPEC + [f'data.path="{root}"'])
    d = load_data(s.data)
    assert d.class_names == ["bars", "rings"]
    assert d.input_shape == (3, 16, 16)           # one color image makes the set RGB
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == 80
    assert 0 <= float(d.x_train.min()) and float(d.x_train.max()) <= 1
    summary = Trainer(s, data=d).fit().summary
    assert summary["test_accuracy"] >= 0.9


def test_grey_only_folder_has_one_channel(tmp_path):
    root = tmp_path / "grey"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((10, 12), 40 * i, np.uint8), "L").save(root / cls / f"{i}.png")
    (root / "a" / "notes.txt").write_text("not an image: skipped")
    d = load_data(spec.load(None, ['data.name="folder"', f'data.path="{root}"']).data)
    assert d.input_shape == (1, 10, 12)          # no data.size: the images' own size


def test_folder_errors(tmp_path):
    root = tmp_path / "one"
    (root / "only").mkdir(parents=True)
    Image.new("L", (8, 8)).save(root / "only" / "a.png")
    with pytest.raises(SpecError, match="needs at least 2 sub-folders"):
        load_data(spec.load(None, ['data.name="folder"', f'data.path="{root}"']).data)
    (root / "empty").mkdir()
    with pytest.raises(SpecError, match="class 'empty'.*holds no images"):
        load_data(spec.load(None, ['data.name="folder"', f'data.path="{root}"']).data)
    Image.new("RGB", (9, 8)).save(root / "empty" / "b.jpg")
    with pytest.raises(SpecError, match="different sizes.*data.size"):
        load_data(spec.load(None, ['data.name="folder"', f'data.path="{root}"']).data)
    (root / "empty" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(SpecError, match="cannot read image .*broken.png"):
        load_data(spec.load(None, ['data.name="folder"', f'data.path="{root}"', "data.size=8"]).data)
    with pytest.raises(SpecError, match="data.path is required"):
        spec.load(None, ['data.name="folder"'])


def test_cli_one_class_folder_exits_2(tmp_path):
    root = tmp_path / "one"
    (root / "cats").mkdir(parents=True)
    Image.new("L", (8, 8)).save(root / "cats" / "a.png")
    user_error(cli("train", "--set", 'data.name="folder"', "--set", f'data.path="{root}"'),
               "holds 1 class folder(s) (cats)")
    user_error(cli("train", "--set", 'data.name="folder"', "--set", f'data.path="{root}"', "--lang", "ko"),
               "하위 폴더가 2개 이상 필요합니다")
