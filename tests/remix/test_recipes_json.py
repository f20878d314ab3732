"""Mixtures as JSON: export then --from-recipes gives the corpus back, byte for byte (issue 36, item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from remix.build import RunOptions, SourceFolders, build_corpus
from remix.cli import app
from remix.errors import RemixError
from remix.recipe import RecipeOptions
from remix.recipes_json import FORMAT, read_recipes
from remix.render import RenderSettings
from remix.reverb import ReverbOptions

runner = CliRunner()
TARGETS = ("Applause", "Bark", "Cello", "Chime", "Cough", "Laughter", "Meow", "Saxophone", "Telephone", "Trumpet")
SMALL_ROOMS = ReverbOptions(
    source="simulated", rt60_s=(0.2, 0.3), room_floor_m=(3.0, 5.0), room_height_m=(2.5, 3.0), source_distance_m=(1, 2)
)


def _audio(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.glob("audio/snr*/*.flac"))}


@pytest.mark.parametrize("rooms", [False, True])
def test_export_then_from_recipes_gives_the_same_corpus(tiny_sources, tmp_path, rooms):
    first = tmp_path / "first"
    recipe = RecipeOptions(clips_per_fold=2, interference=1, targets=TARGETS, empty_clips=0.5)
    build_corpus(
        first,
        recipe=recipe,
        render=RenderSettings(snrs=(0.0, 20.0)),
        sources=SourceFolders(tiny_sources.scenes_dir, tiny_sources.events_dir),
        run=RunOptions(progress=False),
        reverb=SMALL_ROOMS if rooms else ReverbOptions(),
    )
    recipes = tmp_path / "mixtures.jsonl"
    result = runner.invoke(app, ["export-recipes", str(first), "--out", str(recipes)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in recipes.read_text().splitlines()]
    clips = pd.read_parquet(first / "manifest" / "clips.parquet")
    assert len(lines) == len(clips) and all(obj["format"] == FORMAT for obj in lines)
    one = lines[0]
    assert {"fg_events", "bg_events", "int_events", "room", "config", "mixture"} <= set(one)
    assert one["int_events"] and one["int_events"][0]["role"] == "interference"
    assert {"label", "source_file", "source_time", "event_time", "event_duration", "snr"} <= set(one["int_events"][0])
    assert (one["room"] is not None) == rooms
    second = tmp_path / "second"
    result = runner.invoke(app, ["build", "--from-recipes", str(recipes), "--out", str(second), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert _audio(second) == _audio(first) and len(_audio(first)) == len(clips)
    for name in ("clips.parquet", "events.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(second / "manifest" / name), pd.read_parquet(first / "manifest" / name)
        )
    info = [json.loads((f / "manifest" / "corpus.json").read_text()) for f in (first, second)]
    assert info[0]["plan_digest"] == info[1]["plan_digest"]


def test_bad_recipe_files_get_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "something else"}\n')
    with pytest.raises(RemixError, match="line 1: expected a mixture object"):
        read_recipes(bad)
    bad.write_text("not json\n")
    result = runner.invoke(app, ["build", "--from-recipes", str(bad), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "line 1: not JSON" in result.output and "Traceback" not in result.output
