"""Long jobs on a Dask cluster: the ``--cluster ADDRESS`` option and the client's lifetime.

``remix build`` and ``bench run`` hand their work to a
:class:`concurrent.futures.Executor`; with ``--cluster`` that executor is a
`Dask distributed <https://distributed.dask.org>`_ client's
(:meth:`distributed.Client.get_executor`), so one code path serves a laptop and
a cluster. ``ADDRESS`` is either

- ``local:N``: a :class:`distributed.LocalCluster` of N worker processes (one
  thread each) on this machine, started by the command and closed when it ends;
- the address of a running scheduler, ``tcp://host:port`` (``host:port`` alone
  means ``tcp://``); the command connects to it and leaves it running.

Workers read and write the corpus and results through paths they share with the
client (a shared file system); nothing but file names and small plans travels
through the scheduler. The Dask packages are optional (``pip install
'sedremix[cluster]'``); nothing here imports them before a cluster is asked for,
and nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from remix.errors import RemixError

LOCAL_PREFIX = "local:"
"""``local:N`` asks for a cluster of N worker processes on this machine."""

CONNECT_TIMEOUT_S = 20.0
"""How long to wait for a scheduler to answer before giving up."""

_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")
_HOST_PORT = re.compile(r"^(?P<scheme>[a-z]+)://(?P<host>\[[0-9a-fA-F:]+\]|[^:/\s]+):(?P<port>\d{1,5})/?$")
_INSTALL_HINT = "install the cluster packages with: pip install 'sedremix[cluster]' (dask and distributed)"


@dataclass(frozen=True)
class ClusterAddress:
    """A parsed ``--cluster`` value.

    Attributes
    ----------
    local_workers : int or None
        Worker processes of a local cluster (``local:N``); None for a remote scheduler.
    scheduler : str or None
        Scheduler address (``tcp://host:port``); None for a local cluster.
    """

    local_workers: int | None = None
    scheduler: str | None = None

    def __str__(self) -> str:
        return f"{LOCAL_PREFIX}{self.local_workers}" if self.local_workers else str(self.scheduler)


def parse_cluster(address: str) -> ClusterAddress:
    """Parse ``local:N`` or a scheduler address (``tcp://host:port``, or ``host:port``).

    Raises
    ------
    RemixError
        For anything else, with the accepted forms.
    """
    text = str(address).strip()
    usage = (
        "--cluster takes local:N (N worker processes on this machine) or a running scheduler's address "
        "such as tcp://10.0.0.5:8786"
    )
    if text.startswith(LOCAL_PREFIX):
        count = text[len(LOCAL_PREFIX) :]
        if not count.isdigit() or int(count) < 1:
            raise RemixError(f"{usage}; found {text!r} (N must be a whole number, at least 1).")
        return ClusterAddress(local_workers=int(count))
    if "://" not in text:
        text = f"tcp://{text}"
    match = _HOST_PORT.match(text)
    if match is None or match["scheme"] not in _SCHEMES or not 0 < int(match["port"]) < 65536:
        raise RemixError(f"{usage}; found {address!r}.")
    return ClusterAddress(scheduler=text.rstrip("/"))


def _distributed():
    try:
        import distributed
    except ImportError:
        raise RemixError(f"--cluster needs Dask distributed, which is not installed; {_INSTALL_HINT}.") from None
    return distributed


@contextlib.contextmanager
def cluster_client(
    address: str | ClusterAddress, *, timeout_s: float = CONNECT_TIMEOUT_S, lost_after_s: float | None = None
) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``address``, closed on exit (with the local cluster it started).

    Parameters
    ----------
    address : str or ClusterAddress
        ``local:N`` or a scheduler address (see :func:`parse_cluster`).
    timeout_s : float
        Seconds to wait for a remote scheduler.
    lost_after_s : float, optional
        Seconds without a worker or without the scheduler after which the work is stopped
        (:class:`ClusterWatch`); default :data:`LOST_AFTER_S`, or ``$SEDREMIX_CLUSTER_LOST_S``.

    Yields
    ------
    distributed.Client

    Raises
    ------
    RemixError
        Dask is not installed, the address is malformed, no scheduler answers there, or the
        cluster was lost while the work ran (one line saying what to rerun).
    """
    import os

    if lost_after_s is None:
        try:
            lost_after_s = float(os.environ.get("SEDREMIX_CLUSTER_LOST_S", LOST_AFTER_S))
        except ValueError:
            raise RemixError("SEDREMIX_CLUSTER_LOST_S must be a number of seconds") from None
    parsed = address if isinstance(address, ClusterAddress) else parse_cluster(address)
    distributed = _distributed()
    with contextlib.ExitStack() as stack:
        if parsed.local_workers:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=parsed.local_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = distributed.Client(parsed.scheduler, timeout=timeout_s)
            except (OSError, TimeoutError) as exc:
                raise RemixError(
                    f"no Dask scheduler answered at {parsed.scheduler} within {timeout_s:g} s ({exc}); "
                    "start one with `dask scheduler` and workers with `dask worker ADDRESS`, or use "
                    "--cluster local:N."
                ) from None
            stack.enter_context(client)
            try:
                client.wait_for_workers(1, timeout=timeout_s)
            except (OSError, TimeoutError):
                raise RemixError(
                    f"the Dask scheduler at {parsed.scheduler} has no worker (waited {timeout_s:g} s); "
                    f"start some with `dask worker {parsed.scheduler}`."
                ) from None
        stack.enter_context(_dask_quiet_below(logging.CRITICAL))  # its reconnection errors: our one line says it
        watch = stack.enter_context(ClusterWatch(client, address=str(parsed), grace_s=lost_after_s))
        try:
            yield client
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, RemixError)):
                raise
            lost = watch.lost or watch.diagnose()  # Dask cancels the futures itself once its scheduler is gone
            if lost is None:
                raise
            raise RemixError(lost) from None
        if watch.lost is not None:  # the work ended anyway (its futures were cancelled)
            raise RemixError(watch.lost)


LOST_AFTER_S = 60.0
"""How long a command waits for a cluster without workers, or without its scheduler, before it ends."""


class ClusterWatch:
    """Watches a Dask client while a command's work runs on it; ends the work when the cluster is gone.

    A background thread checks every second that the scheduler answers and has at least one
    worker. After ``grace_s`` seconds without a worker (killed, never restarted) or without the
    scheduler, it records one line in :attr:`lost`, quiets Dask's own reconnection logging and
    closes the client, which cancels every pending future: the command's wait returns, and
    :func:`cluster_client` turns what follows into that one line. Finished work stays on disk;
    the same command resumes once the cluster is back.
    """

    def __init__(self, client: Any, *, address: str, grace_s: float = LOST_AFTER_S, poll_s: float = 1.0) -> None:
        import threading

        self.client, self.address, self.grace_s, self.poll_s = client, address, grace_s, poll_s
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cluster-watch", daemon=True)

    def __enter__(self) -> ClusterWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _state(self) -> str | None:
        """What is missing now: "scheduler", "workers", or None."""
        if getattr(self.client, "status", "running") not in ("running", "connecting", "newly-created"):
            return "scheduler"
        try:
            workers = self.client.scheduler_info().get("workers", {})
        except Exception:  # a closed comm, a timeout: the scheduler is unreachable
            return "scheduler"
        if getattr(self.client, "status", "running") != "running":
            return "scheduler"
        return None if workers else "workers"

    def _message(self, state: str, seconds: float) -> str:
        what = "lost its connection to the Dask scheduler" if state == "scheduler" else "has had no Dask worker"
        when = f" for {seconds:g} s" if seconds else ""
        return (
            f"the command {what} at {self.address}{when} and stopped; finished work is kept: start the "
            "scheduler and workers again and run the same command to resume."
        )

    def diagnose(self) -> str | None:
        """One line when the scheduler is unreachable now (after the work failed), else None."""
        if self._state() != "scheduler":
            return None
        _quiet_dask()
        return self._message("scheduler", 0)

    def _run(self) -> None:
        import time

        missing_since: float | None = None
        while not self._stop.wait(self.poll_s):
            state = self._state()
            if state is None:
                missing_since = None
                continue
            now = time.monotonic()
            missing_since = missing_since if missing_since is not None else now
            if now - missing_since < self.grace_s:
                continue
            self.lost = self._message(state, self.grace_s)
            _quiet_dask()
            with contextlib.suppress(Exception):
                self.client.close(timeout=2)
            return


@contextlib.contextmanager
def _dask_quiet_below(level: int) -> Iterator[None]:
    """Dask's client and comm loggers show only records of ``level`` and above in the block."""
    names = ("distributed.client", "distributed.comm", "distributed.core", "distributed.batched")
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, old in zip(loggers, before):
            logger.setLevel(old)


def _quiet_dask() -> None:
    """Silence Dask's loggers (its reconnection attempts print a screenful once the cluster is gone)."""
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def is_dask_client(obj: object) -> bool:
    """Whether ``obj`` is a :class:`distributed.Client` (without importing Dask)."""
    return type(obj).__module__.startswith("distributed") and hasattr(obj, "get_executor")


def as_executor(obj: Any, **submit_options: Any) -> Executor | None:
    """An Executor from a Dask client (``submit_options`` such as ``resources`` go with every
    task), or ``obj`` itself when it is already an Executor (options are then ignored), or None."""
    if obj is None or not is_dask_client(obj):
        return obj
    return obj.get_executor(pure=False, **submit_options)


def n_workers(obj: Any) -> int | None:
    """Worker count of a Dask client (None for other executors)."""
    if not is_dask_client(obj):
        executor = getattr(obj, "_client", None)  # a Dask ClientExecutor
        return n_workers(executor) if executor is not None else None
    return len(obj.scheduler_info().get("workers", {})) or None


def worker_resources(obj: Any) -> dict[str, float]:
    """Total resources (``{"GPU": 2.0}``...) the workers of a Dask client advertise; {} otherwise."""
    client = obj if is_dask_client(obj) else getattr(obj, "_client", None)
    if client is None or not is_dask_client(client):
        return {}
    totals: dict[str, float] = {}
    for info in client.scheduler_info().get("workers", {}).values():
        for name, amount in (info.get("resources") or {}).items():
            totals[name] = totals.get(name, 0.0) + float(amount)
    return totals


def task_size(n_items: int, *, workers: int | None, least: int = 8, most: int = 64) -> int:
    """Items per task: about four tasks per worker, between ``least`` and ``most``.

    Many clips per task keep the scheduler's cost per task negligible; several tasks
    per worker keep the load even and the progress bar moving.
    """
    if not workers:
        return least
    return max(least, min(most, math.ceil(n_items / (4 * workers))))
