"""Presets: the paper's stays the paper's, the cpu one carries its features and prior, keys."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
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
    assert p.features.sample_rate == 32000 and not p.features.center
    # every sample of a clip reaches a window: the window is at least the hop (twice, as the paper's)
    assert p.features.n_fft == 2 * p.features.hop_length


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_no_preset_leaves_samples_between_windows(name):
    f = get_preset(name).features
    assert f.n_fft >= f.hop_length


def test_cpu_full_is_cpu_trained_until_it_levels_off_at_a_finer_hop():
    cpu, full = get_preset("cpu"), get_preset("cpu-full")
    assert (full.width, full.prior, full.lr) == (cpu.width, cpu.prior, cpu.lr)
    assert full.features == dataclasses.replace(cpu.features, n_fft=8192, hop_length=4096)
    assert full.n_frames(320000) == 77 and cpu.n_frames(320000) == 38
    assert full.epochs > cpu.epochs and full.schedule == "cosine" and full.warmup_epochs >= 1
    assert full.early_stop is not None and full.early_stop < full.epochs


def test_schedule_defaults_keep_the_paper_preset_key():
    # settings added later enter the key only when set, so runs of the paper preset keep their ids
    assert get_preset("paper").key() == "e3140e317a"
    p = get_preset("paper")
    assert dataclasses.replace(p, early_stop=5).key() != p.key()
    assert dataclasses.replace(p, schedule="cosine").key() != p.key()


def _curve(*gains_per_epoch: float) -> list[float]:
    return list(np.cumsum(gains_per_epoch))


@pytest.mark.parametrize(
    "curve,expected",
    [
        # 16 epochs, tail of 4: still rising in a straight line -> not converged
        (_curve(*[0.02] * 16), False),
        # rises, then flat over the last 4 epochs -> converged
        (_curve(*[0.05] * 12, 0, 0, 0, 0), True),
        # the tail adds 0.009 in all -> converged (below 0.01)
        (_curve(*[0.05] * 12, 0.003, 0.003, 0.003, 0), True),
        # the tail adds exactly 0.012 -> not converged
        (_curve(*[0.05] * 12, 0.004, 0.004, 0.004, 0), False),
        # a late peak after a dip counts: best of the run against best before the tail
        (_curve(*[0.05] * 12, -0.1, 0.05, 0.05, 0.02), False),
        # stopped early (fewer epochs than the schedule) -> converged whatever the tail
        (_curve(*[0.02] * 10), True),
    ],
)
def test_converged_means_early_stop_or_a_small_gain_over_the_last_quarter(curve, expected):
    p = get_preset("cpu")  # 16 epochs: a tail of 4
    conv = p.convergence(curve)
    assert conv["converged"] is expected
    assert conv["tail_epochs"] == 4
    assert conv["epochs_run"] == len(curve) and conv["stopped_early"] == (len(curve) < 16)
    assert conv["best_epoch"] == int(np.argmax(curve)) + 1


def test_convergence_tail_gain_is_computed_directly():
    p = dataclasses.replace(get_preset("cpu-full"), epochs=8)  # tail of 2
    conv = p.convergence([0.1, 0.3, 0.5, 0.6, 0.62, 0.61, 0.64, 0.63])
    assert conv["tail_gain"] == pytest.approx(0.64 - 0.62)
    assert conv["converged"] is False and conv["best_epoch"] == 7


def test_to_dict_is_plain_json_with_the_features():
    d = get_preset("cpu").to_dict()
    back = json.loads(json.dumps(d))
    assert back["features"]["n_mels"] == get_preset("cpu").features.n_mels
    assert LogMelSettings.from_dict(back["features"]) == get_preset("cpu").features


def test_key_follows_every_setting_but_the_note():
    p = PRESETS["cpu"]
    assert p.key() == get_preset("cpu").key() and len(p.key()) == 10
    assert dataclasses.replace(p, note="another note").key() == p.key()
    for change in (
        {"epochs": p.epochs + 1},
        {"width": 0.5},
        {"lr": 0.5},
        {"prior": None},
        {"features": LogMelSettings()},
        {"train_clips": 7},
    ):
        assert dataclasses.replace(p, **change).key() != p.key(), change
    assert len({q.key() for q in PRESETS.values()}) == len(PRESETS)


@pytest.mark.parametrize(
    "change,match",
    [
        ({"epochs": 0}, "at least 1"),
        ({"width": 0.0}, "must be positive"),
        ({"prior": 1.0}, "prior must be"),
        ({"features": {"n_mels": 32}}, "LogMelSettings"),
        ({"schedule": "step"}, "schedule must be one of"),
        ({"warmup_epochs": 1}, "warmup_epochs must be"),
        ({"early_stop": 0}, "early_stop must be"),
    ],
)
def test_bad_presets_are_refused(change, match):
    with pytest.raises(BenchError, match=match):
        Preset(**{"name": "x", "epochs": 1, "width": 0.1, **change})


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(BenchError, match="unknown preset 'huge'.*paper, cpu, cpu-full, smoke"):
        get_preset("huge")
