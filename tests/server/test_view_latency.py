"""A test image picked while the network trains is shown at once: the session answers a view
change between two batches, not after the epoch in progress (issue 15, item 18)."""
from __future__ import annotations

import time
import tomllib
from importlib import resources

from nnplay.runs import RunStore
from nnplay.server import Limits
from nnplay.server.protocol import FrameRequest, Play, SpecMsg, View, unpack_frame
from nnplay.server.session import Session


def _frames(sent: list, since: int):
    return [(t, unpack_frame(m)[0]) for t, m in sent[since:] if isinstance(m, bytes)]


def test_a_picked_test_image_comes_back_within_the_epoch(tmp_path):
    spec = tomllib.loads(resources.files("nnplay.server").joinpath("presets/image.toml").read_text())
    spec["train"].update(batch_size=1, compile=False)   # ~1,400 steps: an epoch of a second or more
    sent: list = []
    s = Session(lambda m: sent.append((time.perf_counter(), m)), Limits(), RunStore(tmp_path / "runs"),
                tmp_path, {})
    try:
        s.post(SpecMsg(type="spec", spec=spec))
        s.post(FrameRequest(type="frame"))
        s.post(Play(type="play"))
        deadline = time.monotonic() + 120
        seen = 0   # ask again as each frame arrives, as the page does (frames come mid-epoch too)
        while not [h for _, h in _frames(sent, 0) if h["type"] == "frame" and h["epoch"] >= 1]:
            assert time.monotonic() < deadline, "no frame after the first epoch"
            if len(got := _frames(sent, 0)) > seen:
                seen = len(got)
                s.post(FrameRequest(type="frame"))
            time.sleep(0.01)
        # an epoch has just ended and the next begun: before the change, the pick waited for it
        n, t0 = len(sent), time.perf_counter()
        s.post(View(type="view", image=7))
        s.post(FrameRequest(type="frame"))
        while not (shown := [(t, h) for t, h in _frames(sent, n) if h.get("image", {}).get("index") == 7]):
            assert time.monotonic() < deadline, "the picked image never came"
            time.sleep(0.005)
        t, header = shown[0]
        epoch = s.epoch_seconds
        assert t - t0 < epoch / 3, (t - t0, epoch)   # mid-epoch, not after it
        assert header["step"] > 0   # between batches: "epoch" counts the epochs finished
        assert len(header["confusion"]) == 10   # a whole frame, as after an epoch
    finally:
        s.close(5)
