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
from remix.labels import EVENT_LABELS

TARGETS = "Applause,Bark,Cello,Chime,Cough,Laughter,Meow,Saxophone,Telephone,Trumpet,Gunshot_or_gunfire,Knock"


def _build(out: Path, tiny_corpus: Path, **scene) -> Path:
    from remix.build import RunOptions, SourceFolders, build_corpus
    from remix.buildconfig import parse_targets
    from remix.recipe import RecipeOptions
    from remix.render import RenderSettings

    sources = tiny_corpus.parent / "sources"
    build_corpus(
        out,
        recipe=RecipeOptions(clips_per_fold=6, test_clips=4, targets=parse_targets(TARGETS), **scene),
        render=RenderSettings(snrs=(0.0, 20.0)),
        sources=SourceFolders(next(sources.glob("TAU-*")), sources / "FSDKaggle2018"),
        run=RunOptions(progress=False),
    )
    return out


@pytest.fixture(scope="module")
def scene_corpus(tmp_path_factory, tiny_corpus) -> Path:
    out = tmp_path_factory.mktemp("scene") / "corpus"
    return _build(out, tiny_corpus, empty_clips=0.2, repeats=True, interference=1)


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


def test_a_run_is_scored_on_other_corpora_and_their_paired_difference(tiny_corpus, scene_corpus, tmp_path):
    control = _build(tmp_path / "control", tiny_corpus, repeats=True)
    runner = CliRunner()
    args = ["run", "--model", "gap", "--snr", "20", "--seeds", "1", "--preset", "smoke", "--device", "cpu"]
    trained = runner.invoke(app, [*args, "--corpus", str(tiny_corpus), "--results", str(tmp_path / "r")])
    assert trained.exit_code == 0, trained.output
    (run,) = [p.name for p in (tmp_path / "r" / "runs").iterdir() if p.is_dir()]
    out = tmp_path / "score.md"
    result = runner.invoke(
        app,
        ["score", "--run", run, "--on", f"control={control}", "--on", f"scene={scene_corpus}"]
        + ["--results", str(tmp_path / "r"), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "| control |" in text and "| scene |" in text and "Paired differences scene - control" in text
    from bench.inference.transfer import score_on, target_classes

    assert target_classes(scene_corpus) == sorted(TARGETS.split(","), key=EVENT_LABELS.index)
    scored = score_on(tmp_path / "r" / "runs" / run, scene_corpus, out_dir=tmp_path / "again", n_boot=10)
    assert scored["n_without_target"] >= 1 and 0.0 <= scored["micro_ap"] <= 1.0
    assert len(scored["replicates"]["micro_ap"]) == 10
    bad = runner.invoke(app, ["score", "--run", run, "--on", "nowhere", "--results", str(tmp_path / "r")])
    assert bad.exit_code != 0 and "NAME=FOLDER" in bad.output
