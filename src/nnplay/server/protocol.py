"""The socket protocol's messages (documented in protocol.md) and the binary frame format.

Client -> server: one JSON object per text message, validated here (``parse``).
Server -> client: JSON text messages, and binary frames packed by ``pack_frame``:

    b"NNPF" | uint32 LE header length | header JSON (UTF-8, space-padded to 4 bytes)
            | float32 LE arrays, each at header["arrays"][i]["offset"] bytes after the header
"""
from __future__ import annotations

import json
import math
import struct
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .. import active
from ..spec import UserError
from ..trust import attacks, explain, uncertainty
from .limits import LimitError, Limits

MAGIC = b"NNPF"


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpecMsg(_Msg):
    """Set the experiment. Live-changeable fields apply without a reset, others rebuild."""
    type: Literal["spec"]
    spec: dict[str, Any]


class Play(_Msg):
    type: Literal["play"]


class Pause(_Msg):
    type: Literal["pause"]


class Step(_Msg):
    """One epoch; for a GAN ``part`` "d", "g" or "both" is one D-step, one G-step, or one of each."""
    type: Literal["step"]
    part: Literal["epoch", "d", "g", "both"] = "epoch"


class Reset(_Msg):
    type: Literal["reset"]


class FrameRequest(_Msg):
    """The page is ready to draw: send the latest state once (flow control)."""
    type: Literal["frame"]


class View(_Msg):
    """What the frames should carry: heat-map resolutions, the inspected test image; in the
    Sequences mode the inspected test sequence and the text sample's temperature and length."""
    type: Literal["view"]
    grid: Annotated[int, Field(ge=8)] = 50
    unit_grid: Annotated[int, Field(ge=4)] = 20
    image: Annotated[int, Field(ge=0)] = 0
    sequence: Annotated[int, Field(ge=0)] = 0
    temperature: Annotated[float, Field(gt=0, le=5, allow_inf_nan=False)] = 1.0
    sample_length: Annotated[int, Field(ge=1)] = 200
    # the Generative mode: fakes drawn, the manifold's noise grid, the two test images
    # interpolated and the decodings between them (inclusive)
    fakes: Annotated[int, Field(ge=1)] = 300
    manifold: Annotated[int, Field(ge=2)] = 12
    pick_a: Annotated[int, Field(ge=0)] = 0
    pick_b: Annotated[int, Field(ge=0)] = 1
    steps: Annotated[int, Field(ge=2)] = 9


class Save(_Msg):
    """Save the trained network as a run in the run store."""
    type: Literal["save"]
    name: Annotated[str, Field(min_length=1, max_length=60)] | None = None


class Trust(_Msg):
    """Question the current network (the "Can we believe it?" tab): attack, explain or
    uncertainty on test image ``image``; ``method`` from ``TRUST_METHODS[what]`` (None: the
    first, or every method for ``explain``); ``eps`` the L-inf budget of an attack."""
    type: Literal["trust"]
    what: Literal["attack", "explain", "uncertainty"]
    image: Annotated[int, Field(ge=0)] = 0
    method: str | None = None
    eps: Annotated[float, Field(allow_inf_nan=False)] = 0.1


class AugmentPreview(_Msg):
    """Image mode: a training batch of ``n`` images before and after ``data.augment``."""
    type: Literal["augment"]
    n: Annotated[int, Field(ge=1)] = 16
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class Ask(_Msg):
    """2-D mode, active learning: the ``k`` points the model is least sure of by ``strategy``
    (``nnplay.active.STRATEGIES``)."""
    type: Literal["ask"]
    k: Annotated[int, Field(ge=1)] = 5
    strategy: str = "margin"


class Neighbors(_Msg):
    """Image mode with ``model.embedding``: the ``k`` test images nearest to test image ``image``."""
    type: Literal["neighbors"]
    image: Annotated[int, Field(ge=0)] = 0
    k: Annotated[int, Field(ge=1)] = 8


class Weight(_Msg):
    """Set one weight by hand (a click on a link of the 2-D diagram; ``Trainer.set_weight``):
    dense layer ``layer``'s weight from unit ``source`` of the layer below to its unit ``to``;
    ``source`` null: unit ``to``'s bias."""
    type: Literal["weight"]
    layer: Annotated[str, Field(min_length=1, max_length=60)]
    to: Annotated[int, Field(ge=0)]
    source: Annotated[int, Field(ge=0)] | None = None
    value: Annotated[float, Field(allow_inf_nan=False)]


class Inspect(_Msg):
    """Image mode, the CNN explainer: how one number of a feature map is made, for the image the
    frames show: ``layer`` a conv or pool layer (or the activation right after a conv), ``unit``
    its channel, ``row`` and ``col`` the place (``probes.explain_at``)."""
    type: Literal["inspect"]
    layer: Annotated[str, Field(min_length=1, max_length=40)]
    unit: int = 0
    row: int = 0
    col: int = 0


class Input(_Msg):
    """Image mode: the learner's own image (drawn or uploaded), raw pixels in [0, 1] flat in
    (C, H, W) order, shown in the frames instead of the picked test image; null: back to it."""
    type: Literal["input"]
    pixels: list[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]] | None = None


class LessonMsg(_Msg):
    """Open part ``part`` of the course lesson ``lesson`` (``nnplay.lessons``; null: leave it):
    its spec is built, and when ``train.epochs`` (``epochs``, at most the lesson's) are trained
    the session pauses and sends the lesson's measured claim."""
    type: Literal["lesson"]
    lesson: Annotated[str, Field(max_length=60)] | None = None
    part: Annotated[int, Field(ge=0)] = 0
    epochs: Annotated[int, Field(ge=1)] | None = None


TRUST_METHODS = {"attack": attacks.METHODS, "explain": explain.METHODS,   # the library's lists
                 "uncertainty": uncertainty.ONE_MODEL}

ClientMessage = Annotated[Union[SpecMsg, Play, Pause, Step, Reset, FrameRequest, View, Save, Trust,
                                AugmentPreview, Ask, Neighbors, Inspect, Input, Weight, LessonMsg],
                          Field(discriminator="type")]
_adapter: TypeAdapter = TypeAdapter(ClientMessage)
TYPES = ("spec", "play", "pause", "step", "reset", "frame", "view", "save", "trust",
         "augment", "ask", "neighbors", "inspect", "input", "weight", "lesson")


class MessageError(UserError):
    """A malformed client message: the reply is an error frame, the socket stays open."""


def parse(text: str | bytes | None, limits: Limits) -> BaseModel:
    """Validate one client message; raise ``MessageError`` naming what is wrong."""
    if not isinstance(text, str):
        raise MessageError("messages must be JSON text, not binary")
    if len(text.encode("utf-8", "surrogatepass")) > limits.message_bytes:
        raise LimitError(f"message: over {limits.message_bytes} bytes")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise MessageError("message: not valid JSON") from None
    if not isinstance(obj, dict) or obj.get("type") not in TYPES:
        got = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise MessageError(f"type: unknown message type {got!r}; allowed: {', '.join(TYPES)}")
    try:
        msg = _adapter.validate_python(obj)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"][1:]) or "message"
        raise MessageError(f"{obj['type']}.{where}: {err['msg']}") from None
    if isinstance(msg, View):
        if msg.grid > limits.grid:
            raise LimitError(f"view.grid: {msg.grid} is over this server's limit; allowed: 8..{limits.grid}")
        if msg.unit_grid > limits.unit_grid:
            raise LimitError(f"view.unit_grid: {msg.unit_grid} is over this server's limit; "
                             f"allowed: 4..{limits.unit_grid}")
        if msg.sample_length > limits.sample_chars:
            raise LimitError(f"view.sample_length: {msg.sample_length} is over this server's limit; "
                             f"allowed: 1..{limits.sample_chars}")
    if isinstance(msg, View):
        for name, most, least in (("fakes", limits.fakes, 1), ("manifold", limits.manifold, 2),
                                  ("steps", limits.morph_steps, 2)):
            if getattr(msg, name) > most:
                raise LimitError(f"view.{name}: {getattr(msg, name)} is over this server's limit; "
                                 f"allowed: {least}..{most}")
    if isinstance(msg, Trust) and msg.method is not None and msg.method not in TRUST_METHODS[msg.what]:
        raise MessageError(f"trust.method: {msg.method!r} is not a method for what={msg.what!r}; "
                           f"allowed: {', '.join(TRUST_METHODS[msg.what])}")
    if isinstance(msg, Ask) and msg.strategy not in active.STRATEGIES:
        raise MessageError(f"ask.strategy: {msg.strategy!r} is not a strategy; "
                           f"allowed: {', '.join(active.STRATEGIES)}")
    return msg


def finite(obj):
    """``obj`` with NaN and infinities replaced by None: JSON that every browser can parse."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def dumps(obj) -> str:
    """Compact, strict JSON (no NaN) for the socket."""
    return json.dumps(finite(obj), separators=(",", ":"), allow_nan=False, default=float)


def pack_frame(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """One binary frame: the JSON header lists each array's name, shape and byte offset."""
    metas, chunks, offset = [], [], 0
    for name, a in arrays.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        metas.append({"name": name, "shape": list(np.shape(a)), "offset": offset})
        chunks.append(b)
        offset += len(b)
    head = dumps({**header, "arrays": metas}).encode()
    head += b" " * (-len(head) % 4)
    return MAGIC + struct.pack("<I", len(head)) + head + b"".join(chunks)


def unpack_frame(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The inverse of ``pack_frame`` (for tests, benchmarks and Python clients)."""
    if data[:4] != MAGIC:
        raise ValueError("not an nnplay frame")
    (n,) = struct.unpack("<I", data[4:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    arrays = {}
    for m in header["arrays"]:
        count = int(np.prod(m["shape"])) if m["shape"] else 1
        arrays[m["name"]] = np.frombuffer(body, "<f4", count, m["offset"]).reshape(m["shape"])
    return header, arrays
