"""Scenes as the field builds them: clips without a target event, repeated classes, non-target
interference (issue 36, item 1), each tested on the labels it produces; a default build is what it
always was (a committed digest of its content)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from remix.build import RunOptions, SourceFolders, build_corpus
from remix.cli import app
from remix.errors import RemixError
from remix.fresh import corpus_sources
from remix.labels import EVENT_LABELS
from remix.manifest import merged_strong_labels
from remix.recipe import RecipeOptions, plan_fresh
from remix.render import RenderSettings

TARGETS = ("Applause", "Bark", "Cello", "Chime", "Cough", "Laughter", "Meow", "Saxophone", "Telephone", "Trumpet")
DEFAULT_CONTENT = "ff82b0714dc8327b"
"""Content digest (:func:`corpus_content_digest`) of the default 2-clips-per-fold build of the tiny
stand-in at 0 and 20 dB, as the code before these options made it."""


def corpus_content_digest(out: Path) -> str:
    """The corpus's content, decoded (so neither the FLAC encoder's nor the Parquet writer's version
    moves it): every mix's samples, the clips and events manifests, the label files and the options
    file less its comments and source folders."""
    h = hashlib.sha256()
    for path in sorted(out.glob("audio/snr*/*.flac")):
        h.update(path.relative_to(out).as_posix().encode())
        h.update(sf.read(str(path), dtype="int16")[0].tobytes())
    for name in ("clips.parquet", "events.parquet"):
        h.update(pd.read_parquet(out / "manifest" / name).to_csv(index=False, float_format="%.17g").encode())
    for path in sorted(out.glob("metadata/snr*/*.tsv")):
        h.update(path.read_bytes())
    lines = (out / "build.toml").read_text().splitlines()
    h.update("\n".join(x for x in lines if not x.startswith(("#", "scenes =", "events ="))).encode())
    return h.hexdigest()[:16]


def _build(out: Path, sources, recipe: RecipeOptions, *, stems: bool = False) -> Path:
    build_corpus(
        out,
        recipe=recipe,
        render=RenderSettings(snrs=(0.0, 20.0), stems=stems),
        sources=SourceFolders(sources.scenes_dir, sources.events_dir),
        run=RunOptions(progress=False),
    )
    return out


@pytest.fixture(scope="module")
def default(tiny_sources, tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("default") / "corpus", tiny_sources, RecipeOptions(clips_per_fold=2))


@pytest.fixture(scope="module")
def scene(tiny_sources, tmp_path_factory) -> Path:
    recipe = RecipeOptions(clips_per_fold=4, empty_clips=0.25, interference=2, targets=TARGETS, repeats=True)
    return _build(tmp_path_factory.mktemp("scene") / "corpus", tiny_sources, recipe, stems=True)


def _read(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(out / "manifest" / "clips.parquet"), pd.read_parquet(out / "manifest" / "events.parquet")


def test_a_default_build_is_what_it_always_was(default):
    assert corpus_content_digest(default) == DEFAULT_CONTENT
    _, events = _read(default)
    assert "target" not in events.columns
    assert "empty_clips" not in (default / "build.toml").read_text()


def test_empty_clips_hold_no_target_event_and_the_others_keep_theirs(scene, tiny_sources, tmp_path):
    clips, events = _read(scene)
    at0 = clips[clips["snr_db"] == 0.0]
    empty = at0[at0["n_events"] == 0]
    assert empty.groupby("fold").size().to_dict() == {1: 1, 2: 1, 3: 1, 4: 1}  # round(0.25 x 4) per fold
    assert all(len(labels) == 0 for labels in empty["labels"])
    targets = events[events["target"]]
    assert not targets["clip_id"].isin(empty["clip_id"]).any()
    # the clips that keep their targets hold those of the same build without the scene options
    plain = _build(tmp_path / "plain", tiny_sources, RecipeOptions(clips_per_fold=4, targets=TARGETS, repeats=True))
    _, plain_events = _read(plain)
    keep = ["clip_id", "snr_db", "event_label", "onset_s", "offset_s", "source_file"]
    kept = plain_events[~plain_events["clip_id"].isin(empty["clip_id"])][keep].reset_index(drop=True)
    pd.testing.assert_frame_equal(targets[keep].reset_index(drop=True), kept)


def test_interference_is_mixed_in_but_never_labelled(scene):
    clips, events = _read(scene)
    interference = events[~events["target"]]
    assert len(interference) == 2 * len(clips)  # two per clip and SNR
    assert not interference["event_label"].isin(TARGETS).any()
    assert events.loc[events["target"], "event_label"].isin(TARGETS).all()
    for row in clips.itertuples():
        labelled = set(
            events[(events["clip_id"] == row.clip_id) & (events["snr_db"] == row.snr_db) & events["target"]][
                "event_label"
            ]
        )
        assert sorted(row.labels) == sorted(labelled)
    # the interference is in the mix: scene and every event stem (interference included) sum to it
    one = clips.iloc[0]
    mix = sf.read(str(scene / one["audio_path"]), dtype="float64")[0]
    parts = sf.read(str(scene / one["scene_stem_path"]), dtype="float64")[0]
    rows = events[(events["clip_id"] == one["clip_id"]) & (events["snr_db"] == one["snr_db"])]
    assert (~rows["target"]).sum() == 2
    for stem in rows["stem_path"]:
        parts = parts + sf.read(str(scene / stem), dtype="float64")[0]
    np.testing.assert_allclose(mix, parts, atol=2 / 32768)
    weak = pd.read_csv(scene / "metadata" / "snr0" / "weak.tsv", sep="\t")
    strong = pd.read_csv(scene / "metadata" / "snr0" / "strong.tsv", sep="\t")
    assert strong["event_label"].isin(TARGETS).all()
    assert set(",".join(weak["event_labels"].dropna()).split(",")) <= set(TARGETS)
    card = (scene / "CORPUS.md").read_text()
    assert "target classes (labelled), 10" in card and "interfering classes (mixed in, never labelled), 31" in card


def test_repeated_classes_occur_and_their_overlaps_merge_in_the_strong_labels(tiny_sources, tmp_path):
    recipe = RecipeOptions(
        recipe="random", clips_per_fold=4, events_per_clip=4, max_polyphony=4, repeats=True, targets=("Bark", "Cello")
    )
    out = _build(tmp_path / "repeats", tiny_sources, recipe)
    clips, events = _read(out)
    per_clip = events[events["snr_db"] == 0.0].groupby("clip_id")["event_label"]
    assert (per_clip.size() == 4).all() and (per_clip.nunique() <= 2).all()  # four events of two classes
    merged = merged_strong_labels(events)
    for _, group in merged.groupby(["clip_id", "snr_db", "event_label"]):
        spans = group.sort_values("onset_s")[["onset_s", "offset_s"]].to_numpy()
        assert (spans[1:, 0] > spans[:-1, 1]).all()  # no two reference events of a class overlap
    strong = pd.read_csv(out / "metadata" / "snr0" / "strong.tsv", sep="\t")
    assert len(strong) == int((merged["snr_db"] == 0.0).sum()) <= int((events["snr_db"] == 0.0).sum())


def test_merging_joins_overlapping_and_touching_occurrences_only():
    events = pd.DataFrame(
        {
            "clip_id": ["a"] * 4 + ["b"],
            "snr_db": [0.0] * 5,
            "event_label": ["Bark", "Bark", "Bark", "Cello", "Bark"],
            "onset_s": [1.0, 1.5, 4.0, 1.2, 1.6],
            "offset_s": [2.0, 2.5, 5.0, 1.8, 2.0],
        }
    )
    merged = merged_strong_labels(events)
    bark_a = merged[(merged["clip_id"] == "a") & (merged["event_label"] == "Bark")]
    assert bark_a[["onset_s", "offset_s"]].to_numpy().tolist() == [[1.0, 2.5], [4.0, 5.0]]
    assert len(merged) == 4  # Cello in a and Bark in b untouched


def test_fresh_mixtures_follow_the_options(scene):
    sources = corpus_sources(scene)
    plans = plan_fresh(
        sources.pools, options=sources.recipe, seed=sources.seed, folds=(1, 2, 3), n_per_fold=40, key=(7,)
    )
    empty = [p for p in plans if not p.labels]
    assert 0.1 < len(empty) / len(plans) < 0.45  # a quarter in expectation
    for plan in plans:
        assert sum(not e.target for e in plan.events) == 2
        assert set(plan.labels) <= set(TARGETS)
        assert not {e.label for e in plan.events if not e.target} & set(TARGETS)


@pytest.mark.parametrize(
    "recipe, message",
    [
        (RecipeOptions(interference=1), "needs classes that are not targets"),
        (RecipeOptions(targets=("Bark", "Woof")), "Woof"),
        (RecipeOptions(empty_clips=1.0), r"in \[0, 1\)"),
        (RecipeOptions(targets=("Bark", "Cello")), "each clip needs 3 distinct"),
    ],
)
def test_impossible_scene_options_are_refused(recipe, message):
    with pytest.raises(RemixError, match=message):
        recipe.validate()


def test_the_command_line_builds_the_options_and_its_build_toml_repeats_them(tiny_sources, tmp_path):
    runner = CliRunner()
    names = tmp_path / "targets.txt"
    names.write_text("# the labelled classes\n" + "\n".join(TARGETS) + "\n")
    common = [
        "--snr",
        "0",
        "--clips-per-fold",
        "2",
        "--scenes",
        tiny_sources.scenes_dir,
        "--events",
        tiny_sources.events_dir,
    ]
    first = tmp_path / "a"
    args = ["build", *common, "--empty-clips", "0.5", "--interference", "1", "--targets", f"@{names}", "--repeats"]
    result = runner.invoke(app, [str(a) for a in [*args, "--out", first, "--no-progress"]])
    assert result.exit_code == 0, result.output
    toml = (first / "build.toml").read_text()
    assert "empty_clips = 0.5" in toml and "interference = 1" in toml and "repeats = true" in toml
    again = runner.invoke(
        app, ["build", "--config", str(first / "build.toml"), "--out", str(tmp_path / "b"), "--no-progress"]
    )
    assert again.exit_code == 0, again.output
    assert corpus_content_digest(first) == corpus_content_digest(tmp_path / "b")
    bad = runner.invoke(app, [str(a) for a in ["build", *common, "--interference", "1", "--out", tmp_path / "c"]])
    assert bad.exit_code == 2 and "Traceback" not in bad.output and "--targets" in bad.output
    assert len(EVENT_LABELS) == 41
