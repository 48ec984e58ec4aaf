"""Ray for one command: the local cluster started and stopped with the run, or the one joined.

Shared by the distributed engine (`distributed.py`) and `simulate --distributed` (`simdist.py`):
Ray imported quietly (or a one-line error naming the extra to install), an address where
nothing listens refused at once, this process's signal handlers kept while Ray starts, and a
local cluster with one worker per CPU unless told how many; and the error a worker raises
from compiled code whose checks fail, carrying the state for the driver to word.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from typing import Any, Iterator

from checker.errors import CheckerError

__all__ = ["INSTALL", "ray_module", "Cluster", "StateError", "fail_at"]

INSTALL = ("--distributed needs Ray, which is not installed: "
           "pip install 'kafka-semantics-checker[distributed]'")


def ray_module() -> Any:
    # Read when Ray is imported: its core would print a stack dump on SIGTERM and SIGINT,
    # which end a command the one way `interrupt.py` does; and it asks to send usage stats.
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise CheckerError(INSTALL) from None
    return ray


class StateError(Exception):
    """A state whose compiled checks failed; the driver words it from the state."""

    def __init__(self, state: int) -> None:
        super().__init__(state)
        self.state = state


def fail_at(state: int) -> None:
    raise StateError(state)


def _reachable(address: str) -> None:
    """Refuse, in one line, an address where nothing listens: Ray itself would retry for minutes."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except (OSError, ValueError) as e:
        raise CheckerError(f"no Ray cluster answers at {address}: {e.strerror or e}") from None


@contextlib.contextmanager
def _own_signals() -> Iterator[None]:
    """Keep this process's SIGINT and SIGTERM handlers while Ray starts: `ray.init` installs
    its own, which exits with status 15 at once, and a command must end the one way
    `interrupt.py` does (one line, exit 130 or 143, every child process ended)."""
    keep = (signal.SIGINT, signal.SIGTERM)
    real = signal.signal

    def only_others(sig: int, handler: Any) -> Any:
        return signal.getsignal(sig) if sig in keep else real(sig, handler)

    signal.signal = only_others  # type: ignore[assignment]
    try:
        yield
    finally:
        signal.signal = real


class Cluster:
    """Ray for one run: joined if this process is already connected, or at `address`, else
    a local cluster started quietly and stopped at the end."""

    def __init__(self, workers: int | None, address: str | None) -> None:
        self.ray = ray = ray_module()
        self.connected = False
        if not ray.is_initialized():
            if address is not None:
                _reachable(address)
            kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                          logging_level=logging.ERROR, configure_logging=True)
            try:
                with _own_signals():
                    if address is not None:
                        ray.init(address=address, **kwargs)
                    else:
                        ray.init(num_cpus=workers or os.cpu_count() or 1, **kwargs)
                self.connected = True  # ray.shutdown() then stops a local cluster, and leaves a joined one running
            except ConnectionError as e:
                raise CheckerError(f"cannot join the Ray cluster at {address}: {str(e).splitlines()[0]}") from None
        cpus = int(ray.cluster_resources().get("CPU", 0))
        self.workers = workers or max(1, cpus)
        if self.workers > cpus:
            self.close()
            raise CheckerError(f"--workers {self.workers} needs {self.workers} CPUs; the Ray cluster has {cpus}")

    def close(self) -> None:
        if self.connected:
            self.ray.shutdown()
            self.connected = False
