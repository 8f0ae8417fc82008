"""Tabular CSV data: standardised features, class or regression targets, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay.data import load_data
from nnplay.spec import DataSpec, SpecError


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


@pytest.fixture
def flowers(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(60):
        kind = ["setosa", "versicolor", "virginica"][i % 3]
        rows.append([round(rng.normal(5 + i % 3, 0.3), 3), round(rng.normal(100, 20), 3), kind])
    return write_csv(tmp_path / "flowers.csv", ["length", "weight", "species"], rows), rows


def test_string_target_becomes_classes(flowers):
    path, rows = flowers
    b = load_data(DataSpec(name="csv", path=str(path), target="species", train_ratio=0.75, val_ratio=0.2))
    assert b.task == "multiclass" and b.num_classes == 3
    assert b.class_names == ["setosa", "versicolor", "virginica"]
    assert b.feature_names == ["length", "weight"] and b.points is None
    assert len(b.x_train) + len(b.x_val) + len(b.x_test) == 60


def test_features_standardised_with_train_statistics(flowers):
    path, rows = flowers
    b = load_data(DataSpec(name="csv", path=str(path), target="species", train_ratio=0.75, val_ratio=0.2))
    xtr = b.x_train.double()
    assert torch.allclose(xtr.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(xtr.std(0, unbiased=False), torch.ones(2, dtype=torch.float64), atol=1e-4)
    # one affine map (x - mu_train) / sd_train for every split: sorted scaled values of all
    # splits against sorted raw values lie on one line (the map is monotonic)
    raw = np.array([r[:2] for r in rows], float)
    scaled = torch.cat([b.x_train, b.x_val, b.x_test]).double().numpy()
    for j in range(2):
        slope, icpt = np.polyfit(np.sort(raw[:, j]), np.sort(scaled[:, j]), 1)
        fit = slope * np.sort(raw[:, j]) + icpt
        np.testing.assert_allclose(np.sort(scaled[:, j]), fit, atol=1e-4)
        sd, mu = 1 / slope, -icpt / slope
        train_raw = b.x_train[:, j].double().numpy() * sd + mu
        assert abs(train_raw.std() - sd) < 1e-3 * sd and abs(train_raw.mean() - mu) < 1e-3 * abs(mu)
    assert abs(b.x_test.double().mean(0)).max() > 1e-3   # not standardised with its own statistics


def test_numeric_integer_target_is_classification(tmp_path):
    rows = [[i * 0.1, (i * 7) % 5, i % 2] for i in range(40)]
    p = write_csv(tmp_path / "d.csv", ["a", "b", "label"], rows)
    b = load_data(DataSpec(name="csv", path=str(p), target="label"))
    assert b.task == "binary" and b.class_names == ["0", "1"]


def test_real_target_is_regression(tmp_path):
    rows = [[i, i * 0.5 + 0.123] for i in range(30)]
    p = write_csv(tmp_path / "r.csv", ["x", "y"], rows)
    b = load_data(DataSpec(name="csv", path=str(p), target="y", val_ratio=0.0))
    assert b.task == "regression" and b.out_dim == 1 and b.y_train.dtype == torch.float32
    ys = sorted(torch.cat([b.y_train, b.y_test]).tolist())
    np.testing.assert_allclose(ys, sorted(r[1] for r in rows), rtol=1e-6)


def test_task_regression_forced_on_integer_target(tmp_path):
    p = write_csv(tmp_path / "r.csv", ["x", "y"], [[i, i % 3] for i in range(30)])
    assert load_data(DataSpec(name="csv", path=str(p), target="y", task="regression")).task == "regression"


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(SpecError, match="data.path: file not found") as e:
        load_data(DataSpec(name="csv", path=str(tmp_path / "missing.csv"), target="y"))
    assert "missing.csv" in str(e.value)


def test_missing_target_column_lists_columns(flowers):
    path, _ = flowers
    with pytest.raises(SpecError, match="data.target") as e:
        load_data(DataSpec(name="csv", path=str(path), target="colour"))
    assert "'colour'" in str(e.value) and "length, weight, species" in str(e.value)


def test_non_numeric_feature_column_is_named(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["a", "city", "y"], [[1, "Seoul", 0], [2, "Busan", 1]] * 10)
    with pytest.raises(SpecError, match="column 'city' is not numeric"):
        load_data(DataSpec(name="csv", path=str(p), target="y"))


def test_ragged_row_names_the_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,y\n1,2,0\n3,1\n")
    with pytest.raises(SpecError, match="line 3"):
        load_data(DataSpec(name="csv", path=str(p), target="y"))


def test_string_target_cannot_be_regressed(flowers):
    path, _ = flowers
    with pytest.raises(SpecError, match="not numeric"):
        load_data(DataSpec(name="csv", path=str(path), target="species", task="regression"))
