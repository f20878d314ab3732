"""Does training under bf16 autocast change what a run learns more than another seed would?

Compares the runs of two results folders that hold the same systems and seeds trained in two
precisions (``benchmarks/grid_speed.py --precisions fp32 bf16 --keep DIR`` writes them), clip
by clip on the same validation resamples as ``bench compare M M --results A --against B``:

- per system, the paired difference of validation micro-AP (A - B; its mean over the resamples)
  with its 95 % interval;
- over all systems, the mean of those differences, resample by resample, with its interval;
- as the yardstick, the same one-run comparisons between *seeds* of each system in a third
  results folder trained in float32 (``--seeds-from``): how often does one seed's interval
  against another exclude 0, and how large are the differences?

Figures are printed and appended to ``benchmarks/log.tsv``. Run from the repository root::

    python benchmarks/precision_check.py --first data/results-precision/bf16 \\
        --second data/results-precision/fp32 --seeds-from data/results-recorded --preset cpu-full --snr 20
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from benchlog import append  # noqa: E402

from bench.evaluation.bootstrap import interval, paired_difference  # noqa: E402
from bench.reporting.intervals import stacked  # noqa: E402
from bench.store import load_runs  # noqa: E402

METRIC = "micro_ap"


def _runs_by_system(results: Path, *, preset: str, snr: float) -> dict[tuple, dict[int, Path]]:
    """(model, alpha, options) -> seed -> run folder, for the finished fixed-corpus runs."""
    runs = load_runs(results)
    if runs.empty:
        raise SystemExit(f"no runs under {results}")
    keep = (runs["preset"] == preset) & (runs["snr_db"].astype(float) == snr) & (runs["status"] == "done")
    keep &= (runs["mixing"] == "fixed") & (runs["augment"] == "none")
    out: dict[tuple, dict[int, Path]] = {}
    for row in runs[keep].itertuples():
        key = (row.model, float(row.alpha), str(getattr(row, "options", "") or ""))
        out.setdefault(key, {})[int(row.seed)] = Path(row.run_dir)
    return out


def _one_run_difference(a: Path, b: Path) -> tuple[float, dict, np.ndarray]:
    ra, rb = stacked([a], METRIC, split="val"), stacked([b], METRIC, split="val")
    if ra is None or rb is None:
        raise SystemExit(f"{a} or {b} has no validation {METRIC} resamples")
    n = min(ra.shape[1], rb.shape[1])
    return float(np.nanmean(ra[0, :n] - rb[0, :n])), paired_difference(ra[:, :n], rb[:, :n]), ra[0, :n] - rb[0, :n]


def settings_logger(settings: dict):
    """``log(figure, value, unit, **extra)``: one row of this benchmark, its settings and ``extra``."""

    def log(figure: str, value, unit: str, **extra) -> None:
        append(benchmark="precision_check", figure=figure, value=value, unit=unit, settings={**settings, **extra})

    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=Path, required=True, help="results folder of one precision (e.g. bf16)")
    parser.add_argument("--second", type=Path, required=True, help="results folder of the other (e.g. fp32)")
    parser.add_argument("--seeds-from", type=Path, help="float32 runs of several seeds per system: the yardstick")
    parser.add_argument("--preset", default="cpu-full")
    parser.add_argument("--snr", type=float, default=20.0)
    args = parser.parse_args()

    first = _runs_by_system(args.first, preset=args.preset, snr=args.snr)
    second = _runs_by_system(args.second, preset=args.preset, snr=args.snr)
    pairs = [
        (key, seed) for key in sorted(first) if key in second for seed in sorted(first[key]) if seed in second[key]
    ]
    if not pairs:
        raise SystemExit("the two folders share no system and seed")
    settings = {"preset": args.preset, "snr": args.snr, "first": str(args.first), "second": str(args.second)}
    diffs, excluded, pooled = [], 0, []
    print(f"{args.first} minus {args.second}, validation {METRIC}, one run each")
    for (model, alpha, options), seed in pairs:
        mean, result, reps = _one_run_difference(
            first[(model, alpha, options)][seed], second[(model, alpha, options)][seed]
        )
        out = result["low"] > 0 or result["high"] < 0
        diffs.append(mean)
        excluded += out
        pooled.append(reps)
        name = f"{model} alpha={alpha:g}{' ' + options if options else ''} seed {seed}"
        print(f"  {name:34s} {mean:+.3f} [{result['low']:+.3f}, {result['high']:+.3f}]{'  excludes 0' if out else ''}")
    low, high = interval(np.mean(np.stack(pooled), axis=0), confidence=0.95)
    mean_all = float(np.mean(diffs))
    print(
        f"mean over {len(pairs)} systems: {mean_all:+.4f} [{low:+.4f}, {high:+.4f}]; "
        f"{excluded} of {len(pairs)} exclude 0"
    )
    log = settings_logger(settings)
    log(f"mean {METRIC} difference", round(mean_all, 4), "", low=round(low, 4), high=round(high, 4), systems=len(pairs))
    median_abs = round(statistics.median(abs(d) for d in diffs), 4)
    log("one-run intervals excluding 0", excluded, "runs", of=len(pairs), median_abs_difference=median_abs)
    if args.seeds_from is None:
        return
    seeds = _runs_by_system(args.seeds_from, preset=args.preset, snr=args.snr)
    seed_diffs, seed_excluded = [], 0
    for key in sorted(seeds):
        if key not in first:
            continue
        for a, b in itertools.combinations(sorted(seeds[key]), 2):
            mean, result, _ = _one_run_difference(seeds[key][a], seeds[key][b])
            seed_diffs.append(mean)
            seed_excluded += result["low"] > 0 or result["high"] < 0
    if not seed_diffs:
        return
    median_abs = statistics.median(abs(d) for d in seed_diffs)
    print(
        f"yardstick, one float32 seed against another of the same system ({args.seeds_from}): {seed_excluded} of "
        f"{len(seed_diffs)} exclude 0; median |difference| {median_abs:.3f} (precisions: "
        f"{statistics.median(abs(d) for d in diffs):.3f})"
    )
    log(
        "seed against seed, intervals excluding 0",
        seed_excluded,
        "pairs",
        of=len(seed_diffs),
        median_abs_difference=round(median_abs, 4),
        seeds_from=str(args.seeds_from),
    )


if __name__ == "__main__":
    main()
