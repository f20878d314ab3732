"""Fresh mixtures every epoch and time shifts: the corpus's own rendering, the training folds'
sources only, the same clips whatever the number of loader processes, exact resume."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf
import torch

from bench.config import RunConfig
from bench.corpus import corpus_fingerprint
from bench.data import ClipSet, read_clips
from bench.errors import BenchError
from bench.features import Standardizer
from bench.presets import Preset
from bench.store import RunStore
from bench.training.loop import train_run
from bench.training.mixing import FreshMixtures, shift_frames, shifted
from bench.training.options import RunOptions
from remix.fresh import corpus_sources
from remix.recipe import plan_fresh
from remix.render import mix_clip

TINY_MIX = Preset(name="tiny-mix", epochs=3, width=0.0625, lr=3e-3, train_clips=None, eval_batch_size=64)


@pytest.fixture(scope="module")
def sources(tiny_corpus):
    return corpus_sources(tiny_corpus)


def _mixtures(corpus, **kwargs):
    from bench.features import LogMelSettings

    settings = LogMelSettings(n_mels=16, n_fft=8192, hop_length=4096)
    identity = Standardizer(np.zeros(16), np.ones(16))
    base = dict(snr_db=0.0, train_folds=(1, 2, 3), n_per_fold=3, seed=5, settings=settings, standardizer=identity)
    return FreshMixtures(corpus, **{**base, **kwargs})


def test_mix_clip_is_the_corpus_file(tiny_corpus, sources):
    clips = read_clips(tiny_corpus)
    plan = next(p for p in sources.plans if p.clip_id == "fold1_00000")
    for snr in (0.0, 20.0):
        row = clips[(clips["clip_id"] == plan.clip_id) & np.isclose(clips["snr_db"], snr)].iloc[0]
        written, _ = sf.read(tiny_corpus / row["audio_path"], dtype="float32")
        np.testing.assert_array_equal(mix_clip(plan, settings=sources.render, snr_db=snr), written)


def test_fresh_mixtures_never_use_validation_or_test_sources(sources):
    held_out = sources.pools[4].paths | sources.pools[0].paths
    used = set()
    for epoch in range(1, 9):
        for plan in plan_fresh(
            sources.pools, options=sources.recipe, seed=sources.seed, folds=(1, 2, 3), n_per_fold=6, key=(0, epoch)
        ):
            assert plan.fold in (1, 2, 3)
            used |= {plan.scene_path, *(e.source_path for e in plan.events)}
    assert used and not (used & held_out)
    with pytest.raises(Exception, match="development folds only"):
        plan_fresh(sources.pools, options=sources.recipe, seed=sources.seed, folds=(0,), n_per_fold=1, key=(0,))


def test_fresh_mixtures_are_new_each_epoch_and_the_same_for_any_worker_count(tiny_corpus):
    with _mixtures(tiny_corpus, workers=0) as serial, _mixtures(tiny_corpus, workers=2) as pooled:
        a3, b3 = serial.epoch(3), pooled.epoch(3, prefetch=4)
        b4 = pooled.epoch(4)
        a4 = serial.epoch(4)
    assert a3.clip_ids == b3.clip_ids and len(a3) == 9
    torch.testing.assert_close(a3.x, b3.x, rtol=0, atol=0)
    torch.testing.assert_close(a4.x, b4.x, rtol=0, atol=0)
    torch.testing.assert_close(a3.y, b3.y, rtol=0, atol=0)
    assert not torch.equal(a3.x, a4.x)  # other mixtures in another epoch
    assert (a3.y.sum(dim=1) == 3).all()  # three events each, with their labels


def test_shift_rolls_every_clip_and_keeps_labels():
    x = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    data = ClipSet(("a", "b"), x, torch.eye(2))
    out = shifted(data, seed=1, epoch=2)
    shifts = shift_frames(2, 5, seed=1, epoch=2)
    for i in range(2):
        torch.testing.assert_close(out.x[i], torch.roll(x[i], int(shifts[i]), dims=0))
    torch.testing.assert_close(out.y, data.y)
    torch.testing.assert_close(shifted(data, seed=1, epoch=2).x, out.x)  # a function of (seed, epoch, clip)


def test_online_mixing_and_shift_change_the_run_id_only_when_asked():
    base = RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset="smoke")
    assert dataclasses.replace(base, mixing="fixed").run_id == base.run_id
    ids = {
        base.run_id,
        dataclasses.replace(base, mixing="online").run_id,
        dataclasses.replace(base, augment="shift").run_id,
    }
    assert len(ids) == 3


def _train(tiny_corpus, results, config, monkeypatch, workers, *, stop_after=None):

    def callback(event):
        if stop_after is not None and event["epoch"] == stop_after:
            raise KeyboardInterrupt

    return train_run(
        config,
        corpus_dir=tiny_corpus,
        results_dir=results,
        device="cpu",
        callback=callback,
        options=RunOptions(loader_workers=workers),
    )


def test_a_run_on_fresh_mixtures_is_the_same_for_any_worker_count_and_after_a_resume(
    tiny_corpus, tmp_path, monkeypatch
):
    config = RunConfig(
        model="gap",
        alpha=0.0,
        snr_db=0.0,
        seed=1,
        preset=TINY_MIX,
        corpus=corpus_fingerprint(read_clips(tiny_corpus)),
        mixing="online",
        augment="shift",
    )
    serial = _train(tiny_corpus, tmp_path / "a", config, monkeypatch, 0)
    pooled = _train(tiny_corpus, tmp_path / "b", config, monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_corpus, tmp_path / "c", config, monkeypatch, 1, stop_after=2)
    resumed = _train(tiny_corpus, tmp_path / "c", config, monkeypatch, 1)
    curves = [RunStore(tmp_path / r / "runs", config.run_id).read_curves() for r in "abc"]
    for other in curves[1:]:
        np.testing.assert_array_equal(curves[0]["train_loss"], other["train_loss"])
        np.testing.assert_array_equal(curves[0]["val_micro_ap"], other["val_micro_ap"])
    for other in (pooled, resumed):
        assert other["val"]["micro_ap"] == serial["val"]["micro_ap"]
    record = RunStore(tmp_path / "a" / "runs", config.run_id).read_config()
    assert record["mixing"] == "online" and record["augment"] == "shift"


def test_fresh_mixtures_need_the_corpus_sources(fabricated_corpus):
    with pytest.raises(BenchError):
        _mixtures(fabricated_corpus, workers=0)


def test_bench_run_with_fresh_mixtures_and_shifts(tiny_corpus, tmp_path):
    from typer.testing import CliRunner

    from bench.cli import app

    runner = CliRunner()
    args = ["run", "--model", "gap", "--snr", "0", "--seeds", "1", "--preset", "smoke", "--device", "cpu"]
    args += ["--corpus", str(tiny_corpus), "--results", str(tmp_path)]
    result = runner.invoke(app, [*args, "--mixing", "online", "--augment", "shift", "--loader-workers", "0"])
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    record = RunStore(tmp_path / "runs", run.name).read_config()
    assert (record["mixing"], record["augment"]) == ("online", "shift")
    bad = runner.invoke(app, [*args, "--mixing", "sometimes"])
    assert bad.exit_code == 2 and "--mixing must be one of fixed, online" in bad.output
