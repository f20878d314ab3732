"""Reader of the TAU Urban Acoustic Scenes 2019 layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from remix.errors import RemixError
from remix.sources import check_sources, read_tau2019
from remix.sources.tau2019 import COLUMNS, TAU2019_DIRNAME, parse_scene_filename

ROWS = [
    ("audio/park-lyon-3-1-a.wav", "park", "lyon-3", "a"),
    ("audio/airport-barcelona-0-0-a.wav", "airport", "barcelona-0", "a"),
    ("audio/airport-barcelona-0-1-a.wav", "airport", "barcelona-0", "a"),
    ("audio/metro-helsinki-12-4-b.wav", "metro", "helsinki-12", "b"),
]


def _make_tau(
    parent: Path, rows=ROWS, *, header="filename\tscene_label\tidentifier\tsource_label", skip_audio=()
) -> Path:
    root = parent / TAU2019_DIRNAME
    (root / "audio").mkdir(parents=True)
    lines = [header] + ["\t".join(r) for r in rows]
    (root / "meta.csv").write_text("\n".join(lines) + "\n")
    rng = np.random.default_rng(0)
    for name, *_ in rows:
        if name not in skip_audio:
            sf.write(str(root / name), 0.1 * rng.standard_normal((4800, 2)), 48000, subtype="PCM_24")
    return root


def test_reads_rows_sorted_with_city_and_identifier(tmp_path):
    root = _make_tau(tmp_path)
    table = read_tau2019(root)
    assert list(table.columns) == list(COLUMNS)
    assert list(table["filename"]) == sorted(r[0] for r in ROWS)
    row = table.set_index("filename").loc["audio/metro-helsinki-12-4-b.wav"]
    assert row["city"] == "helsinki"
    assert row["identifier"] == "helsinki-12"
    assert row["source_label"] == "b"
    assert row["scene_label"] == "metro"
    assert Path(row["path"]).is_absolute() and Path(row["path"]).is_file()


def test_accepts_the_parent_folder(tmp_path):
    _make_tau(tmp_path)
    assert read_tau2019(tmp_path).equals(read_tau2019(tmp_path / TAU2019_DIRNAME))


def test_wrong_folder_says_what_was_expected_and_found(tmp_path):
    (tmp_path / "something.txt").write_text("x")
    (tmp_path / "other").mkdir()
    with pytest.raises(RemixError) as info:
        read_tau2019(tmp_path)
    message = str(info.value)
    assert "meta.csv" in message and "audio/" in message
    assert "something.txt" in message and "other/" in message
    assert "\n" not in message


def test_missing_folder(tmp_path):
    with pytest.raises(RemixError, match="does not exist"):
        read_tau2019(tmp_path / "nowhere")


def test_missing_columns_are_named(tmp_path):
    rows = [(r[0], r[1]) for r in ROWS]
    root = _make_tau(tmp_path, rows, header="filename\tscene_label")
    with pytest.raises(RemixError) as info:
        read_tau2019(root)
    message = str(info.value)
    assert "identifier" in message and "source_label" in message
    assert "found filename, scene_label" in message


def test_file_name_without_city(tmp_path):
    root = _make_tau(tmp_path, [("audio/park.wav", "park", "lyon-3", "a")])
    with pytest.raises(RemixError, match="city"):
        read_tau2019(root)


def test_listed_but_missing_audio_is_kept_and_marked_by_the_check(tmp_path):
    missing = ROWS[0][0]
    root = _make_tau(tmp_path, skip_audio={missing})
    table = read_tau2019(root)
    assert missing in set(table["filename"])
    result = check_sources(table["path"], min_duration_s=0.05, progress=False)
    reasons = dict(zip(table["filename"], result["reason"]))
    assert reasons[missing] == "missing"
    assert all(reasons[r[0]] is None for r in ROWS[1:])


def test_parse_scene_filename():
    assert parse_scene_filename("audio/street_traffic-london-271-8252-a.wav") == (
        "street_traffic",
        "london",
        "271",
        "8252",
        "a",
    )


def test_empty_meta_gives_an_empty_table(tmp_path):
    root = _make_tau(tmp_path, [])
    table = read_tau2019(root)
    assert len(table) == 0 and list(table.columns) == list(COLUMNS)
    assert isinstance(table, pd.DataFrame)
