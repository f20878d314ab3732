"""What a corpus built from the real sources carries: the TAU notice in full, each event's
Freesound id and licence, the non-commercial flag, and --commercial refusing it (issue 36, item 3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from remix.cli import app

runner = CliRunner()
NOTICE = (
    "Copyright (c) 2019 The Example Licensors. All rights reserved.\n"
    "Use for non-commercial research only; keep this notice, in full, in every copy.\n"
)


@pytest.fixture
def real_layout(tiny_sources, tmp_path) -> tuple[Path, Path]:
    """The tiny sources copied as a user's real folders would lie (no stand-in record), the TAU
    folder with its notice, a third of the event clips CC-BY-NC."""
    scenes = tmp_path / "sources" / tiny_sources.scenes_dir.name
    events = tmp_path / "sources" / tiny_sources.events_dir.name
    shutil.copytree(tiny_sources.scenes_dir, scenes)
    shutil.copytree(tiny_sources.events_dir, events)
    (scenes / "LICENSE").write_text(NOTICE)
    for name in ("train_post_competition.csv", "test_post_competition_scoring_clips.csv"):
        path = events / "FSDKaggle2018.meta" / name
        table = pd.read_csv(path)
        table.loc[table.index % 3 == 0, "license"] = "Attribution Noncommercial"
        table.to_csv(path, index=False)
    return scenes, events


def _build(scenes: Path, events: Path, out: Path, *extra: str):
    args = ["build", "--snr", "0", "--clips-per-fold", "2", "--scenes", scenes, "--events", events]
    return runner.invoke(app, [str(a) for a in [*args, "--out", out, "--no-progress", *extra]])


def test_a_real_data_build_carries_the_notice_the_licences_and_the_flag(real_layout, tmp_path):
    scenes, events = real_layout
    out = tmp_path / "corpus"
    result = _build(scenes, events, out)
    assert result.exit_code == 0, result.output
    licences = (out / "LICENCES.md").read_text()
    assert NOTICE.strip() in licences and NOTICE.strip() in (out / "CORPUS.md").read_text()
    info = json.loads((out / "manifest" / "corpus.json").read_text())
    assert info["non_commercial"] is True and any("TAU" in r for r in info["non_commercial_reasons"])
    placed = pd.read_parquet(out / "manifest" / "events.parquet")
    assert (placed["freesound_id"] > 0).all() and placed["license"].isin(
        ["Attribution", "Attribution Noncommercial", "Creative Commons 0"]
    ).all()
    assert "cc-by-nc" in licences and "non_commercial: true" in licences


def test_commercial_refuses_it_in_one_line_and_writes_nothing(real_layout, tmp_path):
    scenes, events = real_layout
    out = tmp_path / "corpus"
    result = _build(scenes, events, out, "--commercial")
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert "may not be used commercially" in text and "TAU Urban Acoustic Scenes 2019" in text
    assert not (out / "audio").exists() and not (out / "manifest").exists()


def test_without_a_notice_the_build_says_where_to_find_it(real_layout, tmp_path):
    scenes, events = real_layout
    (scenes / "LICENSE").unlink()
    out = tmp_path / "corpus"
    assert _build(scenes, events, out).exit_code == 0
    assert "holds no copyright notice" in (out / "LICENCES.md").read_text()


def test_a_stand_in_build_is_not_flagged(tiny_sources, tmp_path):
    out = tmp_path / "corpus"
    result = _build(tiny_sources.scenes_dir, tiny_sources.events_dir, out, "--commercial")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest" / "corpus.json").read_text())["non_commercial"] is False
    assert not (out / "LICENCES.md").exists()
