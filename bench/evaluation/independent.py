"""Median-filter-independent PSDS1: a localisation score that is not a property of one tuned filter.

PSDS1 of a run is computed on its post-processed scores: the frame score, the clip gate and
*one* median filter length, chosen on validation by event F1 (:func:`bench.evaluation.
postprocess.choose_postprocessing`). PSDS1 reacts strongly to that length (it moves onsets
and offsets by up to half the filter), so two systems' PSDS1 may differ by how well the
search's length happened to suit each. The post-processing-independent PSDS of
sed_scores_eval (Ebbers et al.; ``postprocessing_independent_psds_from_postprocessed_scores``,
which its ``median_filter_independent_psds`` calls) scores a *family* of post-processings at
once: each class's PSD-ROC is the upper envelope of its ROCs under every variant, so each
operating point may use the filter that suits it best. (The multi-class curve then takes the
classes' mean less their spread, PSDS1's ``alpha_st``; a class whose envelope rises more than
the others' widens the spread, so the result may fall below one variant's PSDS1, though no
class's curve can.)

Here the family is the run's own post-processing with the median filter set to each length of
the search grid (:data:`bench.evaluation.postprocess.MEDIAN_GRID_S`, as odd frame counts at the
run's hop; lengths that give the same count are one variant). Only the filter varies: the frame
score rule and the clip gate stay the run's, so the number answers "how well does this system
localise under any of the filters the search could have chosen" and is comparable across
systems whose searches chose differently. Our own median filter is used, not sed_scores_eval's
``medfilt`` (which filters in seconds on the score tables), so the variants are exactly the
scores the run's search weighed.

Its tagging-only control would equal the control's PSDS1 (a score constant over a clip's frames
is unchanged by any median filter), so none is computed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bench.evaluation.formats import score_tables
from bench.evaluation.postprocess import (
    MEDIAN_GRID_S,
    PostProcessing,
    frame_timestamps,
    median_frames,
    postprocessed_scores,
)
from bench.evaluation.psdroc import ResampledTruth, psds_replicates
from bench.evaluation.sse import PSDS1
from bench.evaluation.statistics import owned_deltas

NAME = "psds1_mfi"
"""The metric's name (:mod:`bench.evaluation.catalogue`) and its key in ``metrics.json``."""


def filter_lengths_s(hop_s: float, grid_s: Sequence[float] = MEDIAN_GRID_S) -> list[float]:
    """The grid's lengths that give distinct odd frame counts at ``hop_s`` (the first of each), in
    seconds: the median filters of the family."""
    frames = median_frames(np.asarray(grid_s, dtype=np.float64), hop_s=hop_s)
    seen: dict[int, float] = {}
    for length, n in zip(grid_s, frames):
        seen.setdefault(int(n), float(length))
    return list(seen.values())


def filtered_variants(
    frame_probs: np.ndarray,
    clip_probs: np.ndarray,
    *,
    post: PostProcessing,
    clip_ids: Sequence[str],
    labels: Sequence[str],
    keep: Sequence[str],
    duration_s: float,
    grid_s: Sequence[float] = MEDIAN_GRID_S,
) -> list[dict[str, pd.DataFrame]]:
    """The run's post-processed score tables under each median filter of the family.

    Parameters
    ----------
    frame_probs : np.ndarray [shape=(N, T, C)]
    clip_probs : np.ndarray [shape=(N, C)]
    post : PostProcessing
        The run's post-processing; its median filter is replaced, nothing else.
    clip_ids : sequence of str [shape=(N,)]
    labels : sequence of str [shape=(C,)]
    keep : sequence of str
        The classes scored (those with a reference event in the split).
    duration_s : float
    grid_s : sequence of float
        Candidate lengths in seconds (:func:`filter_lengths_s` removes repeats).

    Returns
    -------
    list of dict
        One per filter length: clip id -> score DataFrame (``onset``, ``offset``, ``keep``).
    """
    out = []
    for length in filter_lengths_s(post.hop_s, grid_s):
        variant = dataclasses.replace(post, median_filter_s=length)
        scores = postprocessed_scores(frame_probs, clip_probs, variant)
        times = frame_timestamps(
            scores.shape[1], hop_s=post.hop_s, frame_start_s=post.frame_start_s, duration_s=duration_s
        )
        columns = [list(labels).index(c) for c in keep]
        out.append(score_tables(scores[:, :, columns], clip_ids, labels=list(keep), timestamps=times))
    return out


def _values(joined, ids, truth, seconds, weights, reference=None) -> np.ndarray:
    """sed_scores_eval's post-processing-independent PSDS1 under each row of ``weights``
    (:func:`bench.evaluation.psdroc.psds_replicates`, equal to it on every resample)."""
    values = psds_replicates(joined, ids, truth, seconds, weights, scenario=PSDS1, reference=reference)
    return np.where(np.isfinite(values), values, np.nan)


def mfi_psds1(
    variants: Sequence[Mapping[str, pd.DataFrame]],
    ground_truth: Mapping[str, list],
    durations: Mapping[str, float],
    *,
    weights: np.ndarray | None = None,
    num_jobs: int = 1,
    known: Mapping[int, Mapping[str, tuple]] | None = None,
    reference: ResampledTruth | None = None,
) -> tuple[float | None, np.ndarray | None]:
    """Median-filter-independent PSDS1 of a split, and its value on each resample of the clips.

    Parameters
    ----------
    variants : sequence of dict
        :func:`filtered_variants` (every variant holds the same clips and classes).
    ground_truth : dict
        Clip id -> list of (onset, offset, label).
    durations : dict
        Clip id -> seconds.
    weights : np.ndarray [shape=(B, N)], optional
        :func:`bench.evaluation.bootstrap.clip_weights` of the clips, in the variants' order.
    num_jobs : int
        Processes for the statistics (the resamples take a fraction of their time in this process).
    known : dict, optional
        Variant index -> its PSDS1 :func:`bench.evaluation.statistics.owned_deltas`, already
        computed (the run's own filter, whose statistics the split's PSDS1 needed anyway).
    reference : ResampledTruth, optional
        :func:`bench.evaluation.psdroc.resample_truth` of the clips under ``weights``, already computed.

    Returns
    -------
    (float or None, np.ndarray [shape=(B,)] or None)
        The split's value (None with fewer than two classes scored) and the replicates
        (None without ``weights``; NaN where a resample leaves it undefined).
    """
    ids = list(variants[0])
    truth = {cid: list(ground_truth[cid]) for cid in ids}
    seconds = {cid: float(durations[cid]) for cid in ids}
    known = known or {}
    joined = [
        known[m]
        if m in known
        else owned_deltas(dict(v), truth, seconds, statistics=[("intersection", PSDS1)], num_jobs=num_jobs)[0]
        for m, v in enumerate(variants)
    ]
    (estimate,) = _values(joined, ids, truth, seconds, np.ones((1, len(ids))))
    value = None if np.isnan(estimate) else float(estimate)
    if weights is None:
        return value, None
    return value, _values(joined, ids, truth, seconds, np.atleast_2d(np.asarray(weights, dtype=np.float64)), reference)
