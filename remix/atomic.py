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
