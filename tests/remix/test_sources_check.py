"""Decode, silence and length checks, and their cache."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from remix.sources import check
from remix.sources.check import check_audio, check_sources


@pytest.fixture()
def files(tmp_path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    made = {
        "good": tmp_path / "good.wav",
        "corrupt": tmp_path / "corrupt.wav",
        "empty": tmp_path / "empty.wav",
        "silent": tmp_path / "silent.wav",
        "quiet": tmp_path / "quiet.wav",
        "short": tmp_path / "short.wav",
        "missing": tmp_path / "missing.wav",
        "stereo48k": tmp_path / "stereo48k.flac",
    }
    sf.write(str(made["good"]), 0.3 * rng.standard_normal(22050), 44100, subtype="PCM_16")
    made["corrupt"].write_bytes(bytes(rng.integers(0, 256, 2000, dtype=np.uint8)))
    sf.write(str(made["empty"]), np.zeros((0, 1)), 44100, subtype="PCM_16")
    sf.write(str(made["silent"]), np.zeros(22050), 44100, subtype="PCM_16")
    sf.write(str(made["quiet"]), 1e-4 * np.sin(np.arange(22050) / 5.0), 44100, subtype="FLOAT")
    sf.write(str(made["short"]), 0.3 * rng.standard_normal(441), 44100, subtype="PCM_16")
    sf.write(str(made["stereo48k"]), 0.3 * rng.standard_normal((24000, 2)), 48000)
    return made


def test_check_audio_reasons(files):
    assert check_audio(files["good"], min_duration_s=0.25) is None
    assert check_audio(files["stereo48k"], min_duration_s=0.25) is None  # converted later, not rejected
    assert check_audio(files["corrupt"], min_duration_s=0.25).startswith("cannot decode: ")
    assert check_audio(files["empty"], min_duration_s=0.25) == "empty"
    assert check_audio(files["silent"], min_duration_s=0.25) == "silent (peak -inf dBFS)"
    assert check_audio(files["quiet"], min_duration_s=0.25) == "silent (peak -80.0 dBFS)"
    assert check_audio(files["short"], min_duration_s=0.25) == "too short: 0.01 s < 0.25 s"
    assert check_audio(files["missing"], min_duration_s=0.25) == "missing"


def test_check_audio_length_threshold(files):
    assert check_audio(files["good"], min_duration_s=0.5) is None
    assert check_audio(files["good"], min_duration_s=0.51) == "too short: 0.50 s < 0.51 s"


def _paths(files):
    names = ["good", "corrupt", "missing", "good", "short", "stereo48k", "silent"]
    return names, [files[n] for n in names]


def test_check_sources_keeps_input_order_and_duplicates(files):
    names, paths = _paths(files)
    table = check_sources(paths, min_duration_s=0.25, progress=False)
    assert list(table.columns) == ["path", "reason"]
    assert list(table["path"]) == [str(p) for p in paths]
    usable = [r is None for r in table["reason"]]
    assert usable == [True, False, False, True, False, True, False]
    assert table["reason"].iloc[2] == "missing"


def test_executor_gives_the_same_table(files):
    _, paths = _paths(files)
    alone = check_sources(paths, min_duration_s=0.25, progress=False)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pooled = check_sources(paths, min_duration_s=0.25, executor=pool, progress=True)
    pd.testing.assert_frame_equal(alone, pooled)


def test_cache_is_reused_and_invalidated(files, tmp_path, monkeypatch):
    _, paths = _paths(files)
    cache = tmp_path / "cache" / "checks.parquet"
    first = check_sources(paths, min_duration_s=0.25, cache_file=cache, progress=False)
    assert cache.is_file()
    assert [p.name for p in cache.parent.iterdir()] == ["checks.parquet"]  # no temp file left

    decoded: list[str] = []
    real_probe = check.probe_audio

    def counting_probe(path):
        decoded.append(Path(path).name)
        return real_probe(path)

    monkeypatch.setattr(check, "probe_audio", counting_probe)
    again = check_sources(paths, min_duration_s=0.25, cache_file=cache, progress=False)
    pd.testing.assert_frame_equal(first, again)
    assert decoded == ["missing.wav"]  # missing files are looked at again, nothing is decoded

    # a different threshold needs no decoding either
    longer = check_sources(paths, min_duration_s=0.51, cache_file=cache, progress=False)
    assert longer["reason"].iloc[0] == "too short: 0.50 s < 0.51 s"
    assert decoded == ["missing.wav", "missing.wav"]

    # a rewritten file is decoded again
    sf.write(str(files["good"]), np.zeros(22050), 44100, subtype="PCM_16")
    os.utime(files["good"], ns=(1, 1))
    third = check_sources(paths, min_duration_s=0.25, cache_file=cache, progress=False)
    assert "good.wav" in decoded
    assert third["reason"].iloc[0] == "silent (peak -inf dBFS)"


def test_unreadable_cache_is_ignored(files, tmp_path):
    cache = tmp_path / "checks.parquet"
    cache.write_text("not parquet")
    table = check_sources([files["good"]], min_duration_s=0.25, cache_file=cache, progress=False)
    assert table["reason"].iloc[0] is None
    assert pd.read_parquet(cache)["path"].tolist() == [str(files["good"])]
