"""Worker processes that end with their parent.

A process pool's workers outlive a parent that is killed (``kill -9``): they go on
rendering into a folder nobody owns any more, then sit idle. :func:`die_with_parent`,
given as the pool's ``initializer``, ends each worker as soon as its parent is gone:
at once on Linux (``PR_SET_PDEATHSIG``), within ``poll_s`` elsewhere (a watcher
thread that compares the parent process id).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None, *, poll_s: float = 1.0) -> None:
    """Make the calling (worker) process end when its parent process ends.

    Parameters
    ----------
    parent_pid : int, optional
        The parent's process id (default: the current parent).
    poll_s : float
        Interval of the watcher thread, in seconds.
    """
    parent = os.getppid() if parent_pid is None else int(parent_pid)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc symbol
            pass
    if os.getppid() != parent:  # the parent ended before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
