"""Training-loop throughput: nnplay's ``Trainer`` against a hand-written PyTorch loop.

Both train the same model (same layers, same initial weights) on the same tensors
with the same torch thread count, in one process, taking turns epoch by epoch for
about ``--block`` seconds a round; the figure that counts is the median over the
rounds of their throughput ratio (noise on a shared CPU is up to 30% from run to
run; engines that take turns see the same load). nnplay runs as users get it:
``Trainer.train_epoch`` with the probes on at their default frequency
(``train.probe_every = 1``). The bar: nnplay >= 0.9x the hand-written loop, on
wall-clock time; ratios of the process's CPU time are reported beside it, since
they hardly move when other jobs share the CPU.

Reference rows, one block each per round, each in its own subprocess since
Keras fixes its backend at import: Keras 3 ``model.fit`` with KERAS_BACKEND=torch
and =jax, and (spiral) one jitted JAX epoch (``lax.scan`` over the batches), the
practical limit for nets this small on a CPU. Every row has the same thread budget
(``--threads``: torch.set_num_threads, and XLA's intra-op pool for the JAX rows).
The compiled row is ``train.compile`` (one spec key): the whole epoch in one call
(train/compiled.py's CompiledEpoch) where it applies, else one call per batch; its
build time is recorded (from Inductor's disk cache after a first run). Issue 14's
bars, also as medians of same-round ratios: compiled >= 0.25x the jitted JAX epoch
(spiral) and >= 1.0x Keras 3 on JAX (digits).

    python benchmarks/train_loop.py [--rounds 9] [--block 1.0] [--threads 1]

Prints a table per set-up and writes benchmarks/results/train_loop.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BAR = 0.9   # nnplay's throughput must be at least this share of the hand-written loop's

# The two set-ups: the TensorFlow Playground's spiral MLP and the digits CNN lesson.
SETUPS = {
    "spiral": {
        "title": "spiral MLP 2-8-8-1 tanh, 500 points, SGD lr 0.03, batch 10",
        "unit": "epochs/s",
        "spec": {"name": "bench-spiral",
                 "data": {"name": "spiral", "samples": 500},   # playground split: 50% train
                 "model": {"hidden": [8, 8], "activation": "tanh", "init": "xavier_uniform"},
                 "train": {"optimizer": "sgd", "lr": 0.03, "batch_size": 10, "probe_every": 1}},
    },
    "digits": {
        "title": "digits CNN (examples/digits_cnn.toml), Adam lr 0.003, batch 32",
        "unit": "samples/s",
        "file": "examples/digits_cnn.toml",
        "overrides": ["train.batch_size=32", "train.probe_every=1"],
    },
}
ENGINES = {   # the nnplay and hand rows run here, taking turns; the others in subprocesses
    "hand": "hand-written PyTorch",
    "nnplay": "nnplay (probes on)",
    "nnplay-noprobe": "nnplay (probes off)",
    "nnplay-compiled": "nnplay, train.compile (probes on)",
    "nnplay-compiled-noprobe": "nnplay, train.compile (probes off)",
    "keras-torch": "Keras 3 fit, torch",
    "keras-jax": "Keras 3 fit, JAX",
    "jax-scan": "JAX jit, lax.scan epoch",
}
WORKERS = ("keras-torch", "keras-jax", "jax-scan")


def load_spec(setup: str, device: str = "cpu"):
    from nnplay.spec import apply_overrides, from_dict, load
    s = SETUPS[setup]
    where = [f"train.device='{device}'", "train.amp=false"]   # float32, like the hand-written loop
    if "file" in s:
        return load(ROOT / s["file"], [*s["overrides"], *where])
    return from_dict(apply_overrides(s["spec"], where))


# --- the hand-written PyTorch loop ---------------------------------------------
def hand_model(setup: str):
    """The set-up's network written out in plain torch.nn (no nnplay code)."""
    from torch import nn
    if setup == "spiral":
        return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, 16, 4, 4)
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 2, 2)
                         nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.25),
                         nn.Linear(64, 10))


class HandLoop:
    """An ordinary PyTorch loop: shuffle (randperm), slice batches, forward, loss,
    zero_grad, backward, step; then a validation pass each epoch."""

    def __init__(self, setup: str, trainer):
        import torch
        from torch.nn import functional as F
        t, d = trainer.spec.train, trainer.data
        self.model = hand_model(setup).to(trainer.device)
        with torch.no_grad():   # start from nnplay's initial weights
            for mine, theirs in zip(self.model.parameters(), trainer.model.parameters(), strict=True):
                assert mine.shape == theirs.shape, (mine.shape, theirs.shape)
                mine.copy_(theirs)
        self.optimizer = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[t.optimizer](
            self.model.parameters(), lr=t.lr)
        self.batch = t.batch_size
        self.x, self.xv = trainer.x["train"], trainer.x["val"]   # on the trainer's device
        self.y, self.yv = trainer.y["train"], trainer.y["val"]
        if d.task == "binary":
            self.y, self.yv = self.y.float(), self.yv.float()
            self.loss = lambda out, y: F.binary_cross_entropy_with_logits(out.squeeze(1), y)
            self.hits = lambda out, y: ((out.squeeze(1) > 0).float() == y).sum()
        else:
            self.loss = F.cross_entropy
            self.hits = lambda out, y: (out.argmax(1) == y).sum()

    def epoch(self) -> dict:
        import torch
        model, opt, x, y, n = self.model, self.optimizer, self.x, self.y, len(self.x)
        model.train()
        perm = torch.randperm(n, device=x.device)
        running = 0.0
        for i in range(0, n, self.batch):
            idx = perm[i:i + self.batch]
            loss = self.loss(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            out = model(self.xv)
            val_loss = self.loss(out, self.yv).item()
            val_acc = self.hits(out, self.yv).item() / len(self.yv)
        return {"train_loss": running / n, "val_loss": val_loss, "val_accuracy": val_acc}


# --- engines: run(epochs) -> {"wall": s, "cpu": s, "val_accuracy": a} -------------
def clock() -> tuple[float, float]:
    """(wall-clock, this process's CPU time): CPU time hardly moves when other jobs share the CPU."""
    return time.perf_counter(), time.process_time()


class Local:
    """An engine in this process: one call of ``epoch_fn`` per epoch."""

    def __init__(self, epoch_fn):
        self.epoch_fn = epoch_fn

    def run(self, epochs: int) -> dict:
        return run_interleaved({"it": self}, epochs)["it"]


def run_interleaved(engines: dict[str, Local], epochs: int) -> dict[str, dict]:
    """``epochs`` epochs of each engine, taking turns epoch by epoch (the order rotates)
    so that every engine sees the same machine load."""
    names = list(engines)
    done = {k: {"wall": 0.0, "cpu": 0.0} for k in names}
    for e in range(epochs):
        for k in names[e % len(names):] + names[:e % len(names)]:
            wall, cpu = clock()
            done[k]["val_accuracy"] = engines[k].epoch_fn()["val_accuracy"]
            wall2, cpu2 = clock()
            done[k]["wall"] += wall2 - wall
            done[k]["cpu"] += cpu2 - cpu
    return done


class Worker:
    """A reference engine in its own process; one line in ("epochs"), one JSON line out."""

    def __init__(self, kind: str, setup: str, data_path: str, threads: int):
        env = dict(os.environ, KERAS_BACKEND="jax" if kind != "keras-torch" else "torch")
        if threads == 1:   # XLA's Eigen ops on one thread, like torch's (and see worker_main)
            env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, "--setup", setup, "--data", data_path,
             "--threads", str(threads)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.info = self._reply()

    def _reply(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("@@"):
                return json.loads(line[2:])
        self.log.seek(0)
        tail = self.log.read().strip().splitlines()[-3:]
        raise RuntimeError(" / ".join(tail) or "worker exited")

    def run(self, epochs: int) -> dict:
        self.proc.stdin.write(f"{epochs}\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def keras_epochs(setup: str, t, x, y, xv, yv, threads: int):
    """Keras 3 model.fit on the same layers, initializers, optimizer and data."""
    import keras
    if keras.backend.backend() == "torch":
        import torch
        torch.set_num_threads(threads)
    keras.utils.set_random_seed(0)
    L = keras.layers
    if setup == "spiral":
        model = keras.Sequential([keras.Input((2,)), L.Dense(8, "tanh"), L.Dense(8, "tanh"), L.Dense(1)])
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        metric = keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)   # on logits
        y, yv = y.astype(np.float32), yv.astype(np.float32)
    else:
        x, xv = x.transpose(0, 2, 3, 1), xv.transpose(0, 2, 3, 1)   # (N, 8, 8, 1): Keras's channels_last
        conv = dict(padding="same", activation="relu", kernel_initializer="he_normal")
        model = keras.Sequential([
            keras.Input((8, 8, 1)), L.Conv2D(16, 3, **conv), L.MaxPooling2D(2),
            L.Conv2D(32, 3, **conv), L.MaxPooling2D(2), L.Flatten(),
            L.Dense(64, "relu", kernel_initializer="he_normal"), L.Dropout(0.25),
            L.Dense(10, kernel_initializer="he_normal")])
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    opt = keras.optimizers.SGD(t["lr"]) if t["optimizer"] == "sgd" else \
        keras.optimizers.Adam(t["lr"], epsilon=1e-8)   # torch's epsilon
    model.compile(optimizer=opt, loss=loss, metrics=[metric])

    def run(epochs: int) -> float:
        h = model.fit(x, y, batch_size=t["batch_size"], epochs=epochs, shuffle=True,
                      validation_data=(xv, yv), verbose=0)
        return h.history["val_accuracy"][-1]
    info = {"keras": keras.__version__}
    if keras.backend.backend() == "jax":
        import jax
        info["jax"] = jax.__version__
    return run, info


def jax_scan_epochs(setup: str, t, x, y, xv, yv, threads: int):
    """One jitted JAX function per epoch: permute, then lax.scan SGD steps over the batches."""
    import jax
    import jax.numpy as jnp
    if setup != "spiral":
        raise RuntimeError("the jitted JAX reference covers the spiral MLP only")
    lr, b = t["lr"], t["batch_size"]
    steps = len(x) // b   # a remainder batch would change the scan's shape: dropped
    key = jax.random.PRNGKey(0)
    params = []
    for n_in, n_out in zip([2, 8, 8], [8, 8, 1]):   # Glorot uniform, zero bias
        key, sub = jax.random.split(key)
        lim = (6 / (n_in + n_out)) ** 0.5
        params.append((jax.random.uniform(sub, (n_in, n_out), minval=-lim, maxval=lim), jnp.zeros(n_out)))

    def forward(p, x):
        for w, c in p[:-1]:
            x = jnp.tanh(x @ w + c)
        return (x @ p[-1][0] + p[-1][1])[:, 0]

    def bce(p, x, y):   # binary cross-entropy on logits, the stable form
        z = forward(p, x)
        return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))

    @jax.jit
    def epoch(p, key, x, y, xv, yv):
        perm = jax.random.permutation(key, len(x))[:steps * b]
        batches = (x[perm].reshape(steps, b, -1), y[perm].reshape(steps, b))

        def step(p, batch):
            loss, g = jax.value_and_grad(bce)(p, *batch)
            return jax.tree.map(lambda w, dw: w - lr * dw, p, g), loss

        p, losses = jax.lax.scan(step, p, batches)
        return p, losses.mean(), bce(p, xv, yv), jnp.mean((forward(p, xv) > 0) == (yv > 0.5))

    arrays = [jnp.asarray(a, jnp.float32) for a in (x, y, xv, yv)]
    state = {"p": params, "key": key}

    def run(epochs: int) -> float:
        for _ in range(epochs):
            state["key"], sub = jax.random.split(state["key"])
            state["p"], _, _, acc = epoch(state["p"], sub, *arrays)
        return float(acc)   # waits for the last epoch
    return run, {"jax": jax.__version__}


def worker_main(kind: str, setup: str, data_path: str, threads: int) -> None:
    # XLA's runtime runs its work on threads of its own (a measured Keras-JAX digits epoch kept
    # three threads busy, at times on both cores): the worker gets ``threads`` cores, no more
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:threads]))
    d = np.load(data_path)
    t = json.loads(str(d["train"]))
    make = jax_scan_epochs if kind == "jax-scan" else keras_epochs
    run, info = make(setup, t, d["x_train"], d["y_train"], d["x_val"], d["y_val"], threads)
    run(2)   # compile / trace
    print("@@" + json.dumps(info), flush=True)
    for line in sys.stdin:
        wall, cpu = clock()
        acc = run(int(line))
        wall2, cpu2 = clock()
        print("@@" + json.dumps({"wall": wall2 - wall, "cpu": cpu2 - cpu, "val_accuracy": acc}), flush=True)


# --- the benchmark -----------------------------------------------------------------
def block_epochs(engine, block_s: float) -> int:
    """Epochs that take about ``block_s`` seconds on this engine (doubling until measurable)."""
    n = 1
    while True:
        s = engine.run(n)["wall"]
        if s >= 0.2 or n >= 1 << 16:
            return max(1, round(n * block_s / s))
        n *= 2


def bench_setup(setup: str, args, versions: dict) -> dict:
    import torch
    from nnplay.data import load_data
    from nnplay.train.loop import Trainer

    spec = load_spec(setup, args.device)
    data = load_data(spec.data)
    nn_trainer = Trainer(spec, data=data)
    hand = HandLoop(setup, nn_trainer)   # copies nnplay's initial weights: same model
    with torch.no_grad():
        nn_trainer.model.eval()
        hand.model.eval()
        torch.testing.assert_close(hand.model(hand.xv), nn_trainer.model(hand.xv))
    quiet = spec.model_copy(update={"train": spec.train.model_copy(update={"probe_every": 0})})
    local = {"hand": Local(hand.epoch), "nnplay": Local(nn_trainer.train_epoch)}
    errors: dict[str, str] = {}
    build_s = None
    if "nnplay-noprobe" in args.engines:
        local["nnplay-noprobe"] = Local(Trainer(quiet, data=data).train_epoch)
    for name, base in (("nnplay-compiled", spec), ("nnplay-compiled-noprobe", quiet)):
        if name not in args.engines:   # train.compile, built before the clock starts
            continue
        compiled = Trainer(base.model_copy(update={"train": base.train.model_copy(update={"compile": True})}),
                           data=data)
        begun = time.perf_counter()
        if compiled.compile_now():
            if name == "nnplay-compiled":
                build_s = time.perf_counter() - begun   # from Inductor's disk cache after the first run
            local[name] = Local(compiled.train_epoch)
        else:
            errors[name] = compiled.compiled.error if compiled.compiled else "not supported"
    workers = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, x_train=data.x_train.numpy(), y_train=data.y_train.numpy(),
                 x_val=data.x_val.numpy(), y_val=data.y_val.numpy(),
                 train=json.dumps(spec.train.model_dump(include={"optimizer", "lr", "batch_size"})))
        for kind in [k for k in WORKERS if k in args.engines and (k != "jax-scan" or setup == "spiral")]:
            try:
                workers[kind] = Worker(kind, setup, path, args.threads)
                versions.update(workers[kind].info)
            except Exception as e:   # a missing reference (keras not installed) leaves its row empty
                errors[kind] = f"{type(e).__name__}: {e}"
        sizes = {k: block_epochs(w, args.block) for k, w in workers.items()}
        sizes.update(dict.fromkeys(local, block_epochs(local["hand"], args.block)))
        run_interleaved(local, 2)   # warm-up
        rounds: dict[str, list[dict]] = {k: [] for k in [*local, *workers]}
        for _ in range(args.rounds):
            done = run_interleaved(local, sizes["hand"])
            for k, w in list(workers.items()):
                try:
                    done[k] = w.run(sizes[k])
                except Exception as e:   # a reference that breaks mid-way is dropped, not fatal
                    errors[k] = f"{type(e).__name__}: {e}"
                    rounds.pop(k)
                    workers.pop(k).close()
            for k, d in done.items():
                rounds[k].append(d)
        for w in workers.values():
            w.close()

    n = len(data.x_train)
    rows = []
    for k, label in ENGINES.items():
        if k not in args.engines or (k == "jax-scan" and setup != "spiral"):
            continue
        row = {"engine": k, "label": label}
        if k in rounds:
            row["epochs_per_round"] = sizes[k]
            for c in ("wall", "cpu"):
                eps = [sizes[k] / d[c] for d in rounds[k]]
                ratios = [a / (sizes["hand"] / h[c]) for a, h in zip(eps, rounds["hand"])]   # same round
                tag = "" if c == "wall" else "_cpu"
                row.update({f"epochs_per_s{tag}": statistics.median(eps),
                            f"samples_per_s{tag}": statistics.median(eps) * n,
                            f"epochs_per_s{tag}_rounds": [round(v, 2) for v in eps],
                            f"ratio_vs_hand{tag}": statistics.median(ratios),
                            f"ratio_vs_hand{tag}_min": min(ratios), f"ratio_vs_hand{tag}_max": max(ratios)})
            row["val_accuracy_last"] = round(rounds[k][-1]["val_accuracy"], 4)
            for ref in ("keras-jax", "jax-scan"):   # the bars of issue 14: against JAX, same round
                for c, tag in (("wall", ""), ("cpu", "_cpu")):
                    if ref in rounds and ref != k:
                        row[f"ratio_vs_{ref}{tag}"] = statistics.median(
                            (sizes[k] / d[c]) / (sizes[ref] / r[c]) for d, r in zip(rounds[k], rounds[ref]))
            if k == "nnplay-compiled":
                row["engine_class"] = type(compiled.compiled).__name__
                row["build_seconds"] = round(build_s, 2)
        else:
            row["error"] = errors.get(k, "not run")
        rows.append(row)
    ratio = next((r.get("ratio_vs_hand") for r in rows if r["engine"] == "nnplay"), None)
    return {"title": SETUPS[setup]["title"], "unit": SETUPS[setup]["unit"],
            "n_train": n, "n_val": len(data.x_val), "batch_size": spec.train.batch_size,
            "steps_per_epoch": nn_trainer.steps_per_epoch, "probe_every": spec.train.probe_every,
            "rows": rows, "nnplay_vs_hand": ratio,
            "passed": None if ratio is None else ratio >= BAR}


def machine() -> dict:
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import torch
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {"cpu": cpu, "gpu": gpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def show(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=172)   # wide enough for one line per row, also when piped
    for name, s in results["setups"].items():
        table = Table(title=f"{s['title']}  ({s['n_train']} training samples, "
                            f"{s['steps_per_epoch']} steps/epoch, {results['threads']} torch thread(s))")
        for col in ("loop", "epochs/s", "samples/s", "x hand (wall clock)", "x hand (CPU time)",
                    "x Keras-JAX", "x JAX jit", "val acc"):
            table.add_column(col, justify="left" if col == "loop" else "right")
        for r in s["rows"]:
            if "error" in r:
                table.add_row(r["label"], "-", "-", r["error"][:60], "-", "-", "-", "-")
                continue
            ratios = [f"{r[f'ratio_vs_hand{t}']:.2f}x ({r[f'ratio_vs_hand{t}_min']:.2f}-"
                      f"{r[f'ratio_vs_hand{t}_max']:.2f})" for t in ("", "_cpu")]
            refs = [f"{r[f'ratio_vs_{ref}']:.2f}x (CPU {r[f'ratio_vs_{ref}_cpu']:.2f}x)"
                    if f"ratio_vs_{ref}" in r else "-" for ref in ("keras-jax", "jax-scan")]
            table.add_row(r["label"], f"{r['epochs_per_s']:,.1f}", f"{r['samples_per_s']:,.0f}",
                          *ratios, *refs, f"{r['val_accuracy_last']:.3f}")
        console.print(table)
        for r in s["rows"]:
            if "build_seconds" in r:
                console.print(f"{name}: the compiled engine is {r['engine_class']}, built in "
                              f"{r['build_seconds']} s (before the clock)")
        if s["nnplay_vs_hand"] is not None:
            verdict = "[green]meets[/]" if s["passed"] else "[red]misses[/]"
            console.print(f"{name}: nnplay / hand-written = {s['nnplay_vs_hand']:.2f}x; "
                          f"{verdict} the {BAR}x bar\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=9, help="interleaved repetitions (medians over them)")
    p.add_argument("--block", type=float, default=1.0, help="about this many seconds per engine per round")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for every torch loop")
    p.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    p.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    p.add_argument("--device", default="cpu", help="cpu or cuda: where both torch loops train")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "train_loop.json"))
    p.add_argument("--worker", choices=["keras-torch", "keras-jax", "jax-scan"], help=argparse.SUPPRESS)
    p.add_argument("--setup", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker_main(args.worker, args.setup, args.data, args.threads)
    if "hand" not in args.engines or "nnplay" not in args.engines:
        p.error("--engines must include hand and nnplay (the ratio the bar is about)")

    import torch
    import nnplay
    torch.set_num_threads(args.threads)
    if args.device != "cpu":
        args.engines = [e for e in args.engines if e not in WORKERS]   # the references are CPU rows
    versions = {"torch": torch.__version__, "numpy": np.__version__,
                "nnplay": getattr(nnplay, "__version__", "dev")}
    results = {"benchmark": "train_loop", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "machine": machine(), "device": args.device, "threads": args.threads, "versions": versions,
               "settings": {"rounds": args.rounds, "block_seconds": args.block, "bar": BAR},
               "method": ("hand and the nnplay rows take turns epoch by epoch in this process; "
                          "each reference runs one block per round in its own subprocess; "
                          "ratio_vs_hand = median over rounds of (engine rate / hand rate, same round); "
                          "rates from wall-clock time, *_cpu from the process's CPU time (steadier "
                          "when other jobs share the CPU); the bar applies to wall clock"),
               "threads_note": (f"torch.set_num_threads({args.threads}) here and in the Keras-torch "
                                f"worker; every worker process is pinned to {args.threads} core(s) "
                                "(sched_setaffinity: XLA's runtime keeps several threads busy), and "
                                "JAX workers get --xla_cpu_multi_thread_eigen=false when --threads 1"),
               "load_average_start": os.getloadavg(), "setups": {}}
    for setup in args.setups:
        results["setups"][setup] = bench_setup(setup, args, versions)
    results["load_average_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    show(results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
