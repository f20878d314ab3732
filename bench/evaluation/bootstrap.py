"""Confidence intervals and paired tests: the bootstrap over clips, and over seeds.

A table cell is a metric of one system (model, options, preset, SNR) averaged over its
runs (seeds). How far it could move on other clips drawn the same way, and on other
seeds, is estimated by resampling both:

1. **Clips.** Every split has a canonical set of ``B`` resamples of its clips, drawn with
   replacement (:func:`clip_weights`): the generator's seed is a hash of the sorted clip
   ids, so every run scored on the same clips (every model, seed and SNR of a corpus: a
   clip id is the same clip layout at every SNR) sees the *same* resamples, in the same
   order. A run's metric on resample ``b`` is its replicate ``b``; the replicates of two
   systems are paired.
2. **Seeds.** A cell's replicate ``b`` is the mean of replicate ``b`` over ``S`` runs drawn
   with replacement from its ``S`` runs (:func:`cell_replicates`); with one run, only
   the clips are resampled.

The 95 % interval is the 2.5 and 97.5 percentiles of a cell's replicates (the percentile
bootstrap). A paired difference between two systems is the difference of their cell
replicates, resample by resample (:func:`paired_difference`); its two-sided p-value is
twice the share of replicates on the far side of zero (at least ``1 / B``).

Clip-level metrics (micro-AP, macro-AP, ROC-AUC, per-class AP) are recomputed for every
resample from a run's stored predictions by weighting each clip by how often the resample
drew it (:func:`clip_metric_replicates`; the weighted AP and AUC equal scikit-learn's
with ``sample_weight``, tested). PSDS, event and segment F1 are computed by sed_scores_eval
from its own per-clip statistics (:func:`bench.evaluation.statistics.dcase_replicates`): a clip drawn ``k``
times contributes its statistics ``k`` times, which is sed_scores_eval's metric of the
resampled clip list.
sed_scores_eval's own ``bootstrap_from_deltas`` draws 80 % of the clips *without*
replacement (5 folds x 20 shuffles); the spread of such subsets is about half the
standard error of the full set (variance ``(1/m - 1/n)`` against ``1/n``), so it is not
used for the intervals here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from bench.errors import BenchError

N_BOOT = 1000
"""Resamples of the clips for clip-level metrics."""
N_BOOT_DCASE = 100
"""Resamples of the clips for the DCASE metrics (PSDS1, PSDS2, event, segment and frame F1):
each costs a sed_scores_eval computation per metric (about 0.2-0.4 s for 100 clips of the
``cpu-full`` preset), as many as sed_scores_eval's own bootstrap draws."""
CONFIDENCE = 0.95
"""Coverage of the intervals."""
METHOD = (
    "95 % bias-corrected percentile-bootstrap intervals: validation clips resampled with replacement (the "
    "same resamples for every system) and, for cells with several runs, the runs (seeds) resampled too"
)
"""The method in one line, for captions (of the validation split; :func:`method` names another)."""


def method(split: str = "val") -> str:
    """:data:`METHOD` for the clips of ``split`` ("val": validation, "test": held-out test)."""
    return METHOD if split == "val" else METHOD.replace("validation clips", "held-out test clips")


# --------------------------------------------------------------------------- resamples


def resample_seed(clip_ids: Sequence[str]) -> int:
    """Seed of a split's canonical resamples: a hash of its sorted clip ids."""
    text = "\n".join(sorted(str(c) for c in clip_ids))
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "little")


def clip_weights(clip_ids: Sequence[str], *, n_boot: int = N_BOOT) -> np.ndarray:
    """How often each clip is drawn in each of the split's canonical resamples.

    Parameters
    ----------
    clip_ids : sequence of str [shape=(N,)]
        The split's clips, in the order of the caller's arrays.
    n_boot : int
        Resamples. The first ``k`` resamples do not depend on ``n_boot``.

    Returns
    -------
    np.ndarray [shape=(n_boot, N)], float64
        Counts summing to ``N`` in every row, aligned with ``clip_ids``.
    """
    ids = [str(c) for c in clip_ids]
    if not ids:
        raise BenchError("no clips to resample")
    if len(set(ids)) != len(ids):
        raise BenchError("the clip ids of a split must be unique to resample them")
    if n_boot < 1:
        raise BenchError(f"the number of resamples must be at least 1, found {n_boot}")
    n = len(ids)
    canonical = sorted(ids)
    rng = np.random.default_rng(resample_seed(ids))
    counts = np.empty((n_boot, n), dtype=np.float64)
    for b in range(n_boot):  # row by row, so that the first k rows do not depend on n_boot
        counts[b] = np.bincount(rng.integers(0, n, size=n), minlength=n)
    position = {cid: k for k, cid in enumerate(canonical)}
    return counts[:, [position[cid] for cid in ids]]


# --------------------------------------------------------------------------- weighted metrics


def _ranked(y_true: np.ndarray, y_score: np.ndarray, weights: np.ndarray):
    """Weighted true- and false-positive counts at every distinct score, highest first."""
    y = np.asarray(y_true, dtype=bool).reshape(-1)
    s = np.asarray(y_score, dtype=np.float64).reshape(-1)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if w.shape[1] != y.size or s.size != y.size:
        raise BenchError(f"weights {w.shape}, targets {y.shape} and scores {s.shape} do not match")
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    ends = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]  # last index of each distinct score
    w_sorted = w[:, order]
    tp = np.cumsum(w_sorted * y[order], axis=1)[:, ends]
    fp = np.cumsum(w_sorted * ~y[order], axis=1)[:, ends]
    return tp, fp


def weighted_average_precision(y_true: np.ndarray, y_score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Average precision of one set of scores under each row of ``weights``.

    Equal to scikit-learn's ``average_precision_score(y_true, y_score, sample_weight=w)``
    for each row ``w``; NaN for a row that gives no positive any weight.

    Parameters
    ----------
    y_true : np.ndarray [shape=(n,)], 0/1
    y_score : np.ndarray [shape=(n,)]
    weights : np.ndarray [shape=(B, n)] or (n,)

    Returns
    -------
    np.ndarray [shape=(B,)]
    """
    tp, fp = _ranked(y_true, y_score, weights)
    n_pos = tp[:, -1:]
    seen = tp + fp
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(seen > 0, tp / np.where(seen > 0, seen, 1), 0.0)
        recall = tp / n_pos
    gain = np.diff(np.concatenate([np.zeros_like(recall[:, :1]), recall], axis=1), axis=1)
    ap = np.sum(gain * precision, axis=1)
    return np.where(n_pos[:, 0] > 0, ap, np.nan)


def weighted_roc_auc(y_true: np.ndarray, y_score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Area under the ROC curve under each row of ``weights`` (scikit-learn's ``roc_auc_score``
    with ``sample_weight``); NaN for a row without a weighted positive or negative.

    Parameters
    ----------
    y_true : np.ndarray [shape=(n,)], 0/1
    y_score : np.ndarray [shape=(n,)]
    weights : np.ndarray [shape=(B, n)] or (n,)

    Returns
    -------
    np.ndarray [shape=(B,)]
    """
    tp, fp = _ranked(y_true, y_score, weights)
    n_pos, n_neg = tp[:, -1:], fp[:, -1:]
    zero = np.zeros_like(tp[:, :1])
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.concatenate([zero, tp], axis=1) / n_pos
        fpr = np.concatenate([zero, fp], axis=1) / n_neg
    auc = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)
    return np.where((n_pos[:, 0] > 0) & (n_neg[:, 0] > 0), auc, np.nan)


def clip_metric_replicates(y_true: np.ndarray, y_score: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Clip-level metrics of one run under each resample.

    Macro-AP and AUC average, in each resample, the classes that have a positive and a
    negative clip in that resample (as :func:`bench.evaluation.metrics.clip_metrics` does for the split).

    Parameters
    ----------
    y_true : np.ndarray [shape=(N, C)], 0/1
    y_score : np.ndarray [shape=(N, C)]
    weights : np.ndarray [shape=(B, N)]
        :func:`clip_weights` of the run's clips, in the rows' order.

    Returns
    -------
    dict
        ``micro_ap``, ``macro_ap``, ``auc`` (each (B,)) and ``per_class_ap`` ((C, B); NaN
        where a resample holds no positive of the class).
    """
    y = np.asarray(y_true) > 0.5
    s = np.asarray(y_score, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 2 or w.ndim != 2 or w.shape[1] != y.shape[0]:
        raise BenchError(f"targets {y.shape}, scores {s.shape} and weights {w.shape} do not match")
    n_classes = y.shape[1]
    micro = weighted_average_precision(y.reshape(-1), s.reshape(-1), np.repeat(w, n_classes, axis=1))
    per_class = np.full((n_classes, w.shape[0]), np.nan)
    auc = np.full((n_classes, w.shape[0]), np.nan)
    for c in range(n_classes):
        if not y[:, c].any():
            continue
        per_class[c] = weighted_average_precision(y[:, c], s[:, c], w)
        auc[c] = weighted_roc_auc(y[:, c], s[:, c], w)
    # a class counts in a resample when it has a weighted positive and a weighted negative there
    pos = w @ y.astype(np.float64)  # (B, C)
    neg = w @ (~y).astype(np.float64)
    scored = ((pos > 0) & (neg > 0)).T  # (C, B)
    with np.errstate(invalid="ignore"):
        macro = np.nanmean(np.where(scored, per_class, np.nan), axis=0)
        macro_auc = np.nanmean(np.where(scored, auc, np.nan), axis=0)
    return {"micro_ap": micro, "macro_ap": macro, "auc": macro_auc, "per_class_ap": per_class}


def frame_f1_replicates(tp: np.ndarray, n_pred: np.ndarray, n_true: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Frame F1 (micro over frames x classes) under each resample, from per-clip counts.

    Parameters
    ----------
    tp, n_pred, n_true : np.ndarray [shape=(N,)]
        Per clip: active frames that are true, active frames, true frames (over classes).
    weights : np.ndarray [shape=(B, N)]

    Returns
    -------
    np.ndarray [shape=(B,)]
        NaN where a resample has neither an active nor a true frame.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    t, p, r = (w @ np.asarray(a, dtype=np.float64) for a in (tp, n_pred, n_true))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p + r > 0, 2 * t / (p + r), np.nan)


# --------------------------------------------------------------------------- cells and pairs


def interval(
    replicates: np.ndarray, *, confidence: float = CONFIDENCE, estimate: float | None = None
) -> tuple[float | None, float | None]:
    """Interval of replicates (NaN replicates left out); (None, None) without any.

    Without ``estimate``: the percentile interval. With the full-set ``estimate`` the replicates
    stand for: the bias-corrected percentile interval (Efron's BC): with ``z0`` the normal quantile
    of the share of replicates below the estimate (ties counted half), the interval runs between
    the replicates' quantiles ``Phi(2 z0 -+ z)``. A statistic that resampling biases (PSDS, whose
    operating points change when clips are duplicated; macro-AP, whose resamples lose classes) gets
    an interval around its estimate, not beside it. When the estimate lies beyond nearly every
    replicate, BC cannot reach it either: the near end is then set to the estimate, so no interval
    excludes the number it is printed beside (:func:`bias_corrected` says which happened).
    """
    return bias_corrected(replicates, confidence=confidence, estimate=estimate)[:2]


def bias_corrected(
    replicates: np.ndarray, *, confidence: float = CONFIDENCE, estimate: float | None = None
) -> tuple[float | None, float | None, str]:
    """:func:`interval` and how it was made: ``"percentile"``, ``"bc"`` (bias-corrected) or
    ``"bc+estimate"`` (bias-corrected, one end set to the estimate)."""
    from scipy.stats import norm

    values = np.asarray(replicates, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None, None, "percentile"
    alpha = (1 - confidence) / 2
    if estimate is None or not np.isfinite(estimate):
        low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
        return float(low), float(high), "percentile"
    below = float(np.mean(values < estimate) + 0.5 * np.mean(values == estimate))
    below = min(max(below, 0.5 / values.size), 1 - 0.5 / values.size)
    z0, z = float(norm.ppf(below)), float(norm.ppf(1 - alpha))
    quantiles = norm.cdf([2 * z0 - z, 2 * z0 + z])
    low, high = (float(v) for v in np.quantile(values, quantiles))
    how = "bc"
    if not low <= estimate <= high:
        low, high, how = min(low, float(estimate)), max(high, float(estimate)), "bc+estimate"
    return low, high, how


def cell_replicates(runs: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Replicates of a cell's mean over its runs: for each resample, the mean over runs drawn
    with replacement (one run: its own replicates).

    Parameters
    ----------
    runs : np.ndarray [shape=(S, B)]
        Each run's replicates on the same resamples.
    seed : int
        Seed of the draws of runs.

    Returns
    -------
    np.ndarray [shape=(B,)]
    """
    r = np.atleast_2d(np.asarray(runs, dtype=np.float64))
    n_runs, n_boot = r.shape
    if n_runs == 1:
        return r[0].copy()
    pick = np.random.default_rng(seed).integers(0, n_runs, size=(n_boot, n_runs))  # (B, S)
    drawn = r[pick, np.arange(n_boot)[:, None]]  # (B, S)
    finite = np.isfinite(drawn)
    counts = finite.sum(axis=1)
    sums = np.where(finite, drawn, 0.0).sum(axis=1)
    # a resample whose drawn runs are all NaN stays NaN (and is left out of the interval)
    return np.divide(sums, counts, out=np.full(n_boot, np.nan), where=counts > 0)


def paired_difference(
    first: np.ndarray,
    second: np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    paired_runs: bool = False,
) -> dict[str, float | None]:
    """Difference first - second of two systems' cells, resample by resample.

    Parameters
    ----------
    first, second : np.ndarray [shape=(S1, B), (S2, B)]
        The runs' replicates of each system on the same resamples of the same clips.
    confidence : float
    seed : int
        Seed of the draws of runs.
    paired_runs : bool
        The systems draw independently (False), or, when run i of one corresponds to run i of
        the other (the same model and seed trained twice, e.g. in two precisions; S1 == S2),
        draw the same runs (True), so that the difference resamples seeds as pairs.

    Returns
    -------
    dict
        ``low``, ``high`` (the interval of the difference), ``p`` (two-sided: twice the share
        of replicates on the far side of zero, replicates exactly at zero counted half on each
        side, at least ``1 / B``), ``n_boot``.

    Notes
    -----
    Ties matter for metrics that are zero on many resamples (PSDS of a system that rarely
    detects anything): counting a zero difference wholly on both sides gave p = 1 to a
    difference that is zero on most resamples and positive on the rest, beside an interval
    with no negative value. Counted half on each side (the mid-p convention), p falls as the
    share of positive replicates grows, and without ties it is the plain two-sided share.
    """
    if paired_runs and np.atleast_2d(first).shape[0] != np.atleast_2d(second).shape[0]:
        raise BenchError("paired runs need as many runs of each system")
    a = cell_replicates(first, seed=seed)
    b = cell_replicates(second, seed=seed if paired_runs else seed + 1)
    if a.shape != b.shape:
        raise BenchError(f"the two systems were resampled differently ({a.shape} and {b.shape} replicates)")
    diff = a - b
    diff = diff[np.isfinite(diff)]
    if diff.size == 0:
        return {"low": None, "high": None, "p": None, "n_boot": 0}
    low, high = interval(diff, confidence=confidence)
    ties = float(np.mean(diff == 0))
    below, above = float(np.mean(diff < 0)) + ties / 2, float(np.mean(diff > 0)) + ties / 2
    p = min(1.0, max(2 * min(below, above), 1 / diff.size))
    return {"low": low, "high": high, "p": p, "n_boot": int(diff.size)}


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of ``m`` p-values (family-wise error): the ``i``-th smallest becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``; None stays None and does not count in ``m``."""
    present = [(p, k) for k, p in enumerate(p_values) if p is not None and p == p]
    m = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, k) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * float(p)))
        out[k] = running
    return out
