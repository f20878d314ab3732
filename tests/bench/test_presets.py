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
        ({"restarts": -1}, "restarts must be at least 0"),
        ({"restart_lr_ratio": 0.0}, "restart_lr_ratio in"),
        ({"restarts": 1, "restart_epochs": 0}, "restart_epochs must be more than"),
    ],
)
def test_bad_presets_are_refused(change, match):
    with pytest.raises(BenchError, match=match):
        Preset(**{"name": "x", "epochs": 1, "width": 0.1, **change})


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(BenchError, match="unknown preset 'huge'.*paper, cpu, cpu-full, smoke"):
        get_preset("huge")


RESTARTING = dataclasses.replace(get_preset("cpu-full"), epochs=8, restarts=2, restart_epochs=4)
"""8 epochs (tail 2), then up to two restarts of 4 epochs (tail 1)."""


def test_restart_settings_stay_out_of_the_key():
    p = get_preset("cpu-full")
    assert p.restarts > 0
    for change in ({"restarts": 0}, {"restart_epochs": 7}, {"restart_lr_ratio": 1.0}):
        assert dataclasses.replace(p, **change).key() == p.key(), change


def test_cycles_split_the_epochs_into_the_schedule_and_its_restarts():
    p = RESTARTING
    assert p.max_epochs == 16
    assert [p.cycle_of(e) for e in (0, 1, 8, 9, 12, 13, 16, 20)] == [0, 0, 0, 1, 1, 2, 2, 2]
    assert [(p.cycle_start(k), p.cycle_end(k)) for k in range(3)] == [(0, 8), (8, 12), (12, 16)]
    assert dataclasses.replace(p, restarts=0).cycle_of(12) == 0


def test_a_run_goes_on_only_when_it_ends_a_cycle_still_rising_with_a_restart_left():
    p = RESTARTING
    rising = _curve(*[0.05] * 8)  # the last 2 of 8 epochs add 0.1
    flat = _curve(*[0.05] * 6, 0, 0)
    assert p.goes_on(rising) and not p.goes_on(flat)
    assert not p.goes_on(rising[:7])  # stopped early: levelled off by definition
    assert p.goes_on(_curve(*[0.05] * 12))  # the first restart ended still rising: one is left
    assert not p.goes_on(_curve(*[0.05] * 16))  # the second did too: none left
    assert not dataclasses.replace(p, restarts=0).goes_on(rising)


def test_convergence_of_a_restarted_run_measures_the_tail_of_its_last_cycle():
    p = RESTARTING
    curve = _curve(*[0.05] * 8, -0.2, 0.1, 0.1, 0.005)  # the restart dips, recovers, then adds 0.005
    conv = p.convergence(curve)
    assert (conv["cycles"], conv["epochs"], conv["epochs_run"], conv["tail_epochs"]) == (2, 12, 12, 1)
    assert conv["tail_gain"] == pytest.approx(0.005) and conv["converged"] is True
    assert conv["best_epoch"] == 12 and conv["stopped_early"] is False
    stopped = p.convergence(curve[:10])  # early stopping ended the restart
    assert stopped["cycles"] == 2 and stopped["stopped_early"] and stopped["converged"]


def test_a_run_at_chance_is_marked_and_never_converged():
    from bench.presets import CHANCE_SHARE, at_chance

    preset = get_preset("cpu-full")
    flat = [0.08, 0.09, 0.085] + [0.088] * 40  # stopped early on a plateau just above the prior
    plain = preset.convergence(flat)
    assert plain["converged"] and "at_chance" not in plain  # without chance the rule cannot tell
    marked = preset.convergence(flat, chance=0.073)
    assert marked["at_chance"] and not marked["converged"] and "chance" in marked["rule"]
    learned = preset.convergence([0.08, 0.3, 0.5] + [0.5] * 40, chance=0.073)
    assert learned["converged"] and not learned["at_chance"]
    assert at_chance(0.073 + CHANCE_SHARE * (1 - 0.073) - 1e-9, 0.073)
    assert not at_chance(0.073 + CHANCE_SHARE * (1 - 0.073) + 1e-9, 0.073)
