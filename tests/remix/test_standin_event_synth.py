"""Stand-in event generators: every label renders, varies within and differs between classes."""

from __future__ import annotations

import numpy as np
import pytest

from remix.labels import EVENT_LABELS
from remix.standin.event_synth import GENERATORS, SAMPLED_LABELS, draw_duration, render_event

SR = 16000


def _render(label: str, k: int, duration: float = 1.5) -> np.ndarray:
    return render_event(
        label,
        seed=np.random.SeedSequence(7, spawn_key=(EVENT_LABELS.index(label), k)),
        sample_rate=SR,
        duration_s=duration,
    )


def _centroid(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float((spec * f).sum() / spec.sum())


def test_every_label_has_a_generator_and_renders():
    assert set(GENERATORS) == set(EVENT_LABELS)
    assert SAMPLED_LABELS <= set(EVENT_LABELS) and len(SAMPLED_LABELS) >= 20
    for label in EVENT_LABELS:
        x = _render(label, 0, duration=0.4)
        assert x.shape == (int(0.4 * SR),)
        assert np.isfinite(x).all()
        peak_db = 20 * np.log10(np.abs(x).max())
        assert -14.5 < peak_db < -0.9, label


@pytest.mark.parametrize("label", ["Cello", "Knock", "Meow", "Gong", "Hi-hat", "Writing"])
def test_clips_of_a_class_differ(label):
    a, b = _render(label, 1), _render(label, 2)
    assert not np.allclose(a, b)
    assert abs(_centroid(a) - _centroid(b)) > 1.0 or abs(np.std(a) - np.std(b)) > 1e-3


def test_classes_differ_in_spectrum():
    mean_centroid = {
        label: np.mean([_centroid(_render(label, k)) for k in range(3)])
        for label in ("Bass_drum", "Gong", "Double_bass", "Keys_jangling", "Hi-hat", "Squeak")
    }
    low = max(mean_centroid[label] for label in ("Bass_drum", "Gong", "Double_bass"))
    high = min(mean_centroid[label] for label in ("Keys_jangling", "Hi-hat", "Squeak"))
    assert high > 2 * low, mean_centroid


def test_durations_spread_within_bounds():
    rng = np.random.default_rng(0)
    short = [draw_duration("Bass_drum", rng) for _ in range(200)]
    long = [draw_duration("Bus", rng) for _ in range(200)]
    assert min(short + long) >= 0.3 and max(short + long) <= 10.0
    assert np.median(long) > 2 * np.median(short)
