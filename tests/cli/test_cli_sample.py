"""nnplay sample, export and report for generative runs; bad input exits 2 with one line."""
from __future__ import annotations

import json
import re

import numpy as np
import onnxruntime as ort
import pytest
import torch
from helpers import cli, user_error

from nnplay.runs import RunStore, load_trained, train_run
from nnplay.spec import load


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A VAE and an autoencoder on digits, a GAN on the ring, a classifier: briefly trained."""
    root = tmp_path_factory.mktemp("runs")
    store = RunStore(root)
    out = {name: train_run(load(f"examples/{name}.toml", ["train.epochs=2"]), store)[0]
           for name in ("vae_digits", "autoencoder_digits", "gan_ring", "spiral")}
    return root, out


def run_cli(root, *args):
    return cli(*args, "--runs-dir", str(root))


def test_sample_writes_images_in_unit_range_and_points(runs, tmp_path):
    root, r = runs
    res = run_cli(root, "sample", r["vae_digits"].id, "--n", "7", "--out", str(tmp_path / "v.npy"), "--json")
    assert res.exit_code == 0, res.output
    a = np.load(tmp_path / "v.npy")
    assert a.shape == (7, 1, 8, 8) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert json.loads(res.stdout.splitlines()[-1])["shape"] == [7, 1, 8, 8]
    assert "Wrote 7 samples" in res.stderr
    res = run_cli(root, "sample", r["gan_ring"].id, "--n", "5", "--out", str(tmp_path / "g.npy"))
    g = np.load(tmp_path / "g.npy")
    assert res.exit_code == 0 and g.shape == (5, 2)
    # the same samples as the library's, in the data's units (G's raw output for points)
    tr = load_trained(r["gan_ring"])
    with torch.no_grad():
        z = tr.model.draw(5, torch.Generator().manual_seed(0))
        np.testing.assert_allclose(g, tr.model.generator(z).numpy() * tr.unit[1] + tr.unit[0], rtol=1e-5)


def test_between_decodes_the_line_between_two_test_images(runs, tmp_path):
    root, r = runs
    for name in ("vae_digits", "autoencoder_digits"):
        res = run_cli(root, "sample", r[name].id, "--between", "3", "11", "--steps", "5",
                      "--out", str(tmp_path / "b.npy"))
        assert res.exit_code == 0, res.output
        a = np.load(tmp_path / "b.npy")
        tr = load_trained(r[name])
        with torch.no_grad():   # the ends are the decoded codes of test images 3 and 11
            ends = tr.model.decode(tr.model.encode(tr.x["test"][[3, 11]])).numpy()
        assert a.shape == (5, 1, 8, 8)
        np.testing.assert_allclose(a[[0, -1]], ends, atol=1e-6)


@pytest.mark.parametrize("args,texts", [
    (("sample", "{spiral}", "--n", "3"), ("neither a character model nor a generative one", "model.kind")),
    (("sample", "{autoencoder_digits}", "--n", "3"), ("no prior",)),
    (("sample", "{gan_ring}", "--between", "0", "1"), ("a GAN has no encoder",)),
    (("sample", "{vae_digits}", "--between", "0", "9999"), ("J: must be a test sample index 0..",)),
    (("sample", "{vae_digits}", "--between", "0", "1", "--steps", "1"), ("--steps: must be 2 or more",)),
])
def test_sample_user_errors_exit_2(runs, tmp_path, args, texts):
    root, r = runs
    args = [a.format(**{k: v.id for k, v in r.items()}) for a in args]
    user_error(run_cli(root, *args, "--out", str(tmp_path / "x.npy")), *texts)
    assert not (tmp_path / "x.npy").exists()


def test_sample_errors_in_korean(runs, tmp_path):
    root, r = runs
    line = user_error(run_cli(root, "sample", r["spiral"].id, "--out", str(tmp_path / "x.npy"),
                              "--lang", "ko"))
    assert "문자 모델도 생성 모델도 아닙니다" in line


def test_latent_zero_and_a_generator_of_the_wrong_shape_exit_2(tmp_path):
    user_error(cli("train", "examples/vae_digits.toml", "--set", "model.latent=0"),
               "model.latent", "at least 1", "received: 0")
    bad = ('model.generator=[{type = "dense", units = 32}, {type = "reshape", shape = [2, 4, 4]}, '
           '{type = "conv_transpose2d", filters = 1, kernel = 4, stride = 4}]')
    user_error(cli("train", "examples/vae_digits.toml", "--set", 'model.kind="gan"', "--set", bad),
               "model.generator", "1x16x16", "1x8x8")


@pytest.mark.parametrize("name", ["vae_digits", "gan_ring"])
def test_export_writes_the_decoder_checked_by_onnx_runtime(runs, tmp_path, name):
    root, r = runs
    res = run_cli(root, "export", r[name].id, "--out", str(tmp_path / "d.onnx"), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.splitlines()[-1])
    assert out["max_abs_diff"] < 1e-4 and out["inputs"] == 1024
    # our own check: ONNX Runtime on fresh codes gives the library's samples
    tr = load_trained(r[name])
    z = torch.randn(50, tr.spec.model.latent, generator=torch.Generator().manual_seed(5))
    sess = ort.InferenceSession(str(tmp_path / "d.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": z.numpy()})[0]
    with torch.no_grad():
        want = tr.model.decode(z).numpy()
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-4
    meta = json.loads(sess.get_modelmeta().custom_metadata_map["nnplay"])
    assert meta["model_kind"] == tr.spec.model.kind and meta["latent"] == tr.spec.model.latent
    user_error(cli("predict", str(tmp_path / "d.onnx"), str(tmp_path / "d.onnx")), "generative model")


def test_report_shows_the_generative_figures(runs, tmp_path):
    root, r = runs
    for name, figs in (("vae_digits", {"gen_curves", "reconstructions", "samples", "latent", "interpolation"}),
                       ("autoencoder_digits", {"gen_curves", "reconstructions", "latent", "interpolation"}),
                       ("gan_ring", {"gen_curves", "samples"})):
        res = run_cli(root, "report", r[name].id, "--out", str(tmp_path / name))
        assert res.exit_code == 0, res.output
        assert {p.stem for p in (tmp_path / name).glob("*.png")} == figs
        page = (tmp_path / name / "index.html").read_text()
        assert ("<th>PCA at the same width: test MSE</th>" in page) == (name == "autoencoder_digits")
        assert ("<th>modes covered</th>" in page) == (name == "gan_ring")


def test_train_warns_of_mode_collapse(tmp_path):
    res = cli("train", "examples/gan_ring.toml", "--set", "train.epochs=2", "--runs-dir", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert re.search(r"warning: mode collapse: the generator covers [0-7] of 8 modes", res.stderr)
    assert "modes covered" in res.stderr and "D loss" in res.stderr


def test_a_generative_sample_needs_out(runs):
    """One sample command serves text and generative runs; a generative run writes a file."""
    root, r = runs
    user_error(run_cli(root, "sample", r["vae_digits"].id, "--n", "3"), "--out FILE.npy is needed")
    line = user_error(run_cli(root, "sample", r["vae_digits"].id, "--lang", "ko"))
    assert "--out FILE.npy가 필요합니다" in line
