"""nnplay sweep: a hyper-parameter search (Optuna, local), resumable, one run per trial."""
from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..i18n import t
from ._app import (Address, Backend, Overrides, SpecFile, check_backend, command, fail, guard, open_store,
                   print_json, start)

err = Console(stderr=True, soft_wrap=True)


def _show(params: dict) -> str:
    return " ".join(f"{k}={json.dumps(v)}" for k, v in params.items())


@command
def sweep(
    spec_file: SpecFile = None,
    grid: Annotated[list[str] | None, typer.Option("--grid", help="KEY=[v1, v2, ...] (TOML list), repeatable.")] = None,
    sample: Annotated[list[str] | None, typer.Option("--sample", help=(
        "KEY=loguniform(a,b) | uniform(a,b) | int(a,b) | choice([...]), repeatable."))] = None,
    trials: Annotated[int | None, typer.Option("--trials", help=(
        "Trials in all (a rerun completes the missing ones); a grid alone defaults to its size."))] = None,
    metric: Annotated[str | None, typer.Option("--metric", help=(
        "What to optimize: val_loss (default), val_accuracy, test_loss, ... (accuracies are maximized)."))] = None,
    folds: Annotated[int, typer.Option("--folds", help="Score each trial by K-fold cross-validation (no run).")] = 0,
    set_: Overrides = None,
    name: Annotated[str | None, typer.Option("--name", help="Sweep (study) name; default: the spec's name.")] = None,
    backend: Backend = "local",
    address: Address = None,
    *, json_out, runs_dir, threads, lang,
) -> None:
    """Search spec fields: a grid or distributions (seeded TPE); kept in runs/sweeps/; --backend ray runs the trials on Ray."""
    from .. import spec as specmod
    from .. import sweep as sw

    lang = start(lang, threads)
    check_backend(backend, address)
    store = open_store(runs_dir)
    base = guard(lambda: specmod.load(spec_file, list(set_ or [])))
    plan = guard(lambda: sw.prepare(base, store.root, list(grid or []), list(sample or []), trials,
                                    metric, folds, name))
    if plan.note:
        err.print(t("cli.sweep.no_val", lang, metric=plan.metric))
    err.print(t("cli.sweep.start", lang, name=plan.name, trials=plan.trials,
                sampler="grid" if plan.is_grid else "TPE", metric=plan.metric,
                direction=sw.direction(plan.metric)))

    def on_trial(row: dict) -> None:
        err.print("  " + t("cli.sweep.trial", lang, number=row["number"], params=_show(row["params"]),
                           metric=plan.metric, value=row["value"]) + (f"  ({row['run_id']})" if row["run_id"] else ""))

    try:
        res = guard(lambda: sw.run(plan, store, on_trial, backend, address))
    except KeyboardInterrupt:
        fail(t("cli.sweep.interrupted", lang, name=plan.name))
    plots = guard(lambda: sw.plot(plan))

    table = Table(title=t("cli.sweep.title", lang, name=plan.name, metric=plan.metric,
                          direction=sw.direction(plan.metric)))
    table.add_column(t("col.trial", lang), justify="right")
    for p in plan.params:
        table.add_column(p.key)
    table.add_column(plan.metric, justify="right")
    table.add_column(t("col.id", lang))
    best = (res["best"] or {}).get("number")
    for r in res["trials"]:
        mark = "*" if r["number"] == best else ""
        table.add_row(f"{mark}{r['number']}", *[json.dumps(r["params"].get(p.key)) for p in plan.params],
                      f"{r['value']:.4f}", r["run_id"] or "")
    Console(width=200, stderr=json_out).print(table)
    if res["best"]:
        b = res["best"]
        err.print(t("cli.sweep.best", lang, number=b["number"], metric=plan.metric, value=b["value"],
                    params=_show(b["params"])))
    for what, path in plots.items():
        if path.startswith("skipped"):
            reason = t("cli.sweep.skip_reason", lang) if path == "skipped" else path.removeprefix("skipped: ")
            err.print(t("cli.sweep.skipped", lang, plot=what, reason=reason))
    err.print(t("cli.sweep.plots", lang, path=plan.plot_dir))
    if json_out:
        print_json({**res, "plots": plots})
