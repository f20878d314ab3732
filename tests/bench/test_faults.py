"""Faults around training and its caches: tampered or misplaced caches, damaged run files, a full disk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import bench.feature_cache as features_mod
import bench.store as store_mod
from bench.cli import app
from bench.config import RunConfig
from bench.errors import BenchError
from bench.feature_cache import FEATURE_CACHE_ENV, compute_features, feature_cache_paths
from bench.features import LogMelSettings
from bench.presets import Preset
from bench.store import ResultsBusy, RunStore
from bench.training.grid import run_grid

SMALL = LogMelSettings(n_mels=16, hop_length=4096)
TINY = Preset(name="tiny", epochs=2, width=0.0625, train_clips=8, eval_batch_size=32)
runner = CliRunner()


@pytest.fixture
def corpus(tiny_corpus, tmp_path):
    """A private copy of the tiny corpus (its caches are changed here)."""
    copy = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, copy, ignore=shutil.ignore_patterns("features"), copy_function=shutil.copy2)
    return copy


# ---------------------------------------------------------------- the feature cache


def test_a_tampered_cache_is_recomputed_with_a_warning(corpus, capsys):
    first = np.array(compute_features(corpus, snr_db=0, settings=SMALL, progress=False).features)
    array_path, _ = feature_cache_paths(corpus, snr_db=0, settings=SMALL)
    data = bytearray(array_path.read_bytes())
    data[100:104] = np.float32(123.0).tobytes()  # same size, one value changed
    array_path.write_bytes(bytes(data))
    features_mod._VERIFIED.clear()  # a new process
    capsys.readouterr()
    again = compute_features(corpus, snr_db=0, settings=SMALL, progress=False)
    assert "does not match its checksum" in capsys.readouterr().err
    assert np.array_equal(np.asarray(again.features), first)
    features_mod._VERIFIED.clear()
    compute_features(corpus, snr_db=0, settings=SMALL, progress=False)  # now it holds: no warning
    assert "checksum" not in capsys.readouterr().err


def test_cache_outside_the_corpus(corpus, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    fs = compute_features(corpus, snr_db=20, settings=SMALL, progress=False, cache_dir=cache)
    assert fs.path.is_relative_to(cache) and not (corpus / "features").exists()
    monkeypatch.setenv(FEATURE_CACHE_ENV, str(cache))
    again = compute_features(corpus, snr_db=20, settings=SMALL, progress=False)
    assert again.path == fs.path and np.array_equal(np.asarray(again.features), np.asarray(fs.features))


def test_a_read_only_corpus_caches_in_the_user_cache(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEDREMIX_CACHE", str(tmp_path / "user"))
    real = features_mod._writable
    monkeypatch.setattr(features_mod, "_writable", lambda folder: not folder.is_relative_to(corpus) and real(folder))
    fs = compute_features(corpus, snr_db=0, settings=SMALL, progress=False)
    assert fs.path.is_relative_to(tmp_path / "user" / "features") and not (corpus / "features").exists()
    assert "cannot be written" in capsys.readouterr().err
    monkeypatch.setenv(FEATURE_CACHE_ENV, str(corpus / "elsewhere"))  # an explicit folder that is not writable
    with pytest.raises(BenchError, match="--cache DIR"):
        compute_features(corpus, snr_db=0, settings=SMALL, progress=False)


def test_a_killed_computation_leaves_nothing_for_long(corpus):
    array_path, _ = feature_cache_paths(corpus, snr_db=0, settings=SMALL)
    array_path.parent.mkdir(parents=True)
    stale = array_path.parent / f".snr0.partial-{os.getpid()}-dead.f32"  # as left by kill -9
    stale.write_bytes(b"\0" * 4096)
    other = array_path.parent / ".snr20.partial-1-x.f32"  # another SNR's: not this computation's
    other.write_bytes(b"x")
    compute_features(corpus, snr_db=0, settings=SMALL, progress=False)
    assert not stale.exists() and other.exists()


def test_a_truncated_manifest_is_one_line(corpus, tmp_path):
    manifest = corpus / "manifest" / "clips.parquet"
    manifest.write_bytes(manifest.read_bytes()[:200])
    with pytest.raises(BenchError, match="damaged"):
        compute_features(corpus, snr_db=0, settings=SMALL, progress=False)
    result = runner.invoke(
        app, ["run", "--model", "gap", "--corpus", str(corpus), "--results", str(tmp_path / "r"), "--preset", "smoke"]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output and "remix build" in result.output


# ---------------------------------------------------------------- run files


def test_a_running_status_of_a_dead_process_reads_as_failed(tmp_path):
    store = RunStore(tmp_path, "abc")
    store.write_status("running")
    assert store.read_status()["status"] == "running"  # this process: alive
    data = json.loads((store.path / "status.json").read_text())
    (store.path / "status.json").write_text(json.dumps({**data, "pid": 99999999}))
    status = store.read_status()
    assert status["status"] == "failed" and "interrupted" in status["reason"]


def test_failed_is_recorded_even_when_the_atomic_write_fails(tmp_path, monkeypatch):
    store = RunStore(tmp_path, "abc")
    store.write_status("running")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod, "atomic_write_json", full)
    assert store.mark_failed("disk full")
    assert store.read_status()["status"] == "failed" and store.read_status()["reason"] == "disk full"


def test_a_damaged_last_checkpoint_falls_back_or_restarts(tmp_path):
    store = RunStore(tmp_path, "abc")
    for epoch in (1, 2):
        store.save_checkpoint({"epoch": epoch}, best=False)
    assert torch.load(store.last_prev_path)["epoch"] == 1
    store.last_path.write_bytes(store.last_path.read_bytes()[:40])  # truncated
    note = store.repair_resume_state()
    assert "resuming from the state before it (epoch 1)" in note
    assert torch.load(store.last_path)["epoch"] == 1
    assert store.repair_resume_state() is None  # now sound
    store.last_path.write_bytes(b"junk")
    store.last_prev_path.unlink()
    assert "restarting the run from scratch" in store.repair_resume_state()
    assert not store.last_path.exists()


def test_temporary_files_of_a_killed_run_are_removed(tmp_path):
    store = RunStore(tmp_path, "abc")
    store.write_status("running")
    stale = store.path / ".last.partial-99999999-0000.pt"
    stale.write_bytes(b"half a checkpoint")
    assert store.remove_partials() == 1 and not stale.exists() and (store.path / "status.json").is_file()


def test_a_second_grid_on_the_same_results_is_refused(tiny_corpus, tmp_path):
    code = textwrap.dedent(f"""
        import time
        from remix.lock import folder_lock
        with folder_lock({str(tmp_path / "runs")!r}, what="results folder"):
            print("held", flush=True)
            time.sleep(120)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ResultsBusy, match=f"process {holder.pid}"):
            run_grid(
                [RunConfig(model="gap", alpha=0, snr_db=0)], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu"
            )
    finally:
        holder.kill()
        holder.wait()


def test_damaged_run_files_are_handled_on_the_next_run(tiny_corpus, tmp_path, capsys):
    cfg = RunConfig(model="gap", alpha=0.0, snr_db=0.0, seed=0, preset=TINY)

    def run():
        return run_grid([cfg], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu")

    assert run().done == [cfg.run_id]
    store = RunStore(tmp_path / "runs", cfg.run_id)
    metrics = store.read_metrics()
    curves = store.read_curves()

    # a damaged metrics.json under "done": re-evaluated from the checkpoint, not skipped, not retrained
    (store.path / "metrics.json").write_text('{"val": {"micro')
    summary = run()
    assert summary.done == [cfg.run_id] and not summary.skipped
    assert store.read_metrics() == metrics and store.read_curves().equals(curves)

    # a truncated last.pt: resumed from the state before it, same result
    store.last_path.write_bytes(store.last_path.read_bytes()[:100])
    (store.path / "metrics.json").unlink()
    capsys.readouterr()
    assert run().done == [cfg.run_id]
    assert "last.pt is damaged" in capsys.readouterr().err
    assert store.read_metrics() == metrics and store.read_status()["status"] == "done"


def test_a_full_disk_in_the_results_stops_with_one_line_and_marks_the_run(tiny_corpus, tmp_path, monkeypatch):
    cfg = RunConfig(model="gap", alpha=0.0, snr_db=0.0, seed=1, preset=TINY)

    def full(self, state, *, best):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunStore, "save_checkpoint", full)
    with pytest.raises(BenchError, match="No space left") as info:
        run_grid(configs=[cfg], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu")
    assert info.value.__cause__ is None
    status = RunStore(tmp_path / "runs", cfg.run_id).read_status()
    assert status["status"] == "failed" and "No space left" in status["reason"]


def test_plot_of_a_damaged_checkpoint_is_one_line(tiny_corpus, tmp_path):
    store = RunStore(tmp_path / "runs", "abc")
    store.write_config({"run_id": "abc", "corpus_dir": str(tiny_corpus), "snr_db": 0.0, "val_fold": 4})
    store.checkpoint_path.write_bytes(b"PK\x03\x04 not a checkpoint")
    result = runner.invoke(app, ["plot", "--run", "abc", "--results", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output and "damaged" in result.output
