"""Reader of the FSDKaggle2018 layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from remix.errors import RemixError
from remix.sources import read_fsd2018
from remix.sources.fsd2018 import COLUMNS, META_DIR, TEST_CSV, TEST_DIR, TRAIN_CSV, TRAIN_DIR

TRAIN = (
    "fname,label,manually_verified,freesound_id,license\n"
    "00044347.wav,Hi-hat,0,28739,Attribution\n"
    "001ca53d.wav,Saxophone,1,358827,Attribution\n"
    "002d256b.wav,Trumpet,0,10897,Creative Commons 0\n"
)
TEST = (
    "fname,label,usage,freesound_id,license\n"
    "00326aa9.wav,Oboe,Private,355125,Attribution\n"
    "0038a046.wav,Bass_drum,Public,90621,Attribution Noncommercial\n"
)


def _make_fsd(root: Path, *, train: str = TRAIN, test: str = TEST) -> Path:
    for sub in (TRAIN_DIR, TEST_DIR, META_DIR):
        (root / sub).mkdir(parents=True)
    (root / META_DIR / TRAIN_CSV).write_text(train)
    (root / META_DIR / TEST_CSV).write_text(test)
    rng = np.random.default_rng(0)
    for sub, text in ((TRAIN_DIR, train), (TEST_DIR, test)):
        for line in text.splitlines()[1:]:
            sf.write(str(root / sub / line.split(",")[0]), 0.1 * rng.standard_normal(4410), 44100, subtype="PCM_16")
    return root


def test_reads_both_splits(tmp_path):
    table = read_fsd2018(_make_fsd(tmp_path))
    assert list(table.columns) == list(COLUMNS)
    assert list(table["split"]) == ["test", "test", "train", "train", "train"]
    assert list(table["fname"]) == ["00326aa9.wav", "0038a046.wav", "00044347.wav", "001ca53d.wav", "002d256b.wav"]
    assert table["manually_verified"].dtype == bool
    assert list(table["manually_verified"]) == [True, True, False, True, False]
    assert table["freesound_id"].dtype == np.int64
    assert table.loc[table["fname"] == "0038a046.wav", "license"].item() == "Attribution Noncommercial"
    assert all(Path(p).is_file() and Path(p).is_absolute() for p in table["path"])
    assert Path(table.loc[table["fname"] == "00326aa9.wav", "path"].item()).parent.name == TEST_DIR


def test_unknown_labels_are_named(tmp_path):
    train = TRAIN + "00ffffff.wav,Vuvuzela,1,5,Attribution\n00fffffe.wav,hi-hat,1,6,Attribution\n"
    with pytest.raises(RemixError) as info:
        read_fsd2018(_make_fsd(tmp_path, train=train))
    assert "'Vuvuzela'" in str(info.value) and "'hi-hat'" in str(info.value)


def test_missing_columns_are_named(tmp_path):
    train = "fname,label,freesound_id\n00044347.wav,Hi-hat,28739\n"
    with pytest.raises(RemixError) as info:
        read_fsd2018(_make_fsd(tmp_path, train=train))
    message = str(info.value)
    assert "manually_verified" in message and "license" in message
    assert "found fname,label,freesound_id" in message


def test_non_integer_ids(tmp_path):
    train = "fname,label,manually_verified,freesound_id,license\n00044347.wav,Hi-hat,yes,1,Attribution\n"
    with pytest.raises(RemixError, match="manually_verified"):
        read_fsd2018(_make_fsd(tmp_path, train=train))


def test_wrong_folder_lists_what_is_missing_and_present(tmp_path):
    (tmp_path / TRAIN_DIR).mkdir()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(RemixError) as info:
        read_fsd2018(tmp_path)
    message = str(info.value)
    assert f"missing {TEST_DIR}/" in message
    assert TRAIN_CSV in message and "notes.txt" in message


def test_missing_folder(tmp_path):
    with pytest.raises(RemixError, match="does not exist"):
        read_fsd2018(tmp_path / "nowhere")
