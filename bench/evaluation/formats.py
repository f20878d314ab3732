"""The DCASE files of a split: score tables, ground truth, durations, detections.

For every evaluated split a run folder holds, under ``dcase/<split>/``::

    scores/<clip_id>.tsv   onset, offset, one column per class: the post-processed frame
                           scores (:func:`bench.evaluation.postprocess.postprocessed_scores`)
                           at the frame times the features really have; the folder is what
                           ``sed_scores_eval.io.read_sed_scores`` reads
    ground_truth.tsv       filename, onset, offset, event_label: the split's clips only
                           (a clip without events has one row with empty fields)
    durations.tsv          filename, duration
    detections.tsv         filename, onset, offset, event_label: the events after the
                           run's post-processing (the scores thresholded at its thresholds)
    bootstrap.parquet      every DCASE metric on each resample of the split's clips

``filename`` is the clip's audio file name (``<clip_id>.flac``), as in the corpus's
``metadata/snr<S>/strong.tsv``; sed_scores_eval keys clips by the name without its
extension, which is the clip id.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.postprocess import SCORE_DECIMALS, TIME_DECIMALS
from bench.evaluation.sse import import_sed_scores_eval

DCASE_DIR = "dcase"

# --------------------------------------------------------------------------- tables


def audio_filenames(clips: pd.DataFrame, clip_ids: Sequence[str], *, snr_db: float | None = None) -> list[str]:
    """The ``filename`` of each clip: its audio file name when that is ``<clip_id>.<ext>``,
    else ``<clip_id>.wav``.

    Parameters
    ----------
    clips : pd.DataFrame
        ``clips.parquet`` (clip_id, audio_path, snr_db).
    clip_ids : sequence of str [shape=(N,)]
    snr_db : float, optional
        Rows of this SNR.
    """
    rows = clips
    if snr_db is not None and "snr_db" in rows.columns:
        rows = rows[np.isclose(rows["snr_db"].astype(float), float(snr_db))]
    names = {}
    if "audio_path" in rows.columns:
        names = {str(c): Path(str(p)).name for c, p in zip(rows["clip_id"], rows["audio_path"])}
    out = []
    for cid in clip_ids:
        cid = str(cid)
        if "." in cid:
            raise BenchError(
                f"clip id {cid!r} holds a dot; DCASE tools take the file name up to its last dot "
                "as the clip id, so such ids cannot be scored"
            )
        name = names.get(cid, "")
        out.append(name if name.rsplit(".", 1)[0] == cid and "." in name else f"{cid}.wav")
    return out


def score_tables(
    scores: np.ndarray, clip_ids: Sequence[str], *, labels: Sequence[str], timestamps: np.ndarray
) -> dict[str, pd.DataFrame]:
    """sed_scores_eval score DataFrames.

    Parameters
    ----------
    scores : np.ndarray [shape=(N, T, C)]
    clip_ids : sequence of str [shape=(N,)]
    labels : sequence of str [shape=(C,)]
    timestamps : np.ndarray [shape=(T + 1,)]
        Frame boundaries (:func:`bench.evaluation.postprocess.frame_timestamps`).

    Returns
    -------
    dict
        clip id -> DataFrame with ``onset``, ``offset`` and one column per label.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 3 or scores.shape[0] != len(clip_ids) or scores.shape[2] != len(labels):
        raise BenchError(f"scores of shape ({len(clip_ids)}, T, {len(labels)}) expected, found {scores.shape}")
    if len(timestamps) != scores.shape[1] + 1:
        raise BenchError(f"{scores.shape[1]} frames need {scores.shape[1] + 1} timestamps, found {len(timestamps)}")
    onset, offset = np.asarray(timestamps[:-1], float), np.asarray(timestamps[1:], float)
    columns = ["onset", "offset", *labels]
    return {
        str(cid): pd.DataFrame(np.column_stack([onset, offset, scores[i]]), columns=columns)
        for i, cid in enumerate(clip_ids)
    }


def with_classes(tables: Mapping[str, pd.DataFrame], keep: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Score tables (:func:`score_tables`) with the columns ``onset``, ``offset`` and ``keep`` only,
    in that order; tables that already have exactly those are handed back as they are."""
    columns = ["onset", "offset", *keep]
    positions: dict[tuple, list[int]] = {}  # a table's columns -> where the kept ones are
    out: dict[str, pd.DataFrame] = {}
    for cid, table in tables.items():
        present = tuple(table.columns)
        if list(present) == columns:
            out[cid] = table
            continue
        if present not in positions:
            positions[present] = [present.index(c) for c in columns]
        out[cid] = pd.DataFrame(table.to_numpy()[:, positions[present]], columns=columns)
    return out


def _round_time(seconds: np.ndarray) -> np.ndarray:
    """Times as the files hold them (:data:`~bench.evaluation.postprocess.TIME_DECIMALS` decimals)."""
    scale = 10.0**TIME_DECIMALS
    return np.rint(np.asarray(seconds, dtype=np.float64) * scale) / scale


def ground_truth_table(
    events: pd.DataFrame, clip_ids: Sequence[str], *, filenames: Sequence[str], snr_db: float | None = None
) -> pd.DataFrame:
    """The reference events of some clips as a DCASE ground-truth table.

    Parameters
    ----------
    events : pd.DataFrame
        ``events.parquet`` (clip_id, event_label, onset_s, offset_s, snr_db).
    clip_ids, filenames : sequence of str [shape=(N,)]
    snr_db : float, optional
        Keep the events of this SNR only.

    Returns
    -------
    pd.DataFrame
        ``filename``, ``onset``, ``offset``, ``event_label`` sorted by clip and onset, times
        rounded to microseconds (the files' precision); a clip without events has one row
        with NaN fields (as DCASE files mark it).
    """
    name_of = {str(c): f for c, f in zip(clip_ids, filenames)}
    rows = events[events["clip_id"].astype(str).isin(name_of)]
    if snr_db is not None and "snr_db" in rows.columns:
        rows = rows[np.isclose(rows["snr_db"].astype(float), float(snr_db))]
    table = pd.DataFrame(
        {
            "filename": rows["clip_id"].astype(str).map(name_of).to_numpy(object),
            "onset": _round_time(rows["onset_s"].to_numpy(float)),
            "offset": _round_time(rows["offset_s"].to_numpy(float)),
            "event_label": rows["event_label"].astype(str).to_numpy(object),
        }
    )
    empty = sorted(set(name_of.values()) - set(table["filename"]))
    if empty:
        table = pd.concat(
            [table, pd.DataFrame({"filename": empty, "onset": np.nan, "offset": np.nan, "event_label": None})],
            ignore_index=True,
        )
    order = {f: i for i, f in enumerate(filenames)}
    table["_order"] = table["filename"].map(order)
    return (
        table.sort_values(["_order", "onset", "event_label"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def ground_truth_events(table: pd.DataFrame) -> dict[str, list[tuple[float, float, str]]]:
    """sed_scores_eval's ground-truth form of a DCASE ground-truth table (clip id -> events)."""
    out: dict[str, list[tuple[float, float, str]]] = {}
    for filename, onset, offset, label in table[["filename", "onset", "offset", "event_label"]].itertuples(index=False):
        events = out.setdefault(str(filename).rsplit(".", 1)[0], [])
        if isinstance(label, str) and label:
            events.append((float(onset), float(offset), label))
    return out


# --------------------------------------------------------------------------- files


def _tsv(table: pd.DataFrame) -> str:
    buffer = io.StringIO()
    table.to_csv(buffer, sep="\t", index=False, float_format=f"%.{TIME_DECIMALS}f")
    return buffer.getvalue()


def write_dcase_files(
    folder: Path,
    *,
    scores: Mapping[str, pd.DataFrame],
    ground_truth: pd.DataFrame,
    durations: pd.DataFrame,
    detections: pd.DataFrame,
) -> Path:
    """Write one split's DCASE files into ``folder`` (replaced as a whole, atomically).

    Scores are written with :data:`~bench.evaluation.postprocess.SCORE_DECIMALS` decimals and
    times with :data:`~bench.evaluation.postprocess.TIME_DECIMALS`, the precision the in-memory
    values were rounded to, so reading the files back gives the same numbers.

    Returns
    -------
    Path
        ``folder``.
    """
    folder = Path(folder)
    tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
    (tmp / "scores").mkdir(parents=True)
    try:
        for cid, table in scores.items():
            values = table.to_numpy(np.float64)
            row = "\t".join([f"%.{TIME_DECIMALS}f"] * 2 + [f"%.{SCORE_DECIMALS}f"] * (values.shape[1] - 2)) + "\n"
            text = "\t".join(table.columns) + "\n" + (row * len(values)) % tuple(values.ravel().tolist())
            (tmp / "scores" / f"{cid}.tsv").write_text(text)  # what np.savetxt writes, formatted in one pass
        (tmp / "ground_truth.tsv").write_text(_tsv(ground_truth))
        (tmp / "durations.tsv").write_text(_tsv(durations))
        (tmp / "detections.tsv").write_text(_tsv(detections))
        if folder.exists():
            old = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.old"
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def read_dcase_files(folder: Path) -> dict[str, Any]:
    """Read one split's DCASE files with sed_scores_eval's readers.

    Returns
    -------
    dict
        ``scores`` (clip id -> DataFrame), ``ground_truth`` (clip id -> events),
        ``durations`` (clip id -> seconds), ``detections`` (DataFrame).
    """
    folder = Path(folder)
    if not (folder / "scores").is_dir():
        raise BenchError(f"{folder} holds no DCASE files; evaluate the run first")
    sse = import_sed_scores_eval()
    return {
        "scores": sse.io.read_sed_scores(folder / "scores"),
        "ground_truth": sse.io.read_ground_truth_events(folder / "ground_truth.tsv"),
        "durations": sse.io.read_audio_durations(folder / "durations.tsv"),
        "detections": pd.read_csv(folder / "detections.tsv", sep="\t"),
    }
