"""Event F1, segment F1 and the segment pAUC of many resamples of the clips at once, equal to
sed_scores_eval's on each resample.

The companions of :mod:`bench.evaluation.psdroc` for the metrics a run reports at its decision
thresholds (collar-based event F1, 1 s segment F1, micro-averaged) and the segment-based partial
AUROC. Each class's accumulated statistics at every change-point score are computed for every
resample together (:class:`bench.evaluation.psdroc.ClassStatistics`); then

- an F1 reads them at the class's threshold (the first change point above it, as
  sed_scores_eval's ``get_curve_idx_for_threshold``), sums true and false positives and
  reference events over the classes with a reference event in the resample, and takes
  sed_scores_eval's micro-averaged precision, recall and F-score of those sums;
- the pAUC builds each class's segment ROC from the operating points the resample's own clips
  give (the change points of the undrawn clips left out, so that the points and their order are
  sed_scores_eval's) and hands it to sed_scores_eval's ``linear_auc``, with McClish's
  correction or without, averaged over the classes as ``auroc`` averages them.

``tests/bench/test_threshold_scores.py`` checks all four against sed_scores_eval called on each
resample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bench.evaluation.psdroc import ClassStatistics, ResampledTruth, resample_truth
from bench.evaluation.sse import PAUC_MAX_FPR, import_sed_scores_eval


def _f1(tps: np.ndarray, fps: np.ndarray, n_ref: np.ndarray) -> np.ndarray:
    """sed_scores_eval's ``micro_average``: precision, recall and F1 (beta 1) of summed counts."""
    p = tps / np.maximum(tps + fps, 1)
    r = tps / np.maximum(n_ref, 1)
    return (1 + 1.0**2) * p * r / np.maximum(1.0**2 * p + r, 1e-15)


def f1_replicates(
    joined: Mapping[str, tuple],
    ids: Sequence[str],
    truth: Mapping[str, list],
    seconds: Mapping[str, float],
    weights: np.ndarray,
    *,
    thresholds: Mapping[str, float],
    kind: str,
    reference: ResampledTruth | None = None,
) -> np.ndarray:
    """Micro-averaged F1 at ``thresholds`` under each row of ``weights``.

    Parameters
    ----------
    joined : dict
        :func:`bench.evaluation.statistics.owned_deltas` of the collar statistic (``kind="collar"``,
        event F1) or the segment statistic (``"segment"``, segment F1): class -> (change-point
        scores, deltas, owner clip index).
    ids, truth, seconds
        The clips in the owners' order, their events and durations.
    weights : np.ndarray [shape=(B, N)]
    thresholds : dict
        Class -> decision threshold.
    kind : str
        ``collar`` (the reference count is the resample's events of the class) or ``segment``
        (the resample's active segments of the class: its true positives at the lowest score).
    reference : ResampledTruth, optional
        :func:`bench.evaluation.psdroc.resample_truth` of these clips and weights, already computed.

    Returns
    -------
    np.ndarray [shape=(B,)]
        NaN where the resample holds no reference event at all.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    n_ref_events, _, _ = reference or resample_truth(ids, truth, seconds, w)
    tps, fps, refs = np.zeros(len(w)), np.zeros(len(w)), np.zeros(len(w))
    present = np.zeros(len(w), dtype=bool)
    for c, entry in joined.items():
        stats = ClassStatistics(entry, len(ids))
        idx = int(np.searchsorted(stats.scores, float(thresholds[c]), side="right"))
        kept = np.array([c in counts for counts in n_ref_events])
        tps += np.where(kept, stats.at("tps", w, idx), 0.0)
        fps += np.where(kept, stats.at("fps", w, idx), 0.0)
        if kind == "segment":
            refs += np.where(kept, stats.at("tps", w, 0), 0.0)
        else:
            refs += np.array([counts.get(c, 0) for counts in n_ref_events], dtype=np.float64)
        present |= kept
    return np.where(present, _f1(tps, fps, refs), np.nan)


def pauc_replicates(
    joined: Mapping[str, tuple],
    ids: Sequence[str],
    truth: Mapping[str, list],
    seconds: Mapping[str, float],
    weights: np.ndarray,
    *,
    reference: ResampledTruth | None = None,
) -> dict[str, np.ndarray]:
    """The segment pAUC up to FPR :data:`bench.evaluation.sse.PAUC_MAX_FPR` under each row of
    ``weights``, plain (the area over the largest FPR) and McClish-corrected.

    Parameters
    ----------
    joined : dict
        :func:`bench.evaluation.statistics.owned_deltas` of the segment statistic.
    ids, truth, seconds, weights, reference
        As :func:`f1_replicates`.

    Returns
    -------
    dict
        ``segment_pauc`` and ``segment_pauc_mcclish``: (B,) each, NaN without a class.
    """
    import_sed_scores_eval()  # made to work here first
    from sed_scores_eval.base_modules.curves import linear_auc

    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    n_ref_events, _, _ = reference or resample_truth(ids, truth, seconds, w)
    drawn = w > 0
    areas: dict[str, np.ndarray] = {}
    for c, entry in joined.items():
        stats = ClassStatistics(entry, len(ids))
        tps, fps = stats.accumulated("tps", w), stats.accumulated("fps", w)
        # the change points of each resample's own clips, then +inf: sed_scores_eval's points in its order
        own = np.concatenate([stats.occurs(drawn), np.ones((len(w), 1), dtype=bool)], axis=1)
        row_areas = np.full(len(w), np.nan)
        for b in range(len(w)):
            if c not in n_ref_events[b]:
                continue
            tp, fp = tps[b, own[b]], fps[b, own[b]]
            n_sys, n_ref = tp + fp, tp[0]
            tns = n_sys[0] - n_sys - (n_ref - tp)
            with np.errstate(divide="ignore", invalid="ignore"):
                tpr, fpr = tp / n_ref, fp / (tns + fp)
            order = np.lexsort((tpr, fpr))  # stable, by (FPR, TPR): sed_scores_eval's xsort
            row_areas[b] = linear_auc(tpr[order], fpr[order], max_x=PAUC_MAX_FPR)
        areas[c] = row_areas
    plain, mcclish = np.full(len(w), np.nan), np.full(len(w), np.nan)
    min_area, max_area = 0.5 * PAUC_MAX_FPR**2, PAUC_MAX_FPR
    for b in range(len(w)):
        values = [areas[c][b] for c in joined if c in n_ref_events[b]]
        if values:
            plain[b] = np.mean([v / PAUC_MAX_FPR for v in values])
            mcclish[b] = np.mean([0.5 * (1 + (v - min_area) / (max_area - min_area)) for v in values])
    return {"segment_pauc": plain, "segment_pauc_mcclish": mcclish}
