"""The probes the playground draws: unit_grids, dense_weights, layer_table,
confusion (nnplay.probes), csv.to_points and model.activations, checked by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix
from torch import nn

from nnplay import probes
from nnplay.data import load_data
from nnplay.data.csv import CSVError, load, to_points
from nnplay.model import build_model
from nnplay.spec import SpecError, from_dict


def _twin(spec_dict):
    spec = from_dict(spec_dict)
    data = load_data(spec.data)
    torch.manual_seed(0)
    return build_model(spec.model, data.input_shape, data.out_dim), data


def test_unit_grids_are_each_layers_output_over_the_plane():
    model, data = _twin({"data": {"samples": 60}, "model": {"hidden": [3, 2], "batchnorm": True,
                                                             "activations": ["crelu"]}})
    grids = probes.unit_grids(model, data, resolution=5)
    assert {k: v.shape for k, v in grids.items()} == {"dense1": (6, 5, 5), "dense2": (2, 5, 5)}
    x = data.featurize(probes.plane(data.extent, 5))
    model.eval()
    with torch.no_grad():   # by hand: dense -> bn -> CReLU = [relu(h), relu(-h)], then dense2 -> bn2 -> tanh
        h = model.bn1(model.dense1(x))
        a1 = torch.cat([torch.relu(h), torch.relu(-h)], 1)
        a2 = torch.tanh(model.bn2(model.dense2(a1)))
    np.testing.assert_allclose(grids["dense1"], a1.T.reshape(6, 5, 5).numpy(), atol=1e-6)
    np.testing.assert_allclose(grids["dense2"], a2.T.reshape(2, 5, 5).numpy(), atol=1e-6)
    # row 0 is the top of the plane (x2 high), column 0 the left (x1 low)
    lin, _ = _twin({"data": {"samples": 60}, "model": {"hidden": [1], "activation": "linear"}})
    with torch.no_grad():
        lin.dense1.weight.copy_(torch.tensor([[1.0, 0.0]]))
        lin.dense1.bias.zero_()
    g = probes.unit_grids(lin, data, resolution=3)["dense1"][0]
    np.testing.assert_allclose(g, [[-6, 0, 6]] * 3)


def test_dense_weights_and_layer_table():
    model, data = _twin({"data": {"samples": 60}, "model": {"hidden": [4]}})
    w = probes.dense_weights(model)
    assert list(w) == ["dense1", "out"]
    np.testing.assert_array_equal(w["dense1"][0], model.dense1.weight.detach().numpy())
    np.testing.assert_array_equal(w["out"][1], model.out.bias.detach().numpy())
    cnn = build_model(from_dict({"model": {"layers": [
        {"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "maxpool2d", "kernel": 2},
        {"type": "conv2d", "filters": 6, "kernel": 3, "padding": "valid"}, {"type": "flatten"},
        {"type": "dense", "units": 5}]}}).model, (1, 8, 8), 10)
    table = probes.layer_table(cnn, (1, 8, 8))
    shapes = {r["name"]: r["shape"] for r in table}
    # same padding keeps 8x8; pool 2 halves it; a valid 3x3 conv takes 4x4 to 2x2; 6*2*2 = 24
    assert shapes == {"conv1": [4, 8, 8], "act1": [4, 8, 8], "pool1": [4, 4, 4], "conv2": [6, 2, 2],
                      "act2": [6, 2, 2], "flatten1": [24], "dense1": [5], "act3": [5], "out": [10]}
    params = {r["name"]: r["params"] for r in table}
    assert params["conv1"] == 4 * 9 + 4 and params["conv2"] == 6 * 4 * 9 + 6 and params["out"] == 5 * 10 + 10


def test_confusion_matches_sklearn_and_lists_mistakes():
    model = nn.Sequential()
    model.add_module("out", nn.Linear(2, 3))
    with torch.no_grad():          # logits = x itself padded: class = argmax of [x0, x1, 0]
        model.out.weight.copy_(torch.tensor([[1.0, 0], [0, 1.0], [0, 0]]))
        model.out.bias.zero_()
    x = torch.tensor([[2.0, 0], [0, 2.0], [-1, -1], [3, 1], [0, 5]])
    y = torch.tensor([0, 1, 2, 1, 2])
    cm, pred, wrong = probes.confusion(model, x, y, "multiclass", 3)
    np.testing.assert_array_equal(pred, [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(cm, confusion_matrix(y, pred, labels=[0, 1, 2]))
    np.testing.assert_array_equal(wrong, [3, 4])


def test_to_points_scales_into_the_square():
    pts = to_points(np.array([[0.0, -1], [2, 1], [1, 0]]), np.array([0, 1, 1]), half_width=5.0)
    assert pts == [[-5.0, -5.0, 0], [5.0, 5.0, 1], [0.0, 0.0, 1]]
    flat = to_points(np.array([[3.0, 1], [3, 2]]), np.array([0, 1]))   # a constant column sits at -5.4
    assert [p[0] for p in flat] == [-5.4, -5.4]
    with pytest.raises(CSVError, match="exactly 2 feature columns"):
        to_points(np.zeros((3, 3)), np.zeros(3))


def test_per_layer_activations():
    model, _ = _twin({"data": {"samples": 60}, "model": {"hidden": [3, 3, 3], "activation": "tanh",
                                                          "activations": ["relu", "sigmoid"]}})
    kinds = [type(m).__name__ for n, m in model.named_children() if n.startswith("act")]
    assert kinds == ["ReLU", "Sigmoid", "Tanh"]     # missing entries fall back to model.activation
    with pytest.raises(SpecError, match=r"model.activations has 2 entries .* 1 layers"):
        from_dict({"model": {"hidden": [3], "activations": ["relu", "relu"]}})
    with pytest.raises(SpecError, match="model.activations.0"):
        from_dict({"model": {"activations": ["swish"]}})


def test_a_class_with_two_drawn_points_still_splits():
    """The playground lets a learner add a new class point by point: 2 members must load."""
    pts = [[float(i % 7) - 3, float(i % 5) - 2, i % 2] for i in range(40)] + [[4.0, 4.0, 2], [4.5, 4.0, 2]]
    for seed in range(5):
        data = load_data(from_dict({"data": {"name": "points", "points": pts, "seed": seed}}).data)
        assert data.num_classes == 3
        assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 42


def test_unreadable_csv_is_a_csv_error(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("a,b\n" + "x" * 200_000 + ",1\n")      # a field over csv's size limit
    with pytest.raises(CSVError, match="not a readable UTF-8 CSV"):
        load(path, "b")
    path.write_bytes(b"a,b\n\xff,1\n")
    with pytest.raises(CSVError, match="not a readable UTF-8 CSV"):
        load(path, "b")
