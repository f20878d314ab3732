"""The ``remix`` command line: build and inspect a noisy remix corpus.

Each command parses its options, calls one library function and prints a
summary; errors a user can cause are one red line and exit code 2.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from remix.clitools import App, console, err_console, user_errors
from remix.errors import RemixError
from remix.options import DEFAULT_STANDIN, FORMATS, RECIPES, SNR_MODES, STANDINS, default, help_text

app = App(
    help="Noisy remix corpus for weakly supervised sound event detection.", no_args_is_help=True, add_completion=False
)


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A string Enum of an option's choices, for Typer (the choices are defined in :mod:`remix.options`)."""
    return Enum(name, {value: value for value in values}, type=str)  # type: ignore[return-value]


Recipe = _choices("Recipe", RECIPES)
SnrMode = _choices("SnrMode", SNR_MODES)
AudioFormat = _choices("AudioFormat", FORMATS)
Standin = _choices("Standin", STANDINS)


def parse_snrs(values: list[str], extra: list[str], *, command: str = "remix build") -> list[float]:
    """SNRs from ``--snr 0 10 20`` (the values after the first arrive as extra
    arguments), ``--snr 0 --snr 10`` or ``--snr 0,10,20``; ``command`` is named in the message
    about an argument that is neither."""
    out: list[float] = []
    for token in [*values, *extra]:
        for part in token.replace(",", " ").split():
            try:
                out.append(float(part))
            except ValueError:
                raise RemixError(
                    f"unexpected argument {part!r}: expected SNR values in dB after --snr "
                    f"(e.g. --snr 0 10 20) or a known option (see {command} --help)."
                ) from None
    if not out:
        raise RemixError("no SNR given: pass at least one, e.g. --snr 0 10 20.")
    return out


def _load_build_modules() -> None:
    """Import the build's modules (NumPy, pandas, pyarrow, soxr ...) the cheap way, once per process.

    When NumPy is not loaded yet, its BLAS gets one thread unless ``OPENBLAS_NUM_THREADS``
    says otherwise: remix does no linear algebra, and an idle OpenBLAS pool spins for
    about 0.1 s of CPU after start-up (2 % of a 639-clip build's CPU time, ``perf``).
    The modules load with the cyclic garbage collector paused (loading them makes
    little cyclic garbage, and the collector's passes over their many objects cost
    about 3 % of the same build) and are then frozen out of its later passes
    (``gc.freeze``).
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        import remix.build  # noqa: F401
        import remix.buildconfig  # noqa: F401
    finally:
        if was_enabled:
            gc.enable()
    gc.freeze()


def _build_options(ctx: typer.Context, config: Path | None) -> dict:
    """The options of ``remix build``: those given on the command line, else the --config file's, else
    the defaults (enum choices as their strings, the SNRs as floats)."""
    from remix.buildconfig import read_config

    def given(name: str) -> bool:  # by the source's name: typer may bring its own copy of click
        source = ctx.get_parameter_source(name)
        return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

    from_file = read_config(config) if config is not None else {}
    options = {}
    for name, value in ctx.params.items():
        if name in ("config", "from_recipes"):
            continue
        value = value if given(name) or name not in from_file else from_file[name]
        options[name] = value.value if isinstance(value, Enum) else value
    if (given("scenes") or given("events")) and not given("standin"):
        options["standin"] = None  # a stand-in corpus's build.toml names its kind; real folders replace it
    extra = list(ctx.args)
    if given("snr"):
        options["snr"] = parse_snrs(options["snr"] or [], extra)
    elif extra:
        raise RemixError(f"unexpected argument {extra[0]!r}: expected a known option (see remix build --help).")
    elif not options["snr"] and ctx.params.get("from_recipes") is None:
        raise RemixError(
            "no SNR given: pass at least one, e.g. --snr 0 10 20"
            + (f", or write snr = [0, 10, 20] in {config}." if config is not None else ".")
        )
    return options


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@user_errors
def build(
    ctx: typer.Context,
    snr: Annotated[list[str] | None, typer.Option("--snr", help=help_text("snr"), show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", help=help_text("out"))] = default("out"),
    scenes: Annotated[Path | None, typer.Option(help=help_text("scenes"))] = default("scenes"),
    events: Annotated[Path | None, typer.Option(help=help_text("events"))] = default("events"),
    standin: Annotated[Standin | None, typer.Option(help=help_text("standin"), show_default=False)] = None,
    licences: Annotated[str | None, typer.Option(help=help_text("licences"))] = default("licences"),
    recipe: Annotated[Recipe, typer.Option(help=help_text("recipe"))] = Recipe(default("recipe")),
    clips_per_fold: Annotated[int, typer.Option(help=help_text("clips_per_fold"))] = default("clips_per_fold"),
    test_clips: Annotated[int | None, typer.Option(help=help_text("test_clips"))] = default("test_clips"),
    seed: Annotated[int, typer.Option(help=help_text("seed"))] = default("seed"),
    workers: Annotated[int, typer.Option(help=help_text("workers"))] = default("workers"),
    snr_mode: Annotated[SnrMode, typer.Option(help=help_text("snr_mode"))] = SnrMode(default("snr_mode")),
    format: Annotated[AudioFormat, typer.Option("--format", help=help_text("format"))] = AudioFormat(default("format")),
    stems: Annotated[bool, typer.Option(help=help_text("stems"))] = default("stems"),
    strict: Annotated[bool, typer.Option(help=help_text("strict"))] = default("strict"),
    commercial: Annotated[bool, typer.Option(help=help_text("commercial"))] = default("commercial"),
    overwrite: Annotated[bool, typer.Option(help=help_text("overwrite"))] = default("overwrite"),
    events_per_clip: Annotated[int | None, typer.Option(help=help_text("events_per_clip"))] = default(
        "events_per_clip"
    ),
    max_event_s: Annotated[float, typer.Option(help=help_text("max_event_s"))] = default("max_event_s"),
    min_event_s: Annotated[float, typer.Option(help=help_text("min_event_s"))] = default("min_event_s"),
    max_polyphony: Annotated[int, typer.Option(help=help_text("max_polyphony"))] = default("max_polyphony"),
    fade_ms: Annotated[float | None, typer.Option(help=help_text("fade_ms"))] = default("fade_ms"),
    empty_clips: Annotated[float, typer.Option(help=help_text("empty_clips"))] = default("empty_clips"),
    repeats: Annotated[bool, typer.Option(help=help_text("repeats"))] = default("repeats"),
    interference: Annotated[int, typer.Option(help=help_text("interference"))] = default("interference"),
    targets: Annotated[str | None, typer.Option(help=help_text("targets"))] = default("targets"),
    ref_lufs: Annotated[float, typer.Option(help=help_text("ref_lufs"))] = default("ref_lufs"),
    reverb: Annotated[str, typer.Option(help=help_text("reverb"), metavar="none|simulated|DIR")] = default("reverb"),
    rt60_s: Annotated[tuple[float, float], typer.Option(help=help_text("rt60_s"), metavar="LOW HIGH")] = tuple(
        default("rt60_s")
    ),
    room_floor_m: Annotated[
        tuple[float, float], typer.Option(help=help_text("room_floor_m"), metavar="LOW HIGH")
    ] = tuple(default("room_floor_m")),
    room_height_m: Annotated[
        tuple[float, float], typer.Option(help=help_text("room_height_m"), metavar="LOW HIGH")
    ] = tuple(default("room_height_m")),
    source_distance_m: Annotated[
        tuple[float, float], typer.Option(help=help_text("source_distance_m"), metavar="LOW HIGH")
    ] = tuple(default("source_distance_m")),
    progress: Annotated[bool, typer.Option(help=help_text("progress"))] = default("progress"),
    cluster: Annotated[str | None, typer.Option(help=help_text("cluster"))] = default("cluster"),
    from_recipes: Annotated[
        Path | None,
        typer.Option(
            "--from-recipes",
            help="Render exactly the mixtures of a JSON Lines file (remix export-recipes writes one): their "
            "plans, SNRs and render options; --scenes/--events say where the sources are here.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file of build options, keyed by "
            "the option names (snr = [0, 10, 20], clips_per_fold = 100 "
            "...); options given here override it. Every corpus holds "
            "one, build.toml, that repeats its build.",
        ),
    ] = None,
) -> None:
    """Build the noisy remix corpus (audio per SNR, Parquet manifests, DCASE TSVs, corpus card)."""
    _load_build_modules()
    from remix.build import RunOptions, SourceFolders, build_corpus
    from remix.buildconfig import BuildConfig

    opts = _build_options(ctx, config)
    run = RunOptions(
        workers=opts["workers"],
        progress=opts["progress"],
        overwrite=opts["overwrite"],
        strict=opts["strict"],
        commercial=opts["commercial"],
        command=shlex.join(["remix", *sys.argv[1:]]) if sys.argv[1:2] == ["build"] else None,
    )
    if from_recipes is not None:
        from remix.recipes_json import read_recipes

        corpus = read_recipes(from_recipes, scenes_dir=opts["scenes"], events_dir=opts["events"]).build_arguments()
    else:
        corpus_config = BuildConfig.from_options(opts)
        corpus = dict(
            recipe=corpus_config.recipe_options(),
            render=corpus_config.render_settings(),
            seed=corpus_config.seed,
            sources=SourceFolders(**corpus_config.source_folders()),
            reverb=corpus_config.reverb_settings(),
        )
    out, workers, cluster = opts["out"], opts["workers"], opts["cluster"]
    if cluster is None:
        summary = build_corpus(out, **corpus, run=run)
    else:
        from remix.cluster import cluster_client, parse_cluster

        address = parse_cluster(cluster)
        if workers != 1:
            raise RemixError(
                "--workers and --cluster do not go together: the cluster's workers render "
                "(use --cluster local:N for N processes on this machine)."
            )
        with cluster_client(address) as client:
            console.print(
                f"rendering on the Dask cluster {address} "
                f"({len(client.scheduler_info().get('workers', {}))} worker(s))",
                highlight=False,
            )
            summary = build_corpus(out, **corpus, run=dataclasses.replace(run, executor=client, batch_size=None))
    if summary.skipped:
        console.print(
            f"[yellow]skipped {summary.skipped} unusable source file(s)[/]: listed in "
            f"{escape(str(summary.out_dir / 'manifest' / 'skipped.parquet'))}"
        )
    else:
        console.print("all source files usable (none skipped)")
    if summary.synthetic:
        console.print(
            "[yellow]Built from the synthetic stand-in sources, not TAU 2019 and FSDKaggle2018: "
            "numbers on this corpus are not the paper's (see CORPUS.md).[/]"
        )
    kind = "synthetic stand-in" if summary.synthetic else "real"
    console.print(
        f"[green]built[/] {escape(str(summary.out_dir))}: {summary.n_clips} clips x {len(summary.snrs)} SNR(s) = "
        f"{summary.n_audio_files} audio files ({kind} sources); rendered {summary.rendered}, "
        f"kept {summary.reused} from an earlier run; {summary.seconds:.1f} s"
    )


@app.command()
@user_errors
def inspect(
    corpus: Annotated[Path, typer.Argument(help="Corpus folder written by remix build.")],
    quick: Annotated[bool, typer.Option(help="Read file headers only (does not find truncated FLAC).")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Summarise a built corpus and check every listed file; exit 1 when something is wrong."""
    from rich.table import Table

    from remix.inspect import inspect_corpus

    report = inspect_corpus(corpus, decode=not quick, progress=progress)
    if report.synthetic:
        console.print("[yellow]built from the synthetic stand-in sources (numbers are not the paper's)[/]")
    table = Table(title="clips per split and fold (each SNR)")
    table.add_column("split / fold")
    table.add_column("clips", justify="right")
    for key, n in report.clips_per_fold.items():
        table.add_row(key, str(n))
    console.print(table)
    console.print(
        "audio files per SNR: " + ", ".join(f"{k} dB: {v}" for k, v in report.clips_per_snr.items()), markup=False
    )
    console.print(
        f"classes: {len(report.events_per_class)} with events; "
        + ", ".join(f"{k} {v}" for k, v in report.events_per_class.items()),
        markup=False,
    )
    if report.ok:
        console.print(f"[green]ok[/]: {report.n_files_checked} files checked, no problem found")
        return
    err_console.print(f"[bold red]{len(report.problems)} problem(s)[/] in {escape(str(report.out_dir))}:")
    for line in report.problems[:50]:
        err_console.print(f"  - {line}", highlight=False, soft_wrap=True, markup=False)
    if len(report.problems) > 50:
        err_console.print(f"  ... and {len(report.problems) - 50} more")
    raise typer.Exit(code=1)


@app.command("export-recipes")
@user_errors
def export_recipes(
    corpus: Annotated[Path, typer.Argument(help="Corpus folder written by remix build.")],
    out: Annotated[Path, typer.Option(help="JSON Lines file to write (one mixture per line).")] = Path("recipes.jsonl"),
    format: Annotated[str, typer.Option("--format", help="json: JSON Lines, SpAudSyn's field names.")] = "json",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
) -> None:
    """Write every mixture of a corpus as JSON (scene, events, onsets, SNR, room, seed), for
    remix build --from-recipes or another engine."""
    _load_build_modules()
    from remix.recipes_json import export_recipes as export

    if format != "json":
        raise RemixError(f"--format {format}: the recipes are written as json (JSON Lines) only.")
    if out.exists() and (out.is_dir() or not overwrite):
        raise RemixError(f"--out {out} exists; choose a new file name, or --overwrite to replace it.")
    n = export(corpus, out)
    console.print(f"[green]wrote[/] {escape(str(out))}: {n} mixtures", highlight=False)


@app.command()
@user_errors
def standin(
    sources: Annotated[Standin, typer.Option("--sources", help=help_text("standin"))] = Standin(DEFAULT_STANDIN),
    out: Annotated[
        Path | None,
        typer.Option(help="Folder to write it into (default: the cache, where remix build looks for it)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes (the files do not depend on it).")] = 1,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Write the built-in stand-in source corpora (what remix build uses without --scenes/--events)."""
    from remix.standin import ensure_sources

    if workers < 1:
        raise RemixError(f"workers must be at least 1, got {workers}.")
    written = ensure_sources(out, events=str(sources.value), workers=workers, progress=progress)
    for note in written.notes:
        err_console.print(f"[yellow]stand-in:[/] {escape(note)}", highlight=False)
    console.print(f"[green]stand-in[/] ({sources.value}) in {escape(str(written.root))}", highlight=False)
    console.print(f"  scenes: {escape(str(written.scenes_dir))}", highlight=False)
    console.print(f"  events: {escape(str(written.events_dir))}", highlight=False)


from remix.fetch_cli import fetch as _fetch  # noqa: E402  (registered last: a separate module)

app.command("fetch")(_fetch)
