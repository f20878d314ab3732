"""A trained run on one's own recordings: windows, stitched frame scores, events.

:func:`detect` takes audio files of any sample rate, channel count and length,
down-mixes them, resamples them to the run's rate (soxr, high quality) and cuts
them into the windows the model takes (the run's clip length; the 2AP models' time
step is a dense layer over exactly that many frames). Windows overlap (half a
window by default) and start on the feature hop, so every window's frames are
frames of the whole recording; each frame's score is the mean over the windows that
hold it, and so is the clip probability of those windows (used when the run's
post-processing multiplies or gates frame scores by clip probabilities). A recording
shorter than one window is repeated to fill it (digital silence, the alternative,
lies far outside anything the models saw); the frames of the repeats are dropped.

Post-processing is the run's own (``postprocess.json``: frame score, clip gate,
median filter, per-class thresholds, as chosen when the run was evaluated); a run
without one uses 0.5 thresholds and a 5-frame median filter. The result is a DCASE
events table ``filename onset offset event_label`` in seconds of the original file
and, on request, one sed_scores_eval score table per file and one PNG per file.

A file that cannot be decoded is reported and skipped; the others are processed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.postprocess import (
    PostProcessing,
    apply_frame_score,
    decisions_to_events,
    frame_timestamps,
    postprocessed_scores,
)
from bench.inference.export import RunScorer, load_run_scorer
from bench.inference.recordings import (
    AUDIO_EXTENSIONS,
    Recording,
    UndecodableAudio,
    audio_blocks,
    audio_info,
    collect_audio,
    decode_audio,
)
from bench.store import atomic_path, find_run

__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_MEDIAN_FRAMES",
    "DEFAULT_THRESHOLD",
    "DetectResult",
    "Recording",
    "RecordingScores",
    "UndecodableAudio",
    "collect_audio",
    "default_postprocessing",
    "decode_audio",
    "detect",
    "events_table",
    "plot_detections",
    "postprocess_recording",
    "score_recording",
    "scores_table",
    "window_starts",
]

DEFAULT_THRESHOLD = 0.5
"""Decision threshold for every class of a run without ``postprocess.json``."""

DEFAULT_MEDIAN_FRAMES = 5
"""Median filter length in frames for a run without ``postprocess.json``."""

EVENT_COLUMNS = ["filename", "onset", "offset", "event_label"]


def window_starts(n_frames: int, *, window: int, stride: int) -> np.ndarray:
    """First frames of the windows that cover ``n_frames`` frames.

    Windows of ``window`` frames every ``stride`` frames from 0; the last one ends on the
    last frame. ``n_frames <= window``: one window at 0.

    Returns
    -------
    np.ndarray [shape=(W,)], int64
    """
    if window < 1 or stride < 1:
        raise BenchError(f"window and stride must be at least 1 frame, found {window} and {stride}")
    if n_frames <= window:
        return np.zeros(1, dtype=np.int64)
    starts = list(range(0, n_frames - window + 1, stride))
    if starts[-1] != n_frames - window:
        starts.append(n_frames - window)
    return np.asarray(starts, dtype=np.int64)


@dataclass
class RecordingScores:
    """Scores of one recording on the frame grid of the whole file.

    Attributes
    ----------
    clip_probs : np.ndarray [shape=(C,)]
        Maximum over the windows of their clip probabilities.
    frame_probs : np.ndarray [shape=(T, C)]
        Each frame's model output, the mean over the windows holding it.
    frame_score : np.ndarray [shape=(T, C)]
        Each frame's score under the post-processing's rule
        (:func:`bench.evaluation.postprocess.apply_frame_score` in each window: ``frame_x_clip``
        multiplies by that window's clip probability), the mean over the windows holding it.
    window_clip_probs : np.ndarray [shape=(T, C)]
        Mean clip probability of the windows holding each frame (what the clip gate reads).
    hop_s, frame_start_s : float
        Frame ``t`` stands for ``[frame_start_s + t * hop_s, frame_start_s + (t + 1) * hop_s)``.
    duration_s : float
        Duration of the original file.
    n_windows : int
    padded : bool
        True when the recording was shorter than one window.
    """

    clip_probs: np.ndarray
    frame_probs: np.ndarray
    frame_score: np.ndarray
    window_clip_probs: np.ndarray
    hop_s: float
    frame_start_s: float
    duration_s: float
    n_windows: int
    padded: bool


def score_recording(
    scorer: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    wave: np.ndarray,
    *,
    settings,
    n_frames: int,
    window_samples: int,
    frame_score: str = "frame_x_clip",
    duration_s: float | None = None,
    overlap: float = 0.5,
    batch_size: int = 8,
) -> RecordingScores:
    """Cut a recording into the model's windows, score them and stitch the frame scores
    (:func:`score_stream` of the whole signal at once).

    Parameters
    ----------
    scorer : callable
        ``waves (W, window_samples) -> (clip_probs (W, C), frame_probs (W, n_frames, C))``,
        e.g. a :class:`bench.inference.export.RunScorer`.
    wave : np.ndarray [shape=(N,)]
        Mono recording at ``settings.sample_rate``.
    settings, n_frames, window_samples, frame_score, duration_s, overlap, batch_size
        As :func:`score_stream`.
    """
    wave = np.asarray(wave, dtype=np.float32)
    return score_stream(
        scorer,
        [wave],
        settings=settings,
        n_frames=n_frames,
        window_samples=window_samples,
        frame_score=frame_score,
        duration_s=duration_s if duration_s is not None else wave.shape[0] / settings.sample_rate,
        overlap=overlap,
        batch_size=batch_size,
    )


class _Sums:
    """Per-frame sums of the windows' outputs, grown as the recording streams in."""

    def __init__(self, n_classes: int, capacity: int) -> None:
        self.arrays = {key: np.zeros((max(1, capacity), n_classes)) for key in ("frame", "score", "clip")}
        self.count = np.zeros(max(1, capacity))

    def add(self, start: int, frames: np.ndarray, ruled: np.ndarray, clip: np.ndarray) -> None:
        stop = start + frames.shape[0]
        if stop > self.count.shape[0]:
            size = max(stop, 2 * self.count.shape[0])
            for key, value in self.arrays.items():
                grown = np.zeros((size, value.shape[1]))
                grown[: value.shape[0]] = value
                self.arrays[key] = grown
            count = np.zeros(size)
            count[: self.count.shape[0]] = self.count
            self.count = count
        self.arrays["frame"][start:stop] += frames
        self.arrays["score"][start:stop] += ruled
        self.arrays["clip"][start:stop] += clip
        self.count[start:stop] += 1

    def means(self, total: int) -> dict[str, np.ndarray]:
        count = self.count[:total, None]
        return {key: (value[:total] / count).astype(np.float32) for key, value in self.arrays.items()}


def score_stream(
    scorer: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    blocks: Iterable[np.ndarray],
    *,
    settings,
    n_frames: int,
    window_samples: int,
    frame_score: str = "frame_x_clip",
    duration_s: float,
    overlap: float = 0.5,
    batch_size: int = 8,
    expected_samples: int = 0,
    mel: list | None = None,
) -> RecordingScores:
    """Score a recording that arrives in pieces, holding only about one piece and one window.

    Windows of ``window_samples`` samples (``n_frames`` frames) start every
    ``round(n_frames * (1 - overlap))`` frames from 0, plus one ending on the last frame
    (:func:`window_starts`); each is scored as soon as its samples have arrived. A frame's
    outputs are the mean over the windows holding it. A recording shorter than a window is
    repeated to fill one (digital silence lies far outside anything the models saw) and only
    its own frames are kept.

    Parameters
    ----------
    scorer : callable
        ``waves (W, window_samples) -> (clip_probs (W, C), frame_probs (W, n_frames, C))``.
    blocks : iterable of np.ndarray [shape=(n,)]
        Consecutive pieces of the mono signal at ``settings.sample_rate``.
    settings : LogMelSettings
        The run's features (hop, window, centre padding).
    n_frames, window_samples : int
        Frames per window and the samples that give them.
    frame_score : {"frame_x_clip", "frame_probs"}
        Rule of :attr:`RecordingScores.frame_score`.
    duration_s : float
        Duration of the original file.
    overlap : float
        Share of a window shared with the next one, in ``[0, 1)``.
    batch_size : int
        Windows scored at once.
    expected_samples : int
        Samples the stream is expected to hold (sizes the per-frame arrays; 0: grown as needed).
    mel : list, optional
        When given, the recording's log-mel (T, F) float16 is appended to it (for plots).

    Raises
    ------
    UndecodableAudio
        A recording too short for a single analysis frame.
    """
    if not 0.0 <= overlap < 1.0:
        raise BenchError(f"overlap must be in [0, 1), found {overlap}")
    hop = settings.hop_length
    stride = max(1, int(round(n_frames * (1.0 - overlap))))
    sums: _Sums | None = None
    mel_parts: dict[int, np.ndarray] = {}
    clip_max: np.ndarray | None = None
    n_windows = 0

    def score(starts: list[int], windows: np.ndarray) -> None:
        nonlocal sums, clip_max, n_windows
        clip, frames = scorer(windows)  # (W, C), (W, n_frames, C)
        clip, frames = np.asarray(clip, dtype=np.float32), np.asarray(frames, dtype=np.float32)
        ruled = apply_frame_score(frames, clip, rule=frame_score)  # (W, n_frames, C)
        if sums is None:
            sums = _Sums(clip.shape[1], settings.n_frames(expected_samples) if expected_samples else n_frames)
            clip_max = np.zeros(clip.shape[1], dtype=np.float32)
        for s, cw, fw, rw in zip(starts, clip, frames, ruled):
            sums.add(s, fw, rw, np.broadcast_to(cw, fw.shape))
        clip_max = np.maximum(clip_max, clip.max(axis=0))
        n_windows += len(starts)
        if mel is not None:
            for s, w in zip(starts, windows):
                mel_parts[s] = _log_mel(w, settings)

    buffer = np.zeros(0, dtype=np.float32)
    buffer_start = 0  # sample index of buffer[0]
    next_start = 0  # first frame of the next regular window
    pending: list[int] = []
    received = 0

    def flush() -> None:
        if pending:
            windows = np.stack(
                [buffer[s * hop - buffer_start : s * hop - buffer_start + window_samples] for s in pending]
            )
            score(list(pending), windows)
            pending.clear()

    for block in blocks:
        block = np.asarray(block, dtype=np.float32)
        buffer = np.concatenate([buffer, block])
        received += block.shape[0]
        while next_start * hop + window_samples <= received:
            pending.append(next_start)
            next_start += stride
            if len(pending) >= batch_size:
                flush()
        flush()
        # keep what the next regular window needs, and enough for the window that ends on the last
        # frame (it starts on a hop boundary at most one hop before the last window_samples samples)
        keep_from = min(next_start * hop, max(0, (received - window_samples) // hop * hop))
        if keep_from > buffer_start:
            buffer = buffer[keep_from - buffer_start :]
            buffer_start = keep_from
    total = settings.n_frames(received)
    if total < 1:
        raise UndecodableAudio(
            f"the recording is {received / settings.sample_rate * 1000:.0f} ms long, "
            f"shorter than one analysis window ({settings.n_fft / settings.sample_rate * 1000:.0f} ms)"
        )
    padded = received < window_samples
    if padded:  # the whole recording is in the buffer: repeat it to fill one window
        score([0], np.resize(buffer, window_samples)[None])
    else:
        last = total - n_frames
        regular_last = ((total - n_frames) // stride) * stride
        if last != regular_last:
            start = last * hop - buffer_start
            score([last], buffer[start : start + window_samples][None])
    assert sums is not None and clip_max is not None
    length = max(total, n_frames)
    mean = sums.means(length)
    if mel is not None:
        grid = np.zeros((length, settings.n_mels), dtype=np.float16)
        for s, part in sorted(mel_parts.items()):
            grid[s : s + part.shape[0]] = part[: length - s]
        mel.append(grid[:total])
    return RecordingScores(
        clip_probs=clip_max,
        frame_probs=mean["frame"][:total],
        frame_score=mean["score"][:total],
        window_clip_probs=mean["clip"][:total],
        hop_s=settings.hop_s,
        frame_start_s=settings.frame_start_s,
        duration_s=float(duration_s),
        n_windows=n_windows,
        padded=padded,
    )


def _log_mel(window: np.ndarray, settings) -> np.ndarray:
    """Log-mel (T, F) float16 of one window (its frames are frames of the whole recording)."""
    import torch

    from bench.features import LogMel

    with torch.inference_mode():
        return (
            LogMel(settings)(torch.from_numpy(np.asarray(window, dtype=np.float32))[None])[0].numpy().astype(np.float16)
        )


# --------------------------------------------------------------------------- post-processing


def default_postprocessing(*, hop_s: float, frame_start_s: float, n_classes: int) -> PostProcessing:
    """What a run without ``postprocess.json`` uses: frame outputs, no clip gate, 0.5 thresholds and
    a 5-frame median filter."""
    return PostProcessing(
        thresholds=(DEFAULT_THRESHOLD,) * n_classes,
        hop_s=hop_s,
        frame_start_s=frame_start_s,
        frame_score="frame_probs",
        clip_gate=False,
        median_filter_s=DEFAULT_MEDIAN_FRAMES * hop_s,
        chosen_on="none",
        criterion="default",
    )


def postprocess_recording(scores: RecordingScores, post: PostProcessing) -> tuple[np.ndarray, np.ndarray]:
    """Post-processed scores and decisions of one recording, as the run's evaluation makes them.

    The frame score was taken in each window (``scores.frame_score``); then, as
    :func:`bench.evaluation.postprocess.postprocessed_scores` does for a clip: the median filter, the
    clip gate (here on the clip probability of the windows holding each frame) and the
    per-class thresholds. A recording of one window gives exactly the evaluation's numbers.

    Parameters
    ----------
    scores : RecordingScores
        Made with ``frame_score=post.frame_score``.
    post : PostProcessing

    Returns
    -------
    scores : np.ndarray [shape=(T, C)], float64
        What the thresholds apply to (written as the sed_scores_eval score table).
    active : np.ndarray [shape=(T, C)], bool
    """
    n_classes = post.n_classes
    if scores.frame_score.shape[1] != n_classes:
        raise BenchError(
            f"the post-processing is for {n_classes} classes, the model gives {scores.frame_score.shape[1]}"
        )
    median_only = dataclasses.replace(post, frame_score="frame_probs", clip_gate=False)
    out = postprocessed_scores(scores.frame_score[None], np.ones((1, n_classes), dtype=np.float32), median_only)[0]
    if post.clip_gate:
        gate = np.broadcast_to(np.asarray(post.clip_threshold, dtype=np.float32), (n_classes,))
        out = out * (scores.window_clip_probs >= gate[None, :])
    return out, out >= np.asarray(post.thresholds)[None, :]


def events_table(
    active: np.ndarray,
    *,
    filename: str,
    class_names: Sequence[str],
    hop_s: float,
    frame_start_s: float,
    duration_s: float,
) -> pd.DataFrame:
    """DCASE events (``filename onset offset event_label``) of one recording's frame decisions.

    Parameters
    ----------
    active : np.ndarray [shape=(T, C)], bool
    filename : str
    class_names : sequence of str [shape=(C,)]
    hop_s, frame_start_s : float
        Frame ``t`` covers ``[frame_start_s + t * hop_s, frame_start_s + (t + 1) * hop_s)``.
    duration_s : float
        Times are clipped to ``[0, duration_s]``.
    """
    times = frame_timestamps(active.shape[0], hop_s=hop_s, frame_start_s=frame_start_s, duration_s=duration_s)
    return decisions_to_events(
        np.asarray(active, dtype=bool)[None], [filename], labels=list(class_names), timestamps=times
    )


def scores_table(
    post_scores: np.ndarray, *, class_names: Sequence[str], hop_s: float, frame_start_s: float, duration_s: float
) -> pd.DataFrame:
    """One recording's post-processed frame scores in the sed_scores_eval layout.

    Columns ``onset``, ``offset`` and one per class, one row per frame (the frames' time
    cells clipped to the file), as the run's own DCASE score files.
    """
    from bench.evaluation.formats import score_tables

    times = frame_timestamps(post_scores.shape[0], hop_s=hop_s, frame_start_s=frame_start_s, duration_s=duration_s)
    return score_tables(np.asarray(post_scores)[None], ["recording"], labels=list(class_names), timestamps=times)[
        "recording"
    ]


# --------------------------------------------------------------------------- plot


def plot_detections(
    mel: np.ndarray, *, settings, events: pd.DataFrame, path: Path, title: str, duration_s: float, dpi: int = 110
) -> Path:
    """PNG of a recording's log-mel (top) and its detected events, one lane per class (bottom).

    Parameters
    ----------
    mel : np.ndarray [shape=(T, F)]
        The recording's log-mel (:func:`score_stream` with ``mel=``).
    events : pd.DataFrame
        :func:`events_table` of the recording.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    mel = np.asarray(mel, dtype=np.float32)
    labels = sorted(events["event_label"].unique(), reverse=True) if len(events) else []  # A at the top
    fig = Figure(figsize=(10, 4 + 0.25 * len(labels)))
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1 + 0.25 * len(labels)]})
    t0 = settings.frame_start_s
    top.imshow(
        mel.T,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(t0, t0 + mel.shape[0] * settings.hop_s, 0, mel.shape[1]),
    )
    top.set_ylabel("mel band")
    top.set_title(title, fontsize=9)
    for i, label in enumerate(labels):
        rows = events[events["event_label"] == label]
        bottom.broken_barh(
            [(a, b - a) for a, b in zip(rows["onset"], rows["offset"])], (i - 0.4, 0.8), color=f"C{i % 10}"
        )
    bottom.set_yticks(range(len(labels)), labels=labels, fontsize=8)
    bottom.set_ylim(-0.6, max(0.6, len(labels) - 0.4))
    if not labels:
        bottom.text(0.5, 0.5, "no event detected", ha="center", va="center", transform=bottom.transAxes)
        bottom.set_yticks([])
    bottom.set_xlim(0, duration_s)
    bottom.set_xlabel("time (s)")
    fig.tight_layout()
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    except OSError as exc:
        raise BenchError(f"cannot write {path} ({exc.strerror or exc}); nothing was written there") from None
    return path


# --------------------------------------------------------------------------- the whole job


@dataclass
class DetectResult:
    """What :func:`detect` did.

    Attributes
    ----------
    events : pd.DataFrame
        Every detected event (``filename onset offset event_label``).
    processed : list of str
        Names of the recordings processed.
    skipped : list of (str, str)
        (path, reason) of each recording that could not be processed.
    written : list of Path
        Files written (events table, score tables, plots).
    postprocessing : PostProcessing
        The post-processing applied.
    postprocessing_source : str
        ``"postprocess.json"`` or ``"default"``.
    """

    events: pd.DataFrame
    processed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    postprocessing: PostProcessing | None = None
    postprocessing_source: str = "default"


def _write_tsv(frame: pd.DataFrame, path: Path, *, float_format: str | None = None) -> Path:
    """Write a table whole or not at all; a full disk or a permission error is one BenchError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, sep="\t", index=False, float_format=float_format)
    except OSError as exc:
        raise BenchError(f"cannot write {path} ({exc.strerror or exc}); nothing was written there") from None
    return path


def _output_name(name: str, suffix: str) -> Path:
    """``"sub/a.wav" -> sub/a<suffix>``; a ``#2`` duplicate mark becomes ``_2``."""
    rel = Path(name.replace("#", "_"))
    return rel.with_name(rel.name.rsplit(".", 1)[0] + suffix) if "." in rel.name else rel.with_name(rel.name + suffix)


def detect(
    paths: Sequence[Path],
    *,
    results_dir: Path,
    run_id: str,
    out: Path,
    scores_dir: Path | None = None,
    plot_dir: Path | None = None,
    overlap: float = 0.5,
    device: str = "cpu",
    scorer: RunScorer | None = None,
    on_file: Callable[[str, str | None], None] | None = None,
    overwrite: bool = False,
) -> DetectResult:
    """Detect events in recordings with a trained run; write the DCASE events table.

    Parameters
    ----------
    paths : sequence of Path
        Audio files and folders (see :func:`collect_audio`).
    results_dir : Path
        Results folder holding ``runs/<run_id>``.
    run_id : str
    out : Path
        Events TSV (``filename onset offset event_label``, seconds of the original file).
    scores_dir : Path, optional
        Also write ``<scores_dir>/<name>.tsv`` per recording (sed_scores_eval layout).
    plot_dir : Path, optional
        Also write ``<plot_dir>/<name>.png`` per recording.
    overlap : float
        Share of a window overlapping the next.
    device : str
        Torch device for the model.
    scorer : RunScorer, optional
        Already loaded (tests); default: :func:`bench.inference.export.load_run_scorer`.
    on_file : callable, optional
        Called with ``(name, None)`` after each processed recording and ``(path, reason)``
        for each skipped one.
    overwrite : bool
        Replace existing output files. Without it an existing ``out``, score table or plot is
        refused before any work; ``out`` is never one of the recordings, whatever it says.

    Returns
    -------
    DetectResult

    Raises
    ------
    BenchError
        No such run or checkpoint, a path that does not exist, bad options, an output that
        would replace a file (checked before any work), or no recording that could be
        processed. An undecodable recording is not an error: it is listed in ``skipped``.
        Recordings are read in blocks of :data:`BLOCK_S` seconds, so memory does not grow
        with their length.
    """
    from bench.device import resolve_device
    from bench.outputs import check_output_file, check_output_names

    recordings = collect_audio(paths)
    inputs = [rec.path for rec in recordings]
    check_output_file(out, what="--out", inputs=inputs, overwrite=overwrite)
    if scores_dir is not None:
        names = [_output_name(rec.name, ".tsv") for rec in recordings]
        check_output_names(scores_dir, names, what="--scores", overwrite=overwrite)
    if plot_dir is not None:
        names = [_output_name(rec.name, ".png") for rec in recordings]
        check_output_names(plot_dir, names, what="the plot folder", overwrite=overwrite)
    if scorer is None:
        store = find_run(results_dir, run_id)  # a unique prefix names the run; reference:NAME a shipped model
        scorer = load_run_scorer(store.root, run_id=store.run_id, device=str(resolve_device(device)))
    settings = scorer.settings
    post_source = "postprocess.json" if scorer.postprocessing is not None else "default"
    post = scorer.postprocessing or default_postprocessing(
        hop_s=settings.hop_s, frame_start_s=settings.frame_start_s, n_classes=len(scorer.class_names)
    )
    result = DetectResult(
        events=pd.DataFrame(columns=EVENT_COLUMNS), postprocessing=post, postprocessing_source=post_source
    )
    tables = []
    for rec in recordings:
        mel: list[np.ndarray] | None = [] if plot_dir is not None else None
        try:
            rate, frames = audio_info(rec.path)
            duration = frames / rate if rate else 0.0
            scores = score_stream(
                scorer,
                audio_blocks(rec.path, sample_rate=settings.sample_rate),
                settings=settings,
                n_frames=scorer.n_frames,
                window_samples=scorer.window_samples,
                frame_score=post.frame_score,
                duration_s=duration,
                overlap=overlap,
                expected_samples=int(round(frames * settings.sample_rate / rate)) if rate else 0,
                mel=mel,
            )
        except (UndecodableAudio, MemoryError) as exc:
            reason = str(exc) if isinstance(exc, UndecodableAudio) else "out of memory while scoring it"
            if str(rec.path) not in reason:
                reason = f"{rec.path}: {reason}"
            result.skipped.append((str(rec.path), reason))
            if on_file is not None:
                on_file(str(rec.path), reason)
            continue
        post_scores, active = postprocess_recording(scores, post)
        timing = dict(hop_s=scores.hop_s, frame_start_s=scores.frame_start_s, duration_s=duration)
        events = events_table(active, filename=rec.name, class_names=scorer.class_names, **timing)
        tables.append(events)
        if scores_dir is not None:
            table = scores_table(post_scores, class_names=scorer.class_names, **timing)
            result.written.append(
                _write_tsv(table, Path(scores_dir) / _output_name(rec.name, ".tsv"), float_format="%.6f")
            )
        if plot_dir is not None and mel:
            title = (
                f"{rec.name}: {scorer.config.get('model')} run {run_id}, {len(events)} event(s) "
                f"({duration:.2f} s, {scores.n_windows} window(s))"
            )
            result.written.append(
                plot_detections(
                    mel[0],
                    settings=settings,
                    events=events,
                    title=title,
                    path=Path(plot_dir) / _output_name(rec.name, ".png"),
                    duration_s=duration,
                )
            )
        result.processed.append(rec.name)
        if on_file is not None:
            on_file(rec.name, None)
    if not result.processed:
        raise BenchError(
            f"none of the {len(recordings)} file(s) could be processed (each is named above); nothing was written"
        )
    if tables:
        result.events = pd.concat(tables, ignore_index=True)
    result.written.insert(0, _write_tsv(result.events, out, float_format="%.3f"))
    return result
