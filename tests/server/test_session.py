"""Sessions over the socket (FastAPI's TestClient): spec -> ready, frames that carry the
library's own probe outputs, play/pause/step/reset, live changes, errors, save, clean-up."""
from __future__ import annotations

import time

import numpy as np
import pytest

from nnplay import probes
from nnplay.data import load_data
from nnplay.server import Limits, create_app
from nnplay.spec import from_dict
from nnplay.train import Trainer

SMALL = {"data": {"samples": 200}, "model": {"hidden": [6, 4]}}


def test_ready_describes_the_data_and_network(sock):
    ready = sock.start(SMALL)
    assert ready["spec"] == from_dict(SMALL).to_dict()
    info = ready["info"]
    assert info["mode"] == "2d" and info["task"] == "binary" and info["num_classes"] == 2
    data = load_data(from_dict(SMALL).data)    # the split sizes, computed independently
    assert info["sizes"] == {"train": len(data.y_train), "val": len(data.y_val), "test": len(data.y_test)}
    for split in ("train", "val", "test"):
        pts = np.array(ready["points"][split])
        np.testing.assert_allclose(pts[:, :2], data.points[split], atol=1e-4)
        np.testing.assert_array_equal(pts[:, 2], data.split(split)[1].numpy())
    assert [(l["name"], l["shape"]) for l in info["layers"]] == [
        ("dense1", [6]), ("act1", [6]), ("dense2", [4]), ("act2", [4]), ("out", [1])]
    assert info["params"] == (2 * 6 + 6) + (6 * 4 + 4) + (4 + 1)
    grid = np.array(ready["features"]["x1*x2"])           # the feature toggles' pictures
    plane = probes.plane(info["extent"], grid.shape[0])
    np.testing.assert_allclose(grid.ravel(), plane[:, 0] * plane[:, 1], rtol=1e-4, atol=1e-3)


def test_first_frame_carries_the_library_probes(sock):
    sock.start(SMALL)
    header, arrays = sock.frame()
    assert header["epoch"] == 0 and header["running"] is False
    twin = Trainer(from_dict(SMALL))      # same spec and seed: the same initial weights
    np.testing.assert_allclose(arrays["boundary"], probes.boundary_grid(twin.model, twin.data, 50), atol=1e-6)
    units = probes.unit_grids(twin.model, twin.data, 20)
    assert set(units) == {"dense1", "dense2"}
    for name, g in units.items():
        np.testing.assert_allclose(arrays[f"unit:{name}"], g, atol=1e-6)
    for name, (w, b) in probes.dense_weights(twin.model).items():
        np.testing.assert_allclose(arrays[f"weight:{name}"], w, atol=1e-7)
        np.testing.assert_allclose(arrays[f"bias:{name}"], b, atol=1e-7)
    test = twin.evaluate("test")
    assert header["metrics"]["test_loss"] == pytest.approx(test["loss"], rel=1e-5)
    assert header["metrics"]["test_accuracy"] == pytest.approx(test["accuracy"])


def test_view_changes_the_grid_resolution(sock):
    sock.start(SMALL)
    sock.send(type="view", grid=16, unit_grid=6, image=0)
    _, arrays = sock.frame()
    assert arrays["boundary"].shape == (16, 16)
    assert arrays["unit:dense1"].shape == (6, 6, 6)


def test_step_trains_exactly_one_epoch_and_matches_the_trainer(sock):
    sock.start(SMALL)
    for _ in range(3):
        sock.send(type="step")
    header, arrays = sock.frame()
    assert header["epoch"] == 3 and header["running"] is False
    twin = Trainer(from_dict(SMALL))
    recs = [twin.train_epoch(probe=True) for _ in range(3)]
    assert header["metrics"]["test_loss"] == pytest.approx(twin.evaluate("test")["loss"], rel=1e-4)
    assert header["grad_norm"] == pytest.approx(recs[-1]["grad_norm"], rel=1e-4)
    np.testing.assert_allclose(arrays["weight:dense1"], twin.model.dense1.weight.detach().numpy(), atol=1e-5)


def test_play_trains_until_pause_and_the_test_loss_falls(sock):
    sock.start({"data": {"name": "gauss", "samples": 200}, "model": {"hidden": [4]}})
    first, _ = sock.frame()
    sock.send(type="play")
    assert sock.until("state")["running"] is True
    header = first
    deadline = time.monotonic() + 20
    while header["epoch"] < 30 and time.monotonic() < deadline:
        header, _ = sock.frame()
    assert header["running"] is True and header["epoch"] >= 30
    assert header["metrics"]["test_loss"] < first["metrics"]["test_loss"]
    sock.send(type="pause")
    assert sock.until("state")["running"] is False
    a, _ = sock.frame()
    sock.send(type="step")
    b, _ = sock.frame()
    assert b["epoch"] == a["epoch"] + 1      # paused: only the step trained


def test_live_changes_keep_training_rebuilds_reset(sock):
    ready = sock.start(SMALL)
    sock.send(type="step")
    sock.send(type="step")
    spec = ready["spec"]
    spec["train"]["lr"] = 0.05
    spec["train"]["optimizer"] = "rmsprop"
    spec["model"]["regularization"] = "l2"
    spec["model"]["reg_rate"] = 0.01
    sock.send(type="spec", spec=spec)
    updated = sock.until("updated")
    assert updated["spec"]["train"]["lr"] == 0.05 and updated["spec"]["model"]["reg_rate"] == 0.01
    sock.send(type="step")
    header, _ = sock.frame()
    assert header["epoch"] == 3                       # no reset
    assert header["metrics"]["lr"] == pytest.approx(0.05)
    spec["model"]["hidden"] = [3]                     # the network changes: rebuilt from epoch 0
    sock.send(type="spec", spec=spec)
    ready = sock.until("ready")
    assert ready["spec"]["model"]["hidden"] == [3]
    header, arrays = sock.frame()
    assert header["epoch"] == 0 and arrays["weight:dense1"].shape == (3, 2)
    sock.send(type="step")
    sock.send(type="reset")
    sock.until("ready")
    header, arrays = sock.frame()
    twin = Trainer(from_dict(ready["spec"]))
    assert header["epoch"] == 0
    np.testing.assert_allclose(arrays["weight:dense1"], twin.model.dense1.weight.detach().numpy())


def test_bad_messages_get_error_frames_and_the_session_goes_on(sock):
    ready = sock.start(SMALL)
    sock.ws.send_text("{oops")
    assert sock.until("error")["code"] == "message"
    sock.ws.send_bytes(b"\x00\x01")
    assert "binary" in sock.until("error")["message"]
    sock.send(type="spec", spec={"model": {"activation": "swish"}})
    err = sock.until("error")
    assert err["code"] == "spec" and "model.activation" in err["message"] and "relu" in err["message"]
    assert err["ko"].startswith("잘못된 명세입니다.") and "다음 중 하나여야 합니다" in err["ko"]   # the Korean page's
    sock.send(type="spec", spec={"model": {"hidden": [8] * 9}})
    err = sock.until("error")
    assert "model.hidden" in err["message"] and "allowed: 1..8" in err["message"]
    sock.send(type="spec", spec={"data": {"name": "csv", "path": "/etc/passwd", "target": "x"}})
    assert "uploaded" in sock.until("error")["message"]
    sock.send(type="spec", spec={"data": {"name": "idx", "path": "/tmp", "limit": 100}})
    assert "--data-dir" in sock.until("error")["message"]
    sock.send(type="step")                 # the old experiment is still there
    header, _ = sock.frame()
    assert header["epoch"] == 1 and ready["spec"]["model"]["hidden"] == [6, 4]


def test_commands_before_a_spec_are_refused(client, wrap):
    with client.websocket_connect("/ws") as ws:
        s = wrap(ws)
        s.until("hello")
        s.send(type="play")
        err = s.until("error")
        assert err["code"] == "state" and "spec first" in err["message"]


def test_divergence_pauses_with_a_message(sock):
    sock.start({"data": {"name": "reg-plane", "samples": 100}, "model": {"hidden": [8], "activation": "relu"},
                "train": {"optimizer": "sgd", "lr": 10}})
    sock.send(type="play")
    err = sock.until("error")
    assert err["code"] == "diverged" and "lower train.lr" in err["message"].lower()
    assert sock.until("state")["running"] is False


def test_image_mode_frames(sock):
    spec = {"data": {"name": "digits", "limit": 300, "train_ratio": 0.7},
            "model": {"layers": [{"type": "conv2d", "filters": 4}, {"type": "maxpool2d", "kernel": 2},
                                 {"type": "flatten"}, {"type": "dense", "units": 8}], "activation": "relu"}}
    ready = sock.start(spec)
    assert ready["info"]["mode"] == "image" and ready["info"]["num_classes"] == 10
    imgs = ready["images"]
    assert imgs["shape"] == [1, 8, 8] and len(imgs["pixels"]) == len(imgs["labels"]) == 40
    sock.send(type="view", grid=50, unit_grid=20, image=5)
    sock.send(type="step")
    header, arrays = sock.frame()
    twin = Trainer(from_dict(spec))
    twin.train_epoch(probe=True)
    x5 = twin.data.x_test[5]
    np.testing.assert_allclose(imgs["pixels"][5], x5.reshape(-1).numpy(), atol=1e-3)
    maps = probes.feature_maps(twin.model, x5)
    assert {k for k in arrays if k.startswith("fmap:")} == {f"fmap:{k}" for k in maps}
    for k, m in maps.items():
        np.testing.assert_allclose(arrays[f"fmap:{k}"], m, atol=1e-4)
    kernels = {k: v for k, v in arrays.items() if k.startswith("filters")}
    assert kernels.keys() == {f"filters:{k}" for k in probes.conv_filters(twin.model)}
    for k, w in probes.conv_filters(twin.model).items():   # every conv layer's, the first one's included
        np.testing.assert_allclose(kernels[f"filters:{k}"], w, atol=1e-5)
    np.testing.assert_allclose(next(iter(kernels.values())), probes.filters(twin.model), atol=1e-5)
    assert header["image"]["index"] == 5 and header["image"]["label"] == int(twin.data.y_test[5])
    cm = np.array(header["confusion"])
    assert cm.shape == (10, 10) and cm.sum() == len(twin.data.y_test)
    wrong = header["mistakes"]
    assert wrong["count"] == cm.sum() - np.trace(cm)
    assert arrays["mistakes"].shape[0] == len(wrong["index"]) == min(24, wrong["count"])
    assert all(p != t for p, t in zip(wrong["pred"], wrong["true"]))
    assert "boundary" not in arrays


def test_session_cap_and_clean_up(tmp_path, wrap):
    from fastapi.testclient import TestClient

    app = create_app(Limits(sessions=1), runs_dir=tmp_path / "runs", allow_hosts=["testserver"])
    with TestClient(app) as c:
        with c.websocket_connect("/ws") as ws1:
            s1 = wrap(ws1)
            s1.start(SMALL)
            assert len(app.state.sessions) == 1
            own = next(iter(app.state.sessions))   # (other tests' sessions may share this process)
            with c.websocket_connect("/ws") as ws2:
                m = ws2.receive_json()
                assert m["type"] == "error" and m["code"] == "busy" and "1 at once" in m["message"]
            s1.send(type="play")
            s1.until("state")
        deadline = time.monotonic() + 10        # the closed tab's session ends and is dropped
        while time.monotonic() < deadline and (app.state.sessions or own.thread.is_alive()):
            time.sleep(0.02)
        assert not app.state.sessions
        assert not own.thread.is_alive()
        with c.websocket_connect("/ws") as ws3:       # a place is free again
            assert wrap(ws3).start(SMALL)["type"] == "ready"


def test_session_drops_its_trainer_when_closed(tmp_path):
    from nnplay.server.session import Session
    from nnplay.runs import RunStore
    from nnplay.server.protocol import SpecMsg

    sent = []
    s = Session(sent.append, Limits(), RunStore(tmp_path), tmp_path, {})
    s.post(SpecMsg(type="spec", spec=SMALL))
    deadline = time.monotonic() + 10
    while s.trainer is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert isinstance(s.trainer, Trainer)
    s.close()
    assert not s.thread.is_alive() and s.trainer is None
    assert any('"ready"' in m for m in sent if isinstance(m, str))


def _write_idx(folder, n=60, h=6, w=6, seed=0):
    """A tiny MNIST-format set: IDX magic 0x0803 images, 0x0801 labels (big-endian dims)."""
    import struct
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    y = np.arange(n) % 3
    X = (rng.random((n, h, w)) * 60 + y[:, None, None] * 60).astype(np.uint8)
    (folder / "train-images-idx3-ubyte").write_bytes(struct.pack(">HBBIII", 0, 8, 3, n, h, w) + X.tobytes())
    (folder / "train-labels-idx1-ubyte").write_bytes(struct.pack(">HBBI", 0, 8, 1, n) + y.astype(np.uint8).tobytes())


def test_idx_sets_from_the_data_dir(tmp_path, wrap):
    from fastapi.testclient import TestClient
    from nnplay.server.app import find_idx_sets

    _write_idx(tmp_path / "sets" / "tiny")
    (tmp_path / "sets" / "empty").mkdir()
    found = find_idx_sets(tmp_path / "sets")
    assert found == {"tiny": str((tmp_path / "sets" / "tiny").resolve())}
    app = create_app(Limits(image_samples=100), runs_dir=tmp_path / "runs", data_dir=tmp_path / "sets",
                     allow_hosts=["testserver"])
    with TestClient(app) as c, c.websocket_connect("/ws") as ws:
        s = wrap(ws)
        assert c.get("/api/info").json()["options"]["image_sets"] == {"digits": None, **found}
        layers = [{"type": "conv2d", "filters": 2}, {"type": "flatten"}]
        ready = s.start({"data": {"name": "idx", "path": found["tiny"], "limit": 60}, "model": {"layers": layers}})
        assert ready["info"]["mode"] == "image" and ready["info"]["input_shape"] == [1, 6, 6]
        assert ready["info"]["num_classes"] == 3
        s.send(type="spec", spec={"data": {"name": "idx", "path": found["tiny"]}, "model": {"layers": layers}})
        assert "data.limit" in s.until("error")["message"]
        s.send(type="spec", spec={"data": {"name": "idx", "path": found["tiny"], "limit": 101}})
        assert "allowed: 1..100" in s.until("error")["message"]


def test_frames_say_which_step_trains(sock, monkeypatch):
    from nnplay.train import compiled
    monkeypatch.setattr(compiled, "COMPILE_AFTER", 0.0)   # build the compiled step at once
    sock.start({**SMALL, "train": {"compile": True}})
    first, _ = sock.frame()
    assert first["engine"] == "eager"
    sock.send(type="play")
    header, deadline = first, time.monotonic() + 120
    while header["engine"] != "compiled" and time.monotonic() < deadline:
        header, _ = sock.frame()
        assert header["engine"] in ("compiling", "compiled")
    assert header["engine"] == "compiled"
    later, _ = sock.frame()
    assert later["engine"] == "compiled" and later["epoch"] > header["epoch"]
    sock.send(type="pause")


def test_clicked_points_keep_the_network_training(sock):
    base = {"data": {"name": "gauss", "samples": 200}, "model": {"hidden": [4]}}
    sock.start(base)
    for _ in range(3):
        sock.send(type="step")
    before, arrays = sock.frame()
    assert before["epoch"] == 3
    rows = [[x, y, int(x + y > 0)] for x, y in np.random.default_rng(0).uniform(-4, 4, (120, 2)).tolist()]
    sock.send(type="spec", spec={**base, "data": {"name": "points", "points": rows}})
    ready = sock.until("ready")
    assert ready["kept"] is True and ready["spec"]["data"]["name"] == "points"
    assert sum(len(v) for v in ready["points"].values()) == 120
    header, kept = sock.frame()
    assert header["epoch"] == 3                     # the same network, not a new one at epoch 0
    np.testing.assert_array_equal(kept["weight:dense1"], arrays["weight:dense1"])
    sock.send(type="step")
    header, _ = sock.frame()
    assert header["epoch"] == 4
    # a point of a third class needs another output layer: a new network
    sock.send(type="spec", spec={**base, "data": {"name": "points", "points": rows + [[0.0, 0.0, 2]]}})
    ready = sock.until("ready")
    assert "kept" not in ready and ready["info"]["num_classes"] == 3
    header, _ = sock.frame()
    assert header["epoch"] == 0
