"""Render planned clips: decode, resample, place, mix at every SNR, guard against clipping, write.

One call renders one clip at all SNRs: the scene and the events are decoded
and resampled once (through per-process caches, as clips share event files and
a fold with more clips than scenes reuses its scenes), the levels are measured
once, and only the gains change per SNR.

Clipping: when a mix at some SNR would exceed 16-bit full scale, the whole clip
at that SNR (scene and every event alike) is scaled by ``peak_scale`` < 1, so
the SNR holds; the factor is recorded in the clip manifest.

Reverberation: a plan with a room (:mod:`remix.reverb`) has every event segment
convolved with its own response (direct-path peak on the labelled onset) before
its level is measured; the reverberant event runs on to the end of the clip at
most. The responses of a clip are made once, for all its SNRs.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from remix.errors import RemixError
from remix.levels import SNR_MODES, event_gain, gain_to_db, lufs, rms, scene_gain
from remix.manifest import atomic_output, audio_relpath, record_path, stem_relpath
from remix.options import default
from remix.recipe import ClipPlan, EventPlan
from remix.reverb import Response, convolve, room_responses

AUDIO_FORMATS: dict[str, str] = {"flac": "FLAC", "wav": "WAV"}
"""Output formats (extension -> libsndfile format); always 16-bit PCM."""

FULL_SCALE: float = 32767.0 / 32768.0
"""Largest positive 16-bit sample value as a float."""

_PEAK_TARGET = FULL_SCALE * (1.0 - 1e-5)

FLAC_COMPRESSION_LEVEL: float = 0.0
"""soundfile's FLAC compression level (0 to 1, libFLAC levels 0 to 8): 0, the fastest.
On 10 s mono 32 kHz mixes, libFLAC levels 1 and 2 give the same sizes as 0 and
levels 3 to 8 files 6 to 7 % smaller at up to three times the encoding time."""

MAX_ABS_SNR_DB: float = 120.0
"""Largest SNR magnitude accepted (dB)."""


@dataclass(frozen=True)
class RenderSettings:
    """How to turn plans into audio (the same for every clip of a corpus).

    Parameters
    ----------
    snrs : tuple of float
        SNRs (dB); every clip is written at each.
    snr_mode : {"rms", "lufs"}
        SNR definition (:mod:`remix.levels`).
    ref_lufs : float
        Scene loudness in ``lufs`` mode.
    sample_rate : int
        Output rate (Hz).
    clip_samples : int
        Output length (samples).
    audio_format : {"flac", "wav"}
        Container of the mixes (16-bit PCM).
    stems : bool
        Also write the scene and every event as float32 WAV stems.
    """

    snrs: tuple[float, ...]
    snr_mode: str = default("snr_mode")
    ref_lufs: float = default("ref_lufs")
    sample_rate: int = 32000
    clip_samples: int = 320000
    audio_format: str = default("format")
    stems: bool = default("stems")

    def validate(self) -> None:
        """Raise :class:`RemixError` for impossible settings."""
        if not self.snrs:
            raise RemixError("no SNR given: pass at least one, e.g. --snr 0 10 20.")
        if len(set(self.snrs)) != len(self.snrs):
            raise RemixError(f"SNRs repeat: {list(self.snrs)}; give each once.")
        if any(not np.isfinite(s) for s in self.snrs):
            raise RemixError(f"SNRs must be finite numbers, got {list(self.snrs)}.")
        if any(abs(s) > MAX_ABS_SNR_DB for s in self.snrs):
            raise RemixError(
                f"SNRs must lie between -{MAX_ABS_SNR_DB:g} and {MAX_ABS_SNR_DB:g} dB (beyond, one "
                f"of the two signals is below float precision), got {[float(s) for s in self.snrs]}."
            )
        if not -100.0 <= self.ref_lufs <= 0.0:
            raise RemixError(f"the scene loudness must lie between -100 and 0 LUFS, got {self.ref_lufs:g}.")
        if self.snr_mode not in SNR_MODES:
            raise RemixError(f"unknown SNR mode {self.snr_mode!r}: expected one of {', '.join(SNR_MODES)}.")
        if self.audio_format not in AUDIO_FORMATS:
            raise RemixError(f"unknown audio format {self.audio_format!r}: expected one of {', '.join(AUDIO_FORMATS)}.")

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        d = asdict(self)
        d["snrs"] = list(self.snrs)
        return d


_BLOCK_FRAMES = 32768
"""Frames decoded at a time by :func:`_wav_pcm_mono` (small buffers, reused)."""


def _wav_pcm_mono(path: str | Path) -> tuple[np.ndarray, int] | None:
    """The channel average of a plain 16- or 24-bit PCM WAV as float32, or None for any other file.

    The result is bit for bit what :func:`load_mono` computes from libsndfile's
    samples (``sf.read(dtype="float32")``: each integer over 2**15 or 2**23,
    exactly; the channels summed in order, then scaled by 1 / channels), but
    decoded with NumPy block by block, which costs a fraction of libsndfile's
    conversion loop and its full-length float copy of every channel. Anything
    this reader does not handle (other encodings, WAVE_FORMAT_EXTENSIBLE, RF64, a
    data size of 0 or 2**32 - 1) gives None, and the caller decodes the file with
    libsndfile. As libsndfile does, a data chunk that claims more bytes than the
    file holds is read to the end of the file, and an incomplete last frame is dropped.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        fmt = None
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = handle.read(size)
                if size < 16 or len(body) < 16:
                    return None
                fmt = struct.unpack("<HHIIHH", body[:16])
                handle.seek(size & 1, os.SEEK_CUR)
            elif cid == b"data":
                break
            else:
                handle.seek(size + (size & 1), os.SEEK_CUR)
        if fmt is None or size in (0, 0xFFFFFFFF):
            return None
        tag, channels, rate, _, block, bits = fmt
        if tag != 1 or bits not in (16, 24) or channels < 1 or rate < 1 or block != channels * bits // 8:
            return None
        frames = max(0, min(size, os.fstat(handle.fileno()).st_size - handle.tell())) // block
        scale = np.float32(1.0 / 2 ** (bits - 1))
        block_frames = min(frames, _BLOCK_FRAMES)
        mono = np.empty(frames, dtype=np.float32)
        buf = bytearray(block_frames * block + 1)  # the samples from byte 1 on
        view = memoryview(buf)
        wide = np.empty(block_frames * channels if bits == 24 else 0, dtype=np.int32)
        pair = np.empty(block_frames if channels > 1 else 0, dtype=np.int32)
        column = np.empty(block_frames if channels > 2 else 0, dtype=np.float32)
        for start in range(0, frames, _BLOCK_FRAMES):
            m = min(_BLOCK_FRAMES, frames - start)
            got = handle.readinto(view[1 : 1 + m * block])
            if got != m * block:  # the file shrank while being read
                raise OSError(f"{path}: short read")
            if bits == 16:
                ints = np.frombuffer(buf, dtype="<i2", count=m * channels, offset=1).reshape(m, channels)
            else:
                # Sample k is bytes 3k+1..3k+3 of buf: the little-endian int32 at byte 3k holds it
                # in its top three bytes over one stray low byte, which the arithmetic shift drops:
                # the sample itself, sign extended.
                packed = np.ndarray(shape=(m * channels,), dtype="<i4", buffer=buf, strides=(3,))
                ints = np.right_shift(packed, 8, out=wide[: m * channels]).reshape(m, channels)
            out = mono[start : start + m]
            if channels == 1:
                np.multiply(ints[:, 0], scale, out=out, dtype=np.float32)  # a power of two: exact
                continue
            # The first two channels summed as integers (exact) and converted to float32 once:
            # one rounding to nearest, the same as of the float32 sum of the two exact products.
            np.add(ints[:, 0], ints[:, 1], out=pair[:m], dtype=np.int32)
            np.multiply(pair[:m], scale, out=out, dtype=np.float32)
            for c in range(2, channels):  # summed in channel order, as load_mono sums
                col = column[:m]
                np.multiply(ints[:, c], scale, out=col, dtype=np.float32)
                out += col
    if channels > 1:
        mono *= np.float32(1.0 / channels)
    return mono, rate


def load_mono(path: str | Path, *, sample_rate: int) -> np.ndarray:
    """Decode a file, average its channels and resample it (soxr, high quality).

    Plain 16- and 24-bit PCM WAVs (the TAU and FSDKaggle2018 files) are decoded
    by :func:`_wav_pcm_mono`, everything else by libsndfile; the samples are
    the same either way.

    Parameters
    ----------
    path : str or Path
        Audio file.
    sample_rate : int
        Target rate (Hz).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Mono signal at ``sample_rate``.
    """
    try:
        fast = _wav_pcm_mono(path)
    except (OSError, ValueError, struct.error):
        fast = None  # libsndfile decides, and words the error
    if fast is not None:
        mono, rate = fast
    else:
        try:
            data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
            raise RemixError(
                f"cannot decode {path}: {exc}; the file changed after the source check, "
                "run the build again to re-check it."
            ) from None
        mono = data[:, 0].copy()
        for c in range(1, data.shape[1]):  # column sums: much faster than mean(axis=1) on interleaved data
            mono += data[:, c]
        if data.shape[1] > 1:
            mono *= np.float32(1.0 / data.shape[1])
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


class SourceCache:
    """Least-recently-used cache of decoded, resampled sources (thread-safe).

    Entries are keyed by path, output rate, file size and modification time, so
    a file that changes is decoded again. The cached signals are read-only and
    shared: a caller that changes one works on a copy.

    Parameters
    ----------
    max_bytes : int
        Memory budget for the cached signals.
    """

    def __init__(self, *, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, int, int, int], list] = OrderedDict()  # [signal, RMS or None]
        self._bytes = 0
        self._lock = threading.Lock()

    def _entry(self, path: str, sample_rate: int) -> list:
        try:
            st = os.stat(path)
        except OSError:  # load_mono words the error
            return [load_mono(path, sample_rate=sample_rate), None]
        key = (str(path), sample_rate, st.st_size, st.st_mtime_ns)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        signal = load_mono(path, sample_rate=sample_rate)  # decoded outside the lock
        signal.flags.writeable = False
        item = [signal, None]
        with self._lock:
            if key in self._items:
                return self._items[key]
            self._items[key] = item
            self._bytes += signal.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (old, _) = self._items.popitem(last=False)
                self._bytes -= old.nbytes
        return item

    def signal(self, path: str, *, sample_rate: int) -> np.ndarray:
        """Signal of a whole source file (shape (n,), float32, at ``sample_rate``; read-only)."""
        return self._entry(path, sample_rate)[0]

    def get(self, path: str, *, sample_rate: int) -> tuple[np.ndarray, float]:
        """Signal (shape (n,), float32, at ``sample_rate``; read-only) and RMS of a whole source file."""
        item = self._entry(path, sample_rate)
        if item[1] is None:
            item[1] = rms(item[0])
        return item[0], item[1]


_CACHE = SourceCache()
"""Event sources of this process (many clips share an event file)."""

_SCENE_CACHE = SourceCache(max_bytes=64 * 2**20)
"""Scene recordings of this process: a recipe cycles through a fold's scenes when a
fold has more clips than scenes, and 64 MiB holds 52 scenes of 10 s at 32 kHz."""


def grow_scene_cache(max_bytes: int) -> None:
    """Let this process keep at least ``max_bytes`` of decoded scene recordings (a process that
    mixes clip after clip from the same scenes, such as a training loader, gains from more)."""
    _SCENE_CACHE.max_bytes = max(_SCENE_CACHE.max_bytes, int(max_bytes))


def _segment(signal: np.ndarray, ev: EventPlan) -> np.ndarray:
    seg = signal[ev.source_start : ev.source_start + ev.length]
    if seg.shape[0] < ev.length:  # resampler rounding: at most a sample or two
        seg = np.pad(seg, (0, ev.length - seg.shape[0]))
    seg = np.array(seg, dtype=np.float32)
    if ev.fade_in:
        seg[: ev.fade_in] *= np.linspace(0.0, 1.0, ev.fade_in, endpoint=False, dtype=np.float32)
    if ev.fade_out:
        seg[-ev.fade_out :] *= np.linspace(0.0, 1.0, ev.fade_out, endpoint=False, dtype=np.float32)[::-1]
    return seg


def _to_pcm16(x: np.ndarray) -> np.ndarray:
    """16-bit samples of a float signal in [-1, 1); works in place on ``x`` (float32)."""
    x *= np.float32(32768.0)
    np.rint(x, out=x)
    np.clip(x, -32768.0, 32767.0, out=x)
    return x.astype(np.int16)


def _write_audio(path: Path, data: np.ndarray, *, sample_rate: int, fmt: str, subtype: str) -> None:
    with atomic_output(path) as tmp:
        if fmt == "WAV" and subtype in _WAV_CODES:
            try:
                write_wav(tmp, data, sample_rate=sample_rate, subtype=subtype)
            except OSError as exc:
                raise _write_error(path, exc) from None
            return
        kwargs = {"compression_level": FLAC_COMPRESSION_LEVEL} if fmt == "FLAC" else {}
        try:
            sf.write(str(tmp), data, sample_rate, format=fmt, subtype=subtype, **kwargs)
        except (sf.LibsndfileError, RuntimeError) as exc:  # "System error": a full disk, mostly
            raise _write_error(path, exc) from None


def _write_error(path: Path, exc: BaseException) -> OSError:
    """An OSError (reported as a file system error) for a failed write, naming a full disk when it is."""
    import shutil

    why = str(exc)
    try:
        if shutil.disk_usage(path.parent).free < 16 * 2**20:
            why += "; the disk is full"
    except OSError:
        pass
    return OSError(f"cannot write {path}: {why}")


_WAV_CODES: dict[str, tuple[str, int]] = {"PCM_16": ("<i2", 1), "FLOAT": ("<f4", 3)}
"""WAV subtypes :func:`write_wav` writes: sample dtype and WAVE format tag."""


def write_wav(path: Path, data: np.ndarray, *, sample_rate: int, subtype: str) -> None:
    """Write a mono 16-bit PCM or float32 WAV, byte for byte as libsndfile writes it, less any PEAK chunk.

    16-bit PCM files get libsndfile's 44-byte header (``fmt`` + ``data``); float
    files a ``fmt`` + ``fact`` + ``data`` header and, unlike libsndfile's, no PEAK
    chunk (whose timestamp made identical audio differ from run to run): the same
    samples give the same bytes. Writing the header and the samples directly
    saves libsndfile's open, conversion and header rewrite. The data is synced to
    disk before the file is closed, as libsndfile does.

    Parameters
    ----------
    path : Path
        Output file.
    data : np.ndarray [shape=(n,)]
        Samples (int16 for ``PCM_16``, float for ``FLOAT``).
    sample_rate : int
        Rate in Hz.
    subtype : {"PCM_16", "FLOAT"}
        Sample format.
    """
    dtype, tag = _WAV_CODES[subtype]
    if subtype == "PCM_16" and np.asarray(data).dtype != np.int16:
        raise RemixError(f"16-bit WAV samples must be int16, got {np.asarray(data).dtype}.")
    samples = np.ascontiguousarray(data, dtype=dtype)
    if samples.ndim != 1:
        raise RemixError(f"a WAV written here must be mono (shape (n,)), got shape {samples.shape}.")
    width = samples.itemsize
    n_bytes = samples.nbytes
    if tag == 1:  # PCM: a 16-byte fmt chunk, no fact chunk
        fmt = struct.pack("<HHIIHH", tag, 1, sample_rate, sample_rate * width, width, 8 * width)
        fact = b""
    else:  # IEEE float, cbSize 0, and the fact chunk non-PCM files carry
        fmt = struct.pack("<HHIIHHH", tag, 1, sample_rate, sample_rate * width, width, 8 * width, 0)
        fact = b"fact" + struct.pack("<II", 4, samples.shape[0])
    header = b"".join(
        [
            b"RIFF",
            struct.pack("<I", 4 + (8 + len(fmt)) + len(fact) + (8 + n_bytes)),
            b"WAVE",
            b"fmt ",
            struct.pack("<I", len(fmt)),
            fmt,
            fact,
            b"data",
            struct.pack("<I", n_bytes),
        ]
    )
    with open(path, "wb") as handle:
        handle.write(header)
        handle.write(memoryview(samples).cast("B"))
        handle.flush()
        os.fsync(handle.fileno())  # as libsndfile does when it closes a file it wrote


def _reverberant(
    signal: np.ndarray, seg: np.ndarray, ev: EventPlan, response: Response, *, settings: RenderSettings
) -> tuple[np.ndarray, float]:
    """An event segment convolved with its response (up to the clip's end) and its level.

    ``rms`` mode: the root of the energy of the whole source file convolved with the response,
    over the dry file's length (the dry definition's denominator). ``lufs`` mode: the loudness
    of the placed reverberant event."""
    room_left = settings.clip_samples - ev.onset
    wet = convolve(seg, response.h, length=min(seg.shape[0] + response.h.shape[0] - 1, room_left))
    if settings.snr_mode == "rms":
        whole = convolve(signal, response.h)
        level = float(np.sqrt(np.sum(np.square(whole)) / max(signal.shape[0], 1)))
    else:
        level = lufs(wet, sample_rate=settings.sample_rate)
    return wet.astype(np.float32), level


def _prepared(
    plan: ClipPlan, *, settings: RenderSettings, cache: SourceCache | None, scene_cache: SourceCache | None
) -> tuple[np.ndarray, float, list[np.ndarray], list[float], list[Response] | None]:
    """A clip's scene (its own array, at its gain), the scene gain, the event segments (reverberant
    where the plan has a room), their levels and their responses (None for a dry plan)."""
    cache = _CACHE if cache is None else cache
    scene_cache = _SCENE_CACHE if scene_cache is None else scene_cache
    sr, n = settings.sample_rate, settings.clip_samples
    scene_rms: float | None = None  # of the whole recording, kept with it in the cache (rms mode)
    if settings.snr_mode == "rms":
        scene, scene_rms = scene_cache.get(plan.scene_path, sample_rate=sr)  # shared: not changed in place
    else:
        scene = scene_cache.signal(plan.scene_path, sample_rate=sr)
    if scene.shape[0] != n:
        scene = np.pad(scene[:n], (0, max(0, n - scene.shape[0])))
        scene_rms = None  # measured on the clip's length
    g_scene = scene_gain(scene, mode=settings.snr_mode, sample_rate=sr, ref_lufs=settings.ref_lufs, level=scene_rms)
    scene = scene * np.float32(g_scene)  # this clip's own array from here on
    responses = room_responses(plan.room, sample_rate=sr) if plan.room is not None else None
    segments, levels = [], []
    for k, ev in enumerate(plan.events):
        signal, source_rms = cache.get(ev.source_path, sample_rate=sr)
        seg = _segment(signal, ev)
        if responses is not None:
            seg, level = _reverberant(signal, seg, ev, responses[k], settings=settings)
        else:
            level = source_rms if settings.snr_mode == "rms" else lufs(seg, sample_rate=sr)
        segments.append(seg)
        levels.append(level)
    return scene, g_scene, segments, levels, responses


def _mixed(
    plan: ClipPlan,
    scene: np.ndarray,
    segments: list[np.ndarray],
    levels: list[float],
    *,
    settings: RenderSettings,
    snr_db: float,
    in_place: bool,
) -> tuple[np.ndarray, list[float], float]:
    """The mixture at one SNR (scaled under full scale when it would clip), the event gains and
    the scale; ``in_place`` mixes into ``scene`` itself (its last use)."""
    gains = [event_gain(lv, snr_db=snr_db, mode=settings.snr_mode, ref_lufs=settings.ref_lufs) for lv in levels]
    mix = scene if in_place else scene.copy()
    for ev, seg, g in zip(plan.events, segments, gains):
        mix[ev.onset : ev.onset + seg.shape[0]] += np.float32(g) * seg  # a reverberant one runs past ev.length
    peak = max(float(mix.max()), -float(mix.min())) if mix.size else 0.0
    scale = _PEAK_TARGET / peak if peak > _PEAK_TARGET else 1.0
    if scale != 1.0:
        mix *= np.float32(scale)
    return mix, gains, scale


def mix_clip(
    plan: ClipPlan,
    *,
    settings: RenderSettings,
    snr_db: float,
    cache: SourceCache | None = None,
    scene_cache: SourceCache | None = None,
) -> np.ndarray:
    """One clip's mixture at one SNR in memory, as :func:`render_clip` writes it.

    The same placement, gains and clipping guard as a build, then the 16-bit quantisation
    of the written file (FLAC and 16-bit WAV hold exactly these samples), read back as
    float: what decoding the corpus file would give.

    Returns
    -------
    np.ndarray [shape=(clip_samples,)], float32
    """
    scene, _, segments, levels, _ = _prepared(plan, settings=settings, cache=cache, scene_cache=scene_cache)
    mix, _, _ = _mixed(plan, scene, segments, levels, settings=settings, snr_db=snr_db, in_place=True)
    return _to_pcm16(mix).astype(np.float32) / np.float32(32768.0)


def render_clip(
    plan: ClipPlan,
    *,
    settings: RenderSettings,
    out_dir: Path,
    cache: SourceCache | None = None,
    scene_cache: SourceCache | None = None,
) -> dict:
    """Render one clip at every SNR, write its audio (and stems), return its manifest rows.

    Parameters
    ----------
    plan : ClipPlan
        The clip.
    settings : RenderSettings
        Corpus-wide render settings.
    out_dir : Path
        Corpus folder.
    cache : SourceCache, optional
        Event cache (the process-wide one when None).
    scene_cache : SourceCache, optional
        Scene cache (the process-wide one when None).

    Returns
    -------
    dict
        ``{"clip_id", "clips": [row per SNR], "events": [row per event and SNR]}``
        with the columns of :data:`remix.manifest.CLIP_SCHEMA` and
        :data:`remix.manifest.EVENT_SCHEMA`.
    """
    sr, n = settings.sample_rate, settings.clip_samples
    out_dir = Path(out_dir)
    scene, g_scene, segments, levels, responses = _prepared(
        plan, settings=settings, cache=cache, scene_cache=scene_cache
    )
    reverb_rows = _reverb_rows(plan, responses, sample_rate=sr) if responses is not None else None
    fmt = AUDIO_FORMATS[settings.audio_format]
    clip_rows, event_rows = [], []
    for k_snr, snr in enumerate(settings.snrs):
        last_use = k_snr == len(settings.snrs) - 1 and not settings.stems  # the scene is not needed after
        mix, gains, scale = _mixed(plan, scene, segments, levels, settings=settings, snr_db=snr, in_place=last_use)
        audio_path = audio_relpath(plan.clip_id, snr, ext=settings.audio_format)
        _write_audio(out_dir / audio_path, _to_pcm16(mix), sample_rate=sr, fmt=fmt, subtype="PCM_16")
        del mix  # consumed by the conversion
        scene_stem_path = None
        stem_paths: list[str | None] = [None] * len(plan.events)
        if settings.stems:  # the same products as in the mix, each on its own
            scene_stem = scene * np.float32(scale)
            event_stems = [np.float32(g * scale) * seg for g, seg in zip(gains, segments)]
            scene_stem_path = stem_relpath(plan.clip_id, snr, "scene")
            _write_audio(out_dir / scene_stem_path, scene_stem, sample_rate=sr, fmt="WAV", subtype="FLOAT")
            for k, (ev, stem) in enumerate(zip(plan.events, event_stems)):
                full = np.zeros(n, dtype=np.float32)
                full[ev.onset : ev.onset + stem.shape[0]] = stem
                stem_paths[k] = stem_relpath(plan.clip_id, snr, f"event{k}")
                _write_audio(out_dir / stem_paths[k], full, sample_rate=sr, fmt="WAV", subtype="FLOAT")
        clip_rows.append(
            {
                "clip_id": plan.clip_id,
                "snr_db": float(snr),
                "split": plan.split,
                "fold": plan.fold,
                "audio_path": audio_path,
                "sample_rate": sr,
                "duration_s": n / sr,
                "scene_file": plan.scene_file,
                "scene_label": plan.scene_label,
                "city": plan.city,
                "scene_identifier": plan.scene_identifier,
                "labels": plan.labels,
                "n_events": sum(e.target for e in plan.events),
                "scene_gain_db": gain_to_db(g_scene * scale),
                "peak_scale": float(scale),
                "scene_stem_path": scene_stem_path,
            }
        )
        for k, (ev, g, lv) in enumerate(zip(plan.events, gains, levels)):
            event_rows.append(
                {
                    **(reverb_rows[k] if reverb_rows is not None else {}),
                    "clip_id": plan.clip_id,
                    "snr_db": float(snr),
                    "event_index": k,
                    "event_label": ev.label,
                    "onset_s": ev.onset / sr,
                    "offset_s": (ev.onset + ev.length) / sr,
                    "source_file": ev.source_file,
                    "source_start_s": ev.source_start / sr,
                    "gain_db": gain_to_db(g * scale),
                    "level": float(lv),
                    "fade_in_s": ev.fade_in / sr,
                    "fade_out_s": ev.fade_out / sr,
                    "license": ev.license,
                    "freesound_id": ev.freesound_id,
                    "stem_path": stem_paths[k],
                    **({} if all(e.target for e in plan.events) else {"target": ev.target}),
                }
            )
    return {"clip_id": plan.clip_id, "clips": clip_rows, "events": event_rows}


def _reverb_rows(plan: ClipPlan, responses: list[Response], *, sample_rate: int) -> list[dict]:
    """The reverberation columns (:data:`remix.manifest.REVERB_FIELDS`) of every event of a clip."""
    room = plan.room
    assert room is not None
    nan = float("nan")
    dims = room.dims_m if room.simulated else (nan, nan, nan)
    names = ["simulated"] * len(responses) if room.simulated else list(room.names)
    return [
        {
            "response": name,
            "rt60_s": r.rt60_s,
            "rt60_target_s": float(room.rt60_target_s),
            "room_length_m": float(dims[0]),
            "room_width_m": float(dims[1]),
            "room_height_m": float(dims[2]),
            "source_distance_m": d,
            "drr_db": r.drr_db,
            "response_s": r.h.shape[0] / float(sample_rate),
        }
        for name, r, d in zip(names, responses, room.distances_m())
    ]


def render_batch(plans: Sequence[ClipPlan], *, settings: RenderSettings, out_dir: Path) -> list[str]:
    """Render clips and write each one's resume record after its audio; return their ids.

    This is the unit of work handed to an executor (it is a top-level function,
    so process pools can pickle it).
    """
    done = []
    for plan in plans:
        record = render_clip(plan, settings=settings, out_dir=Path(out_dir))
        path = record_path(Path(out_dir), plan.clip_id)
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        done.append(plan.clip_id)
    return done
