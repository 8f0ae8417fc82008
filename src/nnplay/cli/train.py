"""nnplay train | runs | report."""
from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..i18n import t
from ._app import (JsonOut, Lang, RunsDir, Threads, app, fail, guard, open_store, set_lang,
                   set_threads)

err = Console(stderr=True)


def _progress(total: int, lang: str, quiet: bool) -> Progress:
    return Progress(TextColumn(t("cli.train.epoch", lang)), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TextColumn("{task.description}"),
                    TimeElapsedColumn(), console=err, disable=quiet, transient=False)


@app.command()
def train(
    spec_file: Annotated[str | None, typer.Argument(help="Spec TOML file (defaults if omitted).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: key=value (TOML value), repeatable.")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Continue an interrupted run by its id.")] = None,
    folds: Annotated[int, typer.Option("--folds", help="N-fold cross-validation instead of one run.")] = 0,
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda or auto (overrides train.device).")] = None,
    json_out: JsonOut = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    runs_dir: RunsDir = None,
    threads: Threads = 1,
    lang: Lang = "en",
) -> None:
    """Train a spec into a new run (or --resume one); print final metrics."""
    from .. import spec as specmod
    from ..runs import train_run
    from ..train import DivergenceError
    from . import print_json

    lang = set_lang(lang)
    set_threads(threads)
    overrides = list(set_ or []) + ([f'train.device="{device}"'] if device else [])
    store = open_store(runs_dir)
    if resume:
        if spec_file or overrides:
            fail("--resume continues a run with its saved spec; do not pass a spec file or --set")
        spec = guard(lambda: store.get(resume).spec)
    else:
        spec = guard(lambda: specmod.load(spec_file, overrides))

    if folds:
        from ..train.folds import cross_validate
        if folds < 2:
            fail(f"--folds must be 2 or more; received {folds}")
        err.print(t("cli.train.folds", lang, k=folds))
        res = guard(lambda: cross_validate(spec, folds, lambda i, row: err.print(
            f"  {t('cli.train.fold', lang, i=i, k=folds)}: {row}")))
        err.print(f"{res['metric']}: {res['mean']:.4f} ± {res['std']:.4f}")
        if json_out:
            print_json(res)
        return

    from ..train import Trainer
    trainer = None if resume else guard(lambda: Trainer(spec))
    if trainer is not None and not quiet:
        params = sum(p.numel() for p in trainer.model.parameters())
        err.print(t("cli.train.start", lang, name=spec.name, data=spec.data.name, params=params,
                    device=trainer.device))
    with _progress(spec.train.epochs, lang, quiet or not sys.stderr.isatty() and json_out) as bar:
        task = bar.add_task("", total=spec.train.epochs)

        def on_epoch(rec: dict) -> None:
            shown = {k: rec[k] for k in ("train_loss", "val_loss", "val_accuracy", "d_loss", "g_loss",
                                         "high_quality") if k in rec}
            bar.update(task, completed=rec["epoch"],
                       description="  ".join(f"{k} {v:.4f}" for k, v in shown.items()))
        try:
            run, summary = guard(lambda: train_run(spec, store, on_epoch=on_epoch, resume=resume,
                                                      trainer=trainer))
        except DivergenceError as e:
            fail(f"{t('cli.train.diverged', lang)}: {e}")
        except KeyboardInterrupt:
            runs = store.list()
            fail(t("cli.train.interrupted", lang, run_id=resume or (runs[0]["id"] if runs else "?")))
    keys = ["train_loss", "test_loss", "test_accuracy", "test_mse", "test_mse_pca", "d_loss", "g_loss",
            "d_accuracy", "modes_covered", "high_quality", "epochs", "seconds"]
    summary_rows = {**summary, "test_mse_pca": summary.get("baselines", {}).get("pca", {}).get("test_mse")}
    table = Table(show_header=False, box=None)
    for k in keys:
        if summary_rows.get(k) is not None:
            v = summary_rows[k]
            table.add_row(t(f"metric.{k}", lang), f"{v:.4f}" if isinstance(v, float) else str(v))
    err.print(table)
    if (collapse := summary.get("mode_collapse") or {}).get("warning"):   # generative: a GAN's check
        err.print(t("gen.collapse_modes", lang, covered=collapse["modes_covered"], modes=collapse["modes"])
                  if "modes" in collapse else t("gen.collapse_spread", lang, spread=collapse["spread"]))
    err.print(t("cli.train.done", lang, run_id=run.id, seconds=summary["seconds"]))
    if json_out:
        print_json(summary)


@app.command()
def runs(runs_dir: RunsDir = None, json_out: JsonOut = False, lang: Lang = "en") -> None:
    """List past runs (newest first)."""
    from . import print_json

    lang = set_lang(lang)
    store = open_store(runs_dir)
    rows = store.list()
    if json_out:
        print_json({"runs": rows})
        return
    if not rows:
        Console().print(t("cli.runs.empty", lang, root=store.root))
        return
    table = Table(title=t("cli.runs.title", lang, root=store.root))
    for col in ("id", "created", "name", "data", "status"):
        table.add_column(t(f"col.{col}", lang))
    table.add_column(t("metric.epochs", lang), justify="right")
    table.add_column(t("col.metric", lang), justify="right")
    for r in rows:
        metric = "" if r["test_metric"] is None else f"{r['metric_name']}={r['test_metric']:.4f}"
        table.add_row(r["id"], r["created"], r["name"], r["data"], r["status"],
                      str(r["epochs"] or ""), metric)
    Console(width=200).print(table)


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="The run to report on.")],
    out: Annotated[str | None, typer.Option("--out", help="Folder for the report (default RUN/report).")] = None,
    sample: Annotated[int, typer.Option("--sample", help="Test image whose feature maps are shown (CNNs).")] = 0,
    runs_dir: RunsDir = None,
    json_out: JsonOut = False,
    threads: Threads = 1,
    lang: Lang = "en",
) -> None:
    """Write PNG plots and an HTML page for a run."""
    from ..report import write_report
    from . import print_json

    lang = set_lang(lang)
    set_threads(threads)
    run = guard(lambda: open_store(runs_dir).get(run_id))
    page = guard(lambda: write_report(run, out, lang=lang, sample=sample))
    err.print(t("cli.report.done", lang, path=page))
    if json_out:
        print_json({"run_id": run.id, "report": str(page)})
