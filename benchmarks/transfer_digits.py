"""Transfer learning on 8x8 digits: how much do features learned on 0-4 help 5-9 from few labels?
Measures the lesson (examples/digits_0to4.toml, then examples/transfer_5to9.toml --from RUN)
over several labelled sets (data.seed) and training seeds, with the same care for both arms.

1. Both arms, transferred (conv layers loaded and frozen) and from scratch (model.freeze = []),
   on every labelled set x training seed, for each (train.lr, train.epochs) of one grid: the
   gain per grid point, and best grid point against best grid point (no arm tuned alone).
2. Why: a linear probe (scikit-learn's logistic regression) on the same 13 labelled images,
   reading raw pixels, a random network's conv features, or the 0-4 network's conv features
   (the flattened layer the new FC head reads), scored on the same test images.

    python benchmarks/transfer_digits.py [--data-seeds 8] [--train-seeds 2]

Writes benchmarks/results/transfer_digits.json.
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from nnplay.spec import load
from nnplay.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
SOURCE, TARGET = ROOT / "examples/digits_0to4.toml", ROOT / "examples/transfer_5to9.toml"
GRID = {"train.lr": [0.001, 0.003, 0.01], "train.epochs": [60, 150]}
QUIET = ["train.probe_every=0"]


def features(model: torch.nn.Sequential, x: torch.Tensor) -> np.ndarray:
    """The input of the first dense layer: what the FC head reads."""
    model.eval()
    with torch.no_grad():
        for name, layer in model.named_children():
            if name.startswith("dense"):
                break
            x = layer(x)
    return x.flatten(1).numpy()


def probe(tr: Trainer, model: torch.nn.Sequential | None) -> float:
    """Test accuracy of a logistic regression on the training split's features."""
    x, y = tr.x["train"].cpu(), tr.y["train"].cpu().numpy()
    xt, yt = tr.x["test"].cpu(), tr.data.y_test.numpy()
    f, ft = (features(model, x), features(model, xt)) if model is not None else (x.flatten(1).numpy(), xt.flatten(1).numpy())
    return float(LogisticRegression(C=10, max_iter=5000).fit(f, y).score(ft, yt))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-seeds", type=int, default=8)
    ap.add_argument("--train-seeds", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(1)
    source = Trainer(load(SOURCE, QUIET))
    source_acc = source.fit().summary["test_accuracy"]
    state = source.model.state_dict()
    rows = []
    for values in itertools.product(*GRID.values()):
        sets = [f"{k}={v}" for k, v in zip(GRID, values)]
        acc = {"transferred": [], "scratch": []}
        for d, t in itertools.product(range(a.data_seeds), range(a.train_seeds)):
            seeds = [*QUIET, *sets, f"data.seed={d}", f"train.seed={t}"]
            tr = Trainer(load(TARGET, seeds))
            tr.start_from(state, "digits_0to4")
            acc["transferred"].append(tr.fit().summary["test_accuracy"])
            acc["scratch"].append(Trainer(load(TARGET, [*seeds, "model.freeze=[]"])).fit().summary["test_accuracy"])
        row = {"set": sets, **{k: float(np.mean(v)) for k, v in acc.items()}}
        per_set = np.subtract(acc["transferred"], acc["scratch"]).reshape(a.data_seeds, a.train_seeds).mean(1)
        row.update(gain=row["transferred"] - row["scratch"], gain_min=float(per_set.min()), gain_max=float(per_set.max()))
        rows.append(row)
        print(f"{' '.join(sets):32s} transferred {row['transferred']:.3f}  scratch {row['scratch']:.3f}  "
              f"gain {100 * row['gain']:+.1f} points (labelled sets: {100 * row['gain_min']:+.1f}..{100 * row['gain_max']:+.1f})",
              flush=True)
    best = {k: max(rows, key=lambda r: r[k]) for k in ("transferred", "scratch")}
    best_gain = best["transferred"]["transferred"] - best["scratch"]["scratch"]
    print(f"best vs best: transferred {best['transferred']['transferred']:.3f} ({' '.join(best['transferred']['set'])}), "
          f"scratch {best['scratch']['scratch']:.3f} ({' '.join(best['scratch']['set'])}): {100 * best_gain:+.1f} points")
    probes = {"pixels": [], "random conv": [], "0-4 conv": []}
    for d in range(a.data_seeds):
        tr = Trainer(load(TARGET, [*QUIET, f"data.seed={d}", "model.freeze=[]"]))
        probes["pixels"].append(probe(tr, None))
        probes["random conv"].append(probe(tr, tr.model))
        probes["0-4 conv"].append(probe(tr, source.model))
    probes = {k: float(np.mean(v)) for k, v in probes.items()}
    print("linear probe on the 13 labelled images: " + ", ".join(f"{k} {v:.3f}" for k, v in probes.items()))
    out = ROOT / "benchmarks/results/transfer_digits.json"
    out.write_text(json.dumps({"source_test_accuracy": source_acc, "data_seeds": a.data_seeds,
                               "train_seeds": a.train_seeds, "grid": rows, "best_gain": best_gain,
                               "linear_probe": probes}, indent=1) + "\n")


if __name__ == "__main__":
    main()
