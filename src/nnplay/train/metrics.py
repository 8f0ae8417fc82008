"""Metrics for imbalanced classes (scikit-learn's): accuracy hides a rare class, these do not.

- recall per class: the share of each class's test samples found;
- balanced accuracy: the mean of those recalls (Brodersen et al. 2010);
- PR-AUC: the area under each class's precision-recall curve (average precision), one class
  against the rest, and its mean over classes; unlike ROC-AUC it drops when a rare class's
  positives are buried among many false alarms (Saito & Rehmsmeier 2015,
  https://doi.org/10.1371/journal.pone.0118432).
"""
from __future__ import annotations

import warnings

import numpy as np


def class_metrics(prob: np.ndarray, y: np.ndarray, num_classes: int, rare: int | None = None) -> dict:
    """prob (N, K) and labels (N,) -> {"test_recall": [per class], "test_balanced_accuracy",
    "test_pr_auc": [per class], "test_pr_auc_mean", and with ``rare``: "rare_class",
    "test_recall_rare", "test_pr_auc_rare"}. A class absent from the test set gets None."""
    from sklearn.metrics import average_precision_score, balanced_accuracy_score, recall_score
    labels = list(range(num_classes))
    pred = prob.argmax(1)
    present = np.isin(labels, y)
    recall = recall_score(y, pred, labels=labels, average=None, zero_division=0)
    ap = [float(average_precision_score(y == c, prob[:, c])) if present[c] else None for c in labels]
    with warnings.catch_warnings():   # "y_pred contains classes not in y_true": a tiny test split
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(balanced_accuracy_score(y, pred))
    s = {"test_recall": [float(r) if ok else None for r, ok in zip(recall, present)],
         "test_balanced_accuracy": balanced,
         "test_pr_auc": ap,
         "test_pr_auc_mean": float(np.mean([a for a in ap if a is not None]))}
    if rare is not None:
        s.update(rare_class=int(rare), test_recall_rare=s["test_recall"][rare], test_pr_auc_rare=ap[rare])
    return s
