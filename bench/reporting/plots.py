"""Figures: the paper's Figure 2 for one clip, training curves, and detections against references.

Figures are drawn with matplotlib's object interface on the Agg canvas (no
``pyplot``, no global backend change) and saved as PNG atomically.

Figure 2 (two-step attention pooling, read from a model's output dict, contract C):

1. the standardised log-mel input (mel bins x time);
2. the reconstruction of the auxiliary decoder;
3-5. frequency attention of the three most probable classes (mel bins x time);
6. first-step output, every class x time (models without two-step attention:
   their frame probabilities);
7. time attention, every class x time;
8. clip probabilities per class (true labels marked).

Panels a model does not produce (no decoder, no 2AP) say so instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bench.errors import BenchError
from bench.store import CONFIG, CURVES, atomic_path
from remix.atomic import read_json

__all__ = ["plot_curves", "plot_detections", "plot_figure2", "top_classes"]


def _array(value: Any, *, ndim: int, name: str) -> np.ndarray | None:
    """numpy view of a tensor or array, with a leading batch axis of 1 dropped."""
    if value is None:
        return None
    if hasattr(value, "detach"):
        value = value.detach().float().cpu().numpy()
    array = np.asarray(value, dtype=np.float32)
    while array.ndim > ndim and array.shape[0] == 1:
        array = array[0]
    if array.ndim != ndim:
        raise BenchError(f"{name}: expected {ndim} axes for one clip, found shape {array.shape}")
    return array


def top_classes(clip_probs: np.ndarray, k: int = 3) -> np.ndarray:
    """Indices of the ``k`` most probable classes, most probable first."""
    return np.argsort(-np.asarray(clip_probs), kind="stable")[:k]


def _save(fig: Figure, path: Path, *, dpi: int) -> Path:
    """Write ``fig`` atomically, as PDF or SVG when ``path`` says so, else PNG."""
    FigureCanvasAgg(fig)
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=kind if kind in ("pdf", "svg") else "png", dpi=dpi)
    return path


def _missing(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_figure2(
    out: Mapping[str, Any],
    *,
    features: Any,
    class_names: Sequence[str],
    path: Path,
    title: str | None = None,
    labels: Sequence[str] | None = None,
    hop_s: float = 1024 / 32000,
    dpi: int = 110,
) -> Path:
    """Draw the paper's Figure 2 for one clip and save it as PNG.

    Parameters
    ----------
    out : mapping of str to arrays or tensors
        A model output for one clip (a leading batch axis of 1 is allowed):
        ``clip_probs`` (C,), and when the model has them ``reconstruction`` (T, F),
        ``freq_attention`` (C, T, F), ``freq_output`` (C, T), ``time_attention`` (C, T).
    features : array or tensor [shape=(T, F)]
        The model input (standardised log-mel).
    class_names : sequence of str [shape=(C,)]
    path : Path
        PNG to write (folders are created; written atomically).
    title : str, optional
        Figure title (e.g. clip id, SNR, model).
    labels : sequence of str, optional
        The clip's true labels, marked in the last panel and on the attention maps.
    hop_s : float
        Seconds per frame, for the time axis.
    dpi : int

    Returns
    -------
    Path
    """
    names = list(class_names)
    probs = _array(out.get("clip_probs"), ndim=1, name="clip_probs")
    if probs is None:
        raise BenchError("the model output has no 'clip_probs'; pass the dict returned by model(x)")
    if probs.shape[0] != len(names):
        raise BenchError(f"clip_probs has {probs.shape[0]} classes but {len(names)} class names were given")
    feats = _array(features, ndim=2, name="features")
    recon = _array(out.get("reconstruction"), ndim=2, name="reconstruction")
    freq_att = _array(out.get("freq_attention"), ndim=3, name="freq_attention")
    freq_out = _array(out.get("freq_output"), ndim=2, name="freq_output")
    time_att = _array(out.get("time_attention"), ndim=2, name="time_attention")
    frame_probs = _array(out.get("frame_probs"), ndim=2, name="frame_probs")  # (T, C)
    truth = set(labels or ())
    top = top_classes(probs, 3)
    n_frames = feats.shape[0]
    extent_tf = (0, n_frames * hop_s, 0, feats.shape[1])
    extent_ct = (0, n_frames * hop_s, len(names) - 0.5, -0.5)

    fig = Figure(figsize=(11, 17), layout="constrained")
    axes = fig.subplots(8, 1, height_ratios=[1, 1, 1, 1, 1, 2.2, 2.2, 1.6])
    if title:
        fig.suptitle(title, fontsize=12)

    def spectro(ax, data, panel):
        image = ax.imshow(
            data.T, origin="lower", aspect="auto", extent=extent_tf, cmap="magma", interpolation="nearest"
        )
        ax.set_ylabel("mel bin")
        ax.set_title(panel, fontsize=10, loc="left")
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03)

    spectro(axes[0], feats, "1  log-mel input (standardised)")
    if recon is not None:
        spectro(axes[1], recon, "2  reconstruction (auxiliary decoder)")
    else:
        axes[1].set_title("2  reconstruction", fontsize=10, loc="left")
        _missing(axes[1], "this model has no reconstruction decoder")
    for k in range(3):
        ax = axes[2 + k]
        c = int(top[k])
        mark = " (true label)" if names[c] in truth else ""
        panel = f"{3 + k}  frequency attention: {names[c]}{mark}  p = {probs[c]:.3f}"
        if freq_att is not None:
            spectro(ax, freq_att[c], panel)
        else:
            ax.set_title(panel, fontsize=10, loc="left")
            _missing(ax, "this model has no two-step attention")

    shown = sorted({k for k, n in enumerate(names) if n in truth} | {int(c) for c in top})

    def class_map(ax, data, panel):
        image = ax.imshow(data, aspect="auto", extent=extent_ct, cmap="viridis", interpolation="nearest")
        # 41 names do not fit beside a panel: the true classes (red) and the top-3 predictions only
        ax.set_yticks(shown)
        ax.set_yticklabels([names[k] for k in shown], fontsize=7)
        for tick, k in zip(ax.get_yticklabels(), shown):
            if names[k] in truth:
                tick.set_color("crimson")
                tick.set_fontweight("bold")
        ax.set_ylabel("class", fontsize=8)
        ax.set_title(panel + "  (labelled: true classes in red, and the top 3)", fontsize=10, loc="left")
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03)

    panel6 = (freq_out, "6  first-step output (after frequency attention)")
    if freq_out is None and frame_probs is not None:  # other models: their frame probabilities instead
        panel6 = (frame_probs.T, "6  frame probabilities (this model has no two-step attention)")
    for ax, (data, panel) in ((axes[5], panel6), (axes[6], (time_att, "7  time attention (second step)"))):
        if data is not None:
            class_map(ax, data, panel)
        else:
            ax.set_title(panel, fontsize=10, loc="left")
            _missing(ax, "this model has no two-step attention")
    for ax in axes[:7]:
        if ax.images:
            ax.set_xlabel("time (s)", fontsize=8)

    ax = axes[7]
    colours = ["crimson" if n in truth else "steelblue" for n in names]
    ax.bar(range(len(names)), probs, color=colours)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=90, fontsize=6)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability")
    ax.set_title("8  clip output (red: true labels)", fontsize=10, loc="left")
    return _save(fig, path, dpi=dpi)


def _run_label(run_dir: Path) -> str:
    config = read_json(run_dir / CONFIG)
    if not isinstance(config, dict):
        return run_dir.name
    parts = [str(config.get("model", "?"))]
    if config.get("alpha"):
        parts.append(f"α={config['alpha']:g}")
    if config.get("snr_db") is not None:
        parts.append(f"{config['snr_db']:g} dB")
    if config.get("seed") is not None:
        parts.append(f"seed {config['seed']}")
    return " ".join(parts)


def plot_curves(run_dirs: Sequence[Path], path: Path, *, title: str | None = None, dpi: int = 110) -> Path:
    """Training curves of runs: training loss (with BCE and MSE), validation micro-AP,
    learning rate, against the epoch.

    Parameters
    ----------
    run_dirs : sequence of Path
        Run folders holding ``curves.parquet``; folders without one are skipped.
    path : Path
        PNG to write (atomically).
    title : str, optional

    Raises
    ------
    BenchError
        None of the folders has curves.
    """
    curves = []
    for run_dir in map(Path, run_dirs):
        file = run_dir / CURVES
        if file.is_file():
            curves.append((_run_label(run_dir), pd.read_parquet(file)))
    if not curves:
        raise BenchError(f"none of the {len(run_dirs)} run folders has {CURVES}; train a run first (bench run ...)")
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    ax_loss, ax_ap, ax_lr = fig.subplots(1, 3)
    for k, (label, frame) in enumerate(curves):
        colour = f"C{k % 10}"
        epoch = frame["epoch"] if "epoch" in frame else np.arange(1, len(frame) + 1)
        if "train_loss" in frame:
            ax_loss.plot(epoch, frame["train_loss"], color=colour, label=label)
        if "train_bce" in frame and "train_mse" in frame and frame["train_mse"].fillna(0).abs().sum() > 0:
            ax_loss.plot(epoch, frame["train_bce"], color=colour, linestyle="--", linewidth=0.9)
        if "val_micro_ap" in frame:
            ax_ap.plot(epoch, frame["val_micro_ap"], color=colour, marker=".", label=label)
        if "lr" in frame:
            ax_lr.plot(epoch, frame["lr"], color=colour, label=label)
    ax_loss.set_title("training loss (dashed: BCE part)", fontsize=10)
    ax_ap.set_title("validation micro-AP", fontsize=10)
    ax_lr.set_title("learning rate", fontsize=10)
    if any("lr" in f and (f["lr"] > 0).all() for _, f in curves):
        ax_lr.set_yscale("log")
    for ax in (ax_loss, ax_ap, ax_lr):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    ax_ap.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    return _save(fig, path, dpi=dpi)


def plot_validation_overlay(runs: pd.DataFrame, path: Path, *, title: str | None = None, dpi: int = 110) -> Path:
    """Every run's validation micro-AP against the epoch, one panel per SNR, one colour per
    system (model, options, alpha), a dot at each run's best epoch.

    Parameters
    ----------
    runs : pd.DataFrame
        Rows of :func:`bench.store.load_runs` (``run_dir``, ``model``, ``alpha``, ``snr_db``);
        runs without ``curves.parquet`` are skipped.
    path : Path
        PNG to write (atomically).

    Raises
    ------
    BenchError
        No run has curves.
    """
    items = []
    for _, run in runs.iterrows():
        file = Path(str(run["run_dir"])) / CURVES
        if not file.is_file():
            continue
        variant = " ".join(
            f"{c.split('.', 1)[1]}={run[c]}" for c in sorted(run.index) if c.startswith("options.") and pd.notna(run[c])
        )
        alpha = float(run["alpha"]) if pd.notna(run["alpha"]) else 0.0
        system = " ".join(w for w in (str(run["model"]), variant, f"α={alpha:g}" if alpha else "") if w)
        items.append((float(run["snr_db"]), system, pd.read_parquet(file)))
    if not items:
        raise BenchError("no run has training curves yet; train some first (bench run ...)")
    snrs = sorted({snr for snr, _, _ in items}, reverse=True)
    systems = list(dict.fromkeys(system for _, system, _ in items))
    fig = Figure(figsize=(5.2 * len(snrs), 4.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(snrs), sharey=True))
    for ax, snr in zip(axes, snrs):
        for snr_k, system, frame in items:
            if snr_k != snr or "val_micro_ap" not in frame:
                continue
            colour = f"C{systems.index(system) % 10}"
            epoch = frame["epoch"] if "epoch" in frame else np.arange(1, len(frame) + 1)
            ax.plot(epoch, frame["val_micro_ap"], color=colour, linewidth=1.0, alpha=0.8)
            best = int(np.argmax(frame["val_micro_ap"].to_numpy()))
            ax.plot(
                epoch.iloc[best] if hasattr(epoch, "iloc") else epoch[best],
                frame["val_micro_ap"].iloc[best],
                "o",
                color=colour,
                markersize=4,
            )
        ax.set_title(f"SNR {snr:g} dB", fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation micro-AP (dot: best epoch)")
    handles = [Line2D([0], [0], color=f"C{k % 10}", label=s) for k, s in enumerate(systems)]
    # beside the panels, never over a curve
    fig.legend(handles=handles, fontsize=7, loc="outside right center", title="system", title_fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path, dpi=dpi)


def plot_detections(
    *,
    features: Any,
    reference: pd.DataFrame,
    detected: pd.DataFrame,
    path: Path,
    hop_s: float,
    frame_start_s: float = 0.0,
    scores: Mapping[str, np.ndarray] | None = None,
    thresholds: Mapping[str, float] | None = None,
    title: str | None = None,
    dpi: int = 110,
) -> Path:
    """Reference against detected events of one clip, per class, over its log-mel.

    Parameters
    ----------
    features : array [shape=(T, F)]
        The clip's (standardised) log-mel.
    reference, detected : pd.DataFrame
        Events of the clip with ``onset``, ``offset``, ``event_label`` (seconds), as in the
        run's DCASE ground-truth and detections files.
    path : Path
        PNG to write (atomically).
    hop_s, frame_start_s : float
        The frame grid (frame ``t`` covers ``[frame_start_s + t hop_s, ... + hop_s)``).
    scores : mapping of label to np.ndarray [shape=(T,)], optional
        The post-processed score of each class (in [0, 1]), drawn in its lane; classes with a
        score but no event get a lane too (e.g. the most probable ones of a clip where nothing
        was detected).
    thresholds : mapping of label to float, optional
        Each class's decision threshold, drawn as a dashed line in its lane.
    title : str, optional
    dpi : int

    Returns
    -------
    Path
    """
    feats = _array(features, ndim=2, name="features")
    for name, table in (("reference", reference), ("detected", detected)):
        missing = {"onset", "offset", "event_label"} - set(table.columns)
        if missing:
            raise BenchError(f"{name} events lack the columns {sorted(missing)}")
    classes = sorted(set(reference["event_label"].dropna()) | set(detected["event_label"].dropna()) | set(scores or {}))
    n_frames = feats.shape[0]
    start = max(frame_start_s, 0.0)
    end = frame_start_s + n_frames * hop_s
    fig = Figure(figsize=(11, 3 + 0.55 * max(1, len(classes))), layout="constrained")
    axes = fig.subplots(2, 1, height_ratios=[2, max(1.0, 0.55 * len(classes))], sharex=True)
    if title:
        fig.suptitle(title, fontsize=11)
    axes[0].imshow(
        feats.T,
        origin="lower",
        aspect="auto",
        cmap="magma",
        interpolation="nearest",
        extent=(frame_start_s, end, 0, feats.shape[1]),
    )
    axes[0].set_ylabel("mel bin")
    axes[0].set_title("log-mel input", fontsize=10, loc="left")
    ax = axes[1]
    for row, label in enumerate(classes):
        y = len(classes) - 1 - row
        ax.axhline(y - 0.45, color="0.85", lw=0.5)  # the lane's score 0; its top (y + 0.45) is score 1
        if scores is not None and label in scores:
            times = frame_start_s + (np.arange(n_frames) + 0.5) * hop_s
            ax.plot(times, y - 0.45 + 0.9 * np.clip(np.asarray(scores[label], float), 0, 1), color="0.45", lw=0.9)
        if thresholds is not None and label in thresholds:
            level = y - 0.45 + 0.9 * float(np.clip(thresholds[label], 0, 1))
            ax.axhline(level, color="0.3", lw=0.6, ls="--")
        for table, low, colour in ((reference, y + 0.05, "seagreen"), (detected, y - 0.40, "darkorange")):
            hits = table[table["event_label"] == label]
            ax.broken_barh(
                [(on, off - on) for on, off in zip(hits["onset"], hits["offset"])], (low, 0.35), facecolors=colour
            )
    ax.set_yticks(range(len(classes)))
    ax.set_yticklabels(classes[::-1], fontsize=8)
    ax.set_ylim(-0.6, len(classes) - 0.4)
    ax.set_xlim(min(frame_start_s, start), end)
    ax.set_xlabel("time (s)")
    ax.set_title(
        "reference (green, upper) and detected events (orange, lower); grey: post-processed score from 0 "
        "(lane bottom) to 1 (lane top), dashed: the decision threshold",
        fontsize=9,
        loc="left",
    )
    if not classes:
        _missing(ax, "no reference and no detected event in this clip")
    elif detected.empty:
        ax.text(
            0.99,
            0.98,
            "no event detected at the run's thresholds",
            ha="right",
            va="top",
            transform=ax.transAxes,
            fontsize=8,
            color="darkorange",
        )
    return _save(fig, path, dpi=dpi)
