"""nnplay sample: text written by a character model (nnplay.text.sample_run)."""
from __future__ import annotations

import sys
from typing import Annotated

import typer

from ._app import JsonOut, Lang, RunsDir, Threads, app, guard, open_store, set_lang, set_threads


@app.command()
def sample(
    run_id: Annotated[str, typer.Argument(help="A finished run of a character model (data.name = 'text').")],
    length: Annotated[int, typer.Option("--length", help="Characters to write after the prompt.")] = 300,
    prompt: Annotated[str, typer.Option("--prompt", help="Text to start from (characters the model knows).")] = "",
    temperature: Annotated[float, typer.Option("--temperature", help="> 0; small: likeliest characters, 1: as learned, > 1: more surprising.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws (same seed, same text).")] = 0,
    json_out: JsonOut = False,
    runs_dir: RunsDir = None,
    threads: Threads = 1,
    lang: Lang = "en",
) -> None:
    """Print text written by a trained character model, one character at a time."""
    from ..text import sample_run
    from . import print_json

    set_lang(lang)
    set_threads(threads)
    run = guard(lambda: open_store(runs_dir).get(run_id))
    text = guard(lambda: sample_run(run, length, prompt, temperature, seed))
    if json_out:
        print_json({"run_id": run.id, "prompt": prompt, "temperature": temperature, "seed": seed, "text": text})
    else:
        sys.stdout.write(text + "\n")
