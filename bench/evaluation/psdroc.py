"""PSDS of many resamples of the clips at once, equal to sed_scores_eval's.

A bootstrap interval of PSDS needs the score on a hundred resamples of the clips. Handing each
resample to sed_scores_eval's ``psds`` (:func:`bench.evaluation.statistics.resampled`) costs
about ten milliseconds a call, nearly all of it in its general machinery: joining per-clip
statistics into dicts, a Python ``sorted`` per class, one ``interp1d`` object per class. Here the
same quantities are computed for every resample together:

1. the accumulated intersection statistics (true positives, false positives, cross-triggers)
   of each class at each of its change-point scores are a sum over clips, so for every resample
   at once they are one product of the resample counts with each clip's deltas, summed down
   the scores (a reverse cumulative sum), in exact integer arithmetic (the deltas are counts);
2. each class's operating points (TPR, eFPR, with the cross-trigger term of PSDS2) follow by
   sed_scores_eval's own formulas, in its order of operations;
3. per resample, all classes' points are sorted together, each class's PSD-ROC is read off as
   sed_scores_eval builds it (the upper envelope for the oracle PSDS; for the non-oracle PSDS
   the highest TPR at the largest eFPR not above x), the curves are evaluated on the union of
   their eFPRs, and the mean less ``alpha_st`` times the spread is integrated with
   sed_scores_eval's ``psds_from_psd_roc``.

Every change point of the full set is an operating point of every resample: a point whose clip a
resample did not draw repeats its neighbour's statistics, and a repeated operating point changes
no PSD-ROC. The ground truth each resample is scored against (event counts and
durations per class, the total duration) is built as :func:`bench.evaluation.statistics.resampled`
builds it. ``tests/bench/test_psdroc.py`` checks the result against sed_scores_eval on random
and real statistics (oracle, non-oracle, PSDS2's cross-triggers, the post-processing-independent
PSDS over several variants) to 1e-12.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from bench.errors import BenchError
from bench.evaluation.sse import import_sed_scores_eval

SECONDS_PER_UNIT = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
"""sed_scores_eval's units of time for the eFPR."""

_DENSE_CELLS = 1_000_000
"""Clips x scores of a class's table held dense (8 MB) at most; larger ones are sparse."""

_CURVE_VALUES = 16_000_000
"""Operating-point values (TPR and eFPR, 8 bytes each) of all classes and variants held at once
by :func:`psds_replicates`: resamples are taken in groups that stay within it (about 128 MB).
Each resample's values are computed alone, so the grouping changes no number."""

_CT_PREFIX = "cts\\"
"""Key prefix of sed_scores_eval's cross-trigger deltas (``cts\\<other class>``)."""


ResampledTruth = tuple[list[dict[str, int]], list[dict[str, float]], np.ndarray]
""":func:`resample_truth`'s answer, which every metric of a split's resamples reads."""


def resample_truth(
    ids: Sequence[str], truth: Mapping[str, list], seconds: Mapping[str, float], weights: np.ndarray
) -> ResampledTruth:
    """Per resample, each class's event count and total event duration, and the total duration,
    as sed_scores_eval counts them on the ground truth :func:`bench.evaluation.statistics.resampled`
    builds (the resampled events of each class laid end to end, one clip of the summed length).
    Computed once per split and resamples and handed to each metric (``reference=``).

    Returns
    -------
    (list of dict, list of dict, np.ndarray [shape=(B,)])
        Class -> count and class -> duration (classes with an event only), and the durations.
    """
    lengths = {cid: [(label, float(off) - float(on)) for on, off, label in truth[cid]] for cid in ids}
    counts_out, durations_out, totals = [], [], np.empty(len(weights))
    per_clip_seconds = [seconds[cid] for cid in ids]
    for b, row in enumerate(weights):
        counts = np.rint(row).astype(int)
        per_class: dict[str, list[float]] = {}
        for cid, n in zip(ids, counts):
            for label, length in lengths[cid] if n else ():
                per_class.setdefault(label, []).extend([length] * n)
        n_ref, t_ref = {}, {}
        for label, class_lengths in per_class.items():
            start, total = 0.0, 0.0
            for length in class_lengths:  # as sed_scores_eval sums (offset - onset) of the laid-out events
                total += (start + length) - start
                start += length + 1.0
            n_ref[label], t_ref[label] = len(class_lengths), total
        counts_out.append(n_ref)
        durations_out.append(t_ref)
        totals[b] = float(np.dot(counts, per_clip_seconds))
    return counts_out, durations_out, totals


class ClassStatistics:
    """One class's sed_scores_eval deltas (intersection, collar or segment statistics), accumulated
    for every resample at once.

    ``scores``: the class's unique change-point scores (ascending) of the full set;
    ``cross_triggers``: the other classes of its cross-trigger deltas, in sed_scores_eval's order.
    """

    def __init__(self, entry: tuple, n_clips: int) -> None:
        points, deltas, owner = entry
        self.scores, inverse = np.unique(np.asarray(points), return_inverse=True)
        owner = np.asarray(owner, dtype=np.int64)
        self._deltas, self._owner, self._inverse, self._n_clips = deltas, owner, inverse, n_clips
        self.cross_triggers = [key[len(_CT_PREFIX) :] for key in deltas if key.startswith(_CT_PREFIX)]
        self._tables: dict[str, np.ndarray | csr_matrix] = {}

    def _table(self, key: str) -> np.ndarray | csr_matrix:
        """(N, U) each clip's summed deltas of ``key`` at each unique score: dense while small,
        sparse beyond :data:`_DENSE_CELLS` (a clip holds a few of the U scores, and U grows with
        the clips, so a dense table grows with their square)."""
        if key not in self._tables:
            values = np.asarray(self._deltas[key], dtype=np.float64)
            shape = (self._n_clips, len(self.scores))
            if shape[0] * shape[1] <= _DENSE_CELLS:
                table = np.zeros(shape)
                np.add.at(table, (self._owner, self._inverse), values)
                self._tables[key] = table
            else:
                self._tables[key] = csr_matrix((values, (self._owner, self._inverse)), shape=shape)
        return self._tables[key]

    def forget(self) -> None:
        """Drop the tables made so far (they are made again when asked for)."""
        self._tables.clear()

    def vanishes(self, key: str) -> bool:
        """Whether ``key``'s deltas are all zero (the statistic is zero at every threshold)."""
        return not np.any(self._deltas[key])

    def occurs(self, drawn: np.ndarray) -> np.ndarray:
        """(B, U) whether a clip ``drawn`` (B, N) holds a change point at each unique score."""
        ones = np.ones(len(self._owner))
        incidence = csr_matrix((ones, (self._owner, self._inverse)), shape=(self._n_clips, len(self.scores)))
        return _times(drawn.astype(np.float64), incidence) > 0

    def accumulated(self, key: str, weights: np.ndarray) -> np.ndarray:
        """(B, U + 1) the statistic when the threshold falls below each unique score (and at
        +inf, last: zero), sed_scores_eval's order."""
        # exact in any order of summation: integer counts times integer deltas
        per_score = _times(weights, self._table(key))
        stats = np.cumsum(per_score[:, ::-1], axis=1)[:, ::-1]
        return np.concatenate([stats, np.zeros((len(weights), 1))], axis=1)

    def at(self, key: str, weights: np.ndarray, index: int) -> np.ndarray:
        """(B,) the statistic when the threshold falls below unique score ``index`` (column
        ``index`` of :meth:`accumulated`, without the others)."""
        per_clip = np.asarray(self._table(key)[:, index:].sum(axis=1)).reshape(-1)
        return weights @ per_clip


def _times(weights: np.ndarray, table: np.ndarray | csr_matrix) -> np.ndarray:
    """(B, U) ``weights`` (B, N) times a dense or sparse table (N, U), as a dense array."""
    if isinstance(table, np.ndarray):
        return weights @ table
    return np.asarray(table.T @ weights.T).T


def psds_replicates(
    variants: Sequence[Mapping[str, tuple]],
    ids: Sequence[str],
    truth: Mapping[str, list],
    seconds: Mapping[str, float],
    weights: np.ndarray,
    *,
    scenario: Mapping[str, Any],
    non_oracle: bool = False,
    min_classes: int = 2,
    reference: ResampledTruth | None = None,
) -> np.ndarray:
    """PSDS under each row of ``weights``: sed_scores_eval's ``psds`` of the resampled clips (one
    variant), or its post-processing-independent PSDS over several variants of the same clips.

    Parameters
    ----------
    variants : sequence of dict
        Per variant, :func:`bench.evaluation.statistics.owned_deltas` of the intersection statistic
        of ``scenario``: class -> (change-point scores, deltas, owner clip index).
    ids : sequence of str [shape=(N,)]
        The clips, in the owners' order.
    truth, seconds : dict
        Clip id -> list of (onset, offset, label); clip id -> seconds.
    weights : np.ndarray [shape=(B, N)]
        How often each resample draws each clip (all ones: the set itself).
    scenario : dict
        :data:`bench.evaluation.sse.PSDS1` or :data:`~bench.evaluation.sse.PSDS2`.
    non_oracle : bool
        The non-oracle PSDS (one variant only).
    min_classes : int
        Fewer classes with a reference event among the drawn clips give NaN.
    reference : ResampledTruth, optional
        :func:`resample_truth` of these clips and weights, already computed.

    Returns
    -------
    np.ndarray [shape=(B,)]
    """
    if non_oracle and len(variants) != 1:
        raise BenchError("the non-oracle PSDS is defined for one post-processing, not a family")
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if w.shape[1] != len(ids):
        raise BenchError(f"weights for {w.shape[1]} clips, statistics for {len(ids)}")
    classes = list(variants[0])
    alpha_ct, alpha_st = float(scenario.get("alpha_ct", 0.0)), float(scenario.get("alpha_st", 0.0))
    max_efpr, per_unit = float(scenario["max_efpr"]), SECONDS_PER_UNIT[scenario.get("unit_of_time", "hour")]
    n_ref, t_ref, totals = reference or resample_truth(ids, truth, seconds, w)
    kept = [[c for c in classes if c in n_ref[b]] for b in range(len(w))]
    reference_s = {
        c: (
            np.array([c in t_ref[b] for b in range(len(w))]),
            np.array([max(t_ref[b].get(c, 0.0), 1e-12) for b in range(len(w))]),
        )
        for c in classes
    }
    refs = {c: np.array([max(n_ref[b].get(c, 0), 1) for b in range(len(w))], dtype=np.float64) for c in classes}
    statistics = [{c: ClassStatistics(variant[c], len(ids)) for c in classes} for variant in variants]
    points = sum(len(stats.scores) + 1 for per_class in statistics for stats in per_class.values())
    step = max(1, int(_CURVE_VALUES // (2 * points)))  # resamples whose curves are held at once
    out = np.full(len(w), np.nan)
    import_sed_scores_eval()  # made to work here first
    from sed_scores_eval.intersection_based.psds import psds_from_psd_roc

    for start in range(0, len(w), step):
        rows = slice(start, start + step)
        part, ct_part = w[rows], {c: (present[rows], span[rows]) for c, (present, span) in reference_s.items()}
        # per variant and class: (b, U + 1) TPR and eFPR of these resamples
        curves: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []
        for per_class in statistics:
            curves.append({})
            for c, stats in per_class.items():
                tpr = stats.accumulated("tps", part) / refs[c][rows, None]
                fp_rate = stats.accumulated("fps", part) / totals[rows, None]
                if alpha_ct != 0.0:
                    fp_rate = fp_rate + alpha_ct * _mean_ct_rate(stats, part, ct_part)
                curves[-1][c] = (tpr, fp_rate * per_unit)
                stats.forget()  # one class's tables at a time (PSDS2 has one per other class)
        for i, b in enumerate(range(start, min(start + step, len(w)))):
            if not kept[b] or len(kept[b]) < min_classes:
                continue
            etpr, efpr = _psd_roc(
                [[curves[m][c][0][i] for m in range(len(curves))] for c in kept[b]],
                [[curves[m][c][1][i] for m in range(len(curves))] for c in kept[b]],
                alpha_st=alpha_st,
                max_efpr=max_efpr,
                non_oracle=non_oracle,
            )
            out[b] = psds_from_psd_roc(etpr, efpr, max_efpr)
    return out


def _mean_ct_rate(
    stats: ClassStatistics, w: np.ndarray, reference_s: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """(B, U + 1) PSDS2's mean cross-trigger rate of a class over the other classes with a
    reference event in each resample, summed in sed_scores_eval's key order (a class a resample
    lacks adds an exact zero, and the sum is divided by the number of classes it holds).
    ``reference_s``: class -> (B,) whether each resample holds it, and its events' seconds there."""
    total = np.zeros((len(w), len(stats.scores) + 1))
    count = np.zeros(len(w))
    for other in stats.cross_triggers:
        present, seconds = reference_s[other]
        count += present
        if stats.vanishes(f"{_CT_PREFIX}{other}"):  # its rate adds an exact zero
            continue
        rate = stats.accumulated(f"{_CT_PREFIX}{other}", w) / seconds[:, None]
        total = total + np.where(present[:, None], rate, 0.0)
    return total / np.maximum(count, 1)[:, None]


def _psd_roc(
    tprs: Sequence[Sequence[np.ndarray]],
    efprs: Sequence[Sequence[np.ndarray]],
    *,
    alpha_st: float,
    max_efpr: float,
    non_oracle: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """One resample's multi-class PSD-ROC, as sed_scores_eval's ``psd_roc`` (one variant per class)
    or ``postprocessing_independent_psd_roc...`` (several) builds it: (eTPR, eFPR) with ``max_efpr``
    appended.

    ``tprs[c][m]``, ``efprs[c][m]``: class ``c``'s operating points under variant ``m``.
    """
    sizes = [sum(len(v) for v in per_class) for per_class in tprs]
    x = np.concatenate([v for per_class in efprs for v in per_class])
    y = np.concatenate([v for per_class in tprs for v in per_class])
    seg = np.repeat(np.arange(len(sizes)), sizes)
    order = np.lexsort((y, x, seg))
    x, y, seg = x[order], y[order], seg[order]
    first = np.ones(len(x), dtype=bool)
    first[1:] = seg[1:] != seg[:-1]
    if non_oracle:  # the highest TPR at each eFPR; the curve takes it at the largest eFPR <= x
        last = np.ones(len(x), dtype=bool)
        last[:-1] = (seg[1:] != seg[:-1]) | (x[1:] != x[:-1])
        keep, value = last, y
    else:  # the running maximum within each class, kept where it rises
        y_unique, y_rank = np.unique(y, return_inverse=True)
        span = np.int64(len(y_unique) + 1)
        best = np.maximum.accumulate(seg.astype(np.int64) * span + y_rank)
        value = y_unique[best - seg.astype(np.int64) * span]
        keep = first.copy()
        keep[1:] |= best[1:] > best[:-1]
    keep &= x <= max_efpr
    grid = np.unique(x[keep])
    kx, kseg, kvalue = x[keep], seg[keep], value[keep]
    span_g = np.int64(len(grid) + 1)
    point_keys = kseg.astype(np.int64) * span_g + np.searchsorted(grid, kx)
    query = np.arange(len(sizes), dtype=np.int64)[:, None] * span_g + np.arange(len(grid), dtype=np.int64)[None, :]
    pos = np.searchsorted(point_keys, query, side="right") - 1
    valid = (pos >= 0) & (kseg[np.maximum(pos, 0)] == np.arange(len(sizes))[:, None])
    curves = np.where(valid, kvalue[np.maximum(pos, 0)], 0.0)  # (C, G)
    etpr = np.maximum(np.mean(curves, axis=0) - alpha_st * np.std(curves, axis=0), 0.0)
    return np.concatenate([etpr, etpr[-1:]]), np.concatenate([grid, [max_efpr]])
