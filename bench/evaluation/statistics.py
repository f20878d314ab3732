"""sed_scores_eval's intermediate statistics of a split, in bounded memory and in parallel,
and the DCASE metrics on resamples of the clips.

sed_scores_eval's metric functions compute per-clip statistics (deltas) and keep them all
until the end; here they are computed on blocks of clips (over forked processes) and joined
per class, which sed_scores_eval's metric functions take through ``deltas=`` with identical
results (tested). The statistics themselves (intersection for PSDS, collar for event F1,
segment for segment F1 and pAUC) are computed for all classes of a clip at once
(:mod:`bench.evaluation.intersection`, :mod:`bench.evaluation.collar`,
:mod:`bench.evaluation.segments`), equal to sed_scores_eval's clip by clip and key by key.
Each split's statistics are computed once (:func:`owned_statistics`) and serve its values,
its resamples and the mfi PSDS1; the resamples' metrics are computed for every resample at
once (:mod:`bench.evaluation.psdroc`, :mod:`bench.evaluation.threshold_scores`), equal to
sed_scores_eval's on each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.collar import owned_collars
from bench.evaluation.intersection import owned_intersections, score_table
from bench.evaluation.parallel import run_calls as _run_calls
from bench.evaluation.psdroc import ResampledTruth, psds_replicates, resample_truth
from bench.evaluation.segments import owned_segments
from bench.evaluation.sse import COLLAR, PSDS1, PSDS2, SEGMENT_LENGTH_S
from bench.evaluation.threshold_scores import f1_replicates, pauc_replicates

_SHARD_CLIPS = 250
"""Clips per block of statistics at most: bounds the per-clip statistics held at once."""

Statistic = tuple[str, Mapping[str, Any]]
"""One of sed_scores_eval's intermediate statistics: ``("intersection", {dtc_threshold,
gtc_threshold, cttc_threshold, ...})`` (PSDS), ``("collar", {onset_collar, offset_collar,
offset_collar_rate})`` (collar-based F1) or ``("segment", {segment_length})``
(segment-based F1); other keys of the mapping are ignored."""


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
    """sed_scores_eval's deltas of some clips for each statistic, joined per class in the order
    of ``clip_ids``, with the index (``offset`` + position in ``clip_ids``) of the clip each entry
    belongs to: class -> (change-point scores, deltas, clip index). Computed for all classes of a
    clip at once (:mod:`bench.evaluation.intersection`, :mod:`bench.evaluation.collar`,
    :mod:`bench.evaluation.segments`; the intersection statistics of several criteria from one
    pass), equal to sed_scores_eval's own."""
    unknown = [kind for kind, _ in statistics if kind not in _PARAMETERS]
    if unknown:
        raise BenchError(f"unknown statistic {unknown[0]!r}; use intersection, collar or segment")
    truth = {cid: list(ground_truth[cid]) for cid in clip_ids}
    classes = [c for c in scores[clip_ids[0]].columns if c not in ("onset", "offset")]
    clips = {cid: score_table(scores[cid], classes) for cid in clip_ids}  # decoded once for every statistic
    out: dict[int, dict[str, tuple]] = {}
    crossing = [i for i, (kind, _) in enumerate(statistics) if kind == "intersection"]
    if crossing:
        criteria = [statistics[i][1] for i in crossing]
        joined = owned_intersections(clips, truth, clip_ids, offset, classes=classes, criteria=criteria)
        out.update(zip(crossing, joined))
    for i, (kind, p) in enumerate(statistics):
        if kind == "collar":
            out[i] = owned_collars(clips, truth, clip_ids, offset, classes=classes, collar=p)
        elif kind == "segment":
            length = p["segment_length"]
            out[i] = owned_segments(clips, truth, durations, clip_ids, offset, classes=classes, segment_length=length)
    return [out[i] for i in range(len(statistics))]


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
    all between processes. Here the same statistics (:func:`_owned_deltas`, equal to
    sed_scores_eval's ``intermediate_statistics_deltas``) are computed on blocks of at most
    :data:`_SHARD_CLIPS` clips (in forked worker processes when
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
    owned: Mapping[tuple, Mapping[str, tuple]] | None = None,
    reference: ResampledTruth | None = None,
) -> dict[str, np.ndarray]:
    """PSDS1 (oracle and non-oracle), PSDS2, collar-based event F1, segment F1 and segment pAUC
    (plain and McClish-corrected) under each resample, computed by sed_scores_eval.

    sed_scores_eval's per-clip statistics (deltas) are computed once per statistic; for
    resample ``b`` the deltas of each drawn clip are counted as often as it was drawn
    (scaled by the count), joined into one entry, and handed to sed_scores_eval's metric
    function (``fscore``, the pAUC) through ``deltas=`` with the ground truth and durations
    of the resampled clip list (a clip drawn twice appears twice). That is
    sed_scores_eval's metric of the resampled set; under weights of all ones it is the
    split's own value (tested). PSDS is computed for every resample at once by
    :func:`bench.evaluation.psdroc.psds_replicates`, equal to sed_scores_eval's ``psds`` on
    each (tested). A class that no drawn clip holds a reference event of is
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
        :func:`bench.evaluation.bootstrap.clip_weights` of ``list(scores)``.
    thresholds : dict, optional
        Label -> decision threshold: adds ``event_f1`` and ``segment_f1`` (micro), and the
        segment pAUCs, which share the segment statistics.
    psds : bool
        Compute ``psds1``, ``psds1_non_oracle`` and ``psds2``.
    num_jobs : int
        Processes for the statistics and the resamples (forked, as :func:`joined_deltas`).
    owned : dict, optional
        :func:`owned_statistics` of these scores already computed (any statistic missing from it
        is computed here).
    reference : ResampledTruth, optional
        :func:`bench.evaluation.psdroc.resample_truth` of these clips and weights, already computed.

    Returns
    -------
    dict
        Metric name -> (B,) replicates, NaN where a resample leaves it undefined (PSDS
        needs two classes with a reference event).
    """
    ids = list(scores)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if w.shape[1] != len(ids):
        raise BenchError(f"weights for {w.shape[1]} clips, scores for {len(ids)}")
    truth = {cid: list(ground_truth[cid]) for cid in ids}
    seconds = {cid: float(durations[cid]) for cid in ids}
    table = {cid: scores[cid] for cid in ids}
    needed = dcase_statistics(thresholds=thresholds is not None, psds=psds)
    known = dict(owned or {})
    missing = [statistic for statistic in needed if statistic_key(statistic) not in known]
    if missing:
        known.update(owned_statistics(table, truth, seconds, statistics=missing, num_jobs=num_jobs))
    out: dict[str, np.ndarray] = {}
    reference = reference or resample_truth(ids, truth, seconds, w)  # every metric below reads it
    if psds:
        for name, scenario in (("psds1", PSDS1), ("psds2", PSDS2)):
            joined = known[statistic_key(("intersection", scenario))]
            out[name] = psds_replicates([joined], ids, truth, seconds, w, scenario=scenario, reference=reference)
            if name == "psds1":
                out[f"{name}_non_oracle"] = psds_replicates(
                    [joined], ids, truth, seconds, w, scenario=scenario, non_oracle=True, reference=reference
                )
    if thresholds is not None:
        segment = known[statistic_key(("segment", {"segment_length": SEGMENT_LENGTH_S}))]
        threshold = {c: float(thresholds[c]) for c in table[ids[0]].columns if c not in ("onset", "offset")}
        for name, kind, joined in (
            ("event_f1", "collar", known[statistic_key(("collar", COLLAR))]),
            ("segment_f1", "segment", segment),
        ):
            out[name] = f1_replicates(
                joined, ids, truth, seconds, w, thresholds=threshold, kind=kind, reference=reference
            )
        out.update(pauc_replicates(segment, ids, truth, seconds, w, reference=reference))
    return out


def owned_deltas(
    scores: Mapping[str, Any],
    truth: Mapping[str, list],
    seconds: Mapping[str, float],
    *,
    statistics: Sequence[Statistic],
    num_jobs: int = 1,
) -> list[dict[str, tuple]]:
    """Every clip's sed_scores_eval deltas of each statistic, joined per class with the index of
    the clip each entry belongs to (its owner), computed on blocks of clips (over forked
    processes) so that no per-clip statistics pile up: what a resample scales
    (:func:`resampled`).

    Returns
    -------
    list of dict
        For each statistic, class -> (change-point scores, deltas, owner index into ``list(scores)``).
    """
    ids = list(scores)
    n_blocks = max(1, -(-len(ids) // _SHARD_CLIPS))
    if num_jobs > 1:
        n_blocks = min(len(ids), -(-n_blocks // num_jobs) * num_jobs)
    starts = np.linspace(0, len(ids), n_blocks + 1).astype(int)
    calls_blocks = [
        partial(_owned_deltas, ids[a:b], a, scores, truth, seconds, list(statistics))
        for a, b in zip(starts[:-1], starts[1:])
    ]
    blocks = _run_calls(calls_blocks, num_jobs=num_jobs)  # block -> statistic -> class -> (points, deltas, owner)
    joined_by_statistic = []
    for k in range(len(statistics)):
        parts = [block[k] for block in blocks]
        joined_by_statistic.append(
            {
                c: (
                    np.concatenate([p[c][0] for p in parts]),
                    {key: np.concatenate([p[c][1][key] for p in parts]) for key in parts[0][c][1]},
                    np.concatenate([p[c][2] for p in parts]),
                )
                for c in parts[0]
            }
        )
    return joined_by_statistic


def statistic_key(statistic: Statistic) -> tuple:
    """A hashable identity of a :data:`Statistic`: its kind and the parameters its deltas depend on."""
    kind, p = statistic
    fields = _PARAMETERS.get(kind)
    if fields is None:
        raise BenchError(f"unknown statistic {kind!r}; use intersection, collar or segment")
    return (kind, *(p[f] for f in fields))


_PARAMETERS = {
    "intersection": ("dtc_threshold", "gtc_threshold", "cttc_threshold"),
    "collar": ("onset_collar", "offset_collar", "offset_collar_rate"),
    "segment": ("segment_length",),
}


def dcase_statistics(*, thresholds: bool = True, psds: bool = True) -> list[Statistic]:
    """The statistics the DCASE metrics of a split take: PSDS1's and PSDS2's intersections
    (``psds``), the collars of event F1 and the segments of segment F1 and pAUC (``thresholds``)."""
    out: list[Statistic] = [("intersection", PSDS1), ("intersection", PSDS2)] if psds else []
    if thresholds:
        out += [("collar", COLLAR), ("segment", {"segment_length": SEGMENT_LENGTH_S})]
    return out


def owned_statistics(
    scores: Mapping[str, Any],
    truth: Mapping[str, list],
    seconds: Mapping[str, float],
    *,
    statistics: Sequence[Statistic],
    num_jobs: int = 1,
) -> dict[tuple, dict[str, tuple]]:
    """:func:`owned_deltas` keyed by :func:`statistic_key`: computed once per split and handed to
    :func:`bench.evaluation.dcase.dcase_metrics` (the split's values), :func:`dcase_replicates`
    (its resamples) and the median-filter-independent PSDS1 (the run's own filter)."""
    owned = owned_deltas(scores, truth, seconds, statistics=statistics, num_jobs=num_jobs)
    return {statistic_key(statistic): value for statistic, value in zip(statistics, owned)}


def joined_from_owned(owned: Mapping[str, tuple], ids: Sequence[str]) -> dict[str, dict[str, tuple]]:
    """The form :func:`joined_deltas` returns (clip id -> class -> (points, deltas)), from
    :func:`owned_deltas` of the same clips: every entry under the first clip, the others empty."""
    merged = {c: (points, deltas) for c, (points, deltas, _) in owned.items()}
    empty = {c: (v[0][:0], {key: a[:0] for key, a in v[1].items()}) for c, v in merged.items()}
    out = dict.fromkeys(ids, empty)
    out[ids[0]] = merged
    return out


RESAMPLE_ID = "resample"
"""The one clip id a resample's statistics are handed to sed_scores_eval under."""


def resampled(
    joined: Mapping[str, tuple] | Sequence[Mapping[str, tuple]],
    metric: Callable[..., Any],
    ids: Sequence[str],
    truth: Mapping[str, list],
    seconds: Mapping[str, float],
    weights: np.ndarray,
    *,
    min_classes: int = 1,
) -> list[Any]:
    """``metric(deltas, ground truth, durations, classes)`` under each row of ``weights``, from every
    clip's joined deltas (:func:`owned_deltas`); None where fewer than ``min_classes`` classes have
    a reference event among the drawn clips.

    sed_scores_eval sums the deltas over clips and reads from the ground truth only each
    class's event count and total event duration (and the durations' total), so a resample
    is handed over as one entry: the deltas scaled by the clips' counts under one id, the
    ground truth as the resampled events of each class laid end to end (the same count and
    total duration) and one duration, the resampled total. Its metrics equal those of the
    resampled clip list passed clip by clip (tested), at the cost of one clip.

    ``joined`` may also be a sequence of joined deltas of the same clips (one statistic of
    several score variants: :mod:`bench.evaluation.independent`); ``metric`` then gets the list
    of their resampled deltas, in that order.

    This is the reference path, sed_scores_eval's own metric functions on each resample (about
    ten milliseconds a call): :mod:`bench.evaluation.psdroc` and
    :mod:`bench.evaluation.threshold_scores` compute every resample at once and are tested equal
    to it; it stays for any metric of sed_scores_eval they do not cover.
    """
    several = not isinstance(joined, Mapping)
    parts: list[Mapping[str, tuple]] = list(joined) if several else [joined]  # type: ignore[list-item]
    classes = list(parts[0])
    lengths = {cid: [(label, float(off) - float(on)) for on, off, label in events] for cid, events in truth.items()}
    out: list[Any] = []
    for row in weights:
        counts = np.rint(row).astype(int)
        per_class: dict[str, list[float]] = {}
        for cid, n in zip(ids, counts):
            for label, length in lengths[cid] if n else ():
                per_class.setdefault(label, []).extend([length] * n)
        kept = [c for c in classes if c in per_class]
        if not kept or len(kept) < min_classes:
            out.append(None)
            continue
        dropped = {f"cts\\{c}" for c in classes if c not in per_class}
        deltas = [{RESAMPLE_ID: _scaled_entry(part, row, kept, dropped)} for part in parts]
        events = []
        for label in kept:
            start = 0.0
            for length in per_class[label]:  # apart from each other, so none merge
                events.append((start, start + length, label))
                start += length + 1.0
        total = float(np.dot(counts, [seconds[cid] for cid in ids]))
        out.append(metric(deltas if several else deltas[0], {RESAMPLE_ID: events}, {RESAMPLE_ID: total}, kept))
    return out


def _scaled_entry(joined: Mapping[str, tuple], row: np.ndarray, kept: Sequence[str], dropped: set[str]) -> dict:
    """One resample's deltas of the kept classes: each clip's entries times its count in ``row``
    (entries of undrawn clips, and cross-trigger keys of classes left out, dropped)."""
    entry = {}
    for c in kept:
        points, delta, owner = joined[c]
        scale = row[owner]
        keep = scale > 0
        entry[c] = (
            points[keep],
            {key: _scaled(value, scale)[keep] for key, value in delta.items() if key not in dropped},
        )
    return entry


def _scaled(value: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Deltas of each entry times its clip's count (deltas may be (n,) or (n, k))."""
    value = np.asarray(value)
    return value * scale.reshape((-1,) + (1,) * (value.ndim - 1))
