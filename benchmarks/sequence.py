"""LSTM training throughput: nnplay's ``Trainer`` against a hand-written PyTorch loop.

The set-up is examples/adding_lstm.toml (the adding problem, 50 steps, LSTM 16 units, Adam,
batch 32). Both engines train the same network (nnplay's initial weights copied into a plain
``nn.LSTM`` + ``nn.Linear``) on the same tensors with the same torch thread count, in one
process, taking turns epoch by epoch (the order alternates) so that they see the same load;
the figure that counts is the median over the rounds of their throughput ratio. nnplay runs
as users get it: ``Trainer.train_epoch`` with the probes on at their default frequency
(``train.probe_every = 1``); the hand-written loop validates each epoch too, with
``torch.optim.Adam``'s defaults, and (a second row) with the fused Adam nnplay uses. The bar:
nnplay >= 0.9x the hand-written loop (wall clock; CPU-time ratios beside it).

    python benchmarks/sequence.py [--rounds 9] [--threads 1]

Prints a table and writes benchmarks/results/sequence.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAR = 0.9
SPEC = ROOT / "examples" / "adding_lstm.toml"


class HandLoop:
    """An ordinary PyTorch loop: randperm, slice batches, forward, MSE, zero_grad, backward,
    step; then a validation pass."""

    def __init__(self, trainer, fused: bool = False):
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self, f: int, h: int):
                super().__init__()
                self.lstm, self.out = nn.LSTM(f, h, batch_first=True), nn.Linear(h, 1)

            def forward(self, x):                       # (B, T, F) -> (B,)
                seq, _ = self.lstm(x)
                return self.out(seq[:, -1]).squeeze(1)

        d, t = trainer.data, trainer.spec.train
        self.model = Net(d.input_shape[1], trainer.spec.model.layers[0].units)
        with torch.no_grad():                           # start from nnplay's initial weights
            for mine, theirs in zip(self.model.parameters(), trainer.model.parameters(), strict=True):
                mine.copy_(theirs)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=t.lr, fused=fused or None)
        self.batch = t.batch_size
        self.x, self.y, self.xv, self.yv = d.x_train, d.y_train, d.x_val, d.y_val

    def epoch(self) -> dict:
        # The same plain PyTorch loop as benchmarks/train_loop.py's HandLoop, written out again on
        # purpose: each benchmark's baseline stands alone, for its own model, with no shared code.
        import torch
        from torch.nn import functional as F
        model, opt, n = self.model, self.opt, len(self.x)
        model.train()
        perm = torch.randperm(n)
        running = 0.0
        for i in range(0, n, self.batch):
            idx = perm[i:i + self.batch]
            loss = F.mse_loss(model(self.x[idx]), self.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            val = F.mse_loss(model(self.xv), self.yv).item()
        return {"train_loss": running / n, "val_mse": val}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sequence.json"))
    args = ap.parse_args()

    import torch

    from nnplay import spec
    from nnplay.train import Trainer
    torch.set_num_threads(args.threads)
    trainer = Trainer(spec.load(SPEC, ["train.probe_every=1"]))
    engines = {"hand": HandLoop(trainer).epoch, "hand-fused": HandLoop(trainer, fused=True).epoch,
               "nnplay": trainer.train_epoch}
    for run in engines.values():                        # warm-up epoch each
        run()
    names = list(engines)
    rounds = []
    for r in range(args.rounds):
        spent = {}
        for name in names[r % 3:] + names[:r % 3]:      # the order rotates
            w, c = time.perf_counter(), time.process_time()
            engines[name]()
            spent[name] = (time.perf_counter() - w, time.process_time() - c)
        rounds.append(spent)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[0]:.3f} s" for k, v in spent.items()), flush=True)
    n = len(trainer.data.x_train)
    wall = [s["hand"][0] / s["nnplay"][0] for s in rounds]    # throughput ratio nnplay / hand
    cpu = [s["hand"][1] / s["nnplay"][1] for s in rounds]
    fused = [s["hand-fused"][0] / s["nnplay"][0] for s in rounds]
    res = {
        "benchmark": "sequence", "setup": "examples/adding_lstm.toml (adding problem, T=50, "
                                          "LSTM 16 units, Adam lr 0.01, batch 32)",
        "train_samples": n, "rounds": args.rounds, "threads": args.threads, "bar": BAR,
        "samples_per_s": {k: n / statistics.median(s[k][0] for s in rounds) for k in engines},
        "ratio_wall_median": statistics.median(wall), "ratio_wall_min": min(wall), "ratio_wall_max": max(wall),
        "ratio_cpu_median": statistics.median(cpu),
        "ratio_wall_median_vs_fused_adam": statistics.median(fused),
        "passes": statistics.median(wall) >= BAR,
        "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "torch": torch.__version__, "cores": __import__("os").cpu_count()},
        "note": "a shared 2-core machine: absolute figures move by up to 30% from run to run",
    }
    print(f"\nnnplay / hand-written: {res['ratio_wall_median']:.3f}x wall (min {min(wall):.3f}, max "
          f"{max(wall):.3f}), {res['ratio_cpu_median']:.3f}x CPU time; bar {BAR}x: "
          f"{'pass' if res['passes'] else 'FAIL'}; against the hand loop with fused Adam: "
          f"{res['ratio_wall_median_vs_fused_adam']:.3f}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
