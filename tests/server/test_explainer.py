"""The CNN explainer's socket messages (protocol.md: `inspect`, `input`): each answer carries the
library's numbers (probes.explain_at, probes.softmax_at) for the session's own model and the
image its frames show; a drawn image flows through the network; bad layers, places and pixels
get an error frame naming the field, in English and Korean, and the socket serves on."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay import probes
from nnplay.server.app import _presets

IMAGE = _presets()["image"]     # the page's digits CNN: conv1 act1 pool1 conv2 act2 pool2 ...


@pytest.fixture
def cnn(trained):
    """A socket on the digits CNN trained one epoch, and that session's trainer."""
    return trained(IMAGE, 1)


def test_inspect_conv_is_the_library_convolution(cnn):
    sock, tr = cnn
    sock.send(type="view", image=5)
    h, a = sock.answer("inspect", layer="act2", unit=3, row=1, col=2)
    x = tr.data.x_test[5]
    ref = probes.convolution_at(tr.model, x, "act2", 3, 1, 2)
    assert h["kind"] == "conv" and h["conv"] == "conv2" and h["input_layer"] == "pool1"
    assert h["image"] == {"index": 5, "label": int(tr.data.y_test[5]), "drawn": False}
    for k in ("sum", "bias", "z", "out", "top", "left"):
        assert h[k] == pytest.approx(ref[k], abs=1e-6)
    assert [s["name"] for s in h["after"]] == ["act2"] and h["after"][0]["value"] == pytest.approx(ref["after"][0]["value"])
    for k in ("patch", "kernel", "products", "channel_sums"):
        np.testing.assert_allclose(a[k], ref[k], rtol=1e-6)
    np.testing.assert_allclose(a["input"], ref["input_map"])
    assert a["patch"].shape == (8, 3, 3)               # one 3x3 kernel per input channel of conv2
    # and the arithmetic is PyTorch's conv2d on that patch, plus ReLU
    conv = tr.model.conv2
    with torch.no_grad():
        z = torch.nn.functional.conv2d(torch.tensor(a["patch"])[None], conv.weight[3:4], conv.bias[3:4])
    assert h["z"] == pytest.approx(float(z), abs=1e-5)
    assert h["after"][0]["value"] == pytest.approx(max(float(z), 0.0), abs=1e-5)


def test_inspect_pool_shows_the_winner(cnn):
    sock, tr = cnn
    h, a = sock.answer("inspect", layer="pool1", unit=2, row=1, col=3)
    with torch.no_grad():
        ref = torch.nn.functional.max_pool2d(tr.model.act1(tr.model.conv1(tr.data.x_test[0:1])), 2)
    assert h["kind"] == "pool" and h["op"] == "max" and a["window"].shape == (2, 2)
    assert h["value"] == pytest.approx(float(ref[0, 2, 1, 3]), abs=1e-6)
    i, j = h["winner"]
    assert a["window"][i, j] == pytest.approx(h["value"])


def test_frames_carry_softmax_and_every_conv_layers_filters(cnn):
    sock, tr = cnn
    h, a = sock.frame()
    x = tr.data.x_test[0]
    with torch.no_grad():
        tr.model.eval()
        logits = tr.model(x[None])[0]
    sm = h["image"]["softmax"]
    np.testing.assert_allclose(sm["logits"], logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sm["probs"], torch.softmax(logits, 0).numpy(), atol=1e-6)
    np.testing.assert_allclose(h["image"]["probs"], sm["probs"], atol=1e-6)
    assert a["filters:conv1"].shape == (8, 1, 3, 3) and a["filters:conv2"].shape == (16, 8, 3, 3)
    np.testing.assert_array_equal(a["filters:conv2"], tr.model.conv2.weight.detach().numpy())


def test_a_drawn_image_flows_through_the_network(cnn):
    sock, tr = cnn
    _, before = sock.frame()
    raw = np.zeros((1, 8, 8), np.float32)
    raw[0, 1:7, 3:5] = 1.0                                    # a stroke: "1"
    sock.send(type="input", pixels=raw.ravel().tolist())
    h, a = sock.frame()
    assert h["image"]["drawn"] is True and h["image"]["index"] is None
    x = tr.data.from_raw(raw[None])[0]
    np.testing.assert_allclose(a["input"], x.numpy())
    np.testing.assert_allclose(a["fmap:conv1"], probes.feature_maps(tr.model, x)["conv1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h["image"]["probs"], tr.predict(x[None])[0].numpy(), atol=1e-6)
    hi, ai = sock.answer("inspect", layer="conv1", unit=0, row=2, col=3)   # the explainer reads the drawn image
    assert hi["image"]["drawn"] is True
    np.testing.assert_allclose(ai["input"], a["input"])
    sock.send(type="input", pixels=None)                      # back to the picked test image
    h, a = sock.frame()
    assert h["image"]["index"] == 0 and not h["image"]["drawn"]
    np.testing.assert_allclose(a["input"], before["input"])


@pytest.mark.parametrize("msg,words", [
    ({"type": "inspect", "layer": "dense1"}, ("inspect.layer", "'dense1'", "conv1, act1, pool1, conv2")),
    ({"type": "inspect", "layer": "conv1", "unit": 8}, ("inspect.unit", "0 and 7", "received: 8")),
    ({"type": "inspect", "layer": "pool2", "row": 2}, ("inspect.row", "0 and 1", "pool2")),
    ({"type": "inspect", "layer": "conv2", "col": -1}, ("inspect.col", "0 and 3", "received: -1")),
    ({"type": "inspect", "layer": "conv1", "row": "x"}, ("inspect.row",)),
    ({"type": "inspect"}, ("inspect.layer",)),
    ({"type": "input", "pixels": [0.5] * 10}, ("input.pixels", "1 x 8 x 8 = 64", "received: 10")),
    ({"type": "input", "pixels": [2.0] * 64}, ("input.pixels",)),
])
def test_bad_requests_get_an_error_frame_and_the_socket_serves_on(trained, msg, words):
    sock, _ = trained(IMAGE, 0)                  # shapes and names only: no epoch needed
    err = sock.error(**msg)
    assert err["code"] == "message"
    for w in words:
        assert w in err["message"]
    if msg.get("layer") == "dense1":             # the library's words, in Korean too
        assert "가능한 값" in err["ko"]


def test_explainer_needs_image_mode(sock):
    sock.start({"data": {"name": "spiral"}})
    for msg in ({"type": "inspect", "layer": "conv1"}, {"type": "input", "pixels": [0.0]}):
        err = sock.error(**msg)
        assert err["code"] == "message" and "image mode" in err["message"]
