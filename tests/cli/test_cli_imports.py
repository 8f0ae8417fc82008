"""The light commands start without the heavy libraries (issue 14, "instant CLI").

``nnplay --help``, every command's ``--help`` and ``nnplay runs`` import no torch; ``nnplay
report`` of a finished run imports torch and matplotlib (it draws the network) but no
library of another command. Each check runs in a fresh interpreter and reads its
``sys.modules``: a command module that imports torch at module level fails here
(the rule is in nnplay/cli/__init__.py's docstring).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import free_port

from nnplay import spec as specmod
from nnplay.cli import app
from nnplay.runs import RunStore, train_run

HEAVY = {"torch", "numpy", "matplotlib", "sklearn", "scipy", "onnx", "onnxruntime", "optuna", "ray",
         "fastapi", "uvicorn", "starlette", "safetensors", "kornia", "captum", "statsmodels"}
OTHER_COMMANDS = {"onnx", "onnxruntime", "optuna", "ray", "fastapi", "uvicorn", "starlette", "captum"}

# runs each argv list through nnplay's entry point in one fresh interpreter and prints the
# top-level packages loaded by then (SystemExit from --help and the end of a command is expected)
PROBE = """
import json, sys
from nnplay.cli import main
for argv in json.loads(sys.argv[1]):
    sys.argv = ["nnplay", *argv]
    try:
        main()
    except SystemExit as e:
        assert e.code in (0, None), (argv, e.code)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def loaded(*argvs: list[str]) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argvs)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_help_of_every_command_imports_nothing_heavy():
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"train", "runs", "report", "serve"} <= set(names)
    assert loaded(["--help"], *([n, "--help"] for n in names)) & HEAVY == set()


def test_runs_lists_a_store_without_torch(tmp_path):
    spec = specmod.load(None, ["data.name=\"xor\"", "data.samples=40", "train.epochs=1"])
    train_run(spec, RunStore(tmp_path))
    mods = loaded(["runs", "--runs-dir", str(tmp_path)], ["runs", "--json", "--runs-dir", str(tmp_path)])
    assert mods & HEAVY == set()


def test_report_loads_only_what_it_draws_with(tmp_path):
    spec = specmod.load(None, ["data.name=\"xor\"", "data.samples=40", "train.epochs=2"])
    run, _ = train_run(spec, RunStore(tmp_path))
    mods = loaded(["report", run.id, "--runs-dir", str(tmp_path)])
    assert {"torch", "matplotlib"} <= mods      # the probe sees what a command loads
    assert mods & OTHER_COMMANDS == set()
    assert (run.dir / "report" / "index.html").is_file()


@pytest.mark.parametrize("module", ["nnplay.runs", "nnplay.spec", "nnplay.cli"])
def test_light_modules_import_without_torch(module):
    out = subprocess.run([sys.executable, "-c", f"import sys, {module}; print('torch' in sys.modules)"],
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_serve_listens_before_torch_loads():
    """``nnplay serve`` answers its page before the training stack loads (server/boot.py): up
    to uvicorn.run, it imports neither torch nor numpy nor fastapi (the real app is built in a
    thread once the server listens)."""
    probe = """
import json, sys
import uvicorn
def stop(app, **kw):   # what the command hands to uvicorn, and what is loaded by then
    print(json.dumps([type(app).__name__, sorted({m.split(".")[0] for m in sys.modules})]))
uvicorn.run = stop
from nnplay.cli import main
sys.argv = ["nnplay", "serve", "--port", sys.argv[1]]
try:
    main()
except SystemExit as e:
    assert e.code in (0, None), e.code
"""
    out = subprocess.run([sys.executable, "-c", probe, str(free_port())], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    kind, mods = json.loads(out.stdout.splitlines()[-1])
    assert kind == "Booting"
    assert set(mods) & {"torch", "numpy", "sklearn", "fastapi", "matplotlib"} == set()
