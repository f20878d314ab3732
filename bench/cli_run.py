"""``bench run``: plan the runs, show their progress, train them here, in a pool or on a Dask cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

import models
from bench.cli_common import _gpu_list, _snrs
from bench.config import parse_options
from bench.errors import BenchError
from bench.training.grid import default_threads, plan_runs, run_grid
from remix.clitools import console, err_console, user_errors
from remix.progress import progress_bar


class _Display:
    """Rich progress over a grid: run k of n, epoch, loss, validation micro-AP, ETA. When the output
    is not a terminal (a log file, CI, a batch job), where the bar draws nothing, one line per
    finished run instead (:func:`bench.reporting.listing.run_line`)."""

    def __init__(self, epochs: int, *, results_dir: Path | None = None) -> None:
        self.epochs = epochs
        self.lines = not console.is_terminal
        self.progress = progress_bar(units=None, fields=("info",), console=console, enabled=not self.lines)
        self.task = None
        self.run_done = 0
        self.results_dir = results_dir

    def __call__(self, event: dict) -> None:
        kind = event["event"]
        if kind == "grid_start":
            if event["skipped"]:
                console.print(f"{event['skipped']} run(s) already done: skipped")
            self.task = self.progress.add_task("[bold]runs", total=max(1, event["total"] * self.epochs), info="")
            self.total = event["total"]
        elif kind == "run_start":
            self.run_done = 0
            self.progress.update(
                self.task, description=f"[bold]run {event['index'] + 1}/{event['total']}", info=escape(event["label"])
            )
        elif kind == "epoch":
            self.progress.advance(self.task, event["epoch"] - self.run_done if self.run_done else 1)
            self.run_done = event["epoch"]
            self.progress.update(
                self.task,
                info=(
                    f"epoch {event['epoch']}/{event['epochs']}  loss {event['train_loss']:.4f}  "
                    f"val micro-AP {event['val_micro_ap']:.3f}"
                ),
            )
        elif kind == "run_end":
            done = (event["index"] + 1) * self.epochs
            self.progress.update(
                self.task, completed=done, description=f"[bold]run {event['index'] + 1}/{event['total']}"
            )
            if event.get("failed"):
                self.progress.console.print(
                    f"[red]failed[/] {event['run_id']} {escape(event['label'])}: {escape(str(event['failed']))}",
                    highlight=False,
                )
            elif self.lines and self.results_dir is not None:
                from bench.reporting.listing import run_line

                line = run_line(self.results_dir, event["run_id"])
                text = f"run {event['index'] + 1}/{event['total']} {line}"
                self.progress.console.print(text, highlight=False, soft_wrap=True)


@user_errors
def run(
    ctx: typer.Context,
    all_runs: Annotated[bool, typer.Option("--all", help="The paper's grid (Tables 1-3).")] = False,
    zoo: Annotated[
        bool,
        typer.Option(
            "--zoo", help="The pooling benchmark: every weak-label pooling operator (models.mil); with --all too."
        ),
    ] = False,
    model: Annotated[
        str | None, typer.Option(help="One model, or several separated by commas: " + ", ".join(models.available()))
    ] = None,
    snr: Annotated[
        list[str] | None,
        typer.Option(help="SNRs in dB: --snr 0 10 20 (or repeated, or 0,10,20); default: every SNR of the corpus."),
    ] = None,
    alpha: Annotated[float | None, typer.Option(help="Reconstruction-loss weight (with --model).")] = None,
    corpus: Annotated[Path, typer.Option(help="A corpus built by `remix build`.")] = Path("data/corpus"),
    seeds: Annotated[int, typer.Option(help="Seeds per configuration (0..N-1).")] = 3,
    preset: Annotated[
        str,
        typer.Option(
            help="Training schedule: paper (GPU), cpu, cpu-full (cpu-full-64, cpu-full-32: finer time steps), smoke."
        ),
    ] = "cpu",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    folds: Annotated[bool, typer.Option("--folds", help="Cross-validation: each dev fold validates in turn.")] = False,
    compile: Annotated[bool, typer.Option("--compile/--no-compile", help="torch.compile the models.")] = False,
    gpus: Annotated[str | None, typer.Option(help="GPU indices, e.g. 0,1: one worker per GPU.")] = None,
    jobs: Annotated[int, typer.Option(help="On a CPU: runs trained at once, one process each.")] = 1,
    threads: Annotated[
        int | None, typer.Option(help="Torch threads per training process (default: the cores divided by --jobs).")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            help="Model option KEY=VALUE for --model (repeatable), e.g. attention=sigmoid_in_softmax, time_layer=conv."
        ),
    ] = None,
    ablations: Annotated[
        bool, typer.Option("--ablations", help="With --all: also Table 2's ablation rows (2AP attention variants).")
    ] = False,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Feature-cache folder (default: CORPUS/features, or "
            "$SEDREMIX_FEATURE_CACHE; a read-only corpus falls back to the "
            "user cache)."
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Train on a Dask cluster, one task per run: local:N or a "
            "scheduler's tcp://host:port (workers with a GPU: "
            "--resources GPU=1; corpus and results on a shared path)."
        ),
    ] = None,
    mixing: Annotated[
        str | None,
        typer.Option(
            help="Training clips: fixed (the corpus as built, the paper's) or online (fresh mixtures of the "
            "training folds' sources every epoch); default: the preset's."
        ),
    ] = None,
    augment: Annotated[
        str | None,
        typer.Option(
            help="Augmentation of the training inputs: none or shift (a random roll in time); default: the preset's."
        ),
    ] = None,
    loader_workers: Annotated[
        int | None,
        typer.Option(
            help="With --mixing online: processes rendering the next epoch's mixtures (default: "
            "$SEDREMIX_LOADER_WORKERS, else 1)."
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Start a --preset paper grid on a CPU even when it is estimated over an hour.")
    ] = False,
    evaluate: Annotated[
        str,
        typer.Option(
            help="After training: full (every metric, localisation with its resamples) or tagging (clip metrics "
            "only, in a fraction of the time; `bench localise` adds the localisation later)."
        ),
    ] = "full",
    deterministic: Annotated[
        bool,
        typer.Option(
            "--deterministic",
            help="Deterministic kernels and one thread per run: the same numbers every time on this machine "
            "(default: $SEDREMIX_DETERMINISTIC).",
        ),
    ] = False,
    precision: Annotated[
        str | None,
        typer.Option(
            help="auto (bf16 autocast where the device computes bf16 natively: a GPU with bf16, a CPU with "
            "AVX512-BF16 or AMX; float32 elsewhere), bf16 or fp32 (default: $SEDREMIX_PRECISION, else auto).",
        ),
    ] = None,
) -> None:
    """Train runs (skipping finished ones, resuming interrupted ones) and evaluate them."""
    from bench.training.options import RunOptions

    run_options = RunOptions.from_environment(
        evaluate=evaluate,
        deterministic=deterministic or None,
        precision=None if precision is None else precision.lower(),
        loader_workers=loader_workers,
        feature_cache=cache,
        threads=threads,
    )
    from bench.device import resolve_device, use_bf16
    from bench.presets import get_preset

    configs = plan_runs(
        corpus=corpus,
        all_runs=all_runs,
        zoo=zoo,
        model=model,
        snrs=_snrs(snr, ctx),
        alpha=alpha,
        seeds=seeds,
        preset=preset,
        folds=folds,
        options=parse_options(option),
        ablations=ablations,
        mixing=mixing,
        augment=augment,
    )
    if cluster is not None:
        _run_on_cluster(
            cluster,
            configs,
            corpus=corpus,
            results=results,
            device=device,
            compile=compile,
            gpus=gpus,
            preset=preset,
            options=run_options,
        )
        return
    dev = resolve_device("cuda" if gpus else device)
    gpu_list = _gpu_list(gpus)
    p = get_preset(preset)
    amp = use_bf16(run_options.precision, dev)
    if dev.type == "cpu" and preset == "paper":
        from bench.training.estimate import check_cpu_estimate

        check_cpu_estimate(configs, p, corpus=corpus, jobs=jobs, yes=yes, say=console.print, amp=amp)
    prior = "original init" if p.prior is None else f"class prior {p.prior:.3g}"
    cpu_text = ""
    if dev.type == "cpu":
        cpu_text = f", {jobs} process(es) x {run_options.threads or default_threads(jobs)} thread(s)"
    cpu_text += ", bf16 autocast" if amp else ", float32"
    console.print(
        f"{len(configs)} run(s), preset [bold]{escape(preset)}[/] ({escape(p.note)}; log-mel "
        f"{p.features.n_mels} bands, hop {p.features.hop_length}; {prior}), device {dev}{cpu_text}, "
        f"corpus {escape(str(corpus))}, results {escape(str(results))}",
        highlight=False,
    )
    _grid_with_display(
        configs,
        epochs=p.epochs,
        results_dir=results,
        corpus_dir=corpus,
        device=device,
        compile=compile,
        gpus=gpu_list,
        jobs=jobs,
        options=run_options,
    )


def _grid_with_display(configs, *, epochs: int, **grid_options) -> None:
    """:func:`bench.training.grid.run_grid` under the progress display; the summary line, one line per
    failed run, and exit code 1 when any failed."""

    results_dir = grid_options.get("results_dir")
    display = _Display(epochs, results_dir=None if results_dir is None else Path(results_dir))
    with display.progress:
        summary = run_grid(configs, callback=display, **grid_options)
    console.print(summary.line())
    for run_id, reason in summary.failed:
        err_console.print(f"[red]failed[/] {run_id}: {escape(str(reason))}", highlight=False)
    if summary.failed:
        raise typer.Exit(code=1)


def _run_on_cluster(
    cluster: str,
    configs,
    *,
    corpus: Path,
    results: Path,
    device: str,
    compile: bool,
    gpus: str | None,
    preset: str,
    options,
) -> None:
    """``bench run --cluster``: the grid through a Dask client, one task per run, each with ``options``
    (:class:`bench.training.options.RunOptions`)."""
    from bench.presets import get_preset
    from remix.cluster import cluster_client, parse_cluster

    address = parse_cluster(cluster)
    if gpus:
        raise BenchError(
            "--gpus and --cluster do not go together: on a cluster, start one worker per GPU with "
            "`dask worker ADDRESS --nthreads 1 --resources GPU=1`"
        )
    p = get_preset(preset)
    with cluster_client(address) as client:
        n = len(client.scheduler_info().get("workers", {}))
        console.print(
            f"{len(configs)} run(s), preset [bold]{escape(preset)}[/] ({escape(p.note)}), device {device} on the "
            f"workers, Dask cluster {escape(str(address))} ({n} worker(s)), corpus {escape(str(corpus))}, "
            f"results {escape(str(results))}",
            highlight=False,
        )
        _grid_with_display(
            configs,
            epochs=p.epochs,
            results_dir=results,
            corpus_dir=corpus,
            device=device,
            compile=compile,
            executor=client,
            options=options,
        )
