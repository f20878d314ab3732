"""A finished run scored on another corpus's validation fold: what its numbers do when the scenes
change (clips without targets, interference events, other recipes), everything else held.

The run's best checkpoint, features, standardisation and post-processing (chosen on its own
validation fold) are used as they are; the other corpus gives the clips (its validation fold at
the run's SNR), the weak labels and the reference events. Its event sources must not be the run's
training sources: a corpus built from the same sources with the same seed deals them into the
same folds, so its fold 4 draws on sources the run never trained on.

Scores are taken over the corpus's target classes (``--targets`` of its build; every class
otherwise): micro-AP over those columns of the clip outputs, and the DCASE metrics over the target
classes with a reference event (:func:`bench.evaluation.run.evaluate_split`). Every metric comes
with its value on the canonical resamples of the corpus's validation clips
(:func:`bench.evaluation.bootstrap.clip_weights`), so two corpora with the same clip ids (e.g. one
built with ``--targets T`` and one with ``--targets T --empty-clips 0.2 --interference 1``, whose
non-empty clips hold the same target events) are compared clip by clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.corpus import manifest_digest, read_events
from bench.data import ClipSet, read_clips
from bench.errors import BenchError
from bench.evaluation.bootstrap import clip_metric_replicates, clip_weights, interval, paired_difference
from bench.evaluation.formats import audio_filenames
from bench.evaluation.postprocess import load_postprocessing
from bench.evaluation.run import evaluate_split, read_replicates
from remix.labels import EVENT_LABELS

METRICS = ("micro_ap", "psds1", "psds1_non_oracle", "psds2", "segment_pauc_mcclish", "event_f1")
"""What :func:`score_on` reports, in this order."""


def target_classes(corpus_dir: Path) -> list[str]:
    """The classes a corpus labels: its build's ``targets``, or every class."""
    import json

    info = json.loads((Path(corpus_dir) / "manifest" / "corpus.json").read_text(encoding="utf-8"))
    targets = (info.get("options") or {}).get("targets")
    return [lab for lab in EVENT_LABELS if targets is None or lab in set(targets)]


def _outputs(run_dir: Path, corpus_dir: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, dict]:
    """Clip ids, clip probabilities (N, C), frame probabilities (N, T, C) and weak labels (N, C) of
    the run on the corpus's validation fold at its SNR, and the run's config."""
    import torch

    from bench.inference.checkpoint import load_best, predict
    from bench.inference.probe import val_features

    _, record, net, settings, standardizer = load_best(run_dir)
    snr, fold = float(record["snr_db"]), int(record.get("val_fold", 4))
    x, y, ids = val_features(corpus_dir, snr_db=snr, val_fold=fold, settings=settings, standardizer=standardizer)
    if not ids:
        raise BenchError(f"{corpus_dir} has no validation clips at {snr:g} dB (fold {fold}); build it at that SNR")
    data = ClipSet(
        tuple(ids), torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y.astype(np.float32))
    )
    clip_probs, frame_probs = predict(net, data, device=torch.device("cpu"), batch_size=50, frames=True)
    assert frame_probs is not None
    return [str(c) for c in ids], clip_probs, frame_probs, y, record


def score_on(run_dir: Path, corpus_dir: Path, *, out_dir: Path, n_boot: int = 100, num_jobs: int = 1) -> dict[str, Any]:
    """Score a finished run on another corpus's validation fold.

    Parameters
    ----------
    run_dir : Path
        The run folder (``checkpoint.pt``, ``config.json``, ``postprocess.json``).
    corpus_dir : Path
        The corpus to score on.
    out_dir : Path
        Where its DCASE files and resamples go (``bootstrap.parquet``).
    n_boot : int
        Resamples of the clips for the DCASE metrics' intervals (micro-AP gets as many).
    num_jobs : int

    Returns
    -------
    dict
        Every metric of :data:`METRICS` (value), ``replicates`` (metric -> (n_boot,) array),
        ``clip_ids``, ``classes`` (the target classes), ``n_clips``, ``n_without_target``,
        ``corpus_digest``.
    """
    run_dir, corpus_dir = Path(run_dir), Path(corpus_dir)
    post = load_postprocessing(run_dir)
    if post is None:
        raise BenchError(f"run {run_dir.name} has no post-processing yet; localise it first (bench localise)")
    ids, clip_probs, frame_probs, y, record = _outputs(run_dir, corpus_dir)
    classes = target_classes(corpus_dir)
    columns = [EVENT_LABELS.index(c) for c in classes]
    weights = clip_weights(ids, n_boot=n_boot)
    clip_reps = clip_metric_replicates(y[:, columns], clip_probs[:, columns], weights)
    from sklearn.metrics import average_precision_score

    out: dict[str, Any] = {
        "micro_ap": float(average_precision_score(y[:, columns], clip_probs[:, columns], average="micro")),
        "replicates": {"micro_ap": clip_reps["micro_ap"]},
    }
    clips = read_clips(corpus_dir)
    events = read_events(corpus_dir)
    duration = float(clips["duration_s"].max()) if "duration_s" in clips else 10.0
    loc = evaluate_split(
        frame_probs,
        clip_probs,
        post=post,
        clip_ids=ids,
        filenames=audio_filenames(clips, ids, snr_db=float(record["snr_db"])),
        events=events,
        labels=EVENT_LABELS,
        duration_s=duration,
        snr_db=float(record["snr_db"]),
        folder=Path(out_dir),
        num_jobs=num_jobs,
        n_boot=n_boot,
    )
    stored = read_replicates(Path(out_dir))
    for name in METRICS[1:]:
        out[name] = loc.get(name)
        if stored is not None and name in stored:
            out["replicates"][name] = stored[name].to_numpy()
    out.update(
        clip_ids=ids,
        classes=classes,
        n_clips=len(ids),
        n_without_target=int((y[:, columns].sum(axis=1) == 0).sum()),
        corpus_digest=manifest_digest(corpus_dir),
    )
    return out


def paired(first: dict[str, Any], second: dict[str, Any], metric: str) -> dict[str, float | None]:
    """``second - first`` of one metric on two corpora with the same clip ids: the difference of the
    full-set values and its 95 % interval from the same resamples (:func:`bench.evaluation.bootstrap.
    paired_difference`); BenchError when the clip ids differ."""
    if first["clip_ids"] != second["clip_ids"]:
        raise BenchError("the two corpora do not hold the same validation clips; a paired difference needs them")
    a, b = first["replicates"].get(metric), second["replicates"].get(metric)
    if a is None or b is None or first.get(metric) is None or second.get(metric) is None:
        return {"delta": None, "low": None, "high": None, "p": None}
    diff = paired_difference(np.atleast_2d(b), np.atleast_2d(a))
    return {
        "delta": float(second[metric]) - float(first[metric]),
        "low": diff["low"],
        "high": diff["high"],
        "p": diff["p"],
    }


def score_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per (run, corpus) with every metric and its 95 % percentile interval."""
    table = []
    for row in rows:
        entry = {k: row[k] for k in ("run_id", "model", "corpus") if k in row}
        for name in METRICS:
            entry[name] = row.get(name)
            reps = row["replicates"].get(name)
            low, high = interval(reps, estimate=row.get(name)) if reps is not None else (None, None)
            entry[f"{name}_low"], entry[f"{name}_high"] = low, high
        entry["n_clips"], entry["n_without_target"] = row["n_clips"], row["n_without_target"]
        table.append(entry)
    return pd.DataFrame(table)
