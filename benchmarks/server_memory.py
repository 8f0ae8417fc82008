"""The playground server's memory after sessions come and go (issue 14, "Memory").

Starts a real ``nnplay serve`` on a free 127.0.0.1 port, opens one warm-up session (torch,
the data and the compiled step load once per process), reads the server's resident memory
(VmRSS) once the warm-up has switched to the compiled step, then opens and closes N more sessions, each like a learner's tab: the 2-D preset
(``--networks 1``) or one of K networks of other widths, play for a few seconds with frames
asked for, close. Bar: the resident memory after the N sessions is within 50 MB of where
it was after the warm-up. Each distinct network that gets compiled keeps its generated code
loaded in the process (about 4 MB each, measured: not returned when nnplay drops the step),
so K distinct networks cost about 4K MB once; the same network again costs nothing.

    python benchmarks/server_memory.py [--sessions 25] [--seconds 3] [--networks 1] [--threads 1]

Prints the figures and writes benchmarks/results/server_memory.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

from nnplay.server.protocol import unpack_frame

ROOT = Path(__file__).resolve().parent.parent
BAR_MB = 50.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def session(url: str, model: dict, seconds: float, until_compiled: bool = False) -> dict:
    """One tab: the 2-D preset with ``model`` changed, play, frames for ``seconds``, close;
    the last frame's header. ``until_compiled``: go on (up to 5 minutes) until the compiled
    step trains, so that its build is part of the warm-up."""
    header: dict = {}
    with connect(url, max_size=None, origin=None) as ws:
        spec = json.loads(ws.recv())["presets"]["2d"]            # hello: what the page starts from
        spec["model"].update(model)
        ws.send(json.dumps({"type": "spec", "spec": spec}))
        while json.loads(ws.recv()).get("type") != "ready":
            pass
        ws.send(json.dumps({"type": "play"}))
        ws.send(json.dumps({"type": "frame"}))
        end = time.monotonic() + seconds
        if until_compiled:
            end += 300
        while time.monotonic() < end and not (until_compiled and header.get("engine") == "compiled"):
            m = ws.recv(timeout=30)
            if isinstance(m, bytes):
                header = unpack_frame(m)[0]
                ws.send(json.dumps({"type": "frame"}))
    return header


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=25)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--networks", type=int, default=1, help="distinct networks the sessions cycle through")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "server_memory.json"))
    a = ap.parse_args()
    port, runs = free_port(), Path(tempfile.mkdtemp(prefix="nnplay-mem-"))
    exe = shutil.which("nnplay", path=str(Path(sys.executable).parent)) or "nnplay"
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--threads", str(a.threads)],
                            env={**os.environ, "NNPLAY_RUNS": str(runs)},
                            stdout=subprocess.DEVNULL, stderr=(runs / "stderr").open("w"))
    url = f"ws://127.0.0.1:{port}/ws"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((runs / "stderr").read_text())
                time.sleep(0.1)
        fresh = rss_mb(proc.pid)
        warm = session(url, {}, a.seconds, until_compiled=True)
        time.sleep(1.0)
        start, start_threads = rss_mb(proc.pid), threads(proc.pid)
        rows = []
        for i in range(a.sessions):
            h = session(url, {} if a.networks == 1 else {"hidden": [8 + i % a.networks] * 3}, a.seconds)
            rows.append({"session": i + 1, "engine": h.get("engine"), "epoch": h.get("epoch"),
                         "rss_mb": round(rss_mb(proc.pid), 1), "threads": threads(proc.pid)})
            print(f"session {i + 1:3d}: {rows[-1]}", flush=True)
        time.sleep(2.0)   # the last worker ends; a build still running finishes
        end, end_threads = rss_mb(proc.pid), threads(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(runs, ignore_errors=True)
    res = {"date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
           "python": platform.python_version(), "sessions": a.sessions, "seconds_each": a.seconds, "networks": a.networks,
           "threads": a.threads, "warm_engine": warm.get("engine"),
           "rss_fresh_mb": round(fresh, 1), "rss_after_warmup_mb": round(start, 1), "rss_after_sessions_mb": round(end, 1),
           "growth_mb": round(end - start, 1), "bar_mb": BAR_MB, "passes": end - start <= BAR_MB,
           "server_threads": [start_threads, end_threads], "rows": rows}
    print(json.dumps({k: v for k, v in res.items() if k != "rows"}, indent=1))
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
