"""nnplay active: the active-learning loop (which samples do we label next?), curves as PNG + JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..i18n import t
from ._app import Overrides, command, guard, open_store, print_json, start

err = Console(stderr=True)


@command
def active(
    spec_file: Annotated[str | None, typer.Argument(help="Spec TOML file (a classifier).")] = None,
    strategy: Annotated[str, typer.Option("--strategy", help="margin, entropy, least or random.")] = "margin",
    budget: Annotated[int, typer.Option("--budget", help="Labels at the end (at most the training split).")] = 200,
    step: Annotated[int, typer.Option("--step", help="Labels asked for at each query.")] = 20,
    initial: Annotated[int | None, typer.Option("--initial", help="Random labels to start from (default: --step).")] = None,
    repeats: Annotated[int, typer.Option("--repeats", help="Repeats from other first labels and seeds (mean and std).")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first labels (repeat r uses seed + r).")] = 0,
    set_: Overrides = None,
    out: Annotated[str | None, typer.Option("--out", help="Folder for the PNG and JSON (default RUNS/active/NAME-STRATEGY).")] = None,
    *, json_out, runs_dir, threads, lang,
) -> None:
    """Active learning: label the pool step by step, by uncertainty (or at random), retrain,
    and record test accuracy; a strategy other than random is compared with random."""
    from .. import active as al
    from .. import spec as specmod
    from ..data import load_data
    from ..runs import atomic_write

    lang = start(lang, threads)
    guard(lambda: al.check_strategy(strategy))
    spec = guard(lambda: specmod.load(spec_file, list(set_ or [])))
    data = guard(lambda: load_data(spec.data))
    first = step if initial is None else initial
    guard(lambda: al.check(data, budget, step, first, repeats, seed))
    strategies = [strategy] + (["random"] if strategy != "random" else [])
    folder = Path(out) if out else open_store(runs_dir).root / "active" / f"{spec.name}-{strategy}"
    err.print(t("cli.active.start", lang, name=spec.name, strategies=", ".join(strategies),
                initial=first, budget=budget, step=step, repeats=repeats, pool=len(data.x_train)))
    curves = guard(lambda: al.learn(spec, strategies, budget, step, first, repeats, seed, data,
                                    lambda s, r, n, acc: err.print("  " + t(
                                        "cli.active.step", lang, strategy=s, repeat=r + 1,
                                        labels=n, accuracy=acc))))
    folder.mkdir(parents=True, exist_ok=True)
    figure = al.plot(curves, folder / "curve.png", t("active.fig.title", lang, name=spec.name), lang)
    summary = {"name": spec.name, "strategy": strategy, "budget": budget, "step": step,
               "initial": first, "repeats": repeats, "seed": seed, "pool": len(data.x_train),
               "curve": curves[strategy].rows(),
               "baselines": {s: {"curve": c.rows()} for s, c in curves.items() if s != strategy},
               "figure": str(figure)}
    path = folder / "active.json"
    summary["json"] = str(path)
    atomic_write(path, json.dumps(summary, indent=2))
    for row in summary["curve"]:
        base = summary["baselines"].get("random", {}).get("curve")
        vs = next(b for b in base if b["labels"] == row["labels"]) if base else None
        err.print(t("cli.active.row", lang, labels=row["labels"], accuracy=row["test_accuracy"],
                    std=row["std"]) + (" | random " + f"{vs['test_accuracy']:.4f} ± {vs['std']:.4f}"
                                       if vs else ""))
    err.print(t("cli.active.saved", lang, path=folder))
    if json_out:
        print_json(summary)
