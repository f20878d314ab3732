"""Levels: RMS, Scaper-style loudness, and the gains for a target SNR."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from remix.levels import LUFS_FLOOR, db_to_gain, event_gain, gain_to_db, lufs, rms, scene_gain

SR = 32000


def _sine(amplitude: float, seconds: float, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_rms_of_a_sine_and_of_nothing():
    assert rms(_sine(0.5, 1.0)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-4)
    assert rms(np.zeros(0, np.float32)) == 0.0


@pytest.mark.parametrize("db", [-20.0, 0.0, 6.0, 20.0])
def test_db_gain_round_trip(db):
    assert gain_to_db(db_to_gain(db)) == pytest.approx(db)


def test_lufs_matches_pyloudnorm_for_long_signals():
    x = _sine(0.1, 3.0)
    expected = pyloudnorm.Meter(SR, block_size=0.4).integrated_loudness(x.astype(np.float64))
    assert lufs(x, sample_rate=SR) == pytest.approx(expected, abs=1e-6)


def test_short_signals_are_self_concatenated_before_measuring():
    short = _sine(0.1, 0.3, freq=500.0)  # 0.3 s < 0.5 s
    tiled = np.tile(short, 2)
    expected = pyloudnorm.Meter(SR, block_size=0.4).integrated_loudness(tiled.astype(np.float64))
    assert lufs(short, sample_rate=SR) == pytest.approx(expected, abs=1e-6)


def test_silence_is_floored():
    assert lufs(np.zeros(SR, np.float32), sample_rate=SR) == LUFS_FLOOR
    assert lufs(np.zeros(0, np.float32), sample_rate=SR) == LUFS_FLOOR


def test_scene_gain_rms_sets_rms_one():
    scene = _sine(0.05, 2.0)
    assert rms(scene * scene_gain(scene, mode="rms", sample_rate=SR)) == pytest.approx(1.0, rel=1e-5)
    known = scene_gain(scene, mode="rms", sample_rate=SR, level=rms(scene))  # a level measured before
    assert known == scene_gain(scene, mode="rms", sample_rate=SR)


def test_scene_gain_lufs_sets_the_reference_loudness():
    scene = _sine(0.05, 2.0)
    g = scene_gain(scene, mode="lufs", sample_rate=SR, ref_lufs=-30.0)
    assert lufs(scene * g, sample_rate=SR) == pytest.approx(-30.0, abs=0.01)


@pytest.mark.parametrize("snr", [-5.0, 0.0, 10.0])
def test_event_gains(snr):
    assert event_gain(0.2, snr_db=snr, mode="rms") * 0.2 == pytest.approx(db_to_gain(snr))
    assert gain_to_db(event_gain(-35.0, snr_db=snr, mode="lufs", ref_lufs=-24.0)) == pytest.approx(-24 + snr + 35)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown SNR mode"):
        event_gain(1.0, snr_db=0.0, mode="peak")
