"""Tabular data from a local CSV file: one target column, numeric features."""
from __future__ import annotations

import csv as _csv
from pathlib import Path

import numpy as np


class CSVError(ValueError):
    pass


def load(path: str | Path, target: str, task: str = "auto", max_rows: int = 1_000_000):
    """Read ``path`` -> (X (N, F) float32, y, feature names, task, class names).

    ``task`` "auto": a non-numeric target, or an integer one with at most 20
    distinct values, is classification; anything else is regression.
    """
    path = Path(path)
    if not path.is_file():
        raise CSVError(f"data.path: file not found: {str(path)!r}")
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(_csv.reader(f))
    except (_csv.Error, UnicodeDecodeError) as e:
        raise CSVError(f"{path}: not a readable UTF-8 CSV file ({e})") from None
    if len(rows) < 2:
        raise CSVError(f"{path}: needs a header row and at least one data row")
    if len(rows) - 1 > max_rows:
        raise CSVError(f"{path}: {len(rows) - 1} rows is over the limit of {max_rows}")
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise CSVError(f"data.target: column {target!r} not in {path.name}; columns: {', '.join(header)}")
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise CSVError(f"{path}: line {i} has {len(r)} fields, the header has {len(header)}")
    ti = header.index(target)
    names = [h for j, h in enumerate(header) if j != ti]
    if not names:
        raise CSVError(f"{path}: no feature columns besides the target {target!r}")
    cols = []
    for j, h in enumerate(header):
        if j == ti:
            continue
        try:
            cols.append([float(r[j]) for r in body])
        except ValueError:
            raise CSVError(f"{path}: column {h!r} is not numeric (features must be numbers)") from None
    X = np.array(cols, dtype=np.float32).T
    raw_y = [r[ti].strip() for r in body]
    try:
        num = np.array([float(v) for v in raw_y])
    except ValueError:
        num = None
    if task == "auto":
        is_int = num is not None and np.all(num == np.round(num))
        task = "classification" if num is None or (is_int and len(set(raw_y)) <= 20) else "regression"
    if task == "regression":
        if num is None:
            raise CSVError(f"{path}: target {target!r} is not numeric, so it cannot be regressed")
        return X, num.astype(np.float32), names, "regression", []
    classes = sorted(set(raw_y), key=lambda v: (float(v) if num is not None else 0, v))
    index = {c: i for i, c in enumerate(classes)}
    return X, np.array([index[v] for v in raw_y], dtype=np.int64), names, "classification", classes


def to_points(X: np.ndarray, y: np.ndarray, half_width: float = 5.4) -> list[list[float]]:
    """Two feature columns + class labels -> ``data.points`` rows ``[x1, x2, label]``.

    Each column is min-max scaled into [-half_width, half_width], inside the
    playground's square, so a learner's own 2-D data lands on the same plane as the toy sets.
    """
    if X.ndim != 2 or X.shape[1] != 2:
        raise CSVError(f"points need exactly 2 feature columns; this file has {X.shape[1]}")
    lo, hi = X.min(0), X.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    P = (X - lo) / span * (2 * half_width) - half_width
    return [[round(float(a), 4), round(float(b), 4), int(c)] for (a, b), c in zip(P, y)]
