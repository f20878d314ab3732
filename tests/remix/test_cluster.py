"""Building on a Dask cluster: the --cluster option, same bytes as a local build, resume after the client dies."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remix.build import RunOptions, SourceFolders, build_corpus
from remix.cli import app
from remix.cluster import ClusterAddress, cluster_client, parse_cluster, task_size
from remix.errors import RemixError
from remix.recipe import RecipeOptions
from remix.render import RenderSettings
from tests.cluster_helpers import ROOT, loopback_cluster

SNRS = ("0", "20")
CLIPS_PER_FOLD = 3  # 4 x 3 dev clips + 1 test clip = 13 clips: two tasks of 8 clips on a cluster


def _hashes(out: Path) -> dict[str, str]:
    """SHA-256 of every corpus file (not the resume area, not the card, which quotes the command line)."""
    found = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not rel.startswith(".build") and rel != "CORPUS.md":
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _args(sources, out: Path, *extra: str) -> list[str]:
    return [
        "build",
        "--snr",
        *SNRS,
        "--clips-per-fold",
        str(CLIPS_PER_FOLD),
        "--seed",
        "7",
        "--scenes",
        str(sources.scenes_dir),
        "--events",
        str(sources.events_dir),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


@pytest.fixture(scope="module")
def reference(tiny_sources, tmp_path_factory) -> dict[str, str]:
    """Hashes of the build with --workers 1."""
    out = tmp_path_factory.mktemp("ref") / "corpus"
    result = CliRunner().invoke(app, _args(tiny_sources, out, "--workers", "1"))
    assert result.exit_code == 0, result.output
    hashes = _hashes(out)
    assert any(k.startswith("audio/snr20/") for k in hashes) and "manifest/clips.parquet" in hashes
    return hashes


@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    with loopback_cluster(tmp_path_factory.mktemp("dask"), workers=2) as cluster:
        yield cluster


@pytest.mark.parametrize(
    "text, expected",
    [
        ("local:2", ClusterAddress(local_workers=2)),
        ("tcp://127.0.0.1:8786", ClusterAddress(scheduler="tcp://127.0.0.1:8786")),
        ("127.0.0.1:8786", ClusterAddress(scheduler="tcp://127.0.0.1:8786")),
        ("tls://scheduler.lab:8786/", ClusterAddress(scheduler="tls://scheduler.lab:8786")),
    ],
)
def test_cluster_addresses(text, expected):
    assert parse_cluster(text) == expected
    assert str(parse_cluster(text)) == (text if text.startswith("local") else expected.scheduler)


@pytest.mark.parametrize("text", ["local:0", "local:x", "local:", "tcp://127.0.0.1", "http://h:80", "h:99999", ""])
def test_malformed_cluster_addresses_are_refused(text):
    with pytest.raises(RemixError, match="--cluster takes local:N"):
        parse_cluster(text)


def test_tasks_hold_many_clips():
    assert task_size(24000, workers=16) == 64  # at most 64 clips a task
    assert task_size(1000, workers=4) == 63  # about four tasks a worker
    assert task_size(13, workers=2) == 8  # never fewer than 8 clips
    assert task_size(13, workers=None) == 8


def test_no_scheduler_is_one_clear_error():
    with socket.socket() as probe:  # a free loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RemixError, match="no Dask scheduler answered at tcp://127.0.0.1"):
        with cluster_client(f"tcp://127.0.0.1:{port}", timeout_s=1):
            pass


def test_cli_refuses_workers_with_cluster_and_bad_addresses(tiny_sources, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, _args(tiny_sources, tmp_path / "a", "--workers", "2", "--cluster", "local:2"))
    assert result.exit_code == 2 and "--workers and --cluster do not go together" in result.output
    result = runner.invoke(app, _args(tiny_sources, tmp_path / "b", "--cluster", "nowhere"))
    assert result.exit_code == 2 and "--cluster takes local:N" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "b").exists()


def test_local_cluster_gives_the_same_bytes(tiny_sources, reference, tmp_path):
    out = tmp_path / "corpus"
    result = CliRunner().invoke(app, _args(tiny_sources, out, "--cluster", "local:2"))
    assert result.exit_code == 0, result.output
    assert "Dask cluster local:2 (2 worker(s))" in result.output
    assert _hashes(out) == reference


def test_loopback_scheduler_gives_the_same_bytes(tiny_sources, reference, loopback, tmp_path):
    out = tmp_path / "corpus"
    result = CliRunner().invoke(app, _args(tiny_sources, out, "--cluster", loopback.address))
    assert result.exit_code == 0, result.output
    assert _hashes(out) == reference


def test_library_takes_a_client(tiny_sources, reference, loopback, tmp_path):
    from distributed import Client

    out = tmp_path / "corpus"
    with Client(loopback.address) as client:
        summary = build_corpus(
            out,
            recipe=RecipeOptions(clips_per_fold=CLIPS_PER_FOLD),
            render=RenderSettings(snrs=(0, 20)),
            seed=7,
            sources=SourceFolders(tiny_sources.scenes_dir, tiny_sources.events_dir),
            run=RunOptions(executor=client, batch_size=None, progress=False),
        )
    assert summary.rendered == summary.n_clips == 13
    assert _hashes(out) == reference


def test_resume_after_the_client_is_killed(tiny_sources, reference, loopback, tmp_path):
    out = tmp_path / "corpus"
    cmd = [
        sys.executable,
        "-c",
        "from remix.cli import app; app()",
        *_args(tiny_sources, out, "--cluster", loopback.address),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    records = out / ".build" / "records"
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if records.is_dir() and any(records.iterdir()):
                break
            time.sleep(0.02)
        killed = proc.poll() is None
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert records.is_dir() and any(records.iterdir())
    if killed:  # killed mid-render: no manifest yet
        assert not (out / "manifest" / "clips.parquet").exists()
    time.sleep(1.0)  # tasks of the dead client still running on a worker finish into their own files
    result = CliRunner().invoke(app, _args(tiny_sources, out, "--cluster", loopback.address))
    assert result.exit_code == 0, result.output
    assert _hashes(out) == reference


def test_the_cluster_helpers_need_neither_torch_nor_dask_at_import():
    code = (
        "import sys, remix.cli, remix.build, remix.cluster; "
        "assert 'torch' not in sys.modules and 'distributed' not in sys.modules, 'imported too much'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
