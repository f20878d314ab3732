"""The whole build: determinism across workers, resume, refusals, skipped files, the test split."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf

import remix.build as build_mod
from remix.build import RunOptions, SourceFolders, build_corpus
from remix.errors import RemixError
from remix.recipe import RecipeOptions
from remix.render import RenderSettings

SNRS = (0.0, 20.0)


def _build(out: Path, sources, *, seed: int = 0, **run):
    return build_corpus(
        out,
        recipe=RecipeOptions(clips_per_fold=2),
        render=RenderSettings(snrs=SNRS),
        seed=seed,
        sources=SourceFolders(sources.scenes_dir, sources.events_dir),
        run=RunOptions(progress=False, **run),
    )


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
    summary = build_corpus(
        tmp_path / "c",
        recipe=RecipeOptions(clips_per_fold=2),
        render=RenderSettings(snrs=(0,)),
        sources=SourceFolders(scenes, events),
        run=RunOptions(progress=False),
    )
    skipped = pd.read_parquet(tmp_path / "c" / "manifest" / "skipped.parquet")
    assert summary.skipped == 1
    assert skipped["path"].tolist() == [str(victim)]
    assert skipped["reason"].iloc[0].startswith("cannot decode")
    placed = pd.read_parquet(tmp_path / "c" / "manifest" / "events.parquet")
    assert victim.name not in " ".join(placed["source_file"])


def test_files_the_source_check_rejects_are_left_out(tiny_sources, tmp_path, monkeypatch):
    real = build_mod.check_sources
    rejected = []

    def rejecting_the_first_scene(paths, **kw):
        table = real(paths, **kw)
        if kw["min_duration_s"] > build_mod.MIN_EVENT_S:  # the scene recordings
            rejected.append(str(paths[0]))
            table.loc[0, "reason"] = "rejected by the test"
        return table

    monkeypatch.setattr(build_mod, "check_sources", rejecting_the_first_scene)
    summary = _build(tmp_path / "c", tiny_sources)
    skipped = pd.read_parquet(tmp_path / "c" / "manifest" / "skipped.parquet")
    clips = pd.read_parquet(tmp_path / "c" / "manifest" / "clips.parquet")
    assert summary.skipped == 1 and skipped.values.tolist() == [[rejected[0], "rejected by the test"]]
    assert Path(rejected[0]).name not in {Path(f).name for f in clips["scene_file"]}


def test_strict_refuses_and_writes_no_corpus(broken_sources, tmp_path):
    scenes, events, victim = broken_sources
    with pytest.raises(RemixError, match=victim.name):
        build_corpus(
            tmp_path / "c",
            recipe=RecipeOptions(clips_per_fold=2),
            render=RenderSettings(snrs=(0,)),
            sources=SourceFolders(scenes, events),
            run=RunOptions(progress=False, strict=True),
        )
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
    quiet = RunOptions(progress=False)
    with pytest.raises(RemixError, match="only --scenes"):
        build_corpus(
            tmp_path,
            recipe=RecipeOptions(),
            render=RenderSettings(snrs=(0,)),
            sources=SourceFolders(scenes_dir=tiny_sources.scenes_dir),
            run=quiet,
        )
    with pytest.raises(RemixError, match="SNRs repeat"):
        build_corpus(
            tmp_path / "x",
            recipe=RecipeOptions(),
            render=RenderSettings(snrs=(0, 0)),
            sources=SourceFolders(tiny_sources.scenes_dir, tiny_sources.events_dir),
            run=quiet,
        )
    with pytest.raises(RemixError, match="recipe plans 160000 samples at 16000 Hz"):
        build_corpus(
            tmp_path / "x",
            recipe=RecipeOptions(sample_rate=16000),
            render=RenderSettings(snrs=(0,)),
            sources=SourceFolders(tiny_sources.scenes_dir, tiny_sources.events_dir),
            run=quiet,
        )
    assert not (tmp_path / "x").exists()


def test_the_builder_loads_without_the_stand_in():
    code = (
        "import sys, remix.build, remix.cli, remix.inspect, remix.manifest, remix.recipe, remix.render; "
        "print(sorted(m for m in sys.modules if m.startswith('remix.standin')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_source_files_outside_their_folder_are_skipped_and_listed(tiny_sources, tmp_path):
    """E7: a CSV naming ``../`` (or an absolute path) never brings audio from outside the folder."""
    import shutil

    from remix.sources.fsd2018 import META_DIR, TRAIN_CSV, TRAIN_DIR

    events = tmp_path / "events"
    shutil.copytree(tiny_sources.events_dir, events)
    table = pd.read_csv(events / META_DIR / TRAIN_CSV)
    row = table.index[table["manually_verified"].astype(int) == 1][0]
    private = tmp_path / "private_recording.wav"
    shutil.copy(events / TRAIN_DIR / table.loc[row, "fname"], private)
    table.loc[row, "fname"] = "../../private_recording.wav"
    table.to_csv(events / META_DIR / TRAIN_CSV, index=False)
    summary = build_corpus(
        tmp_path / "c",
        recipe=RecipeOptions(clips_per_fold=2),
        render=RenderSettings(snrs=(0,)),
        sources=SourceFolders(tiny_sources.scenes_dir, events),
        run=RunOptions(progress=False),
    )
    skipped = pd.read_parquet(tmp_path / "c" / "manifest" / "skipped.parquet")
    hit = skipped[skipped["path"].str.endswith("private_recording.wav")]
    assert summary.skipped >= 1 and len(hit) == 1 and "outside the source folder" in hit["reason"].iloc[0]
    placed = pd.read_parquet(tmp_path / "c" / "manifest" / "events.parquet")
    assert not placed["source_file"].astype(str).str.contains("private_recording").any()
    with pytest.raises(RemixError, match="private_recording"):
        build_corpus(
            tmp_path / "strict",
            recipe=RecipeOptions(clips_per_fold=2),
            render=RenderSettings(snrs=(0,)),
            sources=SourceFolders(tiny_sources.scenes_dir, events),
            run=RunOptions(progress=False, strict=True),
        )
