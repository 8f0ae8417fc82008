"""A weight set by hand over the socket (a click on a link of the 2-D diagram): the server
passes it to Trainer.set_weight, the next frame shows it, and training goes on from it."""
from __future__ import annotations

import pytest

SMALL = {"data": {"samples": 200}, "model": {"hidden": [6, 4]}}


def test_a_weight_and_a_bias_set_by_hand_show_in_the_next_frame(sock):
    sock.start(SMALL)
    sock.send(type="weight", layer="dense2", to=1, source=3, value=0.75)
    sock.send(type="weight", layer="out", to=0, value=-0.5)     # no source: the bias
    header, arrays = sock.frame()
    assert header["epoch"] == 0                                 # nothing was reset
    assert arrays["weight:dense2"][1, 3] == pytest.approx(0.75)
    assert arrays["bias:out"][0] == pytest.approx(-0.5)
    sock.send(type="step")
    header, arrays = sock.frame()
    assert header["epoch"] == 1 and arrays["weight:dense2"][1, 3] != pytest.approx(0.75, abs=1e-7)


def test_a_bad_weight_gets_an_error_naming_the_allowed_values_and_the_session_goes_on(sock):
    sock.start(SMALL)
    sock.send(type="weight", layer="dense7", to=0, source=0, value=1.0)
    err = sock.until("error")
    assert err["code"] == "message"           # as for every other bad message (it was "spec")
    assert "weight.layer" in err["message"] and "dense1, dense2, out" in err["message"]
    assert "다음 중 하나여야" in err["ko"]
    sock.send(type="weight", layer="dense1", to=9, source=0, value=1.0)
    assert "0..5" in sock.until("error")["message"]
    sock.send(type="weight", layer="dense1", to=0, source=0, value=1e400)   # JSON's Infinity
    assert sock.until("error")["code"] == "message"
    sock.send(type="step")
    header, _ = sock.frame()
    assert header["epoch"] == 1
