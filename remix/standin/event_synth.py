"""Stand-in sound events for the 41 FSDKaggle2018 labels.

Classes with a General MIDI counterpart (instruments, drums, applause, gunshot,
telephone, bells) are played from recorded samples of the TimGM6mb SoundFont
(:mod:`remix.standin.sampled_events`), with melodic and rhythmic variety. The
others are synthesised here: struck objects as modal resonances, textures as shaped
noise, voices (cough, laughter, meow, bark ...) as glottal pulses through moving
formants. Every clip draws its pitch, timing, timbre and room from its own seed,
so two clips of a class differ while the class keeps its character.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import signal

from remix.labels import EVENT_LABELS
from remix.sources import dsp
from remix.sources.sampler import use_soundfont
from remix.standin.event_parts import hits, noise_burst, syllable_env, voice
from remix.standin.sampled_events import SAMPLED_GENERATORS

# --------------------------------------------------------------------------- durations

_MEDIAN_S: dict[str, float] = {
    "Bass_drum": 0.7,
    "Snare_drum": 0.9,
    "Hi-hat": 0.9,
    "Cowbell": 0.9,
    "Knock": 1.3,
    "Finger_snapping": 1.2,
    "Gunshot_or_gunfire": 1.4,
    "Cough": 1.1,
    "Bark": 1.3,
    "Squeak": 0.9,
    "Shatter": 1.4,
    "Drawer_open_or_close": 1.3,
    "Burping_or_eructation": 1.1,
    "Fart": 1.0,
    "Scissors": 1.6,
    "Tambourine": 1.6,
    "Meow": 1.1,
    "Chime": 2.6,
    "Glockenspiel": 1.8,
    "Applause": 3.5,
    "Bus": 4.0,
    "Microwave_oven": 4.0,
    "Fireworks": 3.0,
    "Tearing": 1.6,
    "Writing": 2.5,
    "Computer_keyboard": 2.5,
    "Keys_jangling": 1.8,
    "Telephone": 2.8,
    "Laughter": 2.2,
    "Gong": 3.5,
}
_DEFAULT_MEDIAN_S = 2.2  # the instruments


def draw_duration(label: str, rng: np.random.Generator) -> float:
    """Draw a clip duration in seconds for ``label`` (log-normal around a class median, 0.3-10 s)."""
    median = _MEDIAN_S.get(label, _DEFAULT_MEDIAN_S)
    return float(np.clip(rng.lognormal(np.log(median), 0.55), 0.3, 10.0))


# --------------------------------------------------------------------------- synthesised classes


def _gong(rng, n, sr):
    f = rng.uniform(60, 220)
    ratios = np.array([1.0, 1.52, 1.99, 2.44, 2.9, 3.6, 4.1, 5.2, 6.3, 7.5]) * rng.uniform(0.97, 1.03, 10)
    t60 = rng.uniform(2.5, 8.0) * np.linspace(1.0, 0.25, 10)
    amps = rng.uniform(0.3, 1.0, 10) / np.sqrt(np.arange(1, 11))
    x = dsp.modal(rng, n, sr, f * ratios, t60, amps, attack=rng.uniform(0.002, 0.05))
    x += dsp.modal(rng, n, sr, f * ratios * 1.004, t60, amps * 0.5)  # beating pairs
    strike = noise_burst(rng, sr, 0.1, 80, 2000, 0.08)
    dsp.add_at(x, strike * 0.5 * np.abs(x).max(), 0)
    return x


def _keys_jangling(rng, n, sr):
    out = np.zeros(n)
    keys = int(rng.integers(3, 8))
    bases = rng.uniform(2500, 7000, keys)
    t = rng.uniform(0, 0.1)
    shake = rng.uniform(3, 7)
    dur = n / sr
    while t < dur - 0.02:
        k = int(rng.integers(keys))
        m = int(0.3 * sr)
        fr = bases[k] * np.array([1.0, 2.32, 4.25, 6.63])
        x = dsp.modal(rng, m, sr, fr, rng.uniform(0.05, 0.25, 4), rng.uniform(0.2, 1.0, 4))
        gain = 0.5 + 0.5 * np.sin(2 * np.pi * shake * t) ** 2
        dsp.add_at(out, gain * rng.uniform(0.2, 1.0) * x, int(t * sr))
        t += rng.exponential(0.03) + 0.004
    return dsp.highpass(out, sr, 1500)


def _finger_snapping(rng, n, sr):
    lo, hi = rng.uniform(1200, 2200), rng.uniform(3500, 6500)

    def play(u):
        snap = noise_burst(rng, sr, 0.06, lo, hi, rng.uniform(0.02, 0.06))
        body = dsp.modal(rng, len(snap), sr, [rng.uniform(1500, 2500)], [0.03])
        return snap + 0.5 * body

    x = hits(rng, n, sr, play, rate_hz=(1.2, 3.0), single_p=0.3, burst=(2, 10), jitter=0.05)
    return dsp.room(rng, x, sr, rt60=rng.uniform(0.2, 0.8), wet=rng.uniform(0.05, 0.3))


def _computer_keyboard(rng, n, sr):
    click_f = rng.uniform(1500, 4500)
    board = rng.uniform(150, 500)

    def play(u):
        m = int(0.06 * sr)
        press = noise_burst(rng, sr, 0.06, click_f * 0.5, click_f * 2, rng.uniform(0.01, 0.03))
        thock = dsp.modal(rng, m, sr, [board, board * 2.3], [0.04, 0.02])
        x = press + rng.uniform(0.2, 0.8) * thock
        if u < 0.15:  # space bar / enter: louder with a release click
            x = np.concatenate([x * 1.5, np.zeros(int(0.05 * sr)), 0.5 * press])
        return x

    return hits(rng, n, sr, play, rate_hz=(5, 11), jitter=0.45, single_p=0.05, burst=(5, 80), accent=0.6)


def _scissors(rng, n, sr):
    blade = rng.uniform(2000, 6000)

    def play(u):
        close = rng.uniform(0.08, 0.25)
        m = int(close * sr)
        scrape = dsp.shaped_noise(rng, m, sr, lo=blade * 0.6, hi=blade * 1.8) * np.linspace(0.2, 1, m) * 0.3
        click = dsp.modal(rng, int(0.08 * sr), sr, [blade * 1.1, blade * 1.9, blade * 2.7], [0.04, 0.03, 0.02])
        return np.concatenate([scrape, click + 0.4 * noise_burst(rng, sr, 0.08, 2000, 9000, 0.02)])

    return hits(rng, n, sr, play, rate_hz=(1.5, 4.0), jitter=0.15, single_p=0.2, burst=(2, 10))


def _writing(rng, n, sr):
    lo, hi = rng.uniform(1500, 3500), rng.uniform(5000, 10000)
    tex = dsp.shaped_noise(rng, n, sr, lo=lo, hi=hi, tilt_db_oct=rng.uniform(-3, 1))
    t = np.arange(n) / sr
    stroke_hz = rng.uniform(3, 8)
    strokes = np.clip(np.sin(2 * np.pi * stroke_hz * t + rng.uniform(0, 6)) + rng.uniform(-0.2, 0.5), 0, None)
    words = dsp.smooth_env(rng, n, sr, rate_hz=2.0, depth=1.2)
    grit = 1 + 0.8 * (rng.random(n) < 0.002) * rng.uniform(1, 4, n)
    return tex * strokes * np.minimum(words, 3) * grit


def _tearing(rng, n, sr):
    tex = dsp.shaped_noise(
        rng, n, sr, lo=rng.uniform(300, 1200), hi=rng.uniform(4000, 12000), tilt_db_oct=rng.uniform(-2, 1)
    )
    crackle_rate = rng.uniform(200, 1500)
    crack = (rng.random(n) < crackle_rate / sr) * rng.uniform(0.5, 3.0, n)
    crack = dsp.bandpass(crack, sr, 800, 8000)
    pulls = int(rng.integers(1, 4))
    env = np.zeros(n)
    for _ in range(pulls):
        start, length = rng.uniform(0, max(n / sr - 0.3, 0.01)), rng.uniform(0.5, 1.0) * n / sr
        env = np.maximum(env, syllable_env(n, sr, start, length, attack=0.03, release=0.05))
    return (0.6 * tex + crack * 4) * env * dsp.smooth_env(rng, n, sr, rate_hz=12, depth=0.5)


def _shatter(rng, n, sr):
    out = np.zeros(n)
    impact = noise_burst(rng, sr, 0.3, 200, 12000, rng.uniform(0.08, 0.2))
    dsp.add_at(out, impact, 0)
    pieces = int(rng.integers(30, 150))
    spread = rng.uniform(0.3, 1.2)
    for _ in range(pieces):
        f = rng.uniform(2500, 11000)
        m = int(0.15 * sr)
        x = dsp.modal(rng, m, sr, [f, f * rng.uniform(1.3, 2.7)], [rng.uniform(0.02, 0.12)] * 2)
        dsp.add_at(out, rng.uniform(0.05, 0.6) * x, int(rng.exponential(spread / 3) * sr))
    return dsp.room(rng, out, sr, rt60=rng.uniform(0.2, 0.9), wet=0.2)


def _drawer(rng, n, sr):
    out = np.zeros(n)
    slide = rng.uniform(0.3, 1.0) * min(1.2, n / sr * 0.7)
    m = int(slide * sr)
    runner = dsp.shaped_noise(rng, m, sr, lo=rng.uniform(100, 400), hi=rng.uniform(1500, 5000))
    rumble = 1 + 0.8 * np.sin(2 * np.pi * rng.uniform(15, 60) * np.arange(m) / sr)
    runner *= rumble * np.hanning(m) ** 0.3 * 0.35
    start = int(rng.uniform(0, 0.1) * sr)
    dsp.add_at(out, runner, start)
    wood = rng.uniform(80, 250)
    bump = dsp.modal(rng, int(0.5 * sr), sr, wood * np.array([1, 1.7, 2.9, 4.2]), [0.2, 0.12, 0.07, 0.04])
    bump += 0.5 * noise_burst(rng, sr, 0.5, 100, 3000, 0.05)
    dsp.add_at(out, bump, start + m)
    if rng.random() < 0.4:  # rattling contents
        for _ in range(int(rng.integers(3, 12))):
            f = rng.uniform(1500, 6000)
            dsp.add_at(
                out, 0.2 * dsp.modal(rng, int(0.1 * sr), sr, [f], [0.05]), start + m + int(rng.uniform(0, 0.3) * sr)
            )
    return out


def _squeak(rng, n, sr):
    out = np.zeros(n)
    count = 1 if rng.random() < 0.4 else int(rng.integers(2, 6))
    t0 = rng.uniform(0, 0.1)
    for _ in range(count):
        length = rng.uniform(0.1, 0.6)
        m = int(length * sr)
        f_a, f_b = rng.uniform(600, 3000), rng.uniform(600, 4000)
        f0 = dsp.glide(m, [(0, f_a), (rng.uniform(0.3, 0.7), max(f_a, f_b) * 1.1), (1, f_b)])
        f0 *= 1 + 0.03 * np.sin(2 * np.pi * rng.uniform(20, 60) * np.arange(m) / sr)
        phase = 2 * np.pi * np.cumsum(f0) / sr
        x = sum(np.sin(k * phase) / k ** rng.uniform(0.8, 1.6) for k in range(1, 5))
        x *= np.hanning(m) ** 0.5 * (1 + 0.5 * rng.standard_normal(m) * 0.2)
        dsp.add_at(out, x, int(t0 * sr))
        t0 += length + rng.uniform(0.05, 0.5)
    return out


def _fireworks(rng, n, sr):
    out = np.zeros(n)
    t = rng.uniform(0, 0.2)
    while t < n / sr - 0.05:
        boom = noise_burst(rng, sr, rng.uniform(0.4, 1.5), 30, rng.uniform(800, 3000), rng.uniform(0.3, 1.2), tilt=-4)
        dsp.add_at(out, rng.uniform(0.5, 1.0) * boom, int(t * sr))
        if rng.random() < 0.6:  # crackle after the burst
            cm = int(rng.uniform(0.3, 1.5) * sr)
            crack = (rng.random(cm) < rng.uniform(100, 600) / sr) * rng.uniform(0.3, 1.0, cm)
            crack = dsp.bandpass(crack, sr, 1500, 10000) * np.linspace(1, 0.1, cm) * 3
            dsp.add_at(out, crack, int((t + rng.uniform(0.1, 0.4)) * sr))
        t += rng.exponential(1.0) + 0.3
    return dsp.room(rng, out, sr, rt60=rng.uniform(1.0, 2.5), wet=rng.uniform(0.3, 0.6), damping_hz=3000)


def _microwave(rng, n, sr):
    t = np.arange(n) / sr
    mains = 50.0 if rng.random() < 0.5 else 60.0
    hum = sum(np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6)) * rng.uniform(0.2, 1.0) / k for k in range(1, 8))
    fan = dsp.shaped_noise(
        rng,
        n,
        sr,
        lo=100,
        hi=rng.uniform(2000, 6000),
        tilt_db_oct=-3,
        peaks=[(rng.uniform(150, 600), 0.3, rng.uniform(6, 14))],
    )
    turntable = 1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t)
    x = (rng.uniform(0.3, 0.8) * hum + fan) * turntable
    if rng.random() < 0.6:  # the beeps at the end
        beep_f = rng.uniform(1800, 4000)
        for k in range(int(rng.integers(1, 4))):
            s = n / sr - rng.uniform(0.4, 0.5) * (k + 1) - 0.1
            if s > 0:
                m = int(rng.uniform(0.15, 0.35) * sr)
                beep = np.sin(2 * np.pi * beep_f * np.arange(m) / sr) * 3 * np.hanning(m) ** 0.1
                dsp.add_at(x, beep, int(s * sr))
    return x


def _bus(rng, n, sr):
    t = np.arange(n) / sr
    rpm = dsp.glide(
        n, [(0, rng.uniform(25, 40)), (rng.uniform(0.3, 0.7), rng.uniform(30, 60)), (1, rng.uniform(20, 45))]
    )
    phase = 2 * np.pi * np.cumsum(rpm) / sr
    engine = sum(np.sin(k * phase + rng.uniform(0, 6)) * rng.uniform(0.3, 1.0) / k**0.7 for k in range(1, 12))
    rumble = dsp.shaped_noise(rng, n, sr, lo=30, hi=rng.uniform(800, 2500), tilt_db_oct=-5)
    x = engine * rng.uniform(0.3, 0.7) + rumble
    if rng.random() < 0.5:  # air brakes
        m = int(rng.uniform(0.3, 1.0) * sr)
        hiss = dsp.shaped_noise(rng, m, sr, lo=2000, hi=12000) * np.linspace(1, 0, m) ** 0.5 * 1.5
        dsp.add_at(x, hiss, int(rng.uniform(0, max(n - m, 1))))
    if rng.random() < 0.3:  # door chime
        m = int(0.6 * sr)
        dsp.add_at(x, dsp.modal(rng, m, sr, [rng.uniform(600, 1000)], [0.5]) * 2, int(rng.uniform(0, 0.6) * n))
    return x * dsp.smooth_env(rng, n, sr, rate_hz=0.5, depth=0.25) * np.clip(0.1 + t / 0.3, 0, 1)


def _cough(rng, n, sr):
    out = np.zeros(n)
    count = 1 if rng.random() < 0.4 else int(rng.integers(2, 5))
    f0 = rng.uniform(110, 280)
    t = rng.uniform(0, 0.1)
    for _ in range(count):
        m = int(rng.uniform(0.2, 0.45) * sr)
        burst = dsp.shaped_noise(
            rng,
            m,
            sr,
            lo=200,
            hi=6000,
            tilt_db_oct=-2,
            peaks=[(rng.uniform(400, 900), 0.5, 10), (rng.uniform(1200, 2500), 0.5, 8)],
        )
        burst *= dsp.decay_env(m, sr, attack=0.005, t60=rng.uniform(0.15, 0.35))
        voiced = voice(
            rng,
            m,
            sr,
            np.full(m, f0) * dsp.glide(m, [(0, 1.2), (1, 0.8)]),
            [(0, (700, 1200, 2500)), (1, (500, 1000, 2400))],
            breath=1.5,
            jitter=0.05,
        )
        voiced *= dsp.decay_env(m, sr, attack=0.01, t60=0.25)
        x = burst + rng.uniform(0.2, 0.7) * voiced / (np.abs(voiced).max() + 1e-9)
        dsp.add_at(out, x, int(t * sr))
        t += m / sr + rng.uniform(0.08, 0.4)
    return dsp.room(rng, out, sr, rt60=rng.uniform(0.2, 0.7), wet=rng.uniform(0.05, 0.3))


def _laughter(rng, n, sr):
    out = np.zeros(n)
    f0 = rng.uniform(150, 380)
    vowel = [(700, 1200, 2600), (800, 1300, 2700), (600, 1700, 2600), (450, 1900, 2700)][int(rng.integers(4))]
    rate = rng.uniform(3.5, 6.5)
    t = rng.uniform(0, 0.1)
    k = 0
    dur = n / sr
    while t < dur - 0.1:
        length = rng.uniform(0.08, 0.18)
        m = int(length * sr) + int(0.05 * sr)
        pitch = f0 * (1 - 0.03 * k) * rng.uniform(0.9, 1.15)
        x = voice(
            rng,
            m,
            sr,
            dsp.glide(m, [(0, pitch * 1.1), (1, pitch * 0.85)]),
            [(0, vowel), (1, tuple(v * 0.95 for v in vowel))],
            breath=rng.uniform(0.3, 1.2),
        )
        h = dsp.shaped_noise(rng, m, sr, lo=500, hi=5000) * 0.3  # the breathy "h"
        x = x / (np.abs(x).max() + 1e-9) + h * np.exp(-np.arange(m) / sr / 0.03)
        x *= syllable_env(m, sr, 0.0, length, attack=0.015, release=0.04)
        dsp.add_at(out, x * rng.uniform(0.5, 1.0), int(t * sr))
        t += 1 / rate * rng.uniform(0.85, 1.2)
        k += 1
        if rng.random() < 0.15:
            t += rng.uniform(0.2, 0.6)  # breath between bursts
            k = 0
    return dsp.room(rng, out, sr, rt60=rng.uniform(0.2, 0.8), wet=0.15)


def _meow(rng, n, sr):
    out = np.zeros(n)
    count = 1 if rng.random() < 0.6 else int(rng.integers(2, 4))
    t = rng.uniform(0, 0.1)
    for _ in range(count):
        length = min(rng.uniform(0.4, 1.2), max(n / sr - t, 0.2))
        m = int(length * sr)
        peak = rng.uniform(500, 1000)
        f0 = dsp.glide(
            m, [(0, peak * rng.uniform(0.6, 0.8)), (rng.uniform(0.25, 0.5), peak), (1, peak * rng.uniform(0.5, 0.75))]
        )
        vowels = [(0, (600, 1700, 3200)), (0.4, (1100, 1800, 3500)), (1, (500, 900, 3000))]  # "i-a-u"
        x = voice(rng, m, sr, f0, vowels, breath=rng.uniform(0.05, 0.4), jitter=0.02, oq=0.5)
        x *= syllable_env(m, sr, 0, length, attack=0.04, release=0.12)
        dsp.add_at(out, x / (np.abs(x).max() + 1e-9), int(t * sr))
        t += length + rng.uniform(0.2, 0.8)
    return out


def _bark(rng, n, sr):
    out = np.zeros(n)
    size = rng.uniform(0, 1)  # small dogs bark high
    f0 = 500 - 300 * size + rng.uniform(-40, 40)
    formants = (900 - 350 * size, 1700 - 500 * size, 3000 - 700 * size)
    count = 1 if rng.random() < 0.3 else int(rng.integers(2, 7))
    t = rng.uniform(0, 0.1)
    for _ in range(count):
        length = rng.uniform(0.08, 0.3)
        m = int(length * sr)
        x = voice(
            rng,
            m,
            sr,
            dsp.glide(m, [(0, f0 * 1.2), (0.3, f0 * 1.3), (1, f0 * 0.8)]),
            [(0, formants), (1, tuple(f * 0.85 for f in formants))],
            breath=rng.uniform(0.5, 1.5),
            jitter=0.06,
            oq=0.4,
        )
        x = np.tanh(2.5 * x / (np.abs(x).max() + 1e-9))  # rough, harsh voice
        x *= dsp.decay_env(m, sr, attack=0.01, t60=length * 1.5)
        dsp.add_at(out, x, int(t * sr))
        t += length + rng.uniform(0.1, 0.5)
    return dsp.room(rng, out, sr, rt60=rng.uniform(0.3, 1.2), wet=rng.uniform(0.1, 0.4))


def _burping(rng, n, sr):
    length = min(rng.uniform(0.3, 1.5), n / sr)
    m = int(length * sr)
    f0 = dsp.glide(m, [(0, rng.uniform(70, 130)), (0.5, rng.uniform(60, 120)), (1, rng.uniform(45, 90))])
    vowel = (rng.uniform(350, 650), rng.uniform(800, 1200), 2400)
    x = voice(
        rng,
        m,
        sr,
        f0,
        [(0, vowel), (1, (vowel[0] * 0.8, vowel[1] * 0.85, 2300))],
        breath=rng.uniform(0.3, 1.0),
        jitter=0.25,
        oq=0.35,
    )
    x *= dsp.smooth_env(rng, m, sr, rate_hz=rng.uniform(8, 25), depth=0.6)  # gurgle
    x *= syllable_env(m, sr, 0, length, attack=0.03, release=0.1)
    out = np.zeros(n)
    dsp.add_at(out, x, int(rng.uniform(0, 0.1) * sr))
    return out


def _fart(rng, n, sr):
    out = np.zeros(n)
    count = 1 if rng.random() < 0.7 else 2
    t = rng.uniform(0, 0.05)
    for _ in range(count):
        length = min(rng.uniform(0.2, 1.2), max(n / sr - t, 0.15))
        m = int(length * sr)
        f0 = dsp.glide(
            m, [(0, rng.uniform(80, 220)), (rng.uniform(0.2, 0.8), rng.uniform(60, 260)), (1, rng.uniform(50, 150))]
        )
        flutter = 1 + 0.3 * dsp.smooth_env(rng, m, sr, rate_hz=30, depth=0.5)
        src = dsp.glottal(f0 * flutter, sr, open_quotient=rng.uniform(0.25, 0.5))
        src = src / (np.std(src) + 1e-12) + rng.uniform(0.2, 1.0) * rng.standard_normal(m)
        x = dsp.lowpass(src, sr, rng.uniform(600, 2000), order=2)
        x *= syllable_env(m, sr, 0, length, attack=0.02, release=0.08)
        dsp.add_at(out, x, int(t * sr))
        t += length + rng.uniform(0.1, 0.4)
    return out


# --------------------------------------------------------------------------- registry

GENERATORS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = dict(
    sorted(
        {
            **SAMPLED_GENERATORS,
            **{
                "Bark": _bark,
                "Burping_or_eructation": _burping,
                "Bus": _bus,
                "Computer_keyboard": _computer_keyboard,
                "Cough": _cough,
                "Drawer_open_or_close": _drawer,
                "Fart": _fart,
                "Finger_snapping": _finger_snapping,
                "Fireworks": _fireworks,
                "Gong": _gong,
                "Keys_jangling": _keys_jangling,
                "Laughter": _laughter,
                "Meow": _meow,
                "Microwave_oven": _microwave,
                "Scissors": _scissors,
                "Shatter": _shatter,
                "Squeak": _squeak,
                "Tearing": _tearing,
                "Writing": _writing,
            },
        }.items()
    )
)
"""One generator per label: ``(rng, n_samples, sample_rate) -> (n_samples,)`` audio (any scale)."""

SAMPLED_LABELS: frozenset[str] = frozenset(SAMPLED_GENERATORS)
"""Labels whose clips are (wholly or partly) played from the TimGM6mb SoundFont."""

assert set(GENERATORS) == set(EVENT_LABELS)


def render_event(
    label: str, *, seed: np.random.SeedSequence, sample_rate: int, duration_s: float, soundfont: Path | None = None
) -> np.ndarray:
    """Render one stand-in clip of ``label``.

    Parameters
    ----------
    label : str
        One of :data:`remix.labels.EVENT_LABELS`.
    seed : numpy.random.SeedSequence
        The clip's own seed.
    sample_rate : int
    duration_s : float
        Clip length.
    soundfont : Path, optional
        The General MIDI SoundFont of the :data:`SAMPLED_LABELS` (default TimGM6mb).

    Returns
    -------
    np.ndarray [shape=(round(duration_s * sample_rate),)]
        float64 audio, peak between -14 and -1 dBFS, short fades at both ends,
        a faint recording-noise floor.
    """
    rng = np.random.default_rng(seed)
    n = max(16, int(round(duration_s * sample_rate)))
    with use_soundfont(soundfont):
        x = np.asarray(GENERATORS[label](rng, n, sample_rate), dtype=np.float64)[:n]
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    x = np.nan_to_num(x)
    x = x - np.mean(x)
    peak = np.abs(x).max()
    if peak < 1e-9:  # cannot happen for these generators; keep the clip audible anyway
        x, peak = rng.standard_normal(n), None
        peak = np.abs(x).max()
    x = x / peak
    floor = signal.lfilter([1.0], [1.0, -rng.uniform(0.0, 0.95)], rng.standard_normal(n))  # coloured hiss
    x = x + floor / (np.std(floor) + 1e-12) * 10 ** (rng.uniform(-70, -50) / 20)
    dsp.fade_ends(x, min(int(0.005 * sample_rate), n // 4))
    return x / np.abs(x).max() * 10 ** (rng.uniform(-14, -1) / 20)
