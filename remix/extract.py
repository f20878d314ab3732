"""Unpacking a downloaded archive safely: every member inside the dataset's folder, no links, one
folder at a time moved into place (a killed extraction leaves no half-unpacked tree)."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from remix.errors import RemixError

CHUNK = 1 << 20
"""Bytes copied at a time."""

RECORD_DIR = ".fetch"
"""Folder (inside the download folder) holding the fetch records and temporary trees."""


def _member_target(name: str, top: str, prefix: bool) -> PurePosixPath | None:
    """Relative destination of a zip member, or ``None`` when it must be refused."""
    if "\\" in name or "\x00" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        return None
    return PurePosixPath(top) / path if prefix else path


def safe_extract(archive_path: Path, root: Path, *, top: str) -> int:
    """Unpack a zip into ``root`` through a temporary folder inside ``root``.

    Members are written under ``<root>/.fetch/tmp-<archive>/`` and then moved
    into place file by file (a rename on the same disk), so a crash never
    leaves a half-written file in the final tree. When the members do not all
    start with ``top/``, they are placed under it.

    Parameters
    ----------
    archive_path : Path
        A verified zip archive.
    root : Path
        Download folder.
    top : str
        Top-level folder the archive unpacks into.

    Returns
    -------
    int
        Number of files unpacked.

    Raises
    ------
    RemixError
        When a member path is absolute, contains ``..``, is a link, or the zip is unreadable.
    """
    tmp = root / RECORD_DIR / f"tmp-{archive_path.name}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        try:
            with zipfile.ZipFile(archive_path) as zf:
                members = zf.infolist()
                prefix = not all(m.filename.startswith(f"{top}/") for m in members)
                plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
                tmp_resolved = tmp.resolve()
                for member in members:
                    target = _member_target(member.filename, top, prefix)
                    is_link = stat.S_ISLNK(member.external_attr >> 16)
                    if target is None or is_link or not (tmp / target).resolve().is_relative_to(tmp_resolved):
                        raise RemixError(
                            f"{archive_path.name} holds a member that would land outside {root} "
                            f"({member.filename!r}); nothing was unpacked; the archive is not the expected one"
                        )
                    plan.append((member, target))
                files = 0
                for member, target in plan:
                    dest = tmp / target
                    if member.is_dir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as source, dest.open("wb") as sink:
                        shutil.copyfileobj(source, sink, CHUNK)
                    files += 1
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise RemixError(
                f"{archive_path.name} passed its checksum but cannot be unpacked ({exc}); "
                "delete it and run the command again"
            ) from None
        for dirpath, _dirnames, filenames in os.walk(tmp):
            rel = Path(dirpath).relative_to(tmp)
            (root / rel).mkdir(parents=True, exist_ok=True)
            for filename in filenames:
                os.replace(Path(dirpath) / filename, root / rel / filename)
        return files
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
