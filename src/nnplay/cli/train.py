"""nnplay train | runs | report."""
from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..i18n import t
from ._app import (Address, Backend, Overrides, SpecFile, check_backend, command, fail, guard, interrupted, load_run,
                   open_store, print_json, start)

err = Console(stderr=True)


def _progress(total: int, lang: str, quiet: bool) -> Progress:
    return Progress(TextColumn(t("cli.train.epoch", lang)), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TextColumn("{task.description}"),
                    TimeElapsedColumn(), console=err, disable=quiet, transient=False)


@command
def train(
    spec_file: SpecFile = None,
    set_: Overrides = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Continue an interrupted run by its id.")] = None,
    from_run: Annotated[str | None, typer.Option("--from", help="Start from this finished run's weights (layers whose name and shape match).")] = None,
    folds: Annotated[int, typer.Option("--folds", help="N-fold cross-validation instead of one run.")] = 0,
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda or auto (overrides train.device).")] = None,
    nproc: Annotated[int, typer.Option("--nproc", help=(
        "Processes that train together (PyTorch DDP: gloo on CPU, NCCL on CUDA), each on its share of "
        "every batch of train.batch_size."))] = 1,
    backend: Backend = "local",
    address: Address = None,
    *, json_out,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    runs_dir, threads, lang,
) -> None:
    """Train a spec into a new run (or --resume one); print final metrics."""
    from .. import spec as specmod
    from ..runs import train_run
    from ..train import DivergenceError

    lang = start(lang, threads)
    check_backend(backend, address)
    if nproc < 1:
        fail(t("cli.bad_nproc", lang, got=nproc))
    if folds and (nproc > 1 or backend != "local"):
        fail(t("dist.not_supported", lang, nproc=nproc, what="--folds"))
    overrides = list(set_ or []) + ([f'train.device="{device}"'] if device else [])
    store = open_store(runs_dir)
    if resume:
        if spec_file or overrides:
            fail("--resume continues a run with its saved spec; do not pass a spec file or --set")
        spec = guard(lambda: store.get(resume).spec)
    else:
        spec = guard(lambda: specmod.load(spec_file, overrides))

    if from_run and (resume or folds or nproc > 1 or backend == "ray"):   # those build their own Trainers
        fail(t("cli.train.from_alone", lang))
    if folds:
        from ..runs import new_trainer
        from ..train.folds import cross_validate
        if folds < 2:
            fail(f"--folds must be 2 or more; received {folds}")
        err.print(t("cli.train.folds", lang, k=folds))
        try:
            res = guard(lambda: cross_validate(spec, folds, None if quiet else lambda i, row: err.print(
                f"  {t('cli.train.fold', lang, i=i, k=folds)}: {_fold_words(row, lang)}"), build=new_trainer))
        except KeyboardInterrupt:
            interrupted(t("cli.train.folds_interrupted", lang))
        err.print(fold_table(res, lang))
        if json_out:
            print_json(res)
        return

    from ..runs import new_trainer
    trainer = None if resume else guard(lambda: new_trainer(spec))
    if trainer is not None and from_run:
        from ..runs import transfer_from
        info = guard(lambda: transfer_from(trainer, store.get(from_run)))
        err.print(t("cli.train.from", lang, run_id=from_run, loaded=", ".join(info["loaded"]),
                    kept=", ".join(info["kept"]) or "-", frozen=", ".join(info["frozen"]) or "-"))
    if trainer is not None and not quiet:
        params = sum(p.numel() for p in trainer.model.parameters())
        err.print(t("cli.train.start", lang, name=spec.name, data=spec.data.name, params=params,
                    device=trainer.device))
    parallel = nproc > 1 or backend == "ray"
    if parallel:   # the processes build their own Trainers; this one told the sizes
        from ..data import load_data
        from ..train.distributed import check
        from ..train.loop import resolve_device
        data = trainer.data if trainer is not None else guard(lambda: load_data(spec.data))
        guard(lambda: check(spec, len(data.x_train), nproc, local=backend == "local"))
        cuda = guard(lambda: resolve_device(spec.train.device)).type == "cuda"
        err.print(t("cli.train.nproc", lang, nproc=nproc, backend=backend, dist="nccl" if cuda else "gloo",
                    batch_size=spec.train.batch_size))
    with _progress(spec.train.epochs, lang, quiet or not sys.stderr.isatty() and json_out) as bar:
        task = bar.add_task("", total=spec.train.epochs)

        def on_epoch(rec: dict) -> None:
            shown = {k: rec[k] for k in ("train_loss", "val_loss", "val_accuracy", "d_loss", "g_loss",
                                         "high_quality") if k in rec}
            bar.update(task, completed=rec["epoch"],
                       description="  ".join(f"{k} {v:.4f}" for k, v in shown.items()))
        started = {"run": resume}
        try:
            if parallel:
                run, summary = guard(lambda: _parallel(spec, store, nproc, resume, backend, address,
                                                       on_epoch, started))
            else:
                run, summary = guard(lambda: train_run(spec, store, on_epoch=on_epoch, resume=resume,
                                                          trainer=trainer))
        except DivergenceError as e:
            fail(f"{t('cli.train.diverged', lang)}: {e}")
        except KeyboardInterrupt:
            runs = store.list()
            fail(t("cli.train.interrupted", lang, run_id=started["run"] or (runs[0]["id"] if runs else "?")))
    keys = ["train_loss", "test_loss", "test_accuracy", "test_accuracy_tta", "test_mse", "test_mae", "test_rmse",
            "test_balanced_accuracy", "rare_class", "test_recall_rare", "d_loss", "g_loss", "d_accuracy",
            "modes_covered", "high_quality", "epochs", "seconds"]
    table = Table(show_header=False, box=None)
    for k in keys:
        if summary.get(k) is not None:
            v = summary[k]
            table.add_row(t(f"metric.{k}", lang), f"{v:.4f}" if isinstance(v, float) else str(v))
    err.print(table)
    for name, scores in summary.get("baselines", {}).items():   # sequences: the same test windows
        err.print(t("cli.train.baseline", lang, name=t(f"baseline.{name}", lang),
                    scores=", ".join(f"{t('metric.' + k, lang)} {v:.4f}" for k, v in scores.items())))
    if (collapse := summary.get("mode_collapse") or {}).get("warning"):   # generative: a GAN's check
        err.print(t("gen.collapse_modes", lang, covered=collapse["modes_covered"], modes=collapse["modes"])
                  if "modes" in collapse else t("gen.collapse_spread", lang, spread=collapse["spread"]))
    err.print(t("cli.train.done", lang, run_id=run.id, seconds=summary["seconds"]))
    if json_out:
        print_json(summary)


def _words(key: str, lang: str, otherwise: str) -> str:
    """The i18n words of ``key`` in ``lang``; ``otherwise`` where there are none."""
    from ..i18n import messages
    return t(key, lang) if key in messages("en") else otherwise


def _metric(key: str, lang: str) -> str:
    """A metric's name in ``lang`` (its ``metric.*`` words; the key itself if it has none)."""
    return _words(f"metric.{key}", lang, key)


def _fold_words(row: dict, lang: str) -> str:
    """One finished fold as words: "validation accuracy 0.8500, validation loss 0.4312, epochs 3"."""
    return ", ".join(f"{_metric(k, lang)} {v:.4f}" if isinstance(v, float) else f"{_metric(k, lang)} {v}"
                     for k, v in row.items() if k != "fold")


def fold_table(res: dict, lang: str) -> Table:
    """Cross-validation as a table: one row per fold, then the mean and standard deviation."""
    table = Table(title=t("cli.train.folds", lang, k=res["folds"]))
    keys = [k for k in res["per_fold"][0] if k != "fold"]
    table.add_column(t("col.fold", lang), justify="right")
    for k in keys:
        table.add_column(_metric(k, lang), justify="right")
    for row in res["per_fold"]:
        table.add_row(str(row["fold"]), *(f"{row[k]:.4f}" if isinstance(row[k], float) else str(row[k])
                                          for k in keys))
    table.add_section()
    table.add_row(t("col.mean_std", lang), *(f"{res['mean']:.4f} ± {res['std']:.4f}" if k == res["metric"]
                                             else "" for k in keys))
    return table


def _parallel(spec, store, nproc: int, resume, backend: str, address, on_epoch, started: dict):
    """Several processes (train/distributed.py) -> (run, summary) as train_run gives them."""
    from ..train import distributed
    if backend == "ray":
        run_id, summary = distributed.train_ray(spec, store.root, nproc, resume, address, on_epoch,
                                                on_run=lambda i: started.update(run=i))
    else:
        run_id, summary = distributed.train_local(spec, store.root, nproc, resume, on_epoch,
                                                  on_run=lambda i: started.update(run=i))
    return store.get(run_id), summary


@command
def runs(*, runs_dir, json_out, lang) -> None:
    """List past runs (newest first)."""
    lang = start(lang)
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
        metric = "" if r["test_metric"] is None else f"{_metric(r['metric_name'], lang)} {r['test_metric']:.4f}"
        table.add_row(r["id"], r["created"], r["name"], r["data"], _status(r["status"], lang),
                      str(r["epochs"] or ""), metric)
    Console(width=200).print(table)


def _status(status: str, lang: str) -> str:
    """A run's status (running, done, diverged, interrupted) in ``lang``; the page shows the same words."""
    return _words(f"web.runs.status.{status}", lang, status)


@command
def report(
    run_id: Annotated[str, typer.Argument(help="The run to report on.")],
    out: Annotated[str | None, typer.Option("--out", help="Folder for the report (default RUN/report).")] = None,
    sample: Annotated[int, typer.Option("--sample", help="Test image whose feature maps are shown (CNNs).")] = 0,
    *, runs_dir, json_out, threads, lang,
) -> None:
    """Write PNG plots and an HTML page for a run."""
    from ..report import write_report

    lang = start(lang, threads)
    run = load_run(runs_dir, run_id)
    page = guard(lambda: write_report(run, out, lang=lang, sample=sample))
    err.print(t("cli.report.done", lang, path=page))
    if json_out:
        print_json({"run_id": run.id, "report": str(page)})
