"""Which frame score and which median-filter grid: measured on finished runs.

For every finished run of a results folder that stored its frame outputs, and for each
frame-score rule (``frame_x_clip``: frame output x clip probability; ``frame_probs``: the
frame output alone) and each median-filter grid (the default
:data:`bench.evaluation.postprocess.MEDIAN_GRID_S` and the earlier one that stopped at 0.9 s):

- the post-processing is chosen on the run's validation split
  (:func:`bench.evaluation.postprocess.choose_postprocessing`, the same search a run does) and
  applied to its test split (:func:`bench.evaluation.run.evaluate_split`): event F1, segment F1,
  PSDS1, PSDS2 and the number of detections on test;
- frame AP on test: average precision of the frame score over every (clip, frame,
  class) of the split against the frame targets, before any gate or filter: how far the
  rule's score behaves as a probability shared by all clips.

Per-run rows go to ``--out`` (CSV); the means per model, rule and grid are printed as a
Markdown table. Nothing is written into the runs. The split sizes are those of the runs'
corpus (``cpu-full``: 25 test clips, 75 events), so single differences are noisy: read
the means over seeds and SNRs.

Run from the repository root::

    python benchmarks/postprocess_rules.py --results data/results-cpu-full --out rules.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402

from bench.errors import BenchError  # noqa: E402
from bench.evaluation.formats import audio_filenames  # noqa: E402
from bench.evaluation.metrics import frame_targets  # noqa: E402
from bench.evaluation.outputs import stored_outputs  # noqa: E402
from bench.evaluation.postprocess import FRAME_SCORES, MEDIAN_GRID_S, apply_frame_score, choose_postprocessing  # noqa: E402
from bench.evaluation.run import evaluate_split  # noqa: E402
from bench.store import runs_dir  # noqa: E402

GRIDS = {"0-2 s (default)": MEDIAN_GRID_S, "0-0.9 s": tuple(s for s in MEDIAN_GRID_S if s <= 0.9)}


def run_rows(run_dir: Path) -> list[dict]:
    """One row per rule and grid for a finished run (none when it lacks val or test outputs)."""
    data, config = stored_outputs(run_dir)
    outputs, events, snr = data.outputs, data.events, data.snr_db
    if "val" not in outputs or "test" not in outputs:
        return []
    frame_grid = dict(hop_s=data.hop_s, frame_start_s=data.frame_start_s)
    duration_s = data.duration_s
    val_events = events if snr is None else events[np.isclose(events["snr_db"].astype(float), snr)]
    val_ids, val_clip, val_frame = outputs["val"]
    test_ids, test_clip, test_frame = outputs["test"]
    test_ids = [str(c) for c in test_ids]
    target = frame_targets(
        events,
        test_ids,
        n_frames=test_frame.shape[1],
        hop_s=frame_grid["hop_s"],
        start_s=frame_grid["frame_start_s"],
        labels=data.labels,
        snr_db=snr,
    )
    rows = []
    for rule in FRAME_SCORES:
        score = apply_frame_score(test_frame, test_clip, rule=rule).astype(np.float64)
        frame_ap = float(average_precision_score(target.ravel(), score.ravel()))
        for grid_name, grid in GRIDS.items():
            post, search = choose_postprocessing(
                val_frame,
                val_clip,
                reference=val_events,
                clip_ids=[str(c) for c in val_ids],
                labels=data.labels,
                duration_s=duration_s,
                frame_score=rule,
                median_grid_s=grid,
                **frame_grid,
            )
            test = evaluate_split(
                test_frame,
                test_clip,
                post=post,
                clip_ids=test_ids,
                filenames=audio_filenames(data.clips, test_ids, snr_db=snr),
                events=events,
                labels=data.labels,
                duration_s=duration_s,
                snr_db=snr,
            )
            rows.append(
                {
                    "run_id": run_dir.name,
                    "model": config["model"],
                    "snr_db": snr,
                    "seed": config.get("seed"),
                    "rule": rule,
                    "grid": grid_name,
                    "median_filter_s": post.median_filter_s,
                    "val_event_f1": search["event_f1"],
                    "test_frame_ap": frame_ap,
                    **{f"test_{k}": test[k] for k in ("event_f1", "segment_f1", "psds1", "psds2", "n_detections")},
                    "test_n_ref": test["n_ref"],
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="A results folder with finished runs.")
    parser.add_argument("--out", type=Path, required=True, help="CSV of the per-run rows.")
    args = parser.parse_args()
    if not runs_dir(args.results).is_dir():
        sys.exit(f"{args.results} holds no runs/ folder; give the results folder that `bench run` wrote")
    rows = []
    for run_dir in sorted(p for p in runs_dir(args.results).iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            new = run_rows(run_dir)
        except (BenchError, OSError, KeyError) as exc:
            print(f"{run_dir.name}: skipped ({exc})", file=sys.stderr)
            continue
        rows += new
        print(f"{run_dir.name}: {len(new)} rows", file=sys.stderr, flush=True)
    if not rows:
        sys.exit(f"no finished run with val and test outputs under {args.results}")
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False)
    columns = ["test_frame_ap", "val_event_f1", "test_event_f1", "test_segment_f1", "test_psds1", "test_psds2"]
    means = table.groupby(["model", "rule", "grid"])[columns].mean().round(3)
    means["runs"] = table.groupby(["model", "rule", "grid"]).size()
    print(markdown(means.reset_index()))
    print()
    print(markdown(pd.crosstab([table["rule"], table["grid"]], table["median_filter_s"]).reset_index()))


def markdown(frame: pd.DataFrame) -> str:
    """A plain Markdown table of a DataFrame."""
    lines = ["| " + " | ".join(str(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
