"""The ``nnplay`` command: thin commands that parse, call the library and print.

Each command family lives in its own module, imported below, and registers on ``app``:
train.py (train, runs, report), trust.py (attack, uncertainty, explain), serve.py,
export.py (export, predict), sweep.py, sample.py, active.py.

The rule that keeps the CLI instant (issue 14): a command module imports at module level
only typer, rich, the standard library, ``._app`` and ``..i18n``; torch, numpy, the
Trainer, ``..runs``, ``..report``, ``..server`` and every other heavy library are imported
inside the command's body, where they are used. Then ``nnplay --help``, each command's
``--help`` and ``nnplay runs`` start in a fraction of ``import torch``.
tests/cli/test_cli_imports.py runs every registered command's ``--help`` in a fresh
interpreter and fails when one loads torch; a new family module needs no change there.
"""
from __future__ import annotations

import sys

from . import train, trust, serve, export, sweep, sample, active  # noqa: F401, I001 - each registers its commands, in the help's order
from ..i18n import LANGS
from ._app import INTERRUPTED, LANG, app, fail, print_json


def main() -> None:
    """Entry point: user errors exit with code 2 and one paragraph, no traceback; Ctrl-C exits
    130 (Typer's code) with a line saying so, where the command did not say more itself."""
    from ..spec import UserError
    INTERRUPTED["said"] = False
    try:
        app(standalone_mode=True)
    except UserError as e:
        fail(e.render(LANG["value"]))
    except SystemExit as e:
        if e.code == 130 and not INTERRUPTED["said"]:
            from ..i18n import t
            sys.stderr.write(t("cli.interrupted", _asked_lang()) + "\n")
        raise


def _asked_lang() -> str:
    """The language asked for on the command line, also when Ctrl-C came before --lang was read."""
    args = sys.argv[1:]
    asked = [a.split("=", 1)[1] for a in args if a.startswith("--lang=")] + \
        [b for a, b in zip(args, args[1:]) if a == "--lang"]
    return asked[-1] if asked and asked[-1] in LANGS else LANG["value"]


__all__ = ["app", "main", "print_json", "fail"]
