"""Argument-less calls over forked worker processes, results in order.

The DCASE statistics of a split are computed on blocks of clips in parallel. The calls and
their (large) arguments are not pickled: the worker processes are forked and receive the
calls through the pool's initializer, which fork hands over without pickling; only the
results travel back. Nothing is kept in this module between calls, so threads of one
process can run calls at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

_WORKER_CALLS: Sequence[Callable[[], Any]] = ()
"""The calls of the pool a worker process belongs to: set in the worker only, by :func:`_install`."""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _install(calls: Sequence[Callable[[], Any]]) -> None:
    global _WORKER_CALLS
    _WORKER_CALLS = calls


def _call(index: int) -> Any:
    return _WORKER_CALLS[index]()


def run_calls(calls: Sequence[Callable[[], Any]], *, num_jobs: int) -> list[Any]:
    """The results of argument-less calls, in order; over ``num_jobs`` forked worker
    processes when ``num_jobs > 1`` (only the results are pickled), else in this
    process. A process that cannot fork, or is itself a daemonic worker (a cluster
    worker may not start processes of its own), runs them in this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    forked = "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon
    if num_jobs <= 1 or len(calls) <= 1 or not forked:
        return [call() for call in calls]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=min(num_jobs, len(calls)), mp_context=context, initializer=_install, initargs=(list(calls),)
    ) as pool:
        return list(pool.map(_call, range(len(calls))))
