"""A Dask scheduler and worker processes on 127.0.0.1, started and always torn down by the tests.

Only the loopback address is used: the scheduler and every worker listen on
127.0.0.1, and the workers are ordinary ``dask worker`` processes (no nanny, one
thread each), so a test can kill one of them by its process id.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Loopback:
    """A running loopback cluster: the scheduler's address and the worker processes."""

    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    log_dir: Path | None = None


def _stop(proc: subprocess.Popen, *, grace_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace_s)


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )


def start_worker(cluster: Loopback, *, resources: str | None = None) -> subprocess.Popen:
    """Start one more ``dask worker`` process on 127.0.0.1 for ``cluster``."""
    n = len(cluster.workers)
    args = [
        "distributed.cli.dask_worker",
        cluster.address,
        "--host",
        "127.0.0.1",
        "--nthreads",
        "1",
        "--no-nanny",
        "--no-dashboard",
        "--name",
        f"w{n}",
        "--death-timeout",
        "60",
    ]
    if resources:
        args += ["--resources", resources]
    proc = _spawn(args, cluster.log_dir / f"worker{n}.log")
    cluster.workers.append(proc)
    return proc


@contextlib.contextmanager
def loopback_cluster(tmp: Path, *, workers: int = 2, timeout_s: float = 60.0) -> Iterator[Loopback]:
    """A scheduler and ``workers`` worker processes on 127.0.0.1; all stopped on exit."""
    tmp.mkdir(parents=True, exist_ok=True)
    info = tmp / "scheduler.json"
    scheduler = _spawn(
        [
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(info),
        ],
        tmp / "scheduler.log",
    )
    cluster = Loopback(address="", scheduler=scheduler, log_dir=tmp)
    try:
        deadline = time.monotonic() + timeout_s
        while not info.is_file() and scheduler.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if not info.is_file():
            raise RuntimeError(f"the scheduler did not start: {(tmp / 'scheduler.log').read_text()[-2000:]}")
        time.sleep(0.1)  # the file is written in one go, but give the writer a moment
        cluster.address = json.loads(info.read_text())["address"]
        assert cluster.address.startswith("tcp://127.0.0.1:"), cluster.address
        for _ in range(workers):
            start_worker(cluster)
        from distributed import Client

        with Client(cluster.address, timeout=timeout_s) as client:
            client.wait_for_workers(workers, timeout=timeout_s)
        yield cluster
    finally:
        for proc in cluster.workers:
            _stop(proc)
        _stop(scheduler)
