"""Presets: the paper's stays the paper's, the cpu one carries its features and prior, keys."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.errors import BenchError
from bench.features import LogMelSettings
from bench.presets import PRESETS, Preset, get_preset

TEN_SECONDS = 320000


def test_paper_preset_is_the_papers_schedule_and_features():
    p = get_preset("paper")
    assert (p.epochs, p.width, p.train_clips, p.batch_size, p.lr, p.patience) == (50, 1.0, None, 24, 1e-3, 3)
    assert p.features == LogMelSettings()
    assert (p.features.n_mels, p.features.hop_length, p.n_frames(TEN_SECONDS)) == (64, 1024, 311)
    assert p.prior is None


def test_cpu_preset_uses_coarser_features_and_the_class_prior():
    p = get_preset("cpu")
    assert p.features.n_mels < 64 and p.features.hop_length > 1024
    assert p.n_frames(TEN_SECONDS) * p.features.n_mels * 3 < 311 * 64  # under a third of the positions
    assert p.prior == pytest.approx(3 / 41)
    assert p.features.sample_rate == 32000 and p.features.n_fft == 2048 and not p.features.center


def test_to_dict_is_plain_json_with_the_features():
    d = get_preset("cpu").to_dict()
    back = json.loads(json.dumps(d))
    assert back["features"]["n_mels"] == get_preset("cpu").features.n_mels
    assert LogMelSettings.from_dict(back["features"]) == get_preset("cpu").features


def test_key_follows_every_setting_but_the_note():
    p = PRESETS["cpu"]
    assert p.key() == get_preset("cpu").key() and len(p.key()) == 10
    assert dataclasses.replace(p, note="another note").key() == p.key()
    for change in ({"epochs": p.epochs + 1}, {"width": 0.5}, {"lr": 0.5}, {"prior": None},
                   {"features": LogMelSettings()}, {"train_clips": 7}):
        assert dataclasses.replace(p, **change).key() != p.key(), change
    assert len({q.key() for q in PRESETS.values()}) == len(PRESETS)


@pytest.mark.parametrize("change,match", [
    ({"epochs": 0}, "at least 1"), ({"width": 0.0}, "must be positive"), ({"prior": 1.0}, "prior must be"),
    ({"features": {"n_mels": 32}}, "LogMelSettings"),
])
def test_bad_presets_are_refused(change, match):
    with pytest.raises(BenchError, match=match):
        Preset(**{"name": "x", "epochs": 1, "width": 0.1, **change})


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(BenchError, match="unknown preset 'huge'.*paper, cpu, smoke"):
        get_preset("huge")
