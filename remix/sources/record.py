"""What a corpus was made from, recorded at build time and checked before fresh mixtures are drawn.

A build writes ``.build/sources.parquet``: every source file its plans may draw from (the usable
scenes and events of every fold, and the usable impulse responses of ``--reverb DIR``) with its
size, modification time and SHA-256. Training with ``--mixing online`` draws new clips from
those files every epoch, long after the build; :func:`changed_sources` finds the ones that are
no longer what the build saw. A file whose size and time are unchanged passes on its stat alone;
one whose time changed (a copy, a rewrite of the stand-in with the same content) is hashed and
passes when its content is the same. A file rewritten with other audio, truncated or gone does not.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from remix.atomic import atomic_output
from remix.manifest import BUILD_DIR

RECORD = f"{BUILD_DIR}/sources.parquet"
"""The record's path relative to the corpus folder."""

_COLUMNS = ("path", "size", "mtime_ns", "sha256")


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read(corpus_dir: Path) -> pd.DataFrame | None:
    path = Path(corpus_dir) / RECORD
    if not path.is_file():
        return None
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError):
        return None
    return table if all(c in table.columns for c in _COLUMNS) else None


def record_sources(corpus_dir: Path, paths: Iterable[str | Path]) -> Path:
    """Write the record of ``paths`` (absolute, as the build resolved them) into ``corpus_dir``.

    A file whose size and time match an earlier record of the same folder (a resumed build) keeps
    its hash without being read again.

    Returns
    -------
    Path
        The record.
    """
    earlier = _read(corpus_dir)
    known = {}
    if earlier is not None:
        known = {(p, int(s), int(m)): h for p, s, m, h in earlier[list(_COLUMNS)].itertuples(index=False)}
    rows = []
    for path in sorted({str(p) for p in paths}):
        stat = os.stat(path)
        size, mtime = int(stat.st_size), int(stat.st_mtime_ns)
        digest = known.get((path, size, mtime)) or file_sha256(path)
        rows.append((path, size, mtime, digest))
    table = pd.DataFrame(rows, columns=list(_COLUMNS)).astype({"size": "int64", "mtime_ns": "int64"})
    target = Path(corpus_dir) / RECORD
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target) as tmp:
        table.to_parquet(tmp, index=False)
    return target


def changed_sources(corpus_dir: Path) -> list[tuple[str, str]] | None:
    """The recorded source files that are not what the build saw, each with what changed.

    Returns
    -------
    list of (str, str) or None
        (path, "missing" / "size a -> b bytes" / "content differs"), in the record's order; None
        when the corpus has no record (built before records were kept).
    """
    table = _read(corpus_dir)
    if table is None:
        return None
    changed = []
    for path, size, mtime, digest in table[list(_COLUMNS)].itertuples(index=False):
        try:
            stat = os.stat(path)
        except OSError:
            changed.append((path, "missing"))
            continue
        if int(stat.st_size) != int(size):
            changed.append((path, f"size {int(size)} -> {int(stat.st_size)} bytes"))
        elif int(stat.st_mtime_ns) != int(mtime) and file_sha256(path) != digest:
            changed.append((path, "content differs"))
    return changed
