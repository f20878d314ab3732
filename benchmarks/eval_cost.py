"""Where a run's time after training goes, against its training time.

For finished runs of a results folder (copied to a temporary folder, so nothing of theirs is
touched), redoes the post-training evaluation that ``bench run`` does after the last epoch
from the run's stored outputs (``bench localise``: the post-processing search on the
validation fold, the DCASE metrics of each split, their bootstrap resamples and the
tagging-only control) without a profiler (its wall time) and again under one (the split of that time into those
stages, scaled to the unprofiled total). Prediction
of the splits (a forward pass over 125 clips) is not included; it is small next to the rest.
Each stage's median over the runs, and the evaluation's share of the run's training time,
are printed and appended to ``benchmarks/log.tsv``.

Run from the repository root, on a machine doing nothing else (the figures are wall times)::

    python benchmarks/eval_cost.py --results data/results-recorded --preset cpu-full --runs 5
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlog import append  # noqa: E402

STAGES = {
    "post-processing search": "choose_postprocessing",
    "DCASE scoring of the splits (metrics and resamples)": "evaluate_split",
    "tagging-only control (metrics and resamples)": "tagging_control",
}
"""Stage -> the function whose cumulative time measures it (the three do not overlap)."""
RESAMPLES = "dcase_replicates"
"""The bootstrap resamples of the DCASE metrics, inside the last two stages (reported apart)."""


def _cumulative(stats: pstats.Stats, name: str) -> float:
    return sum(row[3] for (_, _, func), row in stats.stats.items() if func == name)  # type: ignore[attr-defined]


def profile_run(run_dir: Path) -> dict[str, float]:
    """Seconds of one run's evaluation (redone on a copy, without a profiler), its stages (a
    second pass under the profiler, scaled to the first pass's total), and its training seconds."""
    from bench.evaluation.run import relocalise_run
    from bench.store import RunStore

    store = RunStore(run_dir.parent, run_dir.name)
    train_s = float(store.read_curves()["seconds"].sum())
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "runs" / run_dir.name
        shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("last*.pt"))
        start = time.perf_counter()
        relocalise_run(copy, num_jobs=1)
        total = time.perf_counter() - start
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        relocalise_run(copy, num_jobs=1)
        profiler.disable()
        scale = total / (time.perf_counter() - start)
    stats = pstats.Stats(profiler)
    out = {"training": train_s, "evaluation": total}
    for stage, func in STAGES.items():
        out[stage] = _cumulative(stats, func) * scale
    out["other"] = total - sum(out[stage] for stage in STAGES)
    out["of which DCASE resamples"] = _cumulative(stats, RESAMPLES) * scale
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--preset", default="cpu-full")
    parser.add_argument("--runs", type=int, default=5, help="How many finished runs to profile (the first, by id).")
    parser.add_argument("--note", default="", help="Recorded with the figures (e.g. what else the machine ran).")
    args = parser.parse_args()

    from bench.store import load_runs

    runs = load_runs(args.results)
    done = runs[(runs["status"] == "done") & (runs["preset"] == args.preset)].sort_values("run_id").head(args.runs)
    if done.empty:
        raise SystemExit(f"no finished {args.preset} run under {args.results}")
    rows = [profile_run(Path(d)) for d in done["run_dir"]]
    keys = ["training", "evaluation", *STAGES, "other", "of which DCASE resamples"]
    settings = {"preset": args.preset, "runs": len(rows), "models": sorted(set(done["model"])), "num_jobs": 1}
    if args.note:
        settings["note"] = args.note
    for key in keys:
        median = statistics.median(r[key] for r in rows)
        print(f"{key:<30} median {median:8.1f} s")
        append(
            benchmark="eval_cost", figure=f"{key} per run (median)", value=round(median, 2), unit="s", settings=settings
        )
    share = statistics.median(r["evaluation"] / r["training"] for r in rows)
    print(f"evaluation / training: median {share:.2f}")
    append(
        benchmark="eval_cost",
        figure="evaluation / training time per run (median)",
        value=round(share, 3),
        unit="ratio",
        settings=settings,
    )


if __name__ == "__main__":
    main()
