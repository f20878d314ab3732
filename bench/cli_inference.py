"""``bench detect`` and ``bench export``: a trained run used on recordings and outside this toolkit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from remix.clitools import console, err_console, user_errors


def _plot_detections(outputs, features, info, *, out_dir: Path, title: str) -> list[Path]:
    """The detection figure of the clip, when the run has a post-processing (runs evaluated by this version)."""
    from bench.corpus import read_events
    from bench.evaluation.postprocess import load_postprocessing
    from bench.evaluation.run import clip_detections
    from bench.reporting.plots import plot_detections
    from remix.labels import EVENT_LABELS

    post = load_postprocessing(info["run_dir"])
    events_path = Path(info["config"]["corpus_dir"]) / "manifest" / "events.parquet"
    if post is None or not events_path.is_file():
        return []
    reference, detected, scores = clip_detections(
        outputs,
        clip_id=info["clip_id"],
        post=post,
        events=read_events(Path(info["config"]["corpus_dir"])),
        labels=EVENT_LABELS,
        snr_db=float(info["config"]["snr_db"]),
    )
    path = out_dir / f"detections_{info['config']['run_id']}_{info['clip_id']}.png"
    return [
        plot_detections(
            features=features,
            reference=reference,
            detected=detected,
            scores=scores,
            thresholds=dict(zip(EVENT_LABELS, post.thresholds)),
            path=path,
            hop_s=post.hop_s,
            frame_start_s=post.frame_start_s,
            title=title,
        )
    ]


@user_errors
def detect(
    audio: Annotated[
        list[Path], typer.Argument(help="Audio files or folders (every audio file inside).", show_default=False)
    ],
    run_id: Annotated[str, typer.Option("--run", help="Run id (`bench list` shows them).")],
    out: Annotated[Path, typer.Option(help="Events TSV: filename, onset, offset, event_label.")],
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    scores: Annotated[
        Path | None, typer.Option(help="Also write per-file frame-score TSVs (sed_scores_eval) here.")
    ] = None,
    plot: Annotated[
        bool,
        typer.Option(
            "--plot", help="Also write one PNG per file (log-mel and events) into <OUT without suffix>_plots/."
        ),
    ] = False,
    overlap: Annotated[float, typer.Option(help="Share of a window overlapping the next, in [0, 1).")] = 0.5,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing output files (never the recordings themselves).")
    ] = False,
) -> None:
    """Detect events in recordings of any rate, channel count and length with a trained run.

    Recordings are read in blocks, so memory does not grow with their length. Output files are
    checked before any work: an existing one needs --overwrite. Exit code 1 when a file could not
    be decoded (the others are processed), 2 on a usage error.
    """
    from bench.inference.detect import detect as run_detect

    def report_file(name: str, reason: str | None) -> None:
        if reason is not None:
            err_console.print(f"[yellow]skipped[/] {reason}", highlight=False, soft_wrap=True)

    plot_dir = out.with_name(out.stem + "_plots") if plot else None
    result = run_detect(
        audio,
        results_dir=results,
        run_id=run_id,
        out=out,
        scores_dir=scores,
        plot_dir=plot_dir,
        overlap=overlap,
        device=device,
        on_file=report_file,
        overwrite=overwrite,
    )
    source = (
        "the run's post-processing (postprocess.json)"
        if result.postprocessing_source != "default"
        else "default post-processing (0.5 thresholds, 5-frame median filter: the run has no postprocess.json)"
    )
    console.print(
        f"{len(result.events)} event(s) in {len(result.processed)} file(s), {source}; wrote {out}", highlight=False
    )
    if scores is not None:
        console.print(f"frame scores: {scores}", highlight=False)
    if plot_dir is not None:
        console.print(f"plots: {plot_dir}", highlight=False)
    if result.skipped:
        err_console.print(f"{len(result.skipped)} file(s) skipped", highlight=False)
        raise typer.Exit(code=1)


@user_errors
def export(
    run_id: Annotated[str, typer.Option("--run", help="Run id (`bench list` shows them).")],
    out: Annotated[Path, typer.Option(help="Destination file, e.g. model.pt (TorchScript).")],
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out file.")] = False,
) -> None:
    """Save a run as one TorchScript file that runs with torch alone (features and class names inside)."""
    from bench.inference.export import export_run, load_exported

    path = export_run(results, run_id=run_id, out=out, overwrite=overwrite)
    _, meta = load_exported(path)
    console.print(
        f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): {meta['model']} run {run_id}; input mono "
        f"{meta['sample_rate']} Hz windows of {meta['window_samples']} samples; "
        f"load with torch.jit.load, metadata in its .metadata attribute",
        highlight=False,
    )


def _parse_on(values: list[str]) -> dict[str, Path]:
    from bench.errors import BenchError

    corpora: dict[str, Path] = {}
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep or not name or not folder:
            raise BenchError(f"--on {value}: expected NAME=FOLDER, e.g. --on interference=data/corpus_interference")
        if not Path(folder).is_dir():
            raise BenchError(f"--on {value}: {folder} is not a folder; give a corpus remix build wrote")
        corpora[name] = Path(folder)
    return corpora


def _cell(row, name: str) -> str:
    value, low, high = row[name], row[f"{name}_low"], row[f"{name}_high"]
    if value is None or value != value:
        return "—"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]" if low is not None else f"{value:.3f}"


@user_errors
def score(
    run_ids: Annotated[list[str], typer.Option("--run", help="Run id (repeatable).")],
    on: Annotated[list[str], typer.Option(help="NAME=FOLDER of a corpus to score on (repeatable).")],
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    out: Annotated[Path | None, typer.Option(help="Write the table as Markdown here too.")] = None,
) -> None:
    """Score finished runs on other corpora's validation folds (e.g. built with --empty-clips and
    --interference), with each run's own features and post-processing; with two corpora of the same
    clips, their paired difference."""
    from bench.evaluation.parallel import available_cores
    from bench.inference.transfer import METRICS, paired, score_on, score_table
    from bench.store import atomic_write_text, find_run

    corpora = _parse_on(on)
    rows, by_run = [], {}
    for run_id in run_ids:
        store = find_run(results, run_id)
        model = store.read_config().get("model", "?")
        for name, folder in corpora.items():
            target = results / "transfer" / store.run_id / name
            scored = score_on(store.path, folder, out_dir=target, num_jobs=available_cores())
            rows.append(dict(scored, run_id=store.run_id, model=model, corpus=name))
            by_run.setdefault(store.run_id, []).append((name, scored))
    table = score_table(rows)
    lines = ["| run | model | corpus | clips (no target) | " + " | ".join(METRICS) + " |"]
    lines.append("|" + "---|" * (4 + len(METRICS)))
    for _, row in table.iterrows():
        cells = [_cell(row, m) for m in METRICS]
        lines.append(
            f"| {row['run_id']} | {row['model']} | {row['corpus']} | {row['n_clips']} ({row['n_without_target']}) | "
            + " | ".join(cells)
            + " |"
        )
    names = list(corpora)
    if len(names) == 2:
        lines += ["", f"Paired differences {names[1]} - {names[0]} (same clips, same resamples; 95 % intervals):", ""]
        lines.append("| run | " + " | ".join(METRICS) + " |")
        lines.append("|" + "---|" * (1 + len(METRICS)))
        for run_id, scored in by_run.items():
            first, second = scored[0][1], scored[1][1]
            deltas = [paired(first, second, m) for m in METRICS]
            cells = [
                "—" if d["delta"] is None else f"{d['delta']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]" for d in deltas
            ]
            lines.append(f"| {run_id} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    console.print(text, markup=False, highlight=False)
    if out is not None:
        atomic_write_text(out, text)
        err_console.print(f"wrote {out}", highlight=False)
