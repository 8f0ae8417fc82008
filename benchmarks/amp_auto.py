"""Mixed precision on CUDA: where does it pay? Checks ``train.amp = "auto"``'s threshold
(nnplay/train/precision.py, AMP_MIN_FLOPS forward FLOPs per batch).

For MLPs and CNNs from tiny (the spiral net) to large, one nnplay ``Trainer.train_epoch`` is
timed with ``train.amp`` true and false, taking turns for ``--rounds`` rounds (the same GPU
load for both); it prints each net's forward FLOPs per batch, the median epoch time both ways,
their ratio, and what "auto" chose. The rule is right where "auto" picks the faster column.

    python benchmarks/amp_auto.py [--rounds 7]        # needs a CUDA device

Writes benchmarks/results/amp_auto.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from nnplay.spec import load
from nnplay.train import Trainer
from nnplay.train.precision import AMP_MIN_FLOPS, forward_flops

CASES = {   # name: --set overrides of the default spec
    "spiral 2-16-16-1, batch 32": ["data.name='spiral'", "model.hidden=[16, 16]"],
    "MLP 2-256x3, batch 256": ["data.name='spiral'", "data.samples=20000", "model.hidden=[256, 256, 256]",
                               "train.batch_size=256"],
    "MLP 2-2048x3, batch 1024": ["data.name='spiral'", "data.samples=20000", "model.hidden=[2048, 2048, 2048]",
                                 "train.batch_size=1024"],
    "MLP 2-2048x3, batch 4096": ["data.name='spiral'", "data.samples=40000", "model.hidden=[2048, 2048, 2048]",
                                 "train.batch_size=4096"],
    "MLP 2-4096x3, batch 2048": ["data.name='spiral'", "data.samples=40000", "model.hidden=[4096, 4096, 4096]",
                                 "train.batch_size=2048"],
    "MLP 2-4096x4, batch 4096": ["data.name='spiral'", "data.samples=40000", "model.hidden=[4096, 4096, 4096, 4096]",
                                 "train.batch_size=4096"],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    assert torch.cuda.is_available(), "needs a CUDA device"
    rows = []
    for name, over in CASES.items():
        base = over + ["train.device='cuda'", "train.probe_every=0", "train.epochs=1000"]
        trainers = {amp: Trainer(load(None, base + [f"train.amp={str(amp).lower()}"])) for amp in (False, True)}
        auto = Trainer(load(None, base + ["train.amp='auto'"]))
        flops = forward_flops(auto.model, auto.x["train"][:auto.spec.train.batch_size])
        for tr in trainers.values():
            tr.train_epoch()   # warm-up
        times = {False: [], True: []}
        for _ in range(args.rounds):
            for amp, tr in trainers.items():
                torch.cuda.synchronize()
                start = time.perf_counter()
                tr.train_epoch()
                torch.cuda.synchronize()
                times[amp].append(time.perf_counter() - start)
        fp32, mixed = statistics.median(times[False]), statistics.median(times[True])
        rows.append({"net": name, "forward_flops": flops, "fp32_s": fp32, "amp_s": mixed,
                     "amp_over_fp32": mixed / fp32, "auto": auto.amp, "auto_right": auto.amp == (mixed < fp32)})
        print(f"{name:28s} {flops:12.3g} FLOPs  fp32 {fp32 * 1e3:8.2f} ms  amp {mixed * 1e3:8.2f} ms  "
              f"amp/fp32 {mixed / fp32:5.2f}  auto={'on' if auto.amp else 'off'}")
    out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "threshold": AMP_MIN_FLOPS,
           "rows": rows}
    path = Path(__file__).parent / "results" / "amp_auto.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
