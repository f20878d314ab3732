"""Post-processing: from a model's frame and clip outputs to decisions and events.

One rule for every model, with its few settings chosen on the validation split and
stored in the run (``postprocess.json``), then applied unchanged to the test split and
to new audio:

1. **frame score** (``frame_score``): ``"frame_x_clip"`` (default) multiplies each
   frame output by the clip probability of its class, ``s[n, t, c] = f[n, t, c] * p[n, c]``;
   ``"frame_probs"`` is the frame output alone. The two-step attention models' frame
   output is the first (frequency) step's output, which feeds a time layer whose
   weights take either sign: it ranks the frames of a clip but is not a probability
   across clips (its frame AP is far below the product's). The product behaves as a
   probability for every model, so it is the one rule;
2. **median filter** along time, ``median_filter_s`` seconds (global or per class),
   turned into an odd number of frames at the run's hop (:func:`median_frames`);
3. **clip gate** (``clip_gate``): a class's frames are kept only in clips whose clip
   probability is at least ``clip_threshold`` (the weakly labelled tag, the field's
   usual practice), else set to 0;
4. **decision threshold** per class (``thresholds``, 41 values): a frame is active when
   its post-processed score is at least the threshold; every run of active frames is
   an event.

A median filter commutes with a threshold (``median(s) >= u`` exactly when the median
of ``s >= u`` is 1), so the post-processed *scores* of steps 1-3
(:func:`postprocessed_scores`, written as the run's DCASE score files) thresholded at
step 4 give exactly the decisions and the detected events.

Frame ``t`` covers ``[frame_start_s + t * hop_s, frame_start_s + (t + 1) * hop_s)``
(:attr:`bench.features.LogMelSettings.frame_start_s`), clipped to ``[0, duration]``
(:func:`frame_timestamps`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter

from bench.errors import BenchError

__all__ = [
    "FRAME_SCORES",
    "POSTPROCESS",
    "PostProcessing",
    "apply_frame_score",
    "choose_postprocessing",
    "decisions",
    "decisions_to_events",
    "detect_events",
    "frame_timestamps",
    "load_postprocessing",
    "median_frames",
    "postprocessed_scores",
    "save_postprocessing",
]

POSTPROCESS = "postprocess.json"
FRAME_SCORES = ("frame_x_clip", "frame_probs")
SCORE_DECIMALS = 5
"""Post-processed scores are rounded to this many decimals, the precision of the score files."""
TIME_DECIMALS = 6
"""Frame times are rounded to microseconds, the precision of the score and detection files."""


def _per_class(value: float | Sequence[float], n_classes: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return np.full(n_classes, float(array))
    if array.shape != (n_classes,):
        raise BenchError(f"{name}: one value or {n_classes} (one per class) expected, found {array.shape[0]}")
    return array


def _plain(value: float | Sequence[float]) -> float | tuple[float, ...]:
    if np.ndim(value) == 0:
        return float(value)
    return tuple(float(v) for v in value)


@dataclass(frozen=True)
class PostProcessing:
    """The post-processing of a run (see the module docstring).

    Attributes
    ----------
    thresholds : tuple of float [shape=(C,)]
        Decision threshold of each class, on the post-processed score.
    hop_s : float
        Seconds between frames of the run's features.
    frame_start_s : float
        Start of frame 0's cell in seconds (may be negative; clipped to 0 in event times).
    frame_score : {"frame_x_clip", "frame_probs"}
        Frame score rule.
    clip_gate : bool
        Keep a class's frames only where its clip probability reaches ``clip_threshold``.
    clip_threshold : float or tuple of float [shape=(C,)]
    median_filter_s : float or tuple of float [shape=(C,)]
        Median filter length in seconds (0: none).
    chosen_on : str
        The split the settings were chosen on ("val").
    criterion : str
        What the choice maximised ("event_f1": collar-based event F1, micro).
    """

    thresholds: tuple[float, ...]
    hop_s: float
    frame_start_s: float = 0.0
    frame_score: str = "frame_x_clip"
    clip_gate: bool = True
    clip_threshold: float | tuple[float, ...] = 0.5
    median_filter_s: float | tuple[float, ...] = 0.0
    chosen_on: str = "val"
    criterion: str = "event_f1"

    def __post_init__(self) -> None:
        if self.frame_score not in FRAME_SCORES:
            raise BenchError(f"unknown frame score {self.frame_score!r}; use one of {FRAME_SCORES}")
        if not self.hop_s > 0:
            raise BenchError(f"hop_s must be positive, found {self.hop_s}")
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))
        object.__setattr__(self, "clip_threshold", _plain(self.clip_threshold))
        object.__setattr__(self, "median_filter_s", _plain(self.median_filter_s))
        n = len(self.thresholds)
        if n == 0:
            raise BenchError("post-processing needs one threshold per class, found none")
        _per_class(self.clip_threshold, n, "clip_threshold")
        if np.any(_per_class(self.median_filter_s, n, "median_filter_s") < 0):
            raise BenchError(f"median_filter_s must not be negative, found {self.median_filter_s}")

    @property
    def n_classes(self) -> int:
        return len(self.thresholds)

    def median_frames(self) -> np.ndarray:
        """Median filter length of each class in frames (odd, >= 1), shape (C,)."""
        return median_frames(_per_class(self.median_filter_s, self.n_classes, "median_filter_s"), hop_s=self.hop_s)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (the content of ``postprocess.json``)."""
        data = asdict(self)
        for key in ("thresholds", "clip_threshold", "median_filter_s"):
            value = data[key]
            data[key] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PostProcessing:
        """Inverse of :meth:`to_dict`; unknown keys raise a :class:`BenchError`."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise BenchError(f"unknown post-processing settings {unknown}; known: {sorted(known)}")
        return cls(**data)


def save_postprocessing(run_dir: Path, post: PostProcessing) -> Path:
    """Write ``run_dir/postprocess.json`` atomically."""
    from remix.atomic import write_json

    return write_json(Path(run_dir) / POSTPROCESS, post.to_dict(), sort_keys=False)


def load_postprocessing(run_dir: Path) -> PostProcessing | None:
    """The post-processing stored in a run folder, or None when the run has none yet.

    Raises
    ------
    BenchError
        The file exists but cannot be read.
    """
    path = Path(run_dir) / POSTPROCESS
    if not path.is_file():
        return None
    try:
        return PostProcessing.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise BenchError(f"{path} is not a valid post-processing file ({exc}); evaluate the run again") from None


# --------------------------------------------------------------------------- steps


def median_frames(seconds: float | np.ndarray, *, hop_s: float) -> np.ndarray:
    """Median filter lengths in frames: the odd number of frames nearest ``seconds / hop_s``
    (at least 1, which is no filter).

    Parameters
    ----------
    seconds : float or np.ndarray [shape=(C,)]
    hop_s : float

    Returns
    -------
    np.ndarray [shape=() or (C,)], int
    """
    frames = np.asarray(seconds, dtype=np.float64) / hop_s
    return np.maximum(1, 2 * np.floor((frames - 1) / 2 + 0.5).astype(np.int64) + 1)


def _check(frame_probs: np.ndarray, clip_probs: np.ndarray, n_classes: int | None = None) -> None:
    if frame_probs.ndim != 3 or clip_probs.ndim != 2 or frame_probs.shape[::2] != clip_probs.shape:
        raise BenchError(
            f"frame outputs (N, T, C) and clip probabilities (N, C) expected, found "
            f"{frame_probs.shape} and {clip_probs.shape}"
        )
    if n_classes is not None and clip_probs.shape[1] != n_classes:
        raise BenchError(f"the post-processing is for {n_classes} classes, the outputs have {clip_probs.shape[1]}")


def apply_frame_score(frame_probs: np.ndarray, clip_probs: np.ndarray, *, rule: str = "frame_x_clip") -> np.ndarray:
    """The frame score of a rule.

    Parameters
    ----------
    frame_probs : np.ndarray [shape=(N, T, C)]
        The model's ``frame_probs``.
    clip_probs : np.ndarray [shape=(N, C)]
    rule : {"frame_x_clip", "frame_probs"}

    Returns
    -------
    np.ndarray [shape=(N, T, C)], float32
    """
    frame_probs = np.asarray(frame_probs, dtype=np.float32)
    clip_probs = np.asarray(clip_probs, dtype=np.float32)
    _check(frame_probs, clip_probs)
    if rule == "frame_x_clip":
        return frame_probs * clip_probs[:, None, :]
    if rule == "frame_probs":
        return frame_probs.copy()
    raise BenchError(f"unknown frame score {rule!r}; use one of {FRAME_SCORES}")


def _binary_median(active: np.ndarray, length: int) -> np.ndarray:
    """Median filter of 0/1 rows along the last axis (``mode="nearest"``): a majority
    vote over ``length`` (odd) frames, from a running sum in time linear in the input."""
    if length <= 1:
        return active
    half = length // 2
    padded = np.concatenate([active[:, :1].repeat(half, axis=1), active, active[:, -1:].repeat(half, axis=1)], axis=1)
    running = np.zeros((padded.shape[0], padded.shape[1] + 1), dtype=np.int32)
    np.cumsum(padded, axis=1, dtype=np.int32, out=running[:, 1:])
    return (running[:, length:] - running[:, :-length]) > half


def _runs(active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along the rows of a 2-D boolean array, in row-major order.

    Returns
    -------
    (row, start, stop) : np.ndarray [shape=(R,)] each
        Row of each run, its first frame and one past its last frame.
    """
    active = np.ascontiguousarray(active, dtype=bool)
    width = active.shape[1] + 1
    edges = np.diff(active.view(np.int8), axis=1, prepend=np.int8(0), append=np.int8(0))  # (N, T + 1)
    flat = np.flatnonzero(edges)
    rising = edges.ravel()[flat] > 0
    return flat[rising] // width, flat[rising] % width, flat[~rising] % width


def postprocessed_scores(frame_probs: np.ndarray, clip_probs: np.ndarray, post: PostProcessing) -> np.ndarray:
    """Frame score, median filter and clip gate: the scores of the DCASE score files.

    Thresholding them at ``post.thresholds`` gives :func:`decisions`. Rounded to
    :data:`SCORE_DECIMALS` decimals (the precision the score files are written with,
    so that metrics computed here and from the files agree exactly).

    Parameters
    ----------
    frame_probs : np.ndarray [shape=(N, T, C)]
    clip_probs : np.ndarray [shape=(N, C)]
    post : PostProcessing

    Returns
    -------
    np.ndarray [shape=(N, T, C)], float64
    """
    clip_probs = np.asarray(clip_probs, dtype=np.float32)
    _check(np.asarray(frame_probs), clip_probs, post.n_classes)
    scores = apply_frame_score(frame_probs, clip_probs, rule=post.frame_score)  # (N, T, C)
    keep = np.ones(clip_probs.shape, dtype=bool)  # (N, C): the (clip, class) pairs the gate lets through
    if post.clip_gate:
        keep = clip_probs >= _per_class(post.clip_threshold, post.n_classes, "clip_threshold").astype(np.float32)
    out = np.zeros(scores.shape, dtype=np.float64)
    pair_n, pair_c = np.nonzero(keep)
    lengths = post.median_frames()[pair_c]
    for length in np.unique(lengths):
        pick = lengths == length
        rows = scores[pair_n[pick], :, pair_c[pick]]  # (P, T)
        if length > 1:
            rows = median_filter(rows, size=(1, int(length)), mode="nearest")
        out[pair_n[pick], :, pair_c[pick]] = rows
    scale = 10.0**SCORE_DECIMALS
    return np.rint(out * scale) / scale


def decisions(frame_probs: np.ndarray, clip_probs: np.ndarray, post: PostProcessing) -> np.ndarray:
    """Per-frame decisions of a post-processing.

    Parameters
    ----------
    frame_probs : np.ndarray [shape=(N, T, C)]
    clip_probs : np.ndarray [shape=(N, C)]
    post : PostProcessing

    Returns
    -------
    np.ndarray [shape=(N, T, C)], bool
    """
    scores = postprocessed_scores(frame_probs, clip_probs, post)
    return scores >= np.asarray(post.thresholds)


def frame_timestamps(
    n_frames: int, *, hop_s: float, frame_start_s: float = 0.0, duration_s: float | None = None
) -> np.ndarray:
    """Boundaries of the frames' time cells in seconds.

    Parameters
    ----------
    n_frames : int
    hop_s, frame_start_s : float
    duration_s : float, optional
        Clip length; the last boundary is clipped to it.

    Returns
    -------
    np.ndarray [shape=(n_frames + 1,)], float64
        ``max(0, frame_start_s + t * hop_s)`` for ``t = 0 .. n_frames``, rounded to
        :data:`TIME_DECIMALS` decimals, strictly increasing.
    """
    times = np.maximum(frame_start_s + np.arange(n_frames + 1) * hop_s, 0.0)
    if duration_s is not None:
        times = np.minimum(times, float(duration_s))
    scale = 10.0**TIME_DECIMALS
    times = np.rint(times * scale) / scale
    if n_frames and not np.all(np.diff(times) > 0):
        raise BenchError(
            f"{n_frames} frames of {hop_s:g} s starting at {frame_start_s:g} s do not fit a "
            f"{duration_s} s clip; check the run's feature settings"
        )
    return times


def decisions_to_events(
    active: np.ndarray, filenames: Sequence[str], *, labels: Sequence[str], timestamps: np.ndarray
) -> pd.DataFrame:
    """Events of per-frame decisions: every run of active frames of a class.

    Parameters
    ----------
    active : np.ndarray [shape=(N, T, C)], bool
    filenames : sequence of str [shape=(N,)]
        The ``filename`` of each clip (DCASE files: the audio file name).
    labels : sequence of str [shape=(C,)]
    timestamps : np.ndarray [shape=(T + 1,)]
        :func:`frame_timestamps`.

    Returns
    -------
    pd.DataFrame
        ``filename``, ``onset``, ``offset``, ``event_label`` (seconds), sorted by clip,
        onset and label.
    """
    active = np.asarray(active, dtype=bool)
    if active.ndim != 3 or active.shape[0] != len(filenames) or active.shape[2] != len(labels):
        raise BenchError(f"decisions of shape ({len(filenames)}, T, {len(labels)}) expected, found {active.shape}")
    if len(timestamps) != active.shape[1] + 1:
        raise BenchError(f"{active.shape[1]} frames need {active.shape[1] + 1} timestamps, found {len(timestamps)}")
    change = np.diff(np.pad(active, ((0, 0), (1, 1), (0, 0))).astype(np.int8), axis=1)  # (N, T + 1, C)
    n_on, t_on, c_on = np.nonzero(change == 1)
    n_off, t_off, c_off = np.nonzero(change == -1)
    on = np.lexsort((t_on, c_on, n_on))  # both by (clip, class, time): the k-th onset pairs the k-th offset
    off = np.lexsort((t_off, c_off, n_off))
    names = np.asarray([str(f) for f in filenames], dtype=object)
    events = pd.DataFrame(
        {
            "filename": names[n_on[on]] if len(on) else np.empty(0, dtype=object),
            "onset": np.asarray(timestamps, dtype=np.float64)[t_on[on]],
            "offset": np.asarray(timestamps, dtype=np.float64)[t_off[off]],
            "event_label": np.asarray(list(labels), dtype=object)[c_on[on]] if len(on) else np.empty(0, dtype=object),
            "_clip": n_on[on],
        }
    )
    events = events.sort_values(["_clip", "onset", "event_label"], kind="stable").drop(columns="_clip")
    return events.reset_index(drop=True)


def detect_events(
    frame_probs: np.ndarray,
    clip_probs: np.ndarray,
    post: PostProcessing,
    *,
    filenames: Sequence[str],
    labels: Sequence[str],
    duration_s: float | None = None,
) -> pd.DataFrame:
    """Detected events (DCASE detections table) of frame and clip outputs.

    Parameters
    ----------
    frame_probs : np.ndarray [shape=(N, T, C)]
    clip_probs : np.ndarray [shape=(N, C)]
    post : PostProcessing
    filenames : sequence of str [shape=(N,)]
    labels : sequence of str [shape=(C,)]
    duration_s : float, optional
        Clip length (clips the last frame's offset).

    Returns
    -------
    pd.DataFrame
        ``filename``, ``onset``, ``offset``, ``event_label`` in seconds.
    """
    active = decisions(frame_probs, clip_probs, post)
    times = frame_timestamps(active.shape[1], hop_s=post.hop_s, frame_start_s=post.frame_start_s, duration_s=duration_s)
    return decisions_to_events(active, filenames, labels=labels, timestamps=times)


# --------------------------------------------------------------------------- choice on validation

MEDIAN_GRID_S = (0.0, 0.15, 0.3, 0.45, 0.6, 0.9, 1.2, 1.5, 2.0)
"""Median filter lengths tried, in seconds (turned into odd frame counts at the run's hop).

A median filter of L seconds removes every run of active frames shorter than about L / 2,
so the grid stops at 2 s, the longest event of the paper's recipe (events last 0.3-2 s);
with a grid that stopped at 0.9 s, 0.9 s was the choice of 22 of the 32 ``cpu-full``
reference runs (``benchmarks/postprocess_rules.py``)."""
CLIP_THRESHOLD_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
"""Clip-gate thresholds tried."""
THRESHOLD_GRID = (0.01, 0.02, 0.03) + tuple(round(0.05 * k, 2) for k in range(1, 19))
"""Decision thresholds tried (0.01 to 0.9: a frame x clip score of a confident model's weak frames is small)."""


def choose_postprocessing(
    frame_probs: np.ndarray,
    clip_probs: np.ndarray,
    *,
    reference: pd.DataFrame,
    clip_ids: Sequence[str],
    labels: Sequence[str],
    hop_s: float,
    frame_start_s: float = 0.0,
    duration_s: float | None = None,
    frame_score: str = "frame_x_clip",
    median_grid_s: Sequence[float] = MEDIAN_GRID_S,
    clip_threshold_grid: Sequence[float] = CLIP_THRESHOLD_GRID,
    threshold_grid: Sequence[float] = THRESHOLD_GRID,
    onset_collar_s: float = 0.2,
    offset_collar_s: float = 0.2,
    offset_collar_rate: float = 0.2,
) -> tuple[PostProcessing, dict[str, Any]]:
    """The post-processing of the highest event F1 on a (validation) split.

    One global median filter length, clip-gate threshold and decision threshold are
    chosen from the grids (the same rule for every model; per-class values would be
    fitted on a handful of events per class in a validation fold) by collar-based event
    F1 (micro over every class; 200 ms onset collar, offset collar max(200 ms, 20 %)).
    Ties go to the shorter filter, then the higher gate, then the higher threshold.
    Each threshold and filter length is applied once to the (clip, class) pairs that
    pass the lowest gate (the filter as a majority vote on the thresholded frames, which
    is what a median filter of the scores gives); each gate then only selects pairs.

    Parameters
    ----------
    frame_probs : np.ndarray [shape=(N, T, C)]
    clip_probs : np.ndarray [shape=(N, C)]
    reference : pd.DataFrame
        Reference events: clip_id, event_label, onset_s, offset_s (other clips ignored).
    clip_ids : sequence of str [shape=(N,)]
    labels : sequence of str [shape=(C,)]
    hop_s, frame_start_s : float
        Frame grid (:func:`frame_timestamps`).
    duration_s : float, optional
        Clip length.
    frame_score : {"frame_x_clip", "frame_probs"}
    median_grid_s, clip_threshold_grid, threshold_grid : sequence of float

    Returns
    -------
    (PostProcessing, dict)
        The choice, and a record of the search: the grids, the best F1 and the F1 of
        each median length and gate at its best threshold.
    """
    from bench.evaluation.metrics import match_events

    clip_probs = np.asarray(clip_probs, dtype=np.float32)
    scores = apply_frame_score(frame_probs, clip_probs, rule=frame_score)
    n, n_frames, n_classes = scores.shape
    if len(clip_ids) != n or len(labels) != n_classes:
        raise BenchError(f"{len(clip_ids)} clip ids and {len(labels)} labels for outputs of shape {scores.shape}")
    times = frame_timestamps(n_frames, hop_s=hop_s, frame_start_s=frame_start_s, duration_s=duration_s)
    clip_index = {str(c): i for i, c in enumerate(clip_ids)}
    label_index = {lab: j for j, lab in enumerate(labels)}
    ref = reference[reference["clip_id"].astype(str).isin(clip_index) & reference["event_label"].isin(label_index)]
    ref_key = ref["clip_id"].astype(str).map(clip_index).to_numpy(np.int64) * n_classes + ref["event_label"].map(
        label_index
    ).to_numpy(np.int64)
    ref_times = ref[["onset_s", "offset_s"]].to_numpy(np.float64)
    n_ref = len(ref)

    gates = sorted({float(g) for g in clip_threshold_grid}, reverse=True)
    pair_n, pair_c = np.nonzero(clip_probs >= np.float32(gates[-1]))  # pairs that may pass a gate, sorted by key
    pair_prob = clip_probs[pair_n, pair_c]
    pair_key = pair_n.astype(np.int64) * n_classes + pair_c
    scale = 10.0**SCORE_DECIMALS
    pair_scores = np.rint(scores[pair_n, :, pair_c].astype(np.float64) * scale) / scale  # (P, T), as written
    passes = np.stack([pair_prob >= np.float32(g) for g in gates])  # (G, P)
    lengths: dict[int, float] = {}
    for seconds in sorted({float(s) for s in median_grid_s}):
        lengths.setdefault(int(median_frames(seconds, hop_s=hop_s)), seconds)  # shortest seconds per frame count
    thresholds = sorted({float(t) for t in threshold_grid}, reverse=True)
    f1 = np.zeros((len(lengths), len(gates), len(thresholds)))
    for k, threshold in enumerate(thresholds):
        above = pair_scores >= threshold  # a median filter commutes with the threshold
        rows = np.flatnonzero(above.any(axis=1))  # a pair without an active frame has no event at any length
        above = above[rows]
        for m, frames in enumerate(sorted(lengths)):
            p_on, t_on, t_off = _runs(_binary_median(above, frames))
            p_on = rows[p_on]
            hits = match_events(
                ref_key,
                ref_times,
                pair_key[p_on],
                np.stack([times[t_on], times[t_off]], axis=1),
                onset_collar_s=onset_collar_s,
                offset_collar_s=offset_collar_s,
                offset_collar_rate=offset_collar_rate,
            )
            tp = np.bincount(np.searchsorted(pair_key, hits), minlength=len(pair_key))  # matches per pair
            n_est = np.bincount(p_on, minlength=len(pair_key))
            denominator = n_ref + passes @ n_est  # (G,)
            f1[m, :, k] = np.where(denominator > 0, 2 * (passes @ tp) / np.maximum(denominator, 1), 0.0)
    # ties: shorter filter, then higher gate, then higher threshold (the first in this order)
    m, g, k = np.unravel_index(int(np.argmax(f1)), f1.shape)
    seconds = [lengths[f] for f in sorted(lengths)][m]
    gate, threshold = gates[g], thresholds[k]
    table = [
        {
            "median_filter_s": lengths[frames],
            "median_frames": frames,
            "clip_threshold": gates[j],
            "threshold": thresholds[int(np.argmax(f1[i, j]))],
            "event_f1": float(f1[i, j].max()),
        }
        for i, frames in enumerate(sorted(lengths))
        for j in range(len(gates))
    ]
    post = PostProcessing(
        thresholds=(threshold,) * n_classes,
        hop_s=float(hop_s),
        frame_start_s=float(frame_start_s),
        frame_score=frame_score,
        clip_gate=True,
        clip_threshold=gate,
        median_filter_s=seconds,
    )
    record = {
        "event_f1": float(f1[m, g, k]),
        "median_grid_s": [lengths[f] for f in sorted(lengths)],
        "clip_threshold_grid": sorted(gates),
        "threshold_grid": sorted(thresholds),
        "table": table,
    }
    return post, record
