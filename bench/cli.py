"""The ``bench`` command line: train the paper's grid, report its tables, plot a run.

Each command parses its options, checks them against the corpus, and calls one
library function (:func:`bench.training.grid.run_grid`, :mod:`bench.reporting.report`, :mod:`bench.reporting.plots`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape

import models
from bench.cli_common import _MANY_VALUES, _snrs, _use_cache
from bench.cli_inference import _plot_detections, detect, export, score
from bench.cli_run import run
from bench.errors import BenchError
from bench.evaluation.catalogue import metric_names
from remix.clitools import App, console, register_error, user_errors

register_error(BenchError)
register_error(models.ModelError)

app = App(
    help="Train and evaluate the weakly supervised SED benchmark on a remix corpus.",
    no_args_is_help=True,
    add_completion=False,
)
app.command(context_settings=_MANY_VALUES)(run)


@app.command()
@user_errors
def report(
    latex: Annotated[bool, typer.Option("--latex", help="Write LaTeX tables under RESULTS/tables/.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Write Markdown tables under RESULTS/tables/.")] = False,
    split: Annotated[str, typer.Option(help="Which predictions: val or test.")] = "val",
    preset: Annotated[str | None, typer.Option(help="Only runs of this preset (when they mix presets).")] = None,
    standalone: Annotated[
        bool, typer.Option("--standalone", help="With --latex: also report.tex, a document around the tables.")
    ] = False,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
) -> None:
    """Print Tables 1-3 beside the paper's, the localisation table and, when pooling operators were
    trained (bench run --zoo), the pooling table; write them under RESULTS/tables/."""
    from bench.reporting.localisation import (
        build_localisation_table,
        print_localisation_table,
        write_localisation_table,
    )
    from bench.reporting.pooling import build_pooling_table, has_operator_runs, print_pooling_table, write_pooling_table
    from bench.reporting.render import print_tables
    from bench.reporting.report import build_tables, other_snrs, write_tables
    from bench.store import load_runs

    if standalone and not latex:
        raise BenchError("--standalone writes a LaTeX document around the tables: give --latex too")
    runs = load_runs(results)
    if runs.empty:
        raise BenchError(f"no runs under {results}; train some first (bench run --all --corpus DIR)")
    print_tables(build_tables(runs, split=split, preset=preset), console=console)
    print_localisation_table(build_localisation_table(runs, split=split, preset=preset), console=console)
    other = other_snrs(runs if preset is None else runs[runs["preset"] == preset])
    if other:
        words = " ".join(f"{s:g}" for s in other)
        console.print(
            f"Tables 1-3 hold the paper's SNRs (20, 10, 0 dB); the runs at {words} dB are in the localisation "
            f"table, and `bench table gap gmp gwrp atrous_ap 2ap_aux --snr {words}"
            + (f" --preset {preset}" if preset else "")
            + "` sets them side by side.",
            highlight=False,
            markup=False,
        )
    pooling = None
    if has_operator_runs(runs if preset is None else runs[runs["preset"] == preset]):
        pooling = build_pooling_table(runs, split=split, preset=preset)
        print_pooling_table(pooling, console=console)
    if latex or markdown:
        for path in write_tables(
            runs, out_dir=Path(results) / "tables", latex=latex, markdown=markdown, split=split, preset=preset
        ):
            console.print(f"wrote {escape(str(path))}", highlight=False)
        for path in write_localisation_table(
            runs, out_dir=Path(results) / "tables", latex=latex, markdown=markdown, split=split, preset=preset
        ):
            console.print(f"wrote {escape(str(path))}", highlight=False)
        if pooling is not None:
            for path in write_pooling_table(pooling, out_dir=Path(results) / "tables", latex=latex, markdown=markdown):
                console.print(f"wrote {escape(str(path))}", highlight=False)
        if latex and standalone:
            from bench.reporting.report import standalone_document
            from bench.store import atomic_write_text

            names = ["table1", "table2", "table3", "localisation"] + (["pooling"] if pooling is not None else [])
            path = atomic_write_text(Path(results) / "tables" / "report.tex", standalone_document(names))
            console.print(f"wrote {escape(str(path))} (pdflatex report.tex in that folder)", highlight=False)


@app.command()
@user_errors
def plot(
    run_id: Annotated[str | None, typer.Option("--run", help="Run id (folder name under RESULTS/runs).")] = None,
    clip: Annotated[str | None, typer.Option(help="Clip id for Figure 2; default: the first validation clip.")] = None,
    curves: Annotated[
        bool, typer.Option("--curves", help="Every run's validation curve, one panel per SNR, in one PNG.")
    ] = False,
    pool_params: Annotated[
        bool,
        typer.Option(
            "--pool-params",
            help="Each class's learned AutoPool alpha / power-pooling n against its mean event duration "
            "(runs of bench run --zoo), with Spearman's rank correlation.",
        ),
    ] = False,
    psd_roc: Annotated[
        bool, typer.Option("--psd-roc", help="PSD-ROC of each --system at --snr, with a 90 % resampled band.")
    ] = False,
    classes: Annotated[
        bool, typer.Option("--classes", help="Per-class AP and PSDS1 of each --system at --snr, 95 % whiskers.")
    ] = False,
    vs_snr: Annotated[
        bool, typer.Option("--vs-snr", help="--metric of each --system against SNR, with 95 % intervals.")
    ] = False,
    system: Annotated[
        list[str] | None,
        typer.Option(help="A system for --psd-roc/--classes/--vs-snr, as bench compare names it (repeatable)."),
    ] = None,
    snr: Annotated[
        list[float] | None,
        typer.Option(help="SNR of --psd-roc/--classes (one); SNRs of --vs-snr (repeatable; default: every SNR)."),
    ] = None,
    metric: Annotated[str, typer.Option(help="The metric of --vs-snr (a catalogue name).")] = "psds1",
    split: Annotated[str, typer.Option(help="val or test.")] = "val",
    preset: Annotated[
        str | None, typer.Option(help="With --curves, --pool-params or the system figures: only runs of this preset.")
    ] = None,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    cache: Annotated[Path | None, typer.Option(help="Feature-cache folder (as for bench run).")] = None,
) -> None:
    """Figure 2, the detections (reference against detected events) and the training curves of a
    run for one clip (--run), every run's validation curves (--curves), the learned pooling
    parameters (--pool-params), or systems side by side (--psd-roc, --classes, --vs-snr), under
    RESULTS/plots/."""
    _use_cache(cache)
    from bench.inference.checkpoint import infer_clip
    from bench.reporting.plots import plot_curves, plot_figure2, plot_validation_overlay
    from bench.store import load_runs
    from remix.labels import EVENT_LABELS

    kinds = [k for k, on in (("psd_roc", psd_roc), ("classes", classes), ("vs_snr", vs_snr)) if on]
    if run_id is None and not curves and not pool_params and not kinds:
        raise BenchError(
            "give --run RUN_ID (Figure 2 and that run's curves), --curves (every run's curves), "
            "--pool-params (the learned pooling parameters) or --psd-roc/--classes/--vs-snr with --system"
        )
    out_dir = Path(results) / "plots"
    written = []
    if kinds:
        written += _system_figures(
            results, kinds, systems=system or [], snrs=snr or [], metric=metric, split=split, preset=preset
        )
    if pool_params:
        from bench.reporting.poolparams import write_pool_parameters

        runs = load_runs(results)
        paths, text = write_pool_parameters(runs if preset is None else runs[runs["preset"] == preset], out_dir=out_dir)
        console.print(text, markup=False, highlight=False)
        written += paths
    if curves:
        runs = load_runs(results)
        if preset is not None:
            runs = runs[runs["preset"] == preset]
        if runs.empty:
            raise BenchError(
                f"no runs under {results}"
                + (f" with preset {preset!r}" if preset else "")
                + "; train some first (bench run ...)"
            )
        name = f"curves_all_{preset}.png" if preset else "curves_all.png"
        written.append(plot_validation_overlay(runs, out_dir / name, title="validation micro-AP of every run"))
    if run_id is not None:
        from bench.store import find_run

        store = find_run(results, run_id)  # a unique prefix names the run; reference:NAME a shipped model
        run_id = store.run_id
        outputs, features, info = infer_clip(store.root, run_id=run_id, clip_id=clip)
        cfg = info["config"]
        title = f"{cfg['model']} (alpha {cfg['alpha']:g}), {cfg['snr_db']:g} dB, clip {info['clip_id']}, run {run_id}"
        written.append(
            plot_figure2(
                outputs,
                features=features,
                class_names=EVENT_LABELS,
                labels=info["labels"],
                path=out_dir / f"figure2_{run_id}_{info['clip_id']}.png",
                title=title,
                hop_s=info["hop_s"],
            )
        )
        written.append(plot_curves([info["run_dir"]], out_dir / f"curves_{run_id}.png", title=f"run {run_id}"))
        written += _plot_detections(outputs, features, info, out_dir=out_dir, title=title)
    for path in written:
        console.print(f"wrote {escape(str(path))}", highlight=False)


def _system_figures(
    results: Path, kinds: list[str], *, systems: list[str], snrs: list[float], metric: str, split: str, preset
) -> list[Path]:
    """``bench plot --psd-roc/--classes/--vs-snr``: :func:`bench.reporting.figures.write_figures`."""
    from bench.evaluation.parallel import available_cores
    from bench.reporting.figures import write_figures
    from bench.store import load_runs

    if split not in ("val", "test"):
        raise BenchError(f"--split takes val or test, found {split!r}")
    runs = load_runs(results)
    if preset is not None:
        runs = runs[runs["preset"] == preset]
    if runs.empty:
        raise BenchError(f"no runs under {results}" + (f" with preset {preset!r}" if preset else ""))
    one = [k for k in kinds if k != "vs_snr"]
    if one and len(snrs) != 1:
        raise BenchError(f"--{one[0].replace('_', '-')} is drawn at one SNR: give one --snr, found {len(snrs)}")
    every = sorted({float(v) for v in runs["snr_db"].dropna()})
    synthetic = bool(runs.get("corpus_synthetic", pd.Series(dtype=bool)).fillna(False).astype(bool).any())
    return write_figures(
        runs,
        systems,
        out_dir=Path(results) / "plots",
        snr_db=snrs[0] if one else None,
        snrs=snrs or every,
        kinds=kinds,
        metric=metric,
        preset=preset,
        split=split,
        synthetic=synthetic,
        num_jobs=available_cores(),
    )


@app.command("list")
@user_errors
def list_command(
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    model: Annotated[str | None, typer.Option(help="Only runs of this model.")] = None,
    snr: Annotated[float | None, typer.Option(help="Only runs at this SNR (dB).")] = None,
    preset: Annotated[str | None, typer.Option(help="Only runs of this preset.")] = None,
    status: Annotated[str | None, typer.Option(help="Only runs with this status: done, running, failed.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per run) instead of a table.")
    ] = False,
    detail: Annotated[
        bool,
        typer.Option(
            "--detail",
            help="Also how each run was trained: model options, mixing, augmentation, epochs, schedule cycles, "
            "converged or not, median seconds per epoch.",
        ),
    ] = False,
) -> None:
    """List the runs of a results folder: what was trained, its status, best epoch, micro-AP, wall time.

    Piped, it prints every column whole, tab-separated (``bench list --detail > runs.tsv``).
    """
    import json

    from bench.reporting.listing import list_runs, runs_to_json, runs_to_rich

    frame = list_runs(results, model=model, snr_db=snr, preset=preset, status=status)
    if as_json:
        typer.echo(json.dumps(runs_to_json(frame), indent=2))
        return
    if frame.empty:
        console.print(f"no runs under {results} match", highlight=False)
        return
    if not console.is_terminal:  # piped: every column whole, tab-separated (a table would be cut to 80 columns)
        from bench.reporting.listing import DETAIL_COLUMNS, LIST_COLUMNS, varying_columns

        columns = [*LIST_COLUMNS, *(DETAIL_COLUMNS if detail else varying_columns(frame))]
        typer.echo(frame[columns].to_csv(sep="\t", index=False, na_rep="", float_format="%.4g"), nl=False)
        return
    counts = frame["status"].value_counts()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    console.print(runs_to_rich(frame, title=f"{len(frame)} run(s) under {results}: {summary}", detail=detail))


def _filter_runs(runs, *, snr: list[float] | None, model: list[str] | None, preset: str | None):
    """The rows of ``runs`` (:func:`bench.store.load_runs`) of that preset, those models and those SNRs."""
    import numpy as np

    if preset is not None:
        runs = runs[runs["preset"] == preset]
    if model:
        runs = runs[runs["model"].isin(model)]
    if snr:
        runs = runs[np.isclose(runs["snr_db"].astype(float).to_numpy()[:, None], np.asarray(snr)[None]).any(1)]
    return runs


@app.command(context_settings=_MANY_VALUES)
@user_errors
def probe(
    ctx: typer.Context,
    snr: Annotated[list[str] | None, typer.Option(help="Only runs at these SNRs in dB: --snr 0 20.")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Only runs of this model (repeatable).")] = None,
    preset: Annotated[str | None, typer.Option(help="Only runs of this preset.")] = None,
    random_corpus: Annotated[
        Path | None,
        typer.Option(help="A corpus built with --recipe random from the same sources, to score as well."),
    ] = None,
    on: Annotated[
        list[str] | None,
        typer.Option(
            help="Another corpus of the same clip layout to score, as NAME=DIR (repeatable), e.g. "
            "reverberant=data/corpus_reverb: its validation fold at each run's SNR."
        ),
    ] = None,
    shift: Annotated[
        list[float] | None, typer.Option(help="Time shifts in seconds (repeatable); default 0, 0.5, ..., 2.5.")
    ] = None,
    table: Annotated[str, typer.Option(help="Name of the tables written: RESULTS/tables/NAME.md and NAME.csv.")] = (
        "probe"
    ),
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
) -> None:
    """Position probe: finished runs' best checkpoints scored on time-shifted validation clips
    (and a random-recipe fold, and other corpora); writes RESULTS/tables/probe.md and probe.csv."""

    from bench.inference.probe import DEFAULT_SHIFTS_S, probe_runs, summarise, to_markdown
    from bench.store import atomic_write_text, load_runs

    others = _named_corpora(on or [])
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", table):
        raise BenchError(f"--table takes a plain file name (letters, digits, '_', '-', '.'), found {table!r}")
    runs = load_runs(results)
    runs = _filter_runs(runs, snr=_snrs(snr, ctx), model=model, preset=preset)
    if runs.empty:
        raise BenchError(f"no runs under {results} match the filters; train some first (bench run ...)")
    raw = probe_runs(
        runs, shifts_s=tuple(shift) if shift else DEFAULT_SHIFTS_S, random_corpus=random_corpus, others=others
    )
    summary = summarise(raw)
    synthetic = (
        bool(runs.get("corpus_synthetic", False).fillna(False).astype(bool).any())
        if "corpus_synthetic" in runs
        else False
    )
    text = to_markdown(summary, synthetic=synthetic)
    console.print(text, markup=False, highlight=False)
    out_dir = Path(results) / "tables"
    for path in (
        atomic_write_text(out_dir / f"{table}.md", text),
        atomic_write_text(out_dir / f"{table}.csv", raw.to_csv(index=False)),
    ):
        console.print(f"wrote {escape(str(path))}", highlight=False)


def _named_corpora(values: list[str]) -> dict[str, Path]:
    """``NAME=DIR`` pairs of ``bench probe --on``, checked: each a corpus folder, each name once."""
    out: dict[str, Path] = {}
    for value in values:
        name, sep, folder = value.partition("=")
        name = name.strip()
        if not sep or not name or not folder:
            raise BenchError(f"--on takes NAME=DIR (e.g. reverberant=data/corpus_reverb), found {value!r}")
        if name in out or name in ("shift", "random recipe"):
            raise BenchError(f"--on {value}: the name {name!r} is taken; give each corpus its own name")
        path = Path(folder).expanduser()
        if not (path / "manifest" / "clips.parquet").is_file():
            raise BenchError(
                f"--on {value}: expected a corpus folder built by remix build, found no manifest in {path}"
            )
        out[name] = path
    return out


@app.command()
@user_errors
def compare(
    first: Annotated[str, typer.Argument(help="A system: MODEL[,alpha=A][,snr=S][,KEY=VALUE...], e.g. 2ap_aux.")],
    second: Annotated[str, typer.Argument(help="The system to compare it with, e.g. atrous_ap or gwrp,snr=0.")],
    snr: Annotated[float | None, typer.Option(help="SNR in dB of both systems (a system's own snr=... wins).")] = None,
    preset: Annotated[str | None, typer.Option(help="Only runs of this preset.")] = None,
    split: Annotated[str, typer.Option(help="Which clips: val or test.")] = "val",
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    against: Annotated[
        Path | None,
        typer.Option(
            help="Take SECOND's runs from this results folder instead (e.g. the same system trained with "
            "another --precision, on another machine or by another version)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object per metric).")] = False,
    by_class: Annotated[
        bool,
        typer.Option(
            "--by-class",
            help="Per class: the paired difference of its AP, with its interval and a Holm-corrected p-value "
            "(which classes differ); also RESULTS/tables/compare_by_class.csv.",
        ),
    ] = False,
) -> None:
    """Paired difference FIRST - SECOND of every metric, with its 95 % interval and p-value: the same
    resamples of the same clips for both systems (and their seeds resampled)."""
    import json

    from bench.evaluation.bootstrap import method
    from bench.reporting.intervals import System, compare_systems
    from bench.store import load_runs

    if split not in ("val", "test"):
        raise BenchError(f"--split takes val or test, found {split!r}")
    runs = load_runs(results)
    if runs.empty:
        raise BenchError(f"no runs under {results}; train some first (bench run ...)")
    second_runs = None
    if against is not None:
        second_runs = load_runs(against)
        if second_runs.empty:
            raise BenchError(f"no runs under --against {against}; give a results folder with runs")
    a = System.parse(first, snr_db=snr, preset=preset)
    b = System.parse(second, snr_db=snr, preset=preset)
    if by_class:
        from bench.reporting.intervals import compare_by_class
        from bench.store import atomic_write_text

        table = compare_by_class(runs, a, b, split=split, second_runs=second_runs)

        path = atomic_write_text(Path(results) / "tables" / "compare_by_class.csv", table.to_csv(index=False))
    else:
        table = compare_systems(runs, a, b, split=split, second_runs=second_runs)
    if as_json:
        console.print_json(json.dumps(table.to_dict(orient="records")))
        return
    from rich.table import Table as RichTable

    where = "" if against is None else f" in {against}"
    out = RichTable(title=f"{escape(a.label)}  minus  {escape(b.label)}{escape(where)}  ({split})")
    first_column = "class (AP)" if by_class else "metric"
    for name, justify in ((first_column, "left"), ("first", "right"), ("second", "right"), ("difference", "right")):
        out.add_column(name, justify=justify)  # type: ignore[arg-type]
    out.add_column("95 % interval", justify="right")
    out.add_column("p", justify="right")
    if by_class:
        out.add_column("Holm p", justify="right")

    def number(value) -> str:
        return "—" if value is None or value != value else f"{value:.3f}"

    def p_text(p, n_boot) -> str:
        return "—" if p is None or p != p else (f"≤ {1 / n_boot:.3f}" if p <= 1 / n_boot else f"{p:.3f}")

    for row in table.to_dict(orient="records"):
        cells = [
            row["class"] if by_class else row["metric"],
            f"{number(row['first'])} ({row['n_first']})",
            f"{number(row['second'])} ({row['n_second']})",
            f"{row['difference']:+.3f}"
            if row["difference"] is not None and row["difference"] == row["difference"]
            else "—",
            escape(f"[{row['low']:+.3f}, {row['high']:+.3f}]") if row["low"] is not None else "—",
            p_text(row["p"], row["n_boot"]),
        ]
        if by_class:
            cells[-1] = p_text(row["p"], row["n_boot"])
            cells.append(f"[bold]{number(row['p_holm'])}[/]" if row["differs"] else number(row["p_holm"]))
        out.add_row(*cells)
    console.print(out)
    console.print(
        f"[dim]{escape(method(split))}; (n): runs per system; p: two-sided, from the resampled differences.[/]",
        highlight=False,
    )
    if by_class:
        differ = [str(c) for c, d in zip(table["class"], table["differs"]) if d]
        console.print(
            f"{len(differ)} of {len(table)} classes differ (Holm-corrected p ≤ 0.05 over the {len(table)} classes)"
            + (f": {', '.join(differ)}" if differ else "")
            + f"; wrote {path}",
            highlight=False,
            markup=False,
        )


@app.command()
@user_errors
def cost(
    preset: Annotated[str, typer.Option(help="The preset whose resolution and width the models are built at.")] = (
        "cpu-full"
    ),
    model: Annotated[
        list[str] | None, typer.Option(help="Only these models (repeatable); default: those with runs.")
    ] = None,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
) -> None:
    """Cost per system: parameters, MACs per 10 s clip at the preset's resolution, and the training
    seconds of its finished runs; writes RESULTS/tables/cost.md."""
    from bench.presets import get_preset
    from bench.reporting.cost import cost_markdown, cost_table
    from bench.reporting.listing import list_runs
    from bench.store import atomic_write_text

    get_preset(preset)
    for name in model or []:
        models.make_config(name)  # an unknown name: one line listing the known ones
    runs = list_runs(results) if Path(results).exists() else pd.DataFrame()
    frame = cost_table(runs, preset=preset, names=model or None)
    synthetic = bool(
        not runs.empty and runs.get("corpus", pd.Series(dtype=str)).astype(str).str.contains("stand-in").any()
    )
    text = cost_markdown(frame, preset=preset, synthetic=synthetic)
    console.print(text, markup=False, highlight=False)
    path = atomic_write_text(Path(results) / "tables" / "cost.md", text)
    console.print(f"wrote {escape(str(path))}", highlight=False)


@app.command(context_settings=_MANY_VALUES)
@user_errors
def table(
    ctx: typer.Context,
    systems: Annotated[
        list[str] | None,
        typer.Argument(
            help="Systems as MODEL[,KEY=VALUE...] (e.g. 2ap_aux 2ap_aux,mixing=online atrous_ap,augment=shift)."
        ),
    ] = None,
    snr: Annotated[list[str] | None, typer.Option(help="SNRs in dB: --snr 0 20 (default: 20).")] = None,
    preset: Annotated[str | None, typer.Option(help="Only runs of this preset.")] = None,
    metric: Annotated[
        str, typer.Option(help="A metric of the catalogue: " + ", ".join(metric_names()) + ", or ap_<class>.")
    ] = "micro_ap",
    split: Annotated[str, typer.Option(help="Which clips: val or test.")] = "val",
    name: Annotated[str, typer.Option(help="Write RESULTS/tables/NAME.md and NAME.csv.")] = "systems",
    resolution: Annotated[
        bool,
        typer.Option(
            "--resolution",
            help="The resolution table instead: every system with runs of cpu-full, cpu-full-64 and cpu-full-32 at "
            "one --snr (default 20), micro-AP and PSDS1 per hop with the finest-minus-coarsest paired difference; "
            "writes RESULTS/tables/resolution.{md,tex}.",
        ),
    ] = False,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
) -> None:
    """Any systems side by side, a column per SNR, with 95 % intervals; a system trained with fresh
    mixtures or augmentation also gets its paired difference from the fixed corpus. With
    --resolution: the systems at each time resolution of cpu-full."""
    from bench.reporting.systems import systems_markdown, systems_table
    from bench.store import atomic_write_text, load_runs

    if split not in ("val", "test"):
        raise BenchError(f"--split takes val or test, found {split!r}")
    systems = list(systems or [])
    numbers = [w for w in systems if re.fullmatch(r"[-+]?\d+(\.\d*)?", w)]  # --snr 0 20: the 20 lands here
    systems = [w for w in systems if w not in numbers]
    if numbers and not snr:
        raise BenchError(f"unexpected argument {numbers[0]!r}: a system starts with a model name; SNRs go after --snr")
    snrs = _snrs([*(snr or []), *numbers], ctx) or [20.0]
    if resolution:
        from bench.reporting.ladder import build_resolution_table, print_resolution_table, write_resolution_table

        if systems or preset:
            raise BenchError("--resolution takes no systems and no --preset: it shows every system at every hop")
        if len(snrs) != 1:
            raise BenchError(f"--resolution takes one --snr, found {len(snrs)}: one table per SNR")
        ladder = build_resolution_table(load_runs(results), snr_db=snrs[0], split=split)
        print_resolution_table(ladder, console=console)
        for path in write_resolution_table(ladder, out_dir=Path(results) / "tables"):
            console.print(f"wrote {escape(str(path))}", highlight=False)
        return
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise BenchError(f"--name takes a plain file name (letters, digits, '_', '-', '.'), found {name!r}")
    if not systems:
        raise BenchError("give at least one system, e.g. bench table 2ap_aux 2ap_aux,mixing=online --snr 0 20")
    runs = load_runs(results)
    if runs.empty:
        raise BenchError(f"no runs under {results}; train some first (bench run ...)")
    frame = systems_table(runs, systems, snrs=snrs, preset=preset, metric=metric, split=split)
    if frame["n"].sum() == 0:
        raise BenchError(f"no finished run of these systems under {results}; bench list shows what there is")
    synthetic = "corpus_synthetic" in runs and bool(runs["corpus_synthetic"].fillna(False).astype(bool).any())
    title = f"{split} {metric} of {len(systems)} system(s)" + (f", preset {preset}" if preset else "")
    text = systems_markdown(frame, metric=metric, split=split, title=title, synthetic=synthetic)
    console.print(text, markup=False, highlight=False)
    out_dir = Path(results) / "tables"
    for path in (
        atomic_write_text(out_dir / f"{name}.md", text),
        atomic_write_text(out_dir / f"{name}.csv", frame.to_csv(index=False)),
    ):
        console.print(f"wrote {escape(str(path))}", highlight=False)


@app.command(context_settings=_MANY_VALUES)
@user_errors
def localise(
    ctx: typer.Context,
    run: Annotated[list[str] | None, typer.Option(help="Run id (repeatable); default: every finished run.")] = None,
    snr: Annotated[list[str] | None, typer.Option(help="Only runs at these SNRs in dB: --snr 0 20.")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Only runs of this model (repeatable).")] = None,
    preset: Annotated[str | None, typer.Option(help="Only runs of this preset.")] = None,
    corpus: Annotated[Path | None, typer.Option(help="The runs' corpus (default: each run's own).")] = None,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    only: Annotated[
        str | None,
        typer.Option(
            help="Add this one metric to localised runs, keeping their post-processing and every other "
            "number (psds1_mfi: median-filter-independent PSDS1)."
        ),
    ] = None,
) -> None:
    """Redo finished runs' localisation from their stored outputs (no model needed): choose the
    post-processing on validation, rewrite the DCASE files, PSDS and F1 scores in metrics.json."""

    from bench.evaluation.run import ADDABLE, relocalise_runs
    from bench.store import load_runs

    if only is not None and only not in ADDABLE:
        raise BenchError(f"--only {only}: not a metric that can be added alone; use one of {', '.join(ADDABLE)}")
    if not results.is_dir():
        raise BenchError(f"results folder {results} does not exist; pass --results with the folder `bench run` wrote")
    runs = load_runs(results)
    runs = runs[runs["status"] == "done"] if "status" in runs else runs.iloc[0:0]
    if run:
        unknown = sorted(set(run) - set(runs["run_id"]))
        if unknown:
            raise BenchError(f"no finished run {', '.join(unknown)} under {results}; `bench list` shows the runs")
        runs = runs[runs["run_id"].isin(run)]
    runs = _filter_runs(runs, snr=_snrs(snr, ctx), model=model, preset=preset)
    if runs.empty:
        raise BenchError(f"no finished runs under {results} match the filters; train some first (bench run ...)")

    def line(run_id: str, metrics: dict | None, error: str | None) -> None:
        if error is not None:
            console.print(f"[red]failed[/] {run_id}: {escape(error)}", highlight=False)
            return
        loc = (metrics or {}).get("val", {}).get("localisation", {})
        if only is not None:
            value = loc.get(only)
            console.print(f"{run_id}  val {only} {'-' if value is None else f'{value:.3f}'}", highlight=False)
            return
        psds1, f1 = loc.get("psds1"), loc.get("event_f1")
        console.print(
            f"{run_id}  val PSDS1 {'-' if psds1 is None else f'{psds1:.3f}'}  "
            f"event F1 {'-' if f1 is None else f'{f1:.3f}'}",
            highlight=False,
        )

    failed = relocalise_runs(
        results_dir=results, run_ids=list(runs["run_id"]), corpus_dir=corpus, only=only, on_run=line
    )
    console.print(f"{len(runs) - len(failed)} run(s) {'scored' if only else 'localised'}, {len(failed)} failed")
    if failed:
        raise typer.Exit(code=1)


app.command()(detect)
app.command()(export)
app.command(context_settings=_MANY_VALUES)(score)
