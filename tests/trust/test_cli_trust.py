"""nnplay attack / uncertainty / explain: JSON summaries, files under RUN/trust/, exit 2 on bad input."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnplay import spec as specmod
from nnplay.cli import app
from nnplay.runs import RunStore, train_run

pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")


def cli(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def last_json(result) -> dict:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout.strip().splitlines()[-1])


def user_error(result, *texts: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    for text in texts:
        assert text in result.stderr, (text, result.stderr)


@pytest.fixture
def digits_run(digits):
    store, run, _ = digits
    return run, ["--runs-dir", str(store.root)]


def small_run(spec: str, **data) -> tuple:
    """A quick run in the test's own store (NNPLAY_RUNS)."""
    d = tomllib.loads(spec)
    d["data"].update(data)
    store = RunStore()
    run, _ = train_run(specmod.from_dict(d), store)
    return run, store


SPIRAL = """
name = "tiny-2d"
[data]
name = "moons"
samples = 200
noise = 0.1
[model]
hidden = [16, 16]
[train]
epochs = 20
probe_every = 0
"""

REGRESSION = """
name = "tiny-reg"
[data]
name = "reg-plane"
samples = 100
[model]
hidden = [4]
[train]
epochs = 2
probe_every = 0
"""


def test_attack_fgsm_json_and_files(digits, digits_run):
    """The CLI reports the library's figures for the run (the bar itself: test_attacks.py)."""
    from nnplay.trust.attacks import attack
    run, opts = digits_run
    out = last_json(cli("attack", run.id, "--method", "fgsm", "--eps", "0.1", "--json", *opts))
    tr = digits[2]
    tr.model.eval()
    ref = attack(tr.model, tr.data.x_test, tr.data.y_test, eps=0.1, method="fgsm", bounds=tr.data.bounds)
    assert out["clean_accuracy"] == pytest.approx(ref.clean_accuracy)
    assert out["adversarial_accuracy"] == pytest.approx(ref.adversarial_accuracy)
    assert out["clean_accuracy"] - out["adversarial_accuracy"] > 0.2   # measured 0.378
    assert out["method"] == "fgsm" and out["eps"] == 0.1 and out["max_perturbation"] == pytest.approx(0.1)
    assert Path(out["figure"]).is_file() and Path(out["figure"]).parent == run.path("trust")
    assert json.loads(Path(out["json"]).read_text())["adversarial_accuracy"] == out["adversarial_accuracy"]


def test_attack_curve_json(digits_run):
    run, opts = digits_run
    out = last_json(cli("attack", run.id, "--curve", "--method", "pgd", "--steps", "5", "--json", *opts))
    curve = out["curve"]
    assert [r["eps"] for r in curve][:1] == [0.0] and 0.1 in [r["eps"] for r in curve]
    assert curve[0]["accuracy"] == pytest.approx(out["clean_accuracy"])
    assert curve[-1]["accuracy"] < 0.2
    assert Path(out["curve_figure"]).is_file()


def test_attack_patch_json(digits_run):
    run, opts = digits_run
    out = last_json(cli("attack", run.id, "--method", "patch", "--target", "8", "--json", *opts))
    assert out["targeted"] and out["target"] == 8 and out["patch_size"] == 4
    assert 0 <= out["success_rate"] <= 1 and Path(out["figure"]).is_file()


def test_uncertainty_mc_dropout_json(digits_run):
    run, opts = digits_run
    out = last_json(cli("uncertainty", run.id, "--method", "mc-dropout", "--passes", "30", "--json", *opts))
    assert 0 <= out["ece"] < 0.1 and out["ood_auroc"] >= 0.9
    assert set(out["ood"]) == {"noise", "rotated", "inverted"}
    # the playground's keys (server/trust.py answers with the same Uncertainty.summary())
    assert set(out["ood"]["noise"]) == {"auroc", "auroc_mutual_information", "mean_confidence", "mean_entropy"}
    assert {"method", "passes", "accuracy", "ece", "bins", "mean_confidence", "ood_auroc"} <= set(out)
    assert out["val_ece_calibrated"] <= out["val_ece"] + 0.02   # ECE on 144 samples: see test_uncertainty
    assert sum(b["count"] for b in out["bins"]) == 360        # each test sample in one bin
    assert all(Path(p).is_file() for p in out["figures"])


def test_explain_json(digits_run, tmp_path):
    run, opts = digits_run
    target = tmp_path / "maps" / "map.png"
    out = last_json(cli("explain", run.id, "--method", "occlusion", "--index", "17", "--out", target,
                        "--json", *opts))
    assert out["method"] == "occlusion" and out["index"] == 17 and out["out"] == str(target)
    assert target.is_file() and out["predicted"] == out["label"]
    assert out["stroke_share"] > out["stroke_area"]
    ig = last_json(cli("explain", run.id, "--method", "integrated-gradients", "--index", "3", "--json", *opts))
    assert abs(ig["completeness_gap"]) < 0.02 * abs(ig["attribution_sum"]) + 0.05
    r = cli("explain", run.id, "--method", "gradcam", "--index", "0", "--lang", "ko", *opts)
    assert r.exit_code == 0 and "테스트 샘플 0" in r.stderr


def test_two_d_run_attack_explain_and_ensemble():
    run, store = small_run(SPIRAL)
    out = last_json(cli("attack", run.id, "--method", "pgd", "--eps", "1.0", "--json"))
    assert out["adversarial_accuracy"] < out["clean_accuracy"]
    ex = last_json(cli("explain", run.id, "--method", "lime", "--index", "2", "--json"))
    assert set(ex["attribution"]) == {"x1", "x2"} and Path(ex["out"]).is_file()
    ens = last_json(cli("uncertainty", run.id, "--method", "ensemble", "--members", "2", "--json"))
    assert len(ens["members"]) == 2 and set(ens["ood"]) == {"noise"} and 0 <= ens["ood_auroc"] <= 1
    assert len(store.list()) == 2                              # the new member is a run
    user_error(cli("uncertainty", run.id, "--method", "mc-dropout"), "needs a model with dropout")


def test_tabular_run(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,label\n" + "\n".join(f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(X, y)))
    run, _ = small_run(SPIRAL.replace('name = "moons"', 'name = "csv"'), path=str(path), target="label")
    out = last_json(cli("attack", run.id, "--method", "fgsm", "--eps", "0.5", "--json"))
    assert out["samples"] == 60
    ex = last_json(cli("explain", run.id, "--method", "integrated-gradients", "--index", "0", "--json"))
    assert set(ex["attribution"]) == {"a", "b", "c"}
    assert abs(ex["attribution"]["c"]) < max(abs(ex["attribution"]["a"]), abs(ex["attribution"]["b"]))


def test_bad_input_exits_2(digits_run):
    run, opts = digits_run
    user_error(cli("attack", "no-such-run", *opts), "unknown run 'no-such-run'")
    user_error(cli("attack", run.id, "--eps", "1.5", *opts), "eps: must be between 0 and 1", "1.5")
    user_error(cli("attack", run.id, "--method", "deepfool", *opts), "--method: must be one of: fgsm, pgd, patch")
    user_error(cli("attack", run.id, "--method", "patch", *opts), "--target", "between 0 and 9")
    user_error(cli("attack", run.id, "--method", "patch", "--target", "3", "--curve", *opts), "--curve")
    user_error(cli("attack", run.id, "--target", "11", *opts), "target: must be a class between 0 and 9")
    user_error(cli("explain", run.id, "--index", "360", *opts), "--index: must be between 0 and 359", "360")
    user_error(cli("explain", run.id, "--method", "shap", *opts), "--method: must be one of: saliency")
    user_error(cli("uncertainty", run.id, "--method", "bayes", *opts), "--method: must be one of: single, mc-dropout, ensemble")
    user_error(cli("uncertainty", run.id, "--bins", "1", *opts), "--bins")
    user_error(cli("attack", run.id, "--eps", "2", "--lang", "ko", *opts), "오류", "eps")


def test_regression_run_is_refused_by_classifier_tools():
    run, _ = small_run(REGRESSION)
    for cmd in ("attack", "uncertainty", "explain"):
        user_error(cli(cmd, run.id), f"{cmd} needs a classifier", "'regression'", "binary, multiclass")
