"""What a corpus card says of the stand-in sources: its paragraph and, for the recorded
stand-in, where each class's events come from and under which licence.

Kept apart from :mod:`remix.standin.writer` so that a build on the stand-in (which
only quotes it) does not import the synthesisers and SciPy with it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

STANDIN_NOTICE = (
    "The sources of this corpus are the toolkit's built-in stand-in: procedurally generated "
    "acoustic scenes and sound events laid out like TAU Urban Acoustic Scenes 2019 and "
    "FSDKaggle2018, not the real recordings. Results on it are not comparable with the "
    "paper's numbers. Part of the event audio is played from the TimGM6mb General MIDI "
    "SoundFont (shipped with pretty_midi; GPL-2.0), so audio derived from those events "
    "falls under that licence."
)
"""One paragraph a corpus card quotes when the stand-in sources were used."""


def describe_textures(textures: dict[str, list[str]]) -> str:
    """``airport: a.wav, b.wav; park: c.wav``: the recordings each scene label's scenes hold."""
    return "; ".join(f"{scene}: {', '.join(names)}" for scene, names in sorted(textures.items()))


def origin_table(events: pd.DataFrame) -> pd.DataFrame:
    """Clips per class and origin, with the licence and attribution of each.

    Parameters
    ----------
    events : pd.DataFrame
        Rows of a stand-in's event CSVs, with columns ``label``, ``origin``, ``license`` and
        ``attribution``.

    Returns
    -------
    pd.DataFrame
        Columns ``label``, ``origin``, ``clips``, ``license``, ``attribution``; one row per
        (class, origin), sorted by class.
    """
    grouped = events.fillna({"attribution": ""}).groupby(["label", "origin", "license", "attribution"], sort=True)
    table = grouped.size().rename("clips").reset_index()
    return table[["label", "origin", "clips", "license", "attribution"]]


def source_origins(events_dir: Path) -> pd.DataFrame | None:
    """``fname``, ``label``, ``license``, ``origin`` and ``attribution`` of every event source, when
    its CSVs say where each clip comes from (the recorded stand-in); None otherwise."""
    from remix.sources.fsd2018 import META_DIR, TEST_CSV, TRAIN_CSV

    tables = []
    for name in (TRAIN_CSV, TEST_CSV):
        table = pd.read_csv(Path(events_dir) / META_DIR / name, dtype=str, keep_default_na=False)
        if not {"origin", "attribution"} <= set(table.columns):
            return None
        tables.append(table[["fname", "label", "license", "origin", "attribution"]])
    return pd.concat(tables, ignore_index=True).drop_duplicates("fname")


def placed_with_origins(placed: pd.DataFrame, origins: pd.DataFrame) -> pd.DataFrame:
    """``placed`` with each event's ``origin`` and ``attribution`` (from its source file)."""
    by_name = origins.set_index("fname")
    names = placed["source_file"].map(lambda f: Path(f).name)
    return placed.assign(
        origin=names.map(by_name["origin"]).fillna("").to_numpy(),
        attribution=names.map(by_name["attribution"]).fillna("").to_numpy(),
    )


def _origin_section(origins: pd.DataFrame | None, placed: pd.DataFrame) -> str:
    """Per class, where the stand-in's placed events come from and under which licence (Markdown);
    "" for sources whose CSVs do not say (the procedural stand-in)."""
    if origins is None or placed.empty:
        return ""
    first = placed[placed["snr_db"] == placed["snr_db"].min()]
    used = origins[origins["fname"].isin(set(first["source_file"].map(lambda f: Path(f).name)))]
    table = origin_table(used)
    events_per_class = first.groupby("event_label").size()
    lines = [
        "",
        "Where the placed events come from, per class (source clips used; events placed at one SNR):",
        "",
        "| class | origin | source clips | events | licence |",
        "|---|---|---:|---:|---|",
    ]
    lines += [
        f"| {r.label} | {r.origin} | {r.clips} | {int(events_per_class.get(r.label, 0))} | {r.license} |"
        for r in table.itertuples()
    ]
    by_licence = used.groupby("license").size()
    lines += ["", "Source clips by licence: " + ", ".join(f"{k} {v}" for k, v in by_licence.items()) + "."]
    credits = sorted({a for a in used["attribution"].fillna("") if a})
    if credits:
        lines += ["", "Credits:", "", *(f"- {a}" for a in credits)]
    return "\n".join(lines) + "\n"


def _standin_notice(origins: pd.DataFrame | None, textures: dict[str, list[str]] | None = None) -> str:
    """The paragraph on the stand-in: the procedural one's, or the recorded one's (which says
    which classes are recordings, and which scenes hold recorded textures)."""
    if origins is None:
        return STANDIN_NOTICE
    recorded = sorted(set(origins.loc[origins["origin"].str.startswith("recorded:"), "label"]))
    scenes = "procedurally generated scenes"
    if textures:
        scenes += f" (some textured with CC0 recordings from OpenSFX; {describe_textures(textures)})"
    return (
        "The sources of this corpus are the toolkit's recorded stand-in, laid out like TAU Urban Acoustic "
        f"Scenes 2019 and FSDKaggle2018 but not the real corpora: {scenes}, and events "
        f"played from openly licensed recordings for {len(recorded)} classes ({', '.join(recorded) or 'none'}), "
        "from a General MIDI SoundFont for the instrument classes, and procedurally synthesised for the rest. "
        "Results on it are not comparable with the paper's numbers."
    )


def standin_card_section(
    origins: pd.DataFrame | None, placed: pd.DataFrame, *, textures: dict[str, list[str]] | None = None
) -> str:
    """The corpus card's "Stand-in sources" section (Markdown): :func:`_standin_notice`, then per
    class where the placed events come from (:func:`_origin_section`, the recorded stand-in only).
    ``textures``: scene label -> the recordings its scenes hold (the stand-in's ``scene_textures``)."""
    notice = _standin_notice(origins, textures)
    return "\n## Stand-in sources\n\n" + notice + "\n" + _origin_section(origins, placed)
