"""MNIST-format IDX files (MNIST, Fashion-MNIST), raw or gzipped, from a local path.

Format: 2 zero bytes, a type byte (0x08 = uint8), a byte with the number of
dimensions, then each dimension as a big-endian int32, then the data.
"""
from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ..spec import MAX_CLASSES, SpecError

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class IDXError(SpecError):
    """An IDX file or folder the user can fix (a ``SpecError``: its message names ``data.path``)."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (``.gz`` is decompressed) into an array of its shape."""
    path = Path(path)
    try:
        with (gzip.open(path) if path.suffix == ".gz" else path.open("rb")) as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:   # not gzip, cut short, unreadable
        raise IDXError.say("idx.unreadable", path=path, reason=e) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise IDXError.say("idx.magic", path=path)
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise IDXError.say("idx.short_header", path=path, ndim=ndim)
    dims = [int(d) for d in np.frombuffer(raw, ">i4", ndim, offset=4)]
    if any(d < 0 for d in dims):
        raise IDXError.say("idx.negative", path=path, dims=str(tuple(dims)))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise IDXError.say("idx.size", path=path, dims=str(tuple(dims)), expected=expected, got=len(body))
    return np.frombuffer(body, dtype).reshape(dims)


def _check(images: Path, labels: Path, X: np.ndarray, y: np.ndarray) -> None:
    """Finite pixels (after scaling), and labels that are classes 0..9, before anything is sized by them."""
    if not np.all(np.isfinite(X)):
        raise IDXError.say("idx.not_finite", path=images)
    ok = (y >= 0) & (y < MAX_CLASSES)
    if y.dtype.kind == "f":
        ok &= np.isfinite(y) & (y == np.round(y))
    if not np.all(ok):
        bad = y[~ok][0]
        raise IDXError.say("idx.labels", path=labels, top=MAX_CLASSES - 1, most=MAX_CLASSES, got=f"{float(bad):g}")


def _find(folder: Path, stem: str) -> Path | None:
    for cand in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / cand).is_file():
            return folder / cand
    return None


def load(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A folder with the standard file names -> {"train": (X, y), "test": (X, y)?}.

    Images come back as (N, 1, H, W) float32 in [0, 1]; labels as int64.
    """
    folder = Path(path)
    if folder.is_file():
        raise IDXError.say("idx.is_file", path=repr(str(folder)), images=_SPLITS["train"][0], labels=_SPLITS["train"][1])
    if not folder.is_dir():
        raise IDXError.say("idx.no_folder", path=repr(str(folder)), images=_SPLITS["train"][0], labels=_SPLITS["train"][1])
    out = {}
    for split, (img, lab) in _SPLITS.items():
        pi, pl = _find(folder, img), _find(folder, lab)
        if pi is None or pl is None:
            continue
        X, y = read_idx(pi), read_idx(pl)
        if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
            raise IDXError.say("idx.mismatch", path=folder, split=split, images=str(X.shape), labels=str(y.shape))
        with np.errstate(over="ignore", invalid="ignore"):   # non-finite pixels are named below
            X = (X.astype(np.float32) / 255.0)[:, None]
        _check(pi, pl, X, y)
        out[split] = (X, y.astype(np.int64))
    if "train" not in out:
        raise IDXError.say("idx.no_train", path=repr(str(folder)), images=_SPLITS["train"][0])
    return out
