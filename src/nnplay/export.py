"""Export a trained run to ONNX, and predict with a run or an exported ``.onnx`` file.

Why: a trained network should be usable outside nnplay (ONNX Runtime, other languages)
and on the user's own files. ``export_onnx`` writes the network (eval mode, float32, any
batch size) and checks itself: ONNX Runtime must give PyTorch's logits on the run's test
inputs within ``TOLERANCE``. What predicting needs besides the weights (task, class and
feature names, input shape, the training scaler, the spec) travels in the file's
metadata_props, so ``Predictor.load`` works on a run id or on the ``.onnx`` file alone.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .data.features import featurize
from .model import CHUNK, eval_mode
from .spec import UserError, shorten

log = logging.getLogger("nnplay.export")
TOLERANCE = 1e-4        # largest |ONNX Runtime - PyTorch| logit an export may show
FORMATS = ("onnx",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
META = "nnplay"         # metadata_props key holding the JSON below


class ExportError(UserError):
    """An export or prediction the user can fix (exit code 2 in the CLI)."""


def _trainer(run_or_trainer):
    from .runs import Run, load_trained
    return load_trained(run_or_trainer) if isinstance(run_or_trainer, Run) else run_or_trainer


def _meta(trainer, spec_text: str | None) -> dict:
    """What predict needs besides the weights, from the trainer's data bundle."""
    d = trainer.data
    kind = "text" if d.vocabulary else "points" if d.is_2d else "image" if d.is_image else "sequence" if d.x_test.dim() == 3 else "features"
    if trainer.spec.model.kind != "classifier":   # a decoder / generator: code -> sample
        return {"version": 1, "model_kind": trainer.spec.model.kind, "kind": kind,
                "latent": trainer.spec.model.latent, "output_shape": list(trainer.shape),
                "name": trainer.spec.name, "spec": spec_text}
    scale = None if d.scale is None else {"mean": np.asarray(d.scale[0], np.float64).ravel().tolist(),
                                          "std": np.asarray(d.scale[1], np.float64).ravel().tolist()}
    out_scale = None
    if d.forecasts is not None:   # a series: windows and forecasts both in the train period's scale
        f = d.forecasts
        scale = {k: [v] * int(np.prod(d.input_shape)) for k, v in (("mean", f.mean), ("std", f.std))}
        out_scale = [f.mean, f.std]
    return {"version": 1, "task": d.task, "class_names": list(d.class_names), "kind": kind,
            "feature_names": list(d.feature_names), "input_shape": list(d.input_shape),
            "target": trainer.spec.data.target if trainer.spec.data.name == "csv" else None,
            "scale": scale, "out_scale": out_scale, "name": trainer.spec.name, "spec": spec_text,
            **({"vocabulary": list(d.vocabulary), "window": trainer.spec.data.window,
                "char_model": trainer.spec.data.name == "text"} if d.vocabulary else {})}


def _torch_export(model, example, path: Path, dynamo: bool) -> None:
    kw = dict(input_names=["input"], output_names=["logits"])
    noisy = logging.getLogger("torch.onnx")
    level = noisy.level
    noisy.setLevel(logging.ERROR)    # "torchvision is not installed" and friends
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if dynamo:
                torch.onnx.export(model, (example,), str(path), dynamo=True, verbose=False,
                                  external_data=False, dynamic_shapes=({0: torch.export.Dim("batch")},), **kw)
            else:
                torch.onnx.export(model, (example,), str(path), dynamo=False,
                                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, **kw)
    finally:
        noisy.setLevel(level)


def _ort_session(path: Path):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _ort_logits(session, x: np.ndarray) -> np.ndarray:
    dtype = np.int64 if x.dtype.kind in "iu" else np.float32   # character ids, else numbers
    parts = [session.run(None, {"input": np.ascontiguousarray(x[i:i + CHUNK], dtype)})[0]
             for i in range(0, len(x), CHUNK)]
    return np.concatenate(parts) if parts else np.zeros((0,), np.float32)


def max_abs_diff(path: str | Path, model: torch.nn.Module, x: torch.Tensor) -> float:
    """Largest |ONNX Runtime - PyTorch| over the logits of inputs ``x`` (model in eval mode)."""
    device = next(model.parameters()).device
    with torch.no_grad():
        ref = torch.cat([model(x[i:i + CHUNK].to(device)).float().cpu()
                         for i in range(0, len(x), CHUNK)]).numpy()
    got = _ort_logits(_ort_session(Path(path)), x.numpy())
    return float(np.abs(got - ref).max()) if len(x) else 0.0


def export_onnx(run_or_trainer, path: str | Path, inputs: torch.Tensor | None = None) -> dict:
    """Write a finished run's network (a ``Run`` or a ``Trainer``) to ``path`` as ONNX, batch
    axis dynamic; the dynamo exporter first, the TorchScript one if that fails or mismatches.
    Checked on ``inputs`` (default: the run's test inputs, all of them): a logit differing from
    PyTorch's by more than ``TOLERANCE`` raises ``ExportError``. The file appears atomically.
    -> {"path", "exporter", "opset", "inputs", "max_abs_diff", "seconds"}."""
    import onnx

    from .runs import Run
    t0 = time.perf_counter()
    trainer = _trainer(run_or_trainer)
    spec_text = run_or_trainer.path("spec.toml").read_text() if isinstance(run_or_trainer, Run) else None
    model, path = trainer.model, Path(path)
    shape = trainer.data.input_shape
    if trainer.spec.model.kind != "classifier":   # generative: the decoder or generator alone,
        model, shape = trainer.decoder(), (trainer.spec.model.latent,)   # checked on N(0, I) codes
        x = torch.randn(1024, *shape, generator=torch.Generator().manual_seed(0)) if inputs is None else inputs
    else:
        x = trainer.data.x_test if inputs is None else inputs
    x = x.detach().cpu()
    x = x if trainer.data.vocabulary and trainer.spec.model.kind == "classifier" else x.float()  # text: ids stay int64
    device = next(model.parameters()).device
    example = torch.zeros((2, *shape), dtype=x.dtype, device=device)  # batch 2: not specialized
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:                  # a folder that is missing or read-only: OSError now, not two exporter failures
        tmp.touch()
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None
    failures = []
    with eval_mode(model):
        try:
            for exporter in ("dynamo", "torchscript"):
                try:
                    _torch_export(model, example, tmp, exporter == "dynamo")
                except Exception as e:  # noqa: BLE001 - any exporter failure: try the other one
                    failures.append(f"{exporter}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
                    log.warning("ONNX %s exporter failed (%s)", exporter, failures[-1])
                    continue
                diff = max_abs_diff(tmp, model, x)
                if diff <= TOLERANCE:
                    break
                failures.append(f"{exporter}: max abs diff {diff:.3g} > {TOLERANCE:g}")
                log.warning("ONNX %s export mismatches PyTorch (%s)", exporter, failures[-1])
            else:
                raise ExportError.say("export.failed", reasons="; ".join(failures))
            m = onnx.load(str(tmp))
            entry = m.metadata_props.add()
            entry.key, entry.value = META, json.dumps(_meta(trainer, spec_text))
            m.doc_string = f"nnplay run {trainer.spec.name}: logits; see metadata_props[{META!r}]"
            onnx.save(m, str(tmp))
            opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".data").unlink(missing_ok=True)   # external weights, if any
    log.info("exported %s with the %s exporter (opset %d), max abs diff %.3g on %d inputs",
             path, exporter, opset, diff, len(x))
    return {"path": str(path), "exporter": exporter, "opset": int(opset), "inputs": int(len(x)),
            "max_abs_diff": diff, "seconds": round(time.perf_counter() - t0, 2)}


# --- predict ---------------------------------------------------------------------------

@dataclass
class Predictor:
    """A network plus what turns the user's raw inputs into its inputs.

    ``kind``: "sequence" (time steps x features, a .npy array; a series' windows in its own
    units, standardized and its forecasts turned back as in training: ``out_scale``),
    "points" (raw columns x1, x2, featurized as in training), "features" (a csv
    run's columns, standardized with the training scaler) or "image" (C x H x W pixels in
    [0, 1], standardized when the run was)."""
    task: str
    class_names: list[str]
    kind: str
    feature_names: list[str]
    input_shape: tuple[int, ...]
    scale: tuple[np.ndarray, np.ndarray] | None
    target: str | None
    forward: Callable[[np.ndarray], np.ndarray]   # model inputs -> probabilities (N, K) / values (N,)
    out_scale: tuple[float, float] | None = None    # series: values = output * std + mean
    vocabulary: list[str] | None = None           # kind "text": id -> character; texts keep `window` characters
    window: int = 0

    @classmethod
    def load(cls, source: str, store=None) -> "Predictor":
        """A run id (from ``store``) or the path of a ``.onnx`` file written by ``export_onnx``."""
        if source.lower().endswith(".onnx"):
            return cls._from_onnx(Path(source))
        from .runs import load_trained
        trainer = load_trained(store.get(source))
        if trainer.spec.model.kind != "classifier":
            raise ExportError.say("export.generative", path=shorten(source))
        return cls._from_meta(_meta(trainer, None), lambda x: trainer.predict(torch.from_numpy(x)).numpy())

    @classmethod
    def _from_onnx(cls, path: Path) -> "Predictor":
        from .train.losses import predict
        if not path.is_file():
            raise ExportError.say("export.no_file", path=shorten(str(path)))
        try:
            session = _ort_session(path)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for bad files
            raise ExportError.say("export.bad_onnx", path=shorten(str(path)),
                                  reason=str(e).splitlines()[0][:200]) from None
        raw = session.get_modelmeta().custom_metadata_map.get(META)
        if raw is None:
            raise ExportError.say("export.no_meta", path=shorten(str(path)))
        meta = json.loads(raw)
        if "model_kind" in meta:
            raise ExportError.say("export.generative", path=shorten(str(path)))
        return cls._from_meta(meta, lambda x: predict(torch.from_numpy(_ort_logits(session, x)),
                                                      meta["task"]).numpy())

    @classmethod
    def _from_meta(cls, meta: dict, forward) -> "Predictor":
        if meta.get("char_model"):
            raise ExportError.say("export.char_model")
        scale = meta.get("scale")
        shape = tuple(meta["input_shape"])
        raw = shape if meta["kind"] != "points" else (2,)
        if scale is not None:
            scale = tuple(np.asarray(scale[k], np.float64).reshape(raw) for k in ("mean", "std"))
        out = meta.get("out_scale")
        return cls(meta["task"], meta["class_names"], meta["kind"], meta["feature_names"], shape,
                   scale, meta.get("target"), forward, tuple(out) if out else None,
                   meta.get("vocabulary"), meta.get("window", 0))

    @classmethod
    def from_meta(cls, meta: dict) -> "Predictor":
        """Only the input side (``columns``, ``prepare``) of an exported file's metadata: the
        playground's Predict view runs the network itself, in the page (onnxruntime-web)."""
        def absent(x):
            raise ExportError("predict: this predictor has no network (from_meta)")
        return cls._from_meta(meta, absent)

    @property
    def columns(self) -> list[str]:
        """The CSV columns a prediction needs."""
        return ["x1", "x2"] if self.kind == "points" else list(self.feature_names)

    @property
    def raw_shape(self) -> tuple[int, ...]:
        """One raw input's shape (before featurizing and scaling)."""
        return (2,) if self.kind == "points" else self.input_shape

    def prepare(self, raw: np.ndarray) -> np.ndarray:
        """Raw inputs (N, *raw_shape) -> the model's inputs, as in training."""
        if self.kind == "text":   # character ids, read by the embedding
            return np.ascontiguousarray(raw, np.int64)
        x = np.asarray(raw, np.float32)
        if self.kind == "points":
            x = featurize(x, self.feature_names)
        if self.scale is not None:
            x = ((x - self.scale[0]) / self.scale[1]).astype(np.float32)
        return np.ascontiguousarray(x, np.float32)

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities (N, K) for classification, values (N,) for regression."""
        x = self.prepare(raw)
        parts = [self.forward(x[i:i + CHUNK]) for i in range(0, len(x), CHUNK)]
        out = np.concatenate(parts) if parts else np.zeros((0,), np.float32)
        return out if self.out_scale is None else out * self.out_scale[1] + self.out_scale[0]

    # --- reading the user's inputs ----------------------------------------------------
    def read(self, path: str | Path) -> tuple[list[str], np.ndarray]:
        """(row labels, raw inputs) from a CSV, a ``.npy`` array or a folder of images."""
        path = Path(path)
        if path.is_dir() and self.kind != "text":
            return self._read_images(path)
        if not path.is_file():
            raise ExportError.say("export.no_file", path=shorten(str(path)))
        suffix = path.suffix.lower()
        if self.kind == "text" and suffix != ".csv":
            raise ExportError.say("export.text_csv", path=shorten(str(path)), want=", ".join(self.columns))
        if suffix == ".npy":
            return self._read_npy(path)
        if suffix == ".csv":
            return self._read_csv(path)
        raise ExportError.say("export.bad_input_kind", path=shorten(str(path)))

    def _read_npy(self, path: Path) -> tuple[list[str], np.ndarray]:
        try:
            a = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise ExportError.say("export.bad_npy", path=shorten(str(path)), reason=str(e)[:200]) from None
        want = self.raw_shape
        if self.kind == "image" and want[0] == 1 and a.shape[-2:] == want[1:] and a.ndim in (2, 3):
            a = a.reshape((-1, *want))               # (H, W) or (N, H, W) greyscale
        elif a.shape == want:
            a = a[None]
        if a.shape[1:] != want or a.dtype.kind not in "biuf":
            raise ExportError.say("export.npy_shape", path=shorten(str(path)), got=_dims(a.shape),
                                  dtype=str(a.dtype), want=_dims(("N", *want)))
        a = a.astype(np.float32)
        if not np.all(np.isfinite(a)):
            raise ExportError.say("export.not_finite", path=shorten(str(path)))
        return [str(i) for i in range(len(a))], a

    def _read_csv(self, path: Path) -> tuple[list[str], np.ndarray]:
        want = self.columns
        if self.kind == "image":
            raise ExportError.say("export.image_csv", path=shorten(str(path)))
        if self.kind == "sequence":
            raise ExportError.say("export.sequence_csv", path=shorten(str(path)), want=_dims(("N", *self.raw_shape)))
        try:
            with path.open(newline="", encoding="utf-8-sig") as f:
                rows = list(csv.reader(f))
        except (csv.Error, UnicodeDecodeError) as e:
            raise ExportError.say("export.bad_csv", path=shorten(str(path)), reason=str(e)[:200]) from None
        rows = [(i, r) for i, r in enumerate(rows, start=1) if any(c.strip() for c in r)]
        if len(rows) < 2:
            raise ExportError.say("export.csv_empty", path=shorten(str(path)), want=", ".join(want))
        header = [h.strip() for h in rows[0][1]]
        missing = [c for c in want if c not in header]
        extra = [c for c in header if c not in want and c != self.target]
        if missing or extra or len(set(header)) != len(header):
            raise ExportError.say("export.csv_columns", path=shorten(str(path)),
                                  missing=", ".join(missing) or "-", extra=", ".join(extra) or "-",
                                  want=", ".join(want))
        idx = [header.index(c) for c in want]
        if self.kind == "text":
            for line, r in rows[1:]:
                if len(r) != len(header):
                    raise ExportError.say("export.csv_fields", path=shorten(str(path)), line=line,
                                          got=len(r), want=len(header))
            return [str(line) for line, _ in rows[1:]], self._text_ids(rows[1:], idx[0])
        out = np.empty((len(rows) - 1, len(want)), np.float32)
        for n, (line, r) in enumerate(rows[1:]):
            if len(r) != len(header):
                raise ExportError.say("export.csv_fields", path=shorten(str(path)), line=line,
                                      got=len(r), want=len(header))
            for k, j in enumerate(idx):
                try:
                    out[n, k] = float(r[j])
                except ValueError:
                    out[n, k] = np.nan
                if not np.isfinite(out[n, k]):
                    raise ExportError.say("export.csv_number", path=shorten(str(path)), line=line,
                                          column=want[k], cell=shorten(r[j], 40))
        return [str(line) for line, _ in rows[1:]], out

    def _text_ids(self, rows: list[tuple[int, list[str]]], column: int) -> np.ndarray:
        """The text column of CSV rows as character ids, as in training (data/text.py)."""
        from .data.text import Vocabulary, encode_texts
        return encode_texts(Vocabulary(self.vocabulary), [r[column] for _, r in rows], self.window)

    def _read_images(self, folder: Path) -> tuple[list[str], np.ndarray]:
        from PIL import Image, UnidentifiedImageError
        if self.kind != "image":
            raise ExportError.say("export.not_image_run", path=shorten(str(folder)), want=", ".join(self.columns))
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise ExportError.say("export.no_images", path=shorten(str(folder)))
        c, h, w = self.input_shape
        out = np.empty((len(files), c, h, w), np.float32)
        for n, p in enumerate(files):
            try:
                with Image.open(p) as im:
                    im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.BOX)
                    a = np.asarray(im, np.float32) / 255.0
            except (UnidentifiedImageError, OSError) as e:
                raise ExportError.say("export.bad_image", path=shorten(str(p)), reason=str(e)[:200]) from None
            out[n] = a[None] if c == 1 else a.transpose(2, 0, 1)
        return [p.name for p in files], out

    def rows(self, labels: list[str], out: np.ndarray) -> list[dict]:
        """Predictions as JSON-ready rows: class name and probabilities, or the value."""
        if self.task == "regression":
            return [{"input": s, "value": float(v) if np.ndim(v) == 0 else [float(u) for u in v]}
                    for s, v in zip(labels, out)]   # a series forecasting h > 1 steps: h values
        names = self.class_names
        return [{"input": s, "class": names[int(p.argmax())],
                 "probs": {n: float(q) for n, q in zip(names, p)}} for s, p in zip(labels, out)]


def _dims(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"
