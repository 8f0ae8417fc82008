"""Attack throughput: nnplay.trust.attacks against Captum's FGSM and PGD, in the same run.

The model is the digits CNN of examples/digits_cnn.toml (trained here first, ~3-10 s).
Both engines attack the same test images with the same settings (L-infinity, eps 0.1;
PGD: 10 steps of 0.02, no random start, so both do exactly the same work), taking
turns call by call for ``--rounds`` rounds so that they see the same machine load; the
figure that counts is the median over rounds of images per second, and their ratio.
An nnplay call returns an ``AttackResult``: the images plus clean and adversarial
predictions (what an accuracy needs), so the reference is Captum's ``perturb`` plus
those two prediction passes; Captum's ``perturb`` alone is shown beside it.
Captum's loss is scaled by 1e9 (sign-invariant) so that its near-zero-gradient cut-off
does not apply and the two must return identical images, which is checked.

A second table gives the latency of one image (what the playground asks for): each
attack and each explanation method on a single test digit, median of ``--repeats``.

    python benchmarks/attacks.py [--rounds 15] [--batch 360] [--threads 1] [--epochs 30]

Prints the tables and writes benchmarks/results/attacks.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parent.parent
EPS, STEPS, STEP_SIZE = 0.1, 10, 0.02


def train(epochs: int):
    from nnplay import spec as specmod
    from nnplay.train import Trainer
    spec = specmod.load(ROOT / "examples" / "digits_cnn.toml", [f"train.epochs={epochs}",
                                                                  "train.probe_every=0"])
    tr = Trainer(spec)
    tr.fit()
    tr.model.eval()
    return tr


def engines(model, bounds):
    """attack name -> engine name -> fn(x, y) -> adversarial images."""
    import warnings

    from captum.robust import FGSM, PGD

    from nnplay.trust.attacks import attack
    warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
    loss = lambda out, y: 1e9 * F.cross_entropy(out, y, reduction="none")
    fgsm, pgd = FGSM(model, loss, *bounds), PGD(model, loss, *bounds)

    def with_predictions(perturb):
        def run(x, y):
            with torch.no_grad():
                clean = model(x).argmax(1)
            xa = perturb(x, y)
            with torch.no_grad():
                adv = model(xa).argmax(1)
            return xa, clean, adv
        return run

    def ours(**kw):
        def run(x, y):
            r = attack(model, x, y, eps=EPS, bounds=bounds, **kw)
            return r.x_adv, r.clean_pred, r.adv_pred
        return run

    cap_fgsm = lambda x, y: fgsm.perturb(x, EPS, y)
    cap_pgd = lambda x, y: pgd.perturb(x, EPS, STEP_SIZE, STEPS, y)
    return {
        "fgsm": {"nnplay": ours(method="fgsm"), "captum": with_predictions(cap_fgsm),
                 "captum perturb only": lambda x, y: (cap_fgsm(x, y),)},
        f"pgd-{STEPS}": {"nnplay": ours(method="pgd", steps=STEPS, step_size=STEP_SIZE, random_start=False),
                         "captum": with_predictions(cap_pgd),
                         "captum perturb only": lambda x, y: (cap_pgd(x, y),)},
    }


def throughput(fns: dict, x, y, rounds: int) -> dict:
    """Images per second for each engine, taking turns (the order rotates)."""
    names = list(fns)
    rates = {k: [] for k in names}
    outs = {k: fns[k](x, y) for k in names}              # warm-up, and the outputs to compare
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            fns[k](x, y)
            rates[k].append(len(x) / (time.perf_counter() - t0))
    same = all(torch.equal(a, b) for a, b in zip(outs["nnplay"], outs["captum"]))
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {"images_per_s": med, "ratio_nnplay_to_captum": med["nnplay"] / med["captum"],
            "rounds": rates, "identical_outputs": same}


def one_image_latency(model, data, repeats: int) -> dict:
    """Milliseconds for one test digit: what a server asks for."""
    from nnplay.trust.attacks import attack
    from nnplay.trust.explain import METHODS, explain
    x, y = data.x_test[:1], data.y_test[:1]
    calls = {"attack fgsm": lambda: attack(model, x, y, eps=EPS, method="fgsm", bounds=data.bounds),
             "attack pgd-10": lambda: attack(model, x, y, eps=EPS, method="pgd", bounds=data.bounds)}
    calls.update({f"explain {m}": (lambda m=m: explain(model, x, m)) for m in METHODS})
    out = {}
    for name, fn in calls.items():
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = statistics.median(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--batch", type=int, default=360, help="images per call (the test set has 360)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    tr = train(args.epochs)
    d = tr.data
    x, y = d.x_test[:args.batch], d.y_test[:args.batch]
    results = {}
    print(f"digits CNN, {len(x)} test images per call, L-inf eps {EPS}, torch threads {args.threads}")
    print(f"{'attack':<10}{'nnplay img/s':>14}{'Captum img/s':>14}{'ratio':>8}  identical"
          f"{'Captum perturb only':>22}")
    for name, fns in engines(tr.model, d.bounds).items():
        res = throughput(fns, x, y, args.rounds)
        results[name] = res
        ips = res["images_per_s"]
        print(f"{name:<10}{ips['nnplay']:>14.0f}{ips['captum']:>14.0f}"
              f"{res['ratio_nnplay_to_captum']:>8.2f}  {str(res['identical_outputs']):<9}"
              f"{ips['captum perturb only']:>22.0f}")
    latency = one_image_latency(tr.model, d, args.repeats)
    print("\none image (ms, median):")
    for name, ms in latency.items():
        print(f"  {name:<32}{ms:8.1f}")

    out = ROOT / "benchmarks" / "results" / "attacks.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "when": dt.datetime.now().isoformat(timespec="seconds"), "machine": platform.platform(),
        "python": platform.python_version(), "torch": torch.__version__, "threads": args.threads,
        "batch": len(x), "eps": EPS, "pgd": {"steps": STEPS, "step_size": STEP_SIZE},
        "clean_test_accuracy": tr.evaluate("test")["accuracy"],
        "throughput": results, "one_image_ms": latency}, indent=2))
    print(f"\nwritten: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
