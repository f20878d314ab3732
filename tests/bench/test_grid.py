"""Run ids, the paper's grid, and running a grid: skip, fail, go on."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

import bench.training.loop
from bench.config import RunConfig
from bench.presets import PRESETS, Preset
from bench.store import RunStore
from bench.training.grid import paper_grid, run_grid
from bench.training.options import RunOptions

TINY = Preset(name="tiny", epochs=1, width=0.0625, train_clips=8, eval_batch_size=32)


def test_run_id_is_stable():
    cfg = RunConfig(model="gap", alpha=0.0, snr_db=0.0, seed=0, preset="paper", val_fold=4)
    assert cfg.run_id == RunConfig(model="gap", alpha=0, snr_db=0, seed=0, preset="paper").run_id
    assert cfg.run_id == RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))).run_id
    assert len(cfg.run_id) == 10 and int(cfg.run_id, 16) >= 0
    assert cfg.run_id == "bd9eb6b68c"  # a change here orphans every stored run: bump deliberately


def test_run_id_follows_the_presets_settings_registered_or_not():
    cfg = RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset="cpu")
    assert cfg.preset_spec == PRESETS["cpu"] and cfg.preset_key == PRESETS["cpu"].key()
    assert RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset=PRESETS["cpu"]).run_id == cfg.run_id
    reworded = dataclasses.replace(PRESETS["cpu"], note="reworded")
    assert dataclasses.replace(cfg, preset=reworded).run_id == cfg.run_id  # the note is not a setting
    longer = dataclasses.replace(PRESETS["cpu"], epochs=PRESETS["cpu"].epochs + 1)  # an overridden "cpu"
    assert dataclasses.replace(cfg, preset=longer).run_id != cfg.run_id
    # two presets of one's own that share a name get two run ids (and two folders)
    a, b = (Preset(name="mine", epochs=n, width=0.0625) for n in (1, 2))
    ids = {RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset=p).run_id for p in (a, b)}
    assert len(ids) == 2
    assert dataclasses.replace(RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset=a), seed=1).preset_spec == a
    assert (
        dataclasses.replace(RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset=a), preset="cpu").preset_spec
        == (PRESETS["cpu"])
    )
    unregistered = RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset="not-registered")
    assert unregistered.preset_key is None and len(unregistered.run_id) == 10
    assert "preset_spec" not in cfg.to_dict() and RunConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("tsv", ["runs.tsv", "runs-pooling.tsv"])
def test_every_committed_reference_run_id_still_resolves(tsv):
    """The ids of the committed cpu-full reference runs (recorded stand-in, corpus fingerprint
    66db5aa35af1, validation fold 4) come back from their configs."""
    import pandas as pd

    repo = Path(__file__).resolve().parents[2]
    table = pd.read_csv(repo / "results" / "reference" / "cpu-full" / tsv, sep="\t", keep_default_na=False)
    assert len(table) > 30
    for row in table.itertuples():
        cfg = RunConfig(
            model=row.model,
            alpha=row.alpha,
            snr_db=row.snr_db,
            seed=row.seed,
            preset=row.preset,
            corpus="66db5aa35af1",
            mixing=row.mixing,
            augment=row.augment,
        )
        assert cfg.run_id == row.run_id, row


def test_a_finished_run_of_another_preset_key_is_not_done(tiny_corpus, tmp_path):
    from bench.corpus import corpus_fingerprint
    from bench.data import read_clips
    from bench.training.grid import _is_done

    cfg = RunConfig(model="gap", alpha=0.0, snr_db=20.0, seed=2, preset=TINY)
    run_grid([cfg], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu")
    fingerprint = corpus_fingerprint(read_clips(tiny_corpus))
    assert _is_done(tmp_path, cfg, corpus=fingerprint)
    store = RunStore(tmp_path / "runs", cfg.run_id)
    store.write_config({**store.read_config(), "preset_key": "0123456789"})
    assert not _is_done(tmp_path, cfg, corpus=fingerprint)


@pytest.mark.parametrize(
    "change",
    [
        {"model": "gmp"},
        {"alpha": 0.1},
        {"snr_db": 10.0},
        {"seed": 1},
        {"preset": "paper"},
        {"val_fold": 1},
    ],
)
def test_run_id_changes_with_every_field(change):
    cfg = RunConfig(model="gap", alpha=0.0, snr_db=0.0)
    assert dataclasses.replace(cfg, **change).run_id != cfg.run_id


def test_paper_grid_covers_tables_1_and_2():
    grid = paper_grid(snrs=(0, 10, 20), seeds=3)
    assert len(grid) == len(set(grid)) == 63
    one = {(c.model, c.alpha, c.snr_db) for c in grid if c.seed == 0}
    assert len(one) == 21
    for snr in (0.0, 10.0, 20.0):
        for row in [
            ("gap", 0.0),
            ("gmp", 0.0),
            ("gwrp", 0.0),
            ("atrous_ap", 0.0),
            ("2ap_aux", 0.001),
            ("2ap", 0.0),
            ("2ap_aux", 0.1),
        ]:
            assert (*row, snr) in one
    assert {c.seed for c in grid} == {0, 1, 2}
    assert [c.seed for c in grid[:21]] == [0] * 21  # a whole seed first
    cv = paper_grid(snrs=(0,), seeds=1, val_folds=(1, 2, 3, 4))
    assert {c.val_fold for c in cv} == {1, 2, 3, 4} and len(cv) == 28


def test_grid_skips_done_runs_and_survives_a_failed_one(tiny_corpus, tmp_path, monkeypatch):
    good = RunConfig(model="gap", alpha=0.0, snr_db=0.0, seed=0, preset=TINY)
    bad = RunConfig(model="gmp", alpha=0.0, snr_db=0.0, seed=0, preset=TINY)
    real_build = bench.training.loop.build_model

    def build(config, preset, **kw):
        model = real_build(config, preset, **kw)
        if config.model == "gmp":  # this model's loss turns NaN
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(float("nan"))
        return model

    monkeypatch.setattr(bench.training.loop, "build_model", build)
    events = []
    summary = run_grid(
        configs=[bad, good],
        results_dir=tmp_path,
        corpus_dir=tiny_corpus,
        device="cpu",
        callback=events.append,
    )
    assert summary.done == [good.run_id]
    assert [r for r, _ in summary.failed] == [bad.run_id]
    assert "non-finite" in summary.failed[0][1]
    status = RunStore(tmp_path / "runs", bad.run_id).read_status()
    assert status["status"] == "failed" and "non-finite" in status["reason"]
    assert RunStore(tmp_path / "runs", good.run_id).read_status()["status"] == "done"
    assert [e["event"] for e in events if e["event"] == "epoch"] == ["epoch"]  # the good run trained

    # second pass: the done run is skipped (no training at all), the failed one is retried
    calls = []
    monkeypatch.setattr(
        bench.training.loop,
        "_fit",
        lambda *a, **k: calls.append(a[0].config.run_id) or (_ for _ in ()).throw(RuntimeError("retried")),
    )
    summary = run_grid(configs=[good, bad], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu")
    assert summary.skipped == [good.run_id]
    assert calls == [bad.run_id] and summary.failed[0][1] == "RuntimeError: retried"

    # a finished run of an unpinned config is done only for the corpus it was trained on
    store = RunStore(tmp_path / "runs", good.run_id)
    store.write_config({**store.read_config(), "corpus_fingerprint": "another-corpus"})
    calls.clear()
    summary = run_grid(configs=[good], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu")
    assert summary.skipped == [] and calls == [good.run_id]


def test_cuda_without_gpu_is_a_user_error(tmp_path, tiny_corpus):
    from bench.errors import BenchError

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(BenchError, match="no CUDA GPU"):
        run_grid(
            [RunConfig(model="gap", alpha=0, snr_db=0)], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cuda"
        )


def test_grid_through_an_executor(tiny_corpus, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    cfg = RunConfig(model="gap", alpha=0.0, snr_db=20.0, seed=3, preset=TINY)
    with ThreadPoolExecutor(max_workers=1) as pool:
        summary = run_grid(
            configs=[cfg, cfg],
            results_dir=tmp_path,
            corpus_dir=tiny_corpus,
            device="cpu",
            executor=pool,
        )
    assert summary.done == [cfg.run_id] and not summary.failed  # duplicates run once
    assert RunStore(tmp_path / "runs", cfg.run_id).read_status()["status"] == "done"


def test_run_id_depends_on_the_corpus():
    base = RunConfig(model="gap", alpha=0.0, snr_db=0.0, seed=0, preset="paper")
    a = dataclasses.replace(base, corpus="aaaaaaaaaaaa")
    b = dataclasses.replace(base, corpus="bbbbbbbbbbbb")
    assert len({base.run_id, a.run_id, b.run_id}) == 3
    assert all(cfg.corpus == "cccc" for cfg in paper_grid(seeds=1, preset="paper", corpus="cccc"))


def test_model_options_enter_the_run_id_only_when_given():
    base = RunConfig(model="2ap_aux", alpha=0.001, snr_db=20.0, preset="paper")
    assert base.run_id == RunConfig(model="2ap_aux", alpha=0.001, snr_db=20.0, preset="paper", options={}).run_id
    a = RunConfig(
        model="2ap_aux",
        alpha=0.001,
        snr_db=20.0,
        preset="paper",
        options={"time_layer": "conv", "attention": "as_printed"},
    )
    b = RunConfig(
        model="2ap_aux",
        alpha=0.001,
        snr_db=20.0,
        preset="paper",
        options=(("attention", "as_printed"), ("time_layer", "conv")),
    )
    assert a == b and a.run_id == b.run_id != base.run_id
    assert a.options == (("attention", "as_printed"), ("time_layer", "conv"))  # sorted
    assert RunConfig.from_dict(json.loads(json.dumps(a.to_dict()))).run_id == a.run_id
    assert "attention=as_printed time_layer=conv" in a.label


def test_paper_grid_ablations_add_the_attention_variants():
    plain = paper_grid(seeds=1, snrs=(20,), preset="paper")
    more = paper_grid(seeds=1, snrs=(20,), preset="paper", ablations=True)
    extra = [c for c in more if c not in plain]
    assert len(more) == len(plain) + 2 and all(c.model == "2ap_aux" and c.alpha == 0.001 for c in extra)
    assert {dict(c.options)["attention"] for c in extra} == {"sigmoid_in_softmax", "as_printed"}


def test_grid_in_parallel_processes_trains_what_one_process_trains(tiny_corpus, tmp_path):
    configs = [RunConfig(model=m, alpha=0.0, snr_db=20.0, seed=0, preset="smoke") for m in ("gap", "gmp")]
    parallel = run_grid(
        configs,
        results_dir=tmp_path / "par",
        corpus_dir=tiny_corpus,
        device="cpu",
        jobs=2,
        options=RunOptions(threads=1),
    )
    serial = run_grid(
        configs, results_dir=tmp_path / "ser", corpus_dir=tiny_corpus, device="cpu", options=RunOptions(threads=1)
    )
    assert sorted(parallel.done) == sorted(serial.done) == sorted(c.run_id for c in configs)
    for cfg in configs:
        a = RunStore(tmp_path / "par" / "runs", cfg.run_id).read_metrics()
        b = RunStore(tmp_path / "ser" / "runs", cfg.run_id).read_metrics()
        assert a["val"]["micro_ap"] == pytest.approx(b["val"]["micro_ap"], rel=1e-5)


def test_jobs_on_a_gpu_or_below_one_is_refused(tiny_corpus, tmp_path):
    from bench.errors import BenchError

    cfg = RunConfig(model="gap", alpha=0.0, snr_db=20.0, preset="smoke")
    with pytest.raises(BenchError, match="at least 1"):
        run_grid([cfg], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu", jobs=0)
    with pytest.raises(BenchError, match="--gpus"):
        run_grid([cfg], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu", jobs=2, gpus=[0])
