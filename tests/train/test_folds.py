"""N-fold cross-validation: k rows, honest mean/std, disjoint folds covering the pool."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay.data import load_data
from nnplay.spec import from_dict
from nnplay.train import folds as folds_mod
from nnplay.train.folds import cross_validate


def spec(name="gauss", **train):
    return from_dict({"data": {"name": name, "samples": 150, "noise": 0.2, "classes": 3},
                      "model": {"hidden": [6]},
                      "train": {"epochs": 3, "probe_every": 0, **train}})


@pytest.fixture
def seen(monkeypatch):
    """Record the bundle each fold trains on."""
    bundles = []
    real = folds_mod.Trainer

    class Spy(real):
        def __init__(self, spec, data=None, device=None):
            bundles.append(data)
            super().__init__(spec, data=data, device=device)

    monkeypatch.setattr(folds_mod, "Trainer", Spy)
    return bundles


def test_k_rows_and_consistent_summary(seen):
    calls = []
    res = cross_validate(spec(), 3, on_fold=lambda i, row: calls.append(i))
    assert res["folds"] == 3 and len(res["per_fold"]) == 3 and calls == [1, 2, 3]
    assert res["metric"] == "val_accuracy"
    vals = np.array([r["val_accuracy"] for r in res["per_fold"]])
    assert res["mean"] == pytest.approx(vals.mean()) and res["std"] == pytest.approx(vals.std(ddof=1))
    assert all(0 <= v <= 1 and r["epochs"] == 3 for v, r in zip(vals, res["per_fold"]))


def test_folds_are_disjoint_and_cover_the_pool(seen):
    s = spec()
    cross_validate(s, 4)
    d = load_data(s.data)
    pool = torch.cat([d.x_train, d.x_val])
    vals = [b.x_val for b in seen]
    assert len(seen) == 4
    allval = torch.cat(vals)
    assert len(allval) == len(pool)
    rows = lambda t: sorted(map(tuple, t.tolist()))
    assert rows(allval) == rows(pool)                  # every pool sample is validated exactly once
    for b in seen:
        assert len(b.x_train) + len(b.x_val) == len(pool)
        assert not set(map(tuple, b.x_train.tolist())) & set(map(tuple, b.x_val.tolist()))
        assert torch.equal(b.x_test, d.x_test)          # the test split is never used for folds
        # stratified: each fold's validation classes follow the pool's proportions
        p = torch.bincount(torch.cat([d.y_train, d.y_val]), minlength=3).double() / len(pool)
        assert (torch.bincount(b.y_val, minlength=3) - p * len(b.y_val)).abs().max() <= 1.0


def test_each_fold_row_matches_its_own_model(seen):
    res = cross_validate(spec(), 2)
    assert res["per_fold"][0]["val_loss"] != res["per_fold"][1]["val_loss"]


def test_regression_uses_mse():
    res = cross_validate(spec("reg-plane"), 2)
    assert res["metric"] == "val_mse" and all(r["val_mse"] >= 0 for r in res["per_fold"])
    assert res["mean"] == pytest.approx(np.mean([r["val_mse"] for r in res["per_fold"]]))


def test_fewer_than_two_folds_is_an_error():
    with pytest.raises(ValueError, match="--folds"):
        cross_validate(spec(), 1)
