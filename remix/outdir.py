"""A corpus folder and what a build may do with it: claim it, resume it, refuse it, overwrite it.

A build records its options in ``.build/options.json`` and holds ``.build/lock`` while it
runs (:func:`locked_build`); :func:`prepare_out_dir` refuses a folder holding something else
and, with ``--overwrite``, deletes only what a build writes (never a stranger's files:
:func:`foreign_files`); :func:`check_disk_space` refuses, before any work, a build that would
not fit.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from remix.atomic import PARTIAL_MARK, read_json
from remix.buildconfig import CONFIG_NAME
from remix.clitools import warn
from remix.errors import RemixError
from remix.lock import FolderBusy, folder_lock, no_readers
from remix.manifest import BUILD_DIR, MANIFEST_DIR, write_json
from remix.recipe import RecipeOptions
from remix.render import RenderSettings

T = TypeVar("T")

LOCK_FILE = f"{BUILD_DIR}/lock"
"""The corpus folder's lock file (see :mod:`remix.lock`)."""

_OWNED = (
    "audio",
    "stems",
    "manifest",
    "metadata",
    "CORPUS.md",
    CONFIG_NAME,
    f"{BUILD_DIR}/records",
    f"{BUILD_DIR}/options.json",
)


_WRITTEN = re.compile(
    r"^(?:audio/snr[^/]+/[^/]+\.(?:flac|wav)"
    r"|stems/snr[^/]+/[^/]+/[^/]+\.wav"
    r"|manifest/[^/]+\.(?:parquet|json)"
    r"|metadata/snr[^/]+/[^/]+\.tsv"
    r"|CORPUS\.md|build\.toml"
    r"|\.build/records/[^/]+\.json|\.build/options\.json)$"
)
"""Relative paths (POSIX) of the files a build writes under :data:`_OWNED` (temporary files of
killed writers carry :data:`remix.atomic.PARTIAL_MARK` and count as the build's too)."""


def holds_remix_build(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds a remix build: its options record, or a corpus card written by
    remix (``manifest/corpus.json`` with a plan digest)."""
    out_dir = Path(out_dir)
    if (out_dir / BUILD_DIR / "options.json").is_file():
        return True
    info = read_json(out_dir / MANIFEST_DIR / "corpus.json")
    return isinstance(info, dict) and "plan_digest" in info and "sources" in info


def foreign_files(out_dir: Path) -> list[str]:
    """Files under the folders a build owns that no build writes (a user's recordings in
    ``audio/``, notes in ``manifest/``...), as relative paths, sorted: what ``--overwrite``
    must not delete."""
    out_dir = Path(out_dir)
    found = []
    for name in _OWNED:
        top = out_dir / name
        paths = [top] if top.is_file() else (p for p in top.rglob("*") if p.is_file() or p.is_symlink())
        for path in paths:
            rel = path.relative_to(out_dir).as_posix()
            if not (_WRITTEN.match(rel) or PARTIAL_MARK in path.name):
                found.append(rel)
    return sorted(found)


class CorpusBusy(FolderBusy):
    """Another process is building into the same corpus folder."""


def prepare_out_dir(out_dir: Path, fingerprint: dict, *, overwrite: bool, claim: bool = True) -> None:
    """Refuse a folder holding something else; with ``claim``, wipe (overwrite) and record the options."""
    if out_dir.exists() and not out_dir.is_dir():
        raise RemixError(f"--out {out_dir} is a file; give a folder (new, or an earlier build to resume).")
    options_file = out_dir / BUILD_DIR / "options.json"
    existing = read_json(options_file) if options_file.is_file() else None
    if options_file.is_file() and not isinstance(existing, dict):
        existing = _recover_options(out_dir, options_file, overwrite=overwrite, quiet=not claim)
    if existing is None:
        foreign = [p.name for p in out_dir.iterdir() if p.name != BUILD_DIR] if out_dir.is_dir() else []
        if foreign and not (overwrite and holds_remix_build(out_dir)):
            raise RemixError(
                f"{out_dir} is not empty ({', '.join(sorted(foreign)[:5])}) and holds no remix build; "
                "choose a new or empty folder (--overwrite replaces only a corpus remix built)."
            )
    elif {k: existing.get(k) for k in fingerprint} != fingerprint and not overwrite:
        keys = sorted(k for k in fingerprint if existing.get(k) != fingerprint.get(k))
        why = "; the source files changed since" if keys == ["plan_digest"] else ""
        raise RemixError(
            f"{out_dir} holds a build made with other options or sources (differing: "
            f"{', '.join(keys)}{why}); use another --out folder, the same options to resume, or "
            "--overwrite to replace it."
        )
    if not claim:
        return
    if overwrite and (existing is None or existing != fingerprint):
        strangers = foreign_files(out_dir)
        if strangers:
            raise RemixError(
                f"{out_dir} holds {len(strangers)} file(s) remix did not write among its corpus folders "
                f"({', '.join(strangers[:3])}); --overwrite would delete them, so nothing was deleted. "
                "Move them out of the corpus folder first."
            )
        with no_readers(out_dir, what="corpus folder"):  # not while a training run reads it
            for name in _OWNED:
                path = out_dir / name
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(options_file, fingerprint)


FLAC_RATIO = 0.6
"""Size of a FLAC mix relative to 16-bit WAV, for the disk-space estimate (stand-in: about 0.5)."""


def estimate_bytes(*, options: RecipeOptions, settings: RenderSettings) -> int:
    """Bytes of audio (mixes and stems) a full build writes (an estimate for FLAC)."""
    n_clips = 4 * options.clips_per_fold + options.n_test
    per_mix = 2 * settings.clip_samples + 44
    if settings.audio_format == "flac":
        per_mix = int(per_mix * FLAC_RATIO)
    per_clip = per_mix + (4 * settings.clip_samples + 80) * (1 + options.n_events if settings.stems else 0)
    return n_clips * len(settings.snrs) * per_clip


def _bytes_under(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


def check_disk_space(out_dir: Path, *, options: RecipeOptions, settings: RenderSettings) -> None:
    """Refuse, before any work, a build whose audio would not fit on the disk of ``out_dir``.

    Audio already in ``out_dir`` (an interrupted build being resumed) counts as written.
    """
    need = estimate_bytes(options=options, settings=settings)
    need -= sum(_bytes_under(Path(out_dir) / name) for name in ("audio", "stems"))
    probe = Path(out_dir)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        n_files = (4 * options.clips_per_fold + options.n_test) * len(settings.snrs)
        raise RemixError(
            f"the corpus needs about {_size(need)} ({n_files:,} {settings.audio_format.upper()} "
            f"files{' plus stems' if settings.stems else ''}) but only {_size(free)} are free on "
            f"the disk of {probe}; lower --clips-per-fold or the number of SNRs, or choose another "
            "--out."
        )


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:,.0f} PB"


def _recover_options(out_dir: Path, options_file: Path, *, overwrite: bool, quiet: bool) -> dict | None:
    """The options of a build whose ``options.json`` is damaged, from ``manifest/corpus.json``.

    Returns None (a folder without a build) when nothing was rendered yet or with
    ``overwrite``; raises a RemixError that deletes nothing when the options cannot
    be known.
    """
    n_records = sum(1 for _ in (out_dir / BUILD_DIR / "records").glob("*.json"))
    if overwrite or (n_records == 0 and not (out_dir / MANIFEST_DIR).exists()):
        return None
    info = read_json(out_dir / MANIFEST_DIR / "corpus.json")
    if isinstance(info, dict) and isinstance(info.get("sources"), dict):
        recovered = {
            "recipe": info.get("options"),
            "render": info.get("render"),
            "seed": info.get("seed"),
            "scenes_dir": info["sources"].get("scenes_dir"),
            "events_dir": info["sources"].get("events_dir"),
            "plan_digest": info.get("plan_digest"),
        }
        if not quiet:
            warn(
                f"{options_file} was damaged; the build's options were read back from "
                f"{out_dir / MANIFEST_DIR / 'corpus.json'}."
            )
        return recovered
    raise RemixError(
        f"{options_file} is damaged (not readable JSON), so the options that made the {n_records} "
        f"finished clip(s) in {out_dir} cannot be checked; nothing was changed. Build into another "
        "--out folder; this one is left as it is (its audio and .build/records are intact)."
    )


def locked_build(fn: Callable[..., T]) -> Callable[..., T]:
    """Hold the corpus folder's lock (``.build/lock``) for the whole build.

    A second build (or ``--overwrite``) of the same folder gets one line naming the
    holder. A lock folder this call created is removed again when the build fails
    before writing anything else.
    """

    @functools.wraps(fn)
    def wrapper(out_dir: Path, **kwargs: Any) -> T:
        out_dir = Path(out_dir).expanduser().resolve()
        if out_dir.exists() and not out_dir.is_dir():
            raise RemixError(f"--out {out_dir} is a file; give a folder (new, or an earlier build to resume).")
        build_dir = out_dir / BUILD_DIR
        fresh = [p for p in (build_dir, out_dir) if not p.exists()]
        acquired = ok = False
        try:
            with folder_lock(out_dir, what="corpus folder", lock_name=LOCK_FILE, error=CorpusBusy):
                acquired = True
                result = fn(out_dir, **kwargs)
                ok = True
                return result
        finally:
            if acquired and not ok and build_dir in fresh:
                with contextlib.suppress(OSError):
                    if [p.name for p in build_dir.iterdir()] == [Path(LOCK_FILE).name]:
                        (out_dir / LOCK_FILE).unlink()
                    for folder in fresh:
                        folder.rmdir()  # only when empty

    return wrapper
