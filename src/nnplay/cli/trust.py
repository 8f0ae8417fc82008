"""nnplay attack | uncertainty | explain: question a trained run (DNN을 믿을 수 있을까?).

Each command loads the run's model and data, calls ``nnplay.trust`` and writes its PNG
figures and a JSON summary into ``RUN/trust/``; ``--json`` prints that summary last.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..i18n import t
from ._app import command, fail, guard, load_run, open_store, print_json, start

err = Console(stderr=True)
CURVE = (0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3)   # shares of the input range (L-inf)


def _load(run_id: str, runs_dir: str | None, method: str):
    """(run, trainer) for a finished classifier run; user errors exit 2."""
    from ..runs import load_trained
    from ..trust.base import check_task

    run = load_run(runs_dir, run_id)
    trainer = guard(lambda: load_trained(run))
    guard(lambda: check_task(trainer.data.task, method))
    return run, trainer


def _save(run, name: str, summary: dict, json_out: bool) -> None:
    """Write ``summary`` to RUN/trust/NAME, add that path to it as "json", and print it last with --json."""
    from ..runs import atomic_write
    path = run.path("trust") / name
    path.parent.mkdir(exist_ok=True)
    atomic_write(path, json.dumps(summary, indent=2, default=float))
    summary["json"] = str(path)
    if json_out:
        print_json(summary)


def _tag(x: float) -> str:
    return f"{x:g}".replace(".", "p")


@command
def attack(
    run_id: Annotated[str, typer.Argument(help="The trained run to attack.")],
    method: Annotated[str, typer.Option("--method", help="fgsm, pgd or patch.")] = "fgsm",
    eps: Annotated[float, typer.Option("--eps", help="Perturbation budget (inputs' units).")] = 0.1,
    steps: Annotated[int, typer.Option("--steps", help="PGD steps.")] = 10,
    norm: Annotated[str, typer.Option("--norm", help="linf or l2.")] = "linf",
    target: Annotated[int | None, typer.Option("--target", help="Class to push predictions to (targeted).")] = None,
    curve: Annotated[bool, typer.Option("--curve", help="Accuracy against epsilon (PNG + JSON).")] = False,
    patch_size: Annotated[int | None, typer.Option("--patch-size", help="Patch side in pixels (patch).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random start / patch placement seed.")] = 0,
    *, runs_dir, json_out, threads, lang,
) -> None:
    """Adversarial examples: clean vs adversarial test accuracy, example images, robustness curve."""
    from ..spec import TRAIN_SEED_MAX
    from ..trust import figures
    from ..trust.attacks import attack as run_attack, robustness_curve
    from ..trust.base import check_choice
    from ..trust.patch import patch_attack

    lang = start(lang, threads)
    guard(lambda: check_choice("--method", method, ("fgsm", "pgd", "patch")))
    if not 0 <= seed <= TRAIN_SEED_MAX:      # torch.Generator().manual_seed takes int64
        fail(f"--seed: must be between 0 and {TRAIN_SEED_MAX}; received: {seed}")
    if curve and method == "patch":
        fail("--curve: a robustness curve needs --method fgsm or pgd (a patch has no epsilon)")
    run, tr = _load(run_id, runs_dir, "attack")
    d = tr.data
    x, y = d.x_test, d.y_test
    if method == "patch":
        if target is None:
            fail(f"--target: method 'patch' needs a target class between 0 and {d.num_classes - 1}")
        res = guard(lambda: patch_attack(tr.model, d.x_train, x, y, target, patch_size, d.bounds,
                                         seed=seed))
        stem = f"attack-patch-target{target}"
        fig = figures.patch_examples(x, res, d.class_names, run.path("trust") / f"{stem}.png", lang)
    else:
        kw = dict(method=method, norm=norm, steps=steps, target=target, bounds=d.bounds, seed=seed)
        res = guard(lambda: run_attack(tr.model, x, y, eps=eps, **kw))
        stem = f"attack-{method}-{norm}-eps{_tag(eps)}" + (f"-target{target}" if target is not None else "")
        fig = figures.attack_examples(x, res, d.class_names, run.path("trust") / f"{stem}.png", lang)
    summary = {"run_id": run.id, **res.summary(), "figure": str(fig)}
    if curve and method != "patch":
        width = d.bounds[1] - d.bounds[0]
        grid = sorted({round(c * width, 6) for c in CURVE} | {eps})
        rows = guard(lambda: robustness_curve(tr.model, x, y, grid, **kw))
        cfig = figures.robustness_curve(rows, run.path("trust") / f"curve-{method}-{norm}.png",
                                        f"{method} ({norm})", lang)
        summary.update(curve=rows, curve_figure=str(cfig))
        stem = f"curve-{method}-{norm}"
    err.print(t("trust.attack.result", lang, method=res.method, clean=res.clean_accuracy,
                adv=res.adversarial_accuracy, success=res.success_rate))
    for row in summary.get("curve", []):
        err.print(f"  eps {row['eps']:<8g} {t('trust.fig.accuracy', lang)} {row['accuracy']:.4f}")
    err.print(t("trust.saved", lang, path=run.path("trust")))
    _save(run, f"{stem}.json", summary, json_out)


@command
def uncertainty(
    run_id: Annotated[str, typer.Argument(help="The trained run to question.")],
    method: Annotated[str, typer.Option("--method", help="single, mc-dropout or ensemble.")] = "mc-dropout",
    passes: Annotated[int, typer.Option("--passes", help="MC dropout forward passes.")] = 50,
    members: Annotated[int, typer.Option("--members", help="Ensemble size (this run + new seeds).")] = 5,
    bins: Annotated[int, typer.Option("--bins", help="Confidence bins for ECE.")] = 10,
    *, runs_dir, json_out, threads, lang,
) -> None:
    """Can it say "I am not sure"? ECE, reliability diagram, temperature, OOD entropy AUROC."""
    from ..trust import figures
    from ..trust import uncertainty as U
    from ..trust.base import check_choice

    lang = start(lang, threads)
    guard(lambda: check_choice("--method", method, U.METHODS))
    if not 2 <= bins <= 100:
        fail(f"--bins: must be between 2 and 100; received: {bins}")
    run, tr = _load(run_id, runs_dir, "uncertainty")
    d = tr.data
    models, ids = tr.model, None
    if method == "ensemble":
        from ..runs import load_trained
        store = open_store(runs_dir)
        runs = guard(lambda: U.ensemble_runs(run, members, store, lambda i, s: err.print(
            t("trust.uncertainty.member", lang, i=i + 1, n=members, seed=s))))
        models, ids = [tr.model] + [load_trained(r).model for r in runs[1:]], [r.id for r in runs]
    res = guard(lambda: U.uncertainty(models, d.x_test, d.y_test, method, bounds=d.bounds, passes=passes,
                                      bins=bins, val=(d.x_val, d.y_val)))
    summary = {"run_id": run.id, **res.summary(), **({"members": ids} if ids else {})}
    test, cal, temp = res.test, res.calibration, res.temperature
    outs = res.ood
    folder = run.path("trust")
    summary["figures"] = [
        str(figures.reliability(cal, folder / f"uncertainty-{method}-reliability.png", method, lang)),
        str(figures.entropy_histograms(test.entropy, {k: p.entropy for k, p in outs.items()},
                                       folder / f"uncertainty-{method}-entropy.png", method, lang))]
    err.print(t("trust.uncertainty.result", lang, method=method, ece=cal.ece, temp=temp,
                ece_t=summary["ece_calibrated"], auroc=summary["ood_auroc"]))
    err.print(t("trust.saved", lang, path=folder))
    _save(run, f"uncertainty-{method}.json", summary, json_out)


@command
def explain(
    run_id: Annotated[str, typer.Argument(help="The trained run to explain.")],
    method: Annotated[str, typer.Option("--method", help="occlusion, saliency, integrated-gradients, gradcam or lime.")] = "integrated-gradients",
    index: Annotated[int, typer.Option("--index", help="Which test sample (0-based).")] = 0,
    target: Annotated[int | None, typer.Option("--target", help="Class to explain (default: the predicted one).")] = None,
    out: Annotated[str | None, typer.Option("--out", help="PNG path (default RUN/trust/explain-METHOD-INDEX.png).")] = None,
    *, runs_dir, json_out, threads, lang,
) -> None:
    """Which inputs made the model decide? An attribution map for one test sample."""
    from ..trust import figures
    from ..trust.base import check_choice
    from ..trust.explain import METHODS, explain as run_explain, positive_share, strokes

    lang = start(lang, threads)
    guard(lambda: check_choice("--method", method, METHODS))
    run, tr = _load(run_id, runs_dir, "explain")
    d = tr.data
    n = len(d.x_test)
    if not 0 <= index < n:
        fail(f"--index: must be between 0 and {n - 1} (the test set has {n} samples); received: {index}")
    x = d.x_test[index:index + 1]
    e = guard(lambda: run_explain(tr.model, x, method, target))
    names = d.class_names
    pred, tgt, label = int(e.predicted[0]), int(e.target[0]), int(d.y_test[index])
    path = Path(out) if out else run.path("trust") / f"explain-{method}-{index}.png"
    title = (f"{method}  #{index}: {t('trust.fig.label', lang)} {names[label]}, "
             f"{t('trust.fig.pred', lang)} {names[pred]}, {t('trust.fig.target', lang)} {names[tgt]}")
    figures.attribution(x[0], e.attribution[0], path, title, lang, d.feature_names)
    summary = {"run_id": run.id, "method": method, "index": index, "label": label, "predicted": pred,
               "target": tgt, "out": str(path), "attribution_sum": float(e.attribution.sum())}
    if e.completeness_gap is not None:
        summary["completeness_gap"] = float(e.completeness_gap[0])
    if d.is_image:
        ink = strokes(x, d.bounds)
        summary.update(stroke_share=positive_share(e.attribution, ink), stroke_area=float(ink.float().mean()))
    else:
        summary["attribution"] = dict(zip(d.feature_names, e.attribution[0].tolist())) \
            if len(d.feature_names) == e.attribution[0].numel() else e.attribution[0].flatten().tolist()
    err.print(t("trust.explain.result", lang, method=method, index=index, label=names[label],
                pred=names[pred], path=path))
    _save(run, f"explain-{method}-{index}.json", summary, json_out)
