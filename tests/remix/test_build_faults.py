"""Faults around a build: a second writer, damaged records, a full disk, stale files, bad inputs, stems."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import remix.render as render_mod
from remix.build import RunOptions, SourceFolders, build_corpus
from remix.cli import app
from remix.errors import RemixError
from remix.lock import FolderBusy, folder_lock
from remix.outdir import LOCK_FILE, CorpusBusy, estimate_bytes
from remix.recipe import RecipeOptions
from remix.render import RenderSettings, write_wav

SNRS = (0.0, 20.0)
runner = CliRunner()


def _build(out: Path, sources, *, stems: bool = False, **run):
    return build_corpus(
        out,
        recipe=RecipeOptions(clips_per_fold=2),
        render=RenderSettings(snrs=SNRS, stems=stems),
        sources=SourceFolders(sources.scenes_dir, sources.events_dir),
        run=RunOptions(progress=False, **run),
    )


def _files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.relative_to(out).as_posix().startswith(".build") and p.name != "CORPUS.md"
    }


def _cli(*args: str):
    return runner.invoke(app, [*args, "--no-progress"])


@pytest.fixture(scope="module")
def built(tiny_sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("faults") / "corpus"
    _build(out, tiny_sources)
    return out


def _holder(lock_dir: Path, lock_name: str):
    """A separate process that holds a folder lock until killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from remix.lock import folder_lock
        with folder_lock({str(lock_dir)!r}, what="test folder", lock_name={lock_name!r}):
            print("held", flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


# ---------------------------------------------------------------- one writer per corpus folder


def test_a_second_build_of_the_same_folder_is_refused_and_nothing_is_touched(built, tiny_sources):
    before = _files(built)
    holder = _holder(built, LOCK_FILE)
    try:
        for overwrite in (False, True):
            with pytest.raises(CorpusBusy, match=f"in use by process {holder.pid}"):
                _build(built, tiny_sources, overwrite=overwrite)
        result = _cli(
            "build",
            "--snr",
            "0",
            "20",
            "--out",
            str(built),
            "--scenes",
            str(tiny_sources.scenes_dir),
            "--events",
            str(tiny_sources.events_dir),
            "--clips-per-fold",
            "2",
            "--overwrite",
        )
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert f"process {holder.pid}" in result.output
    finally:
        holder.kill()
        holder.wait()
    assert _files(built) == before
    summary = _build(built, tiny_sources)  # the lock died with its holder
    assert summary.rendered == 0 and _files(built) == before


def test_lock_names_its_holder_and_is_released(tmp_path):
    with folder_lock(tmp_path, what="test folder"):
        with pytest.raises(FolderBusy, match=f"process {os.getpid()}"):
            with folder_lock(tmp_path, what="test folder"):
                pass
    with folder_lock(tmp_path, what="test folder"):  # released at the end of the block
        pass


def test_a_refused_build_leaves_no_folder_behind(tmp_path, tiny_sources):
    out = tmp_path / "new"
    with pytest.raises(RemixError, match="SNRs must lie between"):
        build_corpus(
            out,
            recipe=RecipeOptions(),
            render=RenderSettings(snrs=(0, 1e308)),
            sources=SourceFolders(tiny_sources.scenes_dir, tiny_sources.events_dir),
            run=RunOptions(progress=False),
        )
    assert not out.exists()


def test_clean_up_leaves_bench_files_and_live_writers_alone(built, tiny_sources):
    dead = 99999999
    stale = built / "audio" / "snr0" / f".x.partial-{dead}-0000.flac"
    live = built / "audio" / "snr0" / f".y.partial-{os.getpid()}-0000.flac"
    bench = built / "features" / "abc" / f".snr0.partial-{dead}-0000.f32"
    for path in (stale, live, bench):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    try:
        _build(built, tiny_sources)
        assert not stale.exists() and live.exists() and bench.exists()
    finally:
        live.unlink(missing_ok=True)
        bench.unlink(missing_ok=True)


def test_temporaries_of_writers_that_die_during_the_build_are_swept_at_its_end(tiny_sources, tmp_path, monkeypatch):
    """E14: a dead writer's temporary that appears after the first sweep does not stay in the corpus."""
    import remix.build as build_mod

    out = tmp_path / "corpus"
    stale = out / "audio" / "snr0" / ".fold1_00001.partial-99999999-0000.flac"
    real = build_mod._render

    def render(*args, **kwargs):  # a writer killed with its group, leaving its temporary mid-build
        stale.parent.mkdir(parents=True, exist_ok=True)
        stale.write_bytes(b"x")
        return real(*args, **kwargs)

    monkeypatch.setattr(build_mod, "_render", render)
    _build(out, tiny_sources)
    assert not stale.exists()
    assert not [p for p in out.rglob("*") if ".partial-" in p.name]


# ---------------------------------------------------------------- a damaged options.json


def test_damaged_options_of_a_finished_corpus_are_read_back(built, tiny_sources, capsys):
    before = _files(built)
    (built / ".build" / "options.json").write_text('{"recipe": {"rec')
    summary = _build(built, tiny_sources)
    assert summary.rendered == 0 and _files(built) == before
    assert "read back from" in capsys.readouterr().err
    assert json.loads((built / ".build" / "options.json").read_text())["seed"] == 0  # rewritten


def test_damaged_options_of_an_interrupted_build_delete_nothing(tiny_sources, tmp_path):
    out = tmp_path / "corpus"
    _build(out, tiny_sources)
    import shutil

    shutil.rmtree(out / "manifest")  # as if interrupted before the manifests
    (out / ".build" / "options.json").write_bytes(b"\x00" * 10)
    before = _files(out)
    result = _cli(
        "build",
        "--snr",
        "0",
        "20",
        "--out",
        str(out),
        "--scenes",
        str(tiny_sources.scenes_dir),
        "--events",
        str(tiny_sources.events_dir),
        "--clips-per-fold",
        "2",
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "damaged" in result.output and "nothing was changed" in result.output
    assert "--overwrite" not in result.output
    assert _files(out) == before and any((out / "audio").rglob("*.flac"))


# ---------------------------------------------------------------- one line instead of a traceback


def test_disk_full_while_writing_audio_is_one_line(tiny_sources, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = sf.write

    def full(path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise sf.LibsndfileError(2, prefix="Error opening file: ")  # what a full disk gives: "System error"
        return real(path, *args, **kwargs)

    monkeypatch.setattr(render_mod.sf, "write", full)
    out = tmp_path / "corpus"
    result = _cli(
        "build",
        "--snr",
        "0",
        "20",
        "--out",
        str(out),
        "--scenes",
        str(tiny_sources.scenes_dir),
        "--events",
        str(tiny_sources.events_dir),
        "--clips-per-fold",
        "2",
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "file system error" in result.output and "System error" in result.output
    assert not [p for p in out.rglob("*") if ".partial-" in p.name]  # nothing half-written left
    monkeypatch.setattr(render_mod.sf, "write", real)
    summary = _build(out, tiny_sources)  # resumes: the finished clips are kept
    assert summary.reused == 1 and summary.rendered == summary.n_clips - 1


@pytest.mark.parametrize("snr, shown", [("1e308", "1e+308"), ("nan", "[0.0, nan]"), ("-500", "[0.0, -500.0]")])
def test_impossible_snrs_are_one_line_with_brackets_kept(tmp_path, snr, shown):
    result = _cli("build", "--snr", "0", snr, "--out", str(tmp_path / "c"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert shown in result.output and len(result.output.strip().splitlines()) <= 3
    assert not (tmp_path / "c").exists()


def test_a_corpus_that_cannot_fit_on_the_disk_is_refused_up_front(tmp_path):
    result = _cli("build", "--snr", "0", "10", "20", "--out", str(tmp_path / "c"), "--clips-per-fold", "100000000")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "needs about" in result.output and "TB" in result.output and "free" in result.output
    assert not (tmp_path / "c").exists()


def test_estimate_counts_every_file():
    options = RecipeOptions(clips_per_fold=100)
    wav = estimate_bytes(options=options, settings=RenderSettings(snrs=(0.0, 10.0), audio_format="wav"))
    assert wav == (4 * 100 + 25) * 2 * (2 * 320000 + 44)
    stems = estimate_bytes(options=options, settings=RenderSettings(snrs=(0.0,), audio_format="wav", stems=True))
    assert stems > 4 * wav / 2


def test_too_many_workers_is_refused(tmp_path):
    result = _cli("build", "--snr", "0", "--out", str(tmp_path / "c"), "--workers", "100000")
    assert result.exit_code == 2 and "--workers" in result.output


# ---------------------------------------------------------------- stems: the same bytes every time


def test_float_stems_carry_no_timestamp(tmp_path):
    x = np.random.default_rng(0).standard_normal(32000).astype(np.float32) * 0.1
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    write_wav(a, x, sample_rate=32000, subtype="FLOAT")
    time.sleep(1.1)  # libsndfile's PEAK chunk would carry another second here
    write_wav(b, x, sample_rate=32000, subtype="FLOAT")
    assert a.read_bytes() == b.read_bytes() and b"PEAK" not in a.read_bytes()
    y, rate = sf.read(a, dtype="float32")
    info = sf.info(a)
    assert rate == 32000 and info.subtype == "FLOAT" and np.array_equal(x, y)


def test_stems_are_byte_identical_across_worker_counts(tiny_sources, tmp_path):
    one = _build(tmp_path / "w1", tiny_sources, stems=True, workers=1).out_dir
    time.sleep(1.1)  # the builds fall in different seconds
    two = _build(tmp_path / "w2", tiny_sources, stems=True, workers=2, batch_size=1).out_dir
    a, b = _files(one), _files(two)
    stems = [k for k in a if k.startswith("stems/")]
    assert stems and sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []


# ---------------------------------------------------------------- workers end with their parent


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_their_parent_is_killed(tmp_path):
    code = textwrap.dedent("""
        import time
        from concurrent.futures import ProcessPoolExecutor
        from remix.workers import die_with_parent
        pool = ProcessPoolExecutor(max_workers=2, initializer=die_with_parent)
        futures = [pool.submit(time.sleep, 300) for _ in range(2)]
        time.sleep(1.0)
        print(" ".join(str(p) for p in pool._processes), flush=True)
        time.sleep(300)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(p) for p in workers)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_an_empty_audio_file_behind_a_record_is_rendered_again(built, tiny_sources):
    before = _files(built)
    victim = sorted((built / "audio" / "snr0").glob("*.flac"))[0]
    victim.write_bytes(b"")  # what a power cut can leave of an unsynced file
    summary = _build(built, tiny_sources)
    assert summary.rendered == 1 and _files(built) == before
