"""An image folder: one sub-folder per class (``cats/``, ``dogs/``), PNG or JPEG files in each.

Pillow reads every file; grey and color images may be mixed (the set is RGB as soon as one
image has color, grey images then get three equal channels), and so may sizes (``data.size``
resizes every image to size x size; without it all images must share one size).
Files with other extensions (``.txt``, ``.DS_Store``) are skipped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..spec import MAX_CLASSES, SpecError, shorten

SUFFIXES = (".png", ".jpg", ".jpeg")


def _classes(root: Path) -> list[Path]:
    if not root.is_dir():
        raise SpecError.say("data.folder_missing", path=shorten(str(root)))
    dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(dirs) < 2:
        raise SpecError.say("data.folder_classes", path=shorten(str(root)), n=len(dirs),
                            found=", ".join(d.name for d in dirs) or "-")
    if len(dirs) > MAX_CLASSES:
        raise SpecError.say("data.folder_many", path=shorten(str(root)), n=len(dirs), most=MAX_CLASSES)
    return dirs


def load(path: str, size: int | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images (N, C, H, W) in [0, 1], labels (N,) and class names (the sub-folders, sorted)."""
    from PIL import Image, UnidentifiedImageError

    images, labels = [], []
    dirs = _classes(Path(path))
    for label, d in enumerate(dirs):
        files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        if not files:
            raise SpecError.say("data.folder_empty", name=d.name, path=shorten(str(d)),
                                kinds=", ".join(SUFFIXES))
        for f in files:
            try:
                with Image.open(f) as im:
                    im.load()
                    im = im.convert("L" if im.mode in ("L", "LA", "1", "I", "I;16", "F") else "RGB")
            except (UnidentifiedImageError, OSError, ValueError) as e:
                raise SpecError.say("data.folder_unreadable", path=shorten(str(f)),
                                    reason=getattr(e, "strerror", None) or e) from None
            if size is not None:
                im = im.resize((size, size), Image.Resampling.BILINEAR)
            images.append(im)
            labels.append(label)
    shapes = {im.size for im in images}
    if len(shapes) > 1:
        shown = ", ".join(f"{w}x{h}" for w, h in sorted(shapes)[:4])
        raise SpecError.say("data.folder_sizes", sizes=shown)
    rgb = any(im.mode == "RGB" for im in images)   # channels come from the data
    arrays = [np.asarray(im.convert("RGB" if rgb else "L"), np.float32) / 255.0 for im in images]
    X = np.stack(arrays)                                   # (N, H, W) or (N, H, W, 3)
    X = X.transpose(0, 3, 1, 2) if rgb else X[:, None]     # (N, C, H, W)
    return np.ascontiguousarray(X), np.asarray(labels, np.int64), [d.name for d in dirs]
