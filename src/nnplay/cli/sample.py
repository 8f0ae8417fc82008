"""nnplay sample: draw from a generative run (VAE, GAN) or decode between two test images."""
from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..i18n import t
from ._app import JsonOut, Lang, RunsDir, Threads, app, fail, guard, open_store, set_lang, set_threads


@app.command()
def sample(
    run_id: Annotated[str, typer.Argument(help="A finished run of model.kind vae or gan (autoencoder: --between).")],
    out: Annotated[str, typer.Option("--out", help="Output .npy file: (N, 2) points or (N, C, H, W) images in [0, 1].")],
    n: Annotated[int, typer.Option("--n", help="How many samples to draw.")] = 64,
    between: Annotated[tuple[int, int] | None, typer.Option("--between", help="Decode the latent line between test samples I and J.")] = None,
    steps: Annotated[int, typer.Option("--steps", help="Points on the --between line, ends included.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the noise.")] = 0,
    json_out: JsonOut = False,
    runs_dir: RunsDir = None,
    threads: Threads = 1,
    lang: Lang = "en",
) -> None:
    """Draw samples from a VAE or GAN run, or morph between two test images (--between I J)."""
    from ..generative import write_samples
    from . import print_json

    lang = set_lang(lang)
    set_threads(threads)
    if between is None and not 1 <= n <= 1_000_000:
        fail(f"--n: must be 1..1000000; received {n}")
    run = guard(lambda: open_store(runs_dir).get(run_id))
    a = guard(lambda: write_samples(run, out, n, between, steps, seed))
    sys.stderr.write(t("cli.sample.wrote", lang, n=len(a), shape=tuple(a.shape), path=out) + "\n")
    if json_out:
        print_json({"run_id": run.id, "out": out, "shape": list(a.shape)})
