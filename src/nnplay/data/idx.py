"""MNIST-format IDX files (MNIST, Fashion-MNIST), raw or gzipped, from a local path.

Format: 2 zero bytes, a type byte (0x08 = uint8), a byte with the number of
dimensions, then each dimension as a big-endian int32, then the data.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class IDXError(ValueError):
    pass


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (``.gz`` is decompressed) into an array of its shape."""
    path = Path(path)
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise IDXError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = np.frombuffer(raw, ">i4", ndim, offset=4).astype(int)
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise IDXError(f"{path}: header says {tuple(dims)} ({expected} bytes) but has {len(body)}")
    return np.frombuffer(body, dtype).reshape(dims)


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
    if not folder.is_dir():
        raise IDXError(f"data.path: folder not found: {str(folder)!r} (expected a folder "
                       f"holding {_SPLITS['train'][0]}[.gz] and {_SPLITS['train'][1]}[.gz])")
    out = {}
    for split, (img, lab) in _SPLITS.items():
        pi, pl = _find(folder, img), _find(folder, lab)
        if pi is None or pl is None:
            continue
        X, y = read_idx(pi), read_idx(pl)
        if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
            raise IDXError(f"{folder}: {split} images {X.shape} and labels {y.shape} do not match")
        out[split] = ((X.astype(np.float32) / 255.0)[:, None], y.astype(np.int64))
    if "train" not in out:
        raise IDXError(f"data.path: no {_SPLITS['train'][0]}[.gz] with its labels in {str(folder)!r}")
    return out
