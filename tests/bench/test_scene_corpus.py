"""Training and scoring on a corpus with empty clips, repeated classes and interference: the
interference events never reach a label, a target or a reference event (issue 36)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bench.cli import app
from bench.corpus import read_events
from bench.evaluation.formats import read_dcase_files

TARGETS = "Applause,Bark,Cello,Chime,Cough,Laughter,Meow,Saxophone,Telephone,Trumpet,Gunshot_or_gunfire,Knock"


@pytest.fixture(scope="module")
def scene_corpus(tmp_path_factory, tiny_corpus) -> Path:
    from remix.build import RunOptions, SourceFolders, build_corpus
    from remix.buildconfig import parse_targets
    from remix.recipe import RecipeOptions
    from remix.render import RenderSettings

    sources = tiny_corpus.parent / "sources"
    scenes = next(sources.glob("TAU-*"))
    out = tmp_path_factory.mktemp("scene") / "corpus"
    build_corpus(
        out,
        recipe=RecipeOptions(
            clips_per_fold=6, test_clips=4, empty_clips=0.2, repeats=True, interference=1, targets=parse_targets(TARGETS)
        ),
        render=RenderSettings(snrs=(0.0, 20.0)),
        sources=SourceFolders(scenes, sources / "FSDKaggle2018"),
        run=RunOptions(progress=False),
    )
    return out


def test_bench_reads_the_target_events_only(scene_corpus):
    raw = pd.read_parquet(scene_corpus / "manifest" / "events.parquet")
    assert (~raw["target"]).sum() > 0
    events = read_events(scene_corpus)
    assert events["event_label"].isin(TARGETS.split(",")).all()
    assert len(events) <= int(raw["target"].sum())


@pytest.mark.parametrize("mixing", ["fixed", "online"])
def test_a_run_on_a_scene_corpus_trains_and_scores_targets_only(scene_corpus, tmp_path, mixing):
    args = ["run", "--model", "gap", "--snr", "20", "--seeds", "1", "--preset", "smoke", "--device", "cpu"]
    args += ["--corpus", str(scene_corpus), "--results", str(tmp_path), "--mixing", mixing, "--loader-workers", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    truth = read_dcase_files(run / "dcase" / "val")["ground_truth"]
    labels = {event[2] for clip in truth.values() for event in clip}
    assert labels and labels <= set(TARGETS.split(","))
    assert any(not clip for clip in truth.values())  # the empty clips are listed, without events
