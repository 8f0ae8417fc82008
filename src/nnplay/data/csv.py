"""Tabular data from a local CSV file: one target column, numeric features."""
from __future__ import annotations

import csv as _csv
from pathlib import Path

import numpy as np

from ..spec import MAX_CLASSES, UserError, shorten
from .toy2d import R


class CSVError(UserError):
    """A CSV file the user can fix (named column and line)."""


def load(path: str | Path, target: str, task: str = "auto", max_rows: int = 1_000_000,
         name: str | None = None):
    """Read ``path`` -> (X (N, F) float32, y, feature names, task, class names).

    ``task`` "auto": a non-numeric target, or an integer one with at most 10
    distinct values, is classification; anything else is regression. A class target has
    at most 10 classes; every number must be finite in float32 (errors name row and column).
    Errors name the file as ``name`` (an upload: the user's file name, not the server's copy).
    """
    path = Path(path)
    file = name or str(path)
    if not path.is_file():
        raise CSVError.say("csv.not_found", file=repr(file))
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(_csv.reader(f))
    except (_csv.Error, UnicodeDecodeError) as e:
        raise CSVError.say("csv.not_utf8", file=file, reason=e) from None
    if len(rows) < 2:
        raise CSVError.say("csv.no_rows", file=file)
    if len(rows) - 1 > max_rows:
        raise CSVError.say("csv.too_many_rows", file=file, n=len(rows) - 1, most=max_rows)
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise CSVError.say("csv.no_target", target=repr(target), file=Path(file).name,
                           columns=", ".join(header))
    numbered = [(i, r) for i, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]
    if not numbered:
        raise CSVError.say("csv.no_rows", file=file)
    for i, r in numbered:
        if len(r) != len(header):
            raise CSVError.say("csv.fields", file=file, line=i, n=len(r), header=len(header))
    lines, body = [i for i, _ in numbered], [r for _, r in numbered]
    ti = header.index(target)
    names = [h for j, h in enumerate(header) if j != ti]
    if not names:
        raise CSVError.say("csv.no_features", file=file, target=repr(target))
    cols = []
    for j, h in enumerate(header):
        if j == ti:
            continue
        col = _numbers([r[j] for r in body])
        if isinstance(col, int):
            raise CSVError.say("csv.not_numeric", file=file, column=repr(h), line=lines[col],
                               cell=_cell(body[col][j]))
        cols.append(col)
    with np.errstate(over="ignore"):   # values past float32 become inf and are named below
        X = np.array(cols, dtype=np.float32).T
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, j = bad[0]
        cell = body[i][j if j < ti else j + 1]
        raise CSVError.say("csv.not_finite", file=file, where=("csv.column", {"column": repr(names[j])}),
                           line=lines[i], cell=_cell(cell))
    raw_y = [r[ti].strip() for r in body]
    num = _numbers(raw_y)
    num = None if isinstance(num, int) else np.array(num)
    if task == "auto":
        is_int = num is not None and np.all(num == np.round(num))
        task = "classification" if num is None or (is_int and len(set(raw_y)) <= MAX_CLASSES) \
            else "regression"
    if task == "regression":
        if num is None:
            raise CSVError.say("csv.target_not_numeric", file=file, target=repr(target))
        with np.errstate(over="ignore"):
            y = num.astype(np.float32)
        if not np.all(np.isfinite(y)):
            i = int(np.argmin(np.isfinite(y)))
            raise CSVError.say("csv.not_finite", file=file, where=("csv.target", {"target": repr(target)}),
                               line=lines[i], cell=_cell(raw_y[i]))
        return X, y, names, "regression", []
    if num is not None and not np.all(np.isfinite(num)):
        i = int(np.argmin(np.isfinite(num)))
        raise CSVError.say("csv.not_a_class", file=file, target=repr(target), line=lines[i], cell=_cell(raw_y[i]))
    distinct = set(raw_y)
    if len(distinct) > MAX_CLASSES:
        raise CSVError.say("csv.too_many_classes" if num is None else "csv.too_many_classes_numeric",
                           file=file, target=repr(target), n=len(distinct), most=MAX_CLASSES)
    if len(distinct) < 2:
        raise CSVError.say("data.csv_one_class", path=file, target=repr(target))
    classes = sorted(distinct, key=lambda v: (float(v) if num is not None else 0, v))
    index = {c: i for i, c in enumerate(classes)}
    return X, np.array([index[v] for v in raw_y], dtype=np.int64), names, "classification", classes


def _numbers(cells: list[str]) -> list[float] | int:
    """The cells as floats, or the index of the first that is not a number."""
    out = []
    for i, c in enumerate(cells):
        try:
            out.append(float(c))
        except ValueError:
            return i
    return out


def _cell(text: str) -> str:
    return shorten(text, 40)


def to_points(X: np.ndarray, y: np.ndarray, half_width: float = 0.9 * R) -> list[list[float]]:
    """Two feature columns + class labels -> ``data.points`` rows ``[x1, x2, label]``.

    Each column is min-max scaled into [-half_width, half_width], inside the
    playground's square, so a learner's own 2-D data lands on the same plane as the toy sets.
    """
    if X.ndim != 2 or X.shape[1] != 2:
        raise CSVError.say("csv.points_two", n=X.shape[1])
    lo, hi = X.min(0), X.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    P = (X - lo) / span * (2 * half_width) - half_width
    return [[round(float(a), 4), round(float(b), 4), int(c)] for (a, b), c in zip(P, y)]


def data_section(path: str | Path, target: str | None, max_points: int,
                 name: str | None = None) -> tuple[dict, int, str, int]:
    """The spec's ``data`` section for an uploaded CSV, and (rows, task, classes): two feature
    columns with class labels (at most ``max_points`` rows) become drawable ``points`` on the
    playground's plane; anything else stays a table (``name = "csv"``) read from ``path``.
    Errors name the file as ``name`` (the user's file name)."""
    X, y, names, task, classes = load(path, target, name=name)
    if len(names) == 2 and task == "classification" and len(X) <= max_points:
        return {"name": "points", "points": to_points(X, y)}, int(len(X)), task, classes
    return {"name": "csv", "path": str(path), "target": target}, int(len(X)), task, classes
