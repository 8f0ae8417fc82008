"""Caps that keep one playground server safe for everyone on it.

Each check names the field, the value received and the allowed range, and
raises ``LimitError`` (a ``UserError``: the page shows it, the CLI exits 2).
"""
from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..spec import Spec, UserError


class LimitError(UserError):
    """A message or spec over one of the server's caps."""


class Limits(BaseModel):
    """The server's caps (``nnplay serve`` defaults; tests may lower them)."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    sessions: int = Field(8, ge=1)            # open sockets (training sessions) at once
    hidden_layers: int = Field(8, ge=1)       # model.hidden entries
    units: int = Field(32, ge=1)              # neurons per hidden layer (model.hidden)
    layers: int = Field(16, ge=1)             # model.layers entries (CNN blocks)
    filters: int = Field(64, ge=1)            # conv2d filters per block
    dense_units: int = Field(512, ge=1)       # units of a dense block in model.layers
    samples: int = Field(5000, ge=10)         # data.samples (generated sets)
    points: int = Field(2000, ge=2)           # data.points rows (drawn or uploaded)
    image_samples: int = Field(20000, ge=10)  # data.limit for image sets
    batch_size: int = Field(4096, ge=1)
    activations: int = Field(50_000_000, ge=1)   # layer outputs one training step holds (batch x per sample)
    grid: int = Field(100, ge=8)              # boundary heat map resolution
    unit_grid: int = Field(40, ge=4)          # per-neuron heat map resolution
    upload_bytes: int = Field(1_000_000, ge=1)
    uploads_bytes: int = Field(20_000_000, ge=1)   # all kept uploads together (oldest go first)
    upload_hours: float = Field(168.0, gt=0)  # uploads older than this are deleted (start-up, quota)
    message_bytes: int = Field(262_144, ge=64)
    inbox: int = Field(64, ge=1)              # messages waiting for one session; more are refused
    fps: float = Field(60.0, gt=0, le=240)    # frames per second at most, per session (a display's rate)
    steps: int = Field(200, ge=2)             # time steps per sequence (data.window, data.length)
    sample_chars: int = Field(400, ge=1)      # characters of one text sample (view.sample_length)
    preview_images: int = Field(32, ge=1)     # images of one augmentation preview (augment.n)
    ask_points: int = Field(20, ge=1)         # points one active-learning question asks about (ask.k)
    neighbors: int = Field(16, ge=1)          # nearest test images of one neighbors answer (neighbors.k)
    fakes: int = Field(1000, ge=1)            # generated points per frame (view.fakes)
    manifold: int = Field(30, ge=2)           # noise grid of the manifold view (view.manifold)
    morph_steps: int = Field(32, ge=2)        # decodings between two test images (view.steps)

    @model_validator(mode="after")
    def _quota_holds_an_upload(self) -> "Limits":
        if self.uploads_bytes < self.upload_bytes:
            raise ValueError(f"uploads_bytes ({self.uploads_bytes}) must hold one upload "
                             f"(upload_bytes = {self.upload_bytes})")
        return self


# Limits field -> where it caps the spec's JSON schema: (section, field, bound)
_SCHEMA_CAPS = {"samples": ("DataSpec", "samples", "maximum"), "points": ("DataSpec", "points", "maxItems"),
                "image_samples": ("DataSpec", "limit", "maximum"),
                "hidden_layers": ("ModelSpec", "hidden", "maxItems"), "units": ("ModelSpec", "hidden", "items.maximum"),
                "layers": ("ModelSpec", "layers", "maxItems"), "filters": ("LayerSpec", "filters", "maximum"),
                "dense_units": ("LayerSpec", "units", "maximum"), "batch_size": ("TrainSpec", "batch_size", "maximum")}


def schema(limits: Limits) -> dict:
    """The spec's JSON schema with this server's caps: each capped bound is the smaller of the
    spec's and the server's (the playground builds its controls from it)."""
    out = Spec.model_json_schema()
    for cap, (section, name, bound) in _SCHEMA_CAPS.items():
        prop = out["$defs"][section]["properties"][name]
        node = next((b for b in prop.get("anyOf", []) if b.get("type") != "null"), prop)
        *path, key = bound.split(".")
        for step in path:
            node = node[step]
        node[key] = min(node.get(key, math.inf), getattr(limits, cap))
    return out


def _cap(field: str, value: int, most: int) -> None:
    if value > most:
        raise LimitError(f"{field}: {value} is over this server's limit; allowed: 1..{most}")


def check_spec(spec: Spec, limits: Limits, uploads: Path, idx_sets: dict[str, str]) -> None:
    """Raise ``LimitError`` if ``spec`` asks for more than the server allows."""
    d, m, t = spec.data, spec.model, spec.train
    _cap("model.hidden (number of layers)", len(m.hidden), limits.hidden_layers)
    for i, w in enumerate(m.hidden):
        _cap(f"model.hidden[{i}]", w, limits.units)
    if m.layers is not None:
        _cap("model.layers (number of blocks)", len(m.layers), limits.layers)
        for i, layer in enumerate(m.layers):
            if layer.filters is not None:
                _cap(f"model.layers[{i}].filters", layer.filters, limits.filters)
            if layer.units is not None:
                _cap(f"model.layers[{i}].units", layer.units, limits.dense_units)
    _cap("data.samples", d.samples, limits.samples)
    _cap("train.batch_size", t.batch_size, limits.batch_size)
    if d.points is not None:
        _cap("data.points (rows)", len(d.points), limits.points)
    if d.name in ("digits", "idx"):
        _cap("data.limit", d.limit or 0, limits.image_samples)
    if d.name in ("series", "text"):
        _cap("data.window", d.window, limits.steps)
    if d.name == "adding":
        _cap("data.length", d.length, limits.steps)
    if d.name == "idx" and d.limit is None:
        raise LimitError(f"data.limit: required for IDX sets in the playground; allowed: "
                         f"1..{limits.image_samples}")
    if d.name == "csv" or (d.name == "series" and d.series == "csv"):   # never any file of the server's
        path = Path(d.path or "").resolve()
        if path.parent != uploads.resolve():
            raise LimitError("data.path: the playground reads only files uploaded to it "
                             "(use the upload button)")
    if d.name == "text" and d.path is not None and Path(d.path).resolve().parent != uploads.resolve():
        raise LimitError("data.path: the playground reads only files uploaded to it "
                         "(use the upload button), or the texts shipped with konlpy (data.corpus)")
    if d.name == "folder" and d.path not in idx_sets.values():   # idx_sets: every set offered
        allowed = ", ".join(idx_sets.values()) or "none (start nnplay serve with --data-dir)"
        raise LimitError(f"data.path: not an image folder this server offers; allowed: {allowed}")
    if d.name == "idx" and d.path not in idx_sets.values():
        allowed = ", ".join(idx_sets.values()) or "none (start nnplay serve with --data-dir)"
        raise LimitError(f"data.path: not an IDX set this server offers; allowed: {allowed}")


def admitting(limits: Limits, spec: Spec) -> Limits:
    """``limits`` raised just enough to admit ``spec``'s sizes: for a course lesson's own spec
    (``nnplay.lessons``, files the server ships), so that a session following it may train it
    and edit it within those sizes (10 sigmoid layers, 128 units), while a page's own specs
    keep the server's caps."""
    m = spec.model
    layers = m.layers or []
    most = {"hidden_layers": len(m.hidden), "units": max(m.hidden, default=0), "layers": len(layers),
            "filters": max((x.filters or 0 for x in layers), default=0),
            "dense_units": max((x.units or 0 for x in layers), default=0),
            "samples": spec.data.samples, "batch_size": spec.train.batch_size}
    return limits.model_copy(update={k: max(getattr(limits, k), v) for k, v in most.items()})


def check_activations(layers: list[dict], batch: int, limits: Limits) -> None:
    """Raise ``LimitError`` if one training step of ``batch`` samples through ``layers``
    (``probes.layer_table``) would hold more layer outputs than the server allows."""
    per_sample = sum(math.prod(layer["shape"]) for layer in layers)
    if batch * per_sample > limits.activations:
        raise LimitError(f"train.batch_size: {batch} samples x {per_sample} layer outputs each = "
                         f"{batch * per_sample} values per step is over this server's limit of "
                         f"{limits.activations}; allowed: batch_size 1..{max(1, limits.activations // per_sample)} "
                         f"for this network (or fewer filters/layers)")
