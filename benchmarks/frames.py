"""Frames that reach the page while long epochs train (issue 14): `nnplay serve` and a
WebSocket client that behaves like the page (one frame request outstanding: it asks again
as soon as a frame arrives), on set-ups whose epochs take a second or more.

1. 2-D, many samples: spiral, 5,000 points (2,000 training), batch 1, 6x8 tanh (2,000 steps
   an epoch).
2. MNIST-sized images: an IDX set of 20,000 28x28 digits (scikit-learn's 8x8 digits scaled
   up, shifted and noised, written to a temporary --data-dir), a small CNN, batch 64.
3. The TensorFlow Playground's set-up (250 points, batch 10: hundreds of epochs a second),
   where frames between epochs were enough already: it must keep its pace.

For each: frames/s reaching the client and how many of them were made between batches,
the longest wait between two frames, the training pace (steps/s) with the page watching,
and the same spec's pace in `Trainer.train_epoch` alone (no server, no frames), so the cost
of the frames shows. Before frames went out between batches a frame could only follow an
epoch: at most `epochs/s` frames a second (the "between epochs only" column).
Bar: >= 30 frames/s on every set-up while training runs.

    python benchmarks/frames.py [--seconds 8] [--threads 1]

Prints a table and writes benchmarks/results/frames.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BAR_FPS = 30.0
SPIRAL = {"data": {"name": "spiral", "samples": 5000}, "model": {"hidden": [8] * 6, "activation": "tanh"},
          "train": {"optimizer": "sgd", "lr": 0.01, "batch_size": 1}}
IMAGES = {"model": {"activation": "relu", "layers": [
              {"type": "conv2d", "filters": 8, "kernel": 3}, {"type": "maxpool2d", "kernel": 2},
              {"type": "conv2d", "filters": 16, "kernel": 3}, {"type": "maxpool2d", "kernel": 2},
              {"type": "flatten"}, {"type": "dense", "units": 64}]},
          "train": {"optimizer": "adam", "lr": 0.003, "batch_size": 64}}
TF_SETUP = {"data": {"name": "spiral", "noise": 0.0, "samples": 500, "train_ratio": 0.5, "val_ratio": 0.0,
                     "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]},
            "model": {"hidden": [8] * 6, "activation": "tanh"},
            "train": {"optimizer": "sgd", "lr": 0.03, "batch_size": 10}}


def write_idx(folder: Path, n_train: int = 20000, n_test: int = 2000, seed: int = 0) -> None:
    """MNIST's file format and size: scikit-learn's digits scaled 8x8 -> 24x24, placed at a
    random offset in 28x28, with pixel noise."""
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train", n_train), ("t10k", n_test)):
        pick = rng.integers(0, len(d.images), n)
        big = np.kron(d.images[pick] / 16.0, np.ones((3, 3)))                  # (n, 24, 24)
        img = np.zeros((n, 28, 28))
        for i, (dy, dx) in enumerate(rng.integers(0, 5, (n, 2))):
            img[i, dy:dy + 24, dx:dx + 24] = big[i]
        img = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
        pixels = (img * 255).astype(np.uint8)
        labels = d.target[pick].astype(np.uint8)
        (folder / f"{name}-images-idx3-ubyte").write_bytes(
            b"\0\0\x08\x03" + np.array([n, 28, 28], ">i4").tobytes() + pixels.tobytes())
        (folder / f"{name}-labels-idx1-ubyte").write_bytes(
            b"\0\0\x08\x01" + np.array([n], ">i4").tobytes() + labels.tobytes())


def serve(threads: int, runs: str, data_dir: str) -> tuple[subprocess.Popen, int]:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = shutil.which("nnplay", path=str(Path(sys.executable).parent)) or "nnplay"
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--threads", str(threads), "--data-dir", data_dir],
                            env={**os.environ, "NNPLAY_RUNS": runs}, stdout=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=1).read()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("nnplay serve did not start")


def watch(port: int, spec: dict, seconds: float, warmup: float = 1.0) -> dict:
    """Play ``spec`` for warmup + seconds as the page does; the window's frames."""
    from websockets.sync.client import connect

    from nnplay.server.protocol import unpack_frame

    with connect(f"ws://127.0.0.1:{port}/ws", origin=f"http://127.0.0.1:{port}", max_size=None) as ws:
        def until(kind: str):
            while True:
                m = ws.recv()
                if isinstance(m, bytes):
                    if kind == "frame":
                        return unpack_frame(m)[0]
                    continue
                msg = json.loads(m)
                if msg.get("type") == "error":
                    raise SystemExit(f"server error: {msg}")
                if msg.get("type") == kind:
                    return msg
        until("hello")
        ws.send(json.dumps({"type": "spec", "spec": spec}))
        ready = until("ready")
        ws.send(json.dumps({"type": "frame"}))
        until("frame")
        ws.send(json.dumps({"type": "play"}))
        ws.send(json.dumps({"type": "frame"}))
        t_start = time.perf_counter()
        seen = []
        while time.perf_counter() - t_start < warmup + seconds:
            h = until("frame")
            now = time.perf_counter()
            ws.send(json.dumps({"type": "frame"}))
            if now - t_start >= warmup:
                seen.append((now, h["epoch"], h.get("step", 0), h.get("steps", 1)))
        ws.send(json.dumps({"type": "pause"}))
    (t0, e0, s0, n), (t1, e1, s1, _) = seen[0], seen[-1]
    span = t1 - t0
    gaps = np.diff([s[0] for s in seen])
    return {"train_samples": ready["info"]["sizes"]["train"], "steps_per_epoch": n,
            "frames_per_s": (len(seen) - 1) / span, "between_batches": sum(1 for s in seen if s[2]) / len(seen),
            "longest_gap_s": float(gaps.max()) if len(gaps) else None,
            "steps_per_s": ((e1 * n + s1) - (e0 * n + s0)) / span,
            "epochs_per_s": ((e1 * n + s1) - (e0 * n + s0)) / n / span, "seconds": span}


def alone(spec: dict, seconds: float, threads: int) -> float:
    """Steps/s of ``Trainer.train_epoch`` alone on ``spec`` (probes off), for ``seconds``."""
    import torch

    from nnplay.spec import from_dict
    from nnplay.train import Trainer
    from nnplay.train.loop import Cancelled
    torch.set_num_threads(threads)
    tr = Trainer(from_dict(spec))
    steps = [0]

    def count(step: int, loss) -> None:   # the hook's own cost is part of the pace measured
        steps[0] += 1
    tr.between_batches = count
    tr.cancel = threading.Event()
    threading.Timer(seconds, tr.cancel.set).start()
    t0 = time.perf_counter()
    try:
        while True:
            tr.train_epoch(probe=False)
    except Cancelled:
        pass
    return steps[0] / (time.perf_counter() - t0)


def frame_cost(spec: dict, idx_sets: dict[str, str], runs: str, n: int = 50) -> float:
    """Milliseconds the session takes to make and pack one frame between batches (in this
    process, the session's own code: what each frame takes from training)."""
    import torch

    from nnplay.runs import RunStore
    from nnplay.server import Limits
    from nnplay.server.protocol import FrameRequest, SpecMsg
    from nnplay.server.session import Session
    from nnplay.train.compiled import TRACING
    torch.set_num_threads(1)
    got = []
    s = Session(got.append, Limits(), RunStore(runs), Path(runs), idx_sets)
    s.post(SpecMsg(type="spec", spec=spec))
    s.post(FrameRequest(type="frame"))
    while not any(isinstance(m, bytes) for m in got):
        time.sleep(0.05)
    time.sleep(0.2)   # the worker sent its frame and waits for messages: time frames from here
    try:
        with TRACING.eager():
            s._send_frame(1, 0.0)
            t0 = time.perf_counter()
            for _ in range(n):
                s._send_frame(1, 0.0)
            return (time.perf_counter() - t0) / n * 1000
    finally:
        s.close(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each measuring window")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nnplay-frames-"))
    write_idx(tmp / "data" / "digits28")
    proc, port = serve(args.threads, str(tmp / "runs"), str(tmp / "data"))
    images = {**IMAGES, "data": {"name": "idx", "path": str((tmp / "data" / "digits28").resolve()), "limit": 20000}}
    cases = {"2-D spiral, 2,000 points, batch 1": SPIRAL, "MNIST-sized images (20,000 28x28), CNN": images,
             "TF Playground set-up (short epochs)": TF_SETUP}
    rows = {}
    try:
        for name, spec in cases.items():
            rows[name] = watch(port, spec, args.seconds)
    finally:
        proc.terminate()
        proc.wait(10)
    idx_sets = {"digits28": str((tmp / "data" / "digits28").resolve())}
    for name, spec in cases.items():
        rows[name]["alone_steps_per_s"] = alone(spec, min(args.seconds, 5.0), args.threads)
        rows[name]["frame_ms"] = frame_cost(spec, idx_sets, str(tmp / "runs"))
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'set-up':40} {'frames/s':>8} {'mid-epoch':>9} {'max gap':>8} {'frame':>7} {'steps/s':>8} "
          f"{'alone':>8} {'epochs/s':>8} {'between epochs only':>20}")
    for name, r in rows.items():
        print(f"{name:40} {r['frames_per_s']:8.1f} {r['between_batches']:9.0%} {r['longest_gap_s']:7.3f}s "
              f"{r['frame_ms']:5.1f}ms {r['steps_per_s']:8.0f} {r['alone_steps_per_s']:8.0f} "
              f"{r['epochs_per_s']:8.2f} {min(60.0, r['epochs_per_s']):16.1f} f/s")
    ok = all(r["frames_per_s"] >= BAR_FPS for r in rows.values())
    print(f"bar: >= {BAR_FPS} frames/s on every set-up while training runs: {'met' if ok else 'NOT met'}")
    out = ROOT / "benchmarks" / "results" / "frames.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": dt.datetime.now().isoformat(timespec="seconds"),
                               "machine": platform.platform(), "cpus": os.cpu_count(), "threads": args.threads,
                               "bar_frames_per_s": BAR_FPS, "met": ok, "setups": rows}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
