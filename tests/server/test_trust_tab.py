"""The "Can we believe it?" tab's socket message (protocol.md, `trust`): each answer carries
what the nnplay.trust library gives for the session's own model, and bad requests get an
error frame naming the field while the socket keeps working."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from nnplay.server.app import _presets
from nnplay.trust import attacks, explain, uncertainty

IMAGE = _presets()["image"]     # the page's digits CNN (with dropout)


@pytest.fixture
def tab(trained):
    """A socket on the digits CNN trained two epochs, and that session's model and data."""
    return trained(IMAGE, 2)


def _ask(sock, **msg):
    header, arrays = sock.answer("trust", **msg)
    assert header["what"] == msg["what"]
    return header, arrays


def _probs(model, x):
    model.eval()
    with torch.no_grad():
        return torch.softmax(model(x), 1)


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_attack_answer_is_the_library_attack(tab, method):
    sock, tr = tab
    d = tr.data
    h, a = _ask(sock, what="attack", image=4, method=method, eps=0.15)
    assert h["epoch"] == 2 and h["image"] == {"index": 4, "label": int(d.y_test[4])}
    x, y = d.x_test[4:5], d.y_test[4:5]
    ref = attacks.attack(tr.model, x, y, eps=0.15, method=method, bounds=d.bounds)
    np.testing.assert_allclose(a["input"], x[0].numpy())
    np.testing.assert_allclose(a["adversarial"], ref.x_adv[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(a["perturbation"], (ref.x_adv - x)[0].numpy(), atol=1e-6)
    assert np.abs(a["perturbation"]).max() <= 0.15 + 1e-6            # inside the eps-ball
    assert a["adversarial"].min() >= 0 and a["adversarial"].max() <= 1
    np.testing.assert_allclose(h["clean"]["probs"], _probs(tr.model, x)[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(h["adversarial"]["probs"], _probs(tr.model, ref.x_adv)[0].numpy(), atol=1e-5)
    assert h["clean"]["pred"] == int(np.argmax(h["clean"]["probs"]))
    assert h["adversarial"]["pred"] == int(ref.adv_pred[0])
    assert h["steps"] == (1 if method == "fgsm" else 10)
    test = attacks.attack(tr.model, d.x_test, d.y_test, eps=0.15, method=method, bounds=d.bounds)
    assert h["test"]["samples"] == len(d.y_test)
    assert h["test"]["clean_accuracy"] == pytest.approx(test.clean_accuracy)
    assert h["test"]["adversarial_accuracy"] == pytest.approx(test.adversarial_accuracy)
    assert h["test"]["adversarial_accuracy"] < h["test"]["clean_accuracy"]   # the attack hurts


def test_eps_zero_changes_nothing(tab):
    sock, _ = tab
    h, a = _ask(sock, what="attack", image=0, method="fgsm", eps=0.0)
    assert not a["perturbation"].any()
    assert h["adversarial"]["pred"] == h["clean"]["pred"]
    np.testing.assert_allclose(h["adversarial"]["probs"], h["clean"]["probs"], atol=1e-6)


def test_explain_answer_has_every_method_from_the_library(tab):
    sock, tr = tab
    x = tr.data.x_test[7:8]
    h, a = _ask(sock, what="explain", image=7)
    assert h["methods"] == list(explain.METHODS) and h["errors"] == {}
    for m in explain.METHODS:
        ref = explain.explain(tr.model, x, m)
        np.testing.assert_allclose(a[f"attr:{m}"], ref.attribution[0].numpy(), rtol=1e-4, atol=1e-6)
        assert h["predicted"] == int(ref.predicted[0]) == h["target"]
    ig = explain.explain(tr.model, x, "integrated-gradients")
    assert h["completeness_gap"] == pytest.approx(float(ig.completeness_gap[0]), abs=1e-5)
    h1, a1 = _ask(sock, what="explain", image=7, method="occlusion")   # one method only
    assert h1["methods"] == ["occlusion"] and set(a1) == {"input", "attr:occlusion"}


@pytest.mark.parametrize("method", ["single", "mc-dropout"])
def test_uncertainty_answer_matches_calibration_and_ood_scores(tab, method):
    sock, tr = tab
    d = tr.data
    h, a = _ask(sock, what="uncertainty", method=method)
    predict = (lambda x: uncertainty.mc_dropout(tr.model, x, h["passes"])) if method == "mc-dropout" \
        else (lambda x: uncertainty.single(tr.model, x))
    test = predict(d.x_test)
    cal = uncertainty.calibration(test.probs, d.y_test, 10)
    assert h["ece"] == pytest.approx(cal.ece, abs=1e-6)
    for got, want in zip(h["bins"], cal.bins, strict=True):
        assert got == pytest.approx(want, abs=1e-6)
    # the test histogram is the calibration bins' counts (an independent binning)
    np.testing.assert_allclose(a["confidence:test"], [b["count"] / len(d.y_test) for b in cal.bins], atol=1e-6)
    outs = {k: predict(uncertainty.ood_inputs(d.x_test, k, d.bounds)) for k in uncertainty.OOD_KINDS}
    for k, p in outs.items():
        assert a[f"confidence:{k}"].sum() == pytest.approx(1.0)
        labels = np.r_[np.zeros(len(d.y_test)), np.ones(len(d.y_test))]
        assert h["ood"][k]["auroc"] == pytest.approx(roc_auc_score(labels, np.r_[test.entropy, p.entropy]))
    ent_out = np.concatenate([p.entropy.numpy() for p in outs.values()])
    labels = np.r_[np.zeros(len(d.y_test)), np.ones(len(ent_out))]
    assert h["ood_auroc"] == pytest.approx(roc_auc_score(labels, np.r_[test.entropy.numpy(), ent_out]))
    assert h["passes"] == (1 if method == "single" else 10)


def test_confidence_histogram_by_hand():
    probs = torch.tensor([[0.95, 0.05], [0.5, 0.5], [0.3, 0.7], [0.6, 0.4]])   # confidences .95 .5 .7 .6
    h = uncertainty.confidence_histogram(probs, bins=10)
    want = np.zeros(10)
    want[[9, 4, 6, 5]] = 0.25          # 0.5 is in (0.4, 0.5], 0.6 in (0.5, 0.6]
    np.testing.assert_allclose(h.numpy(), want)


@pytest.mark.parametrize("msg, words", [
    ({"what": "attack", "eps": 1.5}, ["trust.eps", "between 0 and 1", "1.5"]),
    ({"what": "attack", "eps": -0.1}, ["trust.eps", "between 0 and 1"]),
    ({"what": "attack", "method": "deepfool"}, ["trust.method", "'deepfool'", "allowed: fgsm, pgd"]),
    ({"what": "explain", "method": "shap"}, ["trust.method", "saliency", "lime"]),
    ({"what": "uncertainty", "method": "ensemble"}, ["trust.method", "single, mc-dropout"]),
    ({"what": "explain", "image": 100_000}, ["trust.image", "between 0 and"]),
    ({"what": "explain", "image": -1}, ["trust.image"]),
    ({"what": "robustness"}, ["trust.what", "attack", "explain", "uncertainty"]),
    ({"what": "attack", "radius": 3}, ["trust.radius", "Extra inputs"]),
])
def test_bad_requests_get_an_error_and_the_socket_stays_usable(tab, msg, words):
    sock, tr = tab
    sock.send(type="trust", **msg)
    err = sock.until("error")
    assert err["code"] == "message"
    for w in words:
        assert w in err["message"], err["message"]
    if "image" in msg and msg["image"] > 0:
        assert str(len(tr.data.y_test) - 1) in err["message"]
    h, _ = _ask(sock, what="attack", image=1, eps=0.05)      # still answering
    assert h["image"]["index"] == 1


def test_nan_eps_is_refused(tab):
    sock, _ = tab
    sock.ws.send_text('{"type": "trust", "what": "attack", "eps": NaN}')
    err = sock.until("error")
    assert "trust.eps" in err["message"]


def test_trust_needs_image_mode(sock):
    sock.until("hello")
    sock.send(type="trust", what="attack")
    assert "send a spec first" in sock.until("error")["message"]
    sock.send(type="spec", spec={"data": {"samples": 200}, "model": {"hidden": [4]}})
    sock.until("ready")
    sock.send(type="trust", what="attack")
    err = sock.until("error")
    assert "image mode" in err["message"] and "digits" in err["message"]
