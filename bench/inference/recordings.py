"""Recordings for ``bench detect``: finding audio files, reading their length, decoding them in
blocks at the run's sample rate (down-mixed, resampled with soxr), and one clear reason for a
file that cannot be read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.errors import BenchError

AUDIO_EXTENSIONS = frozenset(
    {
        ".wav",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".mp3",
        ".aif",
        ".aiff",
        ".aifc",
        ".au",
        ".snd",
        ".w64",
        ".rf64",
        ".caf",
        ".wv",
    }
)
"""File name endings a folder argument picks up (case-insensitive)."""


class UndecodableAudio(BenchError):
    """A recording that cannot be read (or holds no usable audio); ``bench detect`` skips it."""


@dataclass(frozen=True)
class Recording:
    """One input file and the name it gets in the outputs.

    Attributes
    ----------
    path : Path
    name : str
        ``filename`` in the events table: the file name, or its path relative to the
        folder argument it was found in (POSIX separators).
    """

    path: Path
    name: str


def collect_audio(paths: Sequence[Path]) -> list[Recording]:
    """The recordings named by files and folders (every audio file inside a folder, recursively).

    Parameters
    ----------
    paths : sequence of Path
        Files (taken whatever their ending) and folders (files ending in one of
        :data:`AUDIO_EXTENSIONS`, sorted).

    Raises
    ------
    BenchError
        A path that does not exist, a folder without audio files, or no path at all.
    """
    if not paths:
        raise BenchError("give at least one audio file or folder")
    out: list[Recording] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in AUDIO_EXTENSIONS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise BenchError(f"{path} holds no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))})")
            out += [Recording(p, p.relative_to(path).as_posix()) for p in found]
        elif path.is_file():
            out.append(Recording(path, path.name))
        else:
            raise BenchError(f"{path} does not exist; give audio files or folders of audio files")
    names: dict[str, int] = {}
    unique = []
    for rec in out:  # the same name from two folders: keep both, tell them apart
        n = names.get(rec.name, 0)
        names[rec.name] = n + 1
        unique.append(rec if n == 0 else Recording(rec.path, f"{rec.name}#{n + 1}"))
    return unique


BLOCK_S = 30.0
"""Seconds of a recording decoded at once: memory is bounded whatever the length."""


def audio_info(path: Path) -> tuple[int, int]:
    """(sample rate, frames) of a file's header; UndecodableAudio when it cannot be opened."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        raise UndecodableAudio(_decode_error(path, exc)) from None
    return int(info.samplerate), int(info.frames)


def _decode_error(path: Path, exc: BaseException) -> str:
    """One line for a file libsndfile cannot read: for a file that exists, what libsndfile
    says about it without its "File does not exist" (which it says of any unreadable file)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if Path(path).is_file() and "does not exist" in text:
        return f"cannot decode {path}: not an audio file libsndfile can read (damaged, or a format it does not know)"
    return f"cannot decode {path}: {text}"


def audio_blocks(path: Path, *, sample_rate: int, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """Decode, down-mix (mean of the channels) and resample a file, ``block_s`` seconds at a time.

    Yields
    ------
    np.ndarray [shape=(n,)], float32
        Consecutive pieces of the mono signal at ``sample_rate`` (resampled by a soxr stream,
        high quality: the pieces join into what resampling the whole file gives).

    Raises
    ------
    UndecodableAudio
        A file soundfile cannot decode (also part-way through), an empty one, or one with
        non-finite samples.
    """
    import soxr

    rate, frames = audio_info(path)
    if frames == 0:
        raise UndecodableAudio(f"{path} holds no samples")
    stream = None if rate == sample_rate else soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
    try:
        with sf.SoundFile(str(path)) as f:
            for block in f.blocks(blocksize=max(1, int(block_s * rate)), dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    raise UndecodableAudio(f"{path} holds non-finite samples (NaN or infinity)")
                mono = block.mean(axis=1, dtype=np.float32)
                yield mono if stream is None else stream.resample_chunk(mono)
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        raise UndecodableAudio(_decode_error(path, exc)) from None
    if stream is not None:
        yield stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def decode_audio(path: Path, *, sample_rate: int) -> tuple[np.ndarray, float]:
    """Decode, down-mix (mean of the channels) and resample a whole file (:func:`audio_blocks`).

    Parameters
    ----------
    path : Path
    sample_rate : int
        Target rate in Hz.

    Returns
    -------
    wave : np.ndarray [shape=(n,)], float32
        Mono signal at ``sample_rate``.
    duration_s : float
        Duration of the original file in seconds.

    Raises
    ------
    UndecodableAudio
        A file soundfile cannot decode, an empty one, or one with non-finite samples.
    """
    rate, frames = audio_info(path)
    wave = np.concatenate([np.zeros(0, dtype=np.float32), *audio_blocks(path, sample_rate=sample_rate)])
    return np.ascontiguousarray(wave, dtype=np.float32), frames / rate
