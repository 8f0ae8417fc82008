"""load_data: features, splits (sizes, stratification), resampling, limits, user points."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay import spec as S
from nnplay.data import load_data
from nnplay.data.features import featurize
from nnplay.spec import DataSpec, SpecError

ALL_FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]


def numpy_features(p: np.ndarray) -> np.ndarray:
    a, b = p[:, 0].astype(np.float64), p[:, 1].astype(np.float64)
    return np.stack([a, b, a ** 2, b ** 2, a * b, np.sin(a), np.sin(b)], 1)


def test_each_feature_matches_numpy():
    b = load_data(DataSpec(name="circle", samples=200, noise=0.2, features=ALL_FEATURES))
    for split in ("train", "val", "test"):
        x = getattr(b, f"x_{split}").numpy()
        assert x.shape[1] == 7
        np.testing.assert_allclose(x, numpy_features(b.points[split]), rtol=1e-5, atol=1e-5)
    assert b.feature_names == ALL_FEATURES


@pytest.mark.parametrize("i, name", list(enumerate(ALL_FEATURES)))
def test_featurize_single_feature(i, name):
    p = np.array([[0.5, -2.0], [3.0, 1.5], [-1.0, 0.0]], np.float32)
    got = featurize(p, [name])
    assert got.shape == (3, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got[:, 0], numpy_features(p)[:, i], rtol=1e-6)


def test_bundle_featurize_uses_the_spec_features():
    b = load_data(DataSpec(name="xor", samples=100, features=["x1*x2", "sin(x2)"]))
    p = np.array([[2.0, 3.0], [-1.0, 0.5]])
    np.testing.assert_allclose(b.featurize(p).numpy(), [[6.0, np.sin(3.0)], [-0.5, np.sin(0.5)]], rtol=1e-6)


@pytest.mark.parametrize("samples, train_ratio, val_ratio, sizes", [
    (500, 0.5, 0.2, (200, 50, 250)),
    (333, 0.7, 0.2, (186, 47, 100)),     # sklearn: train = floor(n * r), val = ceil(pool * v)
    (200, 0.8, 0.0, (160, 0, 40)),
])
def test_split_sizes(samples, train_ratio, val_ratio, sizes):
    b = load_data(DataSpec(name="gauss", samples=samples, train_ratio=train_ratio, val_ratio=val_ratio))
    got = (len(b.x_train), len(b.x_val), len(b.x_test))
    assert got == sizes
    assert all(len(getattr(b, f"x_{s}")) == len(getattr(b, f"y_{s}")) for s in ("train", "val", "test"))


def test_splits_are_disjoint_and_cover_the_data():
    b = load_data(DataSpec(name="spiral", samples=300, noise=0.1))
    pts = np.concatenate([b.points[s] for s in ("train", "val", "test")])
    assert len(np.unique(pts, axis=0)) == 300


@pytest.mark.parametrize("name, classes", [("spiral", 3), ("gauss", 4), ("circle", 2)])
def test_splits_are_stratified(name, classes):
    b = load_data(DataSpec(name=name, samples=400, classes=classes, train_ratio=0.6, val_ratio=0.25))
    y_all = torch.cat([b.y_train, b.y_val, b.y_test]).numpy()
    p = np.bincount(y_all, minlength=classes) / len(y_all)
    for s in ("train", "val", "test"):
        y = getattr(b, f"y_{s}").numpy()
        counts = np.bincount(y, minlength=classes)
        assert np.all(np.abs(counts - p * len(y)) <= 1.0 + 1e-9), (s, counts, p * len(y))


def test_task_and_heads():
    assert load_data(DataSpec(name="xor", samples=50)).task == "binary"
    b = load_data(DataSpec(name="spiral", samples=60, classes=3))
    assert (b.task, b.num_classes, b.out_dim, b.class_names) == ("multiclass", 3, 3, ["0", "1", "2"])
    r = load_data(DataSpec(name="reg-plane", samples=50))
    assert (r.task, r.out_dim, r.y_train.dtype) == ("regression", 1, torch.float32)
    assert b.y_train.dtype == torch.int64 and b.is_2d and not b.is_image and b.extent == 6.0


def test_same_seed_same_split_other_seed_differs():
    a = load_data(DataSpec(name="moons", samples=100, seed=4))
    b = load_data(DataSpec(name="moons", samples=100, seed=4))
    c = load_data(DataSpec(name="moons", samples=100, seed=5))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


def test_points_data_set():
    rows = [[1, 1, 0], [2, 2, 0], [1.5, 1, 0], [2, 1, 0], [-1, -1, 1], [-2, -2, 1],
            [-1.5, -1, 1], [-2, -1, 1], [0.5, 2, 0], [-0.5, -2, 1]]
    b = load_data(DataSpec(name="points", points=rows, train_ratio=0.6, val_ratio=0.0,
                           features=["x1", "x2", "x1*x2"]))
    got = np.concatenate([np.c_[b.points[s], getattr(b, f"y_{s}").numpy()] for s in ("train", "test")])
    assert sorted(map(tuple, got.tolist())) == sorted(map(tuple, np.asarray(rows, float).tolist()))
    assert b.task == "binary" and b.x_train.shape[1] == 3
    np.testing.assert_allclose(b.x_train[:, 2].numpy(), b.points["train"].prod(1), rtol=1e-6)


@pytest.mark.parametrize("rows, text", [
    ([[1, 2], [3, 4]], "data.points[0]: each row must be [x1, x2, label]; received 2 value(s)"),
    ([[1, 2, 0], [3, 4, 0]], "at least two classes"),
    ([[1, 2, -1], [3, 4, 0]], "data.points[0]: the label must be a whole number from 0 to 9"),
    ([[0, 0, 0], [1, 1, 1e9], [0.5, 0.5, 0], [0.2, 0.1, 1e9]], "at most 10 classes); received 1e+09"),
    ([[0, 0, 0], [1, 1, 1.5]], "data.points[1]: the label must be a whole number"),
    ([[0, 0, 0], [1, 1, 10]], "received 10"),
    ([[0, 0, 0], [1e7, 1, 1]], "data.points[1]: x1 and x2 must lie between -1e+06 and 1e+06"),
    ([[0, 0, 0], [float("nan"), 1, 1]], "data.points[1][0]: must be a finite number"),
    ([[0, 0, 0], [1, float("inf"), 1]], "data.points[1][1]: must be a finite number"),
])
def test_bad_points_name_the_row_before_any_array_is_made(rows, text, monkeypatch):
    monkeypatch.setattr(np, "bincount", None)    # labels are checked before anything counts them
    with pytest.raises(SpecError, match="data.points") as e:
        load_data(S.from_dict({"data": {"name": "points", "points": rows}}).data)
    assert text in str(e.value)


def test_smote_balances_the_training_classes():
    rng = np.random.default_rng(0)
    major = rng.normal(-2, 1, (90, 2))
    minor = rng.normal(2, 1, (18, 2))
    rows = np.c_[np.r_[major, minor], np.r_[np.zeros(90), np.ones(18)]].tolist()
    plain = load_data(DataSpec(name="points", points=rows, train_ratio=0.7, val_ratio=0.2))
    smote = load_data(DataSpec(name="points", points=rows, train_ratio=0.7, val_ratio=0.2, resample="smote"))
    c0, c1 = np.bincount(plain.y_train.numpy())
    assert c1 < c0 / 3
    assert np.bincount(smote.y_train.numpy()).tolist() == [c0, c0]
    # synthetic minority samples are new points between minority neighbors, val/test untouched
    assert len(smote.x_train) == 2 * c0 and torch.equal(smote.x_test, plain.x_test)
    new = smote.x_train[len(plain.x_train):].numpy()
    assert (smote.y_train[len(plain.x_train):] == 1).all() and new[:, 0].mean() > 0.5


def test_smote_on_regression_is_an_error():
    with pytest.raises(SpecError, match="smote"):
        load_data(DataSpec(name="reg-plane", samples=50, resample="smote"))


def test_limit_caps_the_sample_count():
    b = load_data(DataSpec(name="digits", limit=120, train_ratio=0.5, val_ratio=0.0))
    assert len(b.x_train) + len(b.x_test) == 120


# --- split sizes, checked before any data is made -------------------------------------------------
@pytest.mark.parametrize("name", ["reg-plane", "spiral"])
@pytest.mark.parametrize("samples, train_ratio, val_ratio", [
    (10, 0.5, 0.2), (37, 0.7, 0.25), (101, 0.33, 0.1), (60, 0.8, 0.0), (999, 0.123, 0.456), (55, 0.9, 0.5)])
def test_predicted_split_sizes_are_what_scikit_learn_makes(name, samples, train_ratio, val_ratio):
    from nnplay.data import split_sizes
    spec = DataSpec(name=name, samples=samples, train_ratio=train_ratio, val_ratio=val_ratio)
    try:
        b = load_data(spec)
    except SpecError:      # a split too small: the predicted sizes must say so
        k = 1 if name == "reg-plane" else 2
        assert min(split_sizes(samples, spec)[i] for i in ((0, 2) if val_ratio == 0 else (0, 1, 2))) < k
        return
    assert split_sizes(samples, spec) == (len(b.x_train), len(b.x_val), len(b.x_test))


@pytest.mark.parametrize("data, text", [
    ({"samples": 10, "train_ratio": 0.01}, "data.samples = 10 with data.train_ratio = 0.01 and "
     "data.val_ratio = 0.2 would split into 0 train, 0 validation, 10 test; each split needs at least 2"),
    ({"samples": 10, "train_ratio": 0.99}, "7 train, 2 validation, 1 test"),
    ({"samples": 10, "val_ratio": 0.01}, "4 train, 1 validation, 5 test"),
    ({"samples": 30, "classes": 10}, "12 train, 3 validation, 15 test; each split needs at least 10 "
     "(one per class)"),
    ({"name": "reg-plane", "samples": 10, "train_ratio": 0.05, "val_ratio": 0}, "0 train, 10 test; each split "
     "needs at least 1: use more samples or change data.train_ratio, data.val_ratio"),
    ({"name": "digits", "limit": 40}, "40 digits (data.limit) with"),
    ({"name": "points", "points": [[0, 0, 0], [1, 1, 1], [2, 2, 0], [3, 3, 1]]}, "data.points (4 rows)"),
])
def test_splits_too_small_are_named_before_data_is_made(data, text, monkeypatch):
    from nnplay.data import digits, toy2d
    monkeypatch.setattr(toy2d, "generate", None)      # nothing is generated or loaded first
    monkeypatch.setattr(digits, "load", None)
    with pytest.raises(SpecError) as e:
        load_data(DataSpec(**data))
    assert text in str(e.value)


def test_smote_with_one_class_in_the_training_split():
    rows = [[i * 0.1, 0.0, 0] for i in range(39)] + [[5.0, 5.0, 1]]
    spec = DataSpec(name="points", points=rows, resample="smote", val_ratio=0.0)
    split = load_data(DataSpec(name="points", points=rows, val_ratio=0.0))
    assert np.bincount(split.y_train.numpy(), minlength=2).min() < 2     # the lone class-1 point
    with pytest.raises(SpecError, match="data.resample = 'smote' needs at least 2 classes with 2 or more "
                                        "training samples each; the training split holds \\(class: samples\\) 0: "):
        load_data(spec)


def test_huge_point_labels_allocate_nothing():
    """data.points = [..., [1, 1, 1e9]] once sized arrays by the label (7.45 GiB in the CLI)."""
    import tracemalloc
    rows = [[0, 0, 0], [1, 1, 1e9], [0.5, 0.5, 0], [0.2, 0.1, 1e9]]
    tracemalloc.start()
    try:
        with pytest.raises(SpecError, match=r"data.points\[1\]: the label must be a whole number from 0 to 9"):
            load_data(S.from_dict({"data": {"name": "points", "points": rows}}).data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak
