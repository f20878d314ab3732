"""The SoundFont sampler: pitch, looping, envelopes."""

from __future__ import annotations

import numpy as np
import pytest

from remix.sources.sampler import DRUM_BANK, Envelope, general_midi

SR = 22050


def _peak_hz(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=1 << 17))
    f = np.fft.rfftfreq(1 << 17, 1 / SR)
    band = (f > lo) & (f < hi)
    return float(f[band][np.argmax(spec[band])])


@pytest.mark.parametrize(("program", "key"), [(73, 69), (73, 81), (42, 45), (71, 57)])
def test_notes_sound_at_their_pitch(program, key):
    x = general_midi().note(program, key, duration_s=0.8, sample_rate=SR, envelope=Envelope(0.01, 1.0, 1.0, 0.05))
    expected = 440.0 * 2 ** ((key - 69) / 12)
    assert abs(_peak_hz(x[SR // 10 :], expected / 1.5, expected * 1.4) / expected - 1) < 0.02


def test_looped_note_lasts_as_long_as_held():
    held = general_midi().note(42, 48, duration_s=2.0, sample_rate=SR, envelope=Envelope(0.01, 1.0, 1.0, 0.1))
    assert len(held) == int(2.1 * SR)
    late = held[int(1.7 * SR) : int(1.9 * SR)]
    assert np.sqrt(np.mean(late**2)) > 0.1 * np.sqrt(np.mean(held[:SR] ** 2))  # still sounding
    assert np.abs(held[-50:]).max() < 0.05 * np.abs(held).max()  # released


def test_drum_kit_and_velocity():
    sf = general_midi()
    loud = sf.note(0, 38, bank=DRUM_BANK, duration_s=0.2, sample_rate=SR, velocity=127)
    soft = sf.note(0, 38, bank=DRUM_BANK, duration_s=0.2, sample_rate=SR, velocity=40)
    assert np.abs(loud).max() > 3 * np.abs(soft).max() > 0
    kick = sf.note(0, 36, bank=DRUM_BANK, duration_s=0.2, sample_rate=SR)
    hat = sf.note(0, 42, bank=DRUM_BANK, duration_s=0.2, sample_rate=SR)
    assert not np.allclose(kick[:1000], hat[:1000])


def test_soundfont_has_the_general_midi_programs_used():
    presets = general_midi().presets
    for program in (9, 14, 22, 24, 25, 32, 40, 42, 43, 45, 56, 64, 67, 68, 71, 73, 110, 124, 126, 127):
        assert (0, program) in presets
    assert (DRUM_BANK, 0) in presets
