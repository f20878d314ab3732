"""Clip, per-class, frame and event metrics.

Clip level (the paper's Tables 1-3), exactly as the original code computes them
with scikit-learn:

- ``micro_ap`` = ``average_precision_score(y, p, average="micro")`` over all classes;
- ``macro_ap`` = ``average_precision_score(y, p, average="macro")``;
- ``auc`` = ``roc_auc_score(y, p)`` (macro).

A class that has no positive or no negative clip in the split cannot be scored by
AUC (and its AP is meaningless), so it is left out of ``macro_ap`` and ``auc`` and
listed in ``absent_classes``; with every class present the numbers are exactly the
original's. ``micro_ap`` always uses every class.

Localisation, which the paper claims but never scores, from the strong labels of
``events.parquet``:

- frame targets at the feature frame rate (hop 1024 at 32 kHz: 31.25 frames/s);
  frame ``t`` stands for the interval ``[start_s + t * hop_s, start_s + (t + 1) * hop_s)``
  (``start_s``: :attr:`bench.features.LogMelSettings.frame_start_s`, the cell centred on
  the frame's analysis window; 0 by default) and is active when that interval overlaps
  an event;
- frame F1 (micro over frames x classes, at a threshold) and frame AP (micro and
  macro over classes with a positive frame);
- the **raw-output** event F1 (``metrics.json`` ``event``): a sanity check of the bare frame
  outputs at a fixed threshold of 0.5, not the toolkit's event pipeline. Every detection the
  toolkit reports (the DCASE localisation metrics, ``bench detect``, the plots) goes through the
  post-processing chosen on validation (:mod:`bench.evaluation.postprocess`); this one is
  used nowhere else. With the sed_eval conventions: an estimated event matches a
  reference event of the same label when its onset is within 200 ms of the
  reference onset and its offset within ``max(200 ms, 20 % of the reference
  length)`` of the reference offset; each event matches at most once, with a
  maximum (optimal) bipartite matching per clip and class. Estimated events come
  from the frame probabilities: threshold, then a median filter of
  ``median_frames`` frames along time (:func:`evaluate`: the odd count nearest 0.16 s, the
  paper's 5 frames at its 32 ms hop; :func:`bench.resolution.raw_median_frames`), then every run of active
  frames ``[a, b)`` becomes an event ``[start_s + a * hop_s, start_s + b * hop_s)``
  (clipped at 0).
  ``f1`` is the micro (overall) F-score; ``macro_f1`` averages the class-wise
  F-scores over classes with at least one reference event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching
from sklearn.metrics import average_precision_score, roc_auc_score

from bench.errors import BenchError
from bench.resolution import raw_median_frames

__all__ = [
    "average_precision",
    "clip_metrics",
    "evaluate",
    "event_f1",
    "raw_event_metrics",
    "frame_metrics",
    "frame_targets",
    "raw_frames_to_events",
    "match_events",
]


def _check_pair(y_true: np.ndarray, y_score: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score)
    if y_true.shape != y_score.shape:
        raise BenchError(f"{what}: targets {y_true.shape} and scores {y_score.shape} differ in shape")
    if not np.all(np.isfinite(y_score)):
        raise BenchError(f"{what}: the scores hold NaN or infinite values; the model diverged")
    return y_true, y_score


# --------------------------------------------------------------------------- clip level


def clip_metrics(y_true: np.ndarray, y_score: np.ndarray, *, labels: Sequence[str]) -> dict[str, Any]:
    """Clip-level micro-AP, macro-AP, AUC and per-class AP.

    Parameters
    ----------
    y_true : np.ndarray [shape=(N, C)]
        Weak labels, 0/1.
    y_score : np.ndarray [shape=(N, C)]
        Clip probabilities.
    labels : sequence of str [shape=(C,)]

    Returns
    -------
    dict
        ``micro_ap``, ``macro_ap``, ``auc`` (float or None when nothing can be scored),
        ``per_class_ap`` ({label: float or None}), ``absent_classes`` (labels with no
        positive or no negative clip, left out of macro-AP and AUC), ``n_clips``.
    """
    y_true, y_score = _check_pair(y_true, y_score, "clip metrics")
    if y_true.ndim != 2 or y_true.shape[1] != len(labels):
        raise BenchError(f"clip metrics expect (N, {len(labels)}) arrays, found {y_true.shape}")
    y_true = (y_true > 0.5).astype(np.int64)
    positives = y_true.sum(axis=0)
    present = (positives > 0) & (positives < y_true.shape[0])
    absent = [lab for lab, ok in zip(labels, present) if not ok]
    per_class: dict[str, float | None] = {lab: None for lab in labels}
    micro = macro = auc = None
    if y_true.sum() > 0:
        micro = float(average_precision_score(y_true, y_score, average="micro"))
    if present.any():
        keep = np.flatnonzero(present)
        ap = average_precision_score(y_true[:, keep], y_score[:, keep], average=None)
        for j, value in zip(keep, np.atleast_1d(ap)):
            per_class[labels[j]] = float(value)
        macro = float(average_precision_score(y_true[:, keep], y_score[:, keep], average="macro"))
        auc = float(roc_auc_score(y_true[:, keep], y_score[:, keep]))
    return {
        "micro_ap": micro,
        "macro_ap": macro,
        "auc": auc,
        "per_class_ap": per_class,
        "absent_classes": absent,
        "n_clips": int(y_true.shape[0]),
    }


def average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float | None:
    """Binary average precision of flattened arrays, equal to scikit-learn's
    ``average_precision_score``; None without a positive.

    Non-negative float16 scores (how frame probabilities are stored) take an exact
    counting path in linear time (their bit patterns order like their values);
    other scores are sorted.

    Parameters
    ----------
    y_true : np.ndarray [shape=(...)], bool or 0/1
    y_score : np.ndarray [shape=(...)]
    """
    y = np.asarray(y_true).reshape(-1).astype(bool)
    n_pos = int(y.sum())
    if n_pos == 0:
        return None
    s = np.asarray(y_score).reshape(-1)
    if s.dtype == np.float16 and s.size and s.min() >= 0:
        bits = (s + np.float16(0)).view(np.uint16)  # + 0 turns -0.0 into +0.0
        pos = np.bincount(bits[y], minlength=1 << 16)[::-1]
        total = np.bincount(bits, minlength=1 << 16)[::-1]
        used = total > 0  # one entry per distinct score, highest first
        tp = np.cumsum(pos)[used].astype(np.float64)
        seen = np.cumsum(total)[used].astype(np.float64)
    else:
        s = s.astype(np.float32)
        order = np.argsort(-s, kind="stable")
        s_sorted = s[order]
        tps = np.cumsum(y[order], dtype=np.int64)
        del order
        ends = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]  # last index of each distinct score
        tp = tps[ends].astype(np.float64)
        seen = ends + 1.0
    precision = tp / seen
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# --------------------------------------------------------------------------- frame level


def frame_targets(
    events: pd.DataFrame,
    clip_ids: Sequence[str],
    *,
    n_frames: int,
    hop_s: float,
    labels: Sequence[str],
    snr_db: float | None = None,
    start_s: float = 0.0,
) -> np.ndarray:
    """Strong frame labels of clips.

    Parameters
    ----------
    events : pd.DataFrame
        ``events.parquet`` rows: clip_id, event_label, onset_s, offset_s (and snr_db).
    clip_ids : sequence of str [shape=(N,)]
        Row order of the result.
    n_frames : int
        Frames per clip (311).
    hop_s : float
        Seconds per frame (0.032).
    labels : sequence of str [shape=(C,)]
    snr_db : float or None
        Keep only events of this SNR (events are the same at every SNR, so this only
        avoids redundant work).
    start_s : float
        Start of frame 0's cell (:attr:`bench.features.LogMelSettings.frame_start_s`).

    Returns
    -------
    np.ndarray [shape=(N, n_frames, C)], bool
        Frame ``t`` of a clip is active for a label when
        ``[start_s + t * hop_s, start_s + (t + 1) * hop_s)`` overlaps one of its events.
    """
    index = {cid: i for i, cid in enumerate(clip_ids)}
    label_index = {lab: j for j, lab in enumerate(labels)}
    out = np.zeros((len(clip_ids), n_frames, len(labels)), dtype=bool)
    rows = events
    if snr_db is not None and "snr_db" in rows.columns:
        rows = rows[np.isclose(rows["snr_db"].astype(float), float(snr_db))]
    rows = rows[rows["clip_id"].astype(str).isin(index)]
    unknown = sorted(set(rows["event_label"]) - set(label_index))
    if unknown:
        raise BenchError(f"events carry labels outside the label set: {unknown[:5]}")
    for cid, label, onset, offset in rows[["clip_id", "event_label", "onset_s", "offset_s"]].itertuples(index=False):
        start = max(0, int(np.floor((onset - start_s) / hop_s + 1e-9)))
        stop = min(n_frames, int(np.ceil((offset - start_s) / hop_s - 1e-9)))
        if stop > start:
            out[index[str(cid)], start:stop, label_index[label]] = True
    return out


def frame_metrics(frame_true: np.ndarray, frame_score: np.ndarray, *, threshold: float = 0.5) -> dict[str, Any]:
    """Frame-level detection scores.

    Parameters
    ----------
    frame_true : np.ndarray [shape=(N, T, C)], bool
    frame_score : np.ndarray [shape=(N, T, C)]
        Frame probabilities; rounded to float16 (the precision of
        ``frame_probs_<split>.npy``), so scores from memory and from a run folder agree.
    threshold : float
        A frame is detected when its probability is >= threshold.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (micro over every frame and class),
        ``macro_f1`` (over classes with a positive frame), ``micro_ap``, ``macro_ap``
        (AP over frames; macro over classes with a positive frame), ``threshold``.
        Undefined values are None.
    """
    frame_true, frame_score = _check_pair(frame_true, frame_score, "frame metrics")
    frame_score = frame_score.astype(np.float16, copy=False)  # storage precision; exact and fast AP
    if frame_true.ndim != 3:
        raise BenchError(f"frame metrics expect (N, T, C) arrays, found {frame_true.shape}")
    truth = frame_true.astype(bool)
    pred = frame_score >= threshold
    axes = (0, 1)
    tp = np.logical_and(truth, pred).sum(axis=axes)
    n_pred = pred.sum(axis=axes)
    n_true = truth.sum(axis=axes)
    tp_all, pred_all, true_all = int(tp.sum()), int(n_pred.sum()), int(n_true.sum())
    precision = tp_all / pred_all if pred_all else None
    recall = tp_all / true_all if true_all else None
    f1 = 2 * tp_all / (pred_all + true_all) if (pred_all + true_all) else None
    has = n_true > 0
    class_f1 = 2 * tp[has] / (n_pred[has] + n_true[has])
    by_class_true = np.moveaxis(truth, -1, 0)  # (C, N, T)
    by_class_score = np.moveaxis(frame_score, -1, 0)
    class_ap = [
        average_precision(np.ascontiguousarray(by_class_true[c]), np.ascontiguousarray(by_class_score[c]))
        for c in np.flatnonzero(has)
    ]
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_f1": float(class_f1.mean()) if has.any() else None,
        "micro_ap": average_precision(truth, frame_score),
        "macro_ap": float(np.mean(class_ap)) if class_ap else None,
        "threshold": float(threshold),
    }


# --------------------------------------------------------------------------- event level


def raw_frames_to_events(
    frame_score: np.ndarray,
    clip_ids: Sequence[str],
    *,
    labels: Sequence[str],
    hop_s: float,
    threshold: float = 0.5,
    median_frames: int = 5,
    start_s: float = 0.0,
) -> pd.DataFrame:
    """Estimated events from frame probabilities.

    Parameters
    ----------
    frame_score : np.ndarray [shape=(N, T, C)]
    clip_ids : sequence of str [shape=(N,)]
    labels : sequence of str [shape=(C,)]
    hop_s : float
        Seconds per frame.
    threshold : float
        Frames with probability >= threshold are active.
    median_frames : int
        Length of the median filter along time (odd; 1 disables it).
    start_s : float
        Start of frame 0's cell (see :func:`frame_targets`).

    Returns
    -------
    pd.DataFrame
        clip_id, event_label, onset_s, offset_s: one row per run of active frames.
    """
    frame_score = np.asarray(frame_score)
    if frame_score.ndim != 3 or frame_score.shape[0] != len(clip_ids) or frame_score.shape[2] != len(labels):
        raise BenchError(
            f"frame scores of shape ({len(clip_ids)}, T, {len(labels)}) expected, found {frame_score.shape}"
        )
    if median_frames < 1 or median_frames % 2 == 0:
        raise BenchError(f"median_frames must be a positive odd number, found {median_frames}")
    active = frame_score >= threshold
    if median_frames > 1:
        active = median_filter(active.astype(np.uint8), size=(1, median_frames, 1), mode="nearest").astype(bool)
    padded = np.pad(active, ((0, 0), (1, 1), (0, 0)))
    change = np.diff(padded.astype(np.int8), axis=1)  # (N, T + 1, C)
    n_on, t_on, c_on = np.nonzero(change == 1)
    n_off, t_off, c_off = np.nonzero(change == -1)
    # np.nonzero walks in C order (clip, time, class); sort both by (clip, class, time) to pair them
    on = np.lexsort((t_on, c_on, n_on))
    off = np.lexsort((t_off, c_off, n_off))
    return pd.DataFrame(
        {
            "clip_id": [clip_ids[i] for i in n_on[on]],
            "event_label": [labels[c] for c in c_on[on]],
            "onset_s": np.maximum(start_s + t_on[on] * hop_s, 0.0),
            "offset_s": np.maximum(start_s + t_off[off] * hop_s, 0.0),
        }
    )


def match_events(
    ref_key: np.ndarray,
    ref_times: np.ndarray,
    est_key: np.ndarray,
    est_times: np.ndarray,
    *,
    onset_collar_s: float = 0.2,
    offset_collar_s: float = 0.2,
    offset_collar_rate: float = 0.2,
) -> np.ndarray:
    """Collar-based matches of estimated to reference events, all groups at once.

    Events match when they share a key (clip and class), their onsets differ by at most
    ``onset_collar_s`` and their offsets by at most
    ``max(offset_collar_s, offset_collar_rate * reference length)``; each event matches
    at most once, with a maximum matching per key. Pairs that no other candidate pair
    touches are counted directly; only keys with competing candidates go through a
    bipartite matching, so the cost is linear in the number of events.

    Parameters
    ----------
    ref_key : np.ndarray [shape=(R,)], int
    ref_times : np.ndarray [shape=(R, 2)]
        Onset and offset of each reference event, seconds.
    est_key : np.ndarray [shape=(E,)], int
    est_times : np.ndarray [shape=(E, 2)]

    Returns
    -------
    np.ndarray [shape=(M,)], int
        The key of each match (``np.bincount`` of a class code gives per-class hits).
    """
    ref_key = np.asarray(ref_key, dtype=np.int64)
    est_key = np.asarray(est_key, dtype=np.int64)
    ref_times = np.asarray(ref_times, dtype=np.float64).reshape(-1, 2)
    est_times = np.asarray(est_times, dtype=np.float64).reshape(-1, 2)
    if not len(ref_key) or not len(est_key):
        return np.empty(0, dtype=np.int64)
    order = np.argsort(ref_key, kind="stable")
    ref_key, ref_times = ref_key[order], ref_times[order]
    lo = np.searchsorted(ref_key, est_key, side="left")
    hi = np.searchsorted(ref_key, est_key, side="right")
    count = hi - lo
    ei = np.repeat(np.arange(len(est_key)), count)  # every candidate pair of the same key
    ri = np.repeat(lo, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    ref_len = ref_times[ri, 1] - ref_times[ri, 0]
    ok = (np.abs(ref_times[ri, 0] - est_times[ei, 0]) <= onset_collar_s + 1e-9) & (
        np.abs(ref_times[ri, 1] - est_times[ei, 1]) <= np.maximum(offset_collar_s, offset_collar_rate * ref_len) + 1e-9
    )
    ei, ri = ei[ok], ri[ok]
    if not len(ei):
        return np.empty(0, dtype=np.int64)
    simple = (np.bincount(ei, minlength=len(est_key))[ei] == 1) & (np.bincount(ri, minlength=len(ref_key))[ri] == 1)
    hits = [est_key[ei[simple]]]
    for key in np.unique(est_key[ei[~simple]]):  # keys with competing candidates
        pick = (~simple) & (est_key[ei] == key)
        e_ids, e_local = np.unique(ei[pick], return_inverse=True)
        r_ids, r_local = np.unique(ri[pick], return_inverse=True)
        graph = csr_matrix((np.ones(len(e_local), dtype=np.int8), (r_local, e_local)), shape=(len(r_ids), len(e_ids)))
        n = int(np.sum(maximum_bipartite_matching(graph, perm_type="column") >= 0))
        hits.append(np.full(n, key, dtype=np.int64))
    return np.concatenate(hits)


def event_f1(
    reference: pd.DataFrame,
    estimated: pd.DataFrame,
    *,
    labels: Sequence[str],
    onset_collar_s: float = 0.2,
    offset_collar_s: float = 0.2,
    offset_collar_rate: float = 0.2,
) -> dict[str, Any]:
    """Event-based precision, recall and F1 (sed_eval conventions).

    Parameters
    ----------
    reference, estimated : pd.DataFrame
        Events with columns clip_id, event_label, onset_s, offset_s.
    labels : sequence of str
        The label set; class-wise scores are reported for these.
    onset_collar_s : float
        Largest onset difference of a match.
    offset_collar_s, offset_collar_rate : float
        Largest offset difference: ``max(offset_collar_s, offset_collar_rate * reference length)``.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (overall, micro), ``macro_f1`` (mean class-wise
        F1 over classes with a reference event), ``n_ref``, ``n_est``, ``n_tp``,
        ``class_f1`` ({label: float or None}).
    """
    cols = ["clip_id", "event_label", "onset_s", "offset_s"]
    for name, frame in (("reference", reference), ("estimated", estimated)):
        missing = set(cols) - set(frame.columns)
        if missing:
            raise BenchError(f"{name} events lack the columns {sorted(missing)}")
    label_index = {lab: j for j, lab in enumerate(labels)}
    reference = reference[reference["event_label"].isin(label_index)]
    estimated = estimated[estimated["event_label"].isin(label_index)]
    clips, _ = pd.factorize(pd.concat([reference["clip_id"], estimated["clip_id"]]).astype(str))
    n_classes = len(labels)
    ref_class = reference["event_label"].map(label_index).to_numpy(np.int64)
    est_class = estimated["event_label"].map(label_index).to_numpy(np.int64)
    ref_key = clips[: len(reference)].astype(np.int64) * n_classes + ref_class
    est_key = clips[len(reference) :].astype(np.int64) * n_classes + est_class
    hits = match_events(
        ref_key,
        reference[["onset_s", "offset_s"]].to_numpy(float),
        est_key,
        estimated[["onset_s", "offset_s"]].to_numpy(float),
        onset_collar_s=onset_collar_s,
        offset_collar_s=offset_collar_s,
        offset_collar_rate=offset_collar_rate,
    )
    tp = np.bincount(hits % n_classes, minlength=n_classes)
    n_ref = np.bincount(ref_class, minlength=n_classes)
    n_est = np.bincount(est_class, minlength=n_classes)
    total_tp, total_ref, total_est = int(tp.sum()), int(n_ref.sum()), int(n_est.sum())
    class_f1 = {lab: (2 * tp[j] / (n_ref[j] + n_est[j]) if n_ref[j] else None) for j, lab in enumerate(labels)}
    scored = [v for v in class_f1.values() if v is not None]
    return {
        "precision": total_tp / total_est if total_est else None,
        "recall": total_tp / total_ref if total_ref else None,
        "f1": 2 * total_tp / (total_ref + total_est) if (total_ref + total_est) else None,
        "macro_f1": float(np.mean(scored)) if scored else None,
        "n_ref": total_ref,
        "n_est": total_est,
        "n_tp": total_tp,
        "class_f1": {lab: (float(v) if v is not None else None) for lab, v in class_f1.items()},
    }


def raw_event_metrics(
    frame_true: np.ndarray | None,
    frame_score: np.ndarray,
    *,
    labels: Sequence[str],
    hop_s: float,
    threshold: float = 0.5,
    median_frames: int = 5,
    events: pd.DataFrame | None = None,
    clip_ids: Sequence[str] | None = None,
    snr_db: float | None = None,
    onset_collar_s: float = 0.2,
    offset_collar_s: float = 0.2,
    offset_collar_rate: float = 0.2,
    start_s: float = 0.0,
) -> dict[str, Any]:
    """Event-based F1 of frame probabilities.

    The reference events are the exact strong labels when ``events`` and ``clip_ids``
    are given, else the runs of active frames of ``frame_true`` (onsets and offsets
    then sit on the frame grid, at most one hop from the exact ones: well inside the
    200 ms collars).

    Parameters
    ----------
    frame_true : np.ndarray [shape=(N, T, C)], bool, or None
        Frame targets (:func:`frame_targets`); may be None when ``events`` is given.
    frame_score : np.ndarray [shape=(N, T, C)]
        Frame probabilities.
    labels : sequence of str [shape=(C,)]
    hop_s, threshold, median_frames, start_s
        See :func:`raw_frames_to_events`.
    events : pd.DataFrame, optional
        ``events.parquet`` rows (clip_id, event_label, onset_s, offset_s, snr_db).
    clip_ids : sequence of str [shape=(N,)], optional
        Clips of the rows of ``frame_score`` (needed with ``events``).
    snr_db : float or None
        Keep only reference events of this SNR.

    Returns
    -------
    dict
        :func:`event_f1` plus ``threshold`` and ``median_frames``.
    """
    frame_score = np.asarray(frame_score)
    ids = [str(c) for c in clip_ids] if clip_ids is not None else [str(i) for i in range(frame_score.shape[0])]
    if events is not None:
        if clip_ids is None:
            raise BenchError("raw_event_metrics needs clip_ids together with events")
        reference = events[events["clip_id"].astype(str).isin(set(ids))]
        if snr_db is not None and "snr_db" in reference.columns:
            reference = reference[np.isclose(reference["snr_db"].astype(float), float(snr_db))]
        reference = reference.assign(clip_id=reference["clip_id"].astype(str))
    elif frame_true is not None:
        frame_true, frame_score = _check_pair(frame_true, frame_score, "event metrics")
        reference = raw_frames_to_events(
            np.asarray(frame_true, dtype=np.uint8),
            ids,
            labels=labels,
            hop_s=hop_s,
            threshold=0.5,
            median_frames=1,
            start_s=start_s,
        )
    else:
        raise BenchError("raw_event_metrics needs frame targets or the events table with clip ids")
    estimated = raw_frames_to_events(
        frame_score, ids, labels=labels, hop_s=hop_s, threshold=threshold, median_frames=median_frames, start_s=start_s
    )
    out = event_f1(
        reference,
        estimated,
        labels=labels,
        onset_collar_s=onset_collar_s,
        offset_collar_s=offset_collar_s,
        offset_collar_rate=offset_collar_rate,
    )
    out.update(threshold=float(threshold), median_frames=int(median_frames))
    return out


def evaluate(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    labels: Sequence[str],
    frame_score: np.ndarray | None = None,
    events: pd.DataFrame | None = None,
    clip_ids: Sequence[str] | None = None,
    hop_s: float = 1024 / 32000,
    start_s: float = 0.0,
    snr_db: float | None = None,
    threshold: float = 0.5,
    median_frames: int | None = None,
) -> dict[str, Any]:
    """All metrics of one split, in the ``metrics.json`` form of a run.

    Clip metrics always; ``"frame"`` and ``"event"`` entries when frame scores
    (N, T, C), the events table and the clip ids are given. The raw-output events use a
    median filter of ``median_frames`` frames (default: the odd count nearest 0.16 s at
    ``hop_s``, :func:`bench.resolution.raw_median_frames`). Frame scores are rounded
    to float16, the precision they are stored with in ``frame_probs_<split>.npy``, so
    metrics recomputed from a run folder are identical (and frame AP is fast).
    """
    out = clip_metrics(y_true, y_score, labels=labels)
    if median_frames is None:
        median_frames = raw_median_frames(hop_s)
    if frame_score is not None and events is not None and clip_ids is not None:
        frame_score = np.asarray(frame_score, dtype=np.float16)
        truth = frame_targets(
            events, clip_ids, n_frames=frame_score.shape[1], hop_s=hop_s, labels=labels, snr_db=snr_db, start_s=start_s
        )
        out["frame"] = frame_metrics(truth, frame_score, threshold=threshold)
        ev = raw_event_metrics(
            truth,
            frame_score,
            labels=labels,
            hop_s=hop_s,
            threshold=threshold,
            median_frames=median_frames,
            events=events,
            clip_ids=clip_ids,
            snr_db=snr_db,
            start_s=start_s,
        )
        ev.pop("class_f1")
        ev.update(median_filter_s=median_frames * hop_s, hop_s=hop_s, frame_start_s=start_s)  # comparable across hops
        out["event"] = ev
    return out
