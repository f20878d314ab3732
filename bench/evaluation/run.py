"""Evaluating a run: its post-processing chosen on validation, its DCASE files, metrics,
intervals and tagging-only control, and the one writer of its ``metrics.json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.bootstrap import N_BOOT_DCASE, clip_weights, frame_f1_replicates, interval
from bench.evaluation.dcase import dcase_metrics, psds_values
from bench.evaluation.formats import (
    DCASE_DIR,
    audio_filenames,
    ground_truth_events,
    ground_truth_table,
    score_tables,
    with_classes,
    write_dcase_files,
)
from bench.evaluation.independent import NAME as MFI
from bench.evaluation.independent import filter_lengths_s, filtered_variants, mfi_psds1
from bench.evaluation.outputs import RunOutputs, stored_outputs
from bench.evaluation.parallel import available_cores
from bench.evaluation.postprocess import (
    PostProcessing,
    choose_postprocessing,
    decisions_to_events,
    frame_timestamps,
    load_postprocessing,
    postprocessed_scores,
    save_postprocessing,
)
from bench.evaluation.psdroc import ResampledTruth, resample_truth
from bench.evaluation.sse import COLLAR, PSDS1, PSDS2, SEGMENT_LENGTH_S
from bench.evaluation.statistics import dcase_replicates, dcase_statistics, owned_statistics, statistic_key
from bench.store import RunStore, atomic_write_parquet, results_locked, runs_dir
from remix.errors import RemixError


def evaluate_split(
    frame_probs: np.ndarray,
    clip_probs: np.ndarray,
    *,
    post: PostProcessing,
    clip_ids: Sequence[str],
    filenames: Sequence[str],
    events: pd.DataFrame,
    labels: Sequence[str],
    duration_s: float,
    snr_db: float | None = None,
    folder: Path | None = None,
    num_jobs: int = 1,
    n_boot: int = N_BOOT_DCASE,
) -> dict[str, Any]:
    """Post-process one split, write its DCASE files and score them, with 95 % intervals.

    Parameters
    ----------
    frame_probs : np.ndarray [shape=(N, T, C)]
    clip_probs : np.ndarray [shape=(N, C)]
    post : PostProcessing
    clip_ids, filenames : sequence of str [shape=(N,)]
    events : pd.DataFrame
        ``events.parquet``.
    labels : sequence of str [shape=(C,)]
    duration_s : float
        Clip length.
    snr_db : float, optional
        Reference events of this SNR.
    folder : Path, optional
        Where to write the DCASE files (``<run>/dcase/<split>``); nothing is written without it.
    num_jobs : int
        Processes for the DCASE statistics (:func:`joined_deltas`) and the resamples.
    n_boot : int
        Resamples of the clips for the intervals (:func:`bench.evaluation.bootstrap.dcase_replicates`);
        0 computes none. With ``folder``, each metric's value on every resample goes to
        ``folder/bootstrap.parquet`` (one row per resample), from which tables and
        ``bench compare`` take cell intervals and paired differences.

    Returns
    -------
    dict
        :func:`dcase_metrics` plus ``psds1_mfi`` (:func:`split_mfi`), frame-level ``frame_f1``, ``frame_precision``,
        ``frame_recall`` of the decisions (micro over frames x classes), ``n_ref`` and
        ``n_detections`` (events, every class), and with ``n_boot``: ``intervals`` (metric
        -> [low, high], 95 % percentile bootstrap over the clips) and ``n_boot``.
    """
    from bench.evaluation.metrics import frame_targets

    scores = postprocessed_scores(frame_probs, clip_probs, post)
    times = frame_timestamps(scores.shape[1], hop_s=post.hop_s, frame_start_s=post.frame_start_s, duration_s=duration_s)
    tables = score_tables(scores, clip_ids, labels=labels, timestamps=times)
    truth_table = ground_truth_table(events, clip_ids, filenames=filenames, snr_db=snr_db)
    truth = ground_truth_events(truth_table)
    ids = [str(f).rsplit(".", 1)[0] for f in filenames]
    if ids != [str(c) for c in clip_ids]:
        raise BenchError("each filename must be its clip id plus an extension (see audio_filenames)")
    durations = {cid: float(duration_s) for cid in ids}
    active = scores >= np.asarray(post.thresholds)
    detections = decisions_to_events(active, filenames, labels=labels, timestamps=times)
    if folder is not None:
        write_dcase_files(
            folder,
            scores=tables,
            ground_truth=truth_table,
            durations=pd.DataFrame({"filename": list(filenames), "duration": float(duration_s)}),
            detections=detections,
        )
    present = {event[2] for clip_events in truth.values() for event in clip_events}
    keep = [lab for lab in labels if lab in present]
    kept_tables = with_classes(tables, keep)
    # each statistic once per split: the split's values, its resamples and the mfi PSDS1's own filter
    statistics = dcase_statistics(psds=len(keep) >= 2)
    owned = owned_statistics(kept_tables, truth, durations, statistics=statistics, num_jobs=num_jobs) if keep else None
    thresholds = dict(zip(labels, post.thresholds))
    out = dcase_metrics(tables, truth, durations, thresholds=thresholds, num_jobs=num_jobs, owned=owned)
    weights = clip_weights(ids, n_boot=n_boot) if n_boot > 0 and out["n_classes_scored"] else None
    # the resampled ground truth, read by every metric's replicates
    reference = None if weights is None else resample_truth(ids, truth, durations, weights)
    out[MFI], mfi_replicates = split_mfi(
        frame_probs,
        clip_probs,
        post=post,
        clip_ids=ids,
        labels=labels,
        keep=keep,
        truth=truth,
        duration_s=duration_s,
        weights=weights,
        num_jobs=num_jobs,
        owned=owned,
        reference=reference,
    )
    target = frame_targets(
        events,
        list(clip_ids),
        n_frames=scores.shape[1],
        hop_s=post.hop_s,
        labels=labels,
        snr_db=snr_db,
        start_s=post.frame_start_s,
    )
    tp, n_pred, n_true = int((target & active).sum()), int(active.sum()), int(target.sum())
    out.update(
        frame_f1=2 * tp / (n_pred + n_true) if n_pred + n_true else None,
        frame_precision=tp / n_pred if n_pred else None,
        frame_recall=tp / n_true if n_true else None,
        n_ref=int(truth_table["event_label"].notna().sum()),
        n_detections=int(len(detections)),
    )
    if weights is not None:
        replicates = dcase_replicates(
            kept_tables,
            truth,
            durations,
            weights=weights,
            thresholds=thresholds,
            psds=len(keep) >= 2,
            num_jobs=num_jobs,
            owned=owned,
            reference=reference,
        )
        if mfi_replicates is not None:
            replicates[MFI] = mfi_replicates
        replicates["frame_f1"] = frame_f1_replicates(
            (target & active).sum(axis=(1, 2)), active.sum(axis=(1, 2)), target.sum(axis=(1, 2)), weights
        )
        add_intervals(out, replicates, n_boot=n_boot)
        if folder is not None:
            write_replicates(folder, replicates)
    return out


def split_mfi(
    frame_probs: np.ndarray,
    clip_probs: np.ndarray,
    *,
    post: PostProcessing,
    clip_ids: Sequence[str],
    labels: Sequence[str],
    keep: Sequence[str],
    truth: Mapping[str, list],
    duration_s: float,
    weights: np.ndarray | None = None,
    num_jobs: int = 1,
    owned: Mapping[tuple, Mapping[str, tuple]] | None = None,
    reference: ResampledTruth | None = None,
) -> tuple[float | None, np.ndarray | None]:
    """Median-filter-independent PSDS1 of one split (:mod:`bench.evaluation.independent`) and its
    replicates under ``weights``; (None, None) with fewer than two classes scored. ``owned``: the
    split's :func:`bench.evaluation.statistics.owned_statistics` under ``post`` itself, whose
    PSDS1 statistics serve the variant with the run's own filter; ``reference``: the resampled
    ground truth under ``weights`` (:func:`bench.evaluation.psdroc.resample_truth`), if computed."""
    if len(keep) < 2:
        return None, None
    lengths = filter_lengths_s(post.hop_s)
    variants = filtered_variants(
        frame_probs, clip_probs, post=post, clip_ids=clip_ids, labels=labels, keep=keep, duration_s=duration_s
    )
    durations = dict.fromkeys(variants[0], float(duration_s))
    known = {}
    psds1 = statistic_key(("intersection", PSDS1))
    if owned is not None and psds1 in owned:
        own = post.median_frames()
        for m, length in enumerate(lengths):
            if np.array_equal(own, dataclasses.replace(post, median_filter_s=length).median_frames()):
                known[m] = owned[psds1]
    return mfi_psds1(variants, truth, durations, weights=weights, num_jobs=num_jobs, known=known, reference=reference)


REPLICATES = "bootstrap.parquet"
"""Each DCASE metric of a split on every resample of its clips (``dcase/<split>/``)."""


def add_intervals(out: dict[str, Any], replicates: Mapping[str, np.ndarray], *, n_boot: int) -> None:
    """Put each metric's 95 % interval (:func:`bench.evaluation.bootstrap.interval`) into ``out["intervals"]``."""
    out.setdefault("intervals", {}).update({name: list(interval(values)) for name, values in replicates.items()})
    out["n_boot"] = int(n_boot)


def write_replicates(folder: Path, replicates: Mapping[str, np.ndarray]) -> Path:
    """Add (or replace) columns of ``folder/bootstrap.parquet``: one row per resample."""
    path = Path(folder) / REPLICATES
    frame = pd.DataFrame({name: np.asarray(values, dtype=np.float64) for name, values in replicates.items()})
    if path.is_file():
        old = pd.read_parquet(path)
        if len(old) == len(frame):
            frame = pd.concat([old.drop(columns=[c for c in frame.columns if c in old.columns]), frame], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_parquet(path, frame)


def read_replicates(folder: Path) -> pd.DataFrame | None:
    """``folder/bootstrap.parquet``, or None when the split has none (evaluated before it existed)."""
    path = Path(folder) / REPLICATES
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # a damaged file: the caller reports the cell without its interval
        raise BenchError(f"{path} cannot be read ({exc}); run bench localise to write it again") from None


# --------------------------------------------------------------------------- runs


def localise_run(run_dir: Path, data: RunOutputs, *, num_jobs: int = 1, n_boot: int = N_BOOT_DCASE) -> dict[str, Any]:
    """Choose the post-processing on ``val``, apply it to every split, write the run's
    ``postprocess.json`` and DCASE files, and score them, with intervals
    (:func:`evaluate_split`) and the tagging-only control (:func:`tagging_control`).

    Parameters
    ----------
    run_dir : Path
        The run folder.
    data : RunOutputs
        The run's outputs (must hold "val") with the corpus's events and clips.
    num_jobs : int
        Processes for the DCASE statistics (:func:`joined_deltas`) and the resamples.
    n_boot : int
        Resamples of the clips for the intervals (0: none).

    Returns
    -------
    dict
        ``{"postprocessing": PostProcessing.to_dict(), "postprocessing_search": {...},
        "<split>": evaluate_split(...) with "tagging_only": tagging_control(...)[split]}``.
    """
    if "val" not in data.outputs:
        raise BenchError("the post-processing is chosen on the validation split, which is missing")
    run_dir = Path(run_dir)
    duration_s = data.duration_s
    val_ids, val_clip, val_frame = data.outputs["val"]
    post, search = choose_postprocessing(
        val_frame,
        val_clip,
        reference=data.reference(),
        clip_ids=list(val_ids),
        labels=data.labels,
        hop_s=data.hop_s,
        frame_start_s=data.frame_start_s,
        duration_s=duration_s,
    )
    save_postprocessing(run_dir, post)
    result: dict[str, Any] = {"postprocessing": post.to_dict(), "postprocessing_search": search}
    assert data.events is not None  # data.reference() refused outputs without events
    for split in data.outputs:
        ids, clip_probs, frame_probs = data.split(split)
        result[split] = evaluate_split(
            frame_probs,
            clip_probs,
            post=post,
            clip_ids=ids,
            filenames=audio_filenames(data.clips, ids, snr_db=data.snr_db),
            events=data.events,
            labels=data.labels,
            duration_s=duration_s,
            snr_db=data.snr_db,
            folder=run_dir / DCASE_DIR / split,
            num_jobs=num_jobs,
            n_boot=n_boot,
        )
    control = tagging_control(data, post=post, num_jobs=num_jobs, n_boot=n_boot, run_dir=run_dir)
    for split, value in control.items():
        result[split]["tagging_only"] = value
    return result


def tagging_control(
    data: RunOutputs,
    *,
    post: PostProcessing,
    num_jobs: int = 1,
    n_boot: int = N_BOOT_DCASE,
    run_dir: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """PSDS1 and PSDS2 of a system's clip probabilities alone, broadcast over every frame.

    In weak supervision a tagger that marks each tagged class active for the whole clip
    already scores a high PSDS2 (its scenario forgives loose boundaries), so a model's
    PSDS2 read alone mostly measures tagging. This control takes the same run's clip
    probabilities, makes them the frame output of every frame (frame outputs of ones under
    the frame x clip rule), applies the run's own post-processing (the clip gate and filter
    chosen on ``val`` for its frame outputs: the one thing that differs is the frame output)
    and scores every split as :func:`evaluate_split` does. A frame-based PSDS well above the
    control's is localisation the clip output alone does not give.

    (Choosing a post-processing for the broadcast scores by event F1 would not do: a detection
    that spans the clip never meets the 200 ms onset collar, so every choice ties at F1 0 and
    the tie goes to the highest gate, which silences most of the scores.)

    Parameters
    ----------
    data : RunOutputs
        As :func:`localise_run` (the frame outputs give only their shape).
    post : PostProcessing
        The run's post-processing (:func:`localise_run` chose it on ``val``).
    num_jobs, n_boot
        As :func:`localise_run`.
    run_dir : Path, optional
        With it, the resamples go to ``dcase/<split>/bootstrap.parquet`` as
        ``tagging_psds1`` and ``tagging_psds2``.

    Returns
    -------
    dict
        Split -> ``psds1``, ``psds2``, ``psds1_non_oracle``, ``intervals`` (with ``n_boot``).
    """
    post = dataclasses.replace(post, frame_score="frame_x_clip")  # ones x clip probability: the clip's tags
    if data.events is None:
        raise BenchError("the tagging-only control needs the corpus's events.parquet")
    labels, snr_db, duration_s = data.labels, data.snr_db, data.duration_s
    out: dict[str, dict[str, Any]] = {}
    for split in data.outputs:
        ids, clip_probs, frame_probs = data.split(split)
        scores = postprocessed_scores(np.ones(frame_probs.shape, dtype=np.float16), clip_probs, post)
        times = frame_timestamps(
            scores.shape[1], hop_s=data.hop_s, frame_start_s=data.frame_start_s, duration_s=duration_s
        )
        tables = score_tables(scores, ids, labels=labels, timestamps=times)
        filenames = audio_filenames(data.clips, ids, snr_db=snr_db)
        truth = ground_truth_events(ground_truth_table(data.events, ids, filenames=filenames, snr_db=snr_db))
        present = sorted({event[2] for clip_events in truth.values() for event in clip_events})
        keep = [lab for lab in labels if lab in present]
        value: dict[str, Any] = {"psds1": None, "psds2": None, "psds1_non_oracle": None}
        if len(keep) >= 2:
            tables = with_classes(tables, keep)
            durations = dict.fromkeys(ids, float(duration_s))
            owned = owned_statistics(
                tables, truth, durations, statistics=dcase_statistics(thresholds=False), num_jobs=num_jobs
            )
            value["psds1"], value["psds2"], value["psds1_non_oracle"] = psds_values(
                tables, truth, durations, non_oracle=[PSDS1], num_jobs=num_jobs, owned=owned
            )
            if n_boot > 0:
                replicates = dcase_replicates(
                    tables,
                    truth,
                    durations,
                    weights=clip_weights(ids, n_boot=n_boot),
                    num_jobs=num_jobs,
                    owned=owned,
                )
                add_intervals(value, replicates, n_boot=n_boot)
                if run_dir is not None:
                    write_replicates(
                        Path(run_dir) / DCASE_DIR / split,
                        {f"tagging_{name}": values for name, values in replicates.items()},
                    )
        out[split] = value
    return out


def merge_localisation(metrics: dict[str, Any], localisation: Mapping[str, Any]) -> dict[str, Any]:
    """Put :func:`localise_run`'s result into a ``metrics.json`` dict: each split's numbers
    under ``<split>.localisation``, the post-processing and the scenario settings at the top."""
    for key, value in localisation.items():
        if key in ("postprocessing", "postprocessing_search"):
            metrics[key] = value
        else:
            metrics.setdefault(key, {})["localisation"] = value
    metrics["dcase_settings"] = {"psds1": PSDS1, "psds2": PSDS2, "collar": COLLAR, "segment_length_s": SEGMENT_LENGTH_S}
    return metrics


SPLITS = ("val", "test")
"""Splits a run is evaluated on (test only when the corpus has one)."""


def evaluate_run(
    store, data: RunOutputs, *, num_jobs: int = 1, header: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Score a run's outputs and write its ``metrics.json``: the one place that writes it.

    Parameters
    ----------
    store : bench.store.RunStore
        The run.
    data : RunOutputs
        Its outputs with their weak labels (``y_true``); without ``events``, clip metrics only.
    num_jobs : int
        Processes for the DCASE statistics and resamples.
    header : dict, optional
        Entries that describe the training (best epoch, convergence), written first.

    Returns
    -------
    dict
        ``metrics.json``: the header, per split the clip, frame and raw-event metrics
        (:func:`bench.evaluation.metrics.evaluate`) with its ``localisation`` (:func:`localise_run`),
        and the post-processing at the top.
    """
    from bench.evaluation.metrics import evaluate

    result: dict[str, Any] = dict(header or {})
    for split, (ids, clip_probs, frame_probs) in data.outputs.items():
        result[split] = evaluate(
            data.y_true[split],
            clip_probs,
            labels=data.labels,
            frame_score=frame_probs,
            events=data.events,
            clip_ids=list(ids),
            hop_s=data.hop_s,
            start_s=data.frame_start_s,
            snr_db=data.snr_db,
        )
    if data.events is not None and "val" in data.outputs:
        merge_localisation(result, localise_run(store.path, data, num_jobs=num_jobs))
    store.write_metrics(result)
    return result


def relocalise_run(run_dir: Path, *, corpus_dir: Path | None = None, num_jobs: int | None = None) -> dict[str, Any]:
    """Evaluate a finished run again from its stored outputs (no model needed):
    ``predictions.parquet``, ``frame_probs_<split>.npy``, the corpus's manifests
    (:func:`evaluate_run`); what describes its training (best epoch, convergence) is kept.

    Parameters
    ----------
    run_dir : Path
    corpus_dir : Path, optional
        Default: the corpus recorded in the run's ``config.json``.
    num_jobs : int, optional
        Processes for the DCASE statistics; default: the cores this process may use.
    """
    from bench.corpus import check_same_corpus

    run_dir = Path(run_dir)
    data, config = stored_outputs(run_dir, corpus_dir=corpus_dir)
    check_same_corpus(
        config, Path(corpus_dir or config["corpus_dir"]), doing=f"localise run {config.get('run_id', run_dir.name)}"
    )
    store = RunStore(run_dir.parent, run_dir.name)
    old = store.read_metrics()
    header = {k: v for k, v in old.items() if k not in SPLITS and k not in _LOCALISATION_KEYS}
    return evaluate_run(store, data, num_jobs=num_jobs or available_cores(), header=header)


ADDABLE = (MFI,)
"""Localisation metrics that :func:`add_metric` adds to a localised run without redoing the rest."""


def add_metric(run_dir: Path, name: str, *, corpus_dir: Path | None = None, num_jobs: int | None = None) -> dict:
    """Add one of :data:`ADDABLE` to a localised run: its value and interval in ``metrics.json``
    and its replicates in each split's ``bootstrap.parquet``, from the stored outputs and the
    run's own ``postprocess.json`` (not chosen again); every other number stays as it is.

    Much cheaper than :func:`relocalise_run` (which redoes the search, every metric and every
    resample); the result is what :func:`relocalise_run` would write for that metric.

    Returns
    -------
    dict
        The run's new ``metrics.json``.
    """
    from bench.corpus import check_same_corpus

    if name not in ADDABLE:
        raise BenchError(f"metric {name!r} cannot be added on its own; addable: {', '.join(ADDABLE)}")
    run_dir = Path(run_dir)
    data, config = stored_outputs(run_dir, corpus_dir=corpus_dir)
    check_same_corpus(
        config, Path(corpus_dir or config["corpus_dir"]), doing=f"score run {config.get('run_id', run_dir.name)}"
    )
    post = load_postprocessing(run_dir)
    store = RunStore(run_dir.parent, run_dir.name)
    metrics = store.read_metrics()
    if post is None or "localisation" not in metrics.get("val", {}):
        raise BenchError(f"run {run_dir.name} has no localisation yet; run bench localise without --only first")
    if data.events is None:
        raise BenchError(f"run {run_dir.name}: the corpus has no events.parquet to score against")
    jobs = num_jobs or available_cores()
    for split in data.outputs:
        loc = metrics.get(split, {}).get("localisation")
        if loc is None:
            continue
        ids, clip_probs, frame_probs = data.split(split)
        filenames = audio_filenames(data.clips, ids, snr_db=data.snr_db)
        truth = ground_truth_events(ground_truth_table(data.events, ids, filenames=filenames, snr_db=data.snr_db))
        n_boot = int(loc.get("n_boot", 0))
        keep = [lab for lab in data.labels if lab not in loc.get("classes_left_out", [])]
        weights = clip_weights(list(ids), n_boot=n_boot) if n_boot > 0 and len(keep) else None
        loc[name], replicates = split_mfi(
            frame_probs,
            clip_probs,
            post=post,
            clip_ids=ids,
            labels=data.labels,
            keep=keep,
            truth=truth,
            duration_s=data.duration_s,
            weights=weights,
            num_jobs=jobs,
        )
        if replicates is not None:
            add_intervals(loc, {name: replicates}, n_boot=n_boot)
            write_replicates(run_dir / DCASE_DIR / split, {name: replicates})
    store.write_metrics(metrics)
    return metrics


_LOCALISATION_KEYS = ("postprocessing", "postprocessing_search", "dcase_settings")
"""Top-level ``metrics.json`` entries :func:`merge_localisation` writes."""


@results_locked
def relocalise_runs(
    *,
    results_dir: Path,
    run_ids: Sequence[str],
    corpus_dir: Path | None = None,
    only: str | None = None,
    on_run: Callable[[str, dict[str, Any] | None, str | None], None] | None = None,
) -> list[tuple[str, str]]:
    """:func:`relocalise_run` (or, with ``only``, :func:`add_metric`) for several runs of one
    results folder, holding its lock.

    Parameters
    ----------
    results_dir : Path
    run_ids : sequence of str
        Finished runs of ``results_dir``.
    corpus_dir : Path, optional
        Default: each run's own corpus.
    only : str, optional
        One of :data:`ADDABLE`: add that metric only.
    on_run : callable, optional
        Called after each run with ``(run_id, metrics, error)``.

    Returns
    -------
    list of (run_id, reason)
        The runs that could not be localised (a missing corpus, damaged outputs...);
        the others are done.
    """
    failed = []
    for run_id in run_ids:
        try:
            folder = runs_dir(Path(results_dir)) / run_id
            if only is None:
                metrics = relocalise_run(folder, corpus_dir=corpus_dir)
            else:
                metrics = add_metric(folder, only, corpus_dir=corpus_dir)
            error = None
        except (BenchError, RemixError, OSError, ValueError) as exc:
            metrics, error = None, str(exc)
            failed.append((run_id, error))
        if on_run is not None:
            on_run(run_id, metrics, error)
    return failed


def clip_detections(
    outputs: Mapping[str, np.ndarray],
    *,
    clip_id: str,
    post: PostProcessing,
    events: pd.DataFrame,
    labels: Sequence[str],
    snr_db: float | None = None,
    duration_s: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Reference events, detected events and post-processed scores of one clip.

    Parameters
    ----------
    outputs : mapping
        The model's output for the clip without a batch axis: ``clip_probs`` (C,),
        ``frame_probs`` (T, C) (:func:`bench.training.loop.infer_clip`).
    clip_id : str
    post : PostProcessing
        The run's post-processing (:func:`bench.evaluation.postprocess.load_postprocessing`).
    events : pd.DataFrame
        ``events.parquet``.
    labels : sequence of str [shape=(C,)]
    snr_db, duration_s : float, optional

    Returns
    -------
    (reference, detected, scores)
        Two DataFrames with ``filename``, ``onset``, ``offset``, ``event_label``, and the
        post-processed score (T,) of each class with a reference or detected event and of the
        three most probable classes.
    """
    frame = np.asarray(outputs["frame_probs"])[None]
    clip = np.asarray(outputs["clip_probs"])[None]
    scores = postprocessed_scores(frame, clip, post)
    times = frame_timestamps(scores.shape[1], hop_s=post.hop_s, frame_start_s=post.frame_start_s, duration_s=duration_s)
    detected = decisions_to_events(scores >= np.asarray(post.thresholds), [clip_id], labels=labels, timestamps=times)
    reference = ground_truth_table(events, [clip_id], filenames=[clip_id], snr_db=snr_db).dropna(subset=["event_label"])
    shown = set(reference["event_label"]) | set(detected["event_label"])
    shown |= {labels[j] for j in np.argsort(-clip[0])[:3]}  # and the three most probable classes
    return reference, detected, {lab: scores[0, :, j] for j, lab in enumerate(labels) if lab in shown}
