"""--overwrite replaces only what a remix build wrote; an options file cannot ask for it;
manifests whose ids or paths leave the corpus are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from remix.build import RunOptions, SourceFolders, build_corpus
from remix.buildconfig import read_config
from remix.cli import app
from remix.errors import RemixError
from remix.manifest import read_clips, read_events
from remix.outdir import build_outputs, foreign_files, holds_remix_build
from remix.recipe import RecipeOptions
from remix.render import RenderSettings

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def _args(sources, out: Path, *extra) -> list:
    return [
        "build",
        "--snr",
        "0",
        "--clips-per-fold",
        "2",
        "--scenes",
        sources.scenes_dir,
        "--events",
        sources.events_dir,
        "--out",
        out,
        "--no-progress",
        *extra,
    ]


@pytest.fixture(scope="module")
def built(tiny_sources, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built") / "corpus"
    build_corpus(
        out,
        recipe=RecipeOptions(clips_per_fold=2),
        render=RenderSettings(snrs=(0.0,)),
        sources=SourceFolders(tiny_sources.scenes_dir, tiny_sources.events_dir),
        run=RunOptions(progress=False),
    )
    return out


def test_overwrite_refuses_a_folder_that_holds_no_remix_build(tiny_sources, tmp_path):
    folder = tmp_path / "interviews"
    (folder / "audio" / "interviews").mkdir(parents=True)
    (folder / "audio" / "interviews" / "take1.wav").write_bytes(b"RIFF")
    (folder / "metadata").mkdir()
    (folder / "metadata" / "labels.csv").write_text("a,b\n")
    result = invoke(*_args(tiny_sources, folder, "--overwrite"))
    assert result.exit_code == 2 and "holds no remix build" in result.output
    assert (folder / "audio" / "interviews" / "take1.wav").read_bytes() == b"RIFF"
    assert (folder / "metadata" / "labels.csv").is_file()
    assert not holds_remix_build(folder)


def test_an_options_file_cannot_ask_for_overwrite(tiny_sources, tmp_path):
    parent = tmp_path / "parent"
    (parent / "audio" / "interviews").mkdir(parents=True)
    (parent / "audio" / "interviews" / "take1.wav").write_bytes(b"RIFF")
    shared = parent / "shared"
    shared.mkdir()
    (shared / "build.toml").write_text('out = ".."\noverwrite = true\nsnr = [0]\nclips_per_fold = 2\n')
    with pytest.raises(RemixError, match="overwrite cannot be set in an options file"):
        read_config(shared / "build.toml")
    result = invoke(
        "build",
        "--config",
        shared / "build.toml",
        "--scenes",
        tiny_sources.scenes_dir,
        "--events",
        tiny_sources.events_dir,
    )
    assert result.exit_code == 2 and "cannot be set in an options file" in " ".join(result.output.split())
    # out = ".." from the file, --overwrite on the command line: still not a remix corpus
    (shared / "build.toml").write_text('out = ".."\nsnr = [0]\nclips_per_fold = 2\n')
    again = invoke(
        "build",
        "--config",
        shared / "build.toml",
        "--scenes",
        tiny_sources.scenes_dir,
        "--events",
        tiny_sources.events_dir,
        "--overwrite",
        "--no-progress",
    )
    assert again.exit_code == 2 and "holds no remix build" in again.output
    assert (parent / "audio" / "interviews" / "take1.wav").read_bytes() == b"RIFF"


def test_overwrite_of_a_remix_corpus_keeps_files_remix_did_not_write(built, tiny_sources, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(built, corpus)
    assert holds_remix_build(corpus) and foreign_files(corpus) == []
    ours, _ = build_outputs(corpus)
    assert "manifest/clips.parquet" in ours and any(p.startswith("audio/snr0/fold1_") for p in ours)
    # a user's files, some named like what a build writes (E2: these four were deleted)
    mine = {
        "audio/notes/mine.txt": b"keep me",
        "audio/snr0/my_field_recording.wav": b"RIFF-mine",
        "manifest/my_split.parquet": b"PAR1-mine",
        "metadata/snr0/my_labels.tsv": b"a\tb\n",
        "stems/snr0/fold1_00000/notes.wav": b"RIFF-notes",
    }
    for rel, data in mine.items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_bytes(data)
    old_clip = (corpus / "audio" / "snr0" / "fold1_00000.flac").read_bytes()
    assert sorted(foreign_files(corpus)) == sorted(mine)
    result = invoke(*_args(tiny_sources, corpus, "--overwrite", "--seed", "5"))
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "kept 5 other file(s)" in text and "audio/notes/mine.txt" in text
    for rel, data in mine.items():
        assert (corpus / rel).read_bytes() == data, rel
    assert (corpus / "audio" / "snr0" / "fold1_00000.flac").read_bytes() != old_clip  # rebuilt with seed 5
    assert read_clips(corpus)["audio_path"].map(lambda p: (corpus / p).is_file()).all()


def test_overwrite_deletes_a_killed_builds_unrecorded_outputs_but_no_look_alike(built, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(built, corpus)
    # a clip written by a build killed before its record: named as a build names clips
    (corpus / "audio" / "snr0" / "fold3_00077.flac").write_bytes(b"fLaC")
    (corpus / "audio" / "snr0" / "fold3_00077 (copy).flac").write_bytes(b"fLaC")
    ours, others = build_outputs(corpus)
    assert "audio/snr0/fold3_00077.flac" in ours and others == ["audio/snr0/fold3_00077 (copy).flac"]


def test_deeply_nested_toml_is_one_line(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("snr = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(RemixError, match="too deeply"):
        read_config(path)
    result = invoke("build", "--config", path)
    assert result.exit_code == 2 and len(result.output) < 400


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("clip_id", "/tmp/evil", "not plain names"),
        ("clip_id", "../x", "not plain names"),
        ("audio_path", "../../etc/passwd", "outside the corpus"),
        ("audio_path", "/etc/passwd", "outside the corpus"),
    ],
)
def test_manifests_whose_ids_or_paths_leave_the_corpus_are_refused(built, tmp_path, column, value, message):
    corpus = tmp_path / "corpus"
    shutil.copytree(built, corpus)
    clips = pd.read_parquet(corpus / "manifest" / "clips.parquet")
    clips.loc[0, column] = value
    clips.to_parquet(corpus / "manifest" / "clips.parquet", index=False)
    with pytest.raises(RemixError, match=message):
        read_clips(corpus)
    result = invoke("inspect", corpus)
    assert result.exit_code == 2 and message in " ".join(result.output.split())


def test_event_stem_paths_outside_the_corpus_are_refused(built, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(built, corpus)
    events = pd.read_parquet(corpus / "manifest" / "events.parquet")
    events["stem_path"] = "../outside.wav"
    events.to_parquet(corpus / "manifest" / "events.parquet", index=False)
    with pytest.raises(RemixError, match="outside the corpus"):
        read_events(corpus)
