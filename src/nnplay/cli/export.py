"""nnplay export | predict."""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..i18n import t
from ._app import command, fail, guard, load_run, open_store, print_json, start


@command
def export(
    run_id: Annotated[str, typer.Argument(help="The run to export.")],
    format_: Annotated[str, typer.Option("--format", help="Export format: onnx.")] = "onnx",
    out: Annotated[str | None, typer.Option("--out", help="Output file (default runs/<id>/model.onnx).")] = None,
    *, json_out, runs_dir, threads, lang,
) -> None:
    """Export a finished run's network to ONNX; checks ONNX Runtime against PyTorch on the test set."""
    from ..export import FORMATS, export_onnx

    lang = start(lang, threads)
    if format_ not in FORMATS:
        fail(t("cli.export.bad_format", lang, got=repr(format_), allowed=", ".join(FORMATS)))
    run = load_run(runs_dir, run_id)
    res = guard(lambda: export_onnx(run, out or run.path("model.onnx")))
    sys.stderr.write(t("cli.export.done", lang, run_id=run.id, path=res["path"], exporter=res["exporter"],
                       opset=res["opset"], seconds=res["seconds"], inputs=res["inputs"],
                       diff=res["max_abs_diff"]) + "\n")
    if json_out:
        print_json(res)


@command
def predict(
    model: Annotated[str, typer.Argument(help="A run id, or a .onnx file written by nnplay export.")],
    input_: Annotated[str, typer.Argument(metavar="INPUT", help=(
        "A .csv (header row: the training columns, or x1,x2 for 2-D sets), a .npy array of raw "
        "inputs, or a folder of images (.png, .jpg)."))],
    out: Annotated[str | None, typer.Option("--out", help="Write the predictions to this CSV file.")] = None,
    *, json_out, runs_dir, threads, lang,
) -> None:
    """Predict with a run or an exported .onnx file: class and probabilities, or the value."""
    from ..export import Predictor

    lang = start(lang, threads)
    store = None if model.lower().endswith(".onnx") else open_store(runs_dir)
    pred = guard(lambda: Predictor.load(model, store))
    labels, raw = guard(lambda: pred.read(input_))
    rows = pred.rows(labels, pred.predict(raw))
    if out:
        guard(lambda: _write_csv(Path(out), rows, pred))
        sys.stderr.write(t("cli.predict.wrote", lang, n=len(rows), path=out) + "\n")
    if json_out:
        print_json({"task": pred.task, "n": len(rows), "predictions": rows})
    elif not out:
        for r in rows:
            if "value" in r:
                values = r["value"] if isinstance(r["value"], list) else [r["value"]]
                sys.stdout.write(f"{r['input']}\t" + " ".join(f"{v:.6g}" for v in values) + "\n")
            else:
                sys.stdout.write(f"{r['input']}\t{r['class']}\t{r['probs'][r['class']]:.4f}\n")


def _write_csv(path: Path, rows: list[dict], pred) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if pred.task == "regression":
            w.writerow(["input", "value"])
            w.writerows([r["input"], " ".join(map(repr, r["value"])) if isinstance(r["value"], list)
                         else repr(r["value"])] for r in rows)
        else:
            w.writerow(["input", "class", *(f"p({n})" for n in pred.class_names)])
            w.writerows([r["input"], r["class"], *(repr(r["probs"][n]) for n in pred.class_names)]
                        for r in rows)
