"""The Typer app and what the commands share: their options (--lang, --threads, --runs-dir, --json, the spec
file, --set, ...), written once; opening a command (``start``); loading a run (``load_run``); the JSON line;
the error exit."""
from __future__ import annotations

import inspect
import json
import sys
from typing import Annotated, NoReturn

import typer

from ..i18n import LANGS, default_lang, t
from ..spec import shorten

# rich_markup_mode=None: click's plain help, where a flag (--json, --quiet, --help) shows as a plain
# flag (Typer's rich help writes "<bool>" after it, as if it took a value) and "[scale]" in a help
# text stays text (rich markup would swallow it as a style tag).
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, context_settings={"max_content_width": 100},
                  help="nnplay: a deep-learning playground and lab on PyTorch.")

Lang = Annotated[str, typer.Option("--lang", envvar="NNPLAY_LANG", help="Message language: en or ko (또는 ko: 한국어).")]
RunsDir = Annotated[str | None, typer.Option("--runs-dir", help="Run store folder (default ./runs or $NNPLAY_RUNS).")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print a JSON summary as the last stdout line.")]
Threads = Annotated[int, typer.Option("--threads", envvar="NNPLAY_THREADS", help=(
    "torch CPU threads. 1 (the default, as in the tests and the playground) is fastest for "
    "small networks, and the same spec and seed then give the same numbers everywhere."))]
SpecFile = Annotated[str | None, typer.Argument(help="Spec TOML file (defaults if omitted).")]
Overrides = Annotated[list[str] | None, typer.Option("--set", help="Override: key=value (TOML value), repeatable.")]
Backend = Annotated[str, typer.Option("--backend", help=(
    "Where it runs: local (this process) or ray (a Ray cluster; pip install nnplay[scale])."))]
Address = Annotated[str | None, typer.Option("--address", help=(
    "Ray cluster to join (host:port or ray://host:port); default: start a local Ray and stop it after."))]

# The options many commands share, each with its default, written once: a command names them as keyword-only
# parameters (``*, runs_dir, json_out, threads, lang``) and ``command`` gives them their type and default.
SHARED = {"runs_dir": (RunsDir, None), "json_out": (JsonOut, False), "threads": (Threads, 1), "lang": (Lang, "en")}

LANG = {"value": default_lang()}


def command(fn):
    """Register ``fn`` as an ``nnplay`` command, its parameters named in ``SHARED`` declared as there
    (Typer reads the signature this sets): --runs-dir, --json, --threads and --lang read and default
    alike in every command."""
    sig = inspect.signature(fn, eval_str=True)
    params = [p.replace(annotation=SHARED[p.name][0], default=SHARED[p.name][1]) if p.name in SHARED else p
              for p in sig.parameters.values()]
    fn.__signature__ = sig.replace(parameters=params)
    fn.__annotations__ = {**fn.__annotations__, **{p.name: p.annotation for p in params if p.name in SHARED}}
    return app.command()(fn)


def check_backend(backend: str, address: str | None) -> None:
    """--backend is local or ray; --address goes with ray only."""
    if backend not in ("local", "ray"):
        fail(t("cli.bad_backend", LANG["value"], got=shorten(backend)))
    if address is not None and backend != "ray":
        fail(t("cli.address_needs_ray", LANG["value"]))


def set_lang(lang: str) -> str:
    if lang not in LANGS:
        fail(f"--lang: unknown language {lang!r}; allowed: {', '.join(LANGS)}")
    LANG["value"] = lang
    return lang


def check_threads(threads: int) -> None:
    """``--threads`` is 1 up to this machine's cores (more threads than cores never helps)."""
    import os
    most = os.cpu_count() or 1
    if not 1 <= threads <= most:
        fail(t("cli.threads", LANG["value"], most=most, got=threads))


def set_threads(threads: int) -> None:
    check_threads(threads)
    import torch
    torch.set_num_threads(threads)


def start(lang: str, threads: int | None = None) -> str:
    """Open a command: its message language (``--lang``) and, where it computes, torch's CPU threads
    (``--threads``); a bad value of either exits 2. Returns the language."""
    lang = set_lang(lang)
    if threads is not None:
        set_threads(threads)
    return lang


def print_json(obj: dict) -> None:
    """The last stdout line of ``--json`` commands."""
    sys.stdout.write(json.dumps(obj, default=float) + "\n")


def fail(message: str) -> NoReturn:
    """Print ``error: message`` to stderr as one line and exit with code 2 (a user error)."""
    sys.stderr.write(f"{t('cli.error', LANG['value'])}: {' '.join(message.split())}\n")
    raise SystemExit(2)


INTERRUPTED = {"said": False}


def interrupted(message: str) -> NoReturn:
    """Ctrl-C: print what was kept and how to go on, then exit 130 (the shell's code for SIGINT)."""
    sys.stderr.write(message + "\n")
    INTERRUPTED["said"] = True
    raise SystemExit(130)


def guard(fn):
    """Run ``fn``; user errors (``UserError``) exit 2 with one line;
    so does running out of memory (a spec asking for more than this machine has)."""
    from ..spec import UserError
    try:
        return fn()
    except UserError as e:
        fail(e.render(LANG["value"]))
    except MemoryError:
        fail(t("cli.out_of_memory", LANG["value"]))
    except RuntimeError as e:   # torch.OutOfMemoryError (CUDA); torch is loaded by whatever raised it
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(e, torch.OutOfMemoryError):
            fail(t("cli.out_of_memory", LANG["value"]))
        raise
    except OSError as e:      # a path too long, a file where a folder should be, no permission
        path = e.filename if e.filename is not None else "?"
        fail(t("cli.os_error", LANG["value"], path=shorten(str(path)), reason=e.strerror or e))


def open_store(runs_dir: str | None):
    """The run store at ``--runs-dir`` (or $NNPLAY_RUNS); a folder it cannot use exits 2."""
    import sqlite3

    from ..runs import RunStore
    try:
        return RunStore(runs_dir)
    except (OSError, sqlite3.Error) as e:
        reason = getattr(e, "strerror", None) or e
        fail(t("cli.bad_runs_dir", LANG["value"], path=shorten(str(runs_dir or "$NNPLAY_RUNS")), reason=reason))


def load_run(runs_dir: str | None, run_id: str):
    """The run ``run_id`` of the store at ``--runs-dir``; an unknown id or a store it cannot use exits 2."""
    store = open_store(runs_dir)
    return guard(lambda: store.get(run_id))
