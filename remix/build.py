"""Build a noisy remix corpus: check sources, plan, render through an executor, write manifests.

:func:`build_corpus` takes the corpus options as the objects that carry them
(:class:`~remix.recipe.RecipeOptions` for the clip plans,
:class:`~remix.render.RenderSettings` for the audio, and the seed), where the
sources lie (:class:`SourceFolders`) and how to run (:class:`RunOptions`: workers,
executor, progress, overwrite, strict...; none of it changes the corpus). Its steps:

1. Resolve the sources (the real TAU 2019 + FSDKaggle2018 folders, or the
   embedded stand-in when neither is given) and read their tables.
2. Check every source file the build may use (decoded once, results cached in
   ``.build/source_check.parquet``); unusable files are skipped and listed.
3. Plan every clip up front (:mod:`remix.recipe`) from one seed.
4. Refuse to mix with an earlier build of other options in the same folder;
   otherwise render the clips that have no resume record yet, in batches
   through an executor. Each clip writes its audio (all SNRs) then its record.
5. Assemble the manifests, DCASE TSVs, ``corpus.json``, the corpus options as
   ``build.toml`` (:mod:`remix.buildconfig`: ``remix build --config`` repeats the
   build from it) and the corpus card.

Killed at any moment and run again with the same options, a build redoes only
the unfinished clips; the result is byte-identical to an uninterrupted build,
whatever the number of workers.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import soundfile as sf

from remix import __version__
from remix.atomic import read_json
from remix.buildconfig import CONFIG_NAME, corpus_toml
from remix.errors import RemixError
from remix.licences import (
    check_licence_pool,
    excluded_by_licence,
    licences_markdown,
    non_commercial_reasons,
    parse_licences,
)
from remix.manifest import (
    BUILD_DIR,
    CLIP_SCHEMA,
    MANIFEST_DIR,
    ORIGIN_FIELDS,
    SKIPPED_SCHEMA,
    corpus_card,
    event_schema,
    record_path,
    remove_partials,
    write_dcase_tsvs,
    write_json,
    write_table,
    write_text,
)
from remix.options import DEFAULT_STANDIN, STANDINS
from remix.outdir import check_disk_space, locked_build, prepare_out_dir
from remix.progress import progress_bar
from remix.recipe import ClipPlan, RecipeOptions, Rooms, plan_corpus, plan_digest
from remix.render import RenderSettings, render_batch
from remix.reverb import ReverbOptions, check_responses
from remix.sources import check_sources, read_fsd2018, read_tau2019
from remix.sources.record import record_sources
from remix.workers import die_with_parent

MIN_SCENE_FRACTION = 0.9
"""A scene recording must last at least this fraction of a clip (shorter ones are skipped)."""

MIN_EVENT_S = 0.1
"""Shortest usable event source (s)."""


@dataclasses.dataclass(frozen=True)
class BuildSummary:
    """What a build did.

    Attributes
    ----------
    out_dir : Path
        The corpus folder.
    n_clips : int
        Clips per SNR (all splits).
    snrs : tuple of float
        The SNRs.
    n_audio_files : int
        Mixes written or kept (clips x SNRs).
    rendered, reused : int
        Clips rendered by this run, and clips kept from an earlier, interrupted one.
    skipped : int
        Unusable source files left out.
    synthetic : bool
        Whether the stand-in sources were used.
    seconds, render_seconds : float
        Wall time of the whole build and of the rendering step.
    plan_digest : str
        Hash of the clip plans.
    """

    out_dir: Path
    n_clips: int
    snrs: tuple[float, ...]
    n_audio_files: int
    rendered: int
    reused: int
    skipped: int
    synthetic: bool
    seconds: float
    render_seconds: float
    plan_digest: str


logger = logging.getLogger(__name__)

MAX_WORKERS = 256
"""Most worker processes :func:`build_corpus` starts itself."""


@dataclasses.dataclass(frozen=True)
class SourceFolders:
    """Where the source corpora lie.

    Attributes
    ----------
    scenes_dir, events_dir : Path or None
        TAU Urban Acoustic Scenes 2019 development folder and the folder holding
        ``FSDKaggle2018.*``. Give both, or neither for the built-in stand-in.
    standin_dir : Path or None
        Where the stand-in is written (once) and read when neither folder is
        given; default the user cache (:func:`remix.standin.writer.default_cache_dir`).
    standin : {"recorded", "procedural", "recorded-gpl"}, optional
        What the stand-in's events are made of (:data:`remix.options.STANDINS`); None: the default,
        :data:`remix.options.DEFAULT_STANDIN` (:attr:`standin_kind`). Only without the two folders.
    licences : tuple of str, optional
        Only event sources under these licences are placed (short keys of
        :mod:`remix.licences`: ``("cc0", "mit")``); the others are listed as skipped.
        None: every licence.
    """

    scenes_dir: Path | None = None
    events_dir: Path | None = None
    standin_dir: Path | None = None
    standin: str | None = None
    licences: tuple[str, ...] | None = None

    @property
    def standin_kind(self) -> str:
        """The stand-in kind a build without source folders uses: :attr:`standin`, else the default."""
        return DEFAULT_STANDIN if self.standin is None else self.standin

    def validate(self) -> None:
        """Raise :class:`RemixError` when only one of the two folders is given, a stand-in kind with
        them, or licences no source spells."""
        if self.licences is not None:
            parse_licences(self.licences)
        if self.standin is not None and self.standin not in STANDINS:
            raise RemixError(f"--standin is one of {', '.join(STANDINS)}; got {self.standin!r}.")
        if self.scenes_dir is not None and self.standin is not None:
            raise RemixError(
                f"--standin {self.standin} chooses the built-in stand-in's events, but --scenes and --events "
                "name real source folders; drop one or the other."
            )
        if (self.scenes_dir is None) != (self.events_dir is None):
            given, missing = ("--scenes", "--events") if self.events_dir is None else ("--events", "--scenes")
            raise RemixError(
                f"only {given} was given: the corpus needs both the scene folder (--scenes, TAU Urban "
                f"Acoustic Scenes 2019 development) and the event folder (--events, FSDKaggle2018); "
                f"add {missing}, or give neither to use the built-in stand-in."
            )

    def resolve(self, *, progress: bool) -> tuple[Path, Path, bool]:
        """The two folders as absolute paths, and whether they hold the stand-in (written first when needed)."""
        self.validate()
        if self.scenes_dir is None or self.events_dir is None:
            from remix.standin import ensure_sources

            syn = ensure_sources(self.standin_dir, events=self.standin_kind, progress=progress)
            for note in syn.notes:
                logger.warning("stand-in: %s", note)
            return Path(syn.scenes_dir), Path(syn.events_dir), True
        scenes_dir = Path(self.scenes_dir).expanduser().resolve()
        events_dir = Path(self.events_dir).expanduser().resolve()
        return scenes_dir, events_dir, _is_standin(scenes_dir)


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How a build runs; none of it changes the corpus.

    Attributes
    ----------
    workers : int
        Processes for checking and rendering (ignored when ``executor`` is given).
    executor : concurrent.futures.Executor or distributed.Client, optional
        Runs the checks and the rendering (a process pool, a Dask client, see
        :mod:`remix.cluster`...). Every worker must see the sources and the corpus
        folder at the same paths as this process.
    batch_size : int or None
        Clips per task handed to the executor; None: about four tasks per cluster
        worker, 8 to 64 clips each (:func:`remix.cluster.task_size`).
    progress : bool
        Show progress bars (standard error).
    overwrite : bool
        Replace an earlier build of other options in the corpus folder.
    strict : bool
        Fail when any source file is unusable instead of skipping it.
    commercial : bool
        Refuse, before writing anything, a corpus that may not be used commercially (TAU scenes,
        CC-BY-NC events: :func:`remix.licences.non_commercial_reasons`).
    command : str, optional
        The command line, quoted in the corpus card.
    """

    workers: int = 1
    executor: Any = None
    batch_size: int | None = 8
    progress: bool = True
    overwrite: bool = False
    strict: bool = False
    commercial: bool = False
    command: str | None = None

    def validate(self) -> None:
        """Raise :class:`RemixError` for an impossible number of workers or batch size."""
        if self.workers < 1:
            raise RemixError(f"workers must be at least 1, got {self.workers}.")
        if self.workers > MAX_WORKERS:
            raise RemixError(
                f"--workers {self.workers} is more processes than this builder starts (at most "
                f"{MAX_WORKERS}); pass an executor (a cluster client) for more."
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise RemixError(f"batch size must be at least 1, got {self.batch_size}.")


def _is_standin(scenes_dir: Path) -> bool:
    return any((p / "standin.json").is_file() for p in (scenes_dir, scenes_dir.parent))


def _known_lengths(cache_file: Path | None) -> dict[str, tuple[int, int]]:
    """(frames, rate) per path from the source-check cache, for files unchanged since."""
    if cache_file is None or not Path(cache_file).is_file():
        return {}
    try:
        table = pd.read_parquet(cache_file, columns=["path", "size", "mtime_ns", "frames", "sample_rate"])
    except (OSError, ValueError, KeyError):
        return {}
    known = {}
    for path, size, mtime, frames, rate in table.itertuples(index=False):
        try:
            st = os.stat(path)
        except OSError:
            continue
        if (st.st_size, st.st_mtime_ns) == (size, mtime) and frames > 0 and rate > 0:
            known[path] = (int(frames), int(rate))
    return known


def _with_lengths(
    events: pd.DataFrame, *, events_dir: Path, usable: set[str], sample_rate: int, cache_file: Path | None = None
) -> pd.DataFrame:
    """Add ``n_samples`` (length at the output rate; 0 for unusable files) and ``source_file``."""
    events = events.copy()
    known = _known_lengths(cache_file)
    n_samples = []
    for path in events["path"]:
        if path in usable:
            if path in known:
                frames, rate = known[path]
            else:
                info = sf.info(path)
                frames, rate = info.frames, info.samplerate
            n_samples.append(max(1, int(round(frames * sample_rate / rate))))
        else:
            n_samples.append(0)
    events["n_samples"] = n_samples
    prefix = str(events_dir).rstrip(os.sep) + os.sep
    events["source_file"] = [
        p[len(prefix) :] if p.startswith(prefix) else os.path.relpath(p, events_dir) for p in events["path"]
    ]
    return events


def outside(paths: pd.Series, folder: Path) -> pd.DataFrame:
    """The paths of a source table that lie outside ``folder`` once ``..`` is taken literally (a ``../``
    or an absolute file name in the dataset's CSV), each with its reason: such files never get into
    a corpus, whatever they hold. A folder of symbolic links to the dataset's files (a common way
    to assemble one) is inside: the names are checked, not where links lead."""
    root = Path(os.path.normpath(Path(folder).absolute()))
    rows = []
    for path in dict.fromkeys(str(p) for p in paths):
        if not Path(os.path.normpath(Path(path).absolute())).is_relative_to(root):
            rows.append(
                {"path": path, "reason": f"outside the source folder {root} (the dataset's CSV leads out of it)"}
            )
    return pd.DataFrame(rows, columns=["path", "reason"])


def _check(
    scenes: pd.DataFrame,
    events: pd.DataFrame,
    *,
    options: RecipeOptions,
    out_dir: Path,
    executor: Executor | None,
    progress: bool,
    scenes_dir: Path,
    events_dir: Path,
) -> pd.DataFrame:
    """Every source file a plan may use, with the reason it is unusable (None: usable): files outside
    their source folder are refused unread (:func:`outside`), the others are decoded and checked."""
    cache = out_dir / BUILD_DIR / "source_check.parquet"
    used = events[(events["split"] == "test") | events["manually_verified"].astype(bool)]
    refused = [outside(scenes["path"], scenes_dir), outside(used["path"], events_dir)]
    away = set().union(*(set(r["path"]) for r in refused))
    tables = [
        *refused,
        check_sources(
            [Path(p) for p in scenes["path"] if str(p) not in away],
            min_duration_s=MIN_SCENE_FRACTION * options.clip_duration_s,
            executor=executor,
            cache_file=cache,
            progress=progress,
        ),
        check_sources(
            [Path(p) for p in used["path"] if str(p) not in away],
            min_duration_s=MIN_EVENT_S,
            executor=executor,
            cache_file=cache,
            progress=progress,
        ),
    ]
    return pd.concat([t for t in tables if len(t)], ignore_index=True)


_MIN_AUDIO_BYTES = 45
"""Smallest size of a finished audio file (a WAV header is 44 bytes)."""


def _record_ok(out_dir: Path, plan: ClipPlan) -> bool:
    record = read_json(record_path(out_dir, plan.clip_id))
    if not isinstance(record, dict):
        return False
    files = [r["audio_path"] for r in record.get("clips", [])]
    files += [r["scene_stem_path"] for r in record.get("clips", []) if r.get("scene_stem_path")]
    files += [r["stem_path"] for r in record.get("events", []) if r.get("stem_path")]
    base = str(out_dir)
    for f in files:  # present and not empty (a power cut can leave an empty file behind a written record)
        try:
            if os.stat(os.path.join(base, f)).st_size < _MIN_AUDIO_BYTES:
                return False
        except OSError:
            return False
    return True


def _render(
    pending: list[ClipPlan],
    *,
    settings: RenderSettings,
    out_dir: Path,
    executor: Executor | None,
    batch_size: int,
    progress: bool,
    total: int,
) -> None:
    batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
    with progress_bar(enabled=progress, fields=("rate",)) as bar:
        task = bar.add_task("rendering clips", total=total, completed=total - len(pending), rate="")
        started = time.perf_counter()
        done = 0

        def advance(n: int) -> None:  # the rate of this run's clips (not of those kept from an earlier one)
            nonlocal done
            done += n
            rate = done / max(time.perf_counter() - started, 1e-9)
            bar.update(task, advance=n, rate=f"{rate:.1f} clips/s")

        if executor is None:
            for batch in batches:
                advance(len(render_batch(batch, settings=settings, out_dir=out_dir)))
            return
        futures: set[Future] = set()
        try:
            for batch in batches:
                futures.add(executor.submit(render_batch, batch, settings=settings, out_dir=out_dir))
            while futures:
                finished, futures = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    advance(len(fut.result()))
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


def _cluster_executor(executor: Any) -> Executor | None:
    """The executor of a Dask client (any other executor as it is)."""
    from remix.cluster import as_executor

    return as_executor(executor)


def _task_size(n_clips: int, executor: Executor | None) -> int:
    """Clips per task when none is set: a few tasks per cluster worker, many clips each."""
    from remix.cluster import n_workers, task_size

    return task_size(n_clips, workers=n_workers(executor) if executor is not None else None)


def build_rooms(reverb: ReverbOptions, *, sample_rate: int) -> tuple[Rooms | None, pd.DataFrame | None]:
    """What the plans draw rooms from, and the response files that cannot serve (path, reason)."""
    if not reverb.active:
        return None, None
    if reverb.simulated:
        return Rooms(options=reverb), None
    folder = reverb.folder
    assert folder is not None
    usable, bad = check_responses(folder, sample_rate=sample_rate)
    if not usable:
        raise RemixError(
            f"--reverb {folder}: none of its {len(bad)} WAV file(s) is a usable impulse response "
            f"(first: {bad[0][1]}); give a folder of decodable, non-silent responses."
        )
    table = pd.DataFrame(bad, columns=["path", "reason"]) if bad else None
    return Rooms(options=reverb, files=tuple(usable)), table


def _assemble(plans: list[ClipPlan], out_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    clip_rows, event_rows = [], []
    for plan in plans:
        record = json.loads(record_path(out_dir, plan.clip_id).read_text(encoding="utf-8"))
        clip_rows.extend(record["clips"])
        event_rows.extend(record["events"])
    clips = pd.DataFrame(clip_rows, columns=CLIP_SCHEMA.names).sort_values(["clip_id", "snr_db"], kind="stable")
    interference = any(not e.target for p in plans for e in p.events)
    schema = event_schema(reverb=any(p.room is not None for p in plans), interference=interference)
    events = pd.DataFrame(event_rows, columns=schema.names).sort_values(
        ["clip_id", "snr_db", "event_index"], kind="stable"
    )
    if interference:  # a clip without interference events writes no target column in its record
        events["target"] = events["target"].astype(object).where(events["target"].notna(), True).astype(bool)
    return clips.reset_index(drop=True), events.reset_index(drop=True)


def _file_system_errors(fn: Callable[..., BuildSummary]) -> Callable[..., BuildSummary]:
    """Report an OSError (disk full, permissions, a file vanishing) or a worker that died as a RemixError."""

    @functools.wraps(fn)
    def wrapper(out_dir: Path, **kwargs: Any) -> BuildSummary:
        try:
            return fn(out_dir, **kwargs)
        except OSError as exc:
            raise RemixError(
                f"file system error: {exc}. Finished clips are kept; fix the cause and run the "
                "same command again to resume."
            ) from None
        except BrokenProcessPool:
            raise RemixError(
                "a worker process ended abruptly (killed, or out of memory). Finished clips are "
                "kept; run the same command again to resume, with fewer --workers if memory is "
                "short."
            ) from None

    return wrapper


def plan_sources(
    scenes: pd.DataFrame,
    events: pd.DataFrame,
    *,
    events_dir: Path,
    usable: set,
    recipe: RecipeOptions,
    seed: int,
    rooms: Rooms | None,
    cache_file: Path | None,
) -> tuple[pd.DataFrame, list[ClipPlan], str]:
    """The one planning path of a build and of a built corpus read back (:func:`remix.fresh.corpus_sources`):
    the usable events with their lengths (``cache_file``: the source-check cache), every clip's plan
    and the plan digest.

    Parameters
    ----------
    scenes, events : pd.DataFrame
        The source tables (:func:`remix.sources.read_tau2019`, :func:`remix.sources.read_fsd2018`).
    events_dir : Path
    usable : set of str
        Paths of the source files a plan may use.
    recipe : RecipeOptions
    seed : int
    rooms : Rooms or None
    cache_file : Path or None

    Returns
    -------
    (events with lengths, plans, digest)
    """
    events = _with_lengths(
        events, events_dir=events_dir, usable=usable, sample_rate=recipe.sample_rate, cache_file=cache_file
    )
    plans = plan_corpus(scenes, events, options=recipe, seed=seed, usable=usable, rooms=rooms)
    return events, plans, plan_digest(plans)


def _normalised(recipe: RecipeOptions, render: RenderSettings) -> tuple[RecipeOptions, RenderSettings]:
    """The options with their numbers in one type (so that ``corpus.json`` reads the same whoever made them)."""
    recipe = dataclasses.replace(
        recipe,
        clips_per_fold=int(recipe.clips_per_fold),
        max_event_s=float(recipe.max_event_s),
        min_event_s=float(recipe.min_event_s),
        max_polyphony=int(recipe.max_polyphony),
    )
    render = dataclasses.replace(
        render, snrs=tuple(float(s) for s in render.snrs), ref_lufs=float(render.ref_lufs), stems=bool(render.stems)
    )
    return recipe, render


@_file_system_errors
@locked_build
def build_corpus(
    out_dir: Path,
    *,
    recipe: RecipeOptions,
    render: RenderSettings,
    seed: int = 0,
    sources: SourceFolders = SourceFolders(),
    run: RunOptions = RunOptions(),
    reverb: ReverbOptions = ReverbOptions(),
    plans: Sequence[ClipPlan] | None = None,
) -> BuildSummary:
    """Build (or finish building) a noisy remix corpus in ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Corpus folder (new, empty, or an earlier build of the same options to resume).
    recipe : RecipeOptions
        What decides the clip plans: recipe, clips per fold, test clips, events
        per clip, event lengths, polyphony, fades (:mod:`remix.recipe`).
    render : RenderSettings
        How the plans become audio: the SNRs (every clip is written at each, with
        the same layout), SNR definition, scene loudness, container, stems. Its
        sample rate and clip length must be the recipe's (as they are by default).
    seed : int
        Seed of every random choice.
    sources : SourceFolders
        The source folders; default the built-in stand-in.
    run : RunOptions
        Workers or executor, batch size, progress bars, overwrite, strict, the
        command line for the card. The output does not depend on any of them.
    reverb : ReverbOptions
        Reverberation per event (:mod:`remix.reverb`); default dry, as the paper.
        Response files that cannot serve are skipped and listed with the sources.
    plans : sequence of ClipPlan, optional
        Render exactly these clips instead of planning them (``remix build --from-recipes``,
        :mod:`remix.recipes_json`); their sources must be usable.

    Returns
    -------
    BuildSummary

    Raises
    ------
    RemixError
        For impossible options, wrong source folders, unusable files under
        ``run.strict``, or an ``out_dir`` holding a different build.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir).expanduser().resolve()
    recipe.validate()
    render.validate()
    recipe, render = _normalised(recipe, render)
    if (render.sample_rate, render.clip_samples) != (recipe.sample_rate, recipe.clip_samples):
        raise RemixError(
            f"the render settings write {render.clip_samples} samples at {render.sample_rate} Hz "
            f"but the recipe plans {recipe.clip_samples} samples at {recipe.sample_rate} Hz; "
            "give RenderSettings the recipe's sample_rate and clip_samples."
        )
    run.validate()
    reverb.validate()
    check_disk_space(out_dir, options=recipe, settings=render)
    if not 0 <= int(seed) < 2**63:
        raise RemixError(f"the seed must be a non-negative integer, got {seed}.")

    progress, batch_size = run.progress, run.batch_size
    scenes_dir, events_dir, synthetic = sources.resolve(progress=progress)
    scenes = read_tau2019(scenes_dir)
    events = read_fsd2018(events_dir)

    own_pool = None
    executor = _cluster_executor(run.executor)
    if executor is None and run.workers > 1:
        own_pool = executor = ProcessPoolExecutor(max_workers=run.workers, initializer=die_with_parent)
        own_pool.submit(int).result()  # start the workers now, before any progress-bar thread exists
    try:
        fingerprint = {
            "recipe": recipe.to_dict(),
            "render": render.to_dict(),
            "seed": int(seed),
            "scenes_dir": str(scenes_dir),
            "events_dir": str(events_dir),
        }
        if reverb.active:  # a dry build's fingerprint reads as it always has
            fingerprint["reverb"] = reverb.to_dict()
        if sources.licences is not None:
            fingerprint["licences"] = sorted(sources.licences)
        prepare_out_dir(out_dir, fingerprint, overwrite=run.overwrite, claim=False)
        checked = _check(
            scenes,
            events,
            options=recipe,
            out_dir=out_dir,
            executor=executor,
            progress=progress,
            scenes_dir=scenes_dir,
            events_dir=events_dir,
        )
        rooms, bad_responses = build_rooms(reverb, sample_rate=recipe.sample_rate)
        if bad_responses is not None:
            checked = pd.concat([checked, bad_responses], ignore_index=True)
        bad = checked[checked["reason"].notna()].drop_duplicates("path").reset_index(drop=True)
        if run.strict and len(bad):
            listing = "; ".join(f"{p} ({r})" for p, r in zip(bad["path"][:20], bad["reason"][:20]))
            more = f"; and {len(bad) - 20} more" if len(bad) > 20 else ""
            raise RemixError(
                f"{len(bad)} source file(s) are unusable and --strict is set: {listing}{more}. "
                "Replace or remove them, or drop --strict to skip them."
            )
        if sources.licences is not None:
            bad = pd.concat([bad, excluded_by_licence(events, sources.licences)], ignore_index=True)
            bad = bad.drop_duplicates("path").reset_index(drop=True)
        usable = set(checked.loc[checked["reason"].isna(), "path"]) - set(bad["path"])
        if sources.licences is not None:
            check_licence_pool(events, usable, licences=sources.licences, needed=recipe.n_events)
        if plans is None:
            events, plans, digest = plan_sources(
                scenes,
                events,
                events_dir=events_dir,
                usable=usable,
                recipe=recipe,
                seed=int(seed),
                rooms=rooms,
                cache_file=out_dir / BUILD_DIR / "source_check.parquet",
            )
        else:  # mixtures given as they are (remix build --from-recipes): their sources must be usable
            plans = sorted(plans, key=lambda p: p.clip_id)
            used = {p.scene_path for p in plans} | {e.source_path for p in plans for e in p.events}
            unusable = sorted(used - usable)
            if unusable:
                raise RemixError(
                    f"{len(unusable)} source file(s) the recipes use are missing or unusable here ({unusable[0]}); "
                    "give the folders that hold them with --scenes and --events."
                )
            digest = plan_digest(plans)
        fingerprint["plan_digest"] = digest
        kind = (read_json(scenes_dir.parent / "standin.json") or {}).get("events", "procedural") if synthetic else ""
        licences = [] if kind == "procedural" else [e.license for p in plans for e in p.events]  # its are mimicry
        not_commercial = non_commercial_reasons(synthetic=synthetic, licences=licences)
        if run.commercial and not_commercial:
            raise RemixError(f"--commercial: this corpus may not be used commercially: {'; '.join(not_commercial)}.")
        prepare_out_dir(out_dir, fingerprint, overwrite=run.overwrite)
        remove_partials(out_dir)

        render_started = time.perf_counter()
        pending = [p for p in plans if not _record_ok(out_dir, p)]
        _render(
            pending,
            settings=render,
            out_dir=out_dir,
            executor=executor,
            batch_size=batch_size or _task_size(len(pending), executor),
            progress=progress,
            total=len(plans),
        )
        render_seconds = time.perf_counter() - render_started
    finally:
        if own_pool is not None:
            own_pool.shutdown(wait=True, cancel_futures=True)
    # again at the end: temporaries of writers that died during this build (a worker killed with
    # its group may write on for a moment after a resume's first sweep) never stay behind
    remove_partials(out_dir)

    clips, placed = _assemble(plans, out_dir)
    manifest = out_dir / MANIFEST_DIR
    schema = event_schema(
        reverb=any(p.room is not None for p in plans), interference=any(not e.target for p in plans for e in p.events)
    )
    origins = None
    if synthetic:  # the stand-in's own module, loaded only for a build on it
        from remix.standin.notice import placed_with_origins, source_origins, standin_card_section

        origins = source_origins(events_dir)
    if origins is not None:
        placed = placed_with_origins(placed, origins)
        schema = pa.schema([*schema, *(pa.field(n, t) for n, t in ORIGIN_FIELDS)])
    write_table(manifest / "clips.parquet", clips, CLIP_SCHEMA)
    write_table(manifest / "events.parquet", placed, schema)
    write_table(manifest / "skipped.parquet", bad[["path", "reason"]], SKIPPED_SCHEMA)
    write_dcase_tsvs(out_dir, clips, placed)
    info = {
        "version": __version__,
        "seed": int(seed),
        "synthetic": synthetic,
        "snrs": list(render.snrs),
        "snr_mode": render.snr_mode,
        "audio_format": render.audio_format,
        "stems": bool(render.stems),
        "options": recipe.to_dict(),
        "render": render.to_dict(),
        "plan_digest": digest,
        "n_clips": len(plans),
        "n_skipped": len(bad),
        "sources": {"scenes_dir": str(scenes_dir), "events_dir": str(events_dir)},
        "non_commercial": bool(not_commercial),
        **({"non_commercial_reasons": not_commercial} if not_commercial else {}),
    }
    if reverb.active:
        info["reverb"] = reverb.to_dict()
    standin_info: dict = {}
    if synthetic:  # the kind the stand-in was written as (folders given by path may hold any kind)
        written = read_json(scenes_dir.parent / "standin.json")
        standin_info = written if isinstance(written, dict) else {}
        info["standin"] = str(standin_info.get("events", "procedural"))
    given = sources.scenes_dir is not None
    options_toml = corpus_toml(
        recipe,
        render,
        seed=int(seed),
        scenes_dir=scenes_dir if given else None,
        events_dir=events_dir if given else None,
        version=__version__,
        reverb=reverb,
        standin=sources.standin_kind,
        licences=sources.licences,
    )
    card_info = dict(info, command=run.command or _default_command(info), options_toml=options_toml)
    card = corpus_card(clips=clips, events=placed, skipped=bad, info=card_info)
    if synthetic:
        card += standin_card_section(origins, placed, textures=standin_info.get("scene_textures"))
    else:  # the TAU notice in full, FSDKaggle2018's terms, the non-commercial flag: in the card and beside it
        obligations = licences_markdown(scenes_dir=scenes_dir, placed=placed, reasons=not_commercial)
        write_text(out_dir / "LICENCES.md", obligations)
        card += "\n" + obligations.replace("\n## ", "\n### ").replace("# Licences of this corpus", "## Licences")
    write_text(out_dir / CONFIG_NAME, options_toml)
    write_text(out_dir / "CORPUS.md", card)
    record_sources(out_dir, sorted(usable | set(rooms.files if rooms is not None else ())))
    write_json(manifest / "corpus.json", info)
    return BuildSummary(
        out_dir=out_dir,
        n_clips=len(plans),
        snrs=render.snrs,
        n_audio_files=len(clips),
        rendered=len(pending),
        reused=len(plans) - len(pending),
        skipped=len(bad),
        synthetic=synthetic,
        seconds=time.perf_counter() - started,
        render_seconds=render_seconds,
        plan_digest=digest,
    )


def _default_command(info: dict) -> str:
    o = info["options"]
    parts = [
        "remix build",
        "--snr " + " ".join(f"{s:g}" for s in info["snrs"]),
        f"--recipe {o['recipe']}",
        f"--clips-per-fold {o['clips_per_fold']}",
        f"--seed {info['seed']}",
        f"--snr-mode {info['snr_mode']}",
    ]
    if not info["synthetic"]:
        parts += [f"--scenes {info['sources']['scenes_dir']}", f"--events {info['sources']['events_dir']}"]
    elif info.get("standin"):
        parts.append(f"--standin {info['standin']}")
    return " ".join(parts)
