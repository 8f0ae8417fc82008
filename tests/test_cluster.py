"""The scale extra is optional: nothing imports Optuna or Ray until a sweep or a Ray backend
asks, a missing one names `pip install nnplay[scale]`, and a wrong --address is an error
in seconds (exit 2), not a hang."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from helpers import cli, free_port, user_error

from nnplay.cluster import check_address, need
from nnplay.spec import SpecError

TINY = ["--set", "data.samples=60", "--set", "train.epochs=2", "--set", "model.hidden=[3]",
        "--set", "train.probe_every=0"]


def test_nothing_imports_optuna_or_ray_until_asked():
    code = ("import sys, nnplay.cli, nnplay.sweep, nnplay.cluster, nnplay.runs, nnplay.train.distributed; "
            "print(sorted({m.partition('.')[0] for m in sys.modules} & {'optuna', 'ray'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("missing", ["optuna", "ray"])
def test_a_missing_extra_names_pip_install_nnplay_scale(monkeypatch, tmp_path, missing):
    monkeypatch.setitem(sys.modules, missing, None)     # `import missing` now fails as if absent
    with pytest.raises(SpecError, match=r"pip install nnplay\[scale\]"):
        need(missing)
    args = ["sweep", *TINY, "--grid", "train.lr=[0.1]", "--runs-dir", str(tmp_path)]
    if missing == "ray":
        args += ["--backend", "ray"]
    user_error(cli(*args), missing, "pip install nnplay[scale]")
    line = user_error(cli(*args, "--lang", "ko"), "pip install nnplay[scale]")
    assert "설치" in line
    # training in one process needs neither
    r = cli("train", *TINY, "--runs-dir", str(tmp_path))
    assert r.exit_code == 0, r.output


def test_an_unreachable_address_is_a_quick_clear_error(tmp_path):
    port = free_port()                                   # nothing listens there
    start = time.monotonic()
    user_error(cli("sweep", *TINY, "--grid", "train.lr=[0.1]", "--backend", "ray", "--address",
                   f"127.0.0.1:{port}", "--runs-dir", str(tmp_path)), f"127.0.0.1:{port}", "--address")
    assert time.monotonic() - start < 30
    with pytest.raises(SpecError, match="host:port"):
        check_address("no-port-here")
    user_error(cli("sweep", *TINY, "--grid", "train.lr=[0.1]", "--backend", "rai"), "local, ray", "rai")
    user_error(cli("sweep", *TINY, "--grid", "train.lr=[0.1]", "--address", "127.0.0.1:1"), "--backend ray")
