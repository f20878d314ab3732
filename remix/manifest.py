"""The on-disk layout of a built corpus: paths, Parquet tables, DCASE TSVs, corpus card.

Layout under the corpus folder::

    audio/snr<S>/<clip_id>.flac          32 kHz mono 16-bit, one file per clip and SNR
    stems/snr<S>/<clip_id>/scene.wav     (with stems) float32, as they sit in the mix
    stems/snr<S>/<clip_id>/event<k>.wav
    manifest/clips.parquet               one row per (clip_id, snr_db)
    manifest/events.parquet              one row per placed event and SNR
    manifest/skipped.parquet             source files left out (path, reason)
    manifest/corpus.json                 build options, seed, version, synthetic flag
    metadata/snr<S>/strong.tsv           filename onset offset event_label
    metadata/snr<S>/weak.tsv             filename event_labels (comma-separated)
    CORPUS.md                            the corpus card
    build.toml                           the corpus options, for ``remix build --config``
    .build/                              resume records and the source-check cache

Every file is written atomically (a temporary file in the same folder, then
:func:`os.replace`), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from remix.atomic import PARTIAL_MARK, atomic_output, write_json, write_text  # noqa: F401  (re-exported)
from remix.atomic import remove_partials as _remove_partials
from remix.errors import RemixError
from remix.licences import inherited, licence_key

MANIFEST_DIR = "manifest"
BUILD_DIR = ".build"

CLIP_SCHEMA = pa.schema(
    [
        ("clip_id", pa.string()),
        ("snr_db", pa.float64()),
        ("split", pa.string()),
        ("fold", pa.int64()),
        ("audio_path", pa.string()),
        ("sample_rate", pa.int64()),
        ("duration_s", pa.float64()),
        ("scene_file", pa.string()),
        ("scene_label", pa.string()),
        ("city", pa.string()),
        ("scene_identifier", pa.string()),
        ("labels", pa.list_(pa.string())),
        ("n_events", pa.int64()),
        ("scene_gain_db", pa.float64()),
        ("peak_scale", pa.float64()),
        ("scene_stem_path", pa.string()),
    ]
)
"""Columns of ``manifest/clips.parquet``."""

EVENT_SCHEMA = pa.schema(
    [
        ("clip_id", pa.string()),
        ("snr_db", pa.float64()),
        ("event_index", pa.int64()),
        ("event_label", pa.string()),
        ("onset_s", pa.float64()),
        ("offset_s", pa.float64()),
        ("source_file", pa.string()),
        ("source_start_s", pa.float64()),
        ("gain_db", pa.float64()),
        ("level", pa.float64()),
        ("fade_in_s", pa.float64()),
        ("fade_out_s", pa.float64()),
        ("license", pa.string()),
        ("freesound_id", pa.int64()),
        ("stem_path", pa.string()),
    ]
)
"""Columns of ``manifest/events.parquet``. ``gain_db`` is the gain applied to the
resampled mono source segment to give the event exactly as it sits in the mix
(peak scaling included); ``level`` the event's measured level (source RMS in
``rms`` mode, segment loudness in LUFS in ``lufs`` mode)."""

REVERB_FIELDS = [
    ("response", pa.string()),
    ("rt60_s", pa.float64()),
    ("rt60_target_s", pa.float64()),
    ("room_length_m", pa.float64()),
    ("room_width_m", pa.float64()),
    ("room_height_m", pa.float64()),
    ("source_distance_m", pa.float64()),
    ("drr_db", pa.float64()),
    ("response_s", pa.float64()),
]
"""Columns a reverberant corpus's ``manifest/events.parquet`` adds (:mod:`remix.reverb`):
``response`` is ``simulated`` or the response file (relative to the ``--reverb`` folder);
``rt60_s`` the response's measured reverberation time (NaN when it does not decay 25 dB),
``rt60_target_s`` and the room's dimensions those a simulated room was drawn with (NaN for
files), ``source_distance_m`` the event's distance to the microphone (NaN for files),
``drr_db`` the direct-to-reverberant ratio and ``response_s`` the length of the response
after its direct-path peak."""

REVERB_EVENT_SCHEMA = pa.schema([*EVENT_SCHEMA, *(pa.field(n, t) for n, t in REVERB_FIELDS)])
"""Columns of ``manifest/events.parquet`` in a reverberant corpus."""

TARGET_FIELD = ("target", pa.bool_())
"""The column a corpus with interference events adds to ``manifest/events.parquet``: False for an
interference event (mixed in, never labelled), True for a target event."""


def event_schema(*, reverb: bool = False, interference: bool = False) -> pa.Schema:
    """Columns of ``manifest/events.parquet``: :data:`EVENT_SCHEMA`, the reverberation columns of a
    reverberant corpus, the ``target`` column of one with interference events."""
    fields = [*EVENT_SCHEMA]
    if reverb:
        fields += [pa.field(n, t) for n, t in REVERB_FIELDS]
    if interference:
        fields.append(pa.field(*TARGET_FIELD))
    return pa.schema(fields)


def target_events(events: pd.DataFrame) -> pd.DataFrame:
    """The labelled events of a manifest: every row, less the interference events (``target`` False)."""
    if "target" not in events.columns:
        return events
    keep = events["target"].fillna(True).astype(bool)
    return events[keep.to_numpy()].reset_index(drop=True)


def merged_strong_labels(events: pd.DataFrame) -> pd.DataFrame:
    """Strong labels of the target events with the overlapping (or touching) occurrences of one class
    in one clip and SNR merged into one event (sed_scores_eval refuses overlapping reference events
    of one class; a listener hears one). Columns ``clip_id``, ``snr_db`` (when present),
    ``event_label``, ``onset_s``, ``offset_s``; a corpus without repeated classes comes back as it is."""
    rows = target_events(events)
    keys = [k for k in ("clip_id", "snr_db", "event_label") if k in rows.columns]
    if rows.empty or not rows.duplicated(keys).any():
        return rows
    ordered = rows.sort_values([*keys, "onset_s"], kind="stable")
    merged: list[dict] = []
    for _, group in ordered.groupby(keys, sort=False):
        current: dict | None = None
        for row in group.to_dict("records"):
            if current is not None and row["onset_s"] <= current["offset_s"]:
                current["offset_s"] = max(current["offset_s"], row["offset_s"])
                continue
            if current is not None:
                merged.append(current)
            current = dict(row)
        merged.append(current)  # type: ignore[arg-type]
    out = pd.DataFrame(merged, columns=rows.columns)
    return out.sort_values([k for k in ("clip_id", "snr_db") if k in out.columns] + ["onset_s"], kind="stable")


ORIGIN_FIELDS = [("origin", pa.string()), ("attribution", pa.string())]
"""Columns appended to ``manifest/events.parquet`` when the event sources say where each clip
comes from (the recorded stand-in): ``origin`` (``recorded:<package>``, ``soundfont:<name>`` or
``procedural``) and ``attribution`` (whom to credit)."""

SKIPPED_SCHEMA = pa.schema([("path", pa.string()), ("reason", pa.string())])
"""Columns of ``manifest/skipped.parquet``."""


def format_snr(snr_db: float) -> str:
    """SNR as it appears in folder names: ``0``, ``10``, ``-5``, ``2.5``."""
    return f"{float(snr_db):g}"


def audio_relpath(clip_id: str, snr_db: float, *, ext: str) -> str:
    """Path of a clip's audio relative to the corpus folder."""
    return f"audio/snr{format_snr(snr_db)}/{clip_id}.{ext}"


def stem_relpath(clip_id: str, snr_db: float, name: str) -> str:
    """Path of one stem (``scene`` or ``event<k>``) relative to the corpus folder."""
    return f"stems/snr{format_snr(snr_db)}/{clip_id}/{name}.wav"


def record_path(out_dir: Path, clip_id: str) -> Path:
    """Resume record of one finished clip."""
    return Path(out_dir) / BUILD_DIR / "records" / f"{clip_id}.json"


def write_table(path: Path, df: pd.DataFrame, schema: pa.Schema) -> None:
    """Write a table as Parquet with a fixed schema, atomically and reproducibly."""
    table = pa.Table.from_pandas(df.reset_index(drop=True), schema=schema, preserve_index=False)
    table = table.replace_schema_metadata(None)
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


BUILD_OWNED_DIRS = ("audio", "stems", "manifest", "metadata", BUILD_DIR)
"""Sub-folders the corpus builder writes (``features/`` and anything else are left alone)."""


def remove_partials(out_dir: Path) -> int:
    """Delete temporary files left in the builder's own folders by an interrupted build; return how many.

    Only :data:`BUILD_OWNED_DIRS` and the corpus folder's own top level are searched
    (never ``features/``, where ``bench`` writes), and a temporary file whose writer is
    still running is kept.
    """
    out_dir = Path(out_dir)
    n = _remove_partials(out_dir, recursive=False)
    for name in BUILD_OWNED_DIRS:
        n += _remove_partials(out_dir / name)
    return n


def read_clips(out_dir: Path, *, required: Sequence[str] = ()) -> pd.DataFrame:
    """``manifest/clips.parquet`` of a built corpus, checked: the project's one reader of it.

    Parameters
    ----------
    out_dir : Path
        The corpus folder.
    required : sequence of str
        Columns the caller needs; their absence is an error naming them.

    Raises
    ------
    RemixError
        The folder or its manifest is missing, the manifest is damaged, or required
        columns are absent; each message says what to run.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise RemixError(
            f"corpus folder {out_dir} does not exist; build one with `remix build --out {out_dir}` "
            "(or point to an existing one, e.g. --corpus DIR)"
        )
    path = out_dir / MANIFEST_DIR / "clips.parquet"
    if not path.is_file():
        if (out_dir / ".build").is_dir():
            raise RemixError(
                f"{out_dir} is not a built corpus yet: {path.relative_to(out_dir)} is missing; run the same "
                "`remix build` command again (an interrupted build resumes)"
            )
        raise RemixError(
            f"{out_dir} is not a corpus built by remix (no {path.relative_to(out_dir)}); point --corpus at the "
            "--out folder of a `remix build`, or build one into a new folder: remix build --out NEW_FOLDER"
        )
    try:
        clips = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # truncated or not Parquet (pyarrow.ArrowInvalid is a ValueError)
        raise RemixError(
            f"cannot read {path} ({(str(exc).splitlines() or [type(exc).__name__])[0]}); the corpus "
            "manifest is damaged: run the same `remix build` command again, which rewrites it from "
            "the finished clips"
        ) from None
    missing = set(required) - set(clips.columns)
    if missing:
        raise RemixError(f"{path} lacks the columns {sorted(missing)}; rebuild the corpus with this version")
    check_manifest_names(clips, path=path)
    return clips


CLIP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
"""A clip id: a plain name (letters, digits, ``_`` and ``-``), used as a file name by every tool."""
PATH_COLUMNS = ("audio_path", "scene_stem_path", "stem_path")
"""Manifest columns holding paths relative to the corpus folder."""


def check_manifest_names(table: pd.DataFrame, *, path: Path) -> None:
    """Refuse a manifest whose clip ids are not plain names or whose paths leave the corpus.

    Clip ids become file names (``<clip_id>.tsv`` in a run's DCASE folders) and paths are
    opened under the corpus folder: an id such as ``/tmp/x`` or ``../x``, or a path that is
    absolute or climbs out with ``..``, would read or write outside. RemixError naming the
    first offender and how many there are.
    """
    if "clip_id" in table.columns:
        ids = table["clip_id"].astype(str)
        bad = ids[~ids.str.match(CLIP_ID)]
        if len(bad):
            raise RemixError(
                f"{path}: {len(bad)} clip id(s) are not plain names (letters, digits, _ and -), e.g. "
                f"{bad.iloc[0]!r}; such ids would be used as file names. Rebuild the corpus with remix build."
            )
    for column in PATH_COLUMNS:
        if column not in table.columns:
            continue
        values = table[column].dropna().astype(str)
        outside = [v for v in values.unique() if not _inside(v)]
        if outside:
            raise RemixError(
                f"{path}: {len(outside)} {column} value(s) point outside the corpus folder, e.g. {outside[0]!r}; "
                "manifest paths must be relative and stay inside it. Rebuild the corpus with remix build."
            )


def _inside(relative: str) -> bool:
    """A relative POSIX or Windows path without ``..`` components (nor a drive or root)."""
    if not relative or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        return False
    return ".." not in re.split(r"[\\/]", relative)


def read_events(out_dir: Path) -> pd.DataFrame:
    """``manifest/events.parquet`` of a built corpus (clip ids and paths checked as
    :func:`check_manifest_names` does)."""
    path = Path(out_dir) / MANIFEST_DIR / "events.parquet"
    events = _read(path)
    check_manifest_names(events, path=path)
    return events


def read_corpus_info(out_dir: Path) -> dict:
    """``manifest/corpus.json`` of a built corpus."""
    path = Path(out_dir) / MANIFEST_DIR / "corpus.json"
    if not Path(out_dir).is_dir():
        raise RemixError(f"corpus folder {out_dir} does not exist; give the --out folder of a `remix build`.")
    if not path.is_file():
        raise RemixError(
            f"{out_dir} is not a finished corpus: {path} is missing; run `remix build` "
            "(again, with the same options, to finish an interrupted build)."
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RemixError(f"cannot read {path}: {exc}; rebuild the corpus.") from None


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise RemixError(
            f"{path} is missing: expected a corpus built by `remix build`; run it (again, with the "
            "same options, to finish an interrupted build)."
        )
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise RemixError(f"cannot read {path}: {exc}; rebuild the corpus.") from None


def write_dcase_tsvs(out_dir: Path, clips: pd.DataFrame, events: pd.DataFrame) -> list[Path]:
    """Write DCASE label files per SNR: ``strong.tsv`` and ``weak.tsv``.

    ``filename`` is the audio file's name (as sed_scores_eval and psds_eval
    expect, relative to ``audio/snr<S>/``); onsets and offsets in seconds.

    Returns
    -------
    list of Path
        The files written.
    """
    written = []
    for snr, group in clips.groupby("snr_db", sort=True):
        folder = Path(out_dir) / "metadata" / f"snr{format_snr(snr)}"
        names = dict(zip(group["clip_id"], [Path(p).name for p in group["audio_path"]]))
        labelled = merged_strong_labels(events)
        ev = labelled[labelled["snr_db"] == snr].sort_values(["clip_id", "onset_s", "event_label"])
        strong = ["filename\tonset\toffset\tevent_label"]
        strong += [
            f"{names[c]}\t{on:.6f}\t{off:.6f}\t{lab}"
            for c, on, off, lab in zip(ev["clip_id"], ev["onset_s"], ev["offset_s"], ev["event_label"])
        ]
        weak = ["filename\tevent_labels"]
        weak += [f"{names[c]}\t{','.join(labs)}" for c, labs in zip(group["clip_id"], group["labels"])]
        for name, lines in (("strong.tsv", strong), ("weak.tsv", weak)):
            write_text(folder / name, "\n".join(lines) + "\n")
            written.append(folder / name)
    return written


def _count_table(series: pd.Series, title: str) -> list[str]:
    counts = series.value_counts().sort_index()
    lines = [f"| {title} | count |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in counts.items()]
    return lines


def _quantiles(values: pd.Series, unit: str) -> str:
    """Quartiles of the finite values (a response without reverberation has an infinite ratio)."""
    v = values[np.isfinite(values.to_numpy(dtype=float))]
    if v.empty:
        return "not measured"
    q = v.quantile([0.0, 0.25, 0.5, 0.75, 1.0]).to_numpy()
    return f"median {q[2]:.2f} {unit} (quartiles {q[1]:.2f} to {q[3]:.2f}, range {q[0]:.2f} to {q[4]:.2f})"


def _reverb_card(events: pd.DataFrame, reverb: dict, *, snr_mode: str) -> list[str]:
    """The corpus card's section on reverberation (``events``: the rows of one SNR)."""
    source = reverb.get("source")
    lines = ["## Reverberation", ""]
    if source == "simulated":
        lines += [
            "Every clip is one simulated shoebox room (pyroomacoustics, image-source model, Sabine absorption, "
            f"no air absorption): target RT60 drawn from {reverb['rt60_s'][0]:g}-{reverb['rt60_s'][1]:g} s, "
            f"length and width from {reverb['room_floor_m'][0]:g}-{reverb['room_floor_m'][1]:g} m, height from "
            f"{reverb['room_height_m'][0]:g}-{reverb['room_height_m'][1]:g} m; every event at its own position, "
            f"{reverb['source_distance_m'][0]:g}-{reverb['source_distance_m'][1]:g} m from the microphone.",
            "",
            f"- distance to the microphone: {_quantiles(events['source_distance_m'], 'm')}",
        ]
    else:
        n_files = events["response"].nunique()
        lines += [
            f"Every event drew an impulse response file from `{source}` (first channel, resampled); "
            f"{n_files} distinct file(s) placed.",
            "",
        ]
    lines += [
        f"- measured RT60 of the responses: {_quantiles(events['rt60_s'], 's')}",
        f"- direct-to-reverberant ratio: {_quantiles(events['drr_db'], 'dB')}",
        "",
        "Labels: each response is cut at its direct-path peak, which lands on the labelled onset; the "
        "reverberant tail rings on past the labelled offset (to the end of the clip at most) and is not "
        "labelled. Levels: the SNR is set on the reverberant event, "
        + (
            "by the root of the energy of the whole reverberant source file over the dry file's length."
            if snr_mode == "rms"
            else "by the loudness of the placed reverberant event, tail included."
        )
        + " With stems, each event stem is the reverberant event and the mix is the sum of the stems.",
        "",
        "manifest/events.parquet lists every event's response, measured RT60, direct-to-reverberant ratio and, "
        "for simulated rooms, the room's dimensions and target RT60 and the event's distance.",
    ]
    return lines


def _scene_options_section(opts: dict, clips: pd.DataFrame, events: pd.DataFrame) -> list[str]:
    """The card's lines on empty clips, repeated classes and interference (none when all are off)."""
    from remix.labels import EVENT_LABELS

    if not any(k in opts for k in ("empty_clips", "repeats", "interference", "targets")):
        return []
    lines = ["## Targets, interference, empty clips", ""]
    targets = opts.get("targets")
    if targets:
        others = [lab for lab in EVENT_LABELS if lab not in set(targets)]
        lines.append(f"- target classes (labelled), {len(targets)}: {', '.join(targets)}")
        lines.append(f"- interfering classes (mixed in, never labelled), {len(others)}: {', '.join(others) or 'none'}")
    n_clips = clips["clip_id"].nunique()
    no_target = int((clips["n_events"] == 0).sum()) if "n_events" in clips else 0
    asked = opts.get("empty_clips", 0.0)
    lines.append(f"- clips without a target event: {no_target} of {n_clips} ({asked:g} of each fold asked)")
    if "target" in events.columns:
        n_int = int((~events["target"].astype(bool)).sum())
        lines.append(f"- interference events: {n_int} ({opts.get('interference', 0)} per clip), flagged target = false")
    if opts.get("repeats"):
        repeated = target_events(events)
        dup = repeated.duplicated(["clip_id", "event_label"]).sum() if len(repeated) else 0
        lines.append(
            f"- classes may repeat within a clip: {int(dup)} repeated occurrence(s); overlapping occurrences of a "
            "class are merged in the strong labels (metadata/*/strong.tsv)"
        )
    return lines + [""]


def corpus_card(*, clips: pd.DataFrame, events: pd.DataFrame, skipped: pd.DataFrame, info: dict) -> str:
    """The corpus card (Markdown): what is in the corpus, where it came from, how to rebuild it.

    Parameters
    ----------
    clips, events, skipped : pd.DataFrame
        The three manifests.
    info : dict
        The content of ``corpus.json`` plus ``command`` (the command line) and,
        optionally, ``options_toml`` (the build options file, quoted).

    Returns
    -------
    str
        Markdown text.
    """
    snrs = sorted(clips["snr_db"].unique())
    first = clips[clips["snr_db"] == snrs[0]] if snrs else clips
    ev1 = events[events["snr_db"] == snrs[0]] if snrs else events
    opts = info.get("options", {})
    lines = ["# Noisy remix corpus", ""]
    if info.get("synthetic"):
        lines += [
            "> **Built from the embedded synthetic stand-in sources, not from TAU Urban Acoustic Scenes 2019 "
            "and FSDKaggle2018.** Numbers obtained on this corpus are not comparable with the paper's; "
            "they show that the pipeline runs. Build with `--scenes` and `--events` for the real corpus.",
            "",
        ]
    lines += [
        f"- clips: {first['clip_id'].nunique()} per SNR ({len(clips)} audio files) at SNR "
        f"{', '.join(format_snr(s) for s in snrs)} dB ({info.get('snr_mode', 'rms')} definition)",
        f"- recipe: {opts.get('recipe', '?')}; {opts.get('clip_duration_s', '?')} s, "
        f"{opts.get('sample_rate', '?')} Hz mono, {info.get('audio_format', '?')} 16-bit",
        f"- seed: {info.get('seed')}; remix version {info.get('version')}; plan digest {info.get('plan_digest')}",
        f"- skipped source files: {len(skipped)} (see manifest/skipped.parquet)",
        "",
        "Rebuild with:",
        "",
        "```",
        info.get("command", "remix build ..."),
        "```",
        "",
    ]
    if info.get("options_toml"):
        lines += [
            "or with the options file next to this card, `build.toml` (its content below): "
            "`remix build --config build.toml --out NEW_FOLDER`.",
            "",
            "```toml",
            info["options_toml"].rstrip("\n"),
            "```",
            "",
        ]
    lines += _scene_options_section(opts, first, ev1)
    lines += [
        "Splits: folds 1-4 are the development folds (events from FSDKaggle2018's manually verified training "
        "clips, scenes from disjoint groups of recordings); fold 0 is the held-out test split (FSDKaggle2018 test "
        "clips and scene recordings no fold uses).",
        "",
        "## Clips per split and fold (each SNR)",
        "",
    ]
    lines += _count_table(first["split"] + " / fold " + first["fold"].astype(str), "split / fold")
    lines += ["", "## Clips per SNR", ""]
    lines += _count_table(clips["snr_db"].map(format_snr) + " dB", "SNR")
    lines += ["", "## Events per class (each SNR)", ""]
    lines += _count_table(ev1["event_label"], "class")
    lines += ["", "## Clips per scene label (each SNR)", ""]
    lines += _count_table(first["scene_label"], "scene")
    lines += ["", "## Clips per city (each SNR)", ""]
    lines += _count_table(first["city"], "city")
    if info.get("reverb"):
        lines += ["", *_reverb_card(ev1, info["reverb"], snr_mode=info.get("snr_mode", "rms"))]
    lines += ["", "## Licences of the placed events", ""]
    per_file = ev1.drop_duplicates("source_file")
    lines += [f"Distinct event files: {len(per_file)}.", ""]
    lines += _count_table(per_file["license"].replace("", "unknown"), "licence (distinct files)")
    if info.get("synthetic") and info.get("standin", "procedural") == "procedural":
        lines += [
            "",
            "The procedural stand-in's licence column holds invented placeholders, as its Freesound ids do. "
            "Its audio is the toolkit's own (MIT), except the events played from the TimGM6mb SoundFont, "
            "which fall under the GPL-2.0 (see below).",
            "",
        ]
        return "\n".join(lines)
    nc = int(per_file["license"].map(licence_key).eq("cc-by-nc").sum())
    lines += ["", inherited(per_file["license"]), ""]
    if nc:
        lines += [
            f"{nc} event file(s) carry a non-commercial licence: a corpus that holds them may not be used "
            "commercially (`remix build --licences cc0,cc-by` leaves them out).",
            "",
        ]
    lines += [
        "manifest/events.parquet lists the licence and source of every placed event, for attribution.",
        "",
    ]
    if info.get("synthetic"):
        lines += [
            "Stand-in scenes are generated by this toolkit (MIT); the events' licences are each source clip's "
            "own, as above.",
            "",
        ]
    else:
        lines += [
            "Scenes: TAU Urban Acoustic Scenes 2019 (Tampere University), see its licence terms; events: "
            "FSDKaggle2018 (Freesound), licence per clip as above.",
            "",
        ]
    return "\n".join(lines)
