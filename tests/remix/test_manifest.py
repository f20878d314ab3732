"""Manifests: schemas, DCASE TSVs, corpus.json, corpus card, atomic writes."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from remix.build import RunOptions, SourceFolders, build_corpus
from remix.errors import RemixError
from remix.manifest import (
    CLIP_SCHEMA,
    EVENT_SCHEMA,
    atomic_output,
    format_snr,
    read_clips,
    read_corpus_info,
    read_events,
    remove_partials,
)
from remix.recipe import RecipeOptions
from remix.render import RenderSettings


@pytest.fixture(scope="module")
def corpus(tiny_sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("manifest") / "corpus"
    build_corpus(
        out,
        recipe=RecipeOptions(clips_per_fold=1),
        render=RenderSettings(snrs=(-5, 0, 7.5)),
        sources=SourceFolders(tiny_sources.scenes_dir, tiny_sources.events_dir),
        run=RunOptions(progress=False, command="remix build ..."),
    )
    return out


@pytest.mark.parametrize("snr, text", [(0, "0"), (10.0, "10"), (-5, "-5"), (2.5, "2.5")])
def test_format_snr(snr, text):
    assert format_snr(snr) == text


def test_tables_carry_the_contract_columns(corpus):
    clips, events = read_clips(corpus), read_events(corpus)
    assert list(clips.columns) == CLIP_SCHEMA.names and list(events.columns) == EVENT_SCHEMA.names
    for col in (
        "clip_id",
        "snr_db",
        "split",
        "fold",
        "audio_path",
        "sample_rate",
        "duration_s",
        "scene_file",
        "scene_label",
        "city",
        "labels",
        "peak_scale",
        "scene_stem_path",
    ):
        assert col in clips.columns
    assert clips["snr_db"].dtype == "float64" and clips["fold"].dtype == "int64"
    assert all(isinstance(list(v), list) and len(v) == 3 for v in clips["labels"])
    assert clips["scene_stem_path"].isna().all() and events["stem_path"].isna().all()  # no stems asked
    assert sorted(clips["snr_db"].unique()) == [-5.0, 0.0, 7.5]


def test_dcase_tsvs(corpus):
    clips, events = read_clips(corpus), read_events(corpus)
    for snr in (-5.0, 0.0, 7.5):
        folder = corpus / "metadata" / f"snr{format_snr(snr)}"
        strong = pd.read_csv(folder / "strong.tsv", sep="\t")
        weak = pd.read_csv(folder / "weak.tsv", sep="\t")
        assert list(strong.columns) == ["filename", "onset", "offset", "event_label"]
        assert list(weak.columns) == ["filename", "event_labels"]
        ev = events[events.snr_db == snr]
        assert len(strong) == len(ev)
        assert (strong["offset"] > strong["onset"]).all()
        c = clips[clips.snr_db == snr]
        assert sorted(weak["filename"]) == sorted(p.split("/")[-1] for p in c["audio_path"])
        for name, labs in zip(weak["filename"], weak["event_labels"]):
            assert sorted(labs.split(",")) == sorted(strong.loc[strong.filename == name, "event_label"])


def test_corpus_json_and_card(corpus):
    info = read_corpus_info(corpus)
    assert info["synthetic"] is True and info["seed"] == 0 and info["snrs"] == [-5.0, 0.0, 7.5]
    assert {"version", "options", "plan_digest", "snr_mode"} <= set(info)
    card = (corpus / "CORPUS.md").read_text()
    assert "synthetic stand-in" in card and "not comparable with the paper" in card
    assert "remix build ..." in card and "licence column holds invented placeholders" in card
    options = (corpus / "build.toml").read_text()
    assert "```toml\n" + options + "```" in card and "snr = [-5.0, 0.0, 7.5]" in options
    for heading in ("per class", "scene label", "city", "split and fold", "per SNR", "Licences"):
        assert heading in card
    json.loads((corpus / "manifest" / "corpus.json").read_text())


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "a" / "x.txt"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []
    with atomic_output(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    assert remove_partials(tmp_path / "a") == 0  # not a folder the builder owns


def test_clean_up_touches_only_the_builders_dead_temporaries(tmp_path):
    dead, live = 99999999, os.getpid()
    files = {
        f"audio/snr0/.c1.partial-{dead}-aa.flac": False,  # a killed build's: removed
        f"audio/snr0/.c2.partial-{live}-bb.flac": True,  # a running writer's: kept
        f".build/.source_check.partial-{dead}-cc.parquet": False,
        f"features/abc/.snr0.partial-{dead}-dd.f32": True,  # bench's folder: never touched
        "audio/snr0/c3.flac": True,
    }
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert remove_partials(tmp_path) == 2
    assert {rel: (tmp_path / rel).exists() for rel in files} == files


def test_reading_a_folder_without_a_corpus(tmp_path):
    with pytest.raises(RemixError, match="not a finished corpus"):
        read_corpus_info(tmp_path)
    with pytest.raises(RemixError, match="not a corpus built by remix"):
        read_clips(tmp_path)
