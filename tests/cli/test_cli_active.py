"""nnplay active: the curve's JSON and figure, and clear errors (exit 2) for bad options."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import cli, user_error

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "active_digits.toml"


def test_cli_active_json_and_figure(tmp_path):
    out = tmp_path / "al"
    res = cli("active", str(EXAMPLE), "--strategy", "entropy", "--budget", "50", "--step", "15",
              "--initial", "20", "--repeats", "2", "--out", str(out), "--json")
    assert res.exit_code == 0, (res.output, res.exception)
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert [r["labels"] for r in summary["curve"]] == [20, 35, 50]     # the last step is the budget
    assert set(summary["curve"][0]) == {"labels", "test_accuracy", "std"}
    assert [r["labels"] for r in summary["baselines"]["random"]["curve"]] == [20, 35, 50]
    assert summary["curve"][0] == summary["baselines"]["random"]["curve"][0]
    assert Path(summary["figure"]).read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "active.json").read_text())["curve"] == summary["curve"]


@pytest.mark.parametrize("args, texts", [
    (["--budget", "5000"], ["--budget", "898"]),
    (["--strategy", "confident"], ["--strategy", "margin, entropy, least, random", "confident"]),
    (["--step", "0"], ["--step", "0"]),
    (["--repeats", "0"], ["--repeats"]),
    (["--initial", "300", "--budget", "200"], ["--budget", "300"]),
])
def test_cli_active_errors(args, texts):
    user_error(cli("active", str(EXAMPLE), *args), *texts)


def test_cli_active_error_in_korean_and_for_regression():
    line = user_error(cli("active", str(EXAMPLE), "--budget", "5000", "--lang", "ko"), "--budget")
    assert line.startswith("오류: ")
    user_error(cli("active", "--set", 'data.name="reg-plane"', "--budget", "50"), "regression")
