"""Stand-in events of the classes with a General MIDI counterpart (instruments, drums, bells,
applause, gunshot, telephone...), played from recorded samples of the TimGM6mb SoundFont through
:mod:`remix.sources.sampler`, with melodic and rhythmic variety."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from remix.sources import dsp
from remix.sources.sampler import Envelope, general_midi
from remix.standin.event_parts import drum, hits, melody, noise_burst


def _acoustic_guitar(rng, n, sr):
    prog = int(rng.choice([24, 25, 24, 25, 26]))
    env = Envelope(0.002, rng.uniform(0.4, 1.2), 0.0, 0.2)
    return melody(rng, n, sr, prog, 40, 76, note_s=(0.12, 0.5), legato=1.6, env=env, chord_p=0.4, single_p=0.25)


def _cello(rng, n, sr):
    env = Envelope(rng.uniform(0.04, 0.15), 0.4, rng.uniform(0.6, 0.9), rng.uniform(0.15, 0.4))
    return melody(rng, n, sr, 42, 36, 67, note_s=(0.3, 1.2), env=env, vibrato=(5.5, 18), single_p=0.4)


def _clarinet(rng, n, sr):
    env = Envelope(rng.uniform(0.02, 0.06), 0.3, rng.uniform(0.75, 0.95), 0.12)
    return melody(rng, n, sr, 71, 50, 84, note_s=(0.15, 0.8), env=env, vibrato=(5, 6), single_p=0.35)


def _double_bass(rng, n, sr):
    if rng.random() < 0.5:  # pizzicato walking line
        prog, env, legato = int(rng.choice([32, 45])), Envelope(0.003, rng.uniform(0.3, 0.8), 0.0, 0.15), 1.4
        return melody(rng, n, sr, prog, 28, 52, note_s=(0.25, 0.6), legato=legato, env=env, single_p=0.2)
    env = Envelope(rng.uniform(0.06, 0.2), 0.5, 0.85, 0.3)
    return melody(rng, n, sr, 43, 28, 55, note_s=(0.4, 1.5), env=env, vibrato=(5, 12), single_p=0.45)


def _electric_piano(rng, n, sr):
    env = Envelope(0.003, rng.uniform(0.6, 1.8), rng.uniform(0.0, 0.3), 0.3)
    return melody(
        rng, n, sr, int(rng.choice([4, 5])), 45, 84, note_s=(0.15, 0.8), legato=1.2, env=env, chord_p=0.5, single_p=0.25
    )


def _flute(rng, n, sr):
    env = Envelope(rng.uniform(0.03, 0.1), 0.3, 0.85, 0.12)
    prog = 72 if rng.random() < 0.15 else 73
    return melody(rng, n, sr, prog, 60, 96, note_s=(0.12, 0.7), env=env, vibrato=(5, 10), single_p=0.35)


def _glockenspiel(rng, n, sr):
    env = Envelope(0.001, rng.uniform(0.5, 1.5), 0.0, 0.6)
    return melody(rng, n, sr, 9, 72, 105, note_s=(0.1, 0.4), legato=2.0, env=env, single_p=0.3)


def _harmonica(rng, n, sr):
    env = Envelope(rng.uniform(0.02, 0.06), 0.3, 0.8, 0.1)
    return melody(rng, n, sr, 22, 60, 86, note_s=(0.12, 0.6), env=env, vibrato=(6, 15), chord_p=0.4, single_p=0.25)


def _oboe(rng, n, sr):
    env = Envelope(rng.uniform(0.02, 0.06), 0.3, 0.85, 0.12)
    return melody(rng, n, sr, 68, 58, 91, note_s=(0.15, 0.8), env=env, vibrato=(5.5, 12), single_p=0.35)


def _saxophone(rng, n, sr):
    prog = int(rng.integers(64, 68))
    lo = {64: 56, 65: 49, 66: 44, 67: 36}[prog]
    env = Envelope(rng.uniform(0.02, 0.05), 0.3, 0.85, 0.12)
    return melody(rng, n, sr, prog, lo, lo + 30, note_s=(0.1, 0.6), env=env, vibrato=(5, 15), single_p=0.3)


def _trumpet(rng, n, sr):
    prog = 59 if rng.random() < 0.2 else 56
    env = Envelope(rng.uniform(0.015, 0.04), 0.3, 0.8, 0.1)
    return melody(rng, n, sr, prog, 54, 84, note_s=(0.1, 0.7), env=env, vibrato=(5.5, 8), single_p=0.3)


def _violin(rng, n, sr):
    prog = 110 if rng.random() < 0.35 else 40
    env = Envelope(rng.uniform(0.03, 0.12), 0.3, 0.85, 0.2)
    return melody(rng, n, sr, prog, 55, 93, note_s=(0.1, 0.9), env=env, vibrato=(6, 20), single_p=0.35)


def _chime(rng, n, sr):
    if rng.random() < 0.5:  # tubular bells
        env = Envelope(0.001, rng.uniform(1.5, 4.0), 0.0, 1.5)
        return melody(rng, n, sr, 14, 60, 79, note_s=(0.3, 0.9), legato=2.5, env=env, single_p=0.35)
    # wind chimes: random high bell strikes from metal tubes
    out = np.zeros(n)
    base = rng.uniform(700, 1400)
    ratios = np.sort(rng.choice([1.0, 1.125, 1.25, 1.5, 1.667, 1.875, 2.0], size=5, replace=False))
    t = rng.uniform(0, 0.1)
    while t < n / sr - 0.05:
        f = base * rng.choice(ratios)
        m = int(min(n / sr - t, 3.0) * sr)
        x = dsp.modal(rng, m, sr, [f, f * 2.76, f * 5.40, f * 8.93], [2.5, 1.2, 0.6, 0.3], [1, 0.5, 0.3, 0.15])
        dsp.add_at(out, rng.uniform(0.3, 1.0) * x, int(t * sr))
        t += rng.exponential(0.25) + 0.03
    return out


def _bass_drum(rng, n, sr):
    x = drum(rng, n, sr, [35, 36], rate_hz=(1.5, 4.0), single_p=0.5, burst=(2, 6), tail_t60=(0.15, 0.5))
    # body: a low pitch drop recorded samples of this small font lack
    f0 = rng.uniform(45, 75)
    return x + rng.uniform(0.0, 0.6) * _pitched_thump(rng, x, sr, f0)


def _pitched_thump(rng, x, sr, f0):
    env = np.abs(x)
    onsets = np.flatnonzero((env[1:] > 0.2 * env.max()) & (env[:-1] <= 0.2 * env.max()))
    out = np.zeros(len(x))
    m = int(0.4 * sr)
    t = np.arange(m) / sr
    thump = np.sin(2 * np.pi * np.cumsum(f0 * (1 + 1.5 * np.exp(-t / 0.03))) / sr) * np.exp(-t / 0.12)
    last = -m
    for o in onsets:
        if o - last > 0.1 * sr:
            dsp.add_at(out, thump * env.max(), int(o))
            last = o
    return out


def _snare_drum(rng, n, sr):
    if rng.random() < 0.25:  # a roll
        return drum(rng, n, sr, [38, 40], rate_hz=(12, 20), single_p=0.0, burst=(10, 40), tail_t60=(0.08, 0.2))
    return drum(rng, n, sr, [38, 40, 37, 38], rate_hz=(2, 6), single_p=0.4, burst=(2, 10))


def _hi_hat(rng, n, sr):
    keys = [[42], [42, 44], [46], [42, 42, 46]][int(rng.integers(4))]
    return drum(rng, n, sr, keys, rate_hz=(3, 9), single_p=0.3, burst=(2, 16), tail_t60=(0.05, 0.6))


def _cowbell(rng, n, sr):
    return drum(rng, n, sr, [56], rate_hz=(1.5, 5), single_p=0.35, burst=(2, 10), pitch_st=3.0, tail_t60=(0.2, 0.6))


def _tambourine(rng, n, sr):
    if rng.random() < 0.4:  # shaken: dense jingles
        return drum(rng, n, sr, [54, 69], rate_hz=(8, 16), single_p=0.0, burst=(6, 40), tail_t60=(0.08, 0.3))
    return drum(rng, n, sr, [54], rate_hz=(2, 6), single_p=0.3, burst=(2, 12), tail_t60=(0.2, 0.6))


def _knock(rng, n, sr):
    if rng.random() < 0.4:
        return drum(rng, n, sr, [76, 77], rate_hz=(3, 7), single_p=0.2, burst=(2, 6), pitch_st=8.0)
    # knuckles on a door: low wooden modes
    base = rng.uniform(90, 260)
    freqs = base * np.array([1.0, 1.59, 2.14, 2.65, 3.6]) * rng.uniform(0.95, 1.05, 5)
    t60 = rng.uniform(0.05, 0.18)

    def play(u):
        m = int(0.25 * sr)
        return dsp.mix(
            dsp.modal(rng, m, sr, freqs, t60 * np.array([1, 0.8, 0.6, 0.5, 0.3])),
            0.3 * noise_burst(rng, sr, 0.02, 500, 4000, 0.01),
        )

    return hits(rng, n, sr, play, rate_hz=(3, 7), single_p=0.15, burst=(2, 6), jitter=0.08)


def _gunshot(rng, n, sr):
    sf = general_midi()
    key = int(rng.integers(48, 72))
    rate = (8, 15) if rng.random() < 0.35 else (1.0, 3.0)

    def play(u):
        x = sf.note(
            127,
            key + int(rng.integers(-2, 3)),
            duration_s=0.6,
            sample_rate=sr,
            velocity=120,
            envelope=Envelope(0.0005, 0.4, 0.0, 0.1),
        )
        boom = noise_burst(rng, sr, (len(x) + 1) / sr, 40, 1500, rng.uniform(0.15, 0.4), tilt=-3)[: len(x)]
        return x + rng.uniform(0.2, 0.6) * boom * np.abs(x).max()

    x = hits(rng, n, sr, play, rate_hz=rate, single_p=0.45, burst=(2, 12), jitter=0.05)
    return dsp.room(rng, x, sr, rt60=rng.uniform(0.3, 1.5), wet=rng.uniform(0.1, 0.5))


def _applause(rng, n, sr):
    sf = general_midi()
    out = np.zeros(n)
    env = Envelope(rng.uniform(0.05, 0.4), 1.0, 1.0, rng.uniform(0.2, 0.8))
    for _ in range(int(rng.integers(1, 4))):
        x = sf.note(126, int(rng.integers(52, 70)), duration_s=n / sr, sample_rate=sr, velocity=110, envelope=env)
        dsp.add_at(out, x, int(rng.integers(0, int(0.05 * sr))))
    # individual claps on top
    shapes = [noise_burst(rng, sr, 0.05, rng.uniform(500, 1200), rng.uniform(2500, 5000), 0.03) for _ in range(4)]
    claps = sum(
        hits(rng, n, sr, lambda u: shapes[int(u * 4)], rate_hz=(3, 6), single_p=0.0, burst=(5, 60))
        for _ in range(int(rng.integers(1, 6)))
    )
    out = out / (np.abs(out).max() + 1e-9) + rng.uniform(0.2, 0.8) * claps / (np.abs(claps).max() + 1e-9)
    fade = dsp.smooth_env(rng, n, sr, rate_hz=0.8, depth=0.3)
    return out * fade


def _telephone(rng, n, sr):
    sf = general_midi()
    if rng.random() < 0.5:
        out = np.zeros(n)
        key = int(rng.integers(76, 96))
        on, off = rng.uniform(0.8, 2.0), rng.uniform(0.3, 2.0)
        t = rng.uniform(0, 0.2)
        while t < n / sr - 0.1:
            x = sf.note(124, key, duration_s=on, sample_rate=sr, velocity=110, envelope=Envelope(0.005, 1, 1, 0.05))
            dsp.add_at(out, x, int(t * sr))
            t += on + off
        return out
    # electronic ring: two alternating tones, pulsed
    t = np.arange(n) / sr
    f1, f2 = rng.uniform(700, 1100), rng.uniform(1100, 1800)
    alt = rng.uniform(10, 25)
    tone = np.where(np.sin(2 * np.pi * alt * t) > 0, np.sin(2 * np.pi * f1 * t), np.sin(2 * np.pi * f2 * t))
    period = rng.uniform(1.5, 3.5)
    gate = (np.mod(t, period) < period * rng.uniform(0.35, 0.6)).astype(float)
    tone = np.sign(tone) * np.abs(tone) ** rng.uniform(0.3, 1.0)  # from sine to buzzy square
    return dsp.lowpass(tone * gate, sr, rng.uniform(3000, 8000))


SAMPLED_GENERATORS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "Acoustic_guitar": _acoustic_guitar,
    "Applause": _applause,
    "Bass_drum": _bass_drum,
    "Cello": _cello,
    "Chime": _chime,
    "Clarinet": _clarinet,
    "Cowbell": _cowbell,
    "Double_bass": _double_bass,
    "Electric_piano": _electric_piano,
    "Flute": _flute,
    "Glockenspiel": _glockenspiel,
    "Gunshot_or_gunfire": _gunshot,
    "Harmonica": _harmonica,
    "Hi-hat": _hi_hat,
    "Knock": _knock,
    "Oboe": _oboe,
    "Saxophone": _saxophone,
    "Snare_drum": _snare_drum,
    "Tambourine": _tambourine,
    "Telephone": _telephone,
    "Trumpet": _trumpet,
    "Violin_or_fiddle": _violin,
}
"""The generators of this module, by label (see :data:`remix.standin.event_synth.GENERATORS`)."""
