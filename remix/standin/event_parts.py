"""Building blocks of the stand-in's event generators: scales and melodies, drum hits, noise bursts,
glottal voices and syllable envelopes (used by :mod:`remix.standin.sampled_events` and
:mod:`remix.standin.event_synth`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from remix.sources import dsp
from remix.sources.sampler import Envelope, general_midi

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "pentatonic": (0, 2, 4, 7, 9),
    "blues": (0, 3, 5, 6, 7, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
}


def scale_keys(rng: np.random.Generator, lo: int, hi: int) -> np.ndarray:
    name = list(SCALES)[int(rng.integers(len(SCALES)))]
    tonic = int(rng.integers(12))
    keys = [k for k in range(lo, hi + 1) if (k - tonic) % 12 in SCALES[name]]
    return np.array(keys or [lo])


def melody(
    rng,
    n,
    sr,
    program,
    lo,
    hi,
    *,
    bank=0,
    note_s=(0.15, 0.7),
    legato=0.9,
    env=Envelope(),
    vibrato=(0.0, 0.0),
    chord_p=0.0,
    single_p=0.35,
    vel=(60, 120),
) -> np.ndarray:
    """A phrase (or one long note) of a GM program within keys lo..hi."""
    sf = general_midi()
    out = np.zeros(n)
    keys = scale_keys(rng, lo, hi)
    dur = n / sr
    idx = int(rng.integers(len(keys)))
    t = rng.uniform(0.0, min(0.15, dur * 0.1))
    single = rng.random() < single_p
    vib_hz = rng.uniform(4.5, 6.5)
    vib_c = vibrato[1] * rng.uniform(0.5, 1.2) if vibrato[1] else 0.0
    base_len = np.exp(rng.uniform(np.log(note_s[0]), np.log(note_s[1])))
    while t < dur - 0.05:
        length = max(dur - t - env.release * 0.5, 0.1) if single else base_len * rng.choice([0.5, 1, 1, 1, 2])
        idx = int(np.clip(idx + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]), 0, len(keys) - 1))
        chord = [keys[idx]]
        if rng.random() < chord_p:
            chord += [k for k in (keys[min(idx + 2, len(keys) - 1)], keys[min(idx + 4, len(keys) - 1)])]
        v = int(rng.integers(vel[0], vel[1] + 1))
        for k in sorted(set(int(c) for c in chord)):
            x = sf.note(
                program,
                k,
                bank=bank,
                duration_s=length * legato,
                sample_rate=sr,
                velocity=v,
                envelope=env,
                vibrato_hz=vib_hz,
                vibrato_cents=vib_c,
                detune_cents=rng.normal(0, 4),
            )
            dsp.add_at(out, x, int(t * sr))
        if single:
            break
        t += length * rng.uniform(0.95, 1.1)
        if rng.random() < 0.12:
            t += rng.uniform(0.1, 0.5)  # a breath / rest
    return out


def hits(
    rng,
    n,
    sr,
    play: Callable[[float], np.ndarray],
    *,
    rate_hz=(2.0, 6.0),
    jitter=0.1,
    single_p=0.3,
    burst=(1, 12),
    accent=0.4,
) -> np.ndarray:
    """Repeat a hit at a steady rate with timing jitter and accents (or play it once)."""
    out = np.zeros(n)
    dur = n / sr
    period = 1.0 / rng.uniform(*rate_hz)
    count = 1 if rng.random() < single_p else int(rng.integers(burst[0], burst[1] + 1))
    t = rng.uniform(0.0, min(0.2, dur * 0.15))
    for i in range(count):
        if t > dur - 0.03:
            break
        gain = 1.0 if (i % 4 == 0 or rng.random() > accent) else rng.uniform(0.4, 0.8)
        dsp.add_at(out, gain * play(rng.uniform(0.0, 1.0)), int(t * sr))
        t += period * (1 + rng.normal(0, jitter))
    return out


def drum(
    rng, n, sr, keys, *, rate_hz=(2.0, 6.0), single_p=0.35, burst=(2, 10), pitch_st=2.0, tail_t60=(0.1, 0.5)
) -> np.ndarray:
    sf = general_midi()
    shift = rng.uniform(-pitch_st, pitch_st)
    tail = rng.uniform(*tail_t60)

    def play(u: float) -> np.ndarray:
        key = int(keys[int(u * len(keys)) % len(keys)])
        v = int(rng.integers(70, 128))
        x = sf.note(
            0,
            key,
            bank=128,
            duration_s=tail,
            sample_rate=sr,
            velocity=v,
            envelope=Envelope(0.0005, tail, 0.0, 0.02),
            detune_cents=100 * shift,
        )
        return x

    return hits(rng, n, sr, play, rate_hz=rate_hz, single_p=single_p, burst=burst)


def noise_burst(rng, sr, length, lo, hi, t60, tilt=0.0) -> np.ndarray:
    m = max(8, int(length * sr))
    return dsp.shaped_noise(rng, m, sr, lo=lo, hi=hi, tilt_db_oct=tilt) * dsp.decay_env(m, sr, attack=0.0008, t60=t60)


def voice(rng, n, sr, f0_track, vowels, *, breath=0.2, jitter=0.01, oq=0.6) -> np.ndarray:
    """Voiced sound: glottal pulses (with jitter and breath noise) through moving formants.

    ``vowels`` is a list of (fraction, (F1, F2, F3)) points of the formant glide.
    """
    f0 = f0_track * (1 + jitter * dsp.smooth_env(rng, n, sr, rate_hz=30, depth=1.0).clip(0, 3) - jitter)
    src = dsp.glottal(f0, sr, open_quotient=oq)
    src = src / (np.std(src) + 1e-12) + breath * rng.standard_normal(n)
    tracks = []
    for j, (bw, gain) in enumerate(((80, 1.0), (110, 0.6), (160, 0.35))):
        pts = [(fr, fm[j]) for fr, fm in vowels]
        tracks.append((dsp.glide(n, pts), bw, gain))
    return dsp.formant_filter(src, sr, tracks)


def syllable_env(n, sr, start, length, attack=0.02, release=0.06) -> np.ndarray:
    t = np.arange(n) / sr - start
    up = np.clip(t / attack, 0, 1)
    down = np.clip((start + length - (t + start)) / release, 0, 1)
    return up * down * (t >= 0)
