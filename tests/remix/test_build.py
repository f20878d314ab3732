"""The whole build: determinism across workers, resume, refusals, skipped files, the test split."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf

import remix.build as build_mod
from remix.build import build_corpus
from remix.errors import RemixError

SNRS = (0.0, 20.0)


def _build(out: Path, sources, **kw):
    kw.setdefault("clips_per_fold", 2)
    return build_corpus(out_dir=out, snrs=SNRS, scenes_dir=sources.scenes_dir, events_dir=sources.events_dir,
                        progress=False, **kw)


def _files(out: Path) -> dict[str, bytes]:
    """Every corpus file (not the resume area, not the card, which quotes the command line)."""
    found = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not rel.startswith(".build") and rel != "CORPUS.md":
            found[rel] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def clean(tiny_sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "corpus"
    summary = _build(out, tiny_sources, batch_size=1)
    return out, summary


@pytest.mark.parametrize("how", ["workers", "executor"])
def test_identical_bytes_whatever_the_workers(clean, tiny_sources, tmp_path, how):
    out, _ = clean
    other = tmp_path / "w2"
    if how == "workers":
        _build(other, tiny_sources, workers=2, batch_size=3)
    else:  # an executor handed in by a library user
        with ThreadPoolExecutor(max_workers=2) as pool:
            _build(other, tiny_sources, executor=pool, batch_size=2)
    a, b = _files(out), _files(other)
    assert sorted(a) == sorted(b)
    assert any(k.startswith("audio/snr20/") for k in a) and "manifest/clips.parquet" in a
    assert [k for k in a if a[k] != b[k]] == []


def test_resume_after_an_interrupted_build(clean, tiny_sources, tmp_path, monkeypatch):
    out, first = clean
    real = build_mod.render_batch
    calls = {"n": 0}

    def dying(plans, **kw):
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as if killed after 3 clips
        calls["n"] += 1
        return real(plans, **kw)

    monkeypatch.setattr(build_mod, "render_batch", dying)
    resumed = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        _build(resumed, tiny_sources, batch_size=1)
    assert not (resumed / "manifest" / "clips.parquet").exists()
    assert len(list((resumed / ".build" / "records").glob("*.json"))) == 3
    (resumed / "audio" / "snr0" / ".fold4_00000.partial-999.flac").write_bytes(b"half")  # a killed write
    monkeypatch.setattr(build_mod, "render_batch", real)
    summary = _build(resumed, tiny_sources, batch_size=1)
    assert (summary.rendered, summary.reused) == (first.n_clips - 3, 3)
    assert _files(resumed) == _files(out)


def test_rebuild_after_losing_manifests_and_records(clean, tiny_sources, tmp_path):
    out, first = clean
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "manifest")
    records = sorted((copy / ".build" / "records").glob("*.json"))
    for r in records[:2]:
        r.unlink()
    (copy / "audio" / "snr20" / "test_00000.flac").unlink()  # its record stays: audio is checked too
    summary = _build(copy, tiny_sources)
    assert summary.rendered == 3 and summary.reused == first.n_clips - 3
    assert _files(copy) == _files(out)


def test_other_options_into_the_same_folder_are_refused(clean, tiny_sources, tmp_path):
    out, _ = clean
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with pytest.raises(RemixError, match="other options"):
        _build(copy, tiny_sources, seed=7)
    summary = _build(copy, tiny_sources, seed=7, overwrite=True)
    assert summary.rendered == summary.n_clips
    assert _files(copy)["manifest/corpus.json"] != _files(out)["manifest/corpus.json"]


def test_a_foreign_folder_is_refused(tiny_sources, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RemixError, match="not empty"):
        _build(tmp_path, tiny_sources)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.fixture(scope="module")
def broken_sources(tiny_sources, tmp_path_factory):
    """The tiny stand-in (linked) with one verified training event replaced by garbage."""
    root = tmp_path_factory.mktemp("broken")
    scenes = root / tiny_sources.scenes_dir.name
    events = root / tiny_sources.events_dir.name
    shutil.copytree(tiny_sources.scenes_dir, scenes, copy_function=os.symlink)
    shutil.copytree(tiny_sources.events_dir, events, copy_function=os.symlink)
    meta = pd.read_csv(events / "FSDKaggle2018.meta" / "train_post_competition.csv")
    victim = events / "FSDKaggle2018.audio_train" / meta.loc[meta["manually_verified"] == 1, "fname"].iloc[0]
    victim.unlink()
    victim.write_bytes(b"RIFF not really a wave file")
    return scenes, events, victim


def test_unusable_files_are_skipped_and_listed(broken_sources, tmp_path):
    scenes, events, victim = broken_sources
    summary = build_corpus(out_dir=tmp_path / "c", snrs=[0], scenes_dir=scenes, events_dir=events,
                           clips_per_fold=2, progress=False)
    skipped = pd.read_parquet(tmp_path / "c" / "manifest" / "skipped.parquet")
    assert summary.skipped == 1
    assert skipped["path"].tolist() == [str(victim)]
    assert skipped["reason"].iloc[0].startswith("cannot decode")
    placed = pd.read_parquet(tmp_path / "c" / "manifest" / "events.parquet")
    assert victim.name not in " ".join(placed["source_file"])


def test_strict_refuses_and_writes_no_corpus(broken_sources, tmp_path):
    scenes, events, victim = broken_sources
    with pytest.raises(RemixError, match=victim.name):
        build_corpus(out_dir=tmp_path / "c", snrs=[0], scenes_dir=scenes, events_dir=events, clips_per_fold=2,
                     strict=True, progress=False)
    assert not (tmp_path / "c" / "audio").exists() and not (tmp_path / "c" / "manifest").exists()


def test_outputs_follow_the_contract(clean, tiny_sources):
    out, summary = clean
    clips = pd.read_parquet(out / "manifest" / "clips.parquet")
    events = pd.read_parquet(out / "manifest" / "events.parquet")
    assert summary.n_clips == 4 * 2 + 1 and len(clips) == summary.n_clips * len(SNRS)
    assert set(clips.loc[clips.split == "test", "fold"]) == {0}
    assert set(clips.loc[clips.split == "dev", "fold"]) == {1, 2, 3, 4}
    for row in clips.itertuples():
        info = sf.info(str(out / row.audio_path))
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (32000, 1, 320000, "PCM_16")
        assert row.audio_path == f"audio/snr{row.snr_db:g}/{row.clip_id}.flac"
    test_ids = set(clips.loc[clips.split == "test", "scene_identifier"])
    assert not test_ids & set(clips.loc[clips.split == "dev", "scene_identifier"])
    test_files = set(events.loc[events.clip_id.str.startswith("test"), "source_file"])
    assert test_files and all(f.startswith("FSDKaggle2018.audio_test/") for f in test_files)
    assert not test_files & set(events.loc[~events.clip_id.str.startswith("test"), "source_file"])


def test_one_source_only_and_bad_options_are_refused(tiny_sources, tmp_path):
    with pytest.raises(RemixError, match="only --scenes"):
        build_corpus(out_dir=tmp_path, snrs=[0], scenes_dir=tiny_sources.scenes_dir, progress=False)
    with pytest.raises(RemixError, match="SNRs repeat"):
        build_corpus(out_dir=tmp_path / "x", snrs=[0, 0], scenes_dir=tiny_sources.scenes_dir,
                     events_dir=tiny_sources.events_dir, progress=False)
    assert not (tmp_path / "x").exists()
