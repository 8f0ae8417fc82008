"""Compiled training step (컴파일된 학습 단계): one call runs a batch's forward pass, loss,
backward pass and plain-SGD update as code that TorchInductor generates (C++ on the CPU,
Triton on CUDA).

Why: a small network's eager step is bound by per-op dispatch, not arithmetic (the
TensorFlow Playground's 6x8 tanh MLP takes about 60 tensor ops of a few microseconds
each per step); one compiled call does the same work several times faster
(benchmarks/train_loop.py, benchmarks/playground.py). The step is written with ``torch.func`` (gradients of the
loss as a function of the parameters), traced to an ATen graph with ``make_fx`` and
compiled with ``torch._inductor.compile``: no TorchDynamo guards on every call.

``CompiledEpoch`` goes further for the optimizers it can write into the graph (SGD,
momentum, Nesterov, Adam, AdamW): all of an epoch's full batches in one call, the loop over
them inside the compiled code (below).

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

Built steps, the whole-epoch call included, are kept on disk across processes by Inductor's
FX graph cache, in ``cache_dir()`` (~/.cache/nnplay/inductor; $NNPLAY_CACHE or $TORCHINDUCTOR_CACHE_DIR move
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


class Unsupported(Exception):
    """What a whole-epoch call cannot hold (random ops): the per-batch step trains instead."""


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
    what = "step"

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
        key = self._key(xb, yb)
        if self._reuse(key):
            return
        try:
            with torch.no_grad():
                example = self._example(xb, yb)
            with _BUILDING:
                if self._reuse(key):  # built by another session while this one waited
                    return
                if self.cancel is not None and self.cancel.is_set():   # its session closed meanwhile
                    self.error = "cancelled"
                    return
                self._fn = self._compile(example)
        except Unsupported as e:   # the per-batch step covers it
            self.error = f"{type(e).__name__}: {e}"
            log.info("no whole-epoch call (%s)", e)
            return
        except Exception as e:  # noqa: BLE001 - no C++ compiler, an op Inductor lacks...: stay eager
            self.error = f"{type(e).__name__}: {e}"
            log.warning("the compiled %s could not be built; training stays eager%s (%s)", self.what,
                        "" if self.what == "step" else " until the per-batch step is built", self.error)
            return
        with _LOCK:
            _BUILT[key] = self._fn
            while len(_BUILT) > _BUILT_MAX:
                _BUILT.popitem(last=False)
        self.ready.set()

    def _example(self, xb: torch.Tensor, yb: torch.Tensor) -> list[torch.Tensor]:
        """The graph's inputs, as copies (tracing must not touch the training tensors)."""
        return [p.detach().clone() for p in self.params] + \
            [xb.clone(), yb.clone(), self._lr.clone(), self._rates.clone()]

    def _compile(self, example: list[torch.Tensor]):
        from torch.fx.experimental.proxy_tensor import make_fx
        import torch._inductor

        graph = make_fx(self._step_fn())(*example)
        return torch._inductor.compile(graph, _fake(example), options=OPTIONS)

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


# --- a whole epoch in one call --------------------------------------------------------
# Matrix products at most this many multiply-adds are written out as a broadcast product and
# a sum, which Inductor fuses with the ops around them into its own C++ loops: for the
# playground's layers (10x2 @ 2x8) one library call costs far more than its arithmetic.
SMALL_MM = 4096
# the loop over the batches runs in Inductor's C++ wrapper (no Python between batches)
EPOCH_OPTIONS = {**OPTIONS, "cpp_wrapper": True}


def _cacheable_loop() -> dict:
    """Let Inductor's FX graph cache keep graphs with a ``while_loop``, which it refuses by
    default ("Can't cache HigherOrderOperator") because an operator of that kind may call
    Python that is not in the graph. Here the loop's condition and body are traced
    subgraphs of the graph (make_fx), pickled into the cache key with the rest of it: Adam
    and AdamW share every outer shape and differ only inside the loop, and each gives
    torch.optim's own numbers (tests/train/test_compiled.py); the torch version is in the key.
    A second process then loads the epoch call in about a second instead of lowering it again
    (5-7 s; benchmarks/startup.py)."""
    from torch._higher_order_ops.while_loop import while_loop_op

    return {"unsafe_marked_cacheable_functions":
            {f"{while_loop_op.__module__}.{while_loop_op.__name__}": torch.__version__}}


RANDOM_OPS = ("rand", "bernoulli", "normal", "randint", "randperm", "dropout", "uniform", "exponential")


def _small_mm(a: torch.Tensor, b: torch.Tensor):
    if a.shape[0] * a.shape[1] * b.shape[1] > SMALL_MM:
        return NotImplemented   # the library's kernel
    return (a.unsqueeze(2) * b.unsqueeze(0)).sum(1)   # (M, K, 1) * (1, K, N) summed over K


def _small_addmm(c: torch.Tensor, a: torch.Tensor, b: torch.Tensor, beta=1, alpha=1):
    ab = _small_mm(a, b) if beta == 1 and alpha == 1 else NotImplemented
    return NotImplemented if ab is NotImplemented else c + ab


def optimizer_kind(optimizer: torch.optim.Optimizer) -> str | None:
    """'sgd', 'momentum', 'nesterov', 'adam' or 'adamw' when ``CompiledEpoch`` applies this
    optimizer's update inside its graph; None for the others (they train per batch)."""
    if len(optimizer.param_groups) != 1:
        return None
    g = optimizer.param_groups[0]
    if g.get("maximize") or g.get("differentiable"):
        return None
    if type(optimizer) is torch.optim.SGD and g["dampening"] == 0:
        return "nesterov" if g["nesterov"] else "momentum" if g["momentum"] else "sgd"
    if type(optimizer) in (torch.optim.Adam, torch.optim.AdamW) and not g["amsgrad"] \
            and not torch.is_complex(g["params"][0]):
        return "adamw" if g["decoupled_weight_decay"] else "adam"
    return None


class CompiledEpoch(CompiledStep):
    """An epoch's full batches in one compiled call: for each batch of the given order,
    forward, loss (+ L1/L2), backward and the optimizer's update (SGD, momentum, Nesterov,
    Adam, AdamW, with PyTorch's formulas), inside a ``while_loop`` that Inductor runs in
    C++. A small network's epoch then costs about what a jitted JAX epoch (``lax.scan``)
    costs, instead of one Python call per batch (benchmarks/train_loop.py).

    The graph holds the epoch's full batches up to ``capacity`` (a power of two) and takes
    how many to train as an input, so a few points more or fewer reuse the built call.
    The loop body is traced once, so a first build takes about as long as the per-batch
    step's; Inductor's FX graph cache keeps it on disk (``_cacheable_loop``), so a second
    process loads it in about a second (benchmarks/startup.py); training runs eagerly meanwhile.
    Parameters and optimizer state are read from and written back to the network and the
    torch optimizer, so the eager step (a last, smaller batch) and a later switch go on
    from the same state. Dropout's masks are drawn before the call, batch by batch from the
    Trainer's dropout generator exactly as the eager layers draw them (the same masks), and
    enter the graph as inputs; any other random op would draw the same numbers every batch,
    so such networks use the per-batch step."""

    HYPER = ("lr", "weight_decay", "momentum", "beta1", "beta2", "eps", "l1", "l2")
    what = "whole-epoch call"

    def __init__(self, model: nn.Module, loss_fn: nn.Module, batch_size: int, kind: str):
        super().__init__(model, loss_fn, batch_size)
        self.kind = kind
        self.n_state = {"sgd": 0, "momentum": 1, "nesterov": 1}.get(kind, 2)   # tensors per parameter
        self._hyper = torch.zeros(len(self.HYPER), device=self.params[0].device)
        self._hyper_now: tuple = ()
        # the dropout layers (children of a Sequential) whose masks are inputs, in forward order
        self._drops = [(name, m.p) for name, m in self._net.named_children()
                       if isinstance(m, nn.Dropout) and m.p > 0]
        self._drop_shapes: list[tuple[int, ...]] = []
        self.capacity = 0   # full batches the graph holds (set from the data by start/build)
        self._batches: tuple[torch.Tensor, ...] | None = None   # buffers: (inputs, targets, batch count)
        self._count = 0     # the batch count those buffers hold

    def fits(self, optimizer: torch.optim.Optimizer, n: int) -> bool:
        """Whether this call trains ``n`` samples with ``optimizer``: the same kind, and as many
        full batches as its capacity holds or fewer."""
        return optimizer_kind(optimizer) == self.kind and 1 <= n // self.batch_size <= self.capacity

    def _sized(self, x: torch.Tensor) -> None:
        """The batches the graph holds: the epoch's full batches rounded up to a power of two."""
        self.capacity = 1 << max(0, len(x) // self.batch_size - 1).bit_length()

    def _key(self, x: torch.Tensor, y: torch.Tensor) -> tuple:
        rows = self.capacity * self.batch_size   # the graph's shapes, whatever the number of samples
        return ("epoch", self.kind, self.batch_size, *super()._key(x[:1].expand(rows, *x.shape[1:]),
                                                                   y[:1].expand(rows, *y.shape[1:])))

    def start(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self._sized(x)
        super().start(x, y)

    def build(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self._sized(x)
        super().build(x, y)

    def _example(self, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
        ps = [p.detach().clone() for p in self.params]
        state = [torch.zeros_like(p) for _ in range(self.n_state) for p in ps]
        if self.kind.startswith("adam"):
            state.append(torch.zeros((), device=x.device))   # the step count
        rows = self.capacity * self.batch_size
        xs, ys = x[:1].expand(rows, *x.shape[1:]).clone(), y[:1].expand(rows, *y.shape[1:]).clone()
        steps = torch.tensor(1, device=x.device)   # make_fx runs the loop while it traces: once is enough
        masks = [torch.ones(self.capacity, *shape, device=x.device) for shape in self._shapes(x)]
        return ps + state + [xs, ys, steps, self._hyper.clone(), *masks]

    def _shapes(self, x: torch.Tensor) -> list[tuple[int, ...]]:
        """Each dropout layer's input shape, from one batch through the copy (once)."""
        if self._drops and not self._drop_shapes:
            shapes = {}
            hooks = [getattr(self._net, name).register_forward_pre_hook(
                lambda m, a, name=name: shapes.__setitem__(name, tuple(a[0].shape)))
                for name, _ in self._drops]
            with TRACING.eager(), torch.no_grad():
                self._net(x[:self.batch_size])
            for h in hooks:
                h.remove()
            self._drop_shapes = [shapes[name] for name, _ in self._drops]
        return self._drop_shapes

    def _compile(self, example: list[torch.Tensor]):
        from torch.fx.experimental.proxy_tensor import make_fx
        import torch._inductor

        aten = torch.ops.aten
        graph = make_fx(self._epoch_fn(), decomposition_table={
            aten.mm.default: _small_mm, aten.addmm.default: _small_addmm})(*example)
        drawn = {n.target for g in graph.modules() if isinstance(g, torch.fx.GraphModule)
                 for n in g.graph.nodes if n.op == "call_function"}   # the loop's body included
        random = sorted(str(t) for t in drawn if any(r in str(t) for r in RANDOM_OPS))
        if random:
            raise Unsupported(f"random ops {random} would draw the same numbers every batch")
        fake = _fake(example)
        for node, v in zip([n for n in graph.graph.nodes if n.op == "placeholder"], fake):
            node.meta["val"] = v   # the C++ wrapper reads the inputs' metadata here
        return torch._inductor.compile(graph, fake, options={**EPOCH_OPTIONS, **_cacheable_loop()})

    def _epoch_fn(self):
        """The epoch as a function of flat tensors (parameters..., optimizer state..., the
        epoch's batches in order (capacity x batch rows, inputs and targets), how many of them
        to train, hyper, dropout masks...) -> (per-batch losses (capacity,), right answers,
        parameters..., state..., the last batch's gradients...)."""
        from torch._higher_order_ops.while_loop import while_loop_op
        from torch.func import functional_call, grad_and_value

        from .losses import correct

        net, loss_fn, kind = self._net, self._loss, self.kind
        names, is_weight, n, b = self.names, self.is_weight, len(self.params), self.batch_size
        k = self.n_state * n + (1 if kind.startswith("adam") else 0)
        task = getattr(loss_fn, "task", "classes")

        drops = [name for name, _ in self._drops]
        children = [(name, {k.split(".", 1)[1]: i for i, k in enumerate(names) if k.split(".", 1)[0] == name})
                    for name, _ in net.named_children()]
        if drops and (not isinstance(net, nn.Sequential)
                      or any(m._forward_hooks or m._forward_pre_hooks for m in net.modules())):
            raise Unsupported("dropout outside a plain Sequential network")

        def forward(ps, xb, mbs):
            if not drops:
                return functional_call(net, dict(zip(names, ps)), (xb,))
            for name, own in children:   # layer by layer: a dropout layer applies its mask
                if name in drops:
                    xb = xb * mbs[drops.index(name)]
                else:
                    xb = functional_call(getattr(net, name), {k: ps[i] for k, i in own.items()}, (xb,))
            return xb

        def objective(ps, xb, yb, h, mbs):
            out = forward(ps, xb, mbs)
            loss = loss_fn(out, yb)
            ws = [p for p, w in zip(ps, is_weight) if w]
            return loss + h[6] * regularize.l1(ws) + h[7] * regularize.l2(ws), (loss, out)

        def update(ps, state, grads, h):
            """One optimizer step, as torch.optim computes it."""
            lr, wd, mom, b1, b2, eps = h[0], h[1], h[2], h[3], h[4], h[5]
            if kind in ("sgd", "momentum", "nesterov"):
                ds = [g + wd * p for p, g in zip(ps, grads)]
                if kind == "sgd":
                    return [p - lr * d for p, d in zip(ps, ds)], []
                bufs = [mom * m + d for m, d in zip(state, ds)]   # a zero buffer: m = d at first
                ds = [d + mom * m for d, m in zip(ds, bufs)] if kind == "nesterov" else bufs
                return [p - lr * d for p, d in zip(ps, ds)], bufs
            ms, vs, step = state[:n], state[n:2 * n], state[2 * n] + 1
            if kind == "adamw":
                ps = [p * (1 - lr * wd) for p in ps]
            else:
                grads = [g + wd * p for p, g in zip(ps, grads)]
            ms = [m + (1 - b1) * (g - m) for m, g in zip(ms, grads)]            # m.lerp_(g, 1 - b1)
            vs = [v * b2 + (1 - b2) * g * g for v, g in zip(vs, grads)]
            size, root = lr / (1 - b1 ** step), (1 - b2 ** step).sqrt()
            ps = [p - size * m / (v.sqrt() / root + eps) for p, m, v in zip(ps, ms, vs)]
            return ps, [*ms, *vs, step]

        def epoch(*args):
            ps, state = list(args[:n]), list(args[n:n + k])
            x, y, steps, h, *masks = args[n + k:]
            cap = len(x) // b
            xs = x.view(cap, b, *x.shape[1:])   # (capacity, B, ...): the first ``steps`` are this epoch's
            ys = y.view(cap, b, *y.shape[1:])
            at = torch.arange(cap, device=x.device)

            def more(i, losses, hits, *rest):
                return i < rest[2 * n + k + 4]   # the epoch's batch count (an input: no new build)

            def batch(i, losses, hits, *rest):
                carried, (xs, ys, h, at, _, *masks) = rest[:2 * n + k], rest[2 * n + k:]
                ps, state = list(carried[:n]), list(carried[n:n + k])
                xb, yb = xs.index_select(0, i.view(1))[0], ys.index_select(0, i.view(1))[0]
                mbs = [m.index_select(0, i.view(1))[0] for m in masks]
                grads, (_, (loss, out)) = grad_and_value(objective, has_aux=True)(ps, xb, yb, h, mbs)
                ps, state = update(ps, state, grads, h)
                losses = torch.where(at == i, loss, losses)
                if task != "regression":
                    hits = hits + correct(out.detach(), yb, task)
                return (i + 1, losses, hits, *ps, *state, *grads)

            zero = torch.zeros((), dtype=torch.int64, device=x.device)
            # the operator itself: its make_fx rule traces the body directly (the user-facing
            # while_loop goes through Dynamo: seconds more per build, and a cache to reset)
            out = while_loop_op(more, batch, (zero, torch.zeros(cap, device=x.device), zero.clone(),
                                              *ps, *state, *[torch.zeros_like(p) for p in ps]),
                                (xs, ys, h, at, steps, *masks))
            return tuple(out[1:])
        return epoch

    # --- running -------------------------------------------------------------
    def _state(self, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
        """The optimizer's state tensors in the graph's order, created as torch.optim would
        (zeros) when it has not stepped yet."""
        st, dev = optimizer.state, self.params[0].device
        if self.kind in ("momentum", "nesterov"):
            for p in self.params:
                if st[p].get("momentum_buffer") is None:
                    st[p]["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            return [st[p]["momentum_buffer"] for p in self.params]
        if self.kind.startswith("adam"):
            fused = optimizer.param_groups[0]["fused"]
            for p in self.params:
                if "step" not in st[p]:
                    st[p]["step"] = torch.zeros((), dtype=torch.float32, device=dev if fused else "cpu")
                    st[p]["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    st[p]["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            return [st[p]["exp_avg"] for p in self.params] + [st[p]["exp_avg_sq"] for p in self.params]
        return []

    def masks(self, x: torch.Tensor, generator: torch.Generator | None) -> list[torch.Tensor]:
        """Each dropout layer's scaled masks for the epoch's full batches, (capacity, B, ...),
        drawn in the order and the way the eager layers draw them (model/layers.py's
        ``dropout``); ones for the batches beyond the epoch's."""
        shapes, steps = self._shapes(x), len(x) // self.batch_size
        drawn = [[torch.empty(shape, device=x.device).bernoulli_(1 - p, generator=generator).div_(1 - p)
                  for (_, p), shape in zip(self._drops, shapes)] for _ in range(steps)]
        pad = [torch.ones(self.capacity - steps, *shape, device=x.device) for shape in shapes]
        return [torch.cat([torch.stack(per_layer), rest]) for per_layer, rest in zip(zip(*drawn), pad)]

    def __call__(self, x: torch.Tensor, y: torch.Tensor, order: torch.Tensor,
                 optimizer: torch.optim.Optimizer, l1: float = 0.0, l2: float = 0.0,
                 keep_grads: bool = False, generator: torch.Generator | None = None):
        """The epoch's full batches in ``order``; returns (per-batch losses (steps,), right
        answers (a 0-d tensor)). Parameters and optimizer state are updated in place; the
        last batch's gradients are in ``p.grad`` when ``keep_grads`` (for the probes).
        ``generator``: the one the network's dropout layers draw from."""
        n, g = len(self.params), optimizer.param_groups[0]
        b1, b2 = g.get("betas", (0.0, 0.0))
        now = (g["lr"], g["weight_decay"], g.get("momentum", 0.0), b1, b2, g.get("eps", 0.0),
               float(l1), float(l2))
        with torch.no_grad():
            if now != self._hyper_now:
                self._hyper.copy_(torch.tensor(now))
                self._hyper_now = now
            state = self._state(optimizer)
            adam = self.kind.startswith("adam")
            step = [optimizer.state[self.params[0]]["step"].to(x.device)] if adam else []
            masks = self.masks(x, generator) if self._drops else []
            steps, rows = len(x) // self.batch_size, self.capacity * self.batch_size
            want = [((rows, *t.shape[1:]), t.dtype, t.device) for t in (x, y)]
            if self._batches is None or [(t.shape, t.dtype, t.device) for t in self._batches[:2]] != want:
                self._batches = (x.new_zeros(rows, *x.shape[1:]), y.new_zeros(rows, *y.shape[1:]),
                                 torch.zeros((), dtype=torch.int64, device=x.device))
                self._count = 0
            xs, ys, count = self._batches   # the epoch's batches in order, gathered in one op each
            torch.index_select(x, 0, order[:steps * self.batch_size], out=xs[:steps * self.batch_size])
            torch.index_select(y, 0, order[:steps * self.batch_size], out=ys[:steps * self.batch_size])
            if self._count != steps:
                count.fill_(steps)
                self._count = steps
            res = self._fn(*self._data, *state, *step, xs, ys, count, self._hyper, *masks)
            losses, hits, new = res[0][:steps], res[1], res[2:]
            torch._foreach_copy_(self._data + state, list(new[:n + len(state)]))
            if adam:
                for p in self.params:
                    optimizer.state[p]["step"].copy_(new[n + len(state)])
        if keep_grads:
            for p, grad in zip(self.params, new[-n:]):
                p.grad = grad
        return losses, hits


# --- the Trainer's compiled step: when it is built, used and dropped ---------------------
COMPILE_AFTER = 1.0  # seconds of eager training before the compiled step is built (train.compile)


def fast_step(tr, now: bool = False) -> CompiledStep | None:
    """Trainer ``tr``'s compiled step when ``train.compile`` is on and it is built: the whole
    epoch in one call (``CompiledEpoch``) where ``tr._epoch_kind()`` allows it, else one call
    per batch; None until then (the eager step trains meanwhile), and for networks or settings
    it does not cover (batch norm, mixed precision, adversarial training, metric losses). Building starts after
    COMPILE_AFTER seconds of training: short runs never pay the seconds it takes."""
    t = tr.spec.train
    if not t.compile or tr.amp or tr.adversary is not None or unsupported(tr.model) \
            or tr.share.module is not None or tr.metric_loss is not None \
            or tr.augment is not None:
        tr.compiled = None
        return None
    c, x = tr.compiled, tr.x["train"]
    kind = tr._epoch_kind()
    if c is None or not c.matches(tr.loss_fn, t.batch_size) or isinstance(c, CompiledEpoch) and (
            kind is None or not c.fits(tr.optimizer, len(x)) or c.error and c.error != "cancelled"):
        if tr.seconds < COMPILE_AFTER and not now:
            return None
        if kind is not None and not (isinstance(c, CompiledEpoch) and c.error):
            c = CompiledEpoch(tr.model, tr.loss_fn, t.batch_size, kind)   # the whole epoch
            y = tr.y["train"]
        else:   # one call per batch
            c = CompiledStep(tr.model, tr.loss_fn, t.batch_size)
            n = min(t.batch_size, len(x))
            x, y = x[:n], tr.y["train"][:n]
        c.cancel = tr.cancel   # a closed session's build that has not begun is dropped
        tr.compiled = c
        c.start(x, y)
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
