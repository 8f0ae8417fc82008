"""nnplay sample: text written by a character model (nnplay.text.sample_run), or samples
drawn from a generative run (VAE, GAN) and decoded between two test images (nnplay.generative)."""
from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..i18n import t
from ._app import command, fail, guard, load_run, print_json, start


@command
def sample(
    run_id: Annotated[str, typer.Argument(help="A finished run: a character model (data.name = 'text'), or model.kind vae or gan (autoencoder: --between).")],
    length: Annotated[int, typer.Option("--length", help="Text: characters to write after the prompt.")] = 300,
    prompt: Annotated[str, typer.Option("--prompt", help="Text: what to start from (characters the model knows).")] = "",
    temperature: Annotated[float, typer.Option("--temperature", help="Text: > 0; small: likeliest characters, 1: as learned, > 1: more surprising.")] = 1.0,
    out: Annotated[str | None, typer.Option("--out", help="Generative: output .npy file: (N, 2) points or (N, C, H, W) images in [0, 1].")] = None,
    n: Annotated[int, typer.Option("--n", help="Generative: how many samples to draw.")] = 64,
    between: Annotated[tuple[int, int] | None, typer.Option("--between", help="Generative: decode the latent line between test samples I and J.")] = None,
    steps: Annotated[int, typer.Option("--steps", help="Generative: points on the --between line, ends included.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws (same seed, same output).")] = 0,
    *, json_out, runs_dir, threads, lang,
) -> None:
    """Write text with a character model, or draw samples from a VAE or GAN run (--out), or
    morph between two test images (--between I J)."""
    lang = start(lang, threads)
    run = load_run(runs_dir, run_id)
    if run.spec.model.kind == "classifier":
        from ..text import sample_run
        text = guard(lambda: sample_run(run, length, prompt, temperature, seed))
        if json_out:
            print_json({"run_id": run.id, "prompt": prompt, "temperature": temperature, "seed": seed, "text": text})
        else:
            sys.stdout.write(text + "\n")
        return
    from ..generative import write_samples
    if out is None:
        fail(t("cli.sample.needs_out", lang))
    if between is None and not 1 <= n <= 1_000_000:
        fail(f"--n: must be 1..1000000; received {n}")
    a = guard(lambda: write_samples(run, out, n, between, steps, seed))
    sys.stderr.write(t("cli.sample.wrote", lang, n=len(a), shape=tuple(a.shape), path=out) + "\n")
    if json_out:
        print_json({"run_id": run.id, "out": out, "shape": list(a.shape)})
