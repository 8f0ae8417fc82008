"""Tabular CSV data: standardized features, class or regression targets, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay.data import load_data
from nnplay.spec import DataSpec, UserError


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


def test_features_standardized_with_train_statistics(flowers):
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
    assert abs(b.x_test.double().mean(0)).max() > 1e-3   # not standardized with its own statistics


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
    with pytest.raises(UserError, match="data.path: file not found") as e:
        load_data(DataSpec(name="csv", path=str(tmp_path / "missing.csv"), target="y"))
    assert "missing.csv" in str(e.value)


def test_missing_target_column_lists_columns(flowers):
    path, _ = flowers
    with pytest.raises(UserError, match="data.target") as e:
        load_data(DataSpec(name="csv", path=str(path), target="color"))
    assert "'color'" in str(e.value) and "length, weight, species" in str(e.value)


def test_non_numeric_feature_column_is_named(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["a", "city", "y"], [[1, "Seoul", 0], [2, "Busan", 1]] * 10)
    with pytest.raises(UserError, match="column 'city' is not numeric"):
        load_data(DataSpec(name="csv", path=str(p), target="y"))


def test_ragged_row_names_the_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,y\n1,2,0\n3,1\n")
    with pytest.raises(UserError, match="line 3"):
        load_data(DataSpec(name="csv", path=str(p), target="y"))


def test_string_target_cannot_be_regressed(flowers):
    path, _ = flowers
    with pytest.raises(UserError, match="not numeric"):
        load_data(DataSpec(name="csv", path=str(path), target="species", task="regression"))


# --- values that once crashed later stages: named with their line and column ---------------------
@pytest.mark.parametrize("cell", ["nan", "inf", "-inf", "1e39"])
def test_non_finite_feature_names_column_and_line(tmp_path, cell):
    rows = [[1, 2, 0], [3, 4, 1]] * 10
    rows[5] = [1, cell, 1]
    p = write_csv(tmp_path / "d.csv", ["a", "b", "y"], rows)
    with pytest.raises(UserError) as e:
        load_data(DataSpec(name="csv", path=str(p), target="y"))
    assert f"column 'b', line 7: '{cell}' is not a finite number" in str(e.value)


def test_non_finite_regression_target_names_the_line(tmp_path):
    rows = [[i, i * 0.5 + 0.1] for i in range(30)]
    rows[3][1] = "inf"
    p = write_csv(tmp_path / "r.csv", ["x", "y"], rows)
    with pytest.raises(UserError, match="target 'y', line 5: 'inf' is not a finite number"):
        load_data(DataSpec(name="csv", path=str(p), target="y", task="regression"))


@pytest.mark.parametrize("task", ["classification", "auto"])
def test_more_than_ten_classes_is_an_error(tmp_path, task):
    rows = [[i, f"c{i % 12}"] for i in range(48)]
    p = write_csv(tmp_path / "d.csv", ["x", "y"], rows)
    with pytest.raises(UserError, match="target 'y' has 12 distinct values; a class target has at most 10"):
        load_data(DataSpec(name="csv", path=str(p), target="y", task=task))


def test_float_or_huge_labels_forced_to_classification(tmp_path):
    p = write_csv(tmp_path / "f.csv", ["x", "y"], [[i, i * 0.37] for i in range(40)])
    with pytest.raises(UserError, match="40 distinct values.*data.task = 'regression'"):
        load_data(DataSpec(name="csv", path=str(p), target="y", task="classification"))
    huge = write_csv(tmp_path / "h.csv", ["x", "y"], [[i, [0, 1e9][i % 2]] for i in range(40)])
    b = load_data(DataSpec(name="csv", path=str(huge), target="y", task="classification"))
    assert b.num_classes == 2 and b.class_names == ["0", "1000000000.0"]   # remapped, not sized by 1e9


def test_integer_target_with_many_values_is_regression_in_auto(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["x", "y"], [[i, i % 15] for i in range(45)])
    assert load_data(DataSpec(name="csv", path=str(p), target="y")).task == "regression"


@pytest.mark.parametrize("text", ["", "a,y\n", "a,y\n,\n \n"])
def test_empty_csv(tmp_path, text):
    p = tmp_path / "e.csv"
    p.write_text(text)
    with pytest.raises(UserError, match="needs a header row and at least one data row"):
        load_data(DataSpec(name="csv", path=str(p), target="y"))


def test_byte_order_mark_and_non_utf8(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbfx,y\n" + b"".join(b"%d,%d\n" % (i, i % 2) for i in range(20)))
    assert load_data(DataSpec(name="csv", path=str(p), target="x", task="regression")).task == "regression"
    bad = tmp_path / "latin.csv"
    bad.write_bytes("x,y\n\xe9,1\n".encode("latin-1"))
    with pytest.raises(UserError, match="not a readable UTF-8 CSV"):
        load_data(DataSpec(name="csv", path=str(bad), target="y"))


def test_a_text_cell_names_its_line(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 0], [2, 1], ["two", 0]] * 5)
    with pytest.raises(UserError, match="column 'a' is not numeric .*line 4: 'two'"):
        load_data(DataSpec(name="csv", path=str(p), target="y"))


def test_data_section_is_points_for_two_features_with_classes_else_a_table(tmp_path):
    """The upload policy lives in the library: drawable points when they fit the plane's cap."""
    from nnplay.data.csv import data_section
    two = tmp_path / "two.csv"
    two.write_text("a,b,y\n" + "".join(f"{i},{i * i},{i % 2}\n" for i in range(6)))
    data, rows, task, classes = data_section(two, "y", max_points=100)
    assert data["name"] == "points" and len(data["points"]) == rows == 6 and classes == ["0", "1"]
    assert {p[2] for p in data["points"]} == {0.0, 1.0}
    assert data_section(two, "y", max_points=5)[0] == {"name": "csv", "path": str(two), "target": "y"}
    three = tmp_path / "three.csv"
    three.write_text("a,b,c,y\n" + "".join(f"{i},{i * i},{-i},{i % 2}\n" for i in range(6)))
    assert data_section(three, "y", max_points=100)[0]["name"] == "csv"
