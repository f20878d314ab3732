"""The paper's log-mel features and their per-corpus cache.

The features follow the original extraction code of the remix corpus exactly:

- 32 kHz mono audio, a *symmetric* Hamming window of 2048 samples (``np.hamming``)
  and a hop of 1024 samples;
- magnitude STFT scaled by ``1 / sqrt(sum(w**2))`` (what ``scipy.signal.spectrogram``
  with ``mode="magnitude"`` and ``fs=1`` returns);
- 64 mel bands from 50 Hz to ``sr / 2`` (``librosa.filters.mel``, Slaney), applied
  to the magnitude, then ``log(x + 1e-8)`` (natural log).

The original frames the signal *without* centre padding, which is what gives
``1 + (320000 - 2048) // 1024 = 311`` frames for a 10 s clip. Centre padding
(reflect, as librosa and torch do by default) is available as
``LogMelSettings(center=True)`` and gives ``1 + 320000 // 1024 = 313`` frames.

Features are computed in batches by :class:`LogMel` (a ``torch.nn.Module`` holding
the window and the mel matrix as buffers, so it runs on a GPU when asked) and
cached once per corpus and SNR as a memory-mapped float32 array::

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

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from bench.corpus import clips_at, read_clips
from bench.errors import BenchError
from remix.atomic import atomic_output, read_json, remove_partials, write_json
from remix.progress import progress_bar

FEATURE_VERSION = 1
"""Bumped when the computation changes in a way the settings do not capture."""

FEATURE_CACHE_ENV = "SEDREMIX_FEATURE_CACHE"
"""Environment variable naming a folder for the feature caches (``--cache DIR`` sets it)."""

_CHUNK = 16 * 2**20

__all__ = [
    "FEATURE_CACHE_ENV",
    "FEATURE_VERSION",
    "FeatureSet",
    "LogMel",
    "LogMelSettings",
    "Standardizer",
    "compute_features",
    "feature_cache_dir",
    "feature_cache_paths",
    "log_mel",
    "mel_matrix",
    "snr_tag",
]


@dataclass(frozen=True)
class LogMelSettings:
    """Settings of the log-mel features (defaults: the paper's).

    Attributes
    ----------
    sample_rate : int
        Expected sample rate of the corpus audio, in Hz.
    n_fft : int
        Window (and FFT) length in samples; the window is a symmetric Hamming.
    hop_length : int
        Hop between frames in samples.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Band edges of the mel filter bank in Hz; ``fmax=None`` means ``sr / 2``.
    log_offset : float
        Added before the natural log.
    center : bool
        False (the original): frames start at ``t * hop``, ``T = 1 + (N - n_fft) // hop``.
        True: reflect padding of ``n_fft // 2`` on both sides, ``T = 1 + N // hop``.
    """

    sample_rate: int = 32000
    n_fft: int = 2048
    hop_length: int = 1024
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float | None = None
    log_offset: float = 1e-8
    center: bool = False

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.n_fft <= 0 or self.hop_length <= 0 or self.n_mels <= 0:
            raise BenchError(
                f"log-mel settings must be positive, found sample_rate={self.sample_rate}, "
                f"n_fft={self.n_fft}, hop_length={self.hop_length}, n_mels={self.n_mels}"
            )
        top = self.sample_rate / 2 if self.fmax is None else self.fmax
        if not 0 <= self.fmin < top <= self.sample_rate / 2:
            raise BenchError(
                f"mel band edges must satisfy 0 <= fmin < fmax <= sr/2, found fmin={self.fmin}, "
                f"fmax={top}, sr={self.sample_rate}"
            )

    @property
    def hop_s(self) -> float:
        """Hop between frames in seconds (1024 / 32000 = 0.032 s: 31.25 frames/s)."""
        return self.hop_length / self.sample_rate

    @property
    def frame_start_s(self) -> float:
        """Start of frame 0's time cell, in seconds: frame ``t`` stands for
        ``[frame_start_s + t * hop_s, frame_start_s + (t + 1) * hop_s)``, the hop-long cell
        centred on its analysis window (window centre ``t * hop + n_fft / 2`` without centre
        padding: +16 ms at the paper's settings; ``t * hop`` with it)."""
        centre = 0.0 if self.center else self.n_fft / 2
        return (centre - self.hop_length / 2) / self.sample_rate

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_length

    def n_frames(self, n_samples: int) -> int:
        """Number of frames for a signal of ``n_samples`` samples (311 for 10 s)."""
        if self.center:
            return 1 + n_samples // self.hop_length
        if n_samples < self.n_fft:
            return 0
        return 1 + (n_samples - self.n_fft) // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogMelSettings:
        """Inverse of :meth:`to_dict`; unknown keys raise a :class:`BenchError`."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise BenchError(f"unknown log-mel settings {unknown}; known: {sorted(known)}")
        return cls(**data)

    def key(self) -> str:
        """Short hash of the settings (and :data:`FEATURE_VERSION`) used in cache paths."""
        text = json.dumps({"version": FEATURE_VERSION, **self.to_dict()}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def mel_matrix(settings: LogMelSettings = LogMelSettings()) -> np.ndarray:
    """Mel filter bank of the settings.

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1)], float64
        ``librosa.filters.mel`` (Slaney mel scale and area normalisation).
    """
    import librosa

    fmax = settings.sample_rate / 2 if settings.fmax is None else settings.fmax
    return librosa.filters.mel(
        sr=settings.sample_rate,
        n_fft=settings.n_fft,
        n_mels=settings.n_mels,
        fmin=settings.fmin,
        fmax=fmax,
        dtype=np.float64,
    )


def log_mel(
    wave: torch.Tensor,
    *,
    window: torch.Tensor,
    mel: torch.Tensor,
    hop_length: int,
    center: bool = False,
    log_offset: float = 1e-8,
) -> torch.Tensor:
    """Natural-log mel spectrogram of a batch of waveforms.

    Parameters
    ----------
    wave : torch.Tensor [shape=(B, N)]
        Mono waveforms.
    window : torch.Tensor [shape=(n_fft,)]
        Analysis window; the magnitude is divided by ``sqrt(sum(window**2))``.
    mel : torch.Tensor [shape=(F, n_fft // 2 + 1)]
        Mel filter bank.
    hop_length : int
        Hop in samples.
    center : bool
        Reflect-pad by ``n_fft // 2`` on both sides before framing.
    log_offset : float
        Added before the log.

    Returns
    -------
    torch.Tensor [shape=(B, T, F)]
    """
    n_fft = window.shape[0]
    if wave.ndim != 2:
        raise BenchError(f"log_mel expects waveforms of shape (B, N), found {tuple(wave.shape)}")
    if not center and wave.shape[1] < n_fft:
        raise BenchError(f"a clip of {wave.shape[1]} samples is shorter than one window ({n_fft})")
    spec = torch.stft(
        wave,
        n_fft=n_fft,
        hop_length=hop_length,
        window=window,
        center=center,
        pad_mode="reflect",
        onesided=True,
        return_complex=True,
    )  # (B, K, T)
    magnitude = spec.abs() / torch.sqrt(torch.sum(window * window))  # (B, K, T)
    mels = torch.matmul(mel, magnitude)  # (B, F, T)
    return torch.log(mels + log_offset).transpose(1, 2)  # (B, T, F)


class LogMel(torch.nn.Module):
    """The paper's log-mel as a module; window and mel matrix are buffers.

    ``forward(wave: (B, N)) -> (B, T, F)`` with ``T = settings.n_frames(N)`` (311 for
    10 s at 32 kHz with the default settings).
    """

    def __init__(self, settings: LogMelSettings = LogMelSettings()) -> None:
        super().__init__()
        self.settings = settings
        window = torch.from_numpy(np.hamming(settings.n_fft)).float()  # symmetric, as the original
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("mel", torch.from_numpy(mel_matrix(settings)).float(), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, N) waveforms -> (B, T, F) log-mel."""
        s = self.settings
        return log_mel(
            wave.to(self.window.dtype),
            window=self.window,
            mel=self.mel,
            hop_length=s.hop_length,
            center=s.center,
            log_offset=s.log_offset,
        )


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


class Standardizer:
    """Per-mel-bin standardisation with statistics from training rows only.

    ``fit(features, rows)`` computes, for each mel bin, the mean and standard deviation
    over every frame of the given rows; ``__call__(x)`` returns ``(x - mean) / std``
    for numpy arrays or torch tensors of shape ``(..., F)``.
    """

    def __init__(self, mean: np.ndarray | None = None, std: np.ndarray | None = None, *, eps: float = 1e-8):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)
        self.eps = float(eps)

    def fit(self, features: np.ndarray, rows: Sequence[int] | np.ndarray, *, chunk: int = 256) -> Standardizer:
        """Fit on ``features[rows]``.

        Parameters
        ----------
        features : np.ndarray [shape=(N, T, F)]
        rows : sequence of int
            The training rows; no other row is read.
        chunk : int
            Rows read at once (keeps memory bounded on a memory map).
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            raise BenchError("cannot fit the standardiser: no training rows were given")
        n_bins = features.shape[-1]
        total = np.zeros(n_bins, dtype=np.float64)
        total_sq = np.zeros(n_bins, dtype=np.float64)
        count = 0
        order = np.sort(rows)  # sequential reads on a memory map
        for start in range(0, order.size, chunk):
            block = np.asarray(features[order[start : start + chunk]], dtype=np.float64).reshape(-1, n_bins)
            total += block.sum(axis=0)
            total_sq += np.square(block).sum(axis=0)
            count += block.shape[0]
        mean = total / count
        var = np.maximum(total_sq / count - mean * mean, 0.0)
        self.mean = mean.astype(np.float32)
        self.std = np.maximum(np.sqrt(var), self.eps).astype(np.float32)
        return self

    def __call__(self, x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Standardise ``x`` of shape ``(..., F)``."""
        if self.mean is None or self.std is None:
            raise BenchError("the standardiser is not fitted: call fit(features, train_rows) first")
        if isinstance(x, torch.Tensor):
            mean = torch.as_tensor(self.mean, device=x.device, dtype=x.dtype)
            std = torch.as_tensor(self.std, device=x.device, dtype=x.dtype)
            return (x - mean) / std
        return ((np.asarray(x, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        if self.mean is None or self.std is None:
            raise BenchError("the standardiser is not fitted")
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "eps": self.eps}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(data["mean"]), np.asarray(data["std"]), eps=data.get("eps", 1e-8))


# --------------------------------------------------------------------------- cache


def snr_tag(snr_db: float) -> str:
    """Folder-style tag of an SNR: ``0 -> "snr0"``, ``-5 -> "snr-5"``, ``2.5 -> "snr2.5"``."""
    return f"snr{float(snr_db):g}"


def _corpus_folder_name(corpus_dir: Path) -> str:
    resolved = Path(corpus_dir).expanduser().resolve()
    return f"{resolved.name or 'corpus'}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:10]}"


def user_feature_cache() -> Path:
    """``$SEDREMIX_CACHE/features``, else ``~/.cache/sedremix/features``."""
    base = os.environ.get("SEDREMIX_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "sedremix") / "features"


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


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
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
        with _lock(array_path.with_suffix(".lock")):
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
