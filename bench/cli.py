"""The ``bench`` command line: train the paper's grid, report its tables, plot a run.

Each command parses its options, checks them against the corpus, and calls one
library function (:func:`bench.grid.run_grid`, :mod:`bench.report`, :mod:`bench.plots`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

import models
from bench.errors import BenchError
from remix.clitools import console, err_console, register_error, user_errors

register_error(BenchError)
register_error(models.ModelError)

app = typer.Typer(help="Train and evaluate the weakly supervised SED benchmark on a remix corpus.",
                  no_args_is_help=True, add_completion=False)


def _gpu_list(gpus: str | None) -> list[int] | None:
    if not gpus:
        return None
    try:
        return [int(g) for g in gpus.split(",") if g.strip()]
    except ValueError:
        raise BenchError(f"--gpus takes comma-separated GPU indices such as 0,1; found {gpus!r}") from None


def plan_runs(
    *,
    corpus: Path,
    all_runs: bool,
    model: str | None,
    snrs: list[float] | None,
    alpha: float | None,
    seeds: int,
    preset: str,
    folds: bool,
):
    """The run configs a ``bench run`` asks for, validated against the corpus (BenchError/ModelError)."""
    from bench.data import check_snr, corpus_snrs, read_clips
    from bench.grid import RunConfig, paper_grid
    from bench.presets import get_preset
    from bench.train import corpus_fingerprint

    get_preset(preset)
    if seeds < 1:
        raise BenchError(f"--seeds must be at least 1, found {seeds}")
    if all_runs == (model is not None):
        raise BenchError("give either --all (the paper's grid) or --model NAME, not both and not neither")
    clips = read_clips(corpus)
    for snr in snrs or []:
        check_snr(clips, snr)
    val_folds = sorted({int(f) for f in clips.loc[clips["split"] == "dev", "fold"]}) if folds else [4]
    if not folds and 4 not in {int(f) for f in clips["fold"]}:
        raise BenchError("the corpus has no dev fold 4 to validate on; rebuild it with 4 folds or pass --folds")
    use_snrs = list(snrs) if snrs else corpus_snrs(clips)
    fingerprint = corpus_fingerprint(clips)
    if all_runs:
        if alpha is not None:
            raise BenchError("--alpha applies to --model only; --all runs the paper's alphas")
        return paper_grid(snrs=use_snrs, seeds=seeds, preset=preset, val_folds=val_folds, corpus=fingerprint)
    cfg = models.make_config(model, alpha=alpha)  # unknown name or impossible alpha -> ModelError
    return [RunConfig(model=model, alpha=cfg.alpha, snr_db=float(s), seed=seed, preset=preset, val_fold=f,
                      corpus=fingerprint)
            for seed in range(seeds) for f in val_folds for s in use_snrs]


class _Display:
    """Rich progress over a grid: run k of n, epoch, loss, validation micro-AP, ETA."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=False,
        )
        self.task = None
        self.run_done = 0

    def __call__(self, event: dict) -> None:
        kind = event["event"]
        if kind == "grid_start":
            if event["skipped"]:
                console.print(f"{event['skipped']} run(s) already done: skipped")
            self.task = self.progress.add_task("runs", total=max(1, event["total"] * self.epochs), info="")
            self.total = event["total"]
        elif kind == "run_start":
            self.run_done = 0
            self.progress.update(self.task, description=f"run {event['index'] + 1}/{event['total']}",
                                 info=event["label"])
        elif kind == "epoch":
            self.progress.advance(self.task, event["epoch"] - self.run_done if self.run_done else 1)
            self.run_done = event["epoch"]
            self.progress.update(self.task, info=(
                f"epoch {event['epoch']}/{event['epochs']}  loss {event['train_loss']:.4f}  "
                f"val micro-AP {event['val_micro_ap']:.3f}"))
        elif kind == "run_end":
            done = (event["index"] + 1) * self.epochs
            self.progress.update(self.task, completed=done, description=f"run {event['index'] + 1}/{event['total']}")
            if event.get("failed"):
                self.progress.console.print(f"[red]failed[/] {event['run_id']} {event['label']}: {event['failed']}",
                                            highlight=False)


@app.command()
@user_errors
def run(
    all_runs: Annotated[bool, typer.Option("--all", help="The paper's grid (Tables 1-3).")] = False,
    model: Annotated[Optional[str], typer.Option(help="One model: " + ", ".join(models.available()))] = None,
    snr: Annotated[Optional[list[float]], typer.Option(help="SNR in dB (repeatable); default: every SNR of the corpus.")] = None,
    alpha: Annotated[Optional[float], typer.Option(help="Reconstruction-loss weight (with --model).")] = None,
    corpus: Annotated[Path, typer.Option(help="A corpus built by `remix build`.")] = Path("data/corpus"),
    seeds: Annotated[int, typer.Option(help="Seeds per configuration (0..N-1).")] = 3,
    preset: Annotated[str, typer.Option(help="Training schedule: paper (GPU), cpu, smoke.")] = "cpu",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    folds: Annotated[bool, typer.Option("--folds", help="Cross-validation: each dev fold validates in turn.")] = False,
    compile: Annotated[bool, typer.Option("--compile/--no-compile", help="torch.compile the models.")] = False,
    gpus: Annotated[Optional[str], typer.Option(help="GPU indices, e.g. 0,1: one worker per GPU.")] = None,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    cluster: Annotated[Optional[str], typer.Option(help="Train on a Dask cluster, one task per run: local:N or a "
                                                   "scheduler's tcp://host:port (workers with a GPU: "
                                                   "--resources GPU=1; corpus and results on a shared path).")] = None,
) -> None:
    """Train runs (skipping finished ones, resuming interrupted ones) and evaluate them."""
    from bench.grid import run_grid
    from bench.presets import get_preset
    from bench.train import resolve_device

    configs = plan_runs(corpus=corpus, all_runs=all_runs, model=model, snrs=snr, alpha=alpha, seeds=seeds,
                        preset=preset, folds=folds)
    if cluster is not None:
        _run_on_cluster(cluster, configs, corpus=corpus, results=results, device=device, compile=compile,
                        gpus=gpus, preset=preset)
        return
    dev = resolve_device("cuda" if gpus else device)
    gpu_list = _gpu_list(gpus)
    p = get_preset(preset)
    prior = "original init" if p.prior is None else f"class prior {p.prior:.3g}"
    console.print(f"{len(configs)} run(s), preset [bold]{preset}[/] ({p.note}; log-mel {p.features.n_mels} bands, "
                  f"hop {p.features.hop_length}; {prior}), device {dev}, corpus {corpus}, results {results}",
                  highlight=False)
    display = _Display(p.epochs)
    with display.progress:
        summary = run_grid(configs, results_dir=results, corpus_dir=corpus, device=device, compile=compile,
                           gpus=gpu_list, callback=display)
    console.print(summary.line())
    for run_id, reason in summary.failed:
        err_console.print(f"[red]failed[/] {run_id}: {reason}", highlight=False)
    if summary.failed:
        raise typer.Exit(code=1)


def _run_on_cluster(cluster: str, configs, *, corpus: Path, results: Path, device: str, compile: bool,
                    gpus: str | None, preset: str) -> None:
    """``bench run --cluster``: the grid through a Dask client, one task per run."""
    from bench.grid import run_grid
    from bench.presets import get_preset
    from remix.cluster import cluster_client, parse_cluster

    address = parse_cluster(cluster)
    if gpus:
        raise BenchError("--gpus and --cluster do not go together: on a cluster, start one worker per GPU with "
                         "`dask worker ADDRESS --nthreads 1 --resources GPU=1`")
    p = get_preset(preset)
    with cluster_client(address) as client:
        n = len(client.scheduler_info().get("workers", {}))
        console.print(f"{len(configs)} run(s), preset [bold]{preset}[/] ({p.note}), device {device} on the "
                      f"workers, Dask cluster {address} ({n} worker(s)), corpus {corpus}, results {results}",
                      highlight=False)
        display = _Display(p.epochs)
        with display.progress:
            summary = run_grid(configs, results_dir=results, corpus_dir=corpus, device=device, compile=compile,
                               executor=client, callback=display)
    console.print(summary.line())
    for run_id, reason in summary.failed:
        err_console.print(f"[red]failed[/] {run_id}: {reason}", highlight=False)
    if summary.failed:
        raise typer.Exit(code=1)


@app.command()
@user_errors
def report(
    latex: Annotated[bool, typer.Option("--latex", help="Write LaTeX tables under RESULTS/tables/.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Write Markdown tables under RESULTS/tables/.")] = False,
    split: Annotated[str, typer.Option(help="Which predictions: val or test.")] = "val",
    preset: Annotated[Optional[str], typer.Option(help="Only runs of this preset (when they mix presets).")] = None,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
) -> None:
    """Print Tables 1-3 beside the paper's and write them under RESULTS/tables/."""
    from bench.report import build_tables, print_tables, write_tables
    from bench.store import load_runs

    runs = load_runs(results)
    if runs.empty:
        raise BenchError(f"no runs under {results}; train some first (bench run --all --corpus DIR)")
    print_tables(build_tables(runs, split=split, preset=preset), console=console)
    if latex or markdown:
        for path in write_tables(runs, out_dir=Path(results) / "tables", latex=latex, markdown=markdown,
                                 split=split, preset=preset):
            console.print(f"wrote {path}", highlight=False)


@app.command()
@user_errors
def plot(
    run_id: Annotated[str, typer.Option("--run", help="Run id (folder name under RESULTS/runs).")],
    clip: Annotated[Optional[str], typer.Option(help="Clip id for Figure 2; default: the first validation clip.")] = None,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
) -> None:
    """Figure 2 for one clip and the training curves of a run, as PNG under RESULTS/plots/."""
    from bench.plots import plot_curves, plot_figure2
    from bench.train import infer_clip
    from remix.labels import EVENT_LABELS

    outputs, features, info = infer_clip(results, run_id=run_id, clip_id=clip)
    cfg = info["config"]
    title = f"{cfg['model']} (alpha {cfg['alpha']:g}), {cfg['snr_db']:g} dB, clip {info['clip_id']}, run {run_id}"
    out_dir = Path(results) / "plots"
    fig = plot_figure2(outputs, features=features, class_names=EVENT_LABELS, labels=info["labels"],
                       path=out_dir / f"figure2_{run_id}_{info['clip_id']}.png", title=title, hop_s=info["hop_s"])
    curves = plot_curves([info["run_dir"]], out_dir / f"curves_{run_id}.png", title=f"run {run_id}")
    for path in (fig, curves):
        console.print(f"wrote {path}", highlight=False)
