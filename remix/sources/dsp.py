"""Small signal-building blocks shared by the procedural scene and event synthesis.

Every function takes its random generator explicitly; arrays are float64 mono
``(n,)`` unless said otherwise.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy import signal


def shaped_noise(
    rng: np.random.Generator,
    n: int,
    sample_rate: int,
    *,
    lo: float = 20.0,
    hi: float | None = None,
    tilt_db_oct: float = 0.0,
    peaks=(),
    channels: int = 1,
) -> np.ndarray:
    """Gaussian noise shaped in the frequency domain, unit RMS.

    Parameters
    ----------
    lo, hi : float
        Pass band edges in Hz (smooth 1-octave skirts).
    tilt_db_oct : float
        Spectral slope in dB per octave relative to 1 kHz (-3 is pink, -6 brown).
    peaks : iterable of (centre_hz, width_octaves, gain_db)
        Resonant bumps added to the magnitude response.
    channels : int
        Independent channels; the result is ``(n,)`` for 1, else ``(n, channels)``.
    """
    hi = hi or sample_rate / 2
    n_out, n = n, sfft.next_fast_len(max(n, 2), real=True)
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    fo = np.log2(np.maximum(f, 1.0) / 1000.0)
    mag_db = tilt_db_oct * fo
    for centre, width, gain in peaks:
        mag_db = mag_db + gain * np.exp(-0.5 * ((fo - np.log2(centre / 1000.0)) / max(width, 1e-3)) ** 2)
    mag = 10 ** (mag_db / 20)
    mag *= 1 / (1 + (np.maximum(lo, 1e-3) / np.maximum(f, 1e-3)) ** 4)
    mag *= 1 / (1 + (f / hi) ** 4)
    mag[0] = 0.0
    spec = np.empty((channels, f.size), dtype=np.complex64)
    spec.real = rng.standard_normal((channels, f.size), dtype=np.float32)
    spec.imag = rng.standard_normal((channels, f.size), dtype=np.float32)
    spec *= mag.astype(np.float32)
    x = sfft.irfft(spec, n=n, axis=-1)[:, :n_out]
    x = (x / (np.sqrt(np.einsum("ij,ij->i", x, x) / n_out)[:, None] + 1e-12)).astype(np.float64)
    x = x.T
    return np.ascontiguousarray(x[:, 0]) if channels == 1 else np.ascontiguousarray(x)


def bandpass(x: np.ndarray, sample_rate: int, lo: float, hi: float, *, order: int = 2) -> np.ndarray:
    """Butterworth band-pass (second-order sections), along axis 0."""
    nyq = sample_rate / 2
    lo = min(max(lo, 10.0), nyq * 0.95)
    hi = min(max(hi, lo * 1.05), nyq * 0.99)
    sos = signal.butter(order, [lo, hi], btype="bandpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def lowpass(x: np.ndarray, sample_rate: int, cutoff: float, *, order: int = 2) -> np.ndarray:
    """Butterworth low-pass along axis 0."""
    cutoff = min(max(cutoff, 10.0), sample_rate / 2 * 0.99)
    sos = signal.butter(order, cutoff, btype="lowpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def highpass(x: np.ndarray, sample_rate: int, cutoff: float, *, order: int = 2) -> np.ndarray:
    """Butterworth high-pass along axis 0."""
    cutoff = min(max(cutoff, 10.0), sample_rate / 2 * 0.99)
    sos = signal.butter(order, cutoff, btype="highpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def decay_env(n: int, sample_rate: int, *, attack: float = 0.002, t60: float = 0.5) -> np.ndarray:
    """Linear attack then exponential decay reaching -60 dB after ``t60`` seconds."""
    t = np.arange(n) / sample_rate
    a = max(attack, 1e-4)
    return np.where(t < a, t / a, np.exp(-6.91 * (t - a) / max(t60, 1e-3)))


def smooth_env(rng: np.random.Generator, n: int, sample_rate: int, *, rate_hz: float, depth: float) -> np.ndarray:
    """Slow random gain modulation around 1 (log-normal), changing about ``rate_hz`` times a second."""
    k = max(2, int(n / sample_rate * rate_hz) + 2)
    knots = rng.standard_normal(k) * depth
    curve = np.interp(np.linspace(0, k - 1, n), np.arange(k), knots)
    return np.exp(curve)


def modal(
    rng: np.random.Generator, n: int, sample_rate: int, freqs, t60s, amps=None, *, attack: float = 0.0005
) -> np.ndarray:
    """Sum of exponentially decaying sinusoids (a struck object), random phases."""
    t = np.arange(n) / sample_rate
    out = np.zeros(n)
    amps = np.ones(len(freqs)) if amps is None else amps
    nyq = sample_rate / 2
    for f, t60, a in zip(freqs, t60s, amps):
        if f >= nyq * 0.95:
            continue
        m = min(n, int(t60 * sample_rate * 1.2) + 1)
        out[:m] += a * np.sin(2 * np.pi * f * t[:m] + rng.uniform(0, 2 * np.pi)) * np.exp(-6.91 * t[:m] / t60)
    if attack > 0:
        out *= np.minimum(1.0, t / attack)
    return out


def mix(*parts: np.ndarray) -> np.ndarray:
    """Sum 1-D arrays of different lengths (zero-padded to the longest)."""
    out = np.zeros(max(len(p) for p in parts))
    for p in parts:
        out[: len(p)] += p
    return out


def add_at(out: np.ndarray, x: np.ndarray, start: int) -> None:
    """Add ``x`` into ``out`` from sample ``start`` (clipped to bounds, in place)."""
    if start >= len(out) or start + len(x) <= 0:
        return
    s0 = max(start, 0)
    x = x[s0 - start :]
    m = min(len(x), len(out) - s0)
    out[s0 : s0 + m] += x[:m]


def fade_ends(x: np.ndarray, fade: int) -> None:
    """Linear fade-in over the first ``fade`` samples of ``x`` and fade-out over its last (in place;
    nothing when ``fade`` < 2)."""
    if fade > 1:
        ramp = np.linspace(0.0, 1.0, fade)
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]


def room(
    rng: np.random.Generator, x: np.ndarray, sample_rate: int, *, rt60: float, wet: float, damping_hz: float = 6000.0
) -> np.ndarray:
    """Add a diffuse reverberant tail (noise impulse response), same length as ``x`` (axis 0)."""
    m = max(16, int(rt60 * sample_rate))
    t = np.arange(m) / sample_rate
    ir = rng.standard_normal(m) * np.exp(-6.91 * t / rt60)
    ir = lowpass(ir, sample_rate, damping_hz, order=1)
    ir /= np.sqrt(np.sum(ir**2)) + 1e-12
    if x.ndim == 1:
        tail = signal.fftconvolve(x, ir)[: len(x)]
    else:
        tail = np.stack([signal.fftconvolve(x[:, c], ir)[: len(x)] for c in range(x.shape[1])], axis=1)
    return (1 - wet) * x + wet * tail


def glottal(f0: np.ndarray, sample_rate: int, *, open_quotient: float = 0.6) -> np.ndarray:
    """Pulse train following a fundamental-frequency track ``f0`` (Hz per sample)."""
    phase = np.mod(np.cumsum(f0 / sample_rate), 1.0)
    oq = np.clip(open_quotient, 0.2, 0.95)
    pulse = np.where(phase < oq, np.sin(np.pi * phase / oq) ** 2, 0.0)
    return np.diff(pulse, prepend=0.0) * sample_rate / np.maximum(f0, 1.0) * 0.1


def formant_filter(x: np.ndarray, sample_rate: int, tracks, *, hop_s: float = 0.01) -> np.ndarray:
    """Parallel two-pole resonators whose centre frequencies follow per-sample tracks.

    Parameters
    ----------
    tracks : list of (freq (n,) array or float, bandwidth_hz, gain)
    """
    n = len(x)
    hop = max(1, int(hop_s * sample_rate))
    out = np.zeros(n)
    for freq, bw, gain in tracks:
        freq = np.broadcast_to(np.asarray(freq, dtype=float), (n,))
        r = np.exp(-np.pi * bw / sample_rate)
        zi = np.zeros(2)
        y = np.empty(n)
        for s in range(0, n, hop):
            fc = min(freq[s], sample_rate * 0.45)
            a = [1.0, -2 * r * np.cos(2 * np.pi * fc / sample_rate), r * r]
            b = [(1 - r * r) * np.sin(2 * np.pi * fc / sample_rate) + 1e-9]
            y[s : s + hop], zi = signal.lfilter(b, a, x[s : s + hop], zi=zi)
        out += gain * y
    return out


def glide(n: int, points) -> np.ndarray:
    """Piecewise-linear (in log frequency) track through ``(fraction, value)`` points, (n,)."""
    fr = np.array([p[0] for p in points], dtype=float)
    vals = np.log(np.array([p[1] for p in points], dtype=float))
    return np.exp(np.interp(np.linspace(0, 1, n), fr, vals))
