"""Text classification speed: fastText's bag of character n-grams against an LSTM, same data.

The spec is examples/text_reviews.toml (embedding + LSTM) on a generated CSV of Korean and
English reviews (tests/helpers.write_reviews); the bag is the run's fastText baseline as
nnplay.text.fasttext builds it (sparse rows, plain SGD). The two take turns epoch by epoch
for ``--rounds`` rounds, so that both see the same machine load; the figure that counts is
the median over rounds of training samples per second, and their ratio. Test accuracy of
each after the rounds is printed beside it.

    python benchmarks/text_classify.py [--rows 3000] [--rounds 7] [--threads 1]

Prints the table and writes benchmarks/results/text_classify.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from helpers import write_reviews

    from nnplay import spec as specmod
    from nnplay.text import fasttext_trainer
    from nnplay.train import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        path = write_reviews(Path(tmp) / "reviews.csv", n=args.rows)
        spec = specmod.load(ROOT / "examples" / "text_reviews.toml", [f'data.path="{path}"', "train.probe_every=0"])
        lstm = Trainer(spec)
        bag = fasttext_trainer(lstm)
        n = len(lstm.data.x_train)
        speeds: dict[str, list[float]] = {"lstm": [], "fasttext": []}
        for _ in range(args.rounds):
            for name, tr in (("lstm", lstm), ("fasttext", bag)):
                t0 = time.perf_counter()
                tr.train_epoch(probe=False)
                speeds[name].append(n / (time.perf_counter() - t0))
        acc = {name: tr.evaluate("test")["accuracy"] for name, tr in (("lstm", lstm), ("fasttext", bag))}
    med = {k: statistics.median(v) for k, v in speeds.items()}
    rows = {k: {"samples_per_s": round(med[k], 1), "test_accuracy": acc[k]} for k in med}
    ratio = med["fasttext"] / med["lstm"]
    per_round = [f / r for f, r in zip(speeds["fasttext"], speeds["lstm"])]
    print(f"{'model':<10} {'samples/s':>10} {'test acc':>9}")
    for k, r in rows.items():
        print(f"{k:<10} {r['samples_per_s']:>10.0f} {r['test_accuracy']:>9.3f}")
    print(f"fastText / LSTM: {ratio:.2f}x (rounds {min(per_round):.2f}-{max(per_round):.2f}; {args.rows} rows, {n} training, {args.rounds} rounds, "
          f"{args.threads} thread(s))")
    out = {"date": dt.date.today().isoformat(), "machine": platform.processor() or platform.machine(),
           "torch": torch.__version__, "threads": args.threads, "rows": args.rows, "train_samples": n,
           "rounds": args.rounds, "models": rows, "ratio": round(ratio, 2),
           "ratio_range": [round(min(per_round), 2), round(max(per_round), 2)]}
    (ROOT / "benchmarks" / "results" / "text_classify.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
