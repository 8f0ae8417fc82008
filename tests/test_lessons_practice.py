"""Practice with real data (issue 12): the lessons' claims on fixed seeds, asserted on the mean
of several seeds with margins (a single seed moves with the CPU's code path and thread count)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nnplay import spec
from nnplay.train import Trainer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SEEDS = range(3)


def mean_over_seeds(name: str, key: str, *overrides: str) -> float:
    values = []
    for seed in SEEDS:
        tr = Trainer(spec.load(EXAMPLES / f"{name}.toml", [*overrides, f"train.seed={seed}"]))
        values.append(tr.fit().summary[key])
    return float(np.mean(values))


def test_augmentation_helps_a_small_training_set():
    augmented = mean_over_seeds("augment_small_digits", "test_accuracy")
    plain = mean_over_seeds("augment_small_digits", "test_accuracy", "data.augment=[]")
    assert augmented >= plain + 0.02      # measured 0.930 vs 0.904 (seeds 0-2)


def test_class_weights_and_smote_find_the_rare_class():
    plain = mean_over_seeds("imbalanced_digits", "test_recall_rare")
    weights = mean_over_seeds("imbalanced_digits", "test_recall_rare", "train.class_weights=balanced")
    smote = mean_over_seeds("imbalanced_digits", "test_recall_rare", "data.resample=smote")
    assert plain <= 0.35                  # measured 0.226: most test 8s are missed
    assert weights >= plain + 0.10        # measured 0.387
    assert smote >= plain + 0.10          # measured 0.391


def test_features_learned_on_0_to_4_help_learn_5_to_9_from_few_labels():
    source = Trainer(spec.load(EXAMPLES / "digits_0to4.toml"))
    assert source.fit().summary["test_accuracy"] >= 0.97       # measured 1.0
    state = source.model.state_dict()
    transferred, scratch = [], []
    for seed in range(5):
        tr = Trainer(spec.load(EXAMPLES / "transfer_5to9.toml", [f"train.seed={seed}"]))
        info = tr.start_from(state, "digits_0to4")
        # "everything before the FC layer" is loaded and frozen; the new head starts fresh
        assert info["loaded"] == ["conv1", "conv2"] and info["kept"] == ["dense1", "out"]
        assert info["frozen"] == ["conv1", "conv2"]
        transferred.append(tr.fit().summary["test_accuracy"])
        scratch.append(Trainer(spec.load(EXAMPLES / "transfer_5to9.toml", [f"train.seed={seed}", "model.freeze=[]"]))
                       .fit().summary["test_accuracy"])
    # measured 0.905 vs 0.878 (seeds 0-4): +2.7 points, short of the 5 on 8x8 digits
    # (over 8 labelled sets, benchmarks/transfer_digits.py: +0.4..+2.0 points, best vs best +0.6)
    assert np.mean(transferred) >= np.mean(scratch) + 0.015
