"""Cost of the DCASE localisation of one split at the paper's size.

A paper-size validation fold (2,000 clips x 311 frames x 41 classes, 0.032 s hop,
three events per clip at 0.5, 3.0 and 5.5 s) with model-like outputs: frame outputs
high inside the true events and noisy elsewhere, clip probabilities high for the
clip's classes and spread below 0.6 for the others. Timed, each once:

- ``choose post-processing``: the search on this split
  (:func:`bench.evaluation.postprocess.choose_postprocessing`);
- ``PSDS1 + PSDS2``: both scenarios on the post-processed (gated, filtered) scores,
  as a run computes them (:func:`bench.evaluation.dcase.psds_values`: sed_scores_eval on blocks
  of clips, ``--jobs`` processes), ``--repeats`` times (medians);
- with ``--plain``: the same with sed_scores_eval's own ``psds`` call per scenario
  (its ``num_jobs`` = ``--jobs``), for comparison;
- with ``--full``: the whole :func:`bench.evaluation.run.evaluate_split` (scores, DCASE files
  in a temporary folder, PSDS1, PSDS2, collar- and segment-based F1, frame F1);
- with ``--ungated``: PSDS1 + PSDS2 on the raw frame x clip scores of every class
  (every class of every clip has a score curve: the worst case).

Each figure is reported as wall time and as CPU time of the process and its worker
processes (on a shared machine the CPU time is the comparable figure). Memory is the
peak, sampled every 50 ms during each step by a separate process, of the proportional
set size (PSS) of the process plus its worker processes: pages that forked workers
share with the parent are counted once. Figures go to ``benchmarks/log.tsv``.

Run from the repository root::

    python benchmarks/psds_speed.py                  # the paper's size
    python benchmarks/psds_speed.py --clips 200      # quicker
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from benchlog import append  # noqa: E402

from bench.evaluation.dcase import psds_values  # noqa: E402
from bench.evaluation.formats import ground_truth_events, ground_truth_table, score_tables  # noqa: E402
from bench.evaluation.postprocess import (  # noqa: E402
    apply_frame_score,
    choose_postprocessing,
    frame_timestamps,
    postprocessed_scores,
)
from bench.evaluation.run import evaluate_split  # noqa: E402
from bench.evaluation.sse import PSDS1, PSDS2, import_sed_scores_eval  # noqa: E402
from remix.labels import EVENT_LABELS  # noqa: E402

HOP_S = 1024 / 32000
START_S = 0.016


def split(n_clips: int, n_frames: int, seed: int = 0):
    """Model-like outputs and the reference events of a synthetic split."""
    rng = np.random.default_rng(seed)
    n_classes = len(EVENT_LABELS)
    frame = rng.uniform(0.0, 0.5, (n_clips, n_frames, n_classes)).astype(np.float16)
    clip = rng.uniform(0.0, 0.6, (n_clips, n_classes)).astype(np.float32)
    rows = []
    for i in range(n_clips):
        for onset, j in zip((0.5, 3.0, 5.5), rng.choice(n_classes, size=3, replace=False)):
            offset = onset + float(rng.uniform(0.5, 2.0))
            a, b = int((onset - START_S) / HOP_S), int((offset - START_S) / HOP_S)
            frame[i, a:b, j] = rng.uniform(0.5, 1.0, b - a)
            clip[i, j] = rng.uniform(0.5, 1.0)
            rows.append((f"clip{i:05d}", EVENT_LABELS[j], onset, round(offset, 3)))
    events = pd.DataFrame(rows, columns=["clip_id", "event_label", "onset_s", "offset_s"])
    return frame, clip, events, [f"clip{i:05d}" for i in range(n_clips)]


_SAMPLER = r"""
import os, select, sys

parent, me = int(sys.argv[1]), os.getpid()


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
    except (OSError, StopIteration, ValueError):
        return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split() if int(c) != me]
    except OSError:
        return []


peak = 0
while True:
    peak = max(peak, pss_kb(parent) + sum(pss_kb(c) for c in children(parent)))
    if select.select([sys.stdin], [], [], 0.05)[0]:  # the parent closed our stdin: done
        break
print(peak)
"""


class Timer:
    """Wall and CPU seconds of a block, and the peak PSS (MB) of this process plus its
    worker processes, sampled every 50 ms by a separate process (a sampling thread here
    would contend for the interpreter lock and slow the measured work). CPU counts the
    workers once they have ended (they all have, when a step returns), not the sampler."""

    def __enter__(self):
        self._sampler = subprocess.Popen(
            [sys.executable, "-c", _SAMPLER, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    @staticmethod
    def _cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def __exit__(self, *exc):
        import multiprocessing

        multiprocessing.active_children()  # reap ended workers, so that their CPU time counts
        self.wall, self.cpu = time.perf_counter() - self.wall, self._cpu() - self.cpu
        out, _ = self._sampler.communicate("")  # closes its stdin; reaped after the CPU figure
        self.peak_mb = int(out) / 1024


class Median:
    """The medians of several timers' wall and CPU seconds and their largest peak."""

    def __init__(self, timers: list[Timer]):
        self.wall = statistics.median(t.wall for t in timers)
        self.cpu = statistics.median(t.cpu for t in timers)
        self.peak_mb = max(t.peak_mb for t in timers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=311)
    parser.add_argument("--jobs", type=int, default=1, help="PSDS worker processes.")
    parser.add_argument("--plain", action="store_true", help="Also time sed_scores_eval's own psds call.")
    parser.add_argument("--repeats", type=int, default=1, help="Times PSDS1 + PSDS2 is timed (medians reported).")
    parser.add_argument("--full", action="store_true", help="Also time the whole evaluate_split.")
    parser.add_argument("--ungated", action="store_true", help="Also time PSDS on ungated scores.")
    parser.add_argument("--no-log", action="store_true", help="Print only.")
    args = parser.parse_args()
    for name in ("clips", "frames", "jobs", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, found {getattr(args, name)}")
    sse = import_sed_scores_eval()
    frame, clip, events, ids = split(args.clips, args.frames)
    filenames = [f"{c}.flac" for c in ids]
    settings = {
        "clips": args.clips,
        "frames": args.frames,
        "classes": len(EVENT_LABELS),
        "hop_s": HOP_S,
        "jobs": args.jobs,
        "repeats": args.repeats,
    }
    figures = []

    with Timer() as t:
        post, record = choose_postprocessing(
            frame,
            clip,
            reference=events,
            clip_ids=ids,
            labels=EVENT_LABELS,
            hop_s=HOP_S,
            frame_start_s=START_S,
            duration_s=10.0,
        )
    figures.append(("choose post-processing", t))
    print(
        f"chosen: median {post.median_filter_s} s, gate {post.clip_threshold}, threshold {post.thresholds[0]}, "
        f"event F1 {record['event_f1']:.3f}",
        flush=True,
    )

    truth = ground_truth_events(ground_truth_table(events, ids, filenames=filenames))
    durations = {c: 10.0 for c in ids}
    times = frame_timestamps(args.frames, hop_s=HOP_S, frame_start_s=START_S, duration_s=10.0)
    present = [c for c in EVENT_LABELS if c in set(events["event_label"])]  # sed_scores_eval needs a reference event
    tables = score_tables(postprocessed_scores(frame, clip, post), ids, labels=EVENT_LABELS, timestamps=times)
    tables = {k: v[["onset", "offset", *present]] for k, v in tables.items()}
    timers = []
    for _ in range(args.repeats):
        with Timer() as t:
            values = psds_values(tables, truth, durations, num_jobs=args.jobs)
        timers.append(t)
    figures.append(("PSDS1 + PSDS2", Median(timers)))
    print(f"PSDS1 {values[0]:.4f}  PSDS2 {values[1]:.4f}", flush=True)
    if args.plain:
        with Timer() as t:
            plain = [
                sse.intersection_based.psds(tables, truth, durations, num_jobs=args.jobs, **s)[0]
                for s in (PSDS1, PSDS2)
            ]
        figures.append(("PSDS1 + PSDS2 with sed_scores_eval's psds", t))
        print(f"sed_scores_eval's psds: PSDS1 {plain[0]:.4f}  PSDS2 {plain[1]:.4f}", flush=True)
    del tables

    if args.full:
        with tempfile.TemporaryDirectory() as tmp, Timer() as t:
            out = evaluate_split(
                frame,
                clip,
                post=post,
                clip_ids=ids,
                filenames=filenames,
                events=events,
                labels=EVENT_LABELS,
                duration_s=10.0,
                folder=Path(tmp) / "val",
                num_jobs=args.jobs,
            )
        figures.append(("evaluate split (files, PSDS1/2, F1s)", t))
        print(
            f"event F1 {out['event_f1']:.3f}  segment F1 {out['segment_f1']:.3f}  frame F1 {out['frame_f1']:.3f}  "
            f"{out['n_detections']} detections for {out['n_ref']} events",
            flush=True,
        )

    if args.ungated:
        raw = np.rint(apply_frame_score(frame, clip, rule="frame_x_clip").astype(np.float64) * 1e5) / 1e5
        tables = score_tables(raw, ids, labels=EVENT_LABELS, timestamps=times)
        tables = {k: v[["onset", "offset", *present]] for k, v in tables.items()}
        with Timer() as t:
            values = psds_values(tables, truth, durations, num_jobs=args.jobs)
        figures.append(("PSDS1 + PSDS2 ungated", t))
        print(f"ungated: PSDS1 {values[0]:.4f}  PSDS2 {values[1]:.4f}")

    for name, timer in figures:
        print(f"{name}: {timer.wall:.1f} s wall, {timer.cpu:.1f} s CPU, peak PSS {timer.peak_mb:.0f} MB")
    print(f"peak resident set of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if not args.no_log:
        settings["load_average"] = round(os.getloadavg()[0], 2)
        for name, timer in figures:
            append(benchmark="psds_speed", figure=f"{name} (wall)", value=timer.wall, unit="s", settings=settings)
            append(benchmark="psds_speed", figure=f"{name} (CPU)", value=timer.cpu, unit="s", settings=settings)
            append(
                benchmark="psds_speed", figure=f"{name} (peak PSS)", value=timer.peak_mb, unit="MB", settings=settings
            )


if __name__ == "__main__":
    main()
