"""Decode, length and silence checks of source audio files, with a result cache.

A source file is usable when it exists, decodes, holds at least one frame, is
not silent and is long enough. Channel count and sample rate are not checked:
the renderer converts them. The outcome of each check is a short reason string
(``None`` when usable) that ends up in the corpus' skipped list.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from remix.atomic import atomic_output
from remix.progress import progress_bar

SILENCE_DBFS = -60.0
"""A file whose sample peak is below this level (dBFS) counts as silent."""

_BLOCK_FRAMES = 1 << 16
_CACHE_COLUMNS = ("path", "size", "mtime_ns", "error", "frames", "sample_rate", "peak_dbfs")
_CHUNK = 16


@dataclass(frozen=True)
class AudioProbe:
    """What decoding one file found (independent of any length threshold).

    Attributes
    ----------
    path : str
    size, mtime_ns : int
        File size and modification time (``-1`` when missing), the cache key.
    error : str or None
        ``"missing"``, ``"cannot decode: ..."`` or None.
    frames, sample_rate : int
        Decoded frame count and rate (0 when unknown).
    peak_dbfs : float
        Sample peak over all channels in dBFS (``-inf`` for all-zero audio).
    """

    path: str
    size: int
    mtime_ns: int
    error: str | None
    frames: int
    sample_rate: int
    peak_dbfs: float

    def reason(self, *, min_duration_s: float) -> str | None:
        """The reason this file is unusable, or None when it is usable."""
        if self.error is not None:
            return self.error
        if self.frames <= 0:
            return "empty"
        if self.peak_dbfs < SILENCE_DBFS:
            level = "-inf" if math.isinf(self.peak_dbfs) else f"{self.peak_dbfs:.1f}"
            return f"silent (peak {level} dBFS)"
        duration = self.frames / self.sample_rate
        if duration < min_duration_s:
            return f"too short: {duration:.2f} s < {min_duration_s:.2f} s"
        return None


def probe_audio(path: Path) -> AudioProbe:
    """Decode a whole file block by block and measure its length and peak.

    Never raises for a bad file: problems are returned in ``error``.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return AudioProbe(str(path), -1, -1, "missing", 0, 0, float("-inf"))
    if not path.is_file():
        return AudioProbe(str(path), -1, -1, "missing", 0, 0, float("-inf"))
    size, mtime = int(stat.st_size), int(stat.st_mtime_ns)
    peak, frames = 0.0, 0
    try:
        with sf.SoundFile(str(path)) as f:
            rate = int(f.samplerate)
            for block in f.blocks(blocksize=_BLOCK_FRAMES, dtype="float32", always_2d=True):
                frames += block.shape[0]
                if block.size:
                    peak = max(peak, float(np.max(np.abs(block))))
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        return AudioProbe(str(path), size, mtime, f"cannot decode: {message}", 0, 0, float("-inf"))
    if not np.isfinite(peak):
        return AudioProbe(str(path), size, mtime, "cannot decode: non-finite samples", frames, rate, float("inf"))
    peak_db = 20.0 * math.log10(peak) if peak > 0 else float("-inf")
    return AudioProbe(str(path), size, mtime, None, frames, rate, peak_db)


def check_audio(path: Path, *, min_duration_s: float) -> str | None:
    """Check that one audio file is usable as a source.

    Parameters
    ----------
    path : Path
        Audio file (any format soundfile decodes).
    min_duration_s : float
        Shortest acceptable duration in seconds.

    Returns
    -------
    str or None
        None when usable, else a short reason: ``"missing"``,
        ``"cannot decode: ..."``, ``"empty"``, ``"silent (peak -72.3 dBFS)"`` or
        ``"too short: 0.12 s < 0.25 s"``. Never raises for a bad file.
    """
    return probe_audio(path).reason(min_duration_s=min_duration_s)


def _probe_many(paths: Sequence[str]) -> list[AudioProbe]:
    return [probe_audio(Path(p)) for p in paths]


def _stat_key(path: str) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return (-1, -1)
    return (int(stat.st_size), int(stat.st_mtime_ns))


def _load_cache(cache_file: Path | None) -> dict[str, AudioProbe]:
    if cache_file is None or not Path(cache_file).is_file():
        return {}
    try:
        table = pd.read_parquet(cache_file)
    except (OSError, ValueError):  # unreadable cache: start afresh
        return {}
    if any(c not in table.columns for c in _CACHE_COLUMNS):
        return {}
    cache = {}
    for row in table.itertuples(index=False):
        error = row.error if isinstance(row.error, str) else None
        cache[row.path] = AudioProbe(
            row.path,
            int(row.size),
            int(row.mtime_ns),
            error,
            int(row.frames),
            int(row.sample_rate),
            float(row.peak_dbfs),
        )
    return cache


def _save_cache(cache_file: Path, probes: dict[str, AudioProbe]) -> None:
    cache_file = Path(cache_file)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    kept = [p for p in probes.values() if p.size >= 0]  # missing files are re-checked each time
    table = pd.DataFrame(
        {
            "path": pd.Series([p.path for p in kept], dtype=object),
            "size": pd.Series([p.size for p in kept], dtype="int64"),
            "mtime_ns": pd.Series([p.mtime_ns for p in kept], dtype="int64"),
            "error": pd.Series([p.error for p in kept], dtype=object),
            "frames": pd.Series([p.frames for p in kept], dtype="int64"),
            "sample_rate": pd.Series([p.sample_rate for p in kept], dtype="int64"),
            "peak_dbfs": pd.Series([p.peak_dbfs for p in kept], dtype="float64"),
        }
    )
    with atomic_output(cache_file) as tmp:
        table.to_parquet(tmp, index=False)


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def check_sources(
    paths: Sequence[Path],
    *,
    min_duration_s: float,
    executor: Executor | None = None,
    cache_file: Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Check many source files, reusing earlier results where files are unchanged.

    Parameters
    ----------
    paths : sequence of Path
        Files to check (duplicates allowed).
    min_duration_s : float
        Shortest acceptable duration in seconds.
    executor : concurrent.futures.Executor, optional
        Runs the decoding (in chunks of files); in this process when None.
    cache_file : Path, optional
        Parquet file of earlier results keyed by (path, size, mtime_ns). Files
        whose key matches are not decoded again; the cache is rewritten
        atomically when anything new was decoded.
    progress : bool
        Show a progress bar (rate and time left) on standard error.

    Returns
    -------
    pandas.DataFrame
        Columns ``path`` (str) and ``reason`` (str, or None when usable), one
        row per input path, in input order.
    """
    paths = [str(Path(p)) for p in paths]
    keys = [os.path.abspath(p) for p in paths]  # the cache is keyed by absolute path
    cache = _load_cache(cache_file)
    known: dict[str, AudioProbe] = {}
    todo: list[str] = []
    for key in dict.fromkeys(keys):
        hit = cache.get(key)
        if hit is not None and (hit.size, hit.mtime_ns) == _stat_key(key):
            known[key] = hit
        else:
            todo.append(key)

    fresh: list[AudioProbe] = []
    if todo:
        fresh = _run_probes(todo, executor=executor, progress=progress)
        known.update((p.path, p) for p in fresh)
    if cache_file is not None and any(p.size >= 0 for p in fresh):
        cache.update((p.path, p) for p in fresh)
        _save_cache(Path(cache_file), cache)
    reasons = [known[k].reason(min_duration_s=min_duration_s) for k in keys]
    return pd.DataFrame({"path": pd.Series(paths, dtype=object), "reason": pd.Series(reasons, dtype=object)})


def _run_probes(todo: list[str], *, executor: Executor | None, progress: bool) -> list[AudioProbe]:
    chunks = list(_chunks(todo, _CHUNK))
    results: list[AudioProbe] = []
    with progress_bar(enabled=progress, rate="files") as bar:
        task = bar.add_task("checking sources", total=len(todo))
        if executor is None:
            for chunk in chunks:
                results.extend(_probe_many(chunk))
                bar.advance(task, len(chunk))
        else:
            for probes in executor.map(_probe_many, chunks):
                results.extend(probes)
                bar.advance(task, len(probes))
    return results
