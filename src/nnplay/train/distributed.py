"""Data-parallel training in several processes: PyTorch DistributedDataParallel (gloo on CPU,
NCCL on CUDA), started here (``torch.multiprocessing``, rendezvous on 127.0.0.1 at a free
port) or on a Ray cluster (Ray Train's ``TorchTrainer``, which sets up the same process group).

Every process builds the same Trainer from the same spec (the same seed: the same weights and
the same shuffled order) and trains on its contiguous share of each global batch of
``train.batch_size``. DDP averages the gradients over the N processes, so a share of k of the
batch's B samples weights its mean loss by N k / B: the average is then the gradient of the
whole batch's mean loss, the step one process takes (up to float rounding). Epoch losses and
accuracies are summed over the processes. Process 0 writes the run (checkpoints, metrics,
model), so ``nnplay train --resume`` continues it with any number of processes.

Exact only where a sample's loss does not depend on its batch-mates: batch norm normalizes
each share (SyncBatchNorm on CUDA), dropout draws per process, and class-weighted losses are
weighted means per share. Li et al. 2020, "PyTorch Distributed: Experiences on Accelerating
Data Parallel Training", https://arxiv.org/abs/2006.15704
"""
from __future__ import annotations

import math
import os
import socket
from datetime import timedelta
from typing import Callable

import torch
from torch import distributed as dist
from torch import nn

from ..spec import Spec, SpecError, UserError, from_dict
from .loop import DivergenceError

TIMEOUT = timedelta(minutes=5)   # a collective waiting longer than this fails


class Share:
    """This process's part of each global batch, and sums over the processes."""

    def __init__(self, module: nn.Module, rank: int, world: int):
        self.module, self.rank, self.world = module, rank, world

    def part(self, idx: torch.Tensor) -> torch.Tensor:
        return idx.tensor_split(self.world)[self.rank]   # contiguous shares, sizes differ by <= 1

    def weight(self, k: int, batch: int) -> float:
        return self.world * k / batch

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        t = t.detach().clone().float()
        dist.all_reduce(t)
        return t


def check(spec: Spec, n_train: int, nproc: int, local: bool = True) -> None:
    """Every process needs a sample of every batch (the last one included); NCCL on this
    machine (``local``) needs a CUDA device per process."""
    from .loop import resolve_device
    if local and nproc > 1 and resolve_device(spec.train.device).type == "cuda" \
            and nproc > torch.cuda.device_count():
        raise SpecError.say("dist.gpus", nproc=nproc, count=torch.cuda.device_count())
    if nproc < 1:
        raise SpecError.say("cli.bad_nproc", got=nproc)
    b = spec.train.batch_size
    last = n_train - b * (math.ceil(n_train / b) - 1)
    if min(b, last) < nproc:
        raise SpecError.say("dist.batch_too_small", nproc=nproc, batch_size=b, n=n_train, last=last,
                            most=min(b, last))
    if spec.train.adversarial.method != "none":
        raise SpecError.say("dist.not_supported", nproc=nproc, what="train.adversarial")
    if spec.train.metric_loss != "none":   # its forward keeps the embedding beside DDP's
        raise SpecError.say("dist.not_supported", nproc=nproc, what="train.metric_loss")


def join(trainer, rank: int, world: int) -> None:
    """Make ``trainer`` one of ``world`` data-parallel processes (the group is initialized)."""
    model = trainer.model
    cuda = trainer.device.type == "cuda"
    if cuda:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        trainer.model = model
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[trainer.device.index] if cuda else None)
    trainer.share = Share(ddp, rank, world)   # DDP copied process 0's weights to every process


def train_rank(rank: int, world: int, spec: Spec, root: str, resume: str | None,
               tell: Callable[[tuple], None]) -> dict | None:
    """One process's part; process 0 trains into the run store at ``root`` and tells
    ("run", id) then ("epoch", record)s; -> process 0's summary."""
    from ..runs import RunStore, new_trainer, train_run

    store = RunStore(root)
    if rank == 0:
        def prepare(run, trainer):
            tell(("run", run.id))
            join(trainer, rank, world)
        _, summary = train_run(spec, store, on_epoch=lambda rec: tell(("epoch", rec)), resume=resume,
                               prepare=prepare)
        return summary
    trainer = new_trainer(spec)
    if resume:   # the same state as process 0 (its checkpoint; DDP then broadcasts its weights)
        state = store.get(resume).load_checkpoint()
        if state is not None:
            state.pop("record")
            trainer.load_state(state, [])
    join(trainer, rank, world)
    trainer.fit()
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _words(e: BaseException) -> tuple:
    """An error that can cross a process boundary and be raised again in its language."""
    kind = "diverged" if isinstance(e, DivergenceError) else "spec"
    return (kind, str(e), getattr(e, "words", None))


class Told:
    """What process 0 tells its launcher through a queue (multiprocessing's or Ray's):
    ("run", id), ("epoch", record)s, then ("done", summary); any process: ("error", ...)."""

    def __init__(self, run: str | None, on_epoch: Callable[[dict], None] | None,
                 on_run: Callable[[str], None] | None):
        self.run, self.done, self.error = run, None, None
        self.on_epoch, self.on_run = on_epoch, on_run

    def take(self, queue) -> None:
        while not queue.empty():
            what, *rest = queue.get()
            if what == "epoch" and self.on_epoch is not None:
                self.on_epoch(rest[0])
            elif what == "run":
                self.run = rest[0]
                if self.on_run is not None:
                    self.on_run(rest[0])
            elif what == "done":
                self.done = rest[0]
            elif what == "error":
                self.error = rest

    def raise_error(self) -> None:
        """A worker's UserError or DivergenceError, raised again here (in its language)."""
        if self.error is not None:
            kind, message, words = self.error
            if kind == "diverged":
                raise DivergenceError(message)
            raise UserError.say(words[0], **words[1]) if words is not None else UserError(message)


def _process(rank: int, world: int, spec_d: dict, root: str, resume: str | None, port: int,
             threads: int, events) -> None:
    """A process started by ``train_local``."""
    torch.set_num_threads(threads)
    cuda = spec_d.get("train", {}).get("device") in ("cuda", "auto") and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(rank % torch.cuda.device_count())
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=world, timeout=TIMEOUT)
    try:
        summary = train_rank(rank, world, from_dict(spec_d), root, resume, events.put)
        if rank == 0:
            events.put(("done", summary))
    except (UserError, DivergenceError) as e:
        events.put(("error", *_words(e)))
        raise
    finally:
        dist.destroy_process_group()


def train_local(spec: Spec, root: str, nproc: int, resume: str | None = None,
                on_epoch: Callable[[dict], None] | None = None,
                on_run: Callable[[str], None] | None = None) -> tuple[str, dict]:
    """Train in ``nproc`` processes on this machine -> (run id, summary). A process that dies
    stops the others, and the run is left to ``--resume``."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    events = ctx.SimpleQueue()
    procs = mp.start_processes(_process, args=(nproc, spec.to_dict(), str(root), resume, free_port(),
                                               torch.get_num_threads(), events),
                               nprocs=nproc, join=False, start_method="spawn")
    told = Told(resume, on_epoch, on_run)
    try:
        while not procs.join(timeout=0.2):
            told.take(events)
    except mp.ProcessExitedException as e:   # the others are stopped by now
        told.take(events)
        told.raise_error()
        how = f"signal {e.signal_name}" if e.signal_name else f"exit code {e.exit_code}"
        raise UserError.say("dist.worker_died", rank=e.error_index, nproc=nproc, how=how,
                            run_id=told.run or "?") from None
    except mp.ProcessRaisedException as e:
        told.take(events)
        told.raise_error()
        reason = str(e).strip().splitlines()[-1]
        raise UserError.say("dist.worker_failed", rank=e.error_index, nproc=nproc, reason=reason) from None
    finally:
        for p in procs.processes:   # Ctrl-C or an error here: none is left behind
            if p.is_alive():
                p.terminate()
    told.take(events)
    return told.run, told.done


def _ray_loop(config: dict) -> None:
    """A Ray Train worker: the process group is Ray's (gloo on CPU, NCCL with GPUs)."""
    import ray.train
    torch.set_num_threads(config["threads"])
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    events = config["events"]
    try:
        summary = train_rank(rank, world, from_dict(config["spec"]), config["root"], config["resume"], events.put)
    except (UserError, DivergenceError) as e:
        events.put(("error", *_words(e)))
        raise
    if rank == 0:
        events.put(("done", summary))


def train_ray(spec: Spec, root: str, nproc: int, resume: str | None = None, address: str | None = None,
              on_epoch: Callable[[dict], None] | None = None,
              on_run: Callable[[str], None] | None = None) -> tuple[str, dict]:
    """The same training on Ray Train (``TorchTrainer``, ``nproc`` workers); process 0 tells
    the driver through a Ray queue. The run store at ``root`` must be reachable from the
    workers (this machine's Ray, or a folder every node shares)."""
    import tempfile

    from ..cluster import need, ray_session
    with ray_session(address) as ray:
        need("ray.train")
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchTrainer
        from ray.util.queue import Queue
        use_gpu = spec.train.device == "cuda" or (spec.train.device == "auto" and
                                                  ray.cluster_resources().get("GPU", 0) > 0)
        events = Queue(actor_options={"num_cpus": 0})
        told = Told(resume, on_epoch, on_run)

        with tempfile.TemporaryDirectory() as tmp:
            trainer = TorchTrainer(
                _ray_loop,
                train_loop_config={"spec": spec.to_dict(), "root": os.path.abspath(root), "resume": resume,
                                   "threads": torch.get_num_threads(), "events": events},
                scaling_config=ScalingConfig(num_workers=nproc, use_gpu=use_gpu),
                run_config=RunConfig(storage_path=tmp, name="nnplay"))
            try:
                trainer.fit()
            except Exception as e:   # TrainingFailedError and kin; a worker's typed error came by the queue
                told.take(events)
                told.raise_error()
                raise UserError.say("dist.worker_failed", rank="?", nproc=nproc,
                                    reason=str(e).strip().splitlines()[-1][:300]) from None
            told.take(events)
    return told.run, told.done
