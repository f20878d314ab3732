"""A corpus folder and what a build may do with it: claim it, resume it, refuse it, overwrite it.

A build records its options in ``.build/options.json`` and holds ``.build/lock`` while it
runs (:func:`locked_build`); :func:`prepare_out_dir` refuses a folder holding something else
and, with ``--overwrite``, deletes only what the earlier build wrote (its records and manifests
say which files; :func:`build_outputs`), keeping and naming everything else;
:func:`check_disk_space` refuses, before any work, a build that would not fit.
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
    "LICENCES.md",
    CONFIG_NAME,
    f"{BUILD_DIR}/records",
    f"{BUILD_DIR}/options.json",
)


_CLIP_ID = r"(?:fold\d+|test)_\d{5}"
_SNR = r"snr-?\d+(?:\.\d+)?"
_OUTPUT_NAMES = re.compile(
    rf"^(?:audio/{_SNR}/{_CLIP_ID}\.(?:flac|wav)"
    rf"|stems/{_SNR}/{_CLIP_ID}/(?:scene|event\d+)\.wav"
    r"|manifest/(?:clips|events|skipped)\.parquet|manifest/corpus\.json"
    rf"|metadata/{_SNR}/(?:strong|weak)\.tsv"
    r"|CORPUS\.md|LICENCES\.md|build\.toml"
    rf"|\.build/records/{_CLIP_ID}\.json|\.build/options\.json)$"
)
"""Relative paths (POSIX) exactly as a build names its outputs (clip ids ``fold<k>_<5 digits>``
and ``test_<5 digits>``, the fixed manifest, label-file and card names): a file of such a name is
the build's whether or not a record lists it (a build killed between writing a clip and its record
leaves one), and the next build writes that name anyway."""


def holds_remix_build(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds a remix build: its options record, or a corpus card written by
    remix (``manifest/corpus.json`` with a plan digest)."""
    out_dir = Path(out_dir)
    if (out_dir / BUILD_DIR / "options.json").is_file():
        return True
    info = read_json(out_dir / MANIFEST_DIR / "corpus.json")
    return isinstance(info, dict) and "plan_digest" in info and "sources" in info


def _recorded(out_dir: Path) -> set[str]:
    """Paths the folder's own records and manifests list as written by the build (audio, stems),
    relative to ``out_dir``; unreadable records and manifests list nothing."""
    import pandas as pd

    found: set[str] = set()
    for record in sorted((out_dir / BUILD_DIR / "records").glob("*.json")):
        data = read_json(record)
        if not isinstance(data, dict):
            continue
        for row in list(data.get("clips") or []) + list(data.get("events") or []):
            if isinstance(row, dict):
                found.update(str(row[k]) for k in ("audio_path", "scene_stem_path", "stem_path") if row.get(k))
    for name, columns in (("clips.parquet", ("audio_path", "scene_stem_path")), ("events.parquet", ("stem_path",))):
        with contextlib.suppress(Exception):  # a damaged manifest lists nothing; the records still do
            table = pd.read_parquet(out_dir / MANIFEST_DIR / name, columns=None)
            for column in columns:
                if column in table:
                    found.update(str(v) for v in table[column].dropna())
    return {p for p in found if not p.startswith("/") and ".." not in Path(p).parts}


def build_outputs(out_dir: Path) -> tuple[list[str], list[str]]:
    """The files under the folders a build owns, split into what the build wrote and the rest.

    A file is the build's when the folder's records or manifests list it, when it is named
    exactly as a build names its outputs (:data:`_OUTPUT_NAMES`), or when it is a killed writer's
    temporary (:data:`remix.atomic.PARTIAL_MARK`). Everything else (a user's
    ``audio/snr20/my_field_recording.wav`` or ``manifest/my_split.parquet``, notes, links) is not,
    whatever it looks like: ``--overwrite`` deletes only the first list.

    Returns
    -------
    (list of str, list of str)
        The build's files and the others, as sorted relative POSIX paths.
    """
    out_dir = Path(out_dir)
    recorded = _recorded(out_dir)
    ours, others = [], []
    for name in _OWNED:
        top = out_dir / name
        paths = (
            [top] if top.is_file() or top.is_symlink() else (p for p in top.rglob("*") if p.is_file() or p.is_symlink())
        )
        for path in paths:
            rel = path.relative_to(out_dir).as_posix()
            mine = not path.is_symlink() and (rel in recorded or _OUTPUT_NAMES.match(rel) or PARTIAL_MARK in path.name)
            (ours if mine else others).append(rel)
    return sorted(ours), sorted(others)


def foreign_files(out_dir: Path) -> list[str]:
    """Files under the folders a build owns that it did not write (:func:`build_outputs`'s second
    list): what ``--overwrite`` keeps."""
    return build_outputs(out_dir)[1]


def _remove_build_outputs(out_dir: Path) -> list[str]:
    """Delete the build's files (:func:`build_outputs`) and the folders they leave empty under the
    folders a build owns; return the files kept."""
    ours, kept = build_outputs(out_dir)
    for rel in ours:
        with contextlib.suppress(FileNotFoundError):
            (out_dir / rel).unlink()
    for name in _OWNED:
        top = out_dir / name
        if top.is_dir() and not top.is_symlink():
            for folder in sorted((p for p in top.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only when empty
            with contextlib.suppress(OSError):
                top.rmdir()
    return kept


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
        with no_readers(out_dir, what="corpus folder"):  # not while a training run reads it
            kept = _remove_build_outputs(out_dir)
        if kept:
            warn(
                f"--overwrite deleted only what the earlier build wrote; kept {len(kept)} other file(s) in "
                f"{out_dir}: {', '.join(kept[:5])}{' ...' if len(kept) > 5 else ''}"
            )
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
