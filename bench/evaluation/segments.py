"""Segment-based intermediate statistics (the statistics segment F1 and the segment pAUC are made
of) of every clip, for all classes at once.

sed_scores_eval's ``segment_based.intermediate_statistics_deltas`` scores a clip by its segments
(1 s by default): a class's score in a segment is its highest frame score there, and the segment
is a true positive of the class when one of the class's events overlaps it (a false positive
otherwise). It walks the segments and classes in Python; here each segment's maximum is taken
over all classes at once and the overlaps are computed per event, by the same rules, so that each
clip's change-point scores and deltas are sed_scores_eval's, key by key
(tests/bench/test_intersection.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench.evaluation.intersection import TIME_DECIMALS, ClipScores, class_of, clip_by_clip, owned_by_class

_KEYS = (("tps", 0), ("fps", 1))
"""The segment statistics' names and their columns."""


def _clip_entries(
    values: np.ndarray,
    timestamps: np.ndarray,
    events: Sequence[tuple],
    classes: Sequence[str],
    duration_s: float,
    segment_length: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One clip's segments of every class: class indices (ascending), each segment's score (the
    class's highest frame score in it; 0 for a segment no frame reaches) and deltas
    [shape=(n, 2)] (``tps``: an event of the class overlaps the segment, ``fps``: none does),
    segment after segment within a class."""
    d = TIME_DECIMALS
    times = np.round(timestamps, d)
    n_segments = int(np.ceil(duration_s / segment_length))
    bounds = np.round(np.arange(n_segments + 1) * segment_length, d)
    starts, ends = bounds[:-1], bounds[1:]
    first = np.maximum(np.searchsorted(times, starts, side="right") - 1, 0)
    last = np.minimum(np.searchsorted(times, ends, side="left"), len(times) - 1)
    peak = np.zeros((n_segments, values.shape[1]))
    for i in np.flatnonzero(last > first):
        peak[i] = np.max(values[first[i] : last[i]], axis=0)
    hit = np.zeros((len(classes), n_segments), dtype=bool)
    index = {c: k for k, c in enumerate(classes)}
    for onset, offset, label in events:
        hit[class_of(label, index)] |= (starts < offset) * (ends > onset) * (ends > starts)
    deltas = np.stack((hit, 1 - hit), axis=-1).reshape(-1, 2).astype(np.int64)
    cls = np.repeat(np.arange(len(classes)), n_segments)
    return cls, peak.T.reshape(-1), deltas


def owned_segments(
    clips: Mapping[str, ClipScores],
    ground_truth: Mapping[str, Sequence[tuple]],
    durations: Mapping[str, float],
    clip_ids: Sequence[str],
    offset: int,
    *,
    classes: Sequence[str],
    segment_length: float,
) -> dict[str, tuple]:
    """sed_scores_eval's ``segment_based.intermediate_statistics_deltas`` of some clips, joined per
    class in the order of ``clip_ids`` with the index (``offset`` + position) of each entry's clip.

    Parameters
    ----------
    clips : dict
        Clip id -> :data:`bench.evaluation.intersection.ClipScores`.
    ground_truth : dict
        Clip id -> list of (onset, offset, label).
    durations : dict
        Clip id -> seconds (the clip's segments cover it).
    clip_ids : sequence of str
    offset : int
    classes : sequence of str
        The classes of the scores' columns, in order.
    segment_length : float
        Seconds.

    Returns
    -------
    dict
        Class -> (segment scores, {"tps", "fps"} deltas, clip index).
    """

    def entries(cid: str, values: np.ndarray, timestamps: np.ndarray) -> list:
        duration_s = float(durations[cid])
        return [_clip_entries(values, timestamps, ground_truth[cid], classes, duration_s, segment_length)]

    (joined,) = owned_by_class(clips, clip_ids, offset, classes=classes, entries=entries, keys=[lambda k: _KEYS])
    return joined


def segment_deltas(
    scores: Mapping[str, Any],
    ground_truth: Mapping[str, Sequence[tuple]],
    durations: Mapping[str, float],
    *,
    classes: Sequence[str],
    segment_length: float,
) -> dict[str, dict[str, tuple]]:
    """sed_scores_eval's ``segment_based.intermediate_statistics_deltas``, clip by clip (score
    DataFrames): clip id -> class -> (segment scores, {"tps", "fps"} deltas)."""

    def owned(clips: Mapping[str, ClipScores], ids: list[str]) -> dict[str, tuple]:
        return owned_segments(clips, ground_truth, durations, ids, 0, classes=classes, segment_length=segment_length)

    return clip_by_clip(scores, classes, owned)
