"""The training engine: one ``Trainer`` drives the CLI, the playground and the tests.

``train_epoch()`` runs one pass over the training set and returns that epoch's
record (losses, metrics, probes); ``fit()`` repeats it with early stopping,
best-checkpointing and divergence checks. The playground calls ``train_epoch``
from its own thread, may change hyper-parameters between epochs (``update``) and
watches between batches (``between_batches``). Where the data lives is
train/placement.py, mixed precision train/precision.py, the compiled step's life
train/compiled.py.
"""
from __future__ import annotations

import math
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .. import probes
from ..data import DataBundle, load_data
from ..data import augment as augmentation
from ..model import build_model, eval_mode
from ..model.regularize import penalty
from ..model.transfer import freeze, load_matching
from ..spec import DataSpec, ModelSpec, Spec, TrainSpec, UserError, from_dict, live_fields, rebuilds
from . import compiled
from .compiled import CompiledEpoch, CompiledStep, eager, optimizer_kind
from .losses import TaskLoss, class_weights, correct, predict
from .metric import metric_loss
from .optimizers import make_optimizer
from .placement import place, resolve_device
from .precision import MixedPrecision, use_amp
from .schedules import make_schedule

PROBE_BATCH = 256  # samples used for activation statistics
# inputs per forward pass of an evaluation: a frame can go out between two (between_batches),
# and slices this size run faster than one pass over thousands of images (the frames
# benchmark's CNN on 4,000 28x28 images: 0.13 s in slices of 256, 0.31 s in one pass)
EVAL_SLICE = 256


class DivergenceError(RuntimeError):
    """The loss became NaN or infinite: training stops with a message saying what to try."""


def _check_batch_norm(model: nn.Module, n: int, batch_size: int) -> None:
    """Batch norm over a batch of one sample is undefined (PyTorch raises mid-epoch): a
    ``SpecError`` naming the fields instead, before training starts."""
    if (min(n, batch_size) == 1 or n % batch_size == 1) and \
            any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):
        from ..spec import SpecError
        raise SpecError.say("train.batchnorm_one", n=n, batch_size=batch_size)


SECTIONS = {"data": DataSpec, "model": ModelSpec, "train": TrainSpec}


@dataclass
class Update:
    """What ``Trainer.update`` did with a change. ``live``: the changed fields it applied
    ({"train": {...}, "model": {...}, "name": ...}); ``kept``: fields sent with the value they
    had ("train.lr"); ``rebuild``: changed fields no live change covers ("data.name"): then
    nothing was applied, and ``spec`` (the changed spec) needs a new Trainer."""
    live: dict
    kept: list[str]
    rebuild: list[str]
    spec: Spec

    @property
    def applied(self) -> bool:
        return not self.rebuild


def _merge(a: dict, b: dict) -> dict:
    """``a`` with ``b``'s sections' fields laid over it (one level deep)."""
    out = dict(a)
    for k, v in b.items():
        out[k] = {**out.get(k, {}), **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@dataclass
class FitResult:
    history: list[dict]
    summary: dict
    stopped_early: bool = False


class Cancelled(RuntimeError):
    """``Trainer.cancel`` was set: the epoch stopped between two batches (its owner is closing)."""


class OneProcess:
    """Every batch whole in this process; train/distributed.py's ``Share`` splits each global
    batch among several processes instead."""
    module = None                       # the network's data-parallel wrapper, if any

    def part(self, idx: torch.Tensor) -> torch.Tensor:
        return idx

    def weight(self, k: int, batch: int) -> float:
        return 1.0

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        return t


class Trainer:
    """Owns the model, optimizer, schedule and data for one experiment."""
    cancel: threading.Event | None = None   # set it to end ``train_epoch`` at the next batch
    # called after each training batch with (batches done this epoch, that batch's loss), and
    # between two slices of an evaluation with (the epoch's batches, None): the playground's
    # frames mid-epoch (server/session.py). It may run the network in eval mode but must
    # change nothing that training reads, so a watched run learns the same numbers
    between_batches: Callable[[int, torch.Tensor | None], None] | None = None
    share = OneProcess()                    # which part of each batch this process trains on
    # optional features, off unless __init__ (or start_from) turns them on for this spec; a
    # subclass that builds its own state (generative.GenerativeTrainer) inherits them off
    augment = None                          # data.augment: the training batches' transforms
    frozen: tuple[str, ...] | list[str] = ()   # model.freeze: the layers kept fixed
    transfer: dict | None = None            # --from: what start_from loaded
    metric_loss = None                      # train.metric_loss on the embedding
    mixed_precision = True                  # train.amp applies (generative models train in float32)

    def __new__(cls, spec: Spec, *args, **kwargs):
        """A spec of a generative ``model.kind`` gets nnplay.generative's Trainer."""
        if cls is Trainer and spec.model.kind != "classifier":
            from ..generative.trainer import GenerativeTrainer
            cls = GenerativeTrainer
        return super().__new__(cls)

    def __init__(self, spec: Spec, data: DataBundle | None = None, device: str | None = None,
                 adversary: Callable[[Trainer], Callable] | None = None):
        """``adversary``: train.adversarial's hook, (trainer) -> (xb, yb) -> xb, from a layer
        above this one (nnplay.trust.attacks.adversary_for; runs.new_trainer passes it)."""
        self.spec = spec
        self.make_adversary = adversary
        self._build(data, device)   # data, device, random streams, network and loss: per kind
        self._place_data()
        self.epoch = 0
        self.history: list[dict] = []
        self.best: dict = {"value": None, "epoch": 0, "state": None}
        amp = self.mixed_precision and \
            use_amp(spec.train.amp, self.model, self.x["train"][:spec.train.batch_size], self.device)
        self.precision = MixedPrecision(amp, self.device)
        self.adversary: Callable | None = None
        self.compiled: CompiledStep | None = None   # see compiled.fast_step
        self.seconds = 0.0                          # time spent in train_epoch
        self._build_optimizer()

    # --- set-up -----------------------------------------------------------
    def _build(self, data: DataBundle | None, device: str | None) -> None:
        """A classifier's data, device, random streams, network and loss."""
        spec = self.spec
        augmentation.check(spec.data.augment, spec.data.name)   # before any data is loaded
        self.data = data if data is not None else load_data(spec.data)
        self.device = resolve_device(device or spec.train.device)
        d = self.data
        # this session's own generators, never the global RNG (another session's stream), on
        # independent streams spawned from the seed: weights; data order and attack starts;
        # dropout masks (on the device)
        s_init, s_order, s_drop = np.random.SeedSequence(spec.train.seed % 2**64).generate_state(3, np.uint64)
        self.generator = torch.Generator().manual_seed(int(s_order))
        self.dropout_generator = torch.Generator(self.device).manual_seed(int(s_drop))
        weights = torch.Generator().manual_seed(int(s_init))
        self.model = build_model(spec.model, d.input_shape, d.out_dim, weights, self.dropout_generator,
                                 vocabulary=len(d.vocabulary) if d.vocabulary else None).to(self.device)
        self.frozen = freeze(self.model, spec.model.freeze)   # before the optimizer sees them
        s_aug = int(np.random.SeedSequence([spec.train.seed % 2**64, 12]).generate_state(1)[0])
        self.augment = augmentation.build(spec.data.augment, d, s_aug)
        if spec.train.tta and (self.augment is None or len(self.augment.per_sample) == 0):
            from ..spec import SpecError
            raise SpecError.say("augment.tta_needs")
        self.loss_fn = TaskLoss(d.task, spec.model.label_smoothing).to(self.device)
        self.metric_loss = metric_loss(spec.train, spec.model.embedding)   # on the embedding (model.embedding), or None

    @property
    def amp(self) -> bool:
        """Whether this Trainer trains in mixed precision (train.amp, train/precision.py)."""
        return self.precision.on

    def _place_data(self) -> None:
        """The splits on the device, and the loss's class weights from the training labels."""
        d = self.data
        self.x, self.y = place(d, self.device)
        balanced = self.spec.train.class_weights == "balanced" and d.task != "regression"
        self.loss_fn.weight = class_weights(d.y_train, d.num_classes).to(self.device) if balanced else None
        _check_batch_norm(self.model, len(d.x_train), self.spec.train.batch_size)

    def accepts(self, data: DataBundle) -> bool:
        """Whether this network takes ``data`` (same inputs, task and outputs)."""
        old = self.data
        return (data.input_shape, data.task, data.out_dim) == (old.input_shape, old.task, old.out_dim)

    def set_data(self, spec: DataSpec, data: DataBundle | None = None) -> None:
        """Go on training the same network on other data of the same shape (points a learner
        adds on the canvas): weights, optimizer state, epoch and history stay. ``data``:
        ``spec`` already loaded."""
        new, old = data if data is not None else load_data(spec), self.data
        if not self.accepts(new):
            raise ValueError(f"the network takes {old.input_shape} -> {old.out_dim} ({old.task}); "
                             f"the new data needs {new.input_shape} -> {new.out_dim} ({new.task})")
        self.spec = self.spec.model_copy(update={"data": spec})
        self.data = new
        self._place_data()
        self.compiled = None   # class weights may be traced into it; an unchanged step is reused

    def keep_training_on(self, spec: Spec) -> bool:
        """Points a learner clicked onto the canvas: if ``spec`` differs from this run's only in its
        data, now ``data.points``, and the network takes them (a point of a new class needs
        another output layer), go on training the same network on them (``set_data``) and
        return True; otherwise change nothing and return False (the caller rebuilds)."""
        a, b = self.spec.to_dict(), spec.to_dict()
        if not (b["data"]["name"] == "points" and a["data"] != b["data"]
                and a["model"] == b["model"] and a["train"] == b["train"]):
            return False
        data = load_data(spec.data)
        if not self.accepts(data):
            return False
        self.set_data(spec.data, data)
        self.rename(spec.name)
        return True

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x["train"]) / self.spec.train.batch_size)

    def _build_optimizer(self) -> None:
        # frozen layers' parameters are left out: no updates, no optimizer state
        self.optimizer = make_optimizer(self.spec.train, [p for p in self.model.parameters() if p.requires_grad])
        self._build_schedule()
        if self.spec.train.adversarial.method != "none":
            if self.make_adversary is None:
                raise ValueError("train.adversarial: this Trainer was built without an adversary hook; "
                                 "build it with nnplay.runs.new_trainer(spec)")
            self.adversary = self.make_adversary(self)

    def _build_schedule(self) -> None:
        """The schedule for the current settings, at the position training has reached
        (epochs, or for one-cycle batches), so that a live change (lr, step size, batch size,
        epochs...) holds from now on. Each schedule's lr is a closed form of its position:
        set at once, not stepped there."""
        t = self.spec.train
        for g in self.optimizer.param_groups:
            g["lr"] = t.lr
            g.pop("initial_lr", None)
        self.scheduler, self.per_batch = make_schedule(t, self.optimizer, self.steps_per_epoch)
        s = self.scheduler
        if s is None or self.epoch == 0:
            return
        if self.per_batch:   # one-cycle: lr and momentum at step n; it holds its final lr
            s.last_epoch = min(self.epoch * self.steps_per_epoch, s.total_steps - 1) - 1
            with warnings.catch_warnings():   # "lr_scheduler.step() before optimizer.step()"
                warnings.simplefilter("ignore", UserWarning)
                s.step()
        else:                # step decay, cosine: lr at epoch n
            s.last_epoch = self.epoch
            s._last_lr = s._get_closed_form_lr()
            for g, lr in zip(self.optimizer.param_groups, s._last_lr):
                g["lr"] = lr

    def diff(self, changes: Spec | dict) -> Update:
        """What ``update(changes)`` would do, read from the spec's marks (spec.live): nothing
        is applied. ``changes``: a whole new spec, or {"train": {...}, "model": {...}, "name"}."""
        new = changes if isinstance(changes, Spec) else from_dict(_merge(self.spec.to_dict(), changes))
        old, now = self.spec.to_dict(), new.to_dict()
        sent = now if isinstance(changes, Spec) else changes
        live: dict = {"name": now["name"]} if now["name"] != old["name"] else {}
        kept = ["name"] if "name" in sent and "name" not in live else []
        rebuild = []
        for sec, cls in SECTIONS.items():
            a, b = old.get(sec, {}), now.get(sec, {})
            for k in sorted(set(a) | set(b)):
                if a.get(k) == b.get(k):
                    if k in sent.get(sec, {}):
                        kept.append(f"{sec}.{k}")
                elif k in live_fields(cls):
                    live.setdefault(sec, {})[k] = b.get(k)
                else:
                    rebuild.append(f"{sec}.{k}")
        return Update(live, kept, rebuild, new)

    def update(self, changes: Spec | dict | None = None, /, **train_fields) -> Update:
        """Change settings between epochs: ``changes`` as in ``diff``, or train fields as
        keywords (``update(lr=0.1)``). When every changed field is marked live, each is applied
        and what it rebuilds (spec.live) is rebuilt at the position reached: another optimizer
        kind is built afresh (its state starts anew); momentum and weight decay change in its
        state in place; the schedule is rebuilt so a new lr (its peak or base) holds from the
        next step on; label smoothing reaches the loss. Otherwise nothing changes and the
        result's ``rebuild`` names the fields that need a new Trainer."""
        if train_fields:
            changes = _merge(changes or {}, {"train": train_fields})
        u = self.diff(changes if changes is not None else {})
        if u.live and not u.rebuild:
            self._apply(u)
        return u

    def _apply(self, u: Update) -> None:
        old, self.spec = self.spec, u.spec
        changed = [(cls, k) for sec, cls in SECTIONS.items() for k in u.live.get(sec, {})]
        targets = set().union(*(rebuilds(cls, k) for cls, k in changed))
        new = self.spec.train
        if "loss" in targets:
            self.loss_fn.eps = self.spec.model.label_smoothing
        if new.optimizer != old.train.optimizer:
            self._build_optimizer()   # and the schedule
            return
        if "optimizer" in targets:
            for g in self.optimizer.param_groups:
                if "weight_decay" in g:
                    g["weight_decay"] = new.weight_decay
                if new.optimizer in ("momentum", "nesterov"):
                    g["momentum"] = new.momentum
        if "schedule" in targets:
            self._build_schedule()

    def update_model(self, **model_fields) -> Update:
        """``update({"model": model_fields})``; a field that is not live is a ValueError."""
        u = self.update({"model": model_fields})
        if u.rebuild:
            raise ValueError(f"cannot change {u.rebuild} while training; allowed: "
                             f"{sorted(live_fields(ModelSpec))}")
        return u

    @torch.no_grad()
    def set_weight(self, layer: str, to: int, source: int | None, value: float) -> None:
        """Set one weight by hand between epochs, as a click on a link of the TF Playground's
        diagram does: dense layer ``layer``'s weight from unit ``source`` of the layer below to
        its unit ``to`` (``source`` None: unit ``to``'s bias). Training goes on from there; the
        optimizer keeps its state. A name, index or value out of range is a UserError."""
        dense = [n for n, m in self.model.named_children() if isinstance(m, nn.Linear)]
        if layer not in dense:
            raise UserError.say("weight.layer", got=repr(layer), allowed=", ".join(dense))
        m = getattr(self.model, layer)
        rows, cols = m.weight.shape
        if not 0 <= to < rows:
            raise UserError.say("weight.index", field="to", got=to, most=rows - 1)
        if source is not None and not 0 <= source < cols:
            raise UserError.say("weight.index", field="source", got=source, most=cols - 1)
        if not math.isfinite(value):
            raise UserError.say("weight.value", got=value)
        if source is None:
            if m.bias is None:
                raise UserError.say("weight.no_bias", layer=layer)
            m.bias[to] = value
        else:
            m.weight[to, source] = value

    def rename(self, name: str) -> None:
        """The experiment's name (a label: nothing is rebuilt)."""
        self.update({"name": name})

    def thin_history(self, most: int, recent: int = 1000) -> None:
        """Keep at most about ``most`` epoch records: the last ``recent`` whole, older ones
        thinned to every other (a long playground session's memory)."""
        h = self.history
        if len(h) > most:
            h[:] = h[:-recent][::2] + h[-recent:]

    # --- one epoch -------------------------------------------------------------
    @eager
    def train_epoch(self, probe: bool | None = None) -> dict:
        """One pass over the shuffled training set; returns the epoch's record."""
        start = time.perf_counter()
        t, m = self.spec.train, self.spec.model
        task = self.data.task
        model, opt = self.model, self.optimizer
        x, y = self.x["train"], self.y["train"]
        n = len(x)
        model.train()
        forward = self._forward_fn()
        fast = compiled.fast_step(self)
        l1 = m.reg_rate if m.regularization == "l1" else 0.0
        l2 = m.reg_rate if m.regularization == "l2" else 0.0
        order = torch.randperm(n, generator=self.generator).to(self.device)
        losses, outs, parts = [], [], []   # per batch; summed once after the epoch (fewer tiny ops per step)
        self.epoch += 1
        probe = (t.probe_every > 0 and self.epoch % t.probe_every == 0) if probe is None else probe
        grads: dict[str, float] = {}
        last = self.steps_per_epoch - 1
        first, head = 0, None   # batches the whole-epoch call trained; (their loss sum, right answers)
        if isinstance(fast, CompiledEpoch):   # every full batch in one call; a smaller last one below
            first = n // t.batch_size
            batch_losses, hits = fast(x, y, order, opt, l1, l2, keep_grads=probe and first - 1 == last,
                                      generator=self.dropout_generator)
            head = (batch_losses.sum() * t.batch_size, hits)
            if probe and first - 1 == last:
                grads = probes.grad_norms(model)
            fast = None
        for i in range(first, self.steps_per_epoch):
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled(f"epoch {self.epoch} cancelled")
            whole = order[i * t.batch_size:(i + 1) * t.batch_size]
            idx = self.share.part(whole)
            parts.append(idx)
            xb, yb = x[idx], y[idx]
            if self.augment is not None:   # training batches only; yb soft after a mix
                xb, yb = self.augment(xb, yb)
            if self.adversary is not None:
                xb = self.adversary(xb, yb)
            want_grads = probe and i == last
            if fast is not None and len(idx) == t.batch_size:   # the whole step in one call
                loss, out = fast(xb, yb, opt, l1, l2, keep_grads=want_grads)
                if want_grads:
                    grads = probes.grad_norms(model)
            else:
                loss, out, g = self._eager_step(forward, xb, yb, want_grads,
                                                self.share.weight(len(idx), len(whole)))
                grads = g if g is not None else grads
            if self.per_batch and self.scheduler.last_epoch < self.scheduler.total_steps - 1:
                self.scheduler.step()   # one-cycle: hold the final lr instead of stepping past it
            losses.append(loss.detach())
            if task != "regression":
                outs.append(out.detach())
            self._watch(i + 1, loss)
        if self.scheduler is not None and not self.per_batch:
            self.scheduler.step()
        sizes = torch.tensor([float(len(p)) for p in parts], device=self.device)   # the last may be smaller
        total = torch.stack(losses) @ sizes if losses else 0.0
        if head is not None:
            total = total + head[0]
        train_loss = float(self.share.sum(total)) / n
        if not math.isfinite(train_loss):
            raise DivergenceError(
                f"training diverged at epoch {self.epoch}: the loss became {train_loss} "
                f"(optimizer {t.optimizer}, lr {t.lr}). Lower train.lr, add batch norm, or use "
                f"another optimizer.")
        rec = {"epoch": self.epoch, "train_loss": train_loss,
               "lr": self.optimizer.param_groups[0]["lr"]}
        if task != "regression":
            right = correct(torch.cat(outs), y[torch.cat(parts)], task) if outs else 0
            if head is not None:
                right = right + head[1]
            rec["train_accuracy"] = int(self.share.sum(right)) / n
        else:
            rec["train_mse"] = train_loss
        val, act_stats = self._validate(probe)
        rec.update({f"val_{k}": v for k, v in val.items()})
        if probe:
            rec["grad_norm"] = grads
            rec["activations"] = act_stats
            rec["weights"] = probes.weight_stats(model)
        self.history.append(rec)
        self.seconds += time.perf_counter() - start
        return rec

    @property
    def engine(self) -> str:
        """'compiled' once the compiled step trains, 'compiling' while it is built, else 'eager'."""
        return compiled.engine(self.compiled)

    def _eager_step(self, forward, xb: torch.Tensor, yb: torch.Tensor, want_grads: bool,
                    weight: float = 1.0):
        """forward, loss (+ L1/L2), backward, optimizer step; (loss, output, gradient norms
        taken before the step when ``want_grads``). ``weight``: the loss's factor when
        ``xb`` is one process's share of a global batch (train/distributed.py)."""
        m, opt = self.spec.model, self.optimizer
        out = self.precision.forward(forward, xb)
        loss = self.loss_fn(out.float(), yb)   # in float32 (out is float16 under mixed precision)
        reg = penalty(self.model, m.regularization, m.reg_rate)
        objective = loss if weight == 1 else loss * weight
        if self.metric_loss is not None:   # metric learning: the loss on the kept embedding
            objective = objective + weight * self.metric_loss(self.embedding.float(), yb)
        objective = objective if reg is None else objective + reg
        opt.zero_grad(set_to_none=True)
        grads = self.precision.backward_step(objective, opt,
                                             (lambda: probes.grad_norms(self.model)) if want_grads else None)
        return loss, out, grads

    def compile_now(self, timeout: float | None = None) -> bool:
        """Build the compiled step now (``train.compile`` on) and wait; True once it is used
        (train/compiled.py, ``compile_now``)."""
        return compiled.compile_now(self, timeout)

    def _epoch_kind(self) -> str | None:
        """The optimizer's kind when the whole-epoch call can train this run (compiled.py's
        CompiledEpoch: no per-batch schedule, frozen layers, split batches or a watcher between
        batches; on the CPU, where it was measured and tested)."""
        if self.device.type != "cpu" or self.per_batch or type(self.share) is not OneProcess \
                or len(self.x["train"]) < self.spec.train.batch_size \
                or not all(p.requires_grad for p in self.model.parameters()) \
                or self.between_batches is not None:   # a watcher between batches needs them
            return None
        return optimizer_kind(self.optimizer)

    def _forward_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The training forward pass: each layer's ``forward`` in turn, skipping
        ``nn.Module.__call__``'s hook dispatch (about 15% of a tiny MLP's step);
        plain ``model`` when any layer has hooks, so that they still run.
        """
        if self.share.module is not None:   # data-parallel: DDP's forward syncs the gradients
            return self.share.module
        if self.metric_loss is not None:   # keep the embedding; the head only reads it
            body, head = self.model[:-1], self.model[-1]

            def forward_metric(x: torch.Tensor) -> torch.Tensor:
                self.embedding = body(x)
                return head(self.embedding.detach())
            return forward_metric
        layers = list(self.model.children())
        hooked = any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                     or m._backward_pre_hooks for m in self.model.modules())
        if hooked or not isinstance(self.model, nn.Sequential):
            return self.model
        steps = [m.forward for m in layers]

        def forward(x: torch.Tensor) -> torch.Tensor:
            for step in steps:
                x = step(x)
            return x
        return forward

    @eager
    @torch.no_grad()
    def outputs(self, split: str = "test") -> torch.Tensor:
        """The network's outputs (float) on a split, in eval mode (dropout off), in slices of
        EVAL_SLICE with ``between_batches`` called between two."""
        x, outs = self.x[split], []
        with eval_mode(self.model):
            for i in range(0, len(x), EVAL_SLICE):
                if i:
                    if self.cancel is not None and self.cancel.is_set():
                        raise Cancelled(f"evaluation of {split} cancelled")
                    self._watch(self.steps_per_epoch, None)
                outs.append(self.model(x[i:i + EVAL_SLICE]).float())
        return torch.cat(outs) if outs else x.new_zeros(0)

    def _watch(self, step: int, loss: torch.Tensor | None) -> None:
        """Call ``between_batches``, not again from inside itself (a watcher that evaluates)."""
        hook = self.between_batches
        if hook is None:
            return
        self.between_batches = None
        try:
            hook(step, loss)
        finally:
            self.between_batches = hook

    @eager
    def evaluate(self, split: str = "test") -> dict:
        """{"loss", "accuracy" | "mse"} on a split, in eval mode (dropout off)."""
        if len(self.x[split]) == 0:
            return {}
        return self.metrics(self.outputs(split), self.y[split])

    @torch.no_grad()
    def metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict:
        """{"loss", "accuracy" | "mse"} of outputs ``out`` against targets ``y``."""
        res = {"loss": float(self.loss_fn(out, y))}
        if self.data.task == "regression":
            res["mse"] = res["loss"] if self.loss_fn.eps == 0 else float(((out.squeeze(1) - y) ** 2).mean())
        else:
            res["accuracy"] = int(correct(out, y, self.data.task)) / len(y)
        return res

    def _validate(self, probe: bool) -> tuple[dict, dict]:
        """Validation metrics and, when probing, activation statistics.

        The statistics describe held-out samples: the first PROBE_BATCH of the validation
        set (the training set's when there is none). A validation set of one slice is run
        layer by layer once and serves both; a larger one is evaluated in slices, between
        which the playground's frames go out.
        """
        xv, yv = self.x["val"], self.y["val"]
        if probe and 0 < len(xv) <= min(EVAL_SLICE, PROBE_BATCH):
            acts = probes.activations(self.model, xv)
            return self.metrics(next(reversed(acts.values())).float(), yv), \
                probes.summarize_activations(self.model, acts)
        val = self.evaluate("val") if len(xv) else {}
        held = xv if len(xv) else self.x["train"]
        stats = probes.activation_stats(self.model, held[:PROBE_BATCH]) if probe else {}
        return val, stats

    @eager
    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities (N, K) for classification, values (N,) for regression (in eval mode;
        the model's mode is restored)."""
        with eval_mode(self.model):
            return predict(self.model(x.to(self.device)).float(), self.data.task).cpu()

    # --- many epochs -------------------------------------------------------------
    def _monitor(self, rec: dict) -> float | None:
        es = self.spec.train.early_stopping
        name = es.metric if es.metric in rec else "val_loss"
        if name not in rec:
            return None
        return -rec[name] if name == "val_accuracy" else rec[name]

    def _track_best(self, rec: dict) -> bool:
        """Keep the best weights so far; True when patience ran out."""
        v = self._monitor(rec)
        if v is None:
            return False
        es = self.spec.train.early_stopping
        if self.best["value"] is None or v < self.best["value"] - es.min_delta:
            self.best = {"value": v, "epoch": self.epoch,
                         "state": {k: t.detach().clone() for k, t in self.model.state_dict().items()}}
        return es.patience > 0 and self.epoch - self.best["epoch"] >= es.patience

    def fit(self, on_epoch: Callable[[dict], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> FitResult:
        """Train to ``train.epochs`` (or early stop) and evaluate on the test split."""
        start = time.perf_counter()
        stopped = False
        while self.epoch < self.spec.train.epochs:
            rec = self.train_epoch()
            stopped = self._track_best(rec)
            if on_epoch is not None:
                on_epoch(rec)
            if stopped or (should_stop is not None and should_stop()):
                break
        if self.spec.train.early_stopping.patience > 0 and self.best["state"] is not None:
            self.model.load_state_dict(self.best["state"])   # restore the best checkpoint
        return FitResult(self.history, self.summary(time.perf_counter() - start), stopped)

    def summary(self, seconds: float) -> dict:
        last = self.history[-1] if self.history else {}
        train = self.evaluate("train")
        test = self.evaluate("test")
        s = {"epochs": self.epoch, "seconds": round(seconds, 4), "device": str(self.device),
             "task": self.data.task, "best_epoch": self.best["epoch"],
             "train_loss": train.get("loss"), "test_loss": test.get("loss")}
        for k in ("accuracy", "mse"):
            if k in test:
                s[f"train_{k}"], s[f"test_{k}"] = train[k], test[k]
        for k in ("val_loss", "val_accuracy", "val_mse"):
            if k in last:
                s[k] = last[k]
        if self.data.task != "regression" and len(self.x["test"]) and self.spec.data.name != "text":
            s.update(self._class_metrics())   # (a character model's classes are its characters)
        if self.frozen:
            s["frozen"] = list(self.frozen)
        if self.transfer is not None:
            s["transfer"] = dict(self.transfer)
        return s

    def _class_metrics(self) -> dict:
        """Per-class test recall, balanced accuracy and PR-AUC (scikit-learn's), the rare
        class's recall, and with ``train.tta`` the accuracy over augmented copies."""
        from .metrics import class_metrics
        x, y = self.x["test"], self.data.y_test
        prob = self.predict(x)
        s = class_metrics(prob.numpy(), y.numpy(), self.data.num_classes, self.data.rare_class)
        if self.spec.train.tta:
            p = augmentation.tta_predict(self.predict, x.cpu(), self.augment, self.spec.train.tta)
            s["test_accuracy_tta"] = float((p.argmax(1) == y).float().mean())
        return s

    def start_from(self, state: dict[str, torch.Tensor], source: str = "") -> dict:
        """Load every layer of a trained network's ``state`` whose name and shape match
        (transfer learning); -> {"from", "loaded", "kept", "frozen"}, also in the summary."""
        loaded, kept = load_matching(self.model, {k: v.to(self.device) for k, v in state.items()})
        self.transfer = {"from": source, "loaded": loaded, "kept": kept, "frozen": list(self.frozen)}
        self.best = {"value": None, "epoch": 0, "state": None}
        return self.transfer

    # --- resumable state ------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to continue exactly where this epoch ended."""
        return {"epoch": self.epoch, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler else None,
                "generator": self.generator.get_state(),
                "dropout_generator": self.dropout_generator.get_state(),
                "best_value": self.best["value"], "best_epoch": self.best["epoch"],
                "best_state": self.best["state"],
                **({"augment_generator": self.augment.generator.get_state()} if self.augment else {})}

    def load_state(self, st: dict, history: list[dict]) -> None:
        self.epoch = int(st["epoch"])
        self.model.load_state_dict(st["model"])
        self.optimizer.load_state_dict(st["optimizer"])
        if self.scheduler is not None and st.get("scheduler"):
            self.scheduler.load_state_dict(st["scheduler"])
        self.generator.set_state(st["generator"])
        self.dropout_generator.set_state(st["dropout_generator"])
        if self.augment is not None and st.get("augment_generator") is not None:
            self.augment.generator.set_state(st["augment_generator"])
        self.best = {"value": st.get("best_value"), "epoch": int(st.get("best_epoch") or 0),
                     "state": st.get("best_state")}
        self.history = list(history)
