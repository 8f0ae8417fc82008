"""Frames between batches (Trainer.between_batches): a long epoch's picture moves while it
trains, and a watched run learns exactly what an unwatched one does."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from nnplay.server import Limits, create_app
from nnplay.spec import from_dict
from nnplay.train import Trainer

from .conftest import HOST, ORIGIN, Socket

# 2,000 training points in batches of one: an epoch of 2,000 steps (a fraction of a second or more)
LONG = {"data": {"name": "spiral", "samples": 5000}, "model": {"hidden": [8, 8]},
        "train": {"batch_size": 1, "lr": 0.01}}


@pytest.fixture
def long_sock(tmp_path):
    """A socket to a server that allows 20,000 points: epochs of 8,000 steps (a quarter of a
    second or more on any CPU), whatever the machine."""
    app = create_app(Limits(samples=20_000), runs_dir=tmp_path / "runs", allow_hosts=[HOST])
    with TestClient(app, headers={"origin": ORIGIN}) as c, c.websocket_connect("/ws") as ws:
        yield Socket(ws)


def frames_while_playing(sock, enough) -> list[tuple[dict, dict]]:
    """Play, asking for frames as the page does (one outstanding), until ``enough(frames)``;
    then pause."""
    sock.send(type="play")
    got, deadline = [], time.monotonic() + 120
    while not enough(got) and time.monotonic() < deadline:
        got.append(sock.frame())
    sock.send(type="pause")
    sock.until("state")
    return got


def within_one_epoch(frames) -> list[tuple[dict, dict]]:
    """The longest run of consecutive frames between batches of one epoch."""
    best, run = [], []
    for f in frames:
        h = f[0]
        if h["step"] and run and run[-1][0]["epoch"] == h["epoch"]:
            run.append(f)
        else:
            run = [f] if h["step"] else []
        best = max(best, run, key=len)
    return best


def test_frames_arrive_during_an_epoch_and_show_it_moving(long_sock):
    sock = long_sock
    ready = sock.start({**LONG, "data": {"name": "spiral", "samples": 20_000}})
    n = ready["info"]["sizes"]["train"]
    frames = frames_while_playing(sock, lambda fs: len(within_one_epoch(fs)) >= 3)
    run = within_one_epoch(frames)
    assert len(run) >= 3, [(h["epoch"], h["step"]) for h, _ in frames]
    steps = [h["step"] for h, _ in run]
    assert steps == sorted(set(steps)) and 0 < steps[0] and steps[-1] <= n   # one epoch, going on
    for h, _ in run:
        assert h["steps"] == n and np.isfinite(h["batch_loss"])
        # the test metrics are those of the last finished epoch: one full pass, not one per frame
        assert h["metrics"] == run[0][0]["metrics"]
    # the live picture is the network as it is now: the boundary moves within the epoch
    assert not np.array_equal(run[0][1]["boundary"], run[-1][1]["boundary"])
    after, _ = sock.frame()                      # paused between epochs: step 0, a whole epoch more
    assert after["step"] == 0 and after["epoch"] > run[-1][0]["epoch"]


def test_a_watched_run_learns_what_an_unwatched_one_learns(client, sock):
    sock.start(LONG)
    frames = frames_while_playing(sock, lambda fs: any(h["step"] for h, _ in fs) and fs[-1][0]["epoch"] >= 2)
    assert any(h["step"] for h, _ in frames)     # frames went out between batches
    (session,) = client.app.state.sessions
    watched = session.trainer
    twin = Trainer(from_dict(LONG))
    for rec in watched.history:
        twin.train_epoch(probe="grad_norm" in rec)
    keys = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")
    assert [{k: r[k] for k in keys} for r in watched.history] == \
        [{k: r[k] for k in keys} for r in twin.history]
    for a, b in zip(watched.model.state_dict().values(), twin.model.state_dict().values()):
        assert torch.equal(a, b)


def test_frames_go_on_between_the_slices_of_the_evaluations_that_end_an_epoch(tmp_path):
    """An epoch ends with a pass over thousands of held-out points (Trainer.outputs, in
    slices): frames go out between its slices too, each with the epoch's batches all done,
    no batch loss, and (from the second epoch on) the last finished epoch's test metrics."""
    app = create_app(Limits(samples=20_000, units=256, fps=240), runs_dir=tmp_path / "runs",
                     allow_hosts=[HOST])
    spec = {"data": {"name": "spiral", "samples": 20_000, "train_ratio": 0.2, "val_ratio": 0.0},
            "model": {"hidden": [256, 256, 256]}, "train": {"batch_size": 16}}   # 16,000 test points

    def ending(frames) -> list[dict]:
        return [h for h, _ in frames if h["step"] == h["steps"] and "batch_loss" not in h and h["epoch"]]
    with TestClient(app, headers={"origin": ORIGIN}) as c, c.websocket_connect("/ws") as ws:
        sock = Socket(ws)
        ready = sock.start(spec)
        assert ready["info"]["sizes"]["test"] == 16_000
        frames = frames_while_playing(sock, lambda fs: len(ending(fs)) >= 3 and fs[-1][0]["epoch"] >= 2)
    seen = ending(frames)
    assert len(seen) >= 3, [(h["epoch"], h["step"], "batch_loss" in h) for h, _ in frames]
    for h in seen:
        assert 0 <= h["metrics"]["test_accuracy"] <= 1 and np.isfinite(h["metrics"]["test_loss"])
