"""How soon nnplay answers (issue 14, "instant CLI" and "the compiled step ready almost at
once"), each figure against ``python -c "import torch"`` measured in the same run.

1. ``nnplay --help`` and ``nnplay runs`` (a store of 3 runs). Bar: ``nnplay runs`` under
   half of ``import torch``.
2. ``nnplay train examples/xor_mlp.toml --set train.epochs=1`` (the whole command: spec,
   data, network, one epoch, the run's files). Bar: beyond ``import torch``, under 1 s.
   Two more references show where that time goes: ``import torch`` and building one
   ``torch.optim`` optimizer (its ``add_param_group`` imports ``torch._dynamo``, in any
   program), then also ``import sklearn.model_selection`` (nnplay's splits; scikit-learn
   imports scipy.stats and pandas).
3. ``nnplay serve``: seconds from start to its first page (GET /), and to /api/info (torch
   and the sessions loaded). Bar: the first page within 3 s.
4. The compiled step (train/compiled.py) on the TensorFlow Playground's set-up
   (benchmarks/playground.py), in fresh processes: the first build with an empty cache,
   then a second process that finds it in the on-disk cache. Bar: under 5 s warm.

    python benchmarks/startup.py [--repeat 5] [--skip-compile]

Each process figure is the median of ``--repeat`` runs. Prints a table and writes
benchmarks/results/startup.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
NNPLAY = shutil.which("nnplay", path=str(Path(PY).parent)) or "nnplay"
XOR = str(ROOT / "examples" / "xor_mlp.toml")
OPTIM = "import torch; torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"

# The compiled step on the TF Playground's set-up, timed in a fresh process (stdout: JSON).
BUILD = """
import json, time
import torch
torch.set_num_threads(1)
from nnplay import spec as specmod
from nnplay.train import Trainer
tr = Trainer(specmod.from_dict({"data": {"name": "spiral", "noise": 0.0, "samples": 500,
    "train_ratio": 0.5, "val_ratio": 0.0,
    "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]},
    "model": {"hidden": [8] * 6, "activation": "tanh"},
    "train": {"optimizer": "sgd", "lr": 0.03, "batch_size": 10, "compile": True}}))
t = time.perf_counter()
ok = tr.compile_now()
took = time.perf_counter() - t
from torch._dynamo.utils import counters
print(json.dumps({"seconds": took, "ok": ok, "cache": {k: v for k, v in counters["inductor"].items()
                                                       if k.startswith("fxgraph_cache")}}))
"""


def wall(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})})
    return time.perf_counter() - t


def median(fn, n: int) -> float:
    return statistics.median(fn() for _ in range(n))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_times(runs: Path) -> tuple[float, float]:
    """(seconds to the first page, seconds to /api/info) of a fresh ``nnplay serve``."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([NNPLAY, "serve", "--port", str(port), "--runs-dir", str(runs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = info = None
    try:
        while time.perf_counter() - t0 < 300:
            try:
                if first is None:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                    first = time.perf_counter() - t0
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=120).read()
                info = time.perf_counter() - t0
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("nnplay serve exited")
                time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait(10)
    return first, info


def build(cache: Path) -> dict:
    out = subprocess.run([PY, "-c", BUILD], check=True, capture_output=True, text=True,
                         env={**os.environ, "NNPLAY_CACHE": str(cache)})
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-compile", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "startup.json"))
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nnplay-startup-"))
    env = {"NNPLAY_RUNS": str(tmp / "runs"), "NNPLAY_THREADS": "1"}
    try:
        for _ in range(3):
            wall([NNPLAY, "train", XOR, "-q", "--set", "train.epochs=2"], env)
        n = a.repeat
        torch_s = median(lambda: wall([PY, "-c", "import torch"]), n)
        optim_s = median(lambda: wall([PY, "-c", OPTIM]), n)
        sklearn_s = median(lambda: wall([PY, "-c", "import sklearn.model_selection; " + OPTIM]), n)
        help_s = median(lambda: wall([NNPLAY, "--help"], env), n)
        runs_s = median(lambda: wall([NNPLAY, "runs"], env), n)
        train_s = median(lambda: wall([NNPLAY, "train", XOR, "-q", "--set", "train.epochs=1"], env), n)
        serve = [serve_times(tmp / "runs") for _ in range(n)]
        first_s = statistics.median(s[0] for s in serve)
        info_s = statistics.median(s[1] for s in serve)
        res = {"date": dt.date.today().isoformat(),
               "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
               "load_average": os.getloadavg(), "python": platform.python_version(), "repeat": n,
               "import_torch_s": torch_s, "help_s": help_s, "runs_s": runs_s,
               "runs_over_torch": runs_s / torch_s, "train_1_epoch_s": train_s,
               "train_beyond_torch_s": train_s - torch_s, "torch_and_optimizer_s": optim_s,
               "torch_optimizer_and_sklearn_s": sklearn_s,
               "train_beyond_torch_optimizer_sklearn_s": train_s - sklearn_s, "serve_first_page_s": first_s,
               "serve_api_info_s": info_s}
        if not a.skip_compile:
            cache = tmp / "cache"
            res["compile_first"] = build(cache)
            res["compile_warm"] = build(cache)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [("python -c 'import torch'", torch_s, "-"),
            ("nnplay --help", help_s, "-"),
            ("nnplay runs", runs_s, f"{res['runs_over_torch']:.2f}x torch (bar < 0.5)"),
            ("import torch + an optimizer", optim_s, f"{optim_s - torch_s:.2f} s beyond torch (torch._dynamo)"),
            ("... + import sklearn", sklearn_s, f"{sklearn_s - optim_s:.2f} s more"),
            ("nnplay train, 1 epoch", train_s, f"{res['train_beyond_torch_s']:.2f} s beyond torch (bar < 1); "
                                               f"{res['train_beyond_torch_optimizer_sklearn_s']:.2f} s beyond both"),
            ("nnplay serve: first page", first_s, "bar < 3 s"),
            ("nnplay serve: /api/info", info_s, "torch and sessions loaded")]
    if not a.skip_compile:
        rows += [("compiled step, empty cache", res["compile_first"]["seconds"], str(res["compile_first"]["cache"])),
                 ("compiled step, warm cache", res["compile_warm"]["seconds"], f"{res['compile_warm']['cache']} (bar < 5 s)")]
    for name, s, note in rows:
        print(f"{name:<30} {s:7.2f} s   {note}")
    print(f"load average {res['load_average']}")
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
