"""Reader for FSDKaggle2018 (DCASE 2018 Task 2) as it lies on disk.

Layout::

    FSDKaggle2018.audio_train/<fname>.wav
    FSDKaggle2018.audio_test/<fname>.wav
    FSDKaggle2018.meta/train_post_competition.csv
    FSDKaggle2018.meta/test_post_competition_scoring_clips.csv

Files listed in the CSVs but missing on disk are kept here and marked later by
:func:`remix.sources.check.check_sources`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from remix.errors import RemixError
from remix.labels import EVENT_LABELS
from remix.sources.tau2019 import _listing

TRAIN_DIR = "FSDKaggle2018.audio_train"
TEST_DIR = "FSDKaggle2018.audio_test"
META_DIR = "FSDKaggle2018.meta"
TRAIN_CSV = "train_post_competition.csv"
TEST_CSV = "test_post_competition_scoring_clips.csv"

TRAIN_COLUMNS: tuple[str, ...] = ("fname", "label", "manually_verified", "freesound_id", "license")
"""Header of ``train_post_competition.csv``."""

TEST_COLUMNS: tuple[str, ...] = ("fname", "label", "usage", "freesound_id", "license")
"""Header of ``test_post_competition_scoring_clips.csv``."""

COLUMNS: tuple[str, ...] = (
    "path",
    "fname",
    "label",
    "split",
    "manually_verified",
    "freesound_id",
    "license",
)
"""Columns of the table returned by :func:`read_fsd2018`."""


def _check_layout(root: Path) -> None:
    expected = [f"{TRAIN_DIR}/", f"{TEST_DIR}/", f"{META_DIR}/{TRAIN_CSV}", f"{META_DIR}/{TEST_CSV}"]
    if not root.is_dir():
        raise RemixError(
            f"Event folder {root} does not exist: expected the folder holding {', '.join(expected)}; "
            "download FSDKaggle2018 or omit the option to use the built-in stand-in."
        )
    present = [
        (root / TRAIN_DIR).is_dir(),
        (root / TEST_DIR).is_dir(),
        (root / META_DIR / TRAIN_CSV).is_file(),
        (root / META_DIR / TEST_CSV).is_file(),
    ]
    if not all(present):
        lacking = [name for name, ok in zip(expected, present) if not ok]
        raise RemixError(
            f"Event folder {root} does not look like FSDKaggle2018: expected {', '.join(expected)}, "
            f"missing {', '.join(lacking)}; {_listing(root)}. Point to the folder where the "
            "FSDKaggle2018 archives were extracted."
        )


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RemixError(f"{path} cannot be read as a comma-separated table ({exc}).") from exc
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise RemixError(
            f"{path} lacks column(s) {', '.join(missing)}: expected the header {','.join(columns)}, "
            f"found {','.join(map(str, table.columns)) or 'no header'}; restore the original CSV."
        )
    return table


def _to_int(values: pd.Series, *, path: Path, column: str) -> pd.Series:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = values[parsed.isna()]
    if len(bad):
        raise RemixError(f"{path}: column {column} must hold integers, found {bad.iloc[0]!r} ({len(bad)} such row(s)).")
    return parsed.astype("int64")


def read_fsd2018(root: Path) -> pd.DataFrame:
    """List the clips of FSDKaggle2018 (train and scored test clips).

    Parameters
    ----------
    root : Path
        Folder holding ``FSDKaggle2018.audio_train/``, ``FSDKaggle2018.audio_test/``
        and ``FSDKaggle2018.meta/``.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``(split, fname)``; columns ``path`` (absolute, str), ``fname``,
        ``label`` (one of :data:`remix.labels.EVENT_LABELS`), ``split``
        (``"train"`` or ``"test"``), ``manually_verified`` (bool; True for test
        rows), ``freesound_id`` (int) and ``license`` (str).

    Raises
    ------
    RemixError
        For a folder without that layout, CSVs without the expected columns,
        non-integer ids or labels outside the 41 known ones.
    """
    root = Path(root).expanduser()
    _check_layout(root)
    root = root.resolve()
    train_csv = root / META_DIR / TRAIN_CSV
    test_csv = root / META_DIR / TEST_CSV
    train = _read_csv(train_csv, TRAIN_COLUMNS)
    test = _read_csv(test_csv, TEST_COLUMNS)

    verified = _to_int(train["manually_verified"], path=train_csv, column="manually_verified")
    train = pd.DataFrame(
        {
            "path": [str(root / TRAIN_DIR / f) for f in train["fname"]],
            "fname": train["fname"],
            "label": train["label"],
            "split": "train",
            "manually_verified": verified.astype(bool),
            "freesound_id": _to_int(train["freesound_id"], path=train_csv, column="freesound_id"),
            "license": train["license"],
        }
    )
    test = pd.DataFrame(
        {
            "path": [str(root / TEST_DIR / f) for f in test["fname"]],
            "fname": test["fname"],
            "label": test["label"],
            "split": "test",
            "manually_verified": True,
            "freesound_id": _to_int(test["freesound_id"], path=test_csv, column="freesound_id"),
            "license": test["license"],
        }
    )
    table = pd.concat([train, test], ignore_index=True)
    known = set(EVENT_LABELS)
    unknown = sorted(set(table["label"]) - known)
    if unknown:
        raise RemixError(
            f"{root}: unknown event label(s) {', '.join(map(repr, unknown[:8]))}"
            f"{' ...' if len(unknown) > 8 else ''}; expected the 41 FSDKaggle2018 labels "
            "(e.g. 'Acoustic_guitar', 'Hi-hat'). Check that the meta CSVs are the original ones."
        )
    table["manually_verified"] = table["manually_verified"].astype(bool)
    table = table.sort_values(["split", "fname"], kind="stable").reset_index(drop=True)
    return table.loc[:, list(COLUMNS)]
