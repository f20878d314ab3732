"""Summarise and validate a built corpus.

:func:`inspect_corpus` counts clips per split, fold and SNR and events per
class, and checks that the manifests agree with each other and with the files
on disk: every listed audio file and stem exists, decodes to the stated rate
and length, every SNR holds the same clips, and each clip's labels are those
of its events.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import soundfile as sf

from remix.manifest import format_snr, read_clips, read_corpus_info, read_events, target_events
from remix.progress import progress_bar


@dataclass(frozen=True)
class CorpusReport:
    """What :func:`inspect_corpus` found.

    Attributes
    ----------
    out_dir : Path
        The corpus folder.
    synthetic : bool
        Built from the stand-in sources.
    snrs : tuple of float
        SNRs present.
    clips_per_fold : dict of str to int
        Clips per ``"<split> fold <k>"`` (each SNR).
    clips_per_snr : dict of str to int
        Audio files per SNR.
    events_per_class : dict of str to int
        Placed events per label (each SNR).
    n_files_checked : int
        Audio files and stems opened.
    problems : list of str
        Everything found wrong (empty for a sound corpus).
    """

    out_dir: Path
    synthetic: bool
    snrs: tuple[float, ...]
    clips_per_fold: dict[str, int]
    clips_per_snr: dict[str, int]
    events_per_class: dict[str, int]
    n_files_checked: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def _check_file(out_dir: Path, rel: str, sample_rate: int, frames: int, decode: bool) -> str | None:
    path = out_dir / rel
    if not path.is_file():
        return f"{rel}: missing"
    try:
        if decode:
            data, rate = sf.read(str(path), dtype="int16" if path.suffix != ".wav" else "float32", always_2d=True)
            n, channels = data.shape
        else:
            info = sf.info(str(path))
            rate, n, channels = info.samplerate, info.frames, info.channels
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        return f"{rel}: cannot decode ({' '.join(str(exc).split())})"
    wrong = []
    if rate != sample_rate:
        wrong.append(f"rate {rate} Hz, expected {sample_rate}")
    if n != frames:
        wrong.append(f"{n} frames, expected {frames}")
    if channels != 1:
        wrong.append(f"{channels} channels, expected 1")
    return f"{rel}: " + "; ".join(wrong) if wrong else None


def _consistency(clips: pd.DataFrame, events: pd.DataFrame) -> Iterable[str]:
    per_snr = clips.groupby("snr_db")["clip_id"].apply(lambda s: tuple(sorted(s)))
    if per_snr.nunique() > 1:
        yield "the SNRs do not hold the same clip ids"
    dup = clips.duplicated(["clip_id", "snr_db"])
    if dup.any():
        yield f"{int(dup.sum())} duplicate (clip_id, snr_db) row(s) in clips.parquet"
    known = set(zip(clips["clip_id"], clips["snr_db"]))
    orphans = [k for k in zip(events["clip_id"], events["snr_db"]) if k not in known]
    if orphans:
        yield f"{len(orphans)} event row(s) belong to no clip, e.g. {orphans[0]}"
    ev_labels = target_events(events).groupby(["clip_id", "snr_db"])["event_label"].apply(lambda s: sorted(set(s)))
    for cid, snr, labels in zip(clips["clip_id"], clips["snr_db"], clips["labels"]):
        if sorted(labels) != ev_labels.get((cid, snr), []):
            yield f"{cid} at {format_snr(snr)} dB: labels {list(labels)} differ from its events"
            break
    bad_time = events[(events["onset_s"] < 0) | (events["offset_s"] <= events["onset_s"])]
    if len(bad_time):
        yield f"{len(bad_time)} event(s) with impossible onset/offset, e.g. {bad_time['clip_id'].iloc[0]}"
    dur = clips.set_index(["clip_id", "snr_db"])["duration_s"]
    late = [
        k
        for k, off in zip(zip(events["clip_id"], events["snr_db"]), events["offset_s"])
        if k in dur.index and off > dur[k] + 1e-9
    ]
    if late:
        yield f"{len(late)} event(s) end after their clip, e.g. {late[0][0]}"
    bad_scale = clips[(clips["peak_scale"] <= 0) | (clips["peak_scale"] > 1)]
    if len(bad_scale):
        yield f"{len(bad_scale)} clip(s) with peak_scale outside (0, 1]"
    dev = clips[clips["split"] == "dev"]
    if len(dev) and not dev["fold"].between(1, 4).all():
        yield "development clips with a fold outside 1-4"
    if (clips.loc[clips["split"] == "test", "fold"] != 0).any():
        yield "test clips with a fold other than 0"


def inspect_corpus(out_dir: Path, *, decode: bool = True, workers: int = 4, progress: bool = True) -> CorpusReport:
    """Summarise a corpus and list what is wrong with it.

    Parameters
    ----------
    out_dir : Path
        Folder written by :func:`remix.build.build_corpus`.
    decode : bool
        Decode every file (finds truncated files, whose headers may still
        claim the full length); False reads headers only.
    workers : int
        Threads opening files.
    progress : bool
        Show a progress bar.

    Returns
    -------
    CorpusReport

    Raises
    ------
    RemixError
        When the folder holds no finished corpus (manifests missing or unreadable).
    """
    out_dir = Path(out_dir).expanduser().resolve()
    info = read_corpus_info(out_dir)
    clips = read_clips(out_dir)
    events = read_events(out_dir)
    problems = list(_consistency(clips, events))

    jobs: list[tuple[str, int, int]] = []
    for rel, sr, dur in zip(clips["audio_path"], clips["sample_rate"], clips["duration_s"]):
        jobs.append((rel, int(sr), int(round(dur * sr))))
    for rel, sr, dur in zip(clips["scene_stem_path"], clips["sample_rate"], clips["duration_s"]):
        if isinstance(rel, str):
            jobs.append((rel, int(sr), int(round(dur * sr))))
    stem_rows = events[events["stem_path"].notna()].merge(
        clips[["clip_id", "snr_db", "sample_rate", "duration_s"]], on=["clip_id", "snr_db"], how="left"
    )
    for rel, sr, dur in zip(stem_rows["stem_path"], stem_rows["sample_rate"], stem_rows["duration_s"]):
        if pd.notna(sr):
            jobs.append((rel, int(sr), int(round(dur * sr))))

    with progress_bar(enabled=progress) as bar, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        task = bar.add_task("checking files", total=len(jobs))
        results = pool.map(lambda j: _check_file(out_dir, *j, decode), jobs)
        for found in results:
            if found is not None:
                problems.append(found)
            bar.advance(task, 1)

    first = clips[clips["snr_db"] == clips["snr_db"].min()] if len(clips) else clips
    ev1 = events[events["snr_db"] == clips["snr_db"].min()] if len(clips) else events
    keys = first["split"] + " fold " + first["fold"].astype(str)
    return CorpusReport(
        out_dir=out_dir,
        synthetic=bool(info.get("synthetic", False)),
        snrs=tuple(sorted(float(s) for s in clips["snr_db"].unique())),
        clips_per_fold={k: int(v) for k, v in keys.value_counts().sort_index().items()},
        clips_per_snr={format_snr(k): int(v) for k, v in clips["snr_db"].value_counts().sort_index().items()},
        events_per_class={k: int(v) for k, v in ev1["event_label"].value_counts().sort_index().items()},
        n_files_checked=len(jobs),
        problems=problems,
    )
