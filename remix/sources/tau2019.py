"""Reader for TAU Urban Acoustic Scenes 2019 (development set) as it lies on disk.

Layout::

    TAU-urban-acoustic-scenes-2019-development/
        audio/<scene>-<city>-<location>-<segment>-<device>.wav
        meta.csv                       (TAB-separated)
        evaluation_setup/fold1_*.csv

Only ``meta.csv`` is needed to list the recordings; files that it lists but that
are missing on disk are kept here and marked later by
:func:`remix.sources.check.check_sources`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from remix.errors import RemixError

TAU2019_DIRNAME = "TAU-urban-acoustic-scenes-2019-development"
"""Name of the extracted development-set folder."""

META_COLUMNS: tuple[str, ...] = ("filename", "scene_label", "identifier", "source_label")
"""Columns of ``meta.csv``, in order."""

COLUMNS: tuple[str, ...] = ("path", "filename", "scene_label", "city", "identifier", "source_label")
"""Columns of the table returned by :func:`read_tau2019`."""


def _listing(folder: Path, *, limit: int = 6) -> str:
    """A short description of what a folder holds, for error messages."""
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    except OSError as exc:
        return f"cannot list it ({exc.strerror or exc})"
    if not names:
        return "it is empty"
    shown = ", ".join(names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"it holds {shown}{more}"


def resolve_tau2019_root(root: Path) -> Path:
    """Return the development-set folder given it or its parent.

    Parameters
    ----------
    root : Path
        Either ``TAU-urban-acoustic-scenes-2019-development`` itself (any folder
        holding ``meta.csv`` and ``audio/``) or the folder that holds it.

    Raises
    ------
    RemixError
        When neither ``root`` nor ``root / TAU2019_DIRNAME`` has that layout.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise RemixError(
            f"Scene folder {root} does not exist: expected the extracted "
            f"{TAU2019_DIRNAME}/ folder (with meta.csv and audio/) or its parent; "
            "download TAU Urban Acoustic Scenes 2019 (development) or omit the option to use the built-in stand-in."
        )
    for candidate in (root, root / TAU2019_DIRNAME):
        if (candidate / "meta.csv").is_file() and (candidate / "audio").is_dir():
            return candidate.resolve()
    raise RemixError(
        f"Scene folder {root} does not look like TAU Urban Acoustic Scenes 2019: expected "
        f"meta.csv and audio/ in it or in {TAU2019_DIRNAME}/ below it, but {_listing(root)}; "
        "point to the extracted development set."
    )


def parse_scene_filename(filename: str) -> tuple[str, str, str, str, str]:
    """Split ``audio/<scene>-<city>-<location>-<segment>-<device>.wav``.

    Returns
    -------
    tuple of str
        ``(scene, city, location, segment, device)``.

    Raises
    ------
    RemixError
        When the name does not have five dash-separated parts.
    """
    stem = Path(filename).stem
    parts = stem.split("-")
    if len(parts) != 5:
        raise RemixError(
            f"Scene file name {filename!r} does not follow "
            "<scene>-<city>-<location>-<segment>-<device>.wav; the city cannot be read from it."
        )
    scene, city, location, segment, device = parts
    return scene, city, location, segment, device


def read_tau2019(root: Path) -> pd.DataFrame:
    """List the recordings of TAU Urban Acoustic Scenes 2019 (development).

    Parameters
    ----------
    root : Path
        The ``TAU-urban-acoustic-scenes-2019-development`` folder, or its parent.

    Returns
    -------
    pandas.DataFrame
        One row per ``meta.csv`` row, sorted by ``filename``, columns
        ``path`` (absolute, str), ``filename`` (as in meta.csv), ``scene_label``,
        ``city`` (read from the file name), ``identifier`` (recording id, e.g.
        ``"barcelona-0"``: segments of one recording share it) and
        ``source_label`` (recording device).

    Raises
    ------
    RemixError
        For a folder without that layout, a ``meta.csv`` without the expected
        columns, or a file name from which no city can be read.
    """
    folder = resolve_tau2019_root(root)
    meta_path = folder / "meta.csv"
    try:
        meta = pd.read_csv(meta_path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RemixError(
            f"{meta_path} cannot be read as a TAB-separated table ({exc}); "
            "expected the meta.csv of the development set."
        ) from exc
    missing = [c for c in META_COLUMNS if c not in meta.columns]
    if missing:
        raise RemixError(
            f"{meta_path} lacks column(s) {', '.join(missing)}: expected the TAB-separated "
            f"header {' '.join(META_COLUMNS)}, found {', '.join(map(str, meta.columns)) or 'no header'}; "
            "restore the original meta.csv."
        )
    meta = meta.loc[:, list(META_COLUMNS)].copy()
    meta["city"] = [parse_scene_filename(name)[1] for name in meta["filename"]]
    meta["path"] = [str(folder / name) for name in meta["filename"]]
    meta = meta.sort_values("filename", kind="stable").reset_index(drop=True)
    return meta.loc[:, list(COLUMNS)]
