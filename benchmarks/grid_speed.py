"""Wall time of a grid trained one run at a time versus in parallel processes.

Trains the same runs (the paper's seven systems at one SNR, one seed, a CPU preset) into
fresh results folders, once with ``jobs=1`` (one process, all cores as torch threads)
and once with ``jobs=N`` (N processes, the cores shared out as threads), and reports
both wall times and their ratio. The feature cache is filled before either timing.
Each mode runs ``--repeats`` times; the figures are medians.

With ``--precisions fp32 bf16`` it instead trains the grid at ``--jobs`` once per precision
(``bench run --precision``) and reports each wall time and the ratio fp32 over the other;
``--keep DIR`` keeps each results folder as ``DIR/<precision>``, so that the precisions' runs
can be compared clip by clip (``bench compare M M --results DIR/bf16 --against DIR/fp32``).

Run from the repository root on a built corpus::

    python benchmarks/grid_speed.py --corpus data/corpus --preset cpu --snr 20
    python benchmarks/grid_speed.py --corpus data/corpus_recorded --preset cpu-full --snr 20 --jobs 2 \\
        --precisions fp32 bf16 --keep data/results-precision
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlog import append  # noqa: E402

from bench.corpus import corpus_fingerprint  # noqa: E402
from bench.data import read_clips  # noqa: E402
from bench.feature_cache import compute_features  # noqa: E402
from bench.presets import get_preset  # noqa: E402
from bench.training.grid import default_threads, paper_grid, run_grid  # noqa: E402
from bench.training.options import RunOptions  # noqa: E402


def _results_folder(keep: Path | None, name: str) -> AbstractContextManager[str]:
    """A fresh results folder: ``keep/name`` (refused when it holds runs already) or a temporary one."""
    if keep is None:
        return tempfile.TemporaryDirectory()
    folder = keep / name
    if (folder / "runs").is_dir() and any((folder / "runs").iterdir()):
        raise SystemExit(f"{folder} holds runs already; give --keep a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    return nullcontext(str(folder))


def _timed_grid(configs, *, corpus: Path, results: str, jobs: int, precision: str = "auto") -> float:
    start = time.perf_counter()
    summary = run_grid(
        configs,
        results_dir=Path(results),
        corpus_dir=corpus,
        device="cpu",
        jobs=jobs,
        options=RunOptions.from_environment(precision=precision),
    )
    if summary.failed:
        raise SystemExit(f"runs failed: {summary.failed}")
    return time.perf_counter() - start


def compare_precisions(args: argparse.Namespace, configs, settings: dict) -> None:
    """The grid at ``--jobs`` once per precision; wall times and the fp32 ratio in the log."""
    timings: dict[str, list[float]] = {p: [] for p in args.precisions}
    for repeat in range(args.repeats):
        for precision in timings:
            name = precision if args.repeats == 1 else f"{precision}-{repeat}"
            with _results_folder(args.keep, name) as results:
                timings[precision].append(
                    _timed_grid(configs, corpus=args.corpus, results=results, jobs=args.jobs, precision=precision)
                )
    walls = {p: statistics.median(t) for p, t in timings.items()}
    threads = default_threads(args.jobs)
    for precision, wall in walls.items():
        print(f"{len(configs)} runs, {args.preset}, jobs={args.jobs} x {threads} threads, {precision}: {wall:.0f} s")
        append(
            benchmark="grid_speed",
            figure=f"grid wall time, jobs={args.jobs} x {threads} threads, {precision}",
            value=round(wall, 1),
            unit="s",
            settings=settings,
        )
        if precision != "fp32" and "fp32" in walls:
            print(f"  {walls['fp32'] / wall:.2f}x faster than fp32")
            append(
                benchmark="grid_speed",
                figure=f"grid speedup, jobs={args.jobs}, fp32/{precision}",
                value=round(walls["fp32"] / wall, 3),
                unit="x",
                settings=settings,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--snr", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--precisions", nargs="+", choices=("fp32", "bf16", "auto"), help="time the grid once per precision at --jobs"
    )
    parser.add_argument("--keep", type=Path, help="keep each results folder under this folder")
    args = parser.parse_args()

    fingerprint = corpus_fingerprint(read_clips(args.corpus))
    configs = paper_grid(snrs=(args.snr,), seeds=1, preset=args.preset, corpus=fingerprint)
    compute_features(args.corpus, snr_db=args.snr, settings=get_preset(args.preset).features, progress=False)
    settings = {
        "preset": args.preset,
        "snr": args.snr,
        "runs": len(configs),
        "repeats": args.repeats,
        "corpus_clips": int(len(read_clips(args.corpus))),
    }
    if args.precisions:
        compare_precisions(args, configs, settings)
        return
    timings: dict[int, list[float]] = {1: [], args.jobs: []}
    for repeat in range(args.repeats):
        for jobs in timings:
            with _results_folder(args.keep, f"jobs{jobs}-{repeat}") as results:
                timings[jobs].append(_timed_grid(configs, corpus=args.corpus, results=results, jobs=jobs))
    serial, parallel = (statistics.median(timings[j]) for j in timings)
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
