"""The socket protocol: message validation and the binary frame layout (protocol.md)."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from nnplay.server import Limits
from nnplay.server.limits import LimitError
from nnplay.server.protocol import (MAGIC, TYPES, MessageError, Play, SpecMsg, View, dumps, pack_frame,
                                    parse, unpack_frame)
from nnplay.spec import UserError

LIMITS = Limits()


def test_each_message_type_parses():
    for t in TYPES:
        extra = {"spec": {}} if t == "spec" else {"what": "attack"} if t == "trust" else \
            {"layer": "out", "to": 0, "value": 0.5} if t == "weight" else \
            {"layer": "conv1"} if t == "inspect" else {}
        assert parse(json.dumps({"type": t, **extra}), LIMITS).type == t
    m = parse('{"type": "spec", "spec": {"train": {"lr": 0.1}}}', LIMITS)
    assert isinstance(m, SpecMsg) and m.spec == {"train": {"lr": 0.1}}
    assert isinstance(parse('{"type": "play"}', LIMITS), Play)
    v = parse('{"type": "view", "grid": 64, "image": 3}', LIMITS)
    assert isinstance(v, View) and (v.grid, v.unit_grid, v.image) == (64, 20, 3)


@pytest.mark.parametrize("text, words", [
    ("not json", ["not valid JSON"]),
    ("[1, 2]", ["unknown message type", "allowed", "spec", "play"]),
    ('{"type": "launch"}', ["'launch'", "allowed"]),
    ('{"type": "play", "speed": 2}', ["play.speed", "Extra inputs"]),
    ('{"type": "spec"}', ["spec.spec", "required"]),
    ('{"type": "spec", "spec": [1]}', ["spec.spec"]),
    ('{"type": "view", "grid": 2}', ["view.grid"]),
    ('{"type": "save", "name": ""}', ["save.name"]),
    ("[" * 100_000, ["not valid JSON"]),
])
def test_malformed_messages_name_what_is_wrong(text, words):
    with pytest.raises(MessageError) as e:
        parse(text, LIMITS)
    for w in words:
        assert w in str(e.value)
    assert isinstance(e.value, UserError)   # the CLI / server treat it as a user error


def test_binary_and_oversized_messages_are_refused():
    with pytest.raises(MessageError, match="JSON text, not binary"):
        parse(b'{"type": "play"}', LIMITS)
    small = Limits(message_bytes=100)
    with pytest.raises(LimitError, match="over 100 bytes"):
        parse(json.dumps({"type": "spec", "spec": {"name": "x" * 200}}), small)


def test_view_is_capped():
    with pytest.raises(LimitError, match=r"view.grid: 101 .* allowed: 8..100"):
        parse('{"type": "view", "grid": 101}', LIMITS)
    with pytest.raises(LimitError, match=r"view.unit_grid: 41 .* allowed: 4..40"):
        parse('{"type": "view", "unit_grid": 41}', LIMITS)


def test_frame_layout_by_hand():
    """One array [1.0]: magic, little-endian header length, padded JSON, then float32 bytes."""
    data = pack_frame({"type": "frame", "epoch": 3}, {"a": np.array([1.0])})
    assert data[:4] == MAGIC
    (n,) = struct.unpack("<I", data[4:8])
    assert n % 4 == 0
    header = json.loads(data[8:8 + n])
    assert header == {"type": "frame", "epoch": 3, "arrays": [{"name": "a", "shape": [1], "offset": 0}]}
    assert data[8 + n:] == b"\x00\x00\x80\x3f"        # 1.0 as float32, little-endian
    assert len(data) == 8 + n + 4


def test_frame_round_trip_keeps_shapes_and_values():
    rng = np.random.default_rng(0)
    arrays = {"boundary": rng.normal(size=(7, 7)).astype(np.float32),
              "unit:dense1": rng.normal(size=(3, 5, 5)), "weight:out": np.arange(6.0).reshape(1, 6),
              "empty": np.zeros((0, 2))}
    header, back = unpack_frame(pack_frame({"epoch": 1, "metrics": {"x": 0.5}}, arrays))
    assert header["epoch"] == 1 and header["metrics"] == {"x": 0.5}
    offsets = [m["offset"] for m in header["arrays"]]
    assert offsets == [0, 7 * 7 * 4, 7 * 7 * 4 + 75 * 4, 7 * 7 * 4 + 75 * 4 + 6 * 4]
    for k, a in arrays.items():
        assert back[k].shape == a.shape
        np.testing.assert_array_equal(back[k], a.astype(np.float32))
    with pytest.raises(ValueError, match="not an nnplay frame"):
        unpack_frame(b"JUNK" + bytes(8))


def test_non_finite_numbers_become_null():
    """Browsers' JSON.parse rejects NaN and Infinity: they go out as null."""
    text = dumps({"a": float("nan"), "b": [1.5, float("inf")], "c": {"d": -float("inf"), "e": 2}})
    assert json.loads(text) == {"a": None, "b": [1.5, None], "c": {"d": None, "e": 2}}
    assert "NaN" not in text and "Infinity" not in text
    header, _ = unpack_frame(pack_frame({"grad_norm": {"dense1": float("nan")}}, {}))
    assert header["grad_norm"] == {"dense1": None}


def test_a_series_csv_is_read_only_from_uploads(tmp_path):
    """data.series = "csv" names a file like data.name = "csv": the playground reads uploads only
    (its errors would otherwise show a header line and cells of any file on the server)."""
    from nnplay.server.limits import check_spec
    from nnplay.spec import from_dict
    spec = from_dict({"data": {"name": "series", "series": "csv", "path": "/etc/passwd", "target": "x"}})
    with pytest.raises(LimitError, match="data.path: the playground reads only files uploaded"):
        check_spec(spec, LIMITS, tmp_path, {})
    check_spec(from_dict({"data": {"name": "series", "series": "sunspots"}}), LIMITS, tmp_path, {})
