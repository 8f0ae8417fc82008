"""Data: one file per source; ``load_data(spec.data)`` gives a split ``DataBundle``.

Splits: ``train_ratio`` of the samples for train+validation (stratified where
labels are classes), the rest for test; ``val_ratio`` of that part is held out
for validation ("the mock exam").
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from ..spec import DataSpec, SpecError, shorten
from . import adding as adding_source
from . import csv as csv_source
from . import digits as digits_source
from . import folder as folder_source
from . import idx as idx_source
from . import series as series_source
from . import toy2d
from .features import featurize


@dataclass
class DataBundle:
    """Tensors for each split plus what the model builder and probes need to know."""
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    task: str                      # "binary" | "multiclass" | "regression"
    num_classes: int               # 1 for regression
    feature_names: list[str]
    class_names: list[str] = field(default_factory=list)
    # 2-D sets only: raw points (before features), for drawing and boundary grids
    points: dict[str, np.ndarray] | None = None
    extent: float = toy2d.R
    # (mean, std) the raw inputs were standardized with (csv features; images with scale =
    # "standard"): the model's input is (raw - mean) / std. None: raw inputs go in as they are.
    scale: tuple[np.ndarray, np.ndarray] | None = None
    # series only: the series, its windows' positions, train scaling and baselines (data/series.py)
    forecasts: series_source.Forecasts | None = None
    # text: id -> character (0 padding, 1 unknown; data/text.py); inputs are (N, window) ids
    vocabulary: list[str] | None = None
    # the least frequent class of the training split before resampling (data.rare_class, or one
    # with under half the largest class's samples); None: no class is rare
    rare_class: int | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def out_dim(self) -> int:
        if self.task == "multiclass":
            return self.num_classes
        return self.y_train.shape[1] if self.y_train.dim() == 2 else 1   # series: the horizon

    @property
    def is_2d(self) -> bool:
        return self.points is not None

    @property
    def is_image(self) -> bool:
        return self.x_train.dim() == 4

    @property
    def bounds(self) -> tuple[float, float]:
        """The valid input range (attacks and augmentation stay inside it)."""
        if self.is_image and float(self.x_train.min()) >= 0 and float(self.x_train.max()) <= 1:
            return (0.0, 1.0)
        return (float(self.x_train.min()), float(self.x_train.max()))

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def from_raw(self, raw: np.ndarray) -> torch.Tensor:
        """Raw inputs (N, *input_shape) as the model sees them: standardized with the training
        statistics when ``scale`` is set, as in training (and ``export.Predictor.prepare``)."""
        x = np.asarray(raw, np.float32)
        if self.scale is not None:
            x = (x - self.scale[0]) / self.scale[1]
        return torch.from_numpy(np.ascontiguousarray(x, np.float32))

    def featurize(self, points: np.ndarray) -> torch.Tensor:
        """Raw (N, 2) points -> model inputs, for boundary grids."""
        return torch.from_numpy(featurize(np.asarray(points, np.float32), self.feature_names))


def _task(y: np.ndarray, regression: bool) -> tuple[str, int]:
    if regression:
        return "regression", 1
    k = int(y.max()) + 1
    return ("binary", 2) if k <= 2 else ("multiclass", k)


def split_sizes(n: int, spec: DataSpec, n_test: int | None = None) -> tuple[int, int, int]:
    """(train, validation, test) sample counts that ``_split`` makes of ``n`` samples
    (scikit-learn's rounding: train part floor(n * train_ratio), validation ceil(m * val_ratio));
    ``n_test`` given: the test split is that file's own."""
    if n_test is None:
        m = math.floor(spec.train_ratio * n)
        n_test = n - m
    else:
        m = n
    n_val = math.ceil(spec.val_ratio * m) if spec.val_ratio > 0 else 0
    return m - n_val, n_val, n_test


def check_splits(n: int, k: int, spec: DataSpec, n_test: int | None = None,
                 source: tuple[str, dict] | None = None) -> None:
    """Raise ``SpecError`` unless every split gets at least ``k`` samples (one per class; ``k``=1
    for regression). Called before any data is generated or resampled. ``source``: the
    (i18n key, kw) naming where the ``n`` samples come from."""
    train, val, test = split_sizes(n, spec, n_test)
    if min(train, test, val if spec.val_ratio > 0 else k) >= k:
        return
    sizes = ("data.sizes", dict(train=train, val=val, test=test)) if spec.val_ratio > 0 else \
        ("data.sizes_noval", dict(train=train, test=test))
    raise SpecError.say("data.split_small", source=source or ("data.src_n", {"n": n}),
                        train_ratio=f"{spec.train_ratio:g}", val_ratio=f"{spec.val_ratio:g}", sizes=sizes,
                        need=("data.need_classes", {"k": k}) if k > 1 else "1",
                        fields="data.train_ratio, data.val_ratio" if n_test is None else "data.val_ratio")


def _split(X, y, spec: DataSpec, stratify: bool, test: tuple | None = None):
    """-> (train, val, test) index-free arrays; ``test`` given skips the test split."""
    strat = y if stratify else None
    if test is None:
        X, Xte, y, yte = train_test_split(X, y, train_size=spec.train_ratio, random_state=spec.seed,
                                          stratify=strat)
        strat = y if stratify and np.bincount(y).min() >= 2 else None  # a rare class may be left with 1
    else:
        Xte, yte = test
    if spec.val_ratio > 0:
        X, Xva, y, yva = train_test_split(X, y, test_size=spec.val_ratio, random_state=spec.seed,
                                          stratify=strat)
    else:
        Xva, yva = X[:0], y[:0]
    return (X, y), (Xva, yva), (Xte, yte)


def _smote(X, y, seed):
    """Oversample every class of the training split up to the largest (needs >= 2 of each)."""
    from imblearn.over_sampling import SMOTE
    counts = np.bincount(y)
    present = counts[counts > 0]
    if len(present) < 2 or present.min() < 2:
        shown = ", ".join(f"{c}: {n}" for c, n in enumerate(counts) if n)
        raise SpecError.say("data.smote_small", counts=shown)
    k = min(5, int(present.min()) - 1)
    shape = X.shape[1:]
    Xr, yr = SMOTE(random_state=seed, k_neighbors=k).fit_resample(X.reshape(len(X), -1), y)
    return Xr.reshape((-1, *shape)).astype(np.float32), yr


def _oversample(X, y, seed):
    """Random oversampling: copies of each smaller class's training samples up to the largest."""
    from imblearn.over_sampling import RandomOverSampler
    shape = X.shape[1:]
    Xr, yr = RandomOverSampler(random_state=seed).fit_resample(X.reshape(len(X), -1), y)
    return Xr.reshape((-1, *shape)).astype(np.float32), yr


def _keep_classes(X, y, keep: list[int], names: list[str]):
    """Only the samples of classes ``keep``, relabelled 0, 1, ... in that order."""
    present = set(np.unique(y).tolist())
    missing = [c for c in keep if c not in present]
    if missing or len(set(keep)) != len(keep):
        raise SpecError.say("data.keep_classes", keep=keep, present=", ".join(map(str, sorted(present))))
    mask = np.isin(y, keep)
    relabel = np.zeros(int(y.max()) + 1, np.int64)
    relabel[keep] = np.arange(len(keep))
    names = [names[c] if c < len(names) else str(c) for c in keep]
    return X[mask], relabel[y[mask]], names


def _make_rare(X, y, rare: int, share: float, seed: int):
    """Keep ``share`` of class ``rare``'s samples (at least 2), drawn with ``seed``."""
    idx = np.flatnonzero(y == rare)
    keep = max(2, math.ceil(share * len(idx)))
    drop = np.random.default_rng(seed).permutation(idx)[keep:]
    mask = np.ones(len(y), bool)
    mask[drop] = False
    return X[mask], y[mask]


def _rare_class(y: np.ndarray, k: int) -> int | None:
    counts = np.bincount(y, minlength=k)
    return int(counts.argmin()) if 2 * counts.min() < counts.max() else None


def _limit(X, y, n, seed):
    if n is None or n >= len(X):
        return X, y
    keep = np.random.default_rng(seed).permutation(len(X))[:n]
    return X[keep], y[keep]


def _unreadable(path: str, e: OSError) -> SpecError:
    return SpecError.say("data.unreadable", path=shorten(path), reason=e.strerror or e)


def _sequences(spec: DataSpec) -> DataBundle:
    """Series windows (split along time) or adding-problem sequences (split at random: each
    sequence is drawn on its own); inputs (n, time steps, features), regression targets."""
    def t(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)
    if spec.name == "series":
        parts, info = series_source.load(spec)
        return DataBundle(*(t(a) for s in ("train", "val", "test") for a in parts[s]), "regression", 1,
                          ["value"], forecasts=info)
    check_splits(spec.samples, 1, spec, source=("data.src_samples", {"n": spec.samples}))
    X, y = adding_source.generate(spec.samples, spec.length, spec.seed)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = _split(X, y, spec, False)
    return DataBundle(t(Xtr), t(ytr), t(Xva), t(yva), t(Xte), t(yte), "regression", 1, ["value", "marker"])


def load_data(spec: DataSpec, unlabelled: bool = False) -> DataBundle:
    """Build the bundle that ``spec`` describes. Raises ``SpecError`` on bad paths or files.
    ``unlabelled``: the labels are not learned (generative models), so drawn points may all
    share one class."""
    if spec.name in ("series", "adding"):
        return _sequences(spec)
    if spec.name == "text" or (spec.name == "csv" and spec.text):
        from . import text
        return text.bundle(spec)
    points = None
    names = list(spec.features)
    class_names: list[str] = []
    test = None
    regression = False
    if spec.name in toy2d.GENERATORS or spec.name == "points":
        if spec.name == "points":   # rows and labels were checked by DataSpec
            k = len({row[2] for row in spec.points})
            if k < 2 and not unlabelled:
                raise SpecError.say("data.points_one_class")
            check_splits(len(spec.points), k, spec, source=("data.src_points", {"n": len(spec.points)}))
            arr = np.asarray(spec.points, np.float32)
            P, y = arr[:, :2], arr[:, 2].astype(np.int64)
        else:
            regression = spec.name in toy2d.REGRESSION
            k = 1 if regression else 2 if spec.name in toy2d.BINARY_ONLY else \
                len(toy2d.MODES[spec.name][0]) if spec.name in toy2d.MODES else spec.classes
            check_splits(spec.samples, k, spec, source=("data.src_samples", {"n": spec.samples}))
            P, y = toy2d.generate(spec.name, spec.samples, spec.noise, spec.classes, spec.seed)
        X = np.concatenate([P, featurize(P, names)], 1)  # carry raw points through the split
    elif spec.name == "digits":
        n = min(spec.limit or digits_source.N, digits_source.N)
        check_splits(n, 10, spec, source=("data.src_digits_limit" if spec.limit else "data.src_digits", {"n": n}))
        X, y = digits_source.load()
        names = ["pixels"]
    elif spec.name == "idx":
        try:
            parts = idx_source.load(spec.path)   # an IDXError is a SpecError: it goes up as it is
        except OSError as e:
            raise _unreadable(spec.path, e) from None
        X, y = parts["train"]
        test = parts.get("test")
        names = ["pixels"]
    elif spec.name == "folder":
        X, y, class_names = folder_source.load(spec.path, spec.size)
        names = ["pixels"]
    elif spec.name == "csv":
        try:   # a CSVError is a UserError: it goes up as it is
            X, y, names, task, class_names = csv_source.load(spec.path, spec.target, spec.task)
        except OSError as e:
            raise _unreadable(spec.path, e) from None
        regression = task == "regression"
    else:  # pragma: no cover - the spec's Literal forbids it
        raise AssertionError(f"data.name: unknown data set {spec.name!r}")
    if spec.keep_classes:
        if regression or spec.name in toy2d.GENERATORS or spec.name == "points":
            raise SpecError.say("data.keep_needs_classes", name=spec.name)
        X, y, class_names = _keep_classes(X, y, spec.keep_classes, class_names or [str(c) for c in range(int(y.max()) + 1)])
        if test is not None:
            test = _keep_classes(*test, spec.keep_classes, class_names)[:2]
        check_splits(len(X), len(spec.keep_classes), spec, None if test is None else len(test[0]))
    if spec.name in ("idx", "csv", "folder"):
        n = min(spec.limit or len(X), len(X))
        k = 1 if regression else len(np.unique(y))
        check_splits(n, k, spec, None if test is None else len(test[0]),
                     ("data.src_file_limit" if spec.limit else "data.src_file", {"path": repr(spec.path), "n": n}))

    X, y = _limit(X, y, spec.limit, spec.seed)
    stratify = not regression and np.bincount(y).min() >= 2
    (Xtr, ytr), (Xva, yva), (Xte, yte) = _split(X, y, spec, stratify, test)
    scale = None
    if spec.name == "csv":  # standardize with the train part's statistics only
        sc = StandardScaler().fit(Xtr)
        Xtr, Xva, Xte = (sc.transform(a).astype(np.float32) if len(a) else a for a in (Xtr, Xva, Xte))
        scale = (sc.mean_, sc.scale_)
    if spec.scale == "standard" and X.ndim == 4:
        mu, sd = Xtr.mean(0, keepdims=True), Xtr.std(0, keepdims=True)
        sd = np.where(sd > 1e-6, sd, 1.0)  # a pixel constant in train (e.g. always 0) stays finite
        Xtr, Xva, Xte = ((a - mu) / sd for a in (Xtr, Xva, Xte))
        scale = (mu[0], sd[0])
    if points is None and X.ndim == 2 and (spec.name in toy2d.GENERATORS or spec.name == "points"):
        points = {"train": Xtr[:, :2], "val": Xva[:, :2], "test": Xte[:, :2]}
        Xtr, Xva, Xte = Xtr[:, 2:], Xva[:, 2:], Xte[:, 2:]
    task, k = _task(y, regression)
    if spec.rare_class is not None:
        if regression or spec.rare_class >= k:
            raise SpecError.say("data.rare_class", got=spec.rare_class, k=k)
        Xtr, ytr = _make_rare(Xtr, ytr, spec.rare_class, spec.rare_share, spec.seed)
        if len(Xva):
            Xva, yva = _make_rare(Xva, yva, spec.rare_class, spec.rare_share, spec.seed + 1)
    rare = None if regression else _rare_class(ytr, k)
    if spec.resample != "none":
        if regression:
            raise SpecError.say("data.resample_needs_classes", got=repr(spec.resample))
        Xtr, ytr = (_smote if spec.resample == "smote" else _oversample)(Xtr, ytr, spec.seed)
    if spec.name == "csv" and not class_names and not regression:
        class_names = [str(i) for i in range(k)]
    ydt = torch.float32 if regression else torch.int64

    def t(a, dt=torch.float32):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=dt)

    return DataBundle(t(Xtr), t(ytr, ydt), t(Xva), t(yva, ydt), t(Xte), t(yte, ydt), task, k,
                      names, class_names or [str(i) for i in range(k if not regression else 0)],
                      points, scale=scale, rare_class=rare)
