"""The feature cache: each corpus and SNR's log-mel computed once and kept as a memory-mapped array.

The cache of one corpus and SNR is a memory-mapped float32 array::

    <corpus_dir>/features/<settings.key()>/snr<S>.f32    (N, T, F) float32, C order
    <corpus_dir>/features/<settings.key()>/snr<S>.json   clip ids, shape, settings, corpus fingerprint

The array's checksum (BLAKE2b of its bytes) is recorded in the metadata when it is
written and checked when a process first reads it: a cache changed on disk is
recomputed with a warning, never used. ``cache_dir=`` (``bench run --cache DIR``)
or the environment variable ``SEDREMIX_FEATURE_CACHE`` keeps the caches outside
the corpus, under ``<cache_dir>/<corpus name>-<hash of its path>/``; a corpus that
cannot be written (a shared, read-only copy) has its caches computed into the user
cache (``$SEDREMIX_CACHE/features`` or ``~/.cache/sedremix/features``) instead.

A cache whose settings, shape, clip ids or corpus fingerprint (a hash of that SNR's
rows of ``manifest/clips.parquet`` and of its audio files' sizes and modification
times) do not match is rebuilt, never reused (copying a corpus without keeping
modification times therefore recomputes its features once). Files are
written to a temporary name and moved into place; a lock file keeps two processes
from computing the same cache at once.

Clips whose sample rate differs from ``settings.sample_rate`` are refused with a
:class:`~bench.errors.BenchError` (the corpus builder writes 32 kHz; nothing is
resampled silently here).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from bench.corpus import clips_at, read_clips
from bench.device import resolve_device
from bench.errors import BenchError
from bench.features import FEATURE_VERSION, LogMel, LogMelSettings
from remix.atomic import atomic_output, read_json, remove_partials, write_json
from remix.environment import env_path
from remix.lock import waiting_lock
from remix.progress import progress_bar

FEATURE_CACHE_ENV = "SEDREMIX_FEATURE_CACHE"
"""Environment variable naming a folder for the feature caches (``--cache DIR`` sets it)."""

_CHUNK = 16 * 2**20

__all__ = [
    "FEATURE_CACHE_ENV",
    "FeatureSet",
    "compute_features",
    "feature_cache_dir",
    "feature_cache_paths",
    "snr_tag",
]


@dataclass
class FeatureSet:
    """Cached, not standardised, features of every clip of one SNR.

    Attributes
    ----------
    clip_ids : list of str
        Row order of ``features`` (all splits and folds, sorted by clip id).
    features : np.ndarray [shape=(N, T, F)], float32, memory-mapped read-only
    settings : LogMelSettings
    snr_db : float
    path : Path
        The ``.f32`` cache file.
    """

    clip_ids: list[str]
    features: np.ndarray
    settings: LogMelSettings = field(default_factory=LogMelSettings)
    snr_db: float = 0.0
    path: Path | None = None

    def __post_init__(self) -> None:
        self._index = {cid: i for i, cid in enumerate(self.clip_ids)}

    def __len__(self) -> int:
        return len(self.clip_ids)

    def rows(self, clip_ids: Sequence[str]) -> np.ndarray:
        """Row indices (int64, shape (len(clip_ids),)) of the given clips, in their order."""
        try:
            return np.fromiter((self._index[c] for c in clip_ids), dtype=np.int64, count=len(clip_ids))
        except KeyError as exc:
            raise BenchError(
                f"clip {exc.args[0]!r} has no features at SNR {self.snr_db:g} dB; "
                f"the cache {self.path} holds {len(self.clip_ids)} clips. Recompute the features."
            ) from None


# --------------------------------------------------------------------------- cache


def snr_tag(snr_db: float) -> str:
    """Folder-style tag of an SNR: ``0 -> "snr0"``, ``-5 -> "snr-5"``, ``2.5 -> "snr2.5"``."""
    return f"snr{float(snr_db):g}"


def _corpus_folder_name(corpus_dir: Path) -> str:
    resolved = Path(corpus_dir).expanduser().resolve()
    return f"{resolved.name or 'corpus'}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:10]}"


def user_feature_cache() -> Path:
    """``$SEDREMIX_CACHE/features``, else ``~/.cache/sedremix/features``."""
    return (env_path("SEDREMIX_CACHE") or Path.home() / ".cache" / "sedremix") / "features"


def feature_cache_dir(corpus_dir: Path, *, cache_dir: Path | None = None) -> Path:
    """Folder holding a corpus's feature caches (one sub-folder per settings key).

    ``cache_dir`` (else ``$SEDREMIX_FEATURE_CACHE``) given: ``<cache_dir>/<corpus name>-<path hash>``;
    otherwise ``<corpus_dir>/features``.
    """
    if cache_dir is None and os.environ.get(FEATURE_CACHE_ENV):
        cache_dir = Path(os.environ[FEATURE_CACHE_ENV])
    if cache_dir is None:
        return Path(corpus_dir) / "features"
    return Path(cache_dir).expanduser() / _corpus_folder_name(corpus_dir)


def feature_cache_paths(
    corpus_dir: Path, *, snr_db: float, settings: LogMelSettings = LogMelSettings(), cache_dir: Path | None = None
) -> tuple[Path, Path]:
    """(array file, metadata file) of the cache of one SNR (see :func:`feature_cache_dir`)."""
    folder = feature_cache_dir(corpus_dir, cache_dir=cache_dir) / settings.key()
    tag = snr_tag(snr_db)
    return folder / f"{tag}.f32", folder / f"{tag}.json"


def _read_clips(corpus_dir: Path, snr_db: float) -> pd.DataFrame:
    return clips_at(read_clips(corpus_dir, required=("clip_id", "snr_db", "audio_path")), snr_db)


def _fingerprint(clips: pd.DataFrame, paths: Sequence[Path]) -> str:
    """Hash of one SNR's manifest rows (all columns) and of its audio files' sizes and
    modification times, so a re-rendered or edited file invalidates the cache."""
    table = clips[sorted(clips.columns)].reset_index(drop=True)
    text = table.to_json(orient="records", date_format="iso", default_handler=str)
    digest = hashlib.sha256(text.encode())
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            raise BenchError(
                f"{path} is listed in the manifest but missing; rebuild the corpus (remix build resumes)"
            ) from None
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


_VERIFIED: dict[tuple, str] = {}
"""Checksums already verified in this process: (path, inode, size, mtime) -> checksum."""


def _checksum_file(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return "blake2b:" + digest.hexdigest()


def _load_cache(
    array_path: Path, meta_path: Path, *, expected: dict[str, Any], problems: list[str] | None = None
) -> np.ndarray | None:
    """The memory map when the cache matches ``expected`` exactly and its checksum holds, else None.

    A cache whose bytes differ from its recorded checksum is reported in ``problems``.
    """
    if not (array_path.is_file() and meta_path.is_file()):
        return None
    meta = read_json(meta_path)
    if not isinstance(meta, dict):
        return None
    for key, value in expected.items():
        if meta.get(key) != value:
            return None
    shape = tuple(meta["shape"])
    stat = array_path.stat()
    if stat.st_size != int(np.prod(shape)) * 4:
        return None
    recorded = meta.get("checksum")
    key = (str(array_path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if not recorded:  # written before checksums were recorded: recompute once
        return None
    if _VERIFIED.get(key) != recorded:
        actual = _checksum_file(array_path)
        if actual != recorded:
            if problems is not None:
                problems.append(
                    f"the feature cache {array_path} does not match its checksum (it changed on disk "
                    "since it was written); recomputing it"
                )
            return None
        _VERIFIED[key] = recorded
    return np.memmap(array_path, dtype=np.float32, mode="r", shape=shape)


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (created when missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _note(message: str) -> None:
    from remix.clitools import warn

    warn(message)


def _decode(path: Path, *, sample_rate: int, n_samples: int | None) -> np.ndarray:
    try:
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise BenchError(
            f"cannot decode {path}: {exc}. `remix inspect` on the corpus lists every damaged "
            "file; delete them and run the same `remix build` command again, which renders "
            "missing clips anew."
        ) from None
    if sr != sample_rate:
        raise BenchError(
            f"{path} is at {sr} Hz but the features expect {sample_rate} Hz; rebuild the corpus at "
            f"{sample_rate} Hz or use LogMelSettings(sample_rate={sr})"
        )
    wave = audio.mean(axis=1)
    if n_samples is not None and abs(wave.shape[0] - n_samples) > sample_rate // 100:
        raise BenchError(
            f"{path} has {wave.shape[0]} samples but the manifest says {n_samples} "
            f"({n_samples / sample_rate:g} s); the corpus is damaged: rebuild it (remix build resumes)"
        )
    if n_samples is not None and wave.shape[0] != n_samples:  # off by a few samples: pad or trim
        wave = np.pad(wave, (0, max(0, n_samples - wave.shape[0])))[:n_samples]
    return wave


def compute_features(
    corpus_dir: Path,
    *,
    snr_db: float,
    settings: LogMelSettings = LogMelSettings(),
    device: str = "cpu",
    batch_size: int = 32,
    progress: bool = True,
    workers: int = 4,
    cache_dir: Path | None = None,
) -> FeatureSet:
    """Log-mel of every clip of one SNR, from the cache or computed and cached.

    Parameters
    ----------
    corpus_dir : Path
        A built corpus (contract B layout: ``manifest/clips.parquet``, ``audio/...``).
    snr_db : float
        Which SNR's clips.
    settings : LogMelSettings
        Feature settings; part of the cache key.
    device : str
        Torch device for the STFT and mel product ("cpu", "cuda", ..., or "auto":
        the GPU when there is one). The cache does not depend on it.
    batch_size : int
        Clips per batch.
    progress : bool
        Show a progress bar on standard error while computing.
    workers : int
        Threads decoding audio in parallel.
    cache_dir : Path, optional
        Folder for the caches instead of ``<corpus_dir>/features`` (default:
        ``$SEDREMIX_FEATURE_CACHE`` when set; see :func:`feature_cache_dir`).

    Returns
    -------
    FeatureSet
        ``features`` of shape (N, T, F), float32, memory-mapped read-only, rows sorted
        by clip id.

    Raises
    ------
    BenchError
        Missing manifest or SNR, undecodable audio, a sample rate that differs from the
        settings, or clips of different lengths.
    """
    corpus_dir = Path(corpus_dir)
    device = str(resolve_device(device))
    clips = _read_clips(corpus_dir, snr_db)
    if "sample_rate" in clips.columns:
        wrong = clips[clips["sample_rate"].astype(int) != settings.sample_rate]
        if not wrong.empty:
            raise BenchError(
                f"{len(wrong)} clips of {corpus_dir} at SNR {snr_db:g} dB have sample rate "
                f"{int(wrong['sample_rate'].iloc[0])} Hz but the features expect {settings.sample_rate} Hz; "
                f"rebuild the corpus at {settings.sample_rate} Hz or change LogMelSettings.sample_rate"
            )
    clip_ids = clips["clip_id"].astype(str).tolist()
    if len(set(clip_ids)) != len(clip_ids):
        raise BenchError(
            f"{corpus_dir}/manifest/clips.parquet repeats clip ids at SNR {snr_db:g} dB; rebuild the corpus"
        )
    paths = [corpus_dir / p for p in clips["audio_path"].astype(str)]
    n_samples = _expected_samples(clips, paths, settings)
    n_frames = settings.n_frames(n_samples)
    if n_frames < 1:
        raise BenchError(f"clips of {n_samples} samples are shorter than one analysis window ({settings.n_fft})")
    shape = [len(clip_ids), n_frames, settings.n_mels]
    expected = {
        "settings": settings.to_dict(),
        "feature_version": FEATURE_VERSION,
        "snr_db": float(snr_db),
        "fingerprint": _fingerprint(clips, paths),
        "clip_ids": clip_ids,
        "shape": shape,
    }
    explicit = cache_dir is not None or bool(os.environ.get(FEATURE_CACHE_ENV))
    array_path, meta_path = feature_cache_paths(corpus_dir, snr_db=snr_db, settings=settings, cache_dir=cache_dir)
    problems: list[str] = []
    cached = _load_cache(array_path, meta_path, expected=expected, problems=problems)
    if cached is None and not _writable(array_path.parent):
        if explicit:
            raise BenchError(
                f"cannot write the feature cache in {array_path.parent} (read-only or no permission); "
                "pass --cache DIR (or set SEDREMIX_FEATURE_CACHE) to a writable folder."
            )
        array_path, meta_path = feature_cache_paths(
            corpus_dir, snr_db=snr_db, settings=settings, cache_dir=user_feature_cache()
        )
        _note(
            f"the corpus {corpus_dir} cannot be written; its features are cached in {array_path.parent} "
            "(--cache DIR chooses another folder)."
        )
        cached = _load_cache(array_path, meta_path, expected=expected, problems=problems)
        if cached is None and not _writable(array_path.parent):
            raise BenchError(
                f"cannot write the feature cache in {array_path.parent} either; pass --cache DIR "
                "(or set SEDREMIX_FEATURE_CACHE) to a writable folder."
            )
    for line in problems:
        _note(line)
    if cached is None:
        with waiting_lock(array_path.with_suffix(".lock")):
            cached = _load_cache(array_path, meta_path, expected=expected)  # another process may have built it
            if cached is None:
                # under the lock no other process writes this cache: any temporary file is a killed writer's
                remove_partials(array_path.parent, recursive=False, stem=array_path.stem, keep_live=False)
                _build_cache(
                    paths,
                    array_path,
                    meta_path,
                    expected=expected,
                    settings=settings,
                    device=device,
                    batch_size=batch_size,
                    progress=progress,
                    workers=workers,
                    n_samples=n_samples,
                    label=f"log-mel {snr_tag(snr_db)}",
                )
                cached = _load_cache(array_path, meta_path, expected=expected)
        if cached is None:  # pragma: no cover - only on a concurrent corruption
            raise BenchError(f"the feature cache {array_path} could not be written; check the disk and retry")
    return FeatureSet(clip_ids=clip_ids, features=cached, settings=settings, snr_db=float(snr_db), path=array_path)


def _expected_samples(clips: pd.DataFrame, paths: Sequence[Path], settings: LogMelSettings) -> int:
    """Common clip length in samples (from the manifest, else from the first file)."""
    if "duration_s" in clips.columns:
        lengths = np.round(clips["duration_s"].astype(float).to_numpy() * settings.sample_rate).astype(np.int64)
        if lengths.min() != lengths.max():
            raise BenchError(
                f"clips have different durations ({lengths.min() / settings.sample_rate:g} s to "
                f"{lengths.max() / settings.sample_rate:g} s); the benchmark needs clips of one length"
            )
        return int(lengths[0])
    try:
        return int(sf.info(paths[0]).frames)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise BenchError(f"cannot read {paths[0]}: {exc}") from None


def _build_cache(
    paths: Sequence[Path],
    array_path: Path,
    meta_path: Path,
    *,
    expected: dict[str, Any],
    settings: LogMelSettings,
    device: str,
    batch_size: int,
    progress: bool,
    workers: int,
    n_samples: int,
    label: str,
) -> None:
    shape = tuple(expected["shape"])
    meta_path.unlink(missing_ok=True)  # the metadata is the commit marker: drop the old one first
    digest = hashlib.blake2b(digest_size=16)  # of the array's bytes, in file order
    with atomic_output(array_path) as tmp:
        array = np.memmap(tmp, dtype=np.float32, mode="w+", shape=shape)
        module = LogMel(settings).to(device)

        def decode(path: Path) -> np.ndarray:
            return _decode(path, sample_rate=settings.sample_rate, n_samples=n_samples)

        with (
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
            progress_bar(enabled=progress) as bar,
            torch.inference_mode(),
        ):
            task = bar.add_task(label, total=len(paths))
            for start in range(0, len(paths), batch_size):
                batch = paths[start : start + batch_size]
                waves = np.stack(list(pool.map(decode, batch)))  # (B, N)
                feats = module(torch.from_numpy(waves).to(device))  # (B, T, F)
                block = np.ascontiguousarray(feats.float().cpu().numpy(), dtype="<f4")
                array[start : start + len(batch)] = block
                digest.update(block.tobytes())
                bar.advance(task, len(batch))
        array.flush()
        del array
    write_json(meta_path, dict(expected, checksum="blake2b:" + digest.hexdigest()))
