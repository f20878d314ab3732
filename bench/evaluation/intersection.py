"""Intersection-based intermediate statistics (the statistics PSDS is made of) of every clip,
for all classes of a clip at once.

sed_scores_eval's ``intersection_based.intermediate_statistics_deltas`` walks clip by clip and
class by class in Python, and with a cross-trigger criterion (PSDS2) once more over every
other class: tens of thousands of small array operations per split, most of a short run's
evaluation. Here each clip's classes are handled together: the detections of every class at
each of its distinct scores (as sed_scores_eval's ``onset_offset_curves``), the detection and
ground-truth intersection criteria, the cross-triggers with the classes that have events in
the clip, and the changes of the counts from one score to the next, as arrays over (class,
score, detection, event). The same formulas in the same order, rounded to the same decimals,
so that the change-point scores and deltas of each clip and class are sed_scores_eval's own,
key by key (tests/bench/test_intersection.py). Classes without events in a clip take
sed_scores_eval's shortcut when there is no cross-trigger criterion (their deltas are the
changes of the detection count, in time order), as sed_scores_eval does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.evaluation.sse import import_sed_scores_eval

TIME_DECIMALS = 6
"""Decimals that intersection and event lengths are rounded to before they are compared
(sed_scores_eval's default ``time_decimals``)."""

Criteria = Mapping[str, Any]
"""``dtc_threshold``, ``gtc_threshold`` and ``cttc_threshold`` (None: no cross-triggers); other
keys are ignored (a PSDS scenario may be passed as it is)."""


def delta_keys(classes: Sequence[str], target: str, *, cross_triggers: bool) -> list[str]:
    """The names of one class's deltas, in sed_scores_eval's order: ``tps``, ``fps``, then
    ``cts`` (no cross-triggers) or ``cts\\<other class>`` for every other class."""
    if not cross_triggers:
        return ["tps", "fps", "cts"]
    return ["tps", "fps"] + [f"cts\\{other}" for other in classes if other != target]


def class_of(label: str, position: Mapping[str, int]) -> int:
    """The score column of a reference event's class; a BenchError where the scores have none."""
    try:
        return position[label]
    except KeyError:
        raise BenchError(
            f"a reference event of class {label!r} has no score column (the scores hold {len(position)} "
            "classes); score the classes the ground truth holds"
        ) from None


ClipScores = tuple[np.ndarray, np.ndarray]
"""A clip's scores [shape=(T, K)] of the classes and its timestamps [shape=(T + 1,)]
(:func:`score_table`): what the statistics read, decoded once per clip for all of them."""


def score_table(frame: Any, classes: Sequence[str]) -> ClipScores:
    """A score DataFrame's (``onset``, ``offset``, one column per class) scores of ``classes``
    and its timestamps (every frame's onset, then the last offset), as sed_scores_eval reads it.

    Returns
    -------
    values : np.ndarray [shape=(T, K), float64]
    timestamps : np.ndarray [shape=(T + 1,), float64]
    """
    columns = list(frame.columns)
    table = frame.to_numpy(dtype=np.float64)
    positions = [columns.index(c) for c in classes]
    values = table[:, positions]
    timestamps = np.concatenate((table[:, columns.index("onset")], table[-1:, columns.index("offset")]))
    return values, timestamps


def _detections(
    values: np.ndarray, timestamps: np.ndarray, curves: Callable
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every class's detections when the threshold falls to each of its distinct scores:
    sed_scores_eval's own ``onset_offset_curves`` per class, laid into common arrays.

    Parameters
    ----------
    values : np.ndarray [shape=(T, K)]
    timestamps : np.ndarray [shape=(T + 1,)]
    curves : callable
        sed_scores_eval's ``onset_offset_curves`` (:func:`compiled_curves`).

    Returns
    -------
    thresholds : np.ndarray [shape=(K, U)]
        Each class's distinct scores, ascending, padded with +inf.
    scored : np.ndarray [shape=(K, U), bool]
        Which thresholds are scores (not padding).
    onsets, offsets : np.ndarray [shape=(K, U, M)]
        The onset and offset times of each detection, in time order, padded with zeros
        (sed_scores_eval's inactive events: offset equal to onset).
    """
    per_class = [curves(column, timestamps) for column in np.ascontiguousarray(values.T)]
    n_scores = max(len(c[0]) for c in per_class)
    n_events = max(1, max(c[1].shape[1] for c in per_class))
    thresholds = np.full((len(per_class), n_scores), np.inf)
    scored = np.zeros((len(per_class), n_scores), dtype=bool)
    onsets = np.zeros((len(per_class), n_scores, n_events))
    offsets = np.zeros_like(onsets)
    for k, (points, on, off) in enumerate(per_class):
        u, m = on.shape
        thresholds[k, :u] = points
        scored[k, :u] = True
        onsets[k, :u, :m] = on
        offsets[k, :u, :m] = off
    return thresholds, scored, onsets, offsets


class _ClipEvents:
    """A clip's reference events, as the statistics take them.

    Attributes
    ----------
    on, off : np.ndarray [shape=(N,)]
        Every event's onset and offset (s), in the clip's order.
    index : np.ndarray [shape=(K, G), int]
        Each class's events, in the clip's order, as positions in ``on``; ``N`` (an
        intersection of zero, :func:`_overlaps`' last column) past a class's own.
    owners : np.ndarray [shape=(E,), int]
        The classes with events in the clip, ascending.
    """

    def __init__(self, events: Sequence[tuple], classes: Sequence[str]) -> None:
        position = {c: k for k, c in enumerate(classes)}
        per_class: list[list[int]] = [[] for _ in classes]
        for i, (_, _, label) in enumerate(events):
            per_class[class_of(label, position)].append(i)
        self.on = np.array([float(e[0]) for e in events])
        self.off = np.array([float(e[1]) for e in events])
        self.index = np.full((len(classes), max([1] + [len(p) for p in per_class])), len(events))
        for k, members in enumerate(per_class):
            self.index[k, : len(members)] = members
        self.owners = np.flatnonzero([bool(p) for p in per_class])


def _overlaps(onsets: np.ndarray, offsets: np.ndarray, events: _ClipEvents) -> np.ndarray:
    """Intersection (s) of each detection with each event, as sed_scores_eval computes it, and a
    last column of zeros: [shape=(n, N + 1)] for detections [shape=(n,)]."""
    out = np.zeros((len(onsets), len(events.on) + 1))
    out[:, :-1] = np.maximum(np.minimum(offsets[:, None], events.off) - np.maximum(onsets[:, None], events.on), 0.0)
    return out


def _summed(overlaps: np.ndarray, index: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Each detection's intersections with a class's events (``index``: [shape=(n, G)] positions),
    added in the events' order as sed_scores_eval's sum over them does, each times ``weight``."""
    rows = np.arange(len(overlaps))
    total = np.zeros(len(overlaps))
    for g in range(index.shape[1]):
        term = overlaps[rows, index[:, g]]
        total = total + (term if weight is None else weight * term)
    return total


def _counts(
    onsets: np.ndarray,
    offsets: np.ndarray,
    touching: np.ndarray,
    cls: np.ndarray,
    events: _ClipEvents,
    criteria: Criteria,
) -> np.ndarray:
    """True positives, false positives and cross-triggers of each class at each threshold:
    sed_scores_eval's ``intersection_based.statistics_fn``, over all classes at once.

    A detection that intersects no event is a false positive and triggers no other class
    unless a criterion's share of its length rounds to zero; only the others (``touching``),
    or all when a criterion is that loose, have their intersections computed.

    Parameters
    ----------
    onsets, offsets : np.ndarray [shape=(C, U, M)]
        Detections of C classes (:func:`_detections`).
    touching : np.ndarray [shape=(C, U, M), bool]
        Detections that intersect an event of the clip.
    cls : np.ndarray [shape=(C,)]
        Their class indices.
    events : _ClipEvents
    criteria : Criteria

    Returns
    -------
    np.ndarray [shape=(C, U, 2 + E) or (C, U, 3)]
        ``tps``, ``fps``, then cross-triggers with each class of ``events.owners`` (0 for the
        class itself), or a column of zeros without a cross-trigger criterion.
    """
    d = TIME_DECIMALS
    cttc = criteria.get("cttc_threshold")
    found = offsets > onsets
    n_cls, n_scores, _ = onsets.shape
    candidates = touching
    if found.any():
        shortest = float((offsets - onsets)[found].min())
        loose = np.round(criteria["dtc_threshold"] * shortest, decimals=d) <= 0
        if cttc is not None:
            loose |= np.round(cttc * shortest, decimals=d) <= 0
        if loose:
            candidates = found
    k, u, m = np.nonzero(candidates)
    on, off = onsets[k, u, m], offsets[k, u, m]
    lengths = off - on
    overlaps = _overlaps(on, off, events)
    own = events.index[cls[k]]
    relevant = np.round(_summed(overlaps, own), decimals=d) >= np.round(criteria["dtc_threshold"] * lengths, decimals=d)
    flat = k * n_scores + u
    size = n_cls * n_scores
    fps = found.sum(-1) - np.bincount(flat[relevant], minlength=size).reshape(n_cls, n_scores)
    rows = np.arange(len(k))
    tps = np.zeros((n_cls, n_scores), dtype=fps.dtype)
    # what each event needs covered; past a class's own events, a limit nothing reaches
    needed = np.append(np.round(criteria["gtc_threshold"] * (events.off - events.on), decimals=d), np.inf)
    for g in range(own.shape[1]):
        covered = np.bincount(flat, weights=relevant * overlaps[rows, own[:, g]], minlength=size)
        tps += np.round(covered.reshape(n_cls, n_scores), decimals=d) >= needed[events.index[cls, g]][:, None]
    if cttc is None:
        return np.stack((tps, fps, np.zeros_like(tps)), axis=-1)
    out = np.zeros((n_cls, n_scores, 2 + len(events.owners)), dtype=fps.dtype)
    out[..., 0], out[..., 1] = tps, fps
    limit = np.round(cttc * lengths, decimals=d)
    missed = 1 - relevant
    for j, other in enumerate(events.owners):
        index = np.broadcast_to(events.index[other], own.shape)
        cross = np.round(_summed(overlaps, index, missed), decimals=d) >= limit
        out[..., 2 + j] = np.bincount(flat[cross], minlength=size).reshape(n_cls, n_scores)
        out[cls == other, :, 2 + j] = 0  # a class's own column is not one of its deltas
    return out


def compiled_curves() -> Callable:
    """sed_scores_eval's ``onset_offset_curves`` (its compiled one, which its statistics call;
    the arrays handed to it here are writeable copies)."""
    return import_sed_scores_eval().base_modules.cy_detection.onset_offset_curves


def _clip_entries(
    values: np.ndarray,
    timestamps: np.ndarray,
    events: Sequence[tuple],
    classes: Sequence[str],
    criteria: Sequence[Criteria],
    curves: Callable,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One clip's change points of every class under each set of criteria.

    Returns
    -------
    list of (classes, points, deltas)
        Per criteria: each change point's class index (ascending: class by class), its score
        and its deltas ([shape=(n, 2 + K)]: ``tps``, ``fps``, cross-triggers with every class,
        or [shape=(n, 3)]: ``tps``, ``fps``, ``cts``); within a class, sed_scores_eval's order.
    """
    n_classes = values.shape[1]
    clip = _ClipEvents(events, classes)
    has_events = np.zeros(n_classes, dtype=bool)
    has_events[clip.owners] = True
    quick = [criteria_i.get("cttc_threshold") is None or n_classes == 1 for criteria_i in criteria]
    # every class is computed in full where some criteria count cross-triggers; otherwise
    # only the classes with events (the others take sed_scores_eval's shortcut)
    computed = np.flatnonzero(has_events) if all(quick) else np.arange(n_classes)
    out = [([], [], []) for _ in criteria]  # type: list[tuple[list, list, list]]
    if len(computed):
        thresholds, scored, onsets, offsets = _detections(values[:, computed], timestamps, curves)
        touching = np.zeros(onsets.shape, dtype=bool)
        for on, off in zip(clip.on, clip.off):
            touching |= (onsets < off) & (offsets > on)
        touching &= offsets > onsets
    for i, criteria_i in enumerate(criteria):
        take = computed[has_events[computed]] if quick[i] else computed
        if len(take):
            rows = np.searchsorted(computed, take)
            counts = _counts(onsets[rows], offsets[rows], touching[rows], take, clip, criteria_i)
            counts[~scored[rows]] = 0  # past a class's distinct scores: nothing detected
            deltas, change = changes(counts)
            k, u = np.nonzero(change)
            if not quick[i]:  # the cross-triggers of the classes with events, among all classes'
                wide = np.zeros((len(k), 2 + n_classes), dtype=deltas.dtype)
                wide[:, :2] = deltas[k, u, :2]
                wide[:, 2 + clip.owners] = deltas[k, u, 2:]
            else:
                wide = deltas[k, u]
            out[i][0].append(take[k])
            out[i][1].append(thresholds[rows][k, u])
            out[i][2].append(wide)
        if quick[i] and not has_events.all():
            k, points, deltas = count_changes(values, np.flatnonzero(~has_events))
            out[i][0].append(k)
            out[i][1].append(points)
            out[i][2].append(deltas)
    return [join_clips(list(zip(*groups))) for groups in out]


def changes(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sed_scores_eval's deltas of counts [shape=(..., U, S)] at each threshold (ascending, axis
    -2): how each count changes when the threshold falls below it (the count at a threshold less
    the count at the next, zero past the last), and where any of the S counts changes."""
    following = np.concatenate((counts[..., 1:, :], np.zeros_like(counts[..., :1, :])), axis=-2)
    deltas = counts - following
    return deltas, np.abs(deltas).sum(-1) > 0


def count_changes(values: np.ndarray, cls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sed_scores_eval's shortcut for the classes ``cls`` without events in the clip (and no
    cross-trigger criterion): at each local maximum of the scores one detection more (+1 false
    positive) when the threshold falls below it, at each local minimum one less (two merge), in
    time order. Returns class indices, scores and deltas (columns ``tps`` = 0, ``fps``, ``cts`` = 0)."""
    scores = values[:, cls]
    ahead = np.vstack((np.full((1, len(cls)), -np.inf), scores[:-1]))
    behind = np.vstack((scores[1:], np.full((1, len(cls)), -np.inf)))
    change = ((scores > ahead).astype(int) - (behind > scores).astype(int)) * (scores > -np.inf)
    frame, k = np.nonzero((np.abs(change) > 0.5).T)[::-1]
    deltas = np.zeros((len(frame), 3), dtype=int)
    deltas[:, 1] = change[frame, k]
    return cls[k], scores[frame, k], deltas


def by_class(
    classes: Sequence[str],
    cls: np.ndarray,
    points: np.ndarray,
    deltas: np.ndarray,
    owner: np.ndarray,
    *,
    keys: Callable[[int], Sequence[tuple[str, int]]],
) -> dict[str, tuple]:
    """Change points ordered class by class (``cls`` ascending) -> class -> (points, deltas by
    name, owner); ``keys(k)``: class ``k``'s (name, column of ``deltas``) pairs, in order."""
    bounds = np.searchsorted(cls, np.arange(len(classes) + 1))
    out = {}
    for k, c in enumerate(classes):
        a, b = bounds[k], bounds[k + 1]
        out[c] = (points[a:b], {name: deltas[a:b, j] for name, j in keys(k)}, owner[a:b])
    return out


def owned_by_class(
    clips: Mapping[str, ClipScores],
    clip_ids: Sequence[str],
    offset: int,
    *,
    classes: Sequence[str],
    entries: Callable[[str, np.ndarray, np.ndarray], Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]],
    keys: Sequence[Callable[[int], Sequence[tuple[str, int]]]],
) -> list[dict[str, tuple]]:
    """Some clips' change points of one or more statistics, joined per class in the order of
    ``clip_ids`` with the index (``offset`` + position) of each entry's clip.

    ``entries(clip id, values, timestamps)`` gives a clip's change points of each statistic, as
    (class indices ascending, points, deltas); ``keys`` names each statistic's delta columns
    (:func:`by_class`). Returns per statistic class -> (points, deltas by name, clip index).
    """
    parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in keys]
    for i, cid in enumerate(clip_ids):
        for part, (cls, points, deltas) in zip(parts, entries(cid, *clips[cid]), strict=True):
            part.append((cls, points, deltas, np.full(len(cls), offset + i)))
    return [by_class(classes, *join_clips(part), keys=names) for part, names in zip(parts, keys)]


def clip_by_clip(
    scores: Mapping[str, Any], classes: Sequence[str], owned: Callable[[Mapping[str, ClipScores], list[str]], dict]
) -> dict[str, dict[str, tuple]]:
    """``owned(clips, [clip id])`` (one statistic's joined change points) of each clip of the score
    DataFrames ``scores`` alone, in sed_scores_eval's per-clip form: clip id -> class -> (points,
    deltas by name)."""
    out = {}
    for cid, frame in scores.items():
        joined = owned({cid: score_table(frame, classes)}, [cid])
        out[cid] = {c: (points, deltas) for c, (points, deltas, _) in joined.items()}
    return out


def _keys(classes: Sequence[str], *, cross_triggers: bool) -> Callable[[int], list[tuple[str, int]]]:
    """:func:`by_class`'s ``keys`` for :func:`_clip_entries`' columns (:func:`delta_keys`' names)."""

    def keys(k: int) -> list[tuple[str, int]]:
        columns = [0, 1] + ([2 + j for j in range(len(classes)) if j != k] if cross_triggers else [2])
        return list(zip(delta_keys(classes, classes[k], cross_triggers=cross_triggers), columns))

    return keys


def join_clips(parts: Sequence[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Change points given as (class index, arrays of the same length...) per part (a clip, or a
    group of a clip's classes), each part's ordered class by class: joined, and ordered class by
    class with the parts' order kept within a class."""
    cls, *rest = (np.concatenate(a) for a in zip(*parts))
    order = np.argsort(cls, kind="stable")
    return (cls[order], *(a[order] for a in rest))


def intersection_deltas(
    scores: Mapping[str, Any],
    ground_truth: Mapping[str, Sequence[tuple]],
    *,
    classes: Sequence[str],
    criteria: Criteria,
) -> dict[str, dict[str, tuple]]:
    """sed_scores_eval's ``intersection_based.intermediate_statistics_deltas``, clip by clip.

    Parameters
    ----------
    scores : dict
        Clip id -> score DataFrame (``onset``, ``offset``, one column per class).
    ground_truth : dict
        Clip id -> list of (onset, offset, label).
    classes : sequence of str
        The classes, in the order sed_scores_eval takes them (the score columns').
    criteria : Criteria

    Returns
    -------
    dict
        Clip id -> class -> (change-point scores, deltas by name), as sed_scores_eval returns.
    """

    def owned(clips: Mapping[str, ClipScores], ids: list[str]) -> dict[str, tuple]:
        return owned_intersections(clips, ground_truth, ids, 0, classes=classes, criteria=[criteria])[0]

    return clip_by_clip(scores, classes, owned)


def owned_intersections(
    clips: Mapping[str, ClipScores],
    ground_truth: Mapping[str, Sequence[tuple]],
    clip_ids: Sequence[str],
    offset: int,
    *,
    classes: Sequence[str],
    criteria: Sequence[Criteria],
) -> list[dict[str, tuple]]:
    """The intersection statistics of some clips under each set of criteria, joined per class
    in the order of ``clip_ids``, with the index (``offset`` + position in ``clip_ids``) of the
    clip each entry belongs to; each clip's detections are found once for all the criteria.

    Parameters
    ----------
    clips : dict
        Clip id -> :data:`ClipScores` (:func:`score_table`).
    ground_truth : dict
        Clip id -> list of (onset, offset, label).
    clip_ids : sequence of str
    offset : int
    classes : sequence of str
        The classes of the scores' columns, in order.
    criteria : sequence of Criteria

    Returns
    -------
    list of dict
        Per criteria, class -> (change-point scores, deltas by name, clip index): every clip's
        :func:`intersection_deltas` laid end to end.
    """
    curves = compiled_curves()

    def entries(cid: str, values: np.ndarray, timestamps: np.ndarray) -> list:
        return _clip_entries(values, timestamps, ground_truth[cid], classes, criteria, curves)

    keys = [_keys(classes, cross_triggers=c.get("cttc_threshold") is not None and len(classes) > 1) for c in criteria]
    return owned_by_class(clips, clip_ids, offset, classes=classes, entries=entries, keys=keys)
