"""The practice views' socket messages (protocol.md: `augment`, `ask`, `neighbors`) and image
folders from --data-dir: each answer is what the library gives for the session's own model and
data, bad requests get an error frame naming the field and the socket keeps working."""
from __future__ import annotations

import numpy as np
import torch
from fastapi.testclient import TestClient
from PIL import Image

from nnplay import active, retrieval
from nnplay.data import augment
from nnplay.server import Limits, create_app
from nnplay.server.app import _presets
from nnplay.server.practice import ASK_GRID, find_folder_sets
from nnplay import probes

HOST, ORIGIN = "testserver", "http://testserver"   # as conftest.py: TestClient's Host, the page's Origin

IMAGE = _presets()["image"]
AUGMENTED = {**IMAGE, "data": {**IMAGE["data"], "augment": [{"type": "rotate", "p": 1.0, "degrees": 20},
                                                          {"type": "mixup", "p": 1.0}]}}
METRIC = {**IMAGE, "model": {**IMAGE["model"], "embedding": 16}}


def test_augment_preview_is_the_library_preview(client, sock):
    sock.start(AUGMENTED)
    h, a = sock.answer("augment", n=12, seed=3)
    (session,) = client.app.state.sessions
    ref = augment.preview(session.trainer.spec, 12, 3, data=session.trainer.data)
    np.testing.assert_allclose(a["before"], ref["before"].numpy())
    np.testing.assert_allclose(a["after"], ref["after"].numpy(), atol=1e-6)
    np.testing.assert_allclose(a["targets"], ref["targets"].numpy(), atol=1e-6)
    assert h["labels"] == ref["labels"].tolist() and h["soft"] and h["n"] == 12
    assert a["targets"].shape == (12, 10) and np.allclose(a["targets"].sum(1), 1, atol=1e-5)
    assert not np.allclose(a["before"], a["after"])            # p = 1: every image changed
    assert [t["type"] for t in h["transforms"]] == ["rotate", "mixup"]


def test_augment_errors(sock):
    sock.start(IMAGE)
    err = sock.error(type="augment", n=33)
    assert err["code"] == "limit" and "augment.n" in err["message"] and "1..32" in err["message"]
    sock.send(type="spec", spec={"data": {"name": "spiral"}})
    sock.until("ready")
    err = sock.error(type="augment")
    assert err["code"] == "message" and "image mode" in err["message"]


def test_ask_is_active_ask_on_the_plane(trained):
    sock, tr = trained({"data": {"name": "xor"}}, 3)
    pool = probes.plane(tr.data.extent, ASK_GRID)
    for strategy in active.STRATEGIES:
        h, a = sock.answer("ask", k=6, strategy=strategy)
        want = active.ask(tr, pool, 6, strategy)
        assert h["indices"] == want and h["strategy"] == strategy
        np.testing.assert_allclose(a["points"], pool[want])
    probs = np.asarray(h["probs"])
    np.testing.assert_allclose(probs, tr.predict(tr.data.featurize(pool[want])).numpy(), atol=1e-6)
    h, _ = sock.answer("ask", k=6, strategy="margin")        # margin: the smallest gaps first
    gaps = np.sort(np.asarray(h["probs"]), 1)
    all_gaps = np.sort(tr.predict(tr.data.featurize(pool)).numpy(), 1)
    assert (gaps[:, -1] - gaps[:, -2]).max() <= np.sort(all_gaps[:, -1] - all_gaps[:, -2])[5] + 1e-6


def test_ask_errors(sock):
    sock.start({"data": {"name": "xor"}})
    err = sock.error(type="ask", strategy="guess")
    assert err["code"] == "message" and "ask.strategy" in err["message"] and "margin" in err["message"]
    err = sock.error(type="ask", k=21)
    assert err["code"] == "limit" and "ask.k" in err["message"]
    sock.send(type="spec", spec={"data": {"name": "reg-plane"}})
    sock.until("ready")
    assert "2-D mode" in sock.error(type="ask")["message"]


def test_neighbors_are_retrieval_neighbors(trained):
    sock, tr = trained(METRIC, 1)
    h, a = sock.answer("neighbors", image=5, k=6)
    emb = retrieval.embed(tr.model, tr.data.x_test)
    idx, sims = retrieval.neighbors(emb, 5, 6)
    assert [n["index"] for n in h["neighbors"]] == idx and 5 not in idx
    np.testing.assert_allclose([n["similarity"] for n in h["neighbors"]], sims, atol=1e-6)
    assert [n["label"] for n in h["neighbors"]] == tr.data.y_test[idx].tolist()
    # the cosine similarity, computed here with torch's own op on the network's embed layer
    with torch.no_grad():
        tr.model.eval()
        z = tr.model[:-1](tr.data.x_test)
    ref = torch.nn.functional.cosine_similarity(z[5:6], z[idx]).numpy()
    np.testing.assert_allclose([n["similarity"] for n in h["neighbors"]], ref, atol=1e-5)
    np.testing.assert_allclose(a["images"], tr.data.x_test[idx].numpy())
    np.testing.assert_allclose(a["query"], tr.data.x_test[5].numpy())


def test_neighbors_errors(sock):
    sock.start(IMAGE)
    err = sock.error(type="neighbors", image=0)
    assert err["code"] == "message" and "model.embedding" in err["message"]
    sock.send(type="spec", spec=METRIC)
    sock.until("ready")
    err = sock.error(type="neighbors", image=10_000)
    assert "neighbors.image" in err["message"]
    assert sock.error(type="neighbors", k=17)["code"] == "limit"


def _write_folder(root, sizes=((8, 8), (10, 6))):
    """Two classes of small PNG/JPEG images, grey and RGB, mixed sizes."""
    rng = np.random.default_rng(0)
    for k, cls in enumerate(("dark", "light")):
        (root / cls).mkdir(parents=True)
        for i in range(8):
            w, h = sizes[i % 2]
            px = (rng.random((h, w)) * 80 + 150 * k).astype(np.uint8)
            im = Image.fromarray(px) if i % 3 else Image.fromarray(np.stack([px] * 3, -1))
            im.save(root / cls / f"{i}.{'png' if i % 2 else 'jpg'}")


def test_folder_sets_are_offered_and_train(tmp_path, wrap):
    data = tmp_path / "data"
    _write_folder(data / "shades")
    (data / "one-class" / "only").mkdir(parents=True)           # not a set: one class
    (data / "one-class" / "only" / "a.png").write_bytes(b"")
    _write_folder(data / "big")
    assert find_folder_sets(data, Limits()) == {"big": str((data / "big").resolve()),
                                                 "shades": str((data / "shades").resolve())}
    assert find_folder_sets(data, Limits(image_samples=15)) == {}   # 16 images each: over the cap
    app = create_app(Limits(), runs_dir=tmp_path / "runs", data_dir=data, allow_hosts=[HOST])
    with TestClient(app, headers={"origin": ORIGIN}) as c, c.websocket_connect("/ws") as ws:
        sock = wrap(ws)
        hello = sock.until("hello")
        path = hello["options"]["folder_sets"]["shades"]
        assert hello["options"]["strategies"] == list(active.STRATEGIES)
        sock.send(type="spec", spec={**IMAGE, "data": {"name": "folder", "path": path, "size": 8,
                                                      "train_ratio": 0.75, "val_ratio": 0.0}})
        ready = sock.until("ready")
        assert ready["info"]["mode"] == "image" and ready["info"]["class_names"] == ["dark", "light"]
        assert ready["info"]["input_shape"] == [3, 8, 8]           # channels from the data
        sock.send(type="spec", spec={**IMAGE, "data": {"name": "folder", "path": str(tmp_path), "size": 8}})
        err = sock.until("error")
        assert err["code"] == "spec" and "not an image folder this server offers" in err["message"]
        sock.send(type="spec", spec={**IMAGE, "data": {"name": "folder", "path": path}})   # mixed sizes
        err = sock.until("error")
        assert err["code"] == "spec" and err["ko"]
