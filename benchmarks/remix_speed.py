"""Speed of corpus rendering: median milliseconds per output clip per core.

An output clip is one 10 s clip at one SNR. The corpus is built on the embedded
stand-in sources (written once into the user cache beforehand, not timed) with
one worker, several times into fresh folders; the source check is warmed
first so that the figure measures rendering and writing. For a comparison with
Scaper 1.6.5, ``scaper_compare.py`` runs both tools side by side on the same
sources, each as a whole process, in the same run (a fixed Scaper figure would
not be comparable: both drift by 20 % or more with the machine's state).

Run from the repository root: ``python benchmarks/remix_speed.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlog import append  # noqa: E402

from remix.build import RunOptions, SourceFolders, build_corpus  # noqa: E402
from remix.recipe import RecipeOptions  # noqa: E402
from remix.render import RenderSettings  # noqa: E402
from remix.standin import ensure_sources  # noqa: E402


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (a worker pool is shut down per build)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-per-fold", type=int, default=50)
    parser.add_argument("--snr", type=float, nargs="+", default=[0.0, 10.0, 20.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--format", default="flac", choices=["flac", "wav"])
    args = parser.parse_args()

    sources = ensure_sources(progress=True)
    work = Path(tempfile.mkdtemp(prefix="remix-speed-"))
    try:
        check_cache = None
        figures, cpu_figures, walls = [], [], []
        for k in range(args.repeats + 1):
            out = work / f"corpus{k}"
            if check_cache is not None:  # reuse the source-check results (not what is measured)
                (out / ".build").mkdir(parents=True)
                shutil.copy(check_cache, out / ".build" / "source_check.parquet")
            cpu0 = _cpu_seconds()
            summary = build_corpus(
                out,
                recipe=RecipeOptions(clips_per_fold=args.clips_per_fold),
                render=RenderSettings(snrs=tuple(args.snr), audio_format=args.format),
                sources=SourceFolders(sources.scenes_dir, sources.events_dir),
                run=RunOptions(workers=args.workers, progress=False),
            )
            cpu = _cpu_seconds() - cpu0
            check_cache = work / "source_check.parquet"
            shutil.copy(out / ".build" / "source_check.parquet", check_cache)
            n_out = summary.n_clips * len(summary.snrs)
            ms = summary.render_seconds * 1000.0 * args.workers / n_out
            cpu_ms = cpu * 1000.0 / n_out
            print(
                f"run {k}: {n_out} output clips, render {summary.render_seconds:.2f} s, "
                f"whole build {summary.seconds:.2f} s -> {ms:.2f} ms per output clip per core (wall), "
                f"{cpu_ms:.2f} ms CPU per output clip (whole build)" + (" (warm-up, not counted)" if k == 0 else "")
            )
            if k > 0:
                figures.append(ms)
                cpu_figures.append(cpu_ms)
                walls.append(summary.seconds)
            shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = statistics.median(figures)
    cpu_median = statistics.median(cpu_figures)
    load = os.getloadavg()[0]
    print(
        f"median: {median:.2f} ms per output clip per core, wall clock of the rendering step "
        "(scaper_compare.py measures Scaper beside remix)"
    )
    print(
        f"median: {cpu_median:.2f} ms CPU time per output clip, whole build; "
        f"load average {load:.1f} on {os.cpu_count()} cores (wall figures grow on a busy machine)"
    )
    append(
        benchmark="remix_speed",
        figure="render_ms_per_output_clip_per_core",
        value=median,
        unit="ms",
        settings={
            "clips_per_fold": args.clips_per_fold,
            "snrs": args.snr,
            "workers": args.workers,
            "repeats": args.repeats,
            "format": args.format,
            "sources": f"synthetic stand-in ({sources.root.name})",
            "median_build_s": round(statistics.median(walls), 3),
            "load_average": round(load, 2),
        },
    )
    append(
        benchmark="remix_speed",
        figure="build_cpu_ms_per_output_clip",
        value=cpu_median,
        unit="ms",
        settings={
            "clips_per_fold": args.clips_per_fold,
            "snrs": args.snr,
            "workers": args.workers,
            "repeats": args.repeats,
            "format": args.format,
            "sources": f"synthetic stand-in ({sources.root.name})",
            "load_average": round(load, 2),
        },
    )


if __name__ == "__main__":
    main()
