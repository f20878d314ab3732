"""Signal levels and the gains that put an event at a target SNR.

Two definitions of the signal-to-noise ratio between an event and its scene:

``rms``
    The original corpus's: the scene is scaled to RMS 1 over its whole length,
    and each event so that its RMS over its whole *source file* (before it is
    cut) is ``10 ** (snr / 20)``.
``lufs``
    Scaper's: integrated loudness (ITU-R BS.1770, pyloudnorm, 0.4 s blocks) of
    the *placed* event segment and of the scene; signals shorter than 0.5 s are
    repeated end to end before they are measured and loudness is floored at
    -70 LUFS. The scene is set to a reference loudness and each event gets the
    gain ``ref + snr - event_lufs`` (dB).
"""

from __future__ import annotations

import functools

import numpy as np

from remix.options import SNR_MODES, default

LUFS_FLOOR: float = -70.0
"""Loudness floor (LUFS): quieter signals are measured as this."""

LUFS_BLOCK_S: float = 0.4
"""Gating block of the loudness meter (s)."""

LUFS_MIN_S: float = 0.5
"""Signals shorter than this (s) are self-concatenated before measuring."""


def rms(x: np.ndarray) -> float:
    """Root mean square of a signal.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
        Mono signal.

    Returns
    -------
    float
        ``sqrt(mean(x**2))``, accumulated in float64; 0.0 for an empty signal.
    """
    if x.size == 0:
        return 0.0
    x = np.asarray(x)
    return float(np.sqrt(np.mean(np.square(x), dtype=np.float64)))


def db_to_gain(db: float) -> float:
    """Amplitude factor of a level in dB: ``10 ** (db / 20)``."""
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float:
    """Level in dB of an amplitude factor (``-inf`` for 0)."""
    return float(20.0 * np.log10(gain)) if gain > 0 else float("-inf")


@functools.lru_cache(maxsize=8)
def _meter(sample_rate: int):  # noqa: ANN202 - pyloudnorm has no type hints
    import pyloudnorm

    return pyloudnorm.Meter(sample_rate, block_size=LUFS_BLOCK_S)


def lufs(x: np.ndarray, *, sample_rate: int) -> float:
    """Integrated loudness in LUFS, measured as Scaper measures it.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
        Mono signal.
    sample_rate : int
        Its rate (Hz).

    Returns
    -------
    float
        ITU-R BS.1770 integrated loudness (0.4 s blocks), floored at
        :data:`LUFS_FLOOR`. A signal shorter than :data:`LUFS_MIN_S` is first
        repeated end to end until it is at least that long.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return LUFS_FLOOR
    min_len = int(np.ceil(LUFS_MIN_S * sample_rate))
    if x.size < min_len:
        x = np.tile(x, int(np.ceil(min_len / x.size)))
    with np.errstate(divide="ignore"):
        value = float(_meter(sample_rate).integrated_loudness(x))
    if not np.isfinite(value):
        return LUFS_FLOOR
    return max(value, LUFS_FLOOR)


def scene_gain(
    scene: np.ndarray, *, mode: str, sample_rate: int, ref_lufs: float = default("ref_lufs"), level: float | None = None
) -> float:
    """Amplitude factor that sets the scene at the reference level.

    Parameters
    ----------
    scene : np.ndarray [shape=(n,)]
        The whole scene, mono, at ``sample_rate``.
    mode : {"rms", "lufs"}
        ``rms``: scale to RMS 1. ``lufs``: scale to ``ref_lufs``.
    sample_rate : int
        Rate of ``scene`` (Hz).
    ref_lufs : float
        Reference loudness of the scene in ``lufs`` mode.
    level : float, optional
        ``rms(scene)`` when it is known already (``rms`` mode; measured when None).

    Returns
    -------
    float
        The factor (1.0 for a silent scene, which the source checks exclude).
    """
    if mode == "rms":
        level = rms(scene) if level is None else level
        return 1.0 / level if level > 0 else 1.0
    if mode == "lufs":
        return db_to_gain(ref_lufs - lufs(scene, sample_rate=sample_rate))
    raise ValueError(f"unknown SNR mode {mode!r}; expected one of {SNR_MODES}")


def event_gain(level: float, *, snr_db: float, mode: str, ref_lufs: float = default("ref_lufs")) -> float:
    """Amplitude factor that puts an event at ``snr_db`` above the scene.

    Parameters
    ----------
    level : float
        The event's measured level: its source file's RMS (``rms`` mode) or the
        loudness of its placed segment in LUFS (``lufs`` mode).
    snr_db : float
        Target SNR (dB).
    mode : {"rms", "lufs"}
        Which definition ``level`` follows.
    ref_lufs : float
        The scene's reference loudness in ``lufs`` mode.

    Returns
    -------
    float
        ``10**(snr/20) / level`` (rms) or ``10**((ref + snr - level)/20)`` (lufs).
    """
    if mode == "rms":
        return db_to_gain(snr_db) / level if level > 0 else 0.0
    if mode == "lufs":
        return db_to_gain(ref_lufs + snr_db - level)
    raise ValueError(f"unknown SNR mode {mode!r}; expected one of {SNR_MODES}")
