"""Collar-based intermediate statistics (the statistics event F1 is made of) of every clip:
sed_scores_eval's own for the classes with events in a clip, its shortcut for all the others at once.

sed_scores_eval's ``collar_based.intermediate_statistics_deltas`` spends most of its time on the
classes without events in a clip (nearly all of them: three events in a clip of 41 classes),
walking them one by one to take a shortcut whose result depends on the scores alone. Here that
shortcut is computed for all of them together (:func:`bench.evaluation.intersection.count_changes`)
and sed_scores_eval's own detection and collar-matching functions score the classes with events,
so that each clip's change-point scores and deltas are sed_scores_eval's, key by key
(tests/bench/test_intersection.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from bench.evaluation.intersection import (
    TIME_DECIMALS,
    ClipScores,
    changes,
    class_of,
    clip_by_clip,
    compiled_curves,
    count_changes,
    join_clips,
    owned_by_class,
)
from bench.evaluation.sse import import_sed_scores_eval

_KEYS = (("tps", 0), ("fps", 1))
"""The collar statistics' names and their columns."""


def _clip_entries(
    values: np.ndarray,
    timestamps: np.ndarray,
    events: Sequence[tuple],
    classes: Sequence[str],
    collar: Mapping[str, Any],
    curves: Callable,
    statistics_fn: Callable,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One clip's change points of every class: class indices (ascending), scores, and deltas
    [shape=(n, 2)] (``tps``, ``fps``); within a class, sed_scores_eval's order."""
    index = {c: k for k, c in enumerate(classes)}
    targets: dict[int, list[tuple[float, float]]] = {}
    for on, off, label in events:
        targets.setdefault(class_of(label, index), []).append((on, off))
    parts = []
    for k in sorted(targets):
        points, onsets, offsets = curves(np.ascontiguousarray(values[:, k]), timestamps)
        target_on, target_off = np.array(targets[k]).T
        stats = statistics_fn(
            detection_onset_times=onsets,
            detection_offset_times=offsets,
            target_onset_times=target_on,
            target_offset_times=target_off,
            other_onset_times={},
            other_offset_times={},
            onset_collar=collar["onset_collar"],
            offset_collar=collar["offset_collar"],
            offset_collar_rate=collar["offset_collar_rate"],
            time_decimals=TIME_DECIMALS,
        )
        deltas, change = changes(np.stack((stats["tps"], stats["fps"]), axis=1))
        parts.append((np.full(int(change.sum()), k), points[change], deltas[change]))
    rest = np.array([k not in targets for k in range(len(classes))])
    if rest.any():
        cls, points, deltas = count_changes(values, np.flatnonzero(rest))
        parts.append((cls, points, deltas[:, :2]))
    cls, points, deltas = join_clips(parts)
    return cls, points, deltas


def owned_collars(
    clips: Mapping[str, ClipScores],
    ground_truth: Mapping[str, Sequence[tuple]],
    clip_ids: Sequence[str],
    offset: int,
    *,
    classes: Sequence[str],
    collar: Mapping[str, Any],
) -> dict[str, tuple]:
    """sed_scores_eval's ``collar_based.intermediate_statistics_deltas`` of some clips, joined per
    class in the order of ``clip_ids`` with the index (``offset`` + position) of each entry's clip.

    Parameters
    ----------
    clips : dict
        Clip id -> :data:`bench.evaluation.intersection.ClipScores`.
    ground_truth : dict
        Clip id -> list of (onset, offset, label).
    clip_ids : sequence of str
    offset : int
    classes : sequence of str
        The classes of the scores' columns, in order.
    collar : dict
        ``onset_collar``, ``offset_collar``, ``offset_collar_rate`` (:data:`bench.evaluation.sse.COLLAR`).

    Returns
    -------
    dict
        Class -> (change-point scores, {"tps", "fps"} deltas, clip index).
    """
    statistics_fn = import_sed_scores_eval().collar_based.intermediate_statistics.statistics_fn
    curves = compiled_curves()

    def entries(cid: str, values: np.ndarray, timestamps: np.ndarray) -> list:
        return [_clip_entries(values, timestamps, ground_truth[cid], classes, collar, curves, statistics_fn)]

    (joined,) = owned_by_class(clips, clip_ids, offset, classes=classes, entries=entries, keys=[lambda k: _KEYS])
    return joined


def collar_deltas(
    scores: Mapping[str, Any],
    ground_truth: Mapping[str, Sequence[tuple]],
    *,
    classes: Sequence[str],
    collar: Mapping[str, Any],
) -> dict[str, dict[str, tuple]]:
    """sed_scores_eval's ``collar_based.intermediate_statistics_deltas``, clip by clip (score
    DataFrames): clip id -> class -> (change-point scores, {"tps", "fps"} deltas)."""
    return clip_by_clip(
        scores, classes, lambda clips, ids: owned_collars(clips, ground_truth, ids, 0, classes=classes, collar=collar)
    )
