"""A small SoundFont sampler: plays notes of a General MIDI SoundFont (TimGM6mb unless
:func:`use_soundfont` names another, such as FluidR3_GM).

The SoundFont (``pretty_midi/TimGM6mb.sf2``, GPL-2.0) holds about 520 short
recorded samples. A note is played by reading the sample of the matching zone at
a rate shifted by the pitch distance to the zone's root key (linear
interpolation), looping between the loop points while the note is held, and
shaping it with an attack / decay / sustain / release envelope. No audio device
or native synthesiser is involved.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib.util
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remix.errors import RemixError

SOUNDFONT_NAME = "TimGM6mb.sf2"
DRUM_BANK = 128


@dataclass(frozen=True)
class Zone:
    """One key/velocity range of a preset, mapped to a recorded sample.

    Attributes
    ----------
    key_lo, key_hi, vel_lo, vel_hi : int
        MIDI key and velocity ranges (inclusive).
    wave : int
        Index of the sample in :attr:`SoundFont.waves`.
    root : float
        Key (fractional, tuning included) at which the sample plays unshifted.
    sample_rate : int
    loop : bool
        Whether the sample loops while the note is held.
    loop_start, loop_end : int
        Loop points in samples from the sample start.
    """

    key_lo: int
    key_hi: int
    vel_lo: int
    vel_hi: int
    wave: int
    root: float
    sample_rate: int
    loop: bool
    loop_start: int
    loop_end: int


@dataclass(frozen=True)
class Envelope:
    """Attack / decay / sustain / release envelope (seconds; sustain as a gain)."""

    attack: float = 0.005
    decay: float = 0.3
    sustain: float = 0.7
    release: float = 0.2

    def render(self, n_held: int, n_total: int, sample_rate: int) -> np.ndarray:
        """Gain curve of shape (n_total,): held for ``n_held`` samples, then released."""
        t = np.arange(n_total) / sample_rate
        a = max(self.attack, 1e-4)
        env = np.where(t < a, t / a, self.sustain + (1 - self.sustain) * np.exp(-(t - a) / max(self.decay, 1e-4)))
        if n_held < n_total:
            level = env[max(n_held - 1, 0)]
            tr = t[n_held:] - t[n_held]
            env[n_held:] = level * np.exp(-tr / max(self.release / 5.0, 1e-4))
        return env.astype(np.float64)


def soundfont_path() -> Path:
    """Where ``pretty_midi`` keeps TimGM6mb.sf2 (without importing pretty_midi)."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        raise RemixError(
            "The stand-in event sounds need the TimGM6mb SoundFont shipped with pretty_midi, "
            "which is not installed; run `pip install pretty_midi`."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SOUNDFONT_NAME
    if not path.is_file():
        raise RemixError(f"{path} is missing from the pretty_midi installation; reinstall pretty_midi.")
    return path


class SoundFont:
    """The samples and preset zones of a SoundFont, ready to play.

    Parameters
    ----------
    path : Path
        A ``.sf2`` file (parsed with ``sf2utils``).
    """

    def __init__(self, path: Path) -> None:
        with warnings.catch_warnings():  # sf2utils imports the deprecated audioop module
            warnings.simplefilter("ignore", DeprecationWarning)
            from sf2utils.sf2parse import Sf2File

        root_logger = logging.getLogger()
        previous = root_logger.level
        root_logger.setLevel(logging.ERROR)  # the parser warns about every odd loop point
        try:
            with open(path, "rb") as handle:
                sf2 = Sf2File(handle)
                self.waves: list[np.ndarray] = []
                index: dict[int, int] = {}
                self.presets: dict[tuple[int, int], list[Zone]] = {}
                self.names: dict[tuple[int, int], str] = {}
                for preset in sf2.presets:
                    if preset.name == "EOP" or not hasattr(preset, "bank"):
                        continue
                    zones = []
                    for pbag in preset.bags:
                        inst = pbag.instrument
                        if inst is None:
                            continue
                        for ibag in inst.bags:
                            sample = ibag.sample
                            if sample is None or sample.duration < 16:
                                continue
                            if id(sample) not in index:
                                pcm = np.frombuffer(sample.raw_sample_data, dtype="<i2").astype(np.float32) / 32768.0
                                index[id(sample)] = len(self.waves)
                                self.waves.append(pcm)
                            zones.append(self._zone(pbag, ibag, sample, index[id(sample)]))
                    key = (int(preset.bank), int(preset.preset))
                    if zones and key not in self.presets:
                        self.presets[key] = zones
                        self.names[key] = str(preset.name)
        finally:
            root_logger.setLevel(previous)

    @staticmethod
    def _zone(pbag, ibag, sample, wave: int) -> Zone:
        klo, khi = _intersect(pbag.key_range, ibag.key_range, (0, 127))
        vlo, vhi = _intersect(pbag.velocity_range, ibag.velocity_range, (0, 127))
        base = ibag.base_note if ibag.base_note is not None else sample.original_pitch
        if base is None or base > 127:
            base = 60
        cents = float(sample.pitch_correction or 0)
        cents += 100.0 * float(_gen(ibag, "tuning") + _gen(pbag, "tuning"))
        cents += float(_gen(ibag, "fine_tuning") + _gen(pbag, "fine_tuning"))
        n = int(sample.duration)
        ls, le = int(sample.start_loop), int(sample.end_loop)
        loop = bool(ibag.sample_loop) and 0 <= ls < le <= n and le - ls >= 8
        return Zone(
            klo,
            khi,
            vlo,
            vhi,
            wave,
            float(base) - cents / 100.0,
            int(sample.sample_rate),
            loop,
            ls if loop else 0,
            le if loop else n,
        )

    def zones(self, bank: int, program: int, key: int, velocity: int = 100) -> list[Zone]:
        """Zones sounding for a key (all layers), nearest key range when none covers it."""
        zones = self.presets.get((bank, program))
        if not zones:
            raise RemixError(f"SoundFont has no preset bank {bank} program {program}.")
        hit = [z for z in zones if z.key_lo <= key <= z.key_hi and z.vel_lo <= velocity <= z.vel_hi]
        if not hit:
            hit = [z for z in zones if z.key_lo <= key <= z.key_hi]
        if not hit:
            dist = [min(abs(key - z.key_lo), abs(key - z.key_hi)) for z in zones]
            hit = [zones[int(np.argmin(dist))]]
        return hit

    def note(
        self,
        program: int,
        key: int,
        *,
        duration_s: float,
        sample_rate: int,
        bank: int = 0,
        velocity: int = 100,
        envelope: Envelope = Envelope(),
        vibrato_hz: float = 0.0,
        vibrato_cents: float = 0.0,
        detune_cents: float = 0.0,
    ) -> np.ndarray:
        """Play one note.

        Parameters
        ----------
        program, key : int
            GM program (or drum kit with ``bank=128``) and MIDI key.
        duration_s : float
            How long the key is held; the release tail follows.
        sample_rate : int
            Output rate.
        velocity : int
            1-127; sets the level (quadratic curve) and picks velocity layers.
        envelope : Envelope
        vibrato_hz, vibrato_cents, detune_cents : float
            Optional pitch vibrato and a fixed detune.

        Returns
        -------
        np.ndarray [shape=(n,)]
            float64 audio, ``n = (duration_s + envelope.release) * sample_rate``.
        """
        n_held = max(1, int(round(duration_s * sample_rate)))
        n_total = n_held + int(round(envelope.release * sample_rate))
        out = np.zeros(n_total)
        t = np.arange(n_total) / sample_rate
        cents = detune_cents + (vibrato_cents * np.sin(2 * np.pi * vibrato_hz * t) if vibrato_cents else 0.0)
        for zone in self.zones(bank, program, key, velocity):
            wave = self.waves[zone.wave]
            ratio = 2.0 ** ((key - zone.root) / 12.0 + cents / 1200.0) * zone.sample_rate / sample_rate
            pos = np.cumsum(np.broadcast_to(ratio, (n_total,))) - np.broadcast_to(ratio, (n_total,))[0]
            if zone.loop:
                span = zone.loop_end - zone.loop_start
                beyond = pos >= zone.loop_end
                pos = np.where(beyond, zone.loop_start + np.mod(pos - zone.loop_start, span), pos)
                src = np.append(wave[: zone.loop_end], wave[zone.loop_start])
            else:
                src = np.append(wave, 0.0)
            valid = pos < len(src) - 1
            out += np.where(valid, np.interp(pos, np.arange(len(src)), src), 0.0)
        gain = (velocity / 127.0) ** 2
        return out * envelope.render(n_held, n_total, sample_rate) * gain


def _intersect(a, b, default: tuple[int, int]) -> tuple[int, int]:
    lo, hi = default
    for r in (a, b):
        if r is not None:
            lo, hi = max(lo, int(r[0])), min(hi, int(r[1]))
    return lo, hi


def _gen(bag, name: str) -> float:
    value = getattr(bag, name, None)
    return float(value) if value is not None else 0.0


_SOUNDFONT: contextvars.ContextVar[Path | None] = contextvars.ContextVar("soundfont", default=None)


@functools.lru_cache(maxsize=2)
def _parsed(path: Path) -> SoundFont:
    return SoundFont(path)


def general_midi() -> SoundFont:
    """The General MIDI SoundFont in use: TimGM6mb, or the one :func:`use_soundfont` sets; parsed once
    per process."""
    chosen = _SOUNDFONT.get()
    return _parsed(chosen if chosen is not None else soundfont_path())


@contextlib.contextmanager
def use_soundfont(path: Path | None) -> Iterator[None]:
    """Within the block, :func:`general_midi` plays ``path`` (None: TimGM6mb)."""
    token = _SOUNDFONT.set(None if path is None else Path(path))
    try:
        yield
    finally:
        _SOUNDFONT.reset(token)
