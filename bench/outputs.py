"""Where a command may write: output paths checked before any work is done.

``bench detect`` and ``bench export`` write files the user names. A typo there must not
cost the user a file: an output that is one of the inputs, an existing file (without
``--overwrite``), a folder, or a place that cannot be written is refused with one line
before a model is loaded, and files are written whole (atomically) or not at all.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from bench.errors import BenchError


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_writable_folder(folder: Path, *, what: str) -> None:
    """Refuse a folder that is a file or cannot be written (created when missing).

    A file is created and removed in it, which is the one test that holds for read-only
    mounts, permissions and ACLs alike.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BenchError(f"{what}: {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BenchError(f"{what}: cannot write in {folder} ({exc.strerror or exc})") from None


def check_output_file(
    path: Path, *, what: str, inputs: Sequence[Path] = (), overwrite: bool = False, example: str = "events.tsv"
) -> Path:
    """An output file's path, refused with one line when writing it would lose something.

    Parameters
    ----------
    path : Path
    what : str
        The option naming it (``--out``), for the message.
    inputs : sequence of Path
        Files the command reads: the output may not be one of them, whatever ``overwrite`` says.
    overwrite : bool
        Consent to replace an existing file.
    example : str
        A file name of the kind written, suggested when ``path`` is a folder.

    Returns
    -------
    Path
        ``path``, whose folder exists and can be written.
    """
    path = Path(path)
    if path.is_dir():
        raise BenchError(f"{what} {path} is a folder; give the name of a file to write (e.g. {path / example})")
    if any(_same(path, Path(p)) for p in inputs):
        raise BenchError(f"{what} {path} is one of the input files; give another name (nothing was written)")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise BenchError(f"{what} {path} exists; pass --overwrite to replace it, or give another name")
    check_writable_folder(path.parent, what=what)
    return path


def check_output_names(folder: Path, names: Iterable[Path], *, what: str, overwrite: bool = False) -> None:
    """Refuse writing ``names`` (relative paths) into ``folder`` when one of them exists
    (without ``overwrite``) or the folder cannot be written."""
    folder = Path(folder)
    check_writable_folder(folder, what=what)
    if overwrite:
        return
    taken = [str(name) for name in names if (folder / name).exists()]
    if taken:
        raise BenchError(
            f"{what} {folder} already holds {len(taken)} of the files to write ({', '.join(taken[:3])}); "
            "pass --overwrite to replace them, or give another folder"
        )
