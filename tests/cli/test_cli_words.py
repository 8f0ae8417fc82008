"""Issue 15: what the CLI prints reads well in English and Korean: flags in --help, run statuses
and metric names in `nnplay runs`, cross-validation as a table, and a line on Ctrl-C."""
from __future__ import annotations

import json
import sys

import pytest

from helpers import cli, interrupt_at
from nnplay.cli import app

SMALL = ["--set", "data.samples=80", "--set", "model.hidden=[4]", "--set", "train.epochs=1",
         "--set", "train.probe_every=0"]


def test_help_shows_flags_as_flags_and_keeps_bracketed_text():
    """Typer's rich help wrote '--json <bool>' (as if it took a value) and ate '[scale]' as markup."""
    for name in [c.name or c.callback.__name__ for c in app.registered_commands]:
        out = cli(name, "--help").output
        assert "<bool>" not in out, (name, out)
        assert "--help" in out
    train = cli("train", "--help").output
    assert "nnplay[scale]" in train and "--json " in train


@pytest.mark.parametrize("lang, words, english", [
    ("en", ["done", "test accuracy"], []),
    ("ko", ["완료", "테스트 정확도"], ["done", "test_accuracy"]),
])
def test_runs_words_status_and_metric_in_the_language(lang, words, english):
    assert cli("train", *SMALL, "-q").exit_code == 0
    out = cli("runs", "--lang", lang).stdout
    for w in words:
        assert w in out, (w, out)
    for w in english:
        assert w not in out, (w, out)


def test_folds_print_a_table_and_json_on_request():
    r = cli("train", *SMALL, "--folds", "3", "--lang", "ko")
    assert r.exit_code == 0, r.output
    assert "{'fold'" not in r.stderr and "검증 정확도" in r.stderr and "평균 ± 표준편차" in r.stderr
    j = cli("train", *SMALL, "--folds", "3", "--json", "-q")
    res = json.loads(j.stdout.strip().splitlines()[-1])
    assert len(res["per_fold"]) == 3 and res["metric"] == "val_accuracy"


def test_ctrl_c_during_folds_says_so_and_exits_130(monkeypatch):
    interrupt_at(monkeypatch, 0)                 # the first fold's first epoch
    r = cli("train", *SMALL, "--folds", "3", "--lang", "ko")
    assert r.exit_code == 130 and "같은 명령을 다시 실행" in r.stderr, (r.exit_code, r.output)
    assert "Traceback" not in r.output


def test_ctrl_c_before_a_command_says_anything_has_a_line(monkeypatch, capsys):
    """Typer turns Ctrl-C into exit 130 and prints nothing; the entry point adds a line, in the
    --lang asked for even when Ctrl-C came before the command read it."""
    from nnplay import cli as cli_mod
    from nnplay import spec

    def interrupted(*a, **kw):
        raise KeyboardInterrupt
    monkeypatch.setattr(spec, "load", interrupted)
    monkeypatch.setattr(sys, "argv", ["nnplay", "train", "--lang", "ko"])
    with pytest.raises(SystemExit) as e:
        cli_mod.main()
    assert e.value.code == 130
    assert "중단됨 (Ctrl-C)" in capsys.readouterr().err
