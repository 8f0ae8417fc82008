"""The optional scale-out extra (``pip install nnplay[scale]``: Optuna and Ray) and the Ray
session that sweeps and multi-process training run on.

Nothing here imports Optuna or Ray at module import time: ``need`` imports them when a sweep
or a Ray backend asks, and names the extra when they are missing. ``ray_session`` joins the
cluster at ``address`` (checked with a short TCP connect first, so a wrong address is an error
in seconds, not Ray's minute-long retries) or starts a local one sized to this machine and
shuts it down afterwards.
"""
from __future__ import annotations

import importlib
import os
import socket
import sys
from contextlib import contextmanager
from typing import Iterator

from .spec import SpecError

EXTRA = "scale"
CONNECT_SECONDS = 3.0      # how long --address gets to answer a TCP connect
GCS_TRIES = 8              # then about a second per try for Ray's own handshake (default 20)


def need(module: str):
    """``import module`` (optuna, ray, ray.train...), or a SpecError that names the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.partition(".")[0]
        if e.name is not None and e.name.partition(".")[0] != top:
            raise                                   # a broken install of something else
        raise SpecError.say("scale.missing", module=top, extra=EXTRA) from None


def _host_port(address: str) -> tuple[str, int] | None:
    """``[ray://]host:port`` -> (host, port); None for ``auto`` (a cluster found by Ray)."""
    if address == "auto":
        return None
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SpecError.say("scale.bad_address", address=address)
    return host.strip("[]"), int(port)


def check_address(address: str, seconds: float = CONNECT_SECONDS) -> None:
    """A SpecError, within ``seconds``, when nothing listens at ``address``."""
    hp = _host_port(address)
    if hp is None:
        return
    try:
        with socket.create_connection(hp, timeout=seconds):
            pass
    except OSError as e:
        raise SpecError.say("scale.unreachable", address=address, reason=e.strerror or e) from None


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator:
    """Ray, connected: to ``address`` when given, else a local head on 127.0.0.1 with
    ``num_cpus`` (default: this machine's cores) that is shut down on exit. A session that
    is already connected (a test's, a notebook's) is used as it is and left running."""
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        yield ray
        return
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address is not None:
        check_address(address)
        # something answers, but maybe not Ray: give up after GCS_TRIES handshakes, quietly
        # (read when Ray is imported)
        os.environ.setdefault("RAY_gcs_server_port_wait_time_s", str(GCS_TRIES))
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
    ray = need("ray")
    if address is not None:
        try:
            ray.init(address=address, **({} if address.startswith("ray://") else quiet))
        except (ConnectionError, RuntimeError) as e:
            raise SpecError.say("scale.unreachable", address=address,
                                reason=str(e).strip().splitlines()[0][:200]) from None
    else:
        start_local(ray, num_cpus)
    try:
        yield ray
    finally:
        ray.shutdown()


def start_local(ray, num_cpus: int | None = None) -> None:
    """A local Ray head on 127.0.0.1 with ``num_cpus`` CPUs (default: the machine's), no
    dashboard, worker logs kept out of this terminal."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")   # nothing leaves the machine
    ray.init(num_cpus=num_cpus or os.cpu_count() or 1, _node_ip_address="127.0.0.1",
             include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=200 * 2**20)
