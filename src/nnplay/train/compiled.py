"""Compiled training step (컴파일된 학습 단계): one call runs a batch's forward pass, loss,
backward pass and plain-SGD update as code that TorchInductor generates (C++ on the CPU,
Triton on CUDA).

Why: a small network's eager step is bound by per-op dispatch, not arithmetic (the
TensorFlow Playground's 6x8 tanh MLP takes about 60 tensor ops of a few microseconds
each per step); one compiled call does the same work several times faster
(benchmarks/train_loop.py, benchmarks/playground.py). The step is written with ``torch.func`` (gradients of the
loss as a function of the parameters), traced to an ATen graph with ``make_fx`` and
compiled with ``torch._inductor.compile``: no TorchDynamo guards on every call.

Tracing and compiling take seconds, so ``start`` does it in a background thread on a
copy of the network; ``ready`` tells the Trainer when to switch. Other optimizers get the
compiled gradients in ``p.grad`` and step as usual. Networks whose training changes
buffers (batch norm) stay eager.

torch.fx traces by patching ``nn.Module.__call__`` and ``__getattr__`` for the whole
process (make_fx, and Inductor's own traces inside the compile). A module called from
another thread meanwhile goes through the tracer (``NameError: module is not installed
as a submodule``), and two traces at once corrupt each other's patches (``CURRENT_PATCHER
is None``). So ``TRACING`` is a process-wide readers-writer lock: a thread that runs
networks eagerly holds it shared (``eager``: the Trainer's epochs and evaluations, a
playground session's work), and every torch.fx patch holds it alone (``guard_fx_patches``
wraps the one place torch.fx patches). A trace waits for the epochs in progress and
training waits for the traces (a fraction of a build); the compile itself, the slow
part, runs beside training. Builds run one at a time.

Built steps are kept on disk across processes by Inductor's FX graph cache, in
``cache_dir()`` (~/.cache/nnplay/inductor; $NNPLAY_CACHE or $TORCHINDUCTOR_CACHE_DIR move
it): a second process (a restarted server, the next ``nnplay train``) traces the step
again (under a second) and loads the generated code instead of generating and compiling
C++ (benchmarks/startup.py measures both). Inductor only caches a graph whose example
inputs carry a ``ShapeEnv`` (otherwise: "Bypassing FX Graph Cache because 'No shape
env'"), so the examples are handed to it as fake tensors of such a mode, static shapes.
"""
from __future__ import annotations

import copy
import functools
import logging
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager

import torch
from torch import nn

from ..model import regularize
from ..model.layers import Dropout


# Built steps by what was traced into them (the network's layers, the loss and its settings,
# the batch's shapes, the device): a session that rebuilds its network (new data, a clicked
# point) with the same layers gets the step at once instead of compiling it again.
_BUILT: OrderedDict[tuple, object] = OrderedDict()
_BUILT_MAX = 16
_LOCK = threading.Lock()
log = logging.getLogger(__name__)


class TraceLock:
    """Shared by threads running networks eagerly, held alone while torch.fx patches.

    A waiting trace keeps new eager holders out, so it never starves; both sides are
    re-entrant per thread (an evaluation inside an epoch, a trace inside a trace)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._eager = 0          # threads holding it shared
        self._traces = 0         # traces waiting or holding it
        self._owner: int | None = None   # the thread holding it alone
        self._local = threading.local()

    def _depth(self, side: str) -> int:
        return getattr(self._local, side, 0)

    def holds_eager(self) -> bool:
        """Whether this thread holds it shared (a build must not be awaited here)."""
        return self._depth("eager") > 0

    @contextmanager
    def eager(self):
        depth = self._depth("eager")
        if depth == 0 and self._owner != threading.get_ident():
            with self._cond:
                while self._traces:
                    self._cond.wait()
                self._eager += 1
            entered = True
        else:
            entered = False
        self._local.eager = depth + 1
        try:
            yield
        finally:
            self._local.eager = depth
            if entered:
                with self._cond:
                    self._eager -= 1
                    self._cond.notify_all()

    @contextmanager
    def tracing(self):
        if self.holds_eager():
            raise RuntimeError("a thread that runs a network eagerly cannot also trace one "
                               "(it would wait for itself); trace from another thread")
        depth = self._depth("tracing")
        if depth == 0:
            with self._cond:
                self._traces += 1
                while self._owner is not None or self._eager:
                    self._cond.wait()
                self._owner = threading.get_ident()
        self._local.tracing = depth + 1
        try:
            yield
        finally:
            self._local.tracing = depth
            if depth == 0:
                with self._cond:
                    self._owner = None
                    self._traces -= 1
                    self._cond.notify_all()


TRACING = TraceLock()
_BUILDING = threading.Lock()   # one build at a time (Inductor's settings are process-wide)
# one compile thread: no worker-process pool inside the server; the vector ISAs are the
# CPU's (Inductor still reads its flags) without three probe processes per build
OPTIONS = {"compile_threads": 1, "cpp.vec_isa_ok": True}


def cache_dir() -> str:
    """Where built steps are kept across processes: $TORCHINDUCTOR_CACHE_DIR when set, else
    $NNPLAY_CACHE/inductor, else $XDG_CACHE_HOME (~/.cache)/nnplay/inductor. Inductor reads
    the variable, so it is set here, once."""
    if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        root = os.environ.get("NNPLAY_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "nnplay")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(root, "inductor")
    return os.environ["TORCHINDUCTOR_CACHE_DIR"]


cache_dir()   # before anything imports Inductor, which fixes its default on first use


def _fake(example: list[torch.Tensor]) -> list[torch.Tensor]:
    """``example`` as static-shaped fake tensors of a mode with a ShapeEnv: what Inductor's
    FX graph cache needs to key (and so keep) the step."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    mode = FakeTensorMode(shape_env=ShapeEnv())
    return [mode.from_tensor(t, static_shapes=True) for t in example]


def guard_fx_patches() -> None:
    """Make every torch.fx trace in this process hold ``TRACING`` alone while its patches
    are in place. ``torch.fx._symbolic_trace._new_patcher`` is the one context in which
    torch.fx patches ``nn.Module`` (every tracer, make_fx and Inductor's included, enters
    it); the tests in tests/train/test_compiled_threads.py fail without this."""
    import torch.fx._symbolic_trace as fx

    if getattr(fx._new_patcher, "nnplay_guarded", False):
        return
    patcher = fx._new_patcher

    @contextmanager
    def guarded():
        with TRACING.tracing(), patcher() as p:
            yield p
    guarded.nnplay_guarded, guarded.original = True, patcher
    fx._new_patcher = guarded


guard_fx_patches()


def eager(fn):
    """Run ``fn`` (which calls networks) holding ``TRACING`` shared."""
    @functools.wraps(fn)
    def holding(*args, **kwargs):
        with TRACING.eager():
            return fn(*args, **kwargs)
    return holding


def unsupported(model: nn.Module) -> str | None:
    """Why ``model`` cannot use the compiled step, or None when it can."""
    if any(True for _ in model.buffers()):
        return "the network has buffers that training updates (batch norm)"
    return None


def plain_sgd(optimizer: torch.optim.Optimizer) -> bool:
    """SGD without momentum or weight decay: its update p -= lr * g runs inside the graph."""
    if type(optimizer) is not torch.optim.SGD or len(optimizer.param_groups) != 1:
        return False
    g = optimizer.param_groups[0]
    return g["momentum"] == 0 and g["weight_decay"] == 0 and not g["maximize"]


class CompiledStep:
    """forward + loss + L1/L2 penalty + backward (+ SGD update) for batches of one size."""

    def __init__(self, model: nn.Module, loss_fn: nn.Module, batch_size: int):
        self.params = [p for p in model.parameters()]
        self.names = [n for n, _ in model.named_parameters()]
        ids = {id(w) for w in regularize.weights(model)}
        self.is_weight = [id(p) in ids for p in self.params]
        # tracing runs on copies, so that it never swaps the parameters of the training network
        self._net, self._loss = copy.deepcopy(model), copy.deepcopy(loss_fn)
        for m in self._net.modules():   # Inductor cannot lower random ops that take a generator:
            if isinstance(m, Dropout):  # the traced dropout draws from the global RNG
                m.generator = None
        self.eps = getattr(loss_fn, "eps", 0.0)   # label smoothing is traced in: a change needs a new step
        self.batch_size = batch_size
        self.ready = threading.Event()
        self.cancel: threading.Event | None = None   # set: a build still waiting its turn is dropped
        self.error: str | None = None
        self._fn = None
        self._thread: threading.Thread | None = None
        self._data = [p.detach() for p in self.params]   # the same storage: updated in place
        dev = self.params[0].device
        self._lr = torch.zeros((), device=dev)           # graph inputs, refilled when they change
        self._rates = torch.zeros(2, device=dev)         # (L1 rate, L2 rate)
        self._now = (0.0, 0.0, 0.0)                      # (lr, L1, L2) held in those tensors

    def matches(self, loss_fn: nn.Module, batch_size: int) -> bool:
        return self.batch_size == batch_size and getattr(loss_fn, "eps", 0.0) == self.eps

    # --- building ------------------------------------------------------------
    def _step_fn(self):
        """The step as a function of flat tensors (parameters..., x, y, lr, rates)."""
        from torch.func import functional_call, grad_and_value

        net, loss_fn = self._net, self._loss
        names, is_weight, n = self.names, self.is_weight, len(self.params)

        def objective(ps, xb, yb, rates):
            out = functional_call(net, dict(zip(names, ps)), (xb,))
            loss = loss_fn(out, yb)
            ws = [p for p, w in zip(ps, is_weight) if w]
            return loss + rates[0] * regularize.l1(ws) + rates[1] * regularize.l2(ws), (loss, out)

        def step(*args):
            ps, (xb, yb, lr, rates) = list(args[:n]), args[n:]
            grads, (_, (loss, out)) = grad_and_value(objective, has_aux=True)(ps, xb, yb, rates)
            return (loss, out, *[p - lr * g for p, g in zip(ps, grads)], *grads)
        return step

    def _key(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple:
        w = getattr(self._loss, "weight", None)
        return (repr(self._net), repr(self._loss), getattr(self._loss, "task", None), self.eps,
                None if w is None else tuple(w.tolist()), tuple(self.is_weight),
                tuple((tuple(p.shape), p.dtype) for p in self.params),
                tuple(xb.shape), xb.dtype, tuple(yb.shape), yb.dtype, str(xb.device))

    def _reuse(self, key: tuple) -> bool:
        with _LOCK:
            fn = _BUILT.get(key)
            if fn is not None:
                _BUILT.move_to_end(key)
                self._fn = fn
                self.ready.set()
        return fn is not None

    def build(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        """Trace and compile now (seconds, unless this step was built before); sets
        ``ready`` or ``error``."""
        from torch.fx.experimental.proxy_tensor import make_fx
        import torch._inductor

        key = self._key(xb, yb)
        if self._reuse(key):
            return
        try:
            with torch.no_grad():
                example = [p.detach().clone() for p in self.params] + \
                    [xb.clone(), yb.clone(), self._lr.clone(), self._rates.clone()]
            with _BUILDING:
                if self._reuse(key):  # built by another session while this one waited
                    return
                if self.cancel is not None and self.cancel.is_set():   # its session closed meanwhile
                    self.error = "cancelled"
                    return
                graph = make_fx(self._step_fn())(*example)
                self._fn = torch._inductor.compile(graph, _fake(example), options=OPTIONS)
        except Exception as e:  # noqa: BLE001 - no C++ compiler, an op Inductor lacks...: stay eager
            self.error = f"{type(e).__name__}: {e}"
            log.warning("the compiled step could not be built; training stays eager (%s)", self.error)
            return
        with _LOCK:
            _BUILT[key] = self._fn
            while len(_BUILT) > _BUILT_MAX:
                _BUILT.popitem(last=False)
        self.ready.set()

    def start(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        """Build in a background thread (once); at once when it was built before."""
        if self._thread is None and not self._reuse(self._key(xb, yb)):
            self._thread = threading.Thread(target=self.build, args=(xb, yb), daemon=True,
                                            name="nnplay-compile")
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready.is_set()

    # --- running -------------------------------------------------------------
    def __call__(self, xb: torch.Tensor, yb: torch.Tensor, optimizer: torch.optim.Optimizer,
                 l1: float = 0.0, l2: float = 0.0, keep_grads: bool = False):
        """One training step; returns (loss, output) like the eager step.

        Plain SGD is applied inside the graph; any other optimizer steps on the gradients,
        which are then in ``p.grad`` (as they are when ``keep_grads``, for the probes)."""
        n = len(self.params)
        sgd = plain_sgd(optimizer)
        now = (optimizer.param_groups[0]["lr"] if sgd else 0.0, float(l1), float(l2))
        with torch.no_grad():
            if now != self._now:
                self._lr.fill_(now[0])
                self._rates.copy_(torch.tensor(now[1:]))
                self._now = now
            res = self._fn(*self._data, xb, yb, self._lr, self._rates)
            loss, out, new, grads = res[0], res[1], res[2:2 + n], res[2 + n:]
            if sgd:
                torch._foreach_copy_(self._data, list(new))
        if keep_grads or not sgd:
            for p, g in zip(self.params, grads):
                p.grad = g
        if not sgd:
            optimizer.step()
        return loss, out


# --- the Trainer's compiled step: when it is built, used and dropped ---------------------
COMPILE_AFTER = 2.0  # seconds of eager training before the compiled step is built (train.compile)


def fast_step(tr, now: bool = False) -> CompiledStep | None:
    """Trainer ``tr``'s compiled step when ``train.compile`` is on and it is built; None until
    then (the eager step trains meanwhile), and for networks or settings it does not cover
    (batch norm, mixed precision, adversarial training, metric losses). Building starts after
    COMPILE_AFTER seconds of training: short runs never pay the seconds it takes."""
    t = tr.spec.train
    if not t.compile or tr.amp or tr.adversary is not None or unsupported(tr.model) \
            or tr.share.module is not None or tr.metric_loss is not None \
            or tr.augment is not None:
        tr.compiled = None
        return None
    c = tr.compiled
    if c is None or not c.matches(tr.loss_fn, t.batch_size):
        if tr.seconds < COMPILE_AFTER and not now:
            return None
        c = tr.compiled = CompiledStep(tr.model, tr.loss_fn, t.batch_size)
        c.cancel = tr.cancel   # a closed session's build that has not begun is dropped
        n = min(t.batch_size, len(tr.x["train"]))
        c.start(tr.x["train"][:n], tr.y["train"][:n])
    return c if c.ready.is_set() else None


def compile_now(tr, timeout: float | None = None) -> bool:
    """Build Trainer ``tr``'s compiled step now (``train.compile`` on) and wait; True once it
    is used. Not from a thread running a network (an epoch, a session's work): the build waits
    for it (TRACING)."""
    if TRACING.holds_eager():
        raise RuntimeError("compile_now: this thread runs a network eagerly, and the build "
                           "would wait for it; call it between epochs")
    fast_step(tr, now=True)
    return tr.compiled is not None and tr.compiled.wait(timeout)


def engine(c: CompiledStep | None) -> str:
    """'compiled' once the compiled step trains, 'compiling' while it is built, else 'eager'."""
    if c is None or c.error:
        return "eager"
    return "compiled" if c.ready.is_set() else "compiling"
