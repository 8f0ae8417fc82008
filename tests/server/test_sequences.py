"""The Sequences mode over the socket (protocol.md, `view.sequence`, `view.temperature`): frames
carry what the library's own functions give for the session's model (forecasts and baselines of
data/series.py, probes.gates, probes.time_gradients, text.sample), and bad input gets an error
frame naming the field while the socket keeps serving."""
from __future__ import annotations

import numpy as np

from nnplay import probes
from nnplay.data.text import Vocabulary
from nnplay.server.app import _presets
from nnplay.text import sample

PRESETS = _presets()


def _trained(client, sock, spec, steps=1):
    ready = sock.start(spec)
    for _ in range(steps):
        sock.send(type="step")
        sock.until("state")
    (session,) = client.app.state.sessions
    return ready, session.trainer


def test_hello_offers_the_sequence_sources_and_presets(sock):
    hello = sock.until("hello")
    o = hello["options"]
    assert {"sunspots", "co2", "nile", "elnino", "sines"} <= set(o["series"])
    assert o["recurrent"] == ["rnn", "lstm", "gru"] and o["sequence_data"] == ["series", "adding", "text"]
    assert "constitution" in o["corpora"]
    assert {"series", "adding", "text"} <= set(hello["presets"])


def test_series_frame_is_the_library_forecast_gates_and_gradients(client, sock):
    spec = {**PRESETS["series"], "data": {**PRESETS["series"]["data"], "samples": 200}}
    ready, tr = _trained(client, sock, spec)
    info = ready["info"]
    assert info["mode"] == "sequence"
    seq = ready["sequence"]
    f = tr.data.forecasts
    assert len(seq["truth"]) == len(seq["test_times"]) == len(tr.data.x_test)
    for name in ("persistence", "seasonal_naive", "ar"):          # MAE as data/series.py scores it
        assert abs(seq["baselines"][name]["test_mae"] - f.scores(f.baselines[name])["mae"]) < 1e-9
    sock.send(type="view", sequence=5)
    h, a = sock.frame()
    assert h["sequence"]["index"] == 5 and h["sequence"]["cell"] == "lstm"
    pred = f.unscale(tr.predict(tr.data.x_test).numpy().reshape(len(tr.data.x_test), -1))
    np.testing.assert_allclose(a["forecast"], pred[:, 0], rtol=1e-5, atol=1e-5)
    assert abs(h["scores"]["mae"] - np.abs(pred - f.targets("test")).mean()) < 1e-4
    x, y = tr.data.x_test[5], tr.data.y_test[5:6]
    np.testing.assert_allclose(a["time_grad"], probes.time_gradients(tr.model, tr.loss_fn, x[None], y), rtol=1e-5)
    g = probes.gates(tr.model, x)
    assert set(k for k in a if k.startswith("gate:")) == {"gate:input", "gate:forget", "gate:cell", "gate:output"}
    np.testing.assert_allclose(a["gate:forget"], g["gates"]["forget"], atol=1e-6)
    assert a["gate:forget"].shape == (spec["data"]["window"], 16) and h["sequence"]["gap"] < 1e-5


def test_adding_gru_has_update_and_reset_gates(client, sock):
    spec = {**PRESETS["adding"], "data": {**PRESETS["adding"]["data"], "samples": 200, "length": 12},
            "model": {"layers": [{"type": "gru", "units": 8}]}}
    ready, tr = _trained(client, sock, spec)
    assert ready["sequence"]["kind"] == "adding"
    np.testing.assert_allclose(ready["sequence"]["truth"], tr.data.y_test.numpy(), atol=1e-5)
    h, a = sock.frame()
    assert {k for k in a if k.startswith("gate:")} == {"gate:reset", "gate:update", "gate:new"}
    assert a["time_grad"].shape == (12,) and a["forecast"].shape == (len(tr.data.x_test),)


def test_text_sample_follows_the_temperature(client, sock):
    spec = {**PRESETS["text"], "data": {**PRESETS["text"]["data"], "limit": 1500}}
    ready, tr = _trained(client, sock, spec)
    assert ready["sequence"]["baselines"]["bigram"]["test_loss"] > 0
    sock.send(type="view", temperature=0.5, sample_length=40)
    h, a = sock.frame()
    vocab = Vocabulary(list(tr.data.vocabulary))
    ref = sample(tr.model, vocab, 16, 40, temperature=0.5, seed=tr.epoch)
    assert h["sample"] == {"text": ref, "temperature": 0.5, "epoch": 1} and len(ref) == 40
    assert "time_grad" not in a and a["gate:input"].shape == (16, 64)   # ids have no input gradient
    assert h["sequence"]["text"] == vocab.decode(tr.data.x_test[0])


def test_bad_sequence_input_gets_an_error_and_the_socket_serves_on(client, sock):
    spec = {**PRESETS["adding"], "data": {**PRESETS["adding"]["data"], "samples": 100, "length": 8}}
    sock.start(spec)
    for bad, field in [({"temperature": 0}, "view.temperature"), ({"temperature": 99}, "view.temperature"),
                       ({"sample_length": 5000}, "view.sample_length"), ({"sequence": -1}, "view.sequence")]:
        sock.send(type="view", **bad)
        err = sock.until("error")
        assert err["message"].startswith(field), err
    for data, field in [({"name": "adding", "length": 900}, "data.length"),
                        ({"name": "series", "window": 500}, "data.window"),
                        ({"name": "text", "window": 300}, "data.window")]:
        sock.send(type="spec", spec={"data": data, "model": {"layers": [{"type": "lstm", "units": 4}]}})
        err = sock.until("error")
        assert err["code"] == "spec" and err["message"].startswith(field), err
    sock.send(type="spec", spec={"data": {"name": "text", "limit": 500, "window": 4},
                                 "model": {"layers": [{"type": "embedding", "dim": 4},
                                                      {"type": "rnn", "units": 4}]}})
    assert sock.until("ready")["sequence"]["kind"] == "text"        # still serving
    h, a = sock.frame()
    assert h["sequence"]["cell"] == "rnn" and a["hidden"].shape == (4, 4)
    assert not any(k.startswith("gate:") for k in a)               # a plain RNN has no gates
