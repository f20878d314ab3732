"""DCASE files of a run and the DCASE localisation metrics computed from them.

For every evaluated split a run folder holds, under ``dcase/<split>/``::

    scores/<clip_id>.tsv   onset, offset, one column per class: the post-processed frame
                           scores (:func:`bench.postprocess.postprocessed_scores`) at the
                           frame times the features really have; the folder is what
                           ``sed_scores_eval.io.read_sed_scores`` reads
    ground_truth.tsv       filename, onset, offset, event_label: the split's clips only
                           (a clip without events has one row with empty fields)
    durations.tsv          filename, duration
    detections.tsv         filename, onset, offset, event_label: the events after the
                           run's post-processing (the scores thresholded at its thresholds)

``filename`` is the clip's audio file name (``<clip_id>.flac``), as in the corpus's
``metadata/snr<S>/strong.tsv``; sed_scores_eval keys clips by the name without its
extension, which is the clip id.

The metrics (:func:`dcase_metrics`) are computed with sed_scores_eval on exactly these
scores, ground truth and durations:

- PSDS1 and PSDS2 with the DCASE 2021-2023 task 4 scenarios (:data:`PSDS1`,
  :data:`PSDS2`): intersection-based, effective FPR per hour up to 100;
- collar-based event F1 at the run's thresholds (200 ms onset collar, offset collar
  max(200 ms, 20 % of the reference length));
- segment-based F1 on 1 s segments at the run's thresholds.

sed_scores_eval refuses classes without a reference event, so every metric is taken
over the classes present in the split's ground truth; the others are listed in
``classes_left_out``. PSDS needs at least two classes present (None otherwise).
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.bootstrap import N_BOOT_DCASE
from bench.corpus import read_clips, read_events
from bench.errors import BenchError
from bench.postprocess import (
    SCORE_DECIMALS,
    TIME_DECIMALS,
    PostProcessing,
    decisions_to_events,
    frame_timestamps,
    postprocessed_scores,
)
from bench.store import results_locked
from remix.errors import RemixError

__all__ = [
    "COLLAR",
    "DCASE_DIR",
    "PSDS1",
    "PSDS2",
    "SEGMENT_LENGTH_S",
    "audio_filenames",
    "available_cores",
    "clip_detections",
    "dcase_metrics",
    "dcase_replicates",
    "evaluate_split",
    "ground_truth_table",
    "ground_truth_events",
    "import_sed_scores_eval",
    "joined_deltas",
    "localise_run",
    "merge_localisation",
    "psds_values",
    "read_dcase_files",
    "read_replicates",
    "relocalise_run",
    "score_tables",
    "stored_outputs",
    "tagging_control",
    "write_dcase_files",
    "write_replicates",
]

DCASE_DIR = "dcase"
PSDS1 = {
    "dtc_threshold": 0.7,
    "gtc_threshold": 0.7,
    "cttc_threshold": None,
    "alpha_ct": 0.0,
    "alpha_st": 1.0,
    "max_efpr": 100.0,
    "unit_of_time": "hour",
}
"""PSDS scenario 1 of DCASE 2021-2023 task 4 (tight localisation)."""
PSDS2 = {
    "dtc_threshold": 0.1,
    "gtc_threshold": 0.1,
    "cttc_threshold": 0.3,
    "alpha_ct": 0.5,
    "alpha_st": 1.0,
    "max_efpr": 100.0,
    "unit_of_time": "hour",
}
"""PSDS scenario 2 of DCASE 2021-2023 task 4 (classification, cross-triggers penalised)."""
COLLAR = {"onset_collar": 0.2, "offset_collar": 0.2, "offset_collar_rate": 0.2}
"""Collar-based event F1: sed_eval's and DCASE's collars."""
SEGMENT_LENGTH_S = 1.0


# --------------------------------------------------------------------------- sed_scores_eval


def import_sed_scores_eval():
    """Import sed_scores_eval, made to work with the project's pandas.

    sed_scores_eval 0.0.4 (its latest release) imports sed_eval -> dcase_util ->
    ``pkg_resources``, which setuptools 81 removed (hence ``setuptools<81`` in the
    project's dependencies), and under pandas 3 (copy-on-write) it passes the read-only
    array that ``DataFrame.to_numpy()`` returns to its Cython onset/offset routine, which
    fails with "buffer source array is read-only". Its development version copies such
    arrays (upstream commit 113a7ce); until a release has that, the same copy is made
    here by wrapping the routine it calls. The wrapper changes nothing under pandas 2.

    Returns
    -------
    module
        ``sed_scores_eval``.
    """
    try:
        with warnings.catch_warnings():  # dcase_util's "pkg_resources is deprecated"
            warnings.filterwarnings("ignore", message=".*pkg_resources.*")
            import sed_scores_eval
            from sed_scores_eval.base_modules import statistics
    except ImportError as exc:
        raise BenchError(
            f"sed_scores_eval cannot be imported ({exc}); install the project's dependencies "
            "(pip install -e .), which pin setuptools<81 for its pkg_resources import"
        ) from None
    original = statistics.onset_offset_curves
    if not getattr(original, "_writeable_copy", False):

        def onset_offset_curves(scores, timestamps, change_point_candidates=None):
            return original(np.require(scores, requirements="W"), timestamps, change_point_candidates)

        onset_offset_curves._writeable_copy = True
        statistics.onset_offset_curves = onset_offset_curves
    return sed_scores_eval


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
        Frame boundaries (:func:`bench.postprocess.frame_timestamps`).

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


def _round_time(seconds: np.ndarray) -> np.ndarray:
    """Times as the files hold them (:data:`~bench.postprocess.TIME_DECIMALS` decimals)."""
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

    Scores are written with :data:`~bench.postprocess.SCORE_DECIMALS` decimals and
    times with :data:`~bench.postprocess.TIME_DECIMALS`, the precision the in-memory
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


# --------------------------------------------------------------------------- PSDS


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


_SHARD_CLIPS = 250
"""Clips per block of statistics at most: bounds the per-clip statistics held at once."""
_FORKED_CALLS: dict[int, Sequence[Callable[[], Any]]] = {}
"""The calls worker processes inherit from their parent, by batch (set before forking, so
that neither the calls nor their arguments are pickled; a batch per call of
:func:`_run_calls`, so that threads of one process do not mix them up)."""
_BATCHES = itertools.count()


def _forked_call(batch: int, index: int) -> Any:
    return _FORKED_CALLS[batch][index]()


def _run_calls(calls: Sequence[Callable[[], Any]], *, num_jobs: int) -> list[Any]:
    """The results of argument-less calls, in order; over ``num_jobs`` forked worker
    processes when ``num_jobs > 1`` (only the results are pickled), else in this
    process. A process that cannot fork, or is itself a daemonic worker (a cluster
    worker may not start processes of its own), runs them in this process."""
    import multiprocessing

    forked = "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon
    if num_jobs <= 1 or len(calls) <= 1 or not forked:
        return [call() for call in calls]
    from concurrent.futures import ProcessPoolExecutor

    batch = next(_BATCHES)
    _FORKED_CALLS[batch] = calls
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(num_jobs, len(calls)), mp_context=context) as pool:
            return list(pool.map(_forked_call, [batch] * len(calls), range(len(calls))))
    finally:
        del _FORKED_CALLS[batch]


Statistic = tuple[str, Mapping[str, Any]]
"""One of sed_scores_eval's intermediate statistics: ``("intersection", {dtc_threshold,
gtc_threshold, cttc_threshold, ...})`` (PSDS), ``("collar", {onset_collar, offset_collar,
offset_collar_rate})`` (collar-based F1) or ``("segment", {segment_length})``
(segment-based F1); other keys of the mapping are ignored."""


def _statistic_deltas(sse, statistic: Statistic, scores, truth, durations) -> dict:
    """sed_scores_eval's per-clip deltas of one statistic (clip id -> class -> deltas)."""
    kind, p = statistic
    if kind == "intersection":
        return sse.intersection_based.intermediate_statistics_deltas(
            scores,
            truth,
            dtc_threshold=p["dtc_threshold"],
            gtc_threshold=p["gtc_threshold"],
            cttc_threshold=p["cttc_threshold"],
        )
    if kind == "collar":
        return sse.collar_based.intermediate_statistics_deltas(
            scores,
            truth,
            onset_collar=p["onset_collar"],
            offset_collar=p["offset_collar"],
            offset_collar_rate=p["offset_collar_rate"],
        )
    if kind == "segment":  # not exported by the package, unlike the two above
        from sed_scores_eval.segment_based.intermediate_statistics import intermediate_statistics_deltas

        return intermediate_statistics_deltas(scores, truth, durations, segment_length=p["segment_length"])
    raise BenchError(f"unknown statistic {kind!r}; use intersection, collar or segment")


def _concat_deltas(parts: Sequence[Mapping[str, tuple]]) -> dict[str, tuple]:
    """Join sed_scores_eval's per-clip deltas (class -> (change-point scores, flat dict of
    deltas)) of several clips into one entry per class, in the order given."""
    classes = list(parts[0])
    return {
        c: (
            np.concatenate([p[c][0] for p in parts]),
            {key: np.concatenate([p[c][1][key] for p in parts]) for key in parts[0][c][1]},
        )
        for c in classes
    }


def _block_deltas(
    clip_ids: Sequence[str],
    scores: Mapping[str, pd.DataFrame],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    statistics: Sequence[Statistic],
) -> list[dict[str, tuple]]:
    """sed_scores_eval's deltas of some clips for each statistic, joined per class in the
    order of ``clip_ids`` (:func:`_owned_deltas` without the clip of each entry)."""
    owned = _owned_deltas(clip_ids, 0, scores, ground_truth, durations, statistics)
    return [{c: (points, deltas) for c, (points, deltas, _) in joined.items()} for joined in owned]


def _owned_deltas(
    clip_ids: Sequence[str],
    offset: int,
    scores: Mapping[str, pd.DataFrame],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    statistics: Sequence[Statistic],
) -> list[dict[str, tuple]]:
    """sed_scores_eval's deltas of some clips for each statistic, joined per class in the
    order of ``clip_ids``, with the index (``offset`` + position in ``clip_ids``) of the clip
    each entry belongs to: class -> (change-point scores, deltas, clip index)."""
    sse = import_sed_scores_eval()
    scores = {cid: scores[cid] for cid in clip_ids}
    truth = {cid: list(ground_truth[cid]) for cid in clip_ids}
    seconds = {cid: durations[cid] for cid in clip_ids}
    first = scores[clip_ids[0]]
    classes = [c for c in first.columns if c not in ("onset", "offset")]
    present = {event[2] for cid in clip_ids for event in truth[cid]}
    missing = [c for c in classes if c not in present]
    if missing:
        # sed_scores_eval refuses clips where some class has no reference event; each clip's
        # statistics depend on that clip alone, so a clip of zero scores holding one event of
        # each missing class is added to the block and its statistics are dropped
        holder = "\x00missing classes"  # no clip id starts with a NUL
        scores[holder] = first.assign(**dict.fromkeys(classes, 0.0))
        truth[holder] = [(0.0, 1.0, c) for c in missing]
        seconds[holder] = seconds[clip_ids[0]]
    out = []
    for statistic in statistics:
        deltas = _statistic_deltas(sse, statistic, scores, truth, seconds)
        joined = {}
        for c in deltas[clip_ids[0]]:
            parts = [deltas[cid][c] for cid in clip_ids]
            joined[c] = (
                np.concatenate([p[0] for p in parts]),
                {key: np.concatenate([p[1][key] for p in parts]) for key in parts[0][1]},
                np.concatenate([np.full(len(p[0]), offset + i) for i, p in enumerate(parts)]),
            )
        out.append(joined)
    return out


def joined_deltas(
    scores: Mapping[str, pd.DataFrame],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    *,
    statistics: Sequence[Statistic],
    num_jobs: int = 1,
) -> list[dict[str, dict[str, tuple]]]:
    """sed_scores_eval's intermediate statistics of a split, in bounded memory and over
    ``num_jobs`` processes, in the form its metric functions take as ``deltas=``.

    sed_scores_eval's metric functions (``psds``, ``fscore``) compute the same statistics
    themselves; they keep every clip's statistics until the end (tens of small arrays per
    clip and class, over 1 GB for a paper-size fold) and their own ``num_jobs`` sends them
    all between processes. Here sed_scores_eval's ``intermediate_statistics_deltas`` runs
    on blocks of at most :data:`_SHARD_CLIPS` clips (in forked worker processes when
    ``num_jobs > 1``), each block returns its statistics joined per class (a few arrays
    per class instead of a few per clip and class), and the blocks' statistics, joined
    in turn, are put under the first clip's id, every other clip holding empty ones.
    sed_scores_eval sums the statistics over clips, so a metric computed from them is
    identical to its plain call (``tests/bench/test_dcase.py`` checks this).

    Parameters
    ----------
    scores : dict
        Clip id -> score DataFrame (``onset``, ``offset``, one column per class).
    ground_truth : dict
        Clip id -> list of (onset, offset, label); every clip of ``scores``.
    durations : dict
        Clip id -> seconds; every clip of ``scores``.
    statistics : sequence of Statistic
        What to compute (:data:`Statistic`).
    num_jobs : int
        Worker processes (forked; where a process cannot fork, or is itself a daemonic
        worker, everything is computed in this process); 1 computes in this process.

    Returns
    -------
    list of dict
        For each statistic, clip id -> class -> (change-point scores, deltas).
    """
    if num_jobs < 1:
        raise BenchError(f"num_jobs must be at least 1, found {num_jobs}")
    if not scores:
        raise BenchError("no clips to score")
    ids = list(scores)
    n_blocks = -(-len(ids) // _SHARD_CLIPS)
    if num_jobs > 1:  # a multiple of the processes, so that they finish together
        n_blocks = min(len(ids), -(-n_blocks // num_jobs) * num_jobs)
    blocks = [list(b) for b in np.array_split(np.asarray(ids, dtype=object), n_blocks)]
    calls = [partial(_block_deltas, block, scores, ground_truth, durations, statistics) for block in blocks]
    parts = list(zip(*_run_calls(calls, num_jobs=num_jobs)))  # statistic -> the blocks' deltas
    out = []
    for blocks_deltas in parts:
        merged = _concat_deltas(blocks_deltas)
        empty = {c: (v[0][:0], {key: a[:0] for key, a in v[1].items()}) for c, v in merged.items()}
        deltas = dict.fromkeys(ids, empty)
        deltas[ids[0]] = merged
        out.append(deltas)
    return out


def psds_values(
    scores: Mapping[str, pd.DataFrame],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    *,
    scenarios: Sequence[Mapping[str, Any]] = (PSDS1, PSDS2),
    num_jobs: int = 1,
) -> list[float]:
    """PSDS of several scenarios with sed_scores_eval, from :func:`joined_deltas`
    (identical to ``sed_scores_eval.intersection_based.psds``, in bounded memory and over
    ``num_jobs`` processes).

    Parameters
    ----------
    scores, ground_truth, durations : dict
        As :func:`joined_deltas`.
    scenarios : sequence of dict
        ``psds`` keyword arguments (:data:`PSDS1`, :data:`PSDS2`).
    num_jobs : int

    Returns
    -------
    list of float
        One PSDS per scenario.
    """
    statistics = [("intersection", scenario) for scenario in scenarios]
    deltas = joined_deltas(scores, ground_truth, durations, statistics=statistics, num_jobs=num_jobs)
    truth, seconds = dict(ground_truth), dict(durations)
    calls = [partial(_psds, d, truth, seconds, scenario) for scenario, d in zip(scenarios, deltas)]
    return _run_calls(calls, num_jobs=num_jobs)


def _psds(deltas: dict, ground_truth: dict, durations: dict, scenario: Mapping[str, Any]) -> float:
    sse = import_sed_scores_eval()
    return float(sse.intersection_based.psds(None, ground_truth, durations, deltas=deltas, **scenario)[0])


def _fscores(kind: str, deltas: dict, ground_truth: dict, durations: dict, threshold: dict) -> dict[str, float]:
    """``<name>_f1``, ``_precision``, ``_recall`` (micro) and ``_macro_f1`` of sed_scores_eval's
    collar-based (``kind="collar"``, named ``event``) or segment-based (``"segment"``)
    ``fscore`` from joined deltas."""
    sse = import_sed_scores_eval()
    if kind == "collar":
        f, p, r, _ = sse.collar_based.fscore(None, ground_truth, threshold, deltas=deltas, **COLLAR)
    else:
        f, p, r, _ = sse.segment_based.fscore(
            None, ground_truth, durations, threshold, deltas=deltas, segment_length=SEGMENT_LENGTH_S
        )
    name = "event" if kind == "collar" else kind
    return {
        f"{name}_f1": f["micro_average"],
        f"{name}_precision": p["micro_average"],
        f"{name}_recall": r["micro_average"],
        f"{name}_macro_f1": f["macro_average"],
    }


# --------------------------------------------------------------------------- resamples


def dcase_replicates(
    scores: Mapping[str, Any],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    *,
    weights: np.ndarray,
    thresholds: Mapping[str, float] | None = None,
    psds: bool = True,
    num_jobs: int = 1,
) -> dict[str, np.ndarray]:
    """PSDS1, PSDS2, collar-based event F1 and segment F1 under each resample, computed by
    sed_scores_eval.

    sed_scores_eval's per-clip statistics (deltas) are computed once per metric; for
    resample ``b`` the deltas of each drawn clip are counted as often as it was drawn
    (scaled by the count), joined into one entry, and handed to sed_scores_eval's metric
    function (``psds``, ``fscore``) through ``deltas=`` with the ground truth and durations
    of the resampled clip list (a clip drawn twice appears twice). That is
    sed_scores_eval's metric of the resampled set; under weights of all ones it is the
    split's own value (tested). A class that no drawn clip holds a reference event of is
    left out of that resample, as :func:`dcase_metrics` leaves out classes
    absent from the split.

    Parameters
    ----------
    scores : dict
        Clip id -> score DataFrame (``onset``, ``offset``, one column per class present
        in the ground truth), as :func:`dcase_metrics` scores them.
    ground_truth : dict
        Clip id -> list of (onset, offset, label).
    durations : dict
        Clip id -> seconds.
    weights : np.ndarray [shape=(B, N)]
        :func:`bench.bootstrap.clip_weights` of ``list(scores)``.
    thresholds : dict, optional
        Label -> decision threshold: adds ``event_f1`` and ``segment_f1`` (micro).
    psds : bool
        Compute ``psds1`` and ``psds2``.
    num_jobs : int
        Processes for the resamples (forked, as :func:`joined_deltas`).

    Returns
    -------
    dict
        Metric name -> (B,) replicates, NaN where a resample leaves it undefined (PSDS
        needs two classes with a reference event).
    """
    sse = import_sed_scores_eval()
    ids = list(scores)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if w.shape[1] != len(ids):
        raise BenchError(f"weights for {w.shape[1]} clips, scores for {len(ids)}")
    truth = {cid: list(ground_truth[cid]) for cid in ids}
    seconds = {cid: float(durations[cid]) for cid in ids}
    table = {cid: scores[cid] for cid in ids}
    jobs: list[tuple[str, Any, Any]] = []  # (name, statistic, metric of (deltas, truth, seconds, classes))
    if psds:
        for name, scenario in (("psds1", PSDS1), ("psds2", PSDS2)):
            jobs.append(
                (
                    name,
                    ("intersection", scenario),
                    lambda d, g, t, kept, sc=scenario: sse.intersection_based.psds(None, g, t, deltas=d, **sc)[0],
                )
            )
    if thresholds is not None:
        jobs.append(
            (
                "event_f1",
                ("collar", COLLAR),
                lambda d, g, t, kept: sse.collar_based.fscore(
                    None, g, {c: float(thresholds[c]) for c in kept}, deltas=d, **COLLAR
                )[0]["micro_average"],
            )
        )
        jobs.append(
            (
                "segment_f1",
                ("segment", {"segment_length": SEGMENT_LENGTH_S}),
                lambda d, g, t, kept: sse.segment_based.fscore(
                    None, g, t, {c: float(thresholds[c]) for c in kept}, deltas=d, segment_length=SEGMENT_LENGTH_S
                )[0]["micro_average"],
            )
        )
    # every clip's deltas joined per class with the clip of each entry, computed on blocks of clips
    # (over forked processes) so that no per-clip statistics pile up
    n_blocks = max(1, -(-len(ids) // _SHARD_CLIPS))
    if num_jobs > 1:
        n_blocks = min(len(ids), -(-n_blocks // num_jobs) * num_jobs)
    starts = np.linspace(0, len(ids), n_blocks + 1).astype(int)
    statistics = [statistic for _, statistic, _ in jobs]
    calls_blocks = [
        partial(_owned_deltas, ids[a:b], a, table, truth, seconds, statistics) for a, b in zip(starts[:-1], starts[1:])
    ]
    blocks = _run_calls(calls_blocks, num_jobs=num_jobs)  # block -> statistic -> class -> (points, deltas, owner)
    joined_by_job = []
    for k in range(len(jobs)):
        parts = [block[k] for block in blocks]
        joined_by_job.append(
            {
                c: (
                    np.concatenate([p[c][0] for p in parts]),
                    {key: np.concatenate([p[c][1][key] for p in parts]) for key in parts[0][c][1]},
                    np.concatenate([p[c][2] for p in parts]),
                )
                for c in parts[0]
            }
        )
    chunks = [c for c in np.array_split(np.arange(w.shape[0]), max(1, min(num_jobs, w.shape[0]))) if c.size]
    calls = [
        partial(_resampled_values, joined, metric, name, ids, truth, seconds, w[chunk])
        for (name, _, metric), joined in zip(jobs, joined_by_job)
        for chunk in chunks
    ]
    values = iter(_run_calls(calls, num_jobs=num_jobs))
    return {name: np.concatenate([next(values) for _ in chunks]) for name, _, _ in jobs}


RESAMPLE_ID = "resample"
"""The one clip id a resample's statistics are handed to sed_scores_eval under."""


def _resampled_values(
    joined: Mapping[str, tuple],
    metric: Callable[..., float],
    name: str,
    ids: Sequence[str],
    truth: Mapping[str, list],
    seconds: Mapping[str, float],
    weights: np.ndarray,
) -> np.ndarray:
    """One metric under each row of ``weights``, from every clip's joined deltas (see
    :func:`dcase_replicates`).

    sed_scores_eval sums the deltas over clips and reads from the ground truth only each
    class's event count and total event duration (and the durations' total), so a resample
    is handed over as one entry: the deltas scaled by the clips' counts under one id, the
    ground truth as the resampled events of each class laid end to end (the same count and
    total duration) and one duration, the resampled total. Its metrics equal those of the
    resampled clip list passed clip by clip (tested), at the cost of one clip.
    """
    classes = list(joined)
    lengths = {cid: [(label, float(off) - float(on)) for on, off, label in events] for cid, events in truth.items()}
    out = np.full(weights.shape[0], np.nan)
    for b, row in enumerate(weights):
        counts = np.rint(row).astype(int)
        per_class: dict[str, list[float]] = {}
        for cid, n in zip(ids, counts):
            for label, length in lengths[cid] if n else ():
                per_class.setdefault(label, []).extend([length] * n)
        kept = [c for c in classes if c in per_class]
        if not kept or (name.startswith("psds") and len(kept) < 2):
            continue
        dropped = {f"cts\\{c}" for c in classes if c not in per_class}
        first = {}
        for c in kept:
            points, delta, owner = joined[c]
            scale = row[owner]
            keep = scale > 0
            first[c] = (
                points[keep],
                {key: _scaled(value, scale)[keep] for key, value in delta.items() if key not in dropped},
            )
        events = []
        for label in kept:
            start = 0.0
            for length in per_class[label]:  # apart from each other, so none merge
                events.append((start, start + length, label))
                start += length + 1.0
        total = float(np.dot(counts, [seconds[cid] for cid in ids]))
        value = float(metric({RESAMPLE_ID: first}, {RESAMPLE_ID: events}, {RESAMPLE_ID: total}, kept))
        out[b] = value if np.isfinite(value) else np.nan
    return out


def _scaled(value: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Deltas of each entry times its clip's count (deltas may be (n,) or (n, k))."""
    value = np.asarray(value)
    return value * scale.reshape((-1,) + (1,) * (value.ndim - 1))


# --------------------------------------------------------------------------- metrics


def dcase_metrics(
    scores: Mapping[str, pd.DataFrame],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    *,
    thresholds: Mapping[str, float],
    num_jobs: int = 1,
) -> dict[str, Any]:
    """PSDS1, PSDS2, collar-based event F1 and 1 s segment F1 with sed_scores_eval.

    Parameters
    ----------
    scores : dict
        Clip id -> score DataFrame (``onset``, ``offset``, one column per class).
    ground_truth : dict
        Clip id -> list of (onset, offset, label).
    durations : dict
        Clip id -> seconds.
    thresholds : dict
        Label -> decision threshold (for the F1 scores).
    num_jobs : int
        Processes for the statistics (:func:`joined_deltas`; their cost grows with clips x
        classes: see ``benchmarks/psds_speed.py``).

    Returns
    -------
    dict
        ``psds1``, ``psds2``, ``event_f1`` / ``event_precision`` / ``event_recall``
        (micro), ``event_macro_f1``, ``segment_f1`` / ``segment_precision`` /
        ``segment_recall`` (micro), ``segment_macro_f1``, ``n_classes_scored``,
        ``classes_left_out`` (labels without a reference event, not scored). Undefined
        values are None.
    """
    import_sed_scores_eval()  # a missing or broken install fails here, with advice
    if not scores:
        raise BenchError("no clips to score")
    labels = [c for c in next(iter(scores.values())).columns if c not in ("onset", "offset")]
    present = sorted({ev[2] for events in ground_truth.values() for ev in events})
    unknown = sorted(set(present) - set(labels))
    if unknown:
        raise BenchError(f"the ground truth holds labels the scores lack: {unknown[:5]}")
    keep = [lab for lab in labels if lab in present]
    out: dict[str, Any] = dict.fromkeys(
        [
            "psds1",
            "psds2",
            "event_f1",
            "event_precision",
            "event_recall",
            "event_macro_f1",
            "segment_f1",
            "segment_precision",
            "segment_recall",
            "segment_macro_f1",
        ]
    )
    out.update(n_classes_scored=len(keep), classes_left_out=[lab for lab in labels if lab not in present])
    if not keep:
        return out
    scores = {cid: table[["onset", "offset", *keep]] for cid, table in scores.items()}
    ground_truth = {cid: list(events) for cid, events in ground_truth.items()}
    durations = dict(durations)
    threshold = {lab: float(thresholds[lab]) for lab in keep}
    statistics: list[Statistic] = [("collar", COLLAR), ("segment", {"segment_length": SEGMENT_LENGTH_S})]
    if len(keep) >= 2:  # sed_scores_eval 0.0.4 fails on its empty cross-trigger statistics
        statistics += [("intersection", PSDS2), ("intersection", PSDS1)]
    collar, segment, *intersection = joined_deltas(
        scores, ground_truth, durations, statistics=statistics, num_jobs=num_jobs
    )
    calls: list[Callable[[], Any]] = [
        partial(_psds, deltas, ground_truth, durations, scenario)
        for scenario, deltas in zip((PSDS2, PSDS1), intersection)
    ]  # the longest first
    calls += [
        partial(_fscores, "collar", collar, ground_truth, durations, threshold),
        partial(_fscores, "segment", segment, ground_truth, durations, threshold),
    ]
    *psds, event, segment = _run_calls(calls, num_jobs=num_jobs)
    out.update(zip(("psds2", "psds1"), psds), **event, **segment)
    return {
        k: (
            float(v)
            if isinstance(v, (float, np.floating)) and np.isfinite(v)
            else (None if isinstance(v, (float, np.floating)) else v)
        )
        for k, v in out.items()
    }


def evaluate_split(
    frame_probs: np.ndarray,
    clip_probs: np.ndarray,
    *,
    post: PostProcessing,
    clip_ids: Sequence[str],
    filenames: Sequence[str],
    events: pd.DataFrame,
    labels: Sequence[str],
    duration_s: float,
    snr_db: float | None = None,
    folder: Path | None = None,
    num_jobs: int = 1,
    n_boot: int = N_BOOT_DCASE,
) -> dict[str, Any]:
    """Post-process one split, write its DCASE files and score them, with 95 % intervals.

    Parameters
    ----------
    frame_probs : np.ndarray [shape=(N, T, C)]
    clip_probs : np.ndarray [shape=(N, C)]
    post : PostProcessing
    clip_ids, filenames : sequence of str [shape=(N,)]
    events : pd.DataFrame
        ``events.parquet``.
    labels : sequence of str [shape=(C,)]
    duration_s : float
        Clip length.
    snr_db : float, optional
        Reference events of this SNR.
    folder : Path, optional
        Where to write the DCASE files (``<run>/dcase/<split>``); nothing is written without it.
    num_jobs : int
        Processes for the DCASE statistics (:func:`joined_deltas`) and the resamples.
    n_boot : int
        Resamples of the clips for the intervals (:func:`bench.bootstrap.dcase_replicates`);
        0 computes none. With ``folder``, each metric's value on every resample goes to
        ``folder/bootstrap.parquet`` (one row per resample), from which tables and
        ``bench compare`` take cell intervals and paired differences.

    Returns
    -------
    dict
        :func:`dcase_metrics` plus frame-level ``frame_f1``, ``frame_precision``,
        ``frame_recall`` of the decisions (micro over frames x classes), ``n_ref`` and
        ``n_detections`` (events, every class), and with ``n_boot``: ``intervals`` (metric
        -> [low, high], 95 % percentile bootstrap over the clips) and ``n_boot``.
    """
    from bench.metrics import frame_targets

    scores = postprocessed_scores(frame_probs, clip_probs, post)
    times = frame_timestamps(scores.shape[1], hop_s=post.hop_s, frame_start_s=post.frame_start_s, duration_s=duration_s)
    tables = score_tables(scores, clip_ids, labels=labels, timestamps=times)
    truth_table = ground_truth_table(events, clip_ids, filenames=filenames, snr_db=snr_db)
    truth = ground_truth_events(truth_table)
    ids = [str(f).rsplit(".", 1)[0] for f in filenames]
    if ids != [str(c) for c in clip_ids]:
        raise BenchError("each filename must be its clip id plus an extension (see audio_filenames)")
    durations = {cid: float(duration_s) for cid in ids}
    active = scores >= np.asarray(post.thresholds)
    detections = decisions_to_events(active, filenames, labels=labels, timestamps=times)
    if folder is not None:
        write_dcase_files(
            folder,
            scores=tables,
            ground_truth=truth_table,
            durations=pd.DataFrame({"filename": list(filenames), "duration": float(duration_s)}),
            detections=detections,
        )
    out = dcase_metrics(tables, truth, durations, thresholds=dict(zip(labels, post.thresholds)), num_jobs=num_jobs)
    target = frame_targets(
        events,
        list(clip_ids),
        n_frames=scores.shape[1],
        hop_s=post.hop_s,
        labels=labels,
        snr_db=snr_db,
        start_s=post.frame_start_s,
    )
    tp, n_pred, n_true = int((target & active).sum()), int(active.sum()), int(target.sum())
    out.update(
        frame_f1=2 * tp / (n_pred + n_true) if n_pred + n_true else None,
        frame_precision=tp / n_pred if n_pred else None,
        frame_recall=tp / n_true if n_true else None,
        n_ref=int(truth_table["event_label"].notna().sum()),
        n_detections=int(len(detections)),
    )
    if n_boot > 0 and out["n_classes_scored"]:
        from bench.bootstrap import clip_weights, frame_f1_replicates

        weights = clip_weights(ids, n_boot=n_boot)
        keep = [lab for lab in labels if lab not in out["classes_left_out"]]
        replicates = dcase_replicates(
            {cid: table[["onset", "offset", *keep]] for cid, table in tables.items()},
            truth,
            durations,
            weights=weights,
            thresholds=dict(zip(labels, post.thresholds)),
            psds=len(keep) >= 2,
            num_jobs=num_jobs,
        )
        replicates["frame_f1"] = frame_f1_replicates(
            (target & active).sum(axis=(1, 2)), active.sum(axis=(1, 2)), target.sum(axis=(1, 2)), weights
        )
        add_intervals(out, replicates, n_boot=n_boot)
        if folder is not None:
            write_replicates(folder, replicates)
    return out


REPLICATES = "bootstrap.parquet"
"""Each DCASE metric of a split on every resample of its clips (``dcase/<split>/``)."""


def add_intervals(out: dict[str, Any], replicates: Mapping[str, np.ndarray], *, n_boot: int) -> None:
    """Put each metric's 95 % interval (:func:`bench.bootstrap.interval`) into ``out["intervals"]``."""
    from bench.bootstrap import interval

    out.setdefault("intervals", {}).update({name: list(interval(values)) for name, values in replicates.items()})
    out["n_boot"] = int(n_boot)


def write_replicates(folder: Path, replicates: Mapping[str, np.ndarray]) -> Path:
    """Add (or replace) columns of ``folder/bootstrap.parquet``: one row per resample."""
    from bench.store import atomic_write_parquet

    path = Path(folder) / REPLICATES
    frame = pd.DataFrame({name: np.asarray(values, dtype=np.float64) for name, values in replicates.items()})
    if path.is_file():
        old = pd.read_parquet(path)
        if len(old) == len(frame):
            frame = pd.concat([old.drop(columns=[c for c in frame.columns if c in old.columns]), frame], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_parquet(path, frame)


def read_replicates(folder: Path) -> pd.DataFrame | None:
    """``folder/bootstrap.parquet``, or None when the split has none (evaluated before it existed)."""
    path = Path(folder) / REPLICATES
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # a damaged file: the caller reports the cell without its interval
        raise BenchError(f"{path} cannot be read ({exc}); run bench localise to write it again") from None


# --------------------------------------------------------------------------- runs


def localise_run(
    run_dir: Path,
    *,
    outputs: Mapping[str, tuple[Sequence[str], np.ndarray, np.ndarray]],
    events: pd.DataFrame,
    clips: pd.DataFrame,
    labels: Sequence[str],
    hop_s: float,
    frame_start_s: float,
    snr_db: float | None = None,
    num_jobs: int = 1,
    n_boot: int = N_BOOT_DCASE,
) -> dict[str, Any]:
    """Choose the post-processing on ``val``, apply it to every split, write the run's
    ``postprocess.json`` and DCASE files, and score them, with intervals
    (:func:`evaluate_split`) and the tagging-only control (:func:`tagging_control`).

    Parameters
    ----------
    run_dir : Path
        The run folder.
    outputs : dict
        Split -> (clip ids [N], clip probabilities (N, C), frame outputs (N, T, C)); must hold "val".
    events, clips : pd.DataFrame
        The corpus's ``events.parquet`` and ``clips.parquet``.
    labels : sequence of str [shape=(C,)]
    hop_s, frame_start_s : float
        The run's frame grid (:class:`bench.features.LogMelSettings`).
    snr_db : float, optional
    num_jobs : int
        Processes for the DCASE statistics (:func:`joined_deltas`) and the resamples.
    n_boot : int
        Resamples of the clips for the intervals (0: none).

    Returns
    -------
    dict
        ``{"postprocessing": PostProcessing.to_dict(), "postprocessing_search": {...},
        "<split>": evaluate_split(...) with "tagging_only": tagging_control(...)[split]}``.
    """
    from bench.postprocess import choose_postprocessing, save_postprocessing

    if "val" not in outputs:
        raise BenchError("the post-processing is chosen on the validation split, which is missing")
    run_dir = Path(run_dir)
    durations = clips["duration_s"].astype(float) if "duration_s" in clips.columns else pd.Series([10.0])
    duration_s = float(durations.max())
    val_ids, val_clip, val_frame = outputs["val"]
    post, search = choose_postprocessing(
        val_frame,
        val_clip,
        reference=events if snr_db is None else events[np.isclose(events["snr_db"].astype(float), float(snr_db))],
        clip_ids=list(val_ids),
        labels=labels,
        hop_s=hop_s,
        frame_start_s=frame_start_s,
        duration_s=duration_s,
    )
    save_postprocessing(run_dir, post)
    result: dict[str, Any] = {"postprocessing": post.to_dict(), "postprocessing_search": search}
    for split, (ids, clip_probs, frame_probs) in outputs.items():
        ids = [str(c) for c in ids]
        result[split] = evaluate_split(
            frame_probs,
            clip_probs,
            post=post,
            clip_ids=ids,
            filenames=audio_filenames(clips, ids, snr_db=snr_db),
            events=events,
            labels=labels,
            duration_s=duration_s,
            snr_db=snr_db,
            folder=run_dir / DCASE_DIR / split,
            num_jobs=num_jobs,
            n_boot=n_boot,
        )
    control = tagging_control(
        outputs,
        events=events,
        clips=clips,
        labels=labels,
        hop_s=hop_s,
        frame_start_s=frame_start_s,
        duration_s=duration_s,
        snr_db=snr_db,
        num_jobs=num_jobs,
        n_boot=n_boot,
        run_dir=run_dir,
    )
    for split, value in control.items():
        result[split]["tagging_only"] = value
    return result


def tagging_control(
    outputs: Mapping[str, tuple[Sequence[str], np.ndarray, np.ndarray]],
    *,
    events: pd.DataFrame,
    clips: pd.DataFrame,
    labels: Sequence[str],
    hop_s: float,
    frame_start_s: float,
    duration_s: float,
    snr_db: float | None = None,
    num_jobs: int = 1,
    n_boot: int = N_BOOT_DCASE,
    run_dir: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """PSDS1 and PSDS2 of a system's clip probabilities alone, broadcast over every frame.

    In weak supervision a tagger that marks each tagged class active for the whole clip
    already scores a high PSDS2 (its scenario forgives loose boundaries), so a model's
    PSDS2 read alone mostly measures tagging. This control takes the same run's clip
    probabilities, makes them the frame output of every frame (frame outputs of ones under
    the frame x clip rule), chooses the post-processing by the same search on ``val`` and
    scores every split as :func:`evaluate_split` does. A frame-based PSDS well above the
    control's is localisation the clip output alone does not give.

    Parameters
    ----------
    outputs : dict
        As :func:`localise_run` (the frame outputs are not used).
    events, clips, labels, hop_s, frame_start_s, duration_s, snr_db, num_jobs, n_boot
        As :func:`localise_run` and :func:`evaluate_split`.
    run_dir : Path, optional
        With it, the resamples go to ``dcase/<split>/bootstrap.parquet`` as
        ``tagging_psds1`` and ``tagging_psds2``.

    Returns
    -------
    dict
        Split -> ``psds1``, ``psds2``, ``intervals`` (with ``n_boot``), ``postprocessing``
        (the control's own choice on ``val``).
    """
    from bench.bootstrap import clip_weights
    from bench.postprocess import choose_postprocessing

    reference = events if snr_db is None else events[np.isclose(events["snr_db"].astype(float), float(snr_db))]
    val_ids, val_clip, val_frame = outputs["val"]
    ones = np.ones(val_frame.shape, dtype=np.float16)
    post, _ = choose_postprocessing(
        ones,
        val_clip,
        reference=reference,
        clip_ids=list(val_ids),
        labels=labels,
        hop_s=hop_s,
        frame_start_s=frame_start_s,
        duration_s=duration_s,
        frame_score="frame_x_clip",
    )
    out: dict[str, dict[str, Any]] = {}
    for split, (ids, clip_probs, frame_probs) in outputs.items():
        ids = [str(c) for c in ids]
        scores = postprocessed_scores(np.ones(frame_probs.shape, dtype=np.float16), clip_probs, post)
        times = frame_timestamps(scores.shape[1], hop_s=hop_s, frame_start_s=frame_start_s, duration_s=duration_s)
        tables = score_tables(scores, ids, labels=labels, timestamps=times)
        truth = ground_truth_events(
            ground_truth_table(events, ids, filenames=audio_filenames(clips, ids, snr_db=snr_db), snr_db=snr_db)
        )
        present = sorted({event[2] for clip_events in truth.values() for event in clip_events})
        keep = [lab for lab in labels if lab in present]
        value: dict[str, Any] = {"psds1": None, "psds2": None, "postprocessing": post.to_dict()}
        if len(keep) >= 2:
            tables = {cid: table[["onset", "offset", *keep]] for cid, table in tables.items()}
            durations = dict.fromkeys(ids, float(duration_s))
            value["psds1"], value["psds2"] = psds_values(tables, truth, durations, num_jobs=num_jobs)
            if n_boot > 0:
                replicates = dcase_replicates(
                    tables, truth, durations, weights=clip_weights(ids, n_boot=n_boot), num_jobs=num_jobs
                )
                add_intervals(value, replicates, n_boot=n_boot)
                if run_dir is not None:
                    write_replicates(
                        Path(run_dir) / DCASE_DIR / split,
                        {f"tagging_{name}": values for name, values in replicates.items()},
                    )
        out[split] = value
    return out


def merge_localisation(metrics: dict[str, Any], localisation: Mapping[str, Any]) -> dict[str, Any]:
    """Put :func:`localise_run`'s result into a ``metrics.json`` dict: each split's numbers
    under ``<split>.localisation``, the post-processing and the scenario settings at the top."""
    for key, value in localisation.items():
        if key in ("postprocessing", "postprocessing_search"):
            metrics[key] = value
        else:
            metrics.setdefault(key, {})["localisation"] = value
    metrics["dcase_settings"] = {"psds1": PSDS1, "psds2": PSDS2, "collar": COLLAR, "segment_length_s": SEGMENT_LENGTH_S}
    return metrics


def stored_outputs(run_dir: Path, *, corpus_dir: Path | None = None) -> dict[str, Any]:
    """What a finished run's localisation is computed from, read back from its folder.

    Parameters
    ----------
    run_dir : Path
    corpus_dir : Path, optional
        Default: the corpus recorded in the run's ``config.json``.

    Returns
    -------
    dict
        ``outputs`` (split -> (clip ids, clip probabilities (N, C), frame outputs (N, T, C))
        for each split with stored frame outputs), ``events`` and ``clips`` (the corpus's
        manifests), ``hop_s``, ``frame_start_s``, ``snr_db`` and ``config`` (the run's
        ``config.json``): the keyword arguments of :func:`localise_run` plus ``config``.
    """
    from bench.features import LogMelSettings
    from bench.store import RunStore
    from remix.labels import EVENT_LABELS

    run_dir = Path(run_dir)
    store = RunStore(run_dir.parent, run_dir.name)
    config = store.read_config()
    corpus_dir = Path(corpus_dir or config["corpus_dir"])
    settings = LogMelSettings.from_dict(config["features"]) if "features" in config else LogMelSettings()
    manifest = corpus_dir / "manifest"
    if not (manifest / "events.parquet").is_file():
        raise BenchError(f"{manifest / 'events.parquet'} is missing; pass the run's corpus (corpus_dir=...)")
    outputs = {}
    for split in ("val", "test"):
        if not store.frame_probs_path(split).is_file():
            continue
        ids, _, clip_probs = store.prediction_arrays(split, labels=EVENT_LABELS)
        outputs[split] = (ids, clip_probs, np.asarray(store.read_frame_probs(split)))
    return {
        "outputs": outputs,
        "events": read_events(corpus_dir),
        "clips": read_clips(corpus_dir, required=("clip_id", "snr_db", "audio_path")),
        "labels": EVENT_LABELS,
        "hop_s": settings.hop_s,
        "frame_start_s": settings.frame_start_s,
        "snr_db": float(config["snr_db"]) if "snr_db" in config else None,
        "config": config,
    }


def relocalise_run(run_dir: Path, *, corpus_dir: Path | None = None, num_jobs: int | None = None) -> dict[str, Any]:
    """Redo the localisation of a finished run from its stored outputs (no model needed):
    ``predictions.parquet``, ``frame_probs_<split>.npy``, the corpus's manifests; updates
    ``metrics.json`` (new keys only) and returns it.

    Parameters
    ----------
    run_dir : Path
    corpus_dir : Path, optional
        Default: the corpus recorded in the run's ``config.json``.
    num_jobs : int, optional
        Processes for the DCASE statistics; default: the cores this process may use.
    """
    from bench.corpus import check_same_corpus
    from bench.store import RunStore

    run_dir = Path(run_dir)
    stored = stored_outputs(run_dir, corpus_dir=corpus_dir)
    config = stored.pop("config")
    check_same_corpus(
        config, Path(corpus_dir or config["corpus_dir"]), doing=f"localise run {config.get('run_id', run_dir.name)}"
    )
    result = localise_run(run_dir, **stored, num_jobs=num_jobs or available_cores())
    store = RunStore(run_dir.parent, run_dir.name)
    metrics = merge_localisation(store.read_metrics(), result)
    store.write_metrics(metrics)
    return metrics


@results_locked
def relocalise_runs(
    *,
    results_dir: Path,
    run_ids: Sequence[str],
    corpus_dir: Path | None = None,
    on_run: Callable[[str, dict[str, Any] | None, str | None], None] | None = None,
) -> list[tuple[str, str]]:
    """:func:`relocalise_run` for several runs of one results folder, holding its lock.

    Parameters
    ----------
    results_dir : Path
    run_ids : sequence of str
        Finished runs of ``results_dir``.
    corpus_dir : Path, optional
        Default: each run's own corpus.
    on_run : callable, optional
        Called after each run with ``(run_id, metrics, error)``.

    Returns
    -------
    list of (run_id, reason)
        The runs that could not be localised (a missing corpus, damaged outputs...);
        the others are done.
    """
    from bench.store import runs_dir

    failed = []
    for run_id in run_ids:
        try:
            metrics, error = relocalise_run(runs_dir(Path(results_dir)) / run_id, corpus_dir=corpus_dir), None
        except (BenchError, RemixError, OSError, ValueError) as exc:
            metrics, error = None, str(exc)
            failed.append((run_id, error))
        if on_run is not None:
            on_run(run_id, metrics, error)
    return failed


def clip_detections(
    outputs: Mapping[str, np.ndarray],
    *,
    clip_id: str,
    post: PostProcessing,
    events: pd.DataFrame,
    labels: Sequence[str],
    snr_db: float | None = None,
    duration_s: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Reference events, detected events and post-processed scores of one clip.

    Parameters
    ----------
    outputs : mapping
        The model's output for the clip without a batch axis: ``clip_probs`` (C,),
        ``frame_probs`` (T, C) (:func:`bench.train.infer_clip`).
    clip_id : str
    post : PostProcessing
        The run's post-processing (:func:`bench.postprocess.load_postprocessing`).
    events : pd.DataFrame
        ``events.parquet``.
    labels : sequence of str [shape=(C,)]
    snr_db, duration_s : float, optional

    Returns
    -------
    (reference, detected, scores)
        Two DataFrames with ``filename``, ``onset``, ``offset``, ``event_label``, and the
        post-processed score (T,) of each class with a reference or detected event and of the
        three most probable classes.
    """
    frame = np.asarray(outputs["frame_probs"])[None]
    clip = np.asarray(outputs["clip_probs"])[None]
    scores = postprocessed_scores(frame, clip, post)
    times = frame_timestamps(scores.shape[1], hop_s=post.hop_s, frame_start_s=post.frame_start_s, duration_s=duration_s)
    detected = decisions_to_events(scores >= np.asarray(post.thresholds), [clip_id], labels=labels, timestamps=times)
    reference = ground_truth_table(events, [clip_id], filenames=[clip_id], snr_db=snr_db).dropna(subset=["event_label"])
    shown = set(reference["event_label"]) | set(detected["event_label"])
    shown |= {labels[j] for j in np.argsort(-clip[0])[:3]}  # and the three most probable classes
    return reference, detected, {lab: scores[0, :, j] for j, lab in enumerate(labels) if lab in shown}
