"""Per-class recall, balanced accuracy and PR-AUC in the summary, as scikit-learn computes them."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, balanced_accuracy_score, recall_score

from nnplay import spec
from nnplay.data import load_data
from nnplay.train import Trainer
from nnplay.train.metrics import class_metrics

SETS = ['data.name="digits"', "data.rare_class=3", "data.rare_share=0.1", "train.epochs=3",
        'model.layers=[{type="flatten"},{type="dense",units=16}]', "train.probe_every=0"]


def test_summary_metrics_match_scikit_learn():
    tr = Trainer(spec.load(None, SETS))
    s = tr.fit().summary
    prob = tr.predict(tr.data.x_test).numpy()
    y = tr.data.y_test.numpy()
    pred = prob.argmax(1)
    assert s["test_recall"] == pytest.approx(list(recall_score(y, pred, average=None)))
    assert s["test_balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    # PR-AUC: average precision of each class against the rest, and its macro mean
    assert s["test_pr_auc_mean"] == pytest.approx(average_precision_score(np.eye(10)[y], prob, average="macro"))
    assert s["test_pr_auc"][3] == pytest.approx(average_precision_score(y == 3, prob[:, 3]))
    assert s["rare_class"] == 3 and s["test_recall_rare"] == s["test_recall"][3]


def test_rare_class_thins_train_and_val_only():
    full = load_data(spec.load(None, ['data.name="digits"']).data)
    d = load_data(spec.load(None, SETS).data)
    counts = np.bincount(d.y_train.numpy())
    assert counts[3] == int(np.ceil(0.1 * np.bincount(full.y_train.numpy())[3]))
    assert np.array_equal(np.delete(counts, 3), np.delete(np.bincount(full.y_train.numpy()), 3))
    assert np.array_equal(d.y_test.numpy(), full.y_test.numpy())        # the test split keeps its 3s
    assert d.rare_class == 3
    for resample in ("smote", "oversample"):   # both balance the training split only
        r = load_data(spec.load(None, SETS + [f"data.resample={resample}"]).data)
        assert set(np.bincount(r.y_train.numpy())) == {counts.max()}
        assert np.array_equal(r.y_test.numpy(), full.y_test.numpy())
        assert r.rare_class == 3                 # named before resampling


def test_absent_class_recall_is_none():
    prob = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]])
    s = class_metrics(prob, np.array([0, 1]), 3)
    assert s["test_recall"] == [1.0, 1.0, None] and s["test_pr_auc"][2] is None
    assert "rare_class" not in s
