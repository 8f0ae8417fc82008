"""Helpers several test folders share (importable as ``helpers``: pytest's pythonpath)."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from nnplay.cli import app


def cli(*args: str):
    """``nnplay ARGS`` in-process."""
    return CliRunner().invoke(app, list(args))


def user_error(result, *texts: str) -> str:
    """The one ``error:`` line of a run that exited 2 without a traceback, holding ``texts``."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = [x for x in result.stderr.splitlines() if x.startswith(("error: ", "오류: "))]
    assert len(lines) == 1, result.stderr
    for text in texts:
        assert text in result.stderr, (text, result.stderr)
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(runs: Path, logs: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """A real ``nnplay serve`` on a free 127.0.0.1 port, its output in ``logs``/stdout and
    stderr (a pipe nobody reads could fill up and stall it); (process, url) once it answers.
    The caller stops it."""
    port = free_port()
    exe = shutil.which("nnplay", path=str(Path(sys.executable).parent)) or "nnplay"
    log = logs / "stderr"
    proc = subprocess.Popen([exe, "serve", "--port", str(port), *args],
                            env={**os.environ, "NNPLAY_RUNS": str(runs)},
                            stdout=(logs / "stdout").open("w"), stderr=log.open("w"), text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "api/info", timeout=1).read()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"nnplay serve did not start: {log.read_text()}")
            time.sleep(0.1)


def write_reviews(path: Path, n: int = 400, seed: int = 0, langs: str = "ko,en") -> Path:
    """A CSV of short made-up reviews (columns review, label) in the languages ``langs``
    (ko, en): filler words and one word that gives the label away ("좋아요", "great", ... for
    pos; "별로", "awful", ... for neg) at a random place. Learned from the characters."""
    import csv
    import random
    rng = random.Random(seed)
    words = {"ko": ({"pos": ["좋아요", "최고", "훌륭한"], "neg": ["별로", "나빠요", "최악"]},
                    ["영화", "배우", "정말", "이", "그", "음악"]),
             "en": ({"pos": ["great", "good", "love"], "neg": ["bad", "awful", "hate"]},
                    ["movie", "the", "plot", "was", "really", "story"])}
    chosen = [words[lang] for lang in langs.split(",")]
    cue = {c: [w for ws, _ in chosen for w in ws[c]] for c in ("pos", "neg")}
    filler = [w for _, f in chosen for w in f]
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review", "label"])
        for _ in range(n):
            label = rng.choice(["pos", "neg"])
            row = rng.choices(filler, k=rng.randint(2, 5)) + [rng.choice(cue[label])]
            rng.shuffle(row)
            w.writerow([" ".join(row), label])
    return Path(path)


# --- browser tests (Playwright pages) ----------------------------------------------------------
PAGE_WAIT = 30_000   # ms a page gets to answer


@contextmanager
def page_tab(browser, url: str, viewport: dict, ready: str | None = None):
    """A new tab on the playground at ``url`` in a ``viewport`` window, in English, once
    ``ready`` (JS, default: the first frame is drawn) holds; -> (page, its errors). The test
    fails if the page threw an error."""
    ctx = browser.new_context(viewport=viewport)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(url)
    pg.evaluate("localStorage.setItem('nnplay.lang', 'en')")
    pg.wait_for_function(ready or "() => window.nnplay && nnplay.sessions[0] && nnplay.sessions[0].frame",
                         timeout=PAGE_WAIT)
    try:
        yield pg, errors
    finally:
        ctx.close()
    assert not errors, errors
HANGUL = re.compile("[가-힣]")   # a Korean syllable: the page speaks Korean


def page_steps(pg, n: int, session: int = 0) -> None:
    """Press the page's step button n times, each time until session ``session``'s next epoch's
    frame arrives (1: B, in compare mode)."""
    start = pg.evaluate(f"nnplay.sessions[{session}].frame.header.epoch")
    for i in range(n):
        pg.get_by_test_id("step").click()
        pg.wait_for_function(f"() => nnplay.sessions[{session}].frame.header.epoch >= {start + i + 1}",
                             timeout=PAGE_WAIT)


def page_ready(pg, session: int = 0, mode: str | None = None, timeout: int = PAGE_WAIT) -> None:
    """Wait until session ``session`` has the server's answer to its spec (in ``mode`` when
    given) and its first frame, with nothing pending."""
    s = f"nnplay.sessions[{session}]"
    want = f" && {s}.info.mode === '{mode}'" if mode else ""
    pg.wait_for_function(f"() => window.nnplay && {s} && {s}.info{want} && {s}.frame && !{s}.pending",
                         timeout=timeout)


def page_image_mode(pg, epochs: int = 0) -> None:
    """Switch the page to image mode (the digits CNN), once its first frame is there, and train ``epochs`` epochs."""
    pg.get_by_test_id("mode-image").click()
    pg.wait_for_function("() => nnplay.sessions[0].info.mode === 'image' && nnplay.sessions[0].frame", timeout=PAGE_WAIT)
    page_steps(pg, epochs)


def page_shot(pg, tmp_path: Path, name: str) -> Path:
    """A screenshot of the window in tmp_path (and $NNPLAY_SCREENSHOTS when set)."""
    path = tmp_path / f"{name}.png"
    pg.screenshot(path=path)
    assert path.stat().st_size > 10_000
    if keep := os.environ.get("NNPLAY_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def page_lang(pg, lang: str) -> None:
    """Switch the page to ``lang`` with its own toggle."""
    if pg.evaluate("document.documentElement.lang") != lang:
        pg.get_by_test_id("lang").click()
        pg.wait_for_function(f"() => document.documentElement.lang === '{lang}'", timeout=PAGE_WAIT)


def page_in_korean(pg, shoot, check) -> None:
    """A view in both languages: ``shoot("en")``, the page switched to Korean, ``check()`` (its
    words; asserted true), ``shoot("ko")``, then back to English."""
    shoot("en")
    page_lang(pg, "ko")
    assert check()
    shoot("ko")
    page_lang(pg, "en")


def page_reopen(pg) -> None:
    """Load the page's own link again, a new load (not a same-page hash change): the URL is the state."""
    link = pg.url
    pg.goto("about:blank")
    pg.goto(link)


def page_open_lesson(pg, lesson_id: str, epochs: int | None) -> None:
    """Open a lesson from the header's Lessons menu, its parts trained for ``epochs`` (None: the lesson's own)."""
    pg.evaluate(f"nnplay.lessons.epochs = {epochs or 'null'}")
    pg.get_by_test_id("lessons").click()
    pg.get_by_test_id(f"lesson-{lesson_id}").click()
    pg.get_by_test_id("lesson-panel").wait_for(state="visible", timeout=PAGE_WAIT)


def page_set(pg, testid: str, value) -> None:
    """Set a slider or number field as a learner does: its value, then its input and change events."""
    pg.eval_on_selector(f"[data-testid={testid}]", f"e => {{ e.value = {value}; e.dispatchEvent(new Event('input')); "
                        "e.dispatchEvent(new Event('change')); }")


# --- sweeps ------------------------------------------------------------------------------------
def finished_trials(db: Path) -> dict:
    """{trial number: its run id (JSON)} of the COMPLETE trials in an Optuna study file."""
    import sqlite3
    try:
        with sqlite3.connect(db, timeout=5) as c:
            return dict(c.execute("SELECT t.number, a.value_json FROM trials t JOIN trial_user_attributes a "
                                  "ON a.trial_id = t.trial_id WHERE t.state = 'COMPLETE' AND a.key = 'run_id'"))
    except sqlite3.OperationalError:   # the study's tables are not made yet
        return {}


def kill_sweep_after_a_trial(argv: list[str], db: Path, seconds: float, env: dict | None = None) -> dict:
    """Start ``nnplay sweep`` (argv), SIGKILL it once a trial has finished (within ``seconds``),
    and return its finished trials (``finished_trials``)."""
    import signal
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + seconds
    while not (db.exists() and finished_trials(db)):
        assert proc.poll() is None and time.monotonic() < deadline, "the sweep did not start"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return finished_trials(db)


def force_torchscript_export(monkeypatch) -> None:
    """Make nnplay.export's dynamo exporter fail, so the TorchScript fallback runs."""
    from nnplay import export as ex
    real = ex._torch_export

    def no_dynamo(model, example, path, dynamo):
        if dynamo:
            raise RuntimeError("dynamo says no")
        real(model, example, path, dynamo)
    monkeypatch.setattr(ex, "_torch_export", no_dynamo)


def interrupt_at(monkeypatch, epoch: int):
    """Ctrl-C while training: ``Trainer.train_epoch`` raises KeyboardInterrupt after ``epoch``
    finished epochs; -> (Trainer, its real train_epoch) to put back."""
    from nnplay.train import Trainer
    real = Trainer.train_epoch

    def interrupted(self, probe=None):
        if self.epoch == epoch:
            raise KeyboardInterrupt
        return real(self, probe)
    monkeypatch.setattr(Trainer, "train_epoch", interrupted)
    return Trainer, real
