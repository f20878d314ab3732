"""The `remix` command line: build and inspect, and their errors (no tracebacks)."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from remix.cli import app

runner = CliRunner()


def _run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in text
    return result.exit_code, " ".join(text.split())


def _src(sources):
    return ["--scenes", sources.scenes_dir, "--events", sources.events_dir]


@pytest.fixture(scope="module")
def built(tiny_sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "corpus"
    code, text = _run("build", "--snr", "0", "10", "--out", out, *_src(tiny_sources), "--clips-per-fold", "1",
                      "--no-progress")
    assert code == 0, text
    return out, text


def test_build_and_inspect(built):
    out, text = built
    assert "5 clips x 2 SNR(s) = 10 audio files" in text and "none skipped" in text
    clips = pd.read_parquet(out / "manifest" / "clips.parquet")
    assert sorted(clips["snr_db"].unique()) == [0.0, 10.0]
    code, text = _run("inspect", out, "--no-progress")
    assert code == 0, text
    assert "10 files checked, no problem found" in text and "dev fold 4" in text


def test_inspect_finds_truncated_and_missing_files(built, tmp_path):
    out, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    truncated = copy / "audio" / "snr0" / "fold1_00000.flac"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    (copy / "audio" / "snr10" / "test_00000.flac").unlink()
    code, text = _run("inspect", copy, "--no-progress")
    assert code == 1
    assert "2 problem(s)" in text
    assert "audio/snr0/fold1_00000.flac" in text and "audio/snr10/test_00000.flac: missing" in text


def test_inspect_of_a_folder_without_corpus(tmp_path):
    code, text = _run("inspect", tmp_path)
    assert code == 2 and "not a finished corpus" in text


@pytest.mark.parametrize("args, message", [
    (["--clips-per-fold", "0"], "clips per fold must be at least 1"),
    (["--recipe", "random", "--max-polyphony", "0"], "max polyphony must be at least 1"),
    (["--workers", "0"], "workers must be at least 1"),
    (["--clip-per-fold", "3"], "unexpected argument '--clip-per-fold'"),
    (["--snr", "ten"], "unexpected argument 'ten'"),
])
def test_impossible_options(tiny_sources, tmp_path, args, message):
    code, text = _run("build", "--snr", "0", "--out", tmp_path / "c", *_src(tiny_sources), *args)
    assert code == 2 and message in text
    assert not (tmp_path / "c").exists()


def test_wrong_folders_and_one_source_only(tiny_sources, tmp_path):
    code, text = _run("build", "--snr", "0", "--out", tmp_path / "c", "--scenes", tmp_path / "nowhere",
                      "--events", tiny_sources.events_dir)
    assert code == 2 and "error:" in text and "nowhere" in text
    code, text = _run("build", "--snr", "0", "--out", tmp_path / "c", "--events", tiny_sources.events_dir)
    assert code == 2 and "only --events was given" in text
    code, text = _run("build", "--snr", "0", "--out", tmp_path / "c", "--scenes", tiny_sources.events_dir,
                      "--events", tiny_sources.scenes_dir)
    assert code == 2 and "error:" in text


def test_strict_with_a_corrupt_file(tiny_sources, tmp_path):
    events = tmp_path / "events"
    shutil.copytree(tiny_sources.events_dir, events, copy_function=os.symlink)
    meta = pd.read_csv(events / "FSDKaggle2018.meta" / "test_post_competition_scoring_clips.csv")
    victim = events / "FSDKaggle2018.audio_test" / meta["fname"].iloc[0]
    victim.unlink()
    victim.write_bytes(b"")
    args = ["build", "--snr", "0", "--out", tmp_path / "c", "--scenes", tiny_sources.scenes_dir, "--events", events,
            "--clips-per-fold", "1", "--no-progress"]
    code, text = _run(*args, "--strict")
    assert code == 2 and "--strict" in text and victim.name in text
    code, text = _run(*args)
    assert code == 0 and "skipped 1 unusable source file(s)" in text


def test_existing_build_with_other_options(built, tiny_sources):
    out, _ = built
    code, text = _run("build", "--snr", "0", "10", "--out", out, *_src(tiny_sources), "--clips-per-fold", "1",
                      "--seed", "3", "--no-progress")
    assert code == 2 and "other options" in text and "seed" in text and "--overwrite" in text
    clips = pd.read_parquet(out / "manifest" / "clips.parquet")
    assert len(clips) == 10


def test_build_writes_to_data_corpus_by_default(tiny_sources, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, text = _run("build", "--snr", "0", *_src(tiny_sources), "--clips-per-fold", "1", "--test-clips", "1",
                      "--no-progress")
    assert code == 0, text
    assert (tmp_path / "data" / "corpus" / "manifest" / "clips.parquet").is_file()
