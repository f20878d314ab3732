"""Advisory folder locks: one writer per corpus folder and per results folder.

A lock is an exclusive ``flock`` on a small file inside the folder. The
operating system releases it when the holding process ends (killed or not), so a
lock never outlives its holder the way a pid file does. The file also records who
holds it (pid, host, command, start time), so that a second writer gets one line
naming the holder instead of silently sharing the folder.

Where ``fcntl`` is missing (not POSIX) locking is skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from remix.errors import RemixError

LOCK_NAME = ".lock"
"""Name of the lock file inside a locked folder."""


class FolderBusy(RemixError):
    """Another process holds the folder's lock (the message names it)."""


def _holder(handle) -> str:
    handle.seek(0)
    try:
        info = json.loads(handle.read() or "{}")
    except ValueError:
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another process"
    since = info.get("since")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else "?"
    command = info.get("command") or "?"
    return f"process {info['pid']} on {info.get('host', '?')} ({command}, since {when})"


@contextlib.contextmanager
def folder_lock(
    folder: Path, *, what: str, lock_name: str = LOCK_NAME, error: type[Exception] = FolderBusy
) -> Iterator[Path]:
    """Hold the exclusive lock of ``folder`` (created when missing) for the ``with`` block.

    Parameters
    ----------
    folder : Path
        The folder to lock; the lock file is ``folder / lock_name``.
    what : str
        What the folder is, for the message ("corpus folder", "results folder").
    lock_name : str
        Path of the lock file relative to ``folder`` (its folder is created when missing).
    error : type of Exception
        Raised (with a one-line message naming the holder) when another process holds it.

    Yields
    ------
    Path
        The lock file.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield Path(folder) / lock_name
        return
    folder = Path(folder)
    path = folder / lock_name
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the block)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            raise error(
                f"the {what} {folder} is in use by {holder}; wait for it to finish (or stop it), or use another folder."
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.time(),
            "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])[:300],
        }
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(info))
        handle.flush()
        yield path
    finally:
        handle.close()  # releases the lock


READERS_LOCK = ".build/readers.lock"
"""Lock file that processes reading a corpus hold shared, and a destructive rebuild exclusively."""


@contextlib.contextmanager
def shared_lock(folder: Path, *, lock_name: str = READERS_LOCK) -> Iterator[bool]:
    """Hold a shared lock on ``folder`` for the ``with`` block (many holders at once).

    Yields True when held, False when it could not be taken (a folder that cannot be
    written, a platform without ``fcntl``, or an exclusive holder): reading a corpus never
    fails for want of a lock.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield False
        return
    path = Path(folder) / lock_name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the block)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            held = True
        except OSError:
            held = False
        yield held
    finally:
        handle.close()


@contextlib.contextmanager
def no_readers(folder: Path, *, what: str, lock_name: str = READERS_LOCK) -> Iterator[None]:
    """Hold ``folder``'s readers lock exclusively for the block; FolderBusy (one line) while any
    process holds it shared (a training run reading the corpus)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = Path(folder) / lock_name
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the block)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(
                f"the {what} {folder} is being read by a training run (bench run); replacing it now would "
                "mix two corpora in that run's metrics. Wait for the run to finish, or build into another folder."
            ) from None
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def waiting_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock on the file ``path`` (created), waiting for its holder: for work that
    a second process should not repeat but wait for (a feature cache, a stand-in). A no-op where
    ``fcntl`` is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
