"""A split's PSD-ROC with its resampled band, and each class's PSDS1 under the same resamples.

sed_scores_eval's ``psds`` gives a split's PSD-ROC (effective TPR against effective FPR per
hour, a staircase) and each class's own PSDS. Here both are also computed on every resample of
the split's clips (:func:`bench.evaluation.bootstrap.clip_weights`: the canonical resamples, so
two systems scored on the same clips are resampled alike), from each clip's statistics computed
once (:func:`bench.evaluation.statistics.owned_deltas`). The curves are read on one eFPR grid
(:data:`EFPR_GRID`), so that the resampled curves can be averaged over runs and their pointwise
quantiles drawn as a band.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.sse import PSDS1, import_sed_scores_eval
from bench.evaluation.statistics import owned_deltas, resampled

EFPR_GRID = np.linspace(0.0, 100.0, 401)
"""Effective false-positive rates (per hour) the curves are read at: up to PSDS1's maximum, 100."""


def on_grid(tpr: np.ndarray, efpr: np.ndarray, grid: np.ndarray = EFPR_GRID) -> np.ndarray:
    """A staircase ROC read at ``grid``: at each eFPR, the TPR of the last operating point at or below it.

    Parameters
    ----------
    tpr, efpr : np.ndarray [shape=(P,)]
        Operating points sorted by ``efpr`` (as sed_scores_eval returns them).
    grid : np.ndarray [shape=(G,)]

    Returns
    -------
    np.ndarray [shape=(G,)]
        0 left of the first operating point.
    """
    tpr, efpr = np.asarray(tpr, dtype=np.float64), np.asarray(efpr, dtype=np.float64)
    index = np.searchsorted(efpr, grid, side="right") - 1
    return np.where(index >= 0, tpr[np.clip(index, 0, None)], 0.0)


@dataclass
class PsdRoc:
    """One split's PSD-ROC and class PSDS, with their values on every resample.

    Attributes
    ----------
    etpr : np.ndarray [shape=(G,)]
        The split's effective TPR on :data:`EFPR_GRID`.
    replicates : np.ndarray [shape=(B, G)]
        The same on each resample (NaN rows where a resample holds fewer than two classes).
    psds : float
        The split's PSDS (the area under its curve up to the scenario's maximum eFPR, normalised).
    class_psds : dict of str to float
        Each scored class's own PSDS.
    class_replicates : dict of str to np.ndarray [shape=(B,)]
        Each class's PSDS on each resample (NaN where the resample holds no event of it).
    """

    etpr: np.ndarray
    replicates: np.ndarray
    psds: float
    class_psds: dict[str, float]
    class_replicates: dict[str, np.ndarray]


def psd_roc(
    scores: Mapping[str, pd.DataFrame],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    *,
    weights: np.ndarray,
    scenario: Mapping[str, Any] = PSDS1,
    num_jobs: int = 1,
) -> PsdRoc:
    """The PSD-ROC and class PSDS of a split, and on each resample of its clips.

    Parameters
    ----------
    scores : dict
        Clip id -> score DataFrame (``onset``, ``offset``, one column per class); classes
        without a reference event in the split are left out (as the localisation does).
    ground_truth, durations : dict
        Every clip of ``scores``.
    weights : np.ndarray [shape=(B, N)]
        :func:`bench.evaluation.bootstrap.clip_weights` of ``list(scores)``.
    scenario : dict
        The PSDS scenario (default PSDS1).
    num_jobs : int
        Processes for the statistics.
    """
    sse = import_sed_scores_eval()
    ids = list(scores)
    if not ids:
        raise BenchError("no clips to score")
    present = sorted({event[2] for cid in ids for event in ground_truth[cid]})
    labels = [c for c in scores[ids[0]].columns if c in present]
    if len(labels) < 2:
        raise BenchError(f"a PSD-ROC needs reference events of two classes or more; the split has {len(labels)}")
    table = {cid: scores[cid][["onset", "offset", *labels]] for cid in ids}
    truth = {cid: list(ground_truth[cid]) for cid in ids}
    seconds = {cid: float(durations[cid]) for cid in ids}
    (joined,) = owned_deltas(table, truth, seconds, statistics=[("intersection", dict(scenario))], num_jobs=num_jobs)

    def curve(deltas, gt, dur, kept):
        value, per_class, (etpr, efpr), _ = sse.intersection_based.psds(None, gt, dur, deltas=deltas, **scenario)
        return float(value), on_grid(etpr, efpr), {c: float(per_class[c]) for c in kept}

    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    (own,) = resampled(joined, curve, ids, truth, seconds, np.ones((1, len(ids))), min_classes=2)
    reps = resampled(joined, curve, ids, truth, seconds, w, min_classes=2)
    grid_reps = np.full((len(reps), len(EFPR_GRID)), np.nan)
    class_reps = {c: np.full(len(reps), np.nan) for c in labels}
    for b, rep in enumerate(reps):
        if rep is None:
            continue
        grid_reps[b] = rep[1]
        for c, v in rep[2].items():
            class_reps[c][b] = v
    value, etpr, per_class = own
    return PsdRoc(etpr=etpr, replicates=grid_reps, psds=value, class_psds=per_class, class_replicates=class_reps)
