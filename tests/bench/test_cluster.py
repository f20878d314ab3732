"""The grid on a Dask cluster: same runs as a local grid, GPU resources, failures, a lost worker."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from typer.testing import CliRunner

from bench.cli import app
from bench.config import RunConfig
from bench.errors import BenchError
from bench.presets import CPU_FEATURES, Preset
from bench.store import RunStore
from bench.training.grid import run_grid
from tests.cluster_helpers import loopback_cluster, start_worker

runner = CliRunner()


def _done_runs(results) -> dict[str, str]:
    """Run id -> model of every finished run under ``results``."""
    out = {}
    for path in sorted(p for p in (results / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")):
        status = json.loads((path / "status.json").read_text())
        if status["status"] == "done" and (path / "metrics.json").is_file():
            out[path.name] = json.loads((path / "config.json").read_text())["model"]
    return out


@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    with loopback_cluster(tmp_path_factory.mktemp("dask"), workers=2) as cluster:
        yield cluster


def test_grid_on_a_loopback_scheduler_trains_the_local_grids_runs(tiny_corpus, loopback, tmp_path):
    from bench.training.grid import plan_runs

    common = [
        "run",
        "--all",
        "--preset",
        "smoke",
        "--seeds",
        "1",
        "--snr",
        "20",
        "--device",
        "cpu",
        "--corpus",
        str(tiny_corpus),
        "--results",
        str(tmp_path),
        "--cluster",
        loopback.address,
    ]
    result = runner.invoke(app, common)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "(2 worker(s))" in result.output
    assert "7 trained, 0 skipped" in result.output
    # the runs a local grid trains for the same options (the local path is tested in test_grid and test_cli)
    local = plan_runs(
        corpus=tiny_corpus, all_runs=True, model=None, snrs=[20.0], alpha=None, seeds=1, preset="smoke", folds=False
    )
    assert _done_runs(tmp_path) == {c.run_id: c.model for c in local}
    again = runner.invoke(app, common)
    assert again.exit_code == 0 and "0 trained, 7 skipped" in again.output  # finished runs are skipped


def test_run_options_reach_workers_started_before_the_command(tiny_corpus, loopback, tmp_path, monkeypatch):
    """--deterministic and --cache travel with each task: the workers' environment never saw them."""
    from bench.feature_cache import FEATURE_CACHE_ENV

    monkeypatch.delenv(FEATURE_CACHE_ENV, raising=False)
    monkeypatch.delenv("SEDREMIX_DETERMINISTIC", raising=False)
    cache = tmp_path / "cache"
    args = ["run", "--model", "gap", "--snr", "20", "--seeds", "1", "--preset", "smoke", "--device", "cpu"]
    args += ["--corpus", str(tiny_corpus), "--results", str(tmp_path / "results"), "--cluster", loopback.address]
    result = runner.invoke(app, [*args, "--deterministic", "--cache", str(cache), "--evaluate", "tagging"])
    assert result.exit_code == 0, result.output
    assert FEATURE_CACHE_ENV not in os.environ  # nothing went through this process's environment
    (run_dir,) = [p for p in (tmp_path / "results" / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")]
    record = json.loads((run_dir / "config.json").read_text())
    assert record["training"]["deterministic"] is True and record["training"]["threads"] == 1
    assert any(cache.rglob("*.json")), "the worker did not write its features into --cache"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "localisation" not in metrics["val"]  # --evaluate tagging reached the worker too


def test_cluster_option_errors_are_one_line(tiny_corpus, tmp_path):
    base = [
        "run",
        "--model",
        "gap",
        "--snr",
        "0",
        "--seeds",
        "1",
        "--preset",
        "smoke",
        "--corpus",
        str(tiny_corpus),
        "--results",
        str(tmp_path),
    ]
    bad = runner.invoke(app, [*base, "--cluster", "local:none"])
    assert bad.exit_code == 2 and "--cluster takes local:N" in bad.output
    both = runner.invoke(app, [*base, "--cluster", "local:1", "--gpus", "0"])
    assert both.exit_code == 2 and "--gpus and --cluster do not go together" in both.output
    assert "Traceback" not in bad.output + both.output


def test_a_failing_run_is_reported_and_the_grid_goes_on(tiny_corpus, loopback, tmp_path):
    from distributed import Client

    good = RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset="smoke")
    bad = RunConfig(model="gmp", alpha=0.0, snr_db=0.0, preset="smoke", val_fold=9)  # no such fold
    with Client(loopback.address) as client:
        summary = run_grid([bad, good], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu", executor=client)
    assert summary.done == [good.run_id]
    assert [r for r, _ in summary.failed] == [bad.run_id] and "fold" in summary.failed[0][1]
    assert RunStore(tmp_path / "runs", bad.run_id).read_status()["status"] == "failed"


def test_features_once_per_snr_before_its_runs(tiny_corpus, tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import bench.training.grid

    tiny = Preset(name="tiny", epochs=1, width=0.0625, train_clips=8, eval_batch_size=32, features=CPU_FEATURES)
    real, calls = bench.training.grid._features_one, []

    def features_one(corpus_dir, snr_db, settings, cache_dir):
        calls.append(snr_db)
        if snr_db == 0:
            raise BenchError("cannot decode clip0001.flac")
        return real(corpus_dir, snr_db, settings, cache_dir)

    monkeypatch.setattr(bench.training.grid, "_features_one", features_one)
    at20 = [RunConfig(model=m, alpha=0.0, snr_db=20.0, preset=tiny) for m in ("gap", "gmp")]
    at0 = RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset=tiny)
    with ThreadPoolExecutor(max_workers=2) as pool:
        summary = run_grid([at0, *at20], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cpu", executor=pool)
    assert sorted(calls) == [0.0, 20.0]  # once per SNR, not once per run
    assert sorted(summary.done) == sorted(c.run_id for c in at20)
    assert summary.failed == [(at0.run_id, "features of SNR 0 dB: BenchError: cannot decode clip0001.flac")]


def test_gpu_runs_ask_for_a_gpu_resource(tiny_corpus, tmp_path):
    from distributed import Client, get_task_stream

    cfg = RunConfig(model="gap", alpha=0.0, snr_db=0.0, preset="smoke")
    with loopback_cluster(tmp_path / "dask", workers=1) as cluster:
        with Client(cluster.address) as client:
            with pytest.raises(BenchError, match="no worker of the Dask cluster offers a GPU"):
                run_grid([cfg], results_dir=tmp_path, corpus_dir=tiny_corpus, device="cuda", executor=client)
            start_worker(cluster, resources="GPU=1")  # a worker claiming a GPU this machine does not have
            client.wait_for_workers(2, timeout=60)
            gpu_worker = next(a for a, w in client.scheduler_info()["workers"].items() if w.get("resources"))
            for device in ("cuda", "auto"):  # auto: GPU runs as soon as a worker offers a GPU
                with get_task_stream(client) as stream:
                    summary = run_grid(
                        [cfg], results_dir=tmp_path / device, corpus_dir=tiny_corpus, device=device, executor=client
                    )
                trained_on = {t["worker"] for t in stream.data if t["key"].startswith("_train_one")}
                assert trained_on == {gpu_worker}
                # the worker has no CUDA after all: the run is reported failed, with the reason
                assert summary.done == [] and "no CUDA GPU" in summary.failed[0][1]


def test_a_lost_worker_is_retried_and_the_run_resumes(tiny_corpus, loopback, tmp_path, monkeypatch):
    """Last of the module: it kills one of the shared cluster's workers (and starts a new one)."""
    from distributed import Client

    slow = Preset(name="slow", epochs=8, width=0.0625, train_clips=8, eval_batch_size=32, features=CPU_FEATURES)
    cfg = RunConfig(model="gap", alpha=0.0, snr_db=20.0, preset=slow)
    store = RunStore(tmp_path / "results" / "runs", cfg.run_id)
    cluster = loopback
    with Client(cluster.address) as client:
        out = {}
        grid = threading.Thread(
            target=lambda: out.update(
                summary=run_grid(
                    [cfg],
                    results_dir=tmp_path / "results",
                    corpus_dir=tiny_corpus,
                    device="cpu",
                    executor=client,
                )
            )
        )
        grid.start()
        try:
            deadline = time.monotonic() + 180
            while not store.last_path.is_file() and grid.is_alive() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert store.last_path.is_file(), "the run never wrote last.pt"
            status = store.read_status()["status"]
            before = store.read_curves()
            busy = [addr for addr, keys in client.processing().items() if any("_train_one" in k for k in keys)]
            name = client.scheduler_info()["workers"][busy[0]]["name"]
            victim = cluster.workers[int(str(name)[1:])]
            os.kill(victim.pid, signal.SIGKILL)  # the worker is lost mid-run
            victim.wait(timeout=30)
        finally:
            grid.join(timeout=300)
        assert not grid.is_alive()
        start_worker(cluster)  # back to two workers
        client.wait_for_workers(2, timeout=120)
    assert status == "running" and 1 <= len(before) < slow.epochs
    summary = out["summary"]
    assert summary.done == [cfg.run_id] and not summary.failed
    after = store.read_curves()
    assert list(after["epoch"]) == list(range(1, slow.epochs + 1))
    # resumed from last.pt: the epochs trained before the loss are kept as they were, not trained again
    assert after.iloc[: len(before)].equals(before)
