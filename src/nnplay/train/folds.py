"""N-fold cross-validation: train on N-1 folds of the train+validation pool, validate
on the held-out fold, N times; report the mean and spread of the validation metric.
A time series is never shuffled: its folds are scikit-learn's ``TimeSeriesSplit`` (train on
the windows before each validation block only, ``horizon - 1`` windows left out between,
so that no training target lies inside the validation block).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import torch
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

from ..data import load_data
from ..spec import Spec, SpecError
from .loop import Trainer


def cross_validate(spec: Spec, folds: int, on_fold: Callable[[int, dict], None] | None = None,
                   build: Callable[..., Trainer] | None = None) -> dict:
    """-> {"folds", "metric", "mean", "std", "per_fold": [...]}; folds are stratified for classes.
    ``build(spec, data=...)`` makes each fold's Trainer (runs.new_trainer: with its hooks;
    None: a plain Trainer)."""
    if folds < 2:
        raise ValueError(f"--folds must be >= 2; received {folds}")
    if spec.data.name == "text":   # split by position: no shuffled folds (csv texts have them)
        raise SpecError.say("train.folds_text")
    data = load_data(spec.data)
    if folds > len(data.x_train) + len(data.x_val):
        raise SpecError.say("train.folds_max", most=len(data.x_train) + len(data.x_val), got=folds)
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    classify = data.task != "regression"
    if data.forecasts is not None:
        splitter = TimeSeriesSplit(folds, gap=data.forecasts.horizon - 1)
    else:
        splitter = (StratifiedKFold if classify else KFold)(folds, shuffle=True, random_state=spec.data.seed)
    metric = "val_accuracy" if classify else "val_mse"
    per_fold = []
    for i, (tr, va) in enumerate(splitter.split(np.zeros(len(y)), y.numpy() if classify else None)):
        tr, va = torch.from_numpy(tr), torch.from_numpy(va)
        fold = dataclasses.replace(data, x_train=x[tr], y_train=y[tr], x_val=x[va], y_val=y[va],
                                   points=None, forecasts=None)
        trainer = (build or Trainer)(spec, data=fold)
        result = trainer.fit()
        val = trainer.evaluate("val")
        row = {"fold": i + 1, metric: val.get("accuracy", val.get("mse")), "val_loss": val["loss"],
               "epochs": result.summary["epochs"]}
        per_fold.append(row)
        if on_fold is not None:
            on_fold(i + 1, row)
    values = np.array([r[metric] for r in per_fold])
    return {"folds": folds, "metric": metric, "mean": float(values.mean()),
            "std": float(values.std(ddof=1)), "per_fold": per_fold}
