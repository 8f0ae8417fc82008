"""One training session per socket: a worker thread owns the Trainer and does all torch work.

The socket handler only parses messages and posts them here; the worker trains
epoch after epoch at full speed while playing, and between epochs applies the
posted messages. When the page asked for a frame, at most ``limits.fps`` times a
second, it packs the latest state into one: between epochs, or between two batches
of a long epoch (``Trainer.between_batches``; a frame request at the head of the inbox
is the one message read mid-epoch, and a test image picked in image mode is shown then
too), so the picture moves however long an epoch takes. At most
``limits.inbox`` messages wait; closing the socket drops them, cuts the epoch in
progress short (``Trainer.cancel``) and ends the thread, which drops the model and data.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .. import lessons, probes
from .. import spec as specmod
from ..data import DataBundle
from ..data.features import FEATURES, featurize
from ..runs import RunStore, new_trainer, save_trained
from ..spec import Spec, UserError
from ..train import DivergenceError, Trainer
from ..train.loop import Cancelled
from ..train.compiled import TRACING
from .limits import LimitError, Limits, admitting, check_activations, check_spec
from . import explainer, generative, practice, sequences, trust
from .protocol import (Ask, AugmentPreview, FrameRequest, Input, Inspect, LessonMsg, MessageError, Neighbors, Pause, Play,
                       Reset, Save, SpecMsg, Step, Trust, View, Weight,
                       dumps, pack_frame)

log = logging.getLogger("nnplay.server")

MAX_HISTORY = 20_000      # epoch records kept; older ones are thinned to every other
SHOWN_IMAGES = 40         # test images sent to the page's picker
SHOWN_MISTAKES = 24       # misclassified test images per frame
EXACT_TRAIN = 5000        # training sets up to this size are evaluated for each frame; larger: the epoch's running figures
SLOW_EVERY = 0.5          # seconds between confusion-matrix updates while playing
MID_EPOCH = ("2d", "image", "table")   # modes whose frames go out between batches too ...
MID_EPOCH_STEPS = 64      # ... when an epoch has this many batches; shorter epochs keep the
                          # whole-epoch compiled call (train.compile), which has no "between"
_CLOSE = object()


class Session:
    """A Trainer driven by socket messages; frames go out through ``emit`` (thread-safe)."""

    def __init__(self, emit: Callable[[str | bytes], None], limits: Limits, store: RunStore,
                 uploads: Path, idx_sets: dict[str, str]):
        self.emit, self.limits, self.store = emit, limits, store
        self.uploads, self.idx_sets = uploads, idx_sets
        self.inbox: queue.Queue = queue.Queue(limits.inbox)
        self.closed = threading.Event()   # also the trainer's cancel: ends an epoch between batches
        self.trainer: Trainer | None = None
        self.running = False
        self.want_frame = False
        self.dirty = False
        self.view = View(type="view")
        self.drawn = None        # image mode: the learner's own image (raw, C x H x W), shown instead of a test image
        self.last_rec: dict = {}
        self.next_frame = 0.0    # when the next frame falls due (perf_counter seconds)
        self.last_slow = 0.0
        self.epoch_seconds = 0.0
        self.lesson: tuple[lessons.Lesson, int] | None = None   # (lesson, part) being followed
        self.caps = limits          # the spec caps: raised to admit a lesson's own sizes
        self.picked: View | None = None   # the latest view posted (a test image picked mid-epoch is shown between batches)
        self.shown_image = -1             # the test image the last frame showed
        self.mode = ""           # the network's view (2d, image, table, sequence, generative)
        self.evaluated: dict = {}   # train/test metrics of the network as it was ...
        self.fresh = False          # ... and whether it is still that network (nothing trained since)
        self.test_out = None        # its outputs on the test set, when evaluated
        self.mid_frames = 0      # frames sent between batches in the epoch in progress
        self.epoch_start = 0.0   # when it began (perf_counter seconds)
        self.thread = threading.Thread(target=self._run, name="nnplay-session", daemon=True)
        self.thread.start()

    # --- called from the socket side -------------------------------------------
    def post(self, msg) -> None:
        """Queue ``msg`` for the worker; a full inbox refuses it (``LimitError``)."""
        try:
            self.inbox.put_nowait(msg)
            if isinstance(msg, View):
                self.picked = msg
        except queue.Full:
            raise LimitError(f"inbox: {self.limits.inbox} messages are already waiting; this "
                             f"{msg.type!r} was dropped (wait for the answers)") from None

    def stop(self) -> None:
        """Tell the worker to end now: pending messages are dropped, an epoch stops between batches."""
        self.closed.set()
        while True:
            try:
                self.inbox.get_nowait()
            except queue.Empty:
                break
        self.inbox.put_nowait(_CLOSE)   # wakes a worker that waits for a message

    def close(self, timeout: float = 1.0) -> None:
        """End the worker and free the model and data (waits at most ``timeout`` seconds)."""
        self.stop()
        self.thread.join(timeout)

    # --- the worker ----------------------------------------------------------------
    def _send(self, obj: dict) -> None:
        self.emit(dumps(obj))

    def _error(self, code: str, message: str, **extra) -> None:
        self._send({"type": "error", "code": code, "message": message, **extra})

    def _run(self) -> None:
        try:
            while not self.closed.is_set():
                block = not self.running   # idle: sleep until a message (or a frame falls due)
                if not self._handle_inbox(block):
                    return
                if self.running and self.trainer is not None:
                    self._guarded(self._train_once)
                    if not self._handle_inbox(False):   # a frame request that came mid-epoch
                        return
                if self._frame_due():
                    self._guarded(self._send_frame)
        finally:
            self.trainer = None   # free the model, optimizer state and data

    def _handle_inbox(self, block: bool) -> bool:
        """Apply the posted messages one by one (waiting for one if ``block``); False once closed."""
        while not self.closed.is_set():
            try:
                m = self.inbox.get(timeout=self._wait()) if block else self.inbox.get_nowait()
            except queue.Empty:
                return True
            block = False
            if m is _CLOSE:
                return False
            self._guarded(self._handle, m)
        return False

    def _guarded(self, fn, *args) -> None:
        try:
            with TRACING.eager():   # frames and trust answers run the network too (train/compiled.py)
                fn(*args)
        except Cancelled:          # the socket closed mid-epoch: nobody to tell
            self.running = False
        except DivergenceError as e:
            self.running = False
            self.dirty = True
            self._error("diverged", str(e))
            self._send({"type": "state", "running": False})
        except UserError as e:   # worded in both languages: the page shows its own
            self._error("spec", str(e), ko=e.render("ko"))
        except Exception as e:  # noqa: BLE001 - a session must not take the server down
            log.exception("session error")
            self.running = False
            self.dirty = False   # no frame retried in a loop: the next change asks again
            self._error("internal", f"{type(e).__name__}: {e}")
            self._send({"type": "state", "running": False})   # the page shows it stopped

    def _wait(self) -> float | None:
        """Seconds until a pending frame may go out; None when nothing is pending."""
        if not (self.want_frame and self.dirty and self.trainer is not None):
            return None
        return max(0.0, self.next_frame - time.perf_counter())

    def _frame_due(self) -> bool:
        if not (self.want_frame and self.trainer is not None):
            return False
        if not (self.dirty or self.running):
            return False
        # the epoch boundary nearest the frame time
        return time.perf_counter() >= self.next_frame - self.epoch_seconds / 2

    def _train_once(self, probe: bool | None = None) -> None:
        t0 = time.perf_counter()
        long = self.mid_frames > 0   # the last epoch was long enough for frames between batches
        if probe is None:          # probes (about 3% of an epoch) only when a frame is wanted
            probe = self.want_frame or long
        self.mid_frames = 0
        self.epoch_start = t0
        tr = self.trainer   # a watcher between batches only for long epochs (the data can grow),
        # and only while this epoch and its evaluations run
        tr.between_batches = self._between_batches \
            if self.mode in MID_EPOCH and tr.steps_per_epoch >= MID_EPOCH_STEPS else None
        self.fresh = False   # from the first batch on (an epoch may also stop part-way)
        try:
            rec = tr.train_epoch(probe=probe)
            self.epoch_seconds = time.perf_counter() - t0
            if self.mid_frames:   # the next epoch's frames show this one's test metrics
                self._evaluate()   # (frames between its slices: the last epoch's figures, all of them)
            self.last_rec = {**self.last_rec, **rec} if not probe else rec   # keep the last probes
        finally:
            tr.between_batches = None
        self.dirty = True   # after the evaluation: a frame sent between its slices showed it unfinished
        self.trainer.thin_history(MAX_HISTORY)
        if self.lesson is not None and self.trainer.epoch == self.trainer.spec.train.epochs:
            self._lesson_ends()

    def _lesson_ends(self) -> None:
        """The lesson's epochs are trained: pause, and send its claim measured by the library."""
        self.running = False
        self._send({"type": "state", "running": False})
        lesson, part = self.lesson
        self._send({"type": "measured", **lessons.measured(lesson, part, self.trainer)})

    def _open_lesson(self, m: LessonMsg) -> None:
        if m.lesson is None:
            self.lesson, self.caps = None, self.limits
            return
        lesson = lessons.lesson(m.lesson)
        spec = lesson.spec(m.part)
        if m.epochs is not None and m.epochs < spec.train.epochs:   # a quick look
            spec = lesson.spec(m.part, m.epochs)
        caps = admitting(self.limits, spec)   # the server's own file: its sizes are allowed
        check_spec(spec, caps, self.uploads, self.idx_sets)
        self.running = False
        self._send({"type": "state", "running": False})
        self._build(spec)
        self.lesson, self.caps = (lesson, m.part), caps   # edits within the lesson keep its sizes

    def _between_batches(self, step: int, loss) -> None:
        """``Trainer.between_batches``: a whole frame at once for a test image just picked
        (image mode: an epoch of MNIST takes seconds); else a frame when the page asked for one, it falls due, and
        the epoch has run longer than one beat (a shorter one's frames follow it, with its
        metrics). A frame request is read here while playing and when no other message
        waits before it (messages wait for the epoch's end; so does a request sent after a
        step: its frame shows the step done). ``loss`` is None between two slices of the
        evaluations that end an epoch (thousands of test images take a beat or more too)."""
        batch_loss = None if loss is None else float(loss.detach())   # None: between evaluation slices
        if self.picked is not None and self.running:   # a test image picked mid-epoch: shown now
            self._answer_pick(step, batch_loss)
        q = self.inbox.queue
        while self.running and q and isinstance(q[0], FrameRequest):   # only this thread takes from the inbox
            try:
                self.inbox.get_nowait()
            except queue.Empty:   # stop() emptied it: the epoch is being cancelled
                break
            self.want_frame = True
        now = time.perf_counter()
        if self.want_frame and now >= self.next_frame and now - self.epoch_start >= 1.0 / self.limits.fps:
            self.mid_frames += 1
            self._send_frame(step, batch_loss)

    # --- messages --------------------------------------------------------------------
    def _handle(self, m) -> None:
        if not isinstance(m, (FrameRequest, View)):
            self.fresh = False   # it may change the network or its loss
        if isinstance(m, FrameRequest):
            self.want_frame = True
        elif isinstance(m, SpecMsg):
            self._set_spec(m.spec)
        elif isinstance(m, View):
            self.view = m
            self.dirty = True
        elif isinstance(m, LessonMsg):
            self._open_lesson(m)
        elif self.trainer is None:
            self._error("state", f"{m.type}: send a spec first")
        elif isinstance(m, Play):
            self.running = True
            self._send({"type": "state", "running": True})
        elif isinstance(m, Pause):
            self.running = False
            self.dirty = True
            self._send({"type": "state", "running": False})
        elif isinstance(m, Step) and m.part != "epoch":
            self.running = False
            if self.trainer.spec.model.kind != "gan":
                self._error("message", f"step.part: {m.part!r} needs model.kind = 'gan'; allowed: 'epoch'")
                return
            self.last_rec = {**self.last_rec, **generative.step(self.trainer, m.part)}
            self.dirty = True
            self._send({"type": "state", "running": False})
        elif isinstance(m, Step):
            self.running = False
            self._train_once(probe=True)
            self._send({"type": "state", "running": False})
        elif isinstance(m, Reset):
            self._build(self.trainer.spec)
        elif isinstance(m, Save):
            self._save(m.name)
        elif isinstance(m, Weight):   # a click on a link of the diagram
            try:
                self.trainer.set_weight(m.layer, m.to, m.source, m.value)
            except UserError as e:   # a layer or place that is not there: the message, not the spec
                self._error("message", str(e), ko=e.render("ko"))
                return
            self.dirty = True
        elif isinstance(m, Trust):
            try:
                self.emit(pack_frame(*trust.answer(self.trainer, m)))
            except MessageError as e:
                self._error("message", str(e))
        elif isinstance(m, (AugmentPreview, Ask, Neighbors)):   # the practice views (server/practice.py)
            try:
                self.emit(pack_frame(*practice.answer(self.trainer, m, self.limits)))
            except LimitError as e:
                self._error("limit", str(e))
            except MessageError as e:
                self._error("message", str(e))
        elif isinstance(m, (Inspect, Input)):   # the CNN explainer (server/explainer.py)
            try:
                if isinstance(m, Input):
                    self.drawn = explainer.drawn(self.trainer, m)
                    self.dirty = True
                else:
                    self.emit(pack_frame(*explainer.answer(self.trainer, m, *explainer.shown(
                        self.trainer, self.view, self.drawn))))
            except UserError as e:   # a bad layer or place: worded in both languages
                self._error("message", str(e), ko=e.render("ko"))

    def _set_spec(self, d: dict) -> None:
        spec = specmod.from_dict(d)
        check_spec(spec, self.caps, self.uploads, self.idx_sets)
        # live changes are applied in place (the spec marks them); any other change rebuilds
        # data and model from the spec (a reset)
        change = self.trainer.diff(spec) if self.trainer is not None else None
        if change is not None and change.rebuild and not generative.is_generative(spec) and \
                self.trainer.keep_training_on(spec):   # clicked points: the same network goes on
            self.dirty = True
            self._send({"type": "ready", "kept": True, "spec": self.trainer.spec.to_dict(),
                        **self._describe(self.trainer)})
            return
        if change is None or change.rebuild:
            self._build(spec)
            return
        if "batch_size" in change.live.get("train", {}):
            self._check_activations(self.trainer, spec.train.batch_size)
        self.trainer.update(spec)
        self._send({"type": "updated", "spec": self.trainer.spec.to_dict()})

    def _build(self, spec: Spec, data: DataBundle | None = None) -> None:
        trainer = new_trainer(spec, data=data, device="cpu" if spec.train.device == "auto" else None)
        self._check_activations(trainer, spec.train.batch_size)   # before any step allocates them
        trainer.cancel = self.closed
        self.mode = self._mode(trainer)
        self.trainer, self.last_rec, self.fresh = trainer, {}, False
        self.dirty = True
        self._send({"type": "ready", "spec": spec.to_dict(), **self._describe(trainer)})

    def _check_activations(self, tr: Trainer, batch_size: int) -> None:
        layers = generative.layers(tr) if generative.is_generative(tr.spec) else \
            probes.layer_table(tr.model, tr.data.input_shape)
        check_activations(layers, min(batch_size, len(tr.x["train"])), self.limits)

    @staticmethod
    def _mode(tr: Trainer) -> str:
        d = tr.data
        return "generative" if generative.is_generative(tr.spec) else "2d" if d.is_2d else \
            "image" if d.is_image else "sequence" if sequences.is_sequence(tr) else "table"

    def _describe(self, tr: Trainer) -> dict:
        d, mode = tr.data, self.mode   # (_build sets it for this trainer)
        info = {"mode": mode, "task": d.task, "num_classes": d.num_classes,
                "class_names": d.class_names, "feature_names": d.feature_names,
                "input_shape": list(d.input_shape), "extent": d.extent,
                "sizes": {s: len(getattr(d, f"y_{s}")) for s in ("train", "val", "test")},
                "layers": generative.layers(tr) if mode == "generative" else probes.layer_table(tr.model, d.input_shape),
                "blocks": probes.blocks(tr.model),
                "params": sum(p.numel() for p in tr.model.parameters())}
        out: dict = {"info": info}
        if mode == "2d":   # every input feature over the plane, for the feature toggles
            grid = probes.plane(d.extent, self.view.unit_grid)
            out["features"] = {f: featurize(grid, [f])[:, 0].reshape(self.view.unit_grid, -1)
                               .round(4).tolist() for f in FEATURES}
            out["points"] = {s: np.concatenate([d.points[s], d.split(s)[1].numpy()[:, None]], 1)
                             .round(4).tolist() for s in ("train", "val", "test")}
        if mode == "sequence":
            out["sequence"] = sequences.describe(tr)
        if mode == "generative":
            out["generative"] = generative.describe(tr)
        if mode == "image":
            x, y = d.x_test[:SHOWN_IMAGES], d.y_test[:SHOWN_IMAGES]
            out["images"] = {"shape": list(x.shape[1:]), "labels": y.tolist(),
                             "pixels": x.reshape(len(x), -1).numpy().round(3).tolist()}
            info["explainable"] = probes.explainable(tr.model)   # the feature maps the explainer answers for
        return out

    def _save(self, name: str | None) -> None:
        if self.trainer.epoch == 0:
            self._error("state", "save: train at least one epoch first")
            return
        run, summary = save_trained(self.store, self.trainer, name)   # the live session keeps its spec
        self._send({"type": "saved", "run_id": run.id,
                    "summary": {k: v for k, v in summary.items() if isinstance(v, (int, float, str))},
                    "files": {f: f"/api/runs/{run.id}/{f}"
                              for f in ("spec.toml", "model.safetensors", "snippet.py", "model.onnx")}})

    def _answer_pick(self, step: int, batch_loss: float | None) -> None:
        """A frame for the view just posted, between batches ``step`` and ``step`` + 1 of the
        epoch in progress (image mode, where the frame is mostly the picked image's feature maps)."""
        m, self.picked = self.picked, None
        if self.trainer is None or self.mode != "image" or m.image == self.shown_image:
            return
        self.view = m
        # a whole frame (the confusion matrix and mistakes too); its evaluations run in eval
        # mode and restore training mode
        self._guarded(lambda: self._send_frame(step, batch_loss, whole=True))

    # --- frames ------------------------------------------------------------------------
    def _evaluate(self) -> None:
        """Test metrics (and train metrics of a small training set) of the network as it is
        now, in eval mode: a full pass, so a frame between batches shows the last epoch's."""
        tr = self.trainer
        splits = ("train", "test") if len(tr.x["train"]) <= EXACT_TRAIN else ("test",)
        keep = self.mode == "image" and len(tr.x["test"])
        evaluated, out = {}, None   # frames between its slices show the last ones meanwhile
        for s in splits:
            if s == "test" and keep:   # the outputs serve the image mode's confusion matrix too
                out = tr.outputs(s)
                res = tr.metrics(out, tr.y[s])
            else:
                res = tr.evaluate(s)
            evaluated.update({f"{s}_{k}": v for k, v in res.items()})
        self.evaluated, self.test_out, self.fresh = evaluated, out, True

    def _send_frame(self, step: int = 0, batch_loss: float | None = None, whole: bool = False) -> None:
        """A frame of the latest state; ``step`` > 0: between batches, the ``step``-th of the
        epoch in progress, whose last batch's loss was ``batch_loss``; ``whole``: with the
        image mode's confusion matrix and mistakes even then (a test image just picked)."""
        tr, d, v = self.trainer, self.trainer.data, self.view
        now = time.perf_counter()
        rec = self.last_rec
        if not (step or self.fresh):
            self._evaluate()
        metrics: dict = {k: rec[k] for k in rec if k.startswith("train_")} \
            if len(tr.x["train"]) > EXACT_TRAIN else {}   # the epoch's running figures
        metrics.update(self.evaluated)
        metrics.update({k: rec[k] for k in ("val_loss", "val_accuracy", "val_mse", "lr")
                        if k in rec})
        # epoch: epochs finished; step: batches of the next one done (0 between epochs)
        header = {"type": "frame", "epoch": tr.epoch - 1 if step else tr.epoch, "step": step,
                  "steps": tr.steps_per_epoch, "running": self.running, "engine": tr.engine,
                  "seconds": round(tr.seconds, 3), "metrics": metrics,
                  "grad_norm": rec.get("grad_norm", {}), "activations": rec.get("activations", {}),
                  "weights": rec.get("weights", {})}
        if step and batch_loss is not None:
            header["batch_loss"] = batch_loss
        arrays: dict[str, np.ndarray] = {}
        gen = generative.is_generative(tr.spec)
        if d.is_2d and not gen:
            arrays["boundary"] = probes.boundary_grid(tr.model, d, v.grid)
            for name, g in probes.unit_grids(tr.model, d, v.unit_grid).items():
                arrays[f"unit:{name}"] = g
        if gen:
            extra, gen_arrays = generative.frame(tr, v, rec)
            header.update(extra)
            arrays.update(gen_arrays)
        elif sequences.is_sequence(tr):
            slow = not self.running or now - self.last_slow >= sequences.SAMPLE_EVERY
            if slow and tr.spec.data.name == "text":
                self.last_slow = now
            extra, seq_arrays = sequences.frame(tr, v, slow)
            header.update(extra)
            arrays.update(seq_arrays)
        elif not d.is_image:
            for name, (w, b) in probes.dense_weights(tr.model).items():
                arrays[f"weight:{name}"], arrays[f"bias:{name}"] = w, b
        else:
            x, header["image"] = explainer.shown(tr, v, self.drawn)
            self.shown_image = header["image"]["index"]
            header["image"]["probs"] = tr.predict(x[None])[0].tolist()
            header["image"]["softmax"] = explainer.softmax(tr, x)
            arrays["input"] = x.numpy()
            for name, fm in probes.feature_maps(tr.model, x).items():
                arrays[f"fmap:{name}"] = fm
            for name, w in probes.conv_filters(tr.model).items():
                arrays[f"filters:{name}"] = w
            if whole or not step and (not self.running or now - self.last_slow >= SLOW_EVERY):   # a full pass
                self.last_slow = now
                cm, pred, wrong = probes.confusion(tr.model, d.x_test, d.y_test, d.task, d.num_classes,
                                                   self.test_out if self.fresh and not step else None)
                shown = wrong[:SHOWN_MISTAKES]
                header["confusion"] = cm.tolist()
                header["mistakes"] = {"count": int(len(wrong)), "index": shown.tolist(),
                                      "pred": pred[shown].tolist(),
                                      "true": d.y_test[shown].tolist()}
                arrays["mistakes"] = d.x_test[shown].numpy()
        # frames fall due on a fixed beat of limits.fps a second: one that went out late (the
        # page asked late, an epoch ran long) brings the next forward by up to half a beat,
        # so the average holds at limits.fps while the page keeps up
        beat = 1.0 / self.limits.fps
        self.next_frame = max(self.next_frame + beat, now + beat / 2)
        self.want_frame = False   # before the frame goes: the page's next request may come at once
        self.dirty = False
        self.emit(pack_frame(header, arrays))
