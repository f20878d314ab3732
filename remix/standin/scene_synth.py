"""Stand-in acoustic scenes for the 10 TAU Urban Acoustic Scenes 2019 labels.

Each scene is a stereo mix of a diffuse noise bed and scene-typical sources:
passing cars for street traffic, babble for crowded places, engine and motor
hum for vehicles, wind and birds for parks, footsteps, announcements, music.
A city profile (spectral tilt, level, room size, traffic density, how busy it
is) and a location profile vary them the way different recording sites do; the
two channels share a common part and differ by independent noise, delays and
panning, like a binaural recording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import soxr

from remix.labels import CITIES, SCENE_LABELS
from remix.sources import dsp

SYNTHESIS_RATE = 32_000

PEAK_LIMIT = 0.89
"""A scene recording's peak bound (about -1 dBFS), kept by anything mixed into it too."""
"""Scenes are synthesised at this rate and resampled to the file rate: the corpus is
mixed at 32 kHz, so content above 16 kHz would never reach it."""


@dataclass(frozen=True)
class _Profile:
    """Character of one city (and one location within it)."""

    tilt: float  # dB/oct added to every bed
    level_db: float  # overall level offset
    busy: float  # multiplier of event rates (traffic, voices, steps)
    room: float  # reverberation time scale
    f0_shift: float  # voice pitch scale of the local babble
    hum_hz: float  # mains / machinery hum
    coherence: float  # inter-channel coherence of beds


def _profile(city: str, location: int, seed: int) -> _Profile:
    code = CITIES.index(city) if city in CITIES else sum(map(ord, city))
    c = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3, code)))
    loc = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3, code, location)))
    return _Profile(
        tilt=c.uniform(-1.5, 1.5) + loc.normal(0, 0.5),
        level_db=c.uniform(-3, 3) + loc.normal(0, 1.5),
        busy=float(np.exp(c.normal(0, 0.3) + loc.normal(0, 0.25))),
        room=float(np.exp(c.normal(0, 0.2) + loc.normal(0, 0.3))),
        f0_shift=float(np.exp(c.normal(0, 0.08))),
        hum_hz=50.0 if c.random() < 0.8 else 60.0,
        coherence=float(np.clip(c.uniform(0.3, 0.7) + loc.normal(0, 0.1), 0.1, 0.9)),
    )


# --------------------------------------------------------------------------- building blocks


def _bed(rng, n, sr, p: _Profile, *, lo=20.0, hi=None, tilt=-3.0, peaks=()) -> np.ndarray:
    """Diffuse stereo noise, (n, 2), unit RMS per channel."""
    x = dsp.shaped_noise(rng, n, sr, lo=lo, hi=hi, tilt_db_oct=tilt + p.tilt, peaks=peaks, channels=3)
    a, b = np.sqrt(p.coherence), np.sqrt(1 - p.coherence)
    d = int(rng.integers(0, int(0.0007 * sr)))
    common_r = np.roll(x[:, 0], d)
    return np.stack([a * x[:, 0] + b * x[:, 1], a * common_r + b * x[:, 2]], axis=1)


def _pan(x: np.ndarray, pos) -> np.ndarray:
    """Mono (n,) to stereo (n, 2); ``pos`` in [-1, 1] (scalar or per sample)."""
    theta = (np.asarray(pos) + 1) * np.pi / 4
    return np.stack([x * np.cos(theta), x * np.sin(theta)], axis=1)


def _place(out: np.ndarray, x: np.ndarray, start: int, pos: float, sr: int) -> None:
    """Add a mono source into stereo ``out`` at ``start`` with level panning and a small delay."""
    delay = int(abs(pos) * 0.0006 * sr)
    st = _pan(x, pos)
    for ch in range(2):
        lag = delay if (pos > 0) == (ch == 0) else 0
        dsp.add_at(out[:, ch], st[:, ch], start + lag)


def _syllables(rng, n, sr, *, rate=4.5, talk=0.6, control_rate=1000) -> np.ndarray:
    """Syllable-rate envelope of one talker who speaks about ``talk`` of the time, (n,).

    Computed at ``control_rate`` and interpolated to ``sr``.
    """
    m = max(4, int(n * control_rate / sr))
    phase = 2 * np.pi * np.cumsum(rate * dsp.smooth_env(rng, m, control_rate, rate_hz=2, depth=0.25)) / control_rate
    syl = (0.5 + 0.5 * np.sin(phase + rng.uniform(0, 6))) ** 2
    spurts = dsp.smooth_env(rng, m, control_rate, rate_hz=0.8, depth=1.5)
    gate = (spurts > np.quantile(spurts, 1 - talk)).astype(float)
    w = max(1, int(0.05 * control_rate))
    c = np.concatenate([[0.0], np.cumsum(gate)])
    gate = (c[np.minimum(np.arange(m) + w, m)] - c[np.arange(m)]) / w  # 50 ms moving average
    return np.interp(np.linspace(0, m - 1, n), np.arange(m), syl * gate)


def _babble(rng, n, sr, p: _Profile, *, talkers: int, spread=1.0) -> np.ndarray:
    """Crowd of talkers: speech-shaped noise and voiced pulses under syllable envelopes, (n, 2)."""
    streams = min(talkers, 4)
    noise = dsp.shaped_noise(
        rng,
        n,
        sr,
        lo=150,
        hi=5000,
        tilt_db_oct=-2,
        peaks=[(500, 0.6, 8), (1500, 0.5, 5), (2600, 0.4, 3)],
        channels=streams,
    ).reshape(n, -1)
    out = np.zeros((n, 2))
    for s in range(streams):
        env = sum(_syllables(rng, n, sr, rate=rng.uniform(3.5, 5.5)) for _ in range(max(1, talkers // streams)))
        f0 = rng.uniform(95, 240) * p.f0_shift * dsp.smooth_env(rng, n, sr, rate_hz=3, depth=0.12)
        voiced = np.mod(np.cumsum(f0 / sr), 1.0) - 0.5  # buzzy source; the band-pass shapes it
        voiced = dsp.bandpass(voiced, sr, 250, 3500)
        voiced /= np.std(voiced) + 1e-12
        x = (0.6 * noise[:, s] + 0.8 * voiced) * env
        out += _pan(x, rng.uniform(-spread, spread))
    return out / np.sqrt(streams)


def _steps(rng, n, sr, *, walkers: int, hard: float = 0.5) -> np.ndarray:
    """Footsteps of several walkers passing by, (n, 2)."""
    out = np.zeros((n, 2))
    for _ in range(walkers):
        m = int(0.08 * sr)
        heel = dsp.shaped_noise(rng, m, sr, lo=80, hi=2000 + 6000 * hard) * dsp.decay_env(m, sr, attack=0.002, t60=0.06)
        cadence = rng.uniform(1.6, 2.2)
        start, length = rng.uniform(-3, n / sr), rng.uniform(2, 8)
        pos0, pos1 = rng.uniform(-1, 1, 2)
        t = max(start, 0.0)
        while t < min(start + length, n / sr):
            frac = (t - start) / length
            level = np.sin(np.pi * frac) * rng.uniform(0.6, 1.0)
            _place(out, heel * level, int(t * sr), pos0 + (pos1 - pos0) * frac, sr)
            t += 1 / cadence * rng.uniform(0.95, 1.05)
    return out


def _cars(rng, n, sr, p: _Profile, *, rate: float, near: float = 1.0) -> np.ndarray:
    """Passing vehicles: tyre noise and engine harmonics swelling and panning across, (n, 2)."""
    dur = n / sr
    t = np.arange(n) / sr
    tyre = dsp.shaped_noise(
        rng, n, sr, lo=60, hi=rng.uniform(2500, 5000), tilt_db_oct=-3, peaks=[(rng.uniform(600, 1100), 0.6, 6)]
    )
    out = np.zeros((n, 2))
    count = rng.poisson(rate * p.busy * (dur + 4))
    for _ in range(count):
        tc = rng.uniform(-2, dur + 2)
        width = rng.uniform(0.7, 2.5) / near
        lo_i, hi_i = max(0, int((tc - 3 * width) * sr)), min(n, int((tc + 3 * width) * sr))
        if hi_i <= lo_i:
            continue
        tt = (t[lo_i:hi_i] - tc) / width
        gain = rng.uniform(0.3, 1.0) / (1 + tt**2)
        pos = rng.choice([-1, 1]) * np.tanh(tt)
        fe = rng.uniform(25, 70) * (1 - 0.03 * np.tanh(2 * tt))  # Doppler drop as it passes
        engine = np.tanh(rng.uniform(1.5, 4.0) * np.sin(2 * np.pi * np.cumsum(fe) / sr))  # odd harmonics
        src = tyre[lo_i:hi_i] + rng.uniform(0.2, 0.8) * engine
        out[lo_i:hi_i] += _pan(src * gain, pos)
    if rng.random() < 0.3 * p.busy:  # a horn
        m = int(rng.uniform(0.2, 0.8) * sr)
        f = rng.uniform(350, 500)
        tt = np.arange(m) / sr
        horn = np.tanh(3 * (np.sin(2 * np.pi * f * tt) + np.sin(2 * np.pi * f * 1.26 * tt))) * 0.3
        _place(out, horn, int(rng.uniform(0, 0.9) * n), rng.uniform(-1, 1), sr)
    return out


def _hum(rng, n, sr, base: float, *, harmonics=6, wobble=0.002) -> np.ndarray:
    f = base * (1 + wobble * dsp.smooth_env(rng, n, sr, rate_hz=0.5, depth=1.0))
    ph = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * ph + rng.uniform(0, 6)) * rng.uniform(0.2, 1.0) / k for k in range(1, harmonics + 1))
    return _pan(x, rng.uniform(-0.3, 0.3))


def _chime_announcement(rng, n, sr, p: _Profile) -> np.ndarray:
    """A PA chime (two or three bell tones) followed by a voice-like announcement, (n, 2)."""
    out = np.zeros(n)
    start = rng.uniform(0, max(n / sr - 5, 0.1))
    tones = ([523.3, 659.3, 784.0], [784.0, 659.3, 523.3], [659.3, 523.3])[int(rng.integers(3))]
    t0 = start
    for f in tones:
        m = int(0.9 * sr)
        dsp.add_at(out, dsp.modal(rng, m, sr, [f, 2 * f, 3.01 * f], [1.2, 0.6, 0.3], [1, 0.3, 0.1]) * 0.5, int(t0 * sr))
        t0 += 0.4
    m = int(min(rng.uniform(2, 4), n / sr - t0) * sr)
    if m > sr // 4:
        f0 = rng.uniform(110, 220) * dsp.smooth_env(rng, m, sr, rate_hz=3, depth=0.1)
        v = dsp.bandpass(dsp.glottal(f0, sr), sr, 300, 3400)
        v = v / (np.std(v) + 1e-12) * _syllables(rng, m, sr, rate=4.5, talk=0.9)
        dsp.add_at(out, 0.6 * v, int(t0 * sr))
    return _pan(out, rng.uniform(-0.2, 0.2))


def _birds(rng, n, sr, *, rate: float) -> np.ndarray:
    out = np.zeros((n, 2))
    for _ in range(rng.poisson(rate * n / sr)):
        f_hi = rng.uniform(2500, 7000)
        notes = int(rng.integers(1, 6))
        pos = rng.uniform(-1, 1)
        t0 = rng.uniform(0, n / sr)
        level = rng.uniform(0.1, 0.8)
        for _k in range(notes):
            m = int(rng.uniform(0.04, 0.2) * sr)
            f = dsp.glide(m, [(0, f_hi * rng.uniform(0.7, 1.0)), (1, f_hi * rng.uniform(0.6, 1.3))])
            x = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.hanning(m) * level
            _place(out, x, int(t0 * sr), pos, sr)
            t0 += m / sr + rng.uniform(0.02, 0.15)
    return out


def _clacks(rng, n, sr, *, period: float, low=200.0, high=3000.0) -> np.ndarray:
    """Rail joints: pairs of thumps every ``period`` seconds, (n, 2)."""
    out = np.zeros((n, 2))
    m = int(0.12 * sr)
    t = rng.uniform(0, period)
    while t < n / sr:
        for dt in (0.0, rng.uniform(0.12, 0.3)):
            hit = dsp.shaped_noise(rng, m, sr, lo=low, hi=high, tilt_db_oct=-3) * dsp.decay_env(m, sr, t60=0.1)
            _place(out, hit * rng.uniform(0.5, 1.0), int((t + dt) * sr), rng.uniform(-0.3, 0.3), sr)
        t += period * rng.uniform(0.9, 1.1)
    return out


def _music(rng, n, sr) -> np.ndarray:
    """Soft background music: slowly changing chords of mellow partials, (n, 2)."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    chord_s = rng.uniform(1.5, 3.0)
    tonic = rng.uniform(180, 300)
    for c in range(int(n / sr / chord_s) + 1):
        root = tonic * 2 ** (rng.choice([0, 3, 5, 7, 8, 10]) / 12)
        seg = (t >= c * chord_s) & (t < (c + 1) * chord_s + 0.2)
        for ratio in (1.0, 1.26, 1.5):
            out[seg] += np.sin(2 * np.pi * root * ratio * t[seg]) * np.exp(-(t[seg] - c * chord_s) / 1.5)
    return _pan(out, 0.0) + 0.2 * _pan(np.roll(out, int(0.013 * sr)), rng.uniform(-1, 1))


def _screech(rng, n, sr, *, strength: float) -> np.ndarray:
    out = np.zeros(n)
    for _ in range(rng.poisson(strength * n / sr / 4)):
        m = int(rng.uniform(0.5, 3.0) * sr)
        f = rng.uniform(1800, 5000) * dsp.smooth_env(rng, m, sr, rate_hz=4, depth=0.03)
        x = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.hanning(m) * dsp.smooth_env(rng, m, sr, rate_hz=8, depth=0.5)
        dsp.add_at(out, x * 0.5, int(rng.uniform(0, n / sr) * sr))
    return _pan(out, rng.uniform(-0.5, 0.5))


# --------------------------------------------------------------------------- scenes


def _airport(rng, n, sr, p):
    x = 0.6 * _bed(rng, n, sr, p, lo=40, hi=8000, tilt=-4, peaks=[(120, 0.5, 8)])
    x += 0.25 * _hum(rng, n, sr, rng.uniform(90, 130))
    x += 0.8 * dsp.room(rng, _babble(rng, n, sr, p, talkers=int(6 * p.busy) + 2), sr, rt60=1.2 * p.room, wet=0.5)
    x += 0.6 * _steps(rng, n, sr, walkers=int(rng.integers(1, 4)), hard=0.7)
    if rng.random() < 0.25:
        x += 0.8 * _chime_announcement(rng, n, sr, p)
    if rng.random() < 0.5:  # a rolling suitcase
        x += 0.35 * _clacks(rng, n, sr, period=rng.uniform(0.15, 0.3), low=100, high=1500)
    return x, -28.0


def _shopping_mall(rng, n, sr, p):
    x = 0.5 * _bed(rng, n, sr, p, lo=50, hi=9000, tilt=-3.5)
    crowd = _babble(rng, n, sr, p, talkers=int(8 * p.busy) + 3) + 0.5 * _steps(rng, n, sr, walkers=4, hard=0.6)
    x += dsp.room(rng, crowd, sr, rt60=1.6 * p.room, wet=0.6)
    x += rng.uniform(0.1, 0.5) * dsp.room(rng, _music(rng, n, sr), sr, rt60=1.0, wet=0.5)
    return x, -27.0


def _metro_station(rng, n, sr, p):
    x = 0.7 * _bed(rng, n, sr, p, lo=25, hi=6000, tilt=-5, peaks=[(70, 0.6, 10)])
    x += 0.3 * _hum(rng, n, sr, p.hum_hz * 2)
    x += 0.5 * dsp.room(rng, _babble(rng, n, sr, p, talkers=int(4 * p.busy) + 1), sr, rt60=2.0 * p.room, wet=0.7)
    if rng.random() < 0.6:  # a train arriving or leaving
        t = np.arange(n) / sr
        tc, w = rng.uniform(0.1, 0.9) * n / sr, rng.uniform(1.5, 4)
        train = _bed(rng, n, sr, p, lo=30, hi=4000, tilt=-4) * (2.5 / (1 + ((t - tc) / w) ** 2))[:, None]
        x += train + _screech(rng, n, sr, strength=1.0) * 0.5
    if rng.random() < 0.3:
        x += 0.7 * dsp.room(rng, _chime_announcement(rng, n, sr, p), sr, rt60=2.0, wet=0.6)
    return x, -26.0


def _street_pedestrian(rng, n, sr, p):
    x = 0.5 * _bed(rng, n, sr, p, lo=30, hi=10000, tilt=-4.5)
    x += 0.5 * _cars(rng, n, sr, p, rate=0.15, near=0.5)
    x += 0.7 * _babble(rng, n, sr, p, talkers=int(3 * p.busy) + 1)
    x += 0.9 * _steps(rng, n, sr, walkers=int(rng.integers(2, 7)), hard=rng.uniform(0.3, 0.9))
    if rng.random() < 0.2:  # a bicycle bell
        m = int(0.8 * sr)
        f = rng.uniform(2500, 4000)
        bell = np.zeros(n)
        dsp.add_at(bell, dsp.modal(rng, m, sr, [f, f * 1.48], [0.7, 0.5]) * 0.4, int(rng.uniform(0, 0.8) * n))
        x += _pan(bell, rng.uniform(-1, 1))
    return x, -27.0


def _public_square(rng, n, sr, p):
    x = 0.6 * _bed(rng, n, sr, p, lo=25, hi=9000, tilt=-4.5)
    x += 0.35 * _cars(rng, n, sr, p, rate=0.1, near=0.3)
    x += 0.6 * _babble(rng, n, sr, p, talkers=int(6 * p.busy) + 2, spread=1.0)
    x += 0.4 * _steps(rng, n, sr, walkers=int(rng.integers(1, 5)), hard=0.5)
    x += 0.3 * _birds(rng, n, sr, rate=0.2)
    if rng.random() < 0.4:  # a fountain
        x += 0.4 * _bed(rng, n, sr, p, lo=500, hi=12000, tilt=-1)
    return x, -29.0


def _street_traffic(rng, n, sr, p):
    x = 0.8 * _bed(rng, n, sr, p, lo=20, hi=6000, tilt=-5.5)
    x += 1.3 * _cars(rng, n, sr, p, rate=rng.uniform(0.4, 1.2), near=rng.uniform(0.8, 1.5))
    if rng.random() < 0.3:
        x += 0.3 * _steps(rng, n, sr, walkers=2, hard=0.5)
    return x, -22.0


def _tram(rng, n, sr, p):
    x = 0.8 * _bed(rng, n, sr, p, lo=25, hi=5000, tilt=-5, peaks=[(rng.uniform(80, 200), 0.5, 8)])
    speed = dsp.glide(
        n, [(0, rng.uniform(0.3, 1)), (rng.uniform(0.3, 0.7), rng.uniform(0.5, 1)), (1, rng.uniform(0.2, 1))]
    )
    whine_f = rng.uniform(250, 500) * speed
    ph = 2 * np.pi * np.cumsum(whine_f) / sr
    whine = sum(np.sin(k * ph) / k for k in (1, 2, 3, 5))
    x += 0.2 * _pan(whine * speed, rng.uniform(-0.3, 0.3))
    x += 0.6 * _clacks(rng, n, sr, period=rng.uniform(0.6, 1.5))
    x += 0.35 * dsp.room(rng, _babble(rng, n, sr, p, talkers=int(2 * p.busy) + 1), sr, rt60=0.4, wet=0.3)
    if rng.random() < 0.3:
        ding = np.zeros(n)
        dsp.add_at(ding, dsp.modal(rng, int(0.8 * sr), sr, [880, 1320], [0.6, 0.5]), int(rng.uniform(0, 0.85) * n))
        x += 0.5 * _pan(ding, 0.0)
    return x * (0.8 + 0.2 * speed[:, None]), -24.0


def _bus(rng, n, sr, p):
    x = 0.9 * _bed(rng, n, sr, p, lo=20, hi=4000, tilt=-6, peaks=[(rng.uniform(60, 120), 0.5, 10)])
    rpm = dsp.glide(
        n, [(0, rng.uniform(25, 35)), (rng.uniform(0.2, 0.8), rng.uniform(30, 50)), (1, rng.uniform(22, 40))]
    )
    ph = 2 * np.pi * np.cumsum(rpm) / sr
    engine = sum(np.sin(k * ph + rng.uniform(0, 6)) * rng.uniform(0.3, 1.0) / k**0.8 for k in range(1, 10))
    x += 0.4 * _pan(engine, rng.uniform(-0.5, 0.5))
    rattles = np.zeros(n)
    for _ in range(rng.poisson(4 * n / sr)):
        f = rng.uniform(800, 4000)
        dsp.add_at(rattles, dsp.modal(rng, int(0.05 * sr), sr, [f], [0.03]), int(rng.uniform(0, n)))
    x += 0.15 * _pan(rattles, rng.uniform(-1, 1))
    x += 0.4 * dsp.room(rng, _babble(rng, n, sr, p, talkers=int(2 * p.busy) + 1), sr, rt60=0.3, wet=0.3)
    if rng.random() < 0.4:  # indicator ticking
        x += 0.2 * _clacks(rng, n, sr, period=rng.uniform(0.7, 0.9), low=1500, high=6000)
    return x, -23.0


def _metro(rng, n, sr, p):
    x = 1.2 * _bed(rng, n, sr, p, lo=25, hi=7000, tilt=-3, peaks=[(rng.uniform(100, 300), 0.7, 8)])
    x *= dsp.smooth_env(rng, n, sr, rate_hz=0.6, depth=0.3)[:, None]
    x += 0.5 * _clacks(rng, n, sr, period=rng.uniform(0.3, 0.8), low=60, high=2000)
    x += _screech(rng, n, sr, strength=rng.uniform(0.5, 2.0)) * 0.4
    x += 0.2 * _hum(rng, n, sr, rng.uniform(200, 400), harmonics=3)
    if rng.random() < 0.3:
        x += 0.3 * _babble(rng, n, sr, p, talkers=2)
    return x, -20.0


def _park(rng, n, sr, p):
    x = 0.4 * _bed(rng, n, sr, p, lo=20, hi=8000, tilt=-5)
    wind = _bed(rng, n, sr, p, lo=20, hi=rng.uniform(300, 1200), tilt=-4)
    x += rng.uniform(0.3, 1.0) * wind * dsp.smooth_env(rng, n, sr, rate_hz=0.7, depth=0.8)[:, None]
    x += 0.5 * _birds(rng, n, sr, rate=rng.uniform(0.3, 1.5))
    x += 0.25 * _cars(rng, n, sr, p, rate=0.1, near=0.2)
    if rng.random() < 0.4:
        x += 0.3 * _babble(rng, n, sr, p, talkers=2)
    if rng.random() < 0.3:
        x += 0.3 * _steps(rng, n, sr, walkers=2, hard=0.2)
    return x, -32.0


_SCENES: dict[str, Callable] = {
    "airport": _airport,
    "shopping_mall": _shopping_mall,
    "metro_station": _metro_station,
    "street_pedestrian": _street_pedestrian,
    "public_square": _public_square,
    "street_traffic": _street_traffic,
    "tram": _tram,
    "bus": _bus,
    "metro": _metro,
    "park": _park,
}
assert set(_SCENES) == set(SCENE_LABELS)


def render_scene(
    scene: str,
    *,
    city: str,
    location: int,
    seed: np.random.SeedSequence,
    sample_rate: int,
    duration_s: float,
    city_seed: int = 0,
) -> np.ndarray:
    """Render one stand-in scene recording.

    Parameters
    ----------
    scene : str
        One of :data:`remix.labels.SCENE_LABELS`.
    city, location : str, int
        Select the city and location profile (shared by all recordings there).
    seed : numpy.random.SeedSequence
        The recording's own seed.
    sample_rate : int
    duration_s : float
    city_seed : int
        Seed of the city and location profiles.

    Returns
    -------
    np.ndarray [shape=(round(duration_s * sample_rate), 2)]
        float64 stereo audio at a scene-typical level (RMS about -32 to -20 dBFS),
        peak below -1 dBFS, band-limited to :data:`SYNTHESIS_RATE` / 2.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    p = _profile(city, location, city_seed)
    rate = min(sample_rate, SYNTHESIS_RATE)
    x, level_db = _SCENES[scene](rng, int(round(duration_s * rate)), rate, p)
    if rate != sample_rate:
        x = soxr.resample(x, rate, sample_rate, quality="HQ")
        x = np.pad(x, ((0, max(0, n - len(x))), (0, 0)))[:n]
    x = dsp.highpass(x, sample_rate, 15.0, order=1)
    x -= x.mean(axis=0, keepdims=True)
    rms = np.sqrt(np.mean(x**2)) + 1e-12
    x *= 10 ** ((level_db + p.level_db + rng.normal(0, 1.5)) / 20) / rms
    peak = np.abs(x).max()
    if peak > PEAK_LIMIT:
        x *= PEAK_LIMIT / peak
    return x
