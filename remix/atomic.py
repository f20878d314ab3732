"""Atomic file writes (a reader never sees half a file), and tolerant JSON reads.

Every writer of the toolkit (corpus audio and manifests, source-check caches,
download records, feature caches, run folders) writes to a temporary file beside
its target and moves it into place with :func:`os.replace`. The temporary name
starts with a dot, keeps the target's extension (some writers infer the format
from it) and carries :data:`PARTIAL_MARK`, so leftovers of a killed process can
be found and removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PARTIAL_MARK = ".partial-"
"""Marker in the names of temporary files that have not been moved into place yet."""


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place on success.

    On an exception (or an interrupt) the temporary file is removed and ``path``
    is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}{PARTIAL_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    """Write a UTF-8 text file atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: object, *, sort_keys: bool = True) -> Path:
    """Write JSON (indented) atomically."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=sort_keys) + "\n")


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON document in ``path``, or ``default`` when it is missing or unreadable.

    For caches, records and markers that are rebuilt when they cannot be read.
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def partial_pid(name: str) -> int | None:
    """The writer's process id in a temporary name of :func:`atomic_output`, or None."""
    if not name.startswith(".") or PARTIAL_MARK not in name:
        return None
    head = name.split(PARTIAL_MARK, 1)[1].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def pid_alive(pid: int) -> bool:
    """Whether a process of that id exists on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_partials(folder: Path, *, recursive: bool = True, stem: str | None = None, keep_live: bool = True) -> int:
    """Delete temporary files of :func:`atomic_output` left in ``folder`` by killed writers.

    Parameters
    ----------
    folder : Path
        Where to look (missing: nothing to do).
    recursive : bool
        Also look in sub-folders.
    stem : str, optional
        Only temporary files of targets of this stem (``"snr0"`` for ``snr0.f32``).
    keep_live : bool
        Keep files whose writer (the pid in their name) is still running.

    Returns
    -------
    int
        How many files were removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    walk = os.walk(folder) if recursive else [(str(folder), [], [p.name for p in folder.iterdir()])]
    n = 0
    for root, _dirs, files in walk:
        for name in files:
            pid = partial_pid(name)
            if pid is None and not (name.startswith(".") and PARTIAL_MARK in name):
                continue
            if stem is not None and name[1:].split(PARTIAL_MARK, 1)[0] != stem:
                continue
            if keep_live and pid is not None and pid_alive(pid):
                continue
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(root, name))
                n += 1
    return n
