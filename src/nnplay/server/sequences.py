"""The playground's "Sequences" mode: what a session sends about a series, the adding problem or
a character model. Thin: every number comes from the library (data/series.py's forecasts and
baselines, probes.gates and probes.time_gradients, text.sample); this module only picks the
chosen test sequence and turns results into a frame's header and arrays.
"""
from __future__ import annotations

from typing import get_args

import numpy as np

from .. import probes
from .. import spec as specmod
from ..data.text import Vocabulary
from ..text import sample

KINDS = ("series", "adding", "text")   # data.name of the sequence mode
SAMPLE_EVERY = 1.0                      # seconds between text samples while training runs


def options() -> dict:
    """The spec's vocabularies the Sequences mode offers (added to the hello's ``options``)."""
    return {"sequence_data": list(KINDS), "series": list(get_args(specmod.Series)),
            "recurrent": list(specmod.RECURRENT),
            "corpora": list(get_args(specmod.DataSpec.model_fields["corpus"].annotation))}


def is_sequence(tr) -> bool:
    return tr.spec.data.name in KINDS


def describe(tr) -> dict:
    """The ``ready`` message's extras: the whole series and the test period's truth and baselines
    (series), the test targets (adding) or the vocabulary size and bigram baseline (text)."""
    d, kind = tr.data, tr.spec.data.name
    out: dict = {"kind": kind, "steps": int(d.x_test.shape[1]), "test_size": int(len(d.x_test))}
    if kind == "series":
        f = d.forecasts
        start = f.starts["test"]
        out.update(values=f.values.round(5).tolist(), times=f.times.round(4).tolist(),
                   test_times=f.times[start].round(4).tolist(), horizon=f.horizon, period=f.period,
                   truth=f.targets("test")[:, 0].round(5).tolist(),
                   baselines={name: {"forecast": np.asarray(p)[:, 0].round(5).tolist(),
                                     **{f"test_{k}": v for k, v in f.scores(p).items()}}
                              for name, p in f.baselines.items()})
    elif kind == "adding":
        out["truth"] = d.y_test.numpy().round(5).tolist()
    else:
        from ..text import bigram
        out.update(vocabulary=len(d.vocabulary), baselines={"bigram": {"test_loss": bigram(d)["test_loss"]}})
    return out


def frame(tr, view, slow: bool) -> tuple[dict, dict[str, np.ndarray]]:
    """(header extras, arrays) for one frame: the test forecasts (series, adding), the chosen test
    sequence's gates (``gate:<name>`` (T, H), ``hidden`` (T, H)) and gradient over time
    (``time_grad`` (T,); not for text, whose inputs are ids), and a text sample when ``slow``."""
    d, kind = tr.data, tr.spec.data.name
    i = min(view.sequence, len(d.x_test) - 1)
    head: dict = {"sequence": {"index": i}}
    arrays: dict[str, np.ndarray] = {}
    if kind == "series":
        f = d.forecasts
        pred = f.unscale(np.asarray(tr.predict(d.x_test)).reshape(len(d.x_test), -1))   # (n, h)
        arrays["forecast"] = pred[:, 0]
        head["scores"] = f.scores(pred)                     # test MAE/RMSE in data units
    elif kind == "adding":
        arrays["forecast"] = np.asarray(tr.predict(d.x_test)).reshape(-1)
    x = d.x_test[i]
    if kind != "text":
        arrays["input"] = x.numpy()                          # (T, F)
        arrays["time_grad"] = probes.time_gradients(tr.model, tr.loss_fn, x[None], d.y_test[i:i + 1])
    else:
        head["sequence"]["text"] = Vocabulary(list(d.vocabulary)).decode(x)
    g = probes.gates(tr.model, x)
    if g is not None:
        head["sequence"]["gap"] = g["gap"]
        head["sequence"]["cell"] = g["kind"]
        for name, a in g["gates"].items():
            arrays[f"gate:{name}"] = a
        arrays["hidden"] = g["h"]
    if kind == "text" and slow:
        text = sample(tr.model, Vocabulary(list(d.vocabulary)), tr.spec.data.window, view.sample_length,
                      temperature=view.temperature, seed=tr.epoch)
        head["sample"] = {"text": text, "temperature": view.temperature, "epoch": tr.epoch}
    return head, arrays
