"""Reverberation per event: a room impulse response for every placed event, simulated or measured.

Two sources of responses (``remix build --reverb``):

``simulated``
    One shoebox room per clip, simulated with pyroomacoustics' image-source model: the room's
    length and width, its height and a target reverberation time (RT60) are drawn uniformly
    from the ranges of :class:`ReverbOptions`; the wall absorption and the reflection order
    follow from Sabine's formula (:func:`pyroomacoustics.inverse_sabine`, which the library's
    own examples use). The microphone stands at a random point at least 0.5 m from every wall,
    1-2 m above the floor; every event of the clip sits at its own random position at a
    distance drawn from ``source_distance_m``, inside the room. Air absorption is off (it
    multiplies the cost by about 4 and changes the responses little at these distances).
``DIR``
    Measured (or any) responses from a folder of WAV files: any sample rate and channel count;
    the first channel is used, resampled to the corpus rate. Each event draws one file. Files
    that cannot be decoded, are silent or hold non-finite samples are skipped and listed, as
    unusable sources are.

Every response is cut at its direct-path peak (the direct path's arrival, known from the geometry
for simulated rooms, the largest absolute sample of a file), so the peak lands exactly on the
event's labelled onset; what comes after the point where 60 dB of its energy has decayed is cut
too. The event's labels do not move: the reverberant tail rings on past the labelled offset (until
the end of the clip) and is not labelled, as the dry event's own release is not.

Levels (:mod:`remix.render`): in ``rms`` mode an event's level is the root of the reverberant
source file's energy (the whole file convolved with the response) divided by the dry file's
length, so that at the same SNR a reverberant event carries the energy its dry source would; in
``lufs`` mode it is the loudness of the placed reverberant event, tail included, as placed.

All random choices come from each clip's own seed (keyed apart from the recipe's, so a dry and a
reverberant corpus of the same seed hold the same events at the same places); the simulation runs
on one thread, so responses are the same bytes in every process.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from remix.errors import RemixError
from remix.options import default

SIMULATED = "simulated"
"""``--reverb`` value of simulated rooms."""
NONE = "none"
"""``--reverb`` value of dry events (the default, and the paper's)."""

SPEED_OF_SOUND: float = 343.0
"""Speed of sound (m/s), pyroomacoustics' default."""

WALL_MARGIN_M: float = 0.5
"""Smallest distance between the microphone or a source and any wall (m)."""

MIC_HEIGHT_M: tuple[float, float] = (1.0, 2.0)
"""Range of the microphone's height above the floor (m)."""

TAIL_DECAY_DB: float = 60.0
"""A response is cut where this much of its energy has decayed (Schroeder's backward integral)."""

DIRECT_WINDOW_S: float = 0.0025
"""Length after the direct-path peak counted as direct sound in the direct-to-reverberant ratio (s)."""

MAX_RESPONSE_S: float = 10.0
"""Longest response kept (s): a file longer than this is cut."""

_MAX_DRAWS = 100  # tries at a source position at the drawn distance before the distance shrinks

MAX_ORDER: int = 200
"""Highest image-source order the ranges may call for (the number of images grows with its cube:
order 200 is about 34 million images per event, seconds and gigabytes)."""


@dataclass(frozen=True)
class ReverbOptions:
    """Which responses the events get, and the ranges simulated rooms are drawn from.

    Parameters
    ----------
    source : str
        ``"none"`` (dry, the default), ``"simulated"``, or a folder of WAV impulse responses.
    rt60_s : tuple of float
        Range of the target reverberation time of simulated rooms (s).
    room_floor_m : tuple of float
        Range of a simulated room's length and of its width (each drawn on its own, m).
    room_height_m : tuple of float
        Range of a simulated room's height (m).
    source_distance_m : tuple of float
        Range of the distance between an event and the microphone (m); shortened where the room
        is too small for it.
    """

    source: str = default("reverb")
    rt60_s: tuple[float, float] = tuple(default("rt60_s"))  # type: ignore[assignment]
    room_floor_m: tuple[float, float] = tuple(default("room_floor_m"))  # type: ignore[assignment]
    room_height_m: tuple[float, float] = tuple(default("room_height_m"))  # type: ignore[assignment]
    source_distance_m: tuple[float, float] = tuple(default("source_distance_m"))  # type: ignore[assignment]

    @property
    def active(self) -> bool:
        """Whether events are reverberated at all."""
        return self.source != NONE

    @property
    def simulated(self) -> bool:
        return self.source == SIMULATED

    @property
    def folder(self) -> Path | None:
        """The folder of response files (None unless responses come from files)."""
        return Path(self.source) if self.active and not self.simulated else None

    def validate(self) -> None:
        """Raise :class:`RemixError` for impossible ranges or a folder that is not one."""
        if not isinstance(self.source, str) or not self.source:
            raise RemixError(f"--reverb must be none, simulated or a folder of WAV files, found {self.source!r}.")
        ranges = {
            "rt60-s": (self.rt60_s, 0.05, 10.0),
            "room-floor-m": (self.room_floor_m, 1.5, 200.0),
            "room-height-m": (self.room_height_m, 1.5, 50.0),
            "source-distance-m": (self.source_distance_m, 0.1, 100.0),
        }
        for name, (pair, lo, hi) in ranges.items():
            if len(pair) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in pair):
                raise RemixError(f"--{name} takes two numbers (the lowest and the highest), found {list(pair)}.")
            if not lo <= pair[0] <= pair[1] <= hi:
                raise RemixError(
                    f"--{name} must be two numbers from {lo:g} to {hi:g}, the lowest first, found {list(pair)}."
                )
        if self.simulated and self.room_floor_m[0] < 2 * WALL_MARGIN_M + 0.5:
            raise RemixError(f"--room-floor-m must start at {2 * WALL_MARGIN_M + 0.5:g} m or more.")
        if self.simulated:
            smallest = (self.room_floor_m[0], self.room_floor_m[0], self.room_height_m[0])
            worst = image_order(smallest, self.rt60_s[1])
            if worst > MAX_ORDER:
                raise RemixError(
                    f"an RT60 of {self.rt60_s[1]:g} s in a room as small as {smallest[0]:g} x {smallest[1]:g} x "
                    f"{smallest[2]:g} m needs image sources up to order {worst} (at most {MAX_ORDER}: the work "
                    "grows with its cube); lower the top of --rt60-s or raise the bottom of --room-floor-m and "
                    "--room-height-m."
                )
        folder = self.folder
        if folder is not None and not folder.is_dir():
            what = "a file" if folder.exists() else "nothing"
            raise RemixError(
                f"--reverb {folder}: expected none, simulated, or a folder of WAV impulse responses; "
                f"found {what} there."
            )

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready); a folder as its absolute path."""
        folder = self.folder
        return {
            "source": str(folder.expanduser().resolve()) if folder is not None else self.source,
            "rt60_s": [float(v) for v in self.rt60_s],
            "room_floor_m": [float(v) for v in self.room_floor_m],
            "room_height_m": [float(v) for v in self.room_height_m],
            "source_distance_m": [float(v) for v in self.source_distance_m],
        }

    @classmethod
    def from_dict(cls, d: dict | None) -> ReverbOptions:
        """The options :meth:`to_dict` wrote (dry for None)."""
        if not d:
            return cls()
        return cls(
            source=str(d["source"]),
            rt60_s=tuple(d["rt60_s"]),  # type: ignore[arg-type]
            room_floor_m=tuple(d["room_floor_m"]),  # type: ignore[arg-type]
            room_height_m=tuple(d["room_height_m"]),  # type: ignore[arg-type]
            source_distance_m=tuple(d["source_distance_m"]),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class RoomPlan:
    """Where a clip's events sound: a simulated room, or one response file per event.

    Attributes
    ----------
    dims_m : tuple of float
        Length, width, height of a simulated room (m); empty for files.
    rt60_target_s : float
        The simulated room's target RT60 (s); NaN for files.
    mic_m : tuple of float
        The microphone's position (m); empty for files.
    sources_m : tuple of tuple of float
        Every event's position, in the order of the clip's events; empty for files.
    files : tuple of str
        Every event's response file (absolute path); empty for simulated rooms.
    names : tuple of str
        The same files relative to the response folder (as the manifest lists them).
    """

    dims_m: tuple[float, ...] = ()
    rt60_target_s: float = float("nan")
    mic_m: tuple[float, ...] = ()
    sources_m: tuple[tuple[float, ...], ...] = ()
    files: tuple[str, ...] = field(default=())
    names: tuple[str, ...] = field(default=())

    @property
    def simulated(self) -> bool:
        return bool(self.dims_m)

    def distances_m(self) -> list[float]:
        """Every event's distance to the microphone (m; NaN for files)."""
        if not self.simulated:
            return [float("nan")] * len(self.files)
        mic = np.asarray(self.mic_m)
        return [float(np.linalg.norm(np.asarray(s) - mic)) for s in self.sources_m]


def sabine_absorption(dims_m: tuple[float, ...], rt60_s: float) -> float:
    """Energy absorption of the walls that gives ``rt60_s`` in a shoebox room by Sabine's formula
    (above 1 where the room is too large for so short a time)."""
    length, width, height = dims_m
    volume = length * width * height
    surface = 2.0 * (length * width + length * height + width * height)
    return 24.0 * math.log(10.0) * volume / (SPEED_OF_SOUND * surface * rt60_s)


def image_order(dims_m: tuple[float, ...], rt60_s: float) -> int:
    """The image-source order that covers ``rt60_s`` in a shoebox room, as ``pyroomacoustics.inverse_sabine``
    sets it (the time sound takes to cross the room's narrowest pair of walls, that many times)."""
    length, width, height = dims_m
    spacing = min(a * b / math.hypot(a, b) for a, b in ((length, width), (length, height), (width, height)))
    return max(0, int(math.ceil(SPEED_OF_SOUND * rt60_s / spacing - 1)))


def _inside(p: np.ndarray, dims: np.ndarray) -> bool:
    return bool(np.all(p >= WALL_MARGIN_M) and np.all(p <= dims - WALL_MARGIN_M))


def _source_position(rng: np.random.Generator, mic: np.ndarray, dims: np.ndarray, distance: float) -> np.ndarray:
    """A point at ``distance`` from ``mic`` inside the room (nearer when nothing that far fits)."""
    for _ in range(_MAX_DRAWS):
        u = rng.normal(size=3)
        u /= max(float(np.linalg.norm(u)), 1e-12)
        p = mic + distance * u
        if _inside(p, dims):
            return p
    # the farthest point inside along the last direction (the microphone itself is inside)
    lo, hi = 0.0, distance
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _inside(mic + mid * u, dims) else (lo, mid)
    return mic + lo * u


def plan_room(
    rng: np.random.Generator, *, options: ReverbOptions, n_events: int, files: tuple[str, ...] = (), folder: str = ""
) -> RoomPlan:
    """Draw one clip's room (or response files) from ``rng``.

    Parameters
    ----------
    rng : np.random.Generator
        The clip's own generator for reverberation.
    options : ReverbOptions
        Active options.
    n_events : int
        Events of the clip.
    files : tuple of str
        Usable response files, sorted (``--reverb DIR``).
    folder : str
        Their folder, for the names the manifest lists.

    Returns
    -------
    RoomPlan
    """
    if not options.simulated:
        if not files:
            raise RemixError(f"no usable impulse response in {options.source}; give a folder of WAV files.")
        picks = [files[int(k)] for k in rng.integers(len(files), size=n_events)]
        prefix = folder.rstrip("/") + "/"
        names = tuple(p[len(prefix) :] if p.startswith(prefix) else Path(p).name for p in picks)
        return RoomPlan(files=tuple(picks), names=names)
    dims = np.array(
        [rng.uniform(*options.room_floor_m), rng.uniform(*options.room_floor_m), rng.uniform(*options.room_height_m)]
    )
    rt60 = float(rng.uniform(*options.rt60_s))
    shortest = sabine_absorption(tuple(dims), 1.0) * 1.0001  # the RT60 (s) of walls that absorb everything
    rt60 = max(rt60, shortest)
    mic = np.array(
        [
            rng.uniform(WALL_MARGIN_M, dims[0] - WALL_MARGIN_M),
            rng.uniform(WALL_MARGIN_M, dims[1] - WALL_MARGIN_M),
            rng.uniform(MIC_HEIGHT_M[0], min(MIC_HEIGHT_M[1], dims[2] - WALL_MARGIN_M)),
        ]
    )
    sources = [
        _source_position(rng, mic, dims, float(rng.uniform(*options.source_distance_m))) for _ in range(n_events)
    ]
    return RoomPlan(
        dims_m=tuple(float(v) for v in dims),
        rt60_target_s=rt60,
        mic_m=tuple(float(v) for v in mic),
        sources_m=tuple(tuple(float(v) for v in s) for s in sources),
    )


# ---------------------------------------------------------------------------------------------------------------
# Responses


@dataclass(frozen=True)
class Response:
    """One event's impulse response, ready to convolve.

    Attributes
    ----------
    h : np.ndarray [shape=(n,)], float64
        The response from its direct-path peak (``h[0]``) on, at unit peak.
    rt60_s : float
        Its reverberation time, measured (Schroeder's backward integral, a line fitted from -5 to
        -25 dB, extrapolated to 60 dB); NaN when it does not decay 25 dB.
    drr_db : float
        Direct-to-reverberant ratio (dB): the energy of its first :data:`DIRECT_WINDOW_S` against
        the rest.
    """

    h: np.ndarray
    rt60_s: float
    drr_db: float


def energy_decay_db(h: np.ndarray) -> np.ndarray:
    """Schroeder's energy decay curve of a response (dB re its total energy; -inf after its end)."""
    e = np.cumsum(np.square(np.asarray(h, dtype=np.float64))[::-1])[::-1]
    total = e[0] if e.size else 0.0
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(e / total) if total > 0 else np.full(e.shape, -np.inf)


def measure_rt60(h: np.ndarray, *, sample_rate: int) -> float:
    """RT60 of a response (s) from the slope of its decay between -5 and -25 dB (NaN without one)."""
    edc = energy_decay_db(h)
    idx = np.flatnonzero((edc <= -5.0) & (edc >= -25.0))
    if idx.size < 3 or not np.any(edc < -25.0):
        return float("nan")
    t = idx / sample_rate
    slope = np.polyfit(t, edc[idx], 1)[0]
    return float(-60.0 / slope) if slope < 0 else float("nan")


def finish_response(h: np.ndarray, *, peak: int, sample_rate: int) -> Response:
    """A raw response cut at its direct-path peak and after its last 60 dB, at unit peak, measured.

    Parameters
    ----------
    h : np.ndarray [shape=(n,)]
        The raw response.
    peak : int
        Index of its direct-path peak.
    sample_rate : int
        Its rate (Hz).
    """
    h = np.asarray(h, dtype=np.float64)[peak:]
    edc = energy_decay_db(h)
    end = int(np.searchsorted(-edc, TAIL_DECAY_DB, side="left")) + 1  # the decay curve falls monotonically
    h = h[: max(1, min(end, h.size, int(MAX_RESPONSE_S * sample_rate)))]
    h = h / abs(h[0]) if h[0] != 0 else h / max(float(np.max(np.abs(h))), 1e-30)
    n_direct = max(1, int(round(DIRECT_WINDOW_S * sample_rate)))
    direct = float(np.sum(np.square(h[:n_direct])))
    rest = float(np.sum(np.square(h[n_direct:])))
    drr = 10.0 * math.log10(direct / rest) if rest > 0 else float("inf")
    return Response(h=h, rt60_s=measure_rt60(h, sample_rate=sample_rate), drr_db=drr)


def simulate_room(room: RoomPlan, *, sample_rate: int) -> list[Response]:
    """The responses of a simulated room, one per event (pyroomacoustics' image-source model, one thread).

    Raises
    ------
    RemixError
        When pyroomacoustics is not installed.
    """
    try:
        import pyroomacoustics as pra
    except ImportError:  # pragma: no cover - a dependency of the project
        raise RemixError(
            "--reverb simulated needs pyroomacoustics (pip install pyroomacoustics); it is a dependency of "
            "this project, so reinstalling it (pip install -e .) brings it."
        ) from None
    pra.constants.set("num_threads", 1)  # a sum in one order: the same bytes in every process
    pra.constants.set("c", SPEED_OF_SOUND)
    absorption = min(sabine_absorption(room.dims_m, room.rt60_target_s), 1.0)
    max_order = image_order(room.dims_m, room.rt60_target_s)
    shoebox = pra.ShoeBox(
        list(room.dims_m),
        fs=sample_rate,
        materials=pra.Material(absorption),
        max_order=max_order,
        air_absorption=False,
    )
    for position in room.sources_m:
        shoebox.add_source(list(position))
    shoebox.add_microphone(list(room.mic_m))
    shoebox.compute_rir()
    offset = int(pra.constants.get("frac_delay_length")) // 2  # the fractional-delay filter's own delay
    out = []
    for k, distance in enumerate(room.distances_m()):
        peak = int(round(distance / SPEED_OF_SOUND * sample_rate)) + offset
        out.append(finish_response(np.asarray(shoebox.rir[0][k]), peak=peak, sample_rate=sample_rate))
    return out


READ_BLOCK = 1 << 16
"""Frames read at a time when a response file is scanned (:func:`load_response`)."""

LEAD_S: float = 1.0
"""Seconds before a response file's largest sample read with it (the resampler's context; a measured
response's direct path comes within its first second, so such files are read from their start)."""


def _scan(handle, path: str | Path) -> int:
    """Index of the largest absolute sample of the first channel, read in blocks of :data:`READ_BLOCK`
    frames (a long file is never held whole); RemixError for non-finite samples or silence."""
    best, where, start = 0.0, -1, 0
    for block in handle.blocks(blocksize=READ_BLOCK, dtype="float64", always_2d=True):
        h = block[:, 0]
        if not np.all(np.isfinite(h)):
            raise RemixError(f"the impulse response {path} holds non-finite samples")
        if h.size:
            k = int(np.argmax(np.abs(h)))
            if abs(h[k]) > best:
                best, where = float(abs(h[k])), start + k
        start += h.size
    if start == 0:
        raise RemixError(f"the impulse response {path} is empty")
    if where < 0:
        raise RemixError(f"the impulse response {path} is silent")
    return where


def load_response(path: str | Path, *, sample_rate: int) -> Response:
    """A response file's first channel at ``sample_rate``, cut at its largest sample (the direct path).

    The file is scanned in blocks for its largest sample, then only the stretch from
    :data:`LEAD_S` before it to :data:`MAX_RESPONSE_S` after it is read and resampled, so a long
    file costs a block of memory, not its length (a 30-minute file was 1.6 GB decoded whole).

    Raises
    ------
    RemixError
        For a file that cannot be decoded, is empty or silent, or holds non-finite samples.
    """
    import soundfile as sf
    import soxr

    try:
        with sf.SoundFile(str(path)) as handle:
            rate = handle.samplerate
            if handle.channels == 0:
                raise RemixError(f"the impulse response {path} is empty")
            peak = _scan(handle, path)
            first = max(0, peak - int(LEAD_S * rate))
            handle.seek(first)
            h = handle.read(frames=int(MAX_RESPONSE_S * rate) + peak - first, dtype="float64", always_2d=True)[:, 0]
    except RemixError:
        raise
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several kinds for a bad file
        raise RemixError(f"cannot decode the impulse response {path}: {exc}") from None
    if rate != sample_rate:
        h = soxr.resample(h, rate, sample_rate, quality="VHQ")
    return finish_response(h, peak=int(np.argmax(np.abs(h))), sample_rate=sample_rate)


def check_responses(folder: Path, *, sample_rate: int) -> tuple[list[str], list[tuple[str, str]]]:
    """The usable response files of a folder (WAV, searched recursively) and the unusable ones.

    Returns
    -------
    usable : list of str
        Absolute paths, sorted.
    bad : list of (str, str)
        Path and reason of every file that cannot serve.

    Raises
    ------
    RemixError
        For a folder without any WAV file.
    """
    folder = Path(folder).expanduser().resolve()
    paths = sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".wav")
    if not paths:
        raise RemixError(f"--reverb {folder}: expected WAV impulse responses (*.wav) in it, found none.")
    usable, bad = [], []
    for path in paths:
        try:
            _RESPONSES.get(path, sample_rate=sample_rate)
        except RemixError as exc:
            bad.append((path, str(exc)))
        else:
            usable.append(path)
    return usable, bad


class _ResponseCache:
    """Responses of files by (path, rate), for the life of a process (files are small; a few hundred kept)."""

    def __init__(self, max_items: int = 512) -> None:
        self.max_items = max_items
        self._items: OrderedDict[tuple, Response] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str, *, sample_rate: int) -> Response:
        st = Path(path).stat()
        key = (path, sample_rate, st.st_size, st.st_mtime_ns)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        response = load_response(path, sample_rate=sample_rate)
        with self._lock:
            self._items[key] = response
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return response


_RESPONSES = _ResponseCache()


def room_responses(room: RoomPlan, *, sample_rate: int) -> list[Response]:
    """Every event's response of a clip's room plan (simulated, or read from its files)."""
    if room.simulated:
        return simulate_room(room, sample_rate=sample_rate)
    return [_RESPONSES.get(path, sample_rate=sample_rate) for path in room.files]


def convolve(x: np.ndarray, h: np.ndarray, *, length: int | None = None) -> np.ndarray:
    """``x`` convolved with ``h`` by FFT (float64), cut to ``length`` samples when given."""
    from scipy.signal import oaconvolve

    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return np.zeros(0 if length is None else length)
    y = oaconvolve(x, np.asarray(h, dtype=np.float64))
    return y if length is None else y[:length]
