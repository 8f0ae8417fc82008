"""The ``nnplay`` command: thin commands that parse, call the library and print.

Each command family lives in its own module and registers on ``app``:
train.py (train, runs, report), trust.py (attack, uncertainty, explain), serve.py,
export.py (export, predict), sweep.py, sample.py.
"""
from __future__ import annotations

import importlib
import json
import sys

from ._app import LANG, app, fail

for _mod in ("train", "trust", "serve", "export", "sweep", "sample"):
    try:
        importlib.import_module(f"{__name__}.{_mod}")
    except ModuleNotFoundError as e:  # a family not written yet
        if e.name != f"{__name__}.{_mod}":
            raise


def main() -> None:
    """Entry point: user errors exit with code 2 and one paragraph, no traceback."""
    from ..spec import SpecError
    try:
        app(standalone_mode=True)
    except SpecError as e:
        fail(e.render(LANG["value"]))


def print_json(obj: dict) -> None:
    """The last stdout line of ``--json`` commands."""
    sys.stdout.write(json.dumps(obj, default=float) + "\n")


__all__ = ["app", "main", "print_json", "fail"]
