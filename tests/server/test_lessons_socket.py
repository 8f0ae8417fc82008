"""The course's lessons over the socket (protocol.md: `hello.lessons`, the `lesson` message,
`measured`): the server only carries them; the spec and the measured figure are the library's
(nnplay.lessons)."""
from __future__ import annotations

import pytest

from nnplay import lessons


def _trainer(client):
    (session,) = client.app.state.sessions
    return session.trainer


def test_hello_lists_the_course_grouped_in_both_languages(sock):
    hello = sock.until("hello")
    assert hello["lessons"] == lessons.grouped()
    first = hello["lessons"][0]
    assert first["group"] == "neurons" and first["lessons"][0]["id"] == "xor"
    xor = first["lessons"][0]
    assert xor["compare"] and xor["epochs"] == [100, 100] and set(xor["title"]) == {"en", "ko"}


def test_a_lesson_part_trains_its_epochs_then_pauses_and_measures_its_claim(client, sock):
    sock.until("hello")
    sock.send(type="lesson", lesson="xor", part=1, epochs=4)
    assert sock.until("state")["running"] is False
    ready = sock.until("ready")
    assert ready["spec"] == lessons.lesson("xor").spec(1, epochs=4).to_dict()
    sock.send(type="play")
    assert sock.until("state")["running"] is True
    assert sock.until("state")["running"] is False            # the lesson's epochs are trained
    m = sock.until("measured")
    tr = _trainer(client)
    assert tr.epoch == 4
    assert m == {"type": "measured", "lesson": "xor", "part": 1, "measure": "test_accuracy",
                 "value": pytest.approx(tr.evaluate("test")["accuracy"]), "at_most": None,
                 "at_least": 0.95, "holds": m["value"] >= 0.95, "epoch": 4, "epochs": 100}
    # stepping past the end trains on as the playground does, without measuring again
    sock.send(type="step")
    sock.until("state")
    h, _ = sock.frame()
    assert h["epoch"] == 5


def test_a_step_that_reaches_the_end_measures_and_leaving_stops_it(client, sock):
    sock.until("hello")
    sock.send(type="lesson", lesson="vanishing_gradient", part=0, epochs=1)
    sock.until("ready")
    sock.send(type="step")
    m = sock.until("measured")
    assert m["measure"] == "first_layer_gradient" and m["value"] == pytest.approx(
        lessons.first_layer_gradient(_trainer(client))) and m["epochs"] == 30
    sock.send(type="lesson", lesson="vanishing_gradient", part=0, epochs=1)
    sock.until("ready")
    sock.send(type="lesson", lesson=None)                     # left: no answer, no measuring
    sock.send(type="step")
    sock.until("state")
    sock.send(type="frame")
    for _ in range(50):
        what, msg = sock.recv()
        assert not (what == "json" and msg["type"] == "measured")
        if what == "frame":
            break


@pytest.mark.parametrize("msg, words", [
    ({"lesson": "nope"}, "'nope' is not a lesson; allowed: xor, spiral"),
    ({"lesson": "xor", "part": 5}, "part 5 does not exist; allowed: 0..1"),
])
def test_unknown_lessons_and_parts_are_errors_and_the_socket_serves_on(sock, msg, words):
    sock.until("hello")
    sock.send(type="lesson", **msg)
    err = sock.until("error")
    assert err["code"] == "spec" and words in err["message"] and "가능한 값" in err["ko"]
    sock.send(type="lesson", lesson="spiral", epochs=0)
    assert "lesson.epochs" in sock.until("error")["message"]
    sock.send(type="lesson", lesson="spiral")
    assert sock.until("ready")["spec"]["train"]["epochs"] == 200


def test_a_lesson_admits_its_own_sizes_in_its_session_only(client, sock, wrap):
    """10 sigmoid layers are over the page's cap of 8: the lesson's own file may train them and
    the learner may edit them (a live change, a rebuild), but not grow past them."""
    hello = sock.until("hello")
    assert hello["limits"]["hidden_layers"] < 10
    sock.send(type="lesson", lesson="vanishing_gradient", part=0)
    spec = sock.until("ready")["spec"]
    assert len(spec["model"]["hidden"]) == 10
    sock.send(type="spec", spec={**spec, "train": {**spec["train"], "lr": 0.5}})
    assert sock.until("updated")["spec"]["train"]["lr"] == 0.5
    sock.send(type="spec", spec={**spec, "model": {**spec["model"], "activation": "relu"}})
    assert sock.until("ready")["spec"]["model"]["activation"] == "relu"
    sock.send(type="spec", spec={**spec, "model": {**spec["model"], "hidden": [8] * 11}})
    assert "11 is over this server's limit; allowed: 1..10" in sock.until("error")["message"]
    with client.websocket_connect("/ws") as other:   # another session keeps the server's caps
        o = wrap(other)
        o.until("hello")
        o.send(type="spec", spec=spec)
        assert "allowed: 1..8" in o.until("error")["message"]
    sock.send(type="lesson", lesson=None)             # leaving the lesson gives its sizes back
    sock.send(type="spec", spec=spec)
    assert "allowed: 1..8" in sock.until("error")["message"]
    sock.send(type="lesson", lesson="xor", part=0)    # another lesson's sizes replace them
    sock.until("ready")
    sock.send(type="spec", spec=spec)
    assert "allowed: 1..8" in sock.until("error")["message"]
