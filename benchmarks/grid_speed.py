"""Wall time of a grid trained one run at a time versus in parallel processes.

Trains the same runs (the paper's seven systems at one SNR, one seed, a CPU preset) into
fresh results folders, once with ``jobs=1`` (one process, all cores as torch threads)
and once with ``jobs=N`` (N processes, the cores shared out as threads), and reports
both wall times and their ratio. The feature cache is filled before either timing.
Each mode runs ``--repeats`` times; the figures are medians.

Run from the repository root on a built corpus::

    python benchmarks/grid_speed.py --corpus data/corpus --preset cpu --snr 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlog import append  # noqa: E402

from bench.corpus import corpus_fingerprint  # noqa: E402
from bench.data import read_clips  # noqa: E402
from bench.feature_cache import compute_features  # noqa: E402
from bench.presets import get_preset  # noqa: E402
from bench.training.grid import default_threads, paper_grid, run_grid  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--snr", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    fingerprint = corpus_fingerprint(read_clips(args.corpus))
    configs = paper_grid(snrs=(args.snr,), seeds=1, preset=args.preset, corpus=fingerprint)
    compute_features(args.corpus, snr_db=args.snr, settings=get_preset(args.preset).features, progress=False)
    timings: dict[int, list[float]] = {1: [], args.jobs: []}
    for _ in range(args.repeats):
        for jobs in timings:
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                summary = run_grid(configs, results_dir=Path(tmp), corpus_dir=args.corpus, device="cpu", jobs=jobs)
                timings[jobs].append(time.perf_counter() - start)
                if summary.failed:
                    raise SystemExit(f"runs failed: {summary.failed}")
    serial, parallel = (statistics.median(timings[j]) for j in timings)
    settings = {
        "preset": args.preset,
        "snr": args.snr,
        "runs": len(configs),
        "repeats": args.repeats,
        "corpus_clips": int(len(read_clips(args.corpus))),
    }
    print(
        f"{len(configs)} runs, preset {args.preset}: jobs=1 x {default_threads(1)} threads {serial:.0f} s, "
        f"jobs={args.jobs} x {default_threads(args.jobs)} threads {parallel:.0f} s "
        f"({serial / parallel:.2f}x)"
    )
    append(
        benchmark="grid_speed",
        figure=f"grid wall time, jobs=1 x {default_threads(1)} threads",
        value=serial,
        unit="s",
        settings=settings,
    )
    append(
        benchmark="grid_speed",
        figure=f"grid wall time, jobs={args.jobs} x {default_threads(args.jobs)} threads",
        value=parallel,
        unit="s",
        settings=settings,
    )


if __name__ == "__main__":
    main()
