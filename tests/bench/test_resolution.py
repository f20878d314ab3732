"""Constants tied to the paper's map size follow a preset's resolution."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bench.config import RunConfig
from bench.presets import get_preset
from bench.resolution import (
    PAPER_GWRP_DECAY,
    gwrp_decay,
    last_rank_weight,
    raw_median_frames,
    resolution_constants,
)
from bench.training.loop import build_model, resolution_record
from models.pooling import rank_weights


def _fraction_weights(decay: float, n: int, fractions: np.ndarray) -> np.ndarray:
    """Rank weights at given fractions of ``n`` ranks, straight from the definition (decay ** rank)."""
    ranks = np.floor(fractions * (n - 1)).astype(int)
    return np.array([decay**r for r in ranks])


def test_paper_map_keeps_the_papers_decay_exactly():
    assert gwrp_decay(n_frames=311, n_mels=64) == PAPER_GWRP_DECAY


@pytest.mark.parametrize("frames,mels", [(77, 16), (38, 16), (311, 16), (20, 8)])
def test_scaled_decay_weighs_every_fraction_of_the_ranks_as_the_paper(frames, mels):
    n = frames * mels
    d = gwrp_decay(n_frames=frames, n_mels=mels)
    assert d == pytest.approx(PAPER_GWRP_DECAY ** (311 * 64 / n), rel=1e-12)  # the rule, computed directly
    # the model's own weights at the same fractions of the ranks match the paper's (within one rank's step)
    fractions = np.linspace(0, 1, 11)
    ours = rank_weights(n, decay=d).numpy()[np.floor(fractions * (n - 1)).astype(int)]
    paper = _fraction_weights(PAPER_GWRP_DECAY, 311 * 64, fractions)
    np.testing.assert_allclose(ours, paper, rtol=0.01 + (1 - d))


def test_cpu_full_last_rank_within_a_factor_two_of_the_papers():
    paper_last = last_rank_weight(PAPER_GWRP_DECAY, n=311 * 64)
    assert paper_last == pytest.approx(0.019, abs=5e-4)
    d = gwrp_decay(n_frames=77, n_mels=16)
    assert d == pytest.approx(0.99677, abs=1e-5)
    ours = last_rank_weight(d, n=77 * 16)
    assert paper_last / 2 <= ours <= paper_last * 2
    # the fixed decay on the same map was nearly an average
    assert last_rank_weight(PAPER_GWRP_DECAY, n=77 * 16) > 0.75


def test_raw_median_filter_is_160_ms_at_any_hop():
    assert raw_median_frames(1024 / 32000) == 5  # the paper's 5 frames
    assert raw_median_frames(4096 / 32000) == 1  # 0.16 s is 1.25 frames of 128 ms
    assert raw_median_frames(8192 / 32000) == 1
    assert raw_median_frames(512 / 32000) == 11  # 10 frames -> the odd count nearest


def test_an_explicit_option_wins_over_the_scaled_decay():
    assert resolution_constants("gwrp", {"gwrp_decay": 0.5}, n_frames=77, n_mels=16) == {}
    assert resolution_constants("gap", {}, n_frames=77, n_mels=16) == {}
    scaled = resolution_constants("gwrp", {}, n_frames=77, n_mels=16)["gwrp_decay"]
    assert math.isclose(scaled, gwrp_decay(n_frames=77, n_mels=16))


def test_built_model_and_config_record_carry_the_scaled_decay():
    preset = get_preset("cpu-full")
    config = RunConfig(model="gwrp", alpha=0.0, snr_db=20, preset="cpu-full")
    net = build_model(config, preset, n_frames=77, n_mels=16)
    expected = gwrp_decay(n_frames=77, n_mels=16)
    assert net.config.gwrp_decay == pytest.approx(expected)
    assert net.head.decay == pytest.approx(expected)
    record = resolution_record(config, n_frames=77, n_mels=16)
    assert record["gwrp_decay"] == pytest.approx(expected)
    assert record["gwrp_last_rank_weight"] == pytest.approx(expected ** (77 * 16 - 1))
    # --option gwrp_decay= still sets it, and the record says where it came from
    fixed = RunConfig(model="gwrp", alpha=0.0, snr_db=20, preset="cpu-full", options={"gwrp_decay": 0.9998})
    assert build_model(fixed, preset, n_frames=77, n_mels=16).config.gwrp_decay == 0.9998
    assert resolution_record(fixed, n_frames=77, n_mels=16)["gwrp_decay_from"] == "option"
    # other models take nothing from it
    assert "gwrp_decay" not in resolution_record(RunConfig(model="gap", alpha=0.0, snr_db=20), n_frames=77, n_mels=16)


def test_scaled_gwrp_gets_its_own_run_id_on_cpu_presets_only():
    scaled = RunConfig(model="gwrp", alpha=0.0, snr_db=20, preset="cpu-full")
    assert scaled.scaled_gwrp
    paper = RunConfig(model="gwrp", alpha=0.0, snr_db=20, preset="paper")
    assert not paper.scaled_gwrp  # the paper's map: the decay is the paper's, the id unchanged
    explicit = RunConfig(model="gwrp", alpha=0.0, snr_db=20, preset="cpu-full", options={"gwrp_decay": 0.9998})
    assert not explicit.scaled_gwrp and explicit.run_id != scaled.run_id
    gap = RunConfig(model="gap", alpha=0.0, snr_db=20, preset="cpu-full")
    assert not gap.scaled_gwrp


def test_gwrp_pools_the_same_maps_less_like_an_average_once_scaled():
    torch.manual_seed(0)
    maps = torch.rand(2, 3, 77, 16)
    from models.pooling import global_pool

    mean = maps.mean(dim=(-2, -1))
    fixed, _ = global_pool(maps, kind="gwrp", decay=PAPER_GWRP_DECAY)
    scaled, _ = global_pool(maps, kind="gwrp", decay=gwrp_decay(n_frames=77, n_mels=16))
    assert ((scaled - mean) > 2 * (fixed - mean)).all()  # the scaled decay leans on the top ranks


@pytest.mark.parametrize(
    "name, hop_s, frames", [("cpu-full", 0.128, 77), ("cpu-full-64", 0.064, 155), ("cpu-full-32", 0.032, 311)]
)
def test_resolution_rungs_differ_from_cpu_full_only_in_their_features(name, hop_s, frames):
    import dataclasses

    base, rung = get_preset("cpu-full"), get_preset(name)
    assert rung.features.hop_s == pytest.approx(hop_s) and rung.n_frames(320000) == frames
    assert rung.features.n_mels == 16 and rung.features.n_fft == 2 * rung.features.hop_length
    same = {k: v for k, v in dataclasses.asdict(rung).items() if k not in ("name", "features", "note")}
    assert same == {k: v for k, v in dataclasses.asdict(base).items() if k not in ("name", "features", "note")}
    config = RunConfig(model="gwrp", alpha=0.0, snr_db=20.0, preset=name)
    record = resolution_record(config, n_frames=frames, n_mels=16)
    assert record["n_frames"] == frames and record["gwrp_decay"] == pytest.approx(0.9998 ** (19904 / (frames * 16)))
    model = build_model(config, rung, n_frames=frames, n_mels=16)
    assert model.config.n_frames == frames and model.config.gwrp_decay == pytest.approx(record["gwrp_decay"])
    two_ap = build_model(
        RunConfig(model="2ap_aux", alpha=0.001, snr_db=20.0, preset=name), rung, n_frames=frames, n_mels=16
    )
    assert two_ap.head.time_scores.weight.shape == (frames, frames)  # the 2AP time layer follows the frames
    ids = {
        RunConfig(model="gwrp", alpha=0.0, snr_db=20.0, preset=p).run_id
        for p in ("cpu-full", "cpu-full-64", "cpu-full-32")
    }
    assert len(ids) == 3
