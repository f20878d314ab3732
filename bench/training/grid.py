"""The runs behind the paper's tables, and running many of them.

:func:`paper_grid` lists the :class:`bench.config.RunConfig` of every run behind
Tables 1-3; :func:`run_grid` trains a list of them: finished runs are skipped, an
interrupted one resumes from its ``last.pt``, a failed one is recorded and the
grid goes on. Runs are independent; on several GPUs each gets a worker process.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.config import RunConfig
from bench.errors import BenchError
from bench.presets import Preset, get_preset
from bench.store import CONFIG, RunStore, results_locked, runs_dir
from bench.training.options import RunOptions

TABLE1_MODELS: tuple[tuple[str, float], ...] = (
    ("gap", 0.0),
    ("gmp", 0.0),
    ("gwrp", 0.0),
    ("atrous_ap", 0.0),
    ("2ap_aux", 0.001),
)
"""(model, alpha) of Table 1's rows."""

TABLE2_EXTRA: tuple[tuple[str, float], ...] = (("2ap", 0.0), ("2ap_aux", 0.1))
"""(model, alpha) Table 2 adds (its alpha=0.001 row is Table 1's last)."""

ABLATIONS: tuple[tuple[str, float, tuple[tuple[str, Any], ...]], ...] = (
    ("2ap_aux", 0.001, (("attention", "sigmoid_in_softmax"),)),
    ("2ap_aux", 0.001, (("attention", "as_printed"),)),
)
"""(model, alpha, options) of the ablation rows Table 2 shows below the paper's rows: the
2AP attention read with a sigmoid inside the softmax, and the equations as printed."""


def zoo_grid(
    *,
    snrs: Sequence[float],
    seeds: int | Sequence[int],
    preset: str,
    val_folds: Sequence[int] = (4,),
    corpus: str = "",
) -> list[RunConfig]:
    """Every run of the pooling benchmark: each operator of :data:`models.mil.OPERATORS` on the
    baselines' encoder, at its default options, ordered as :func:`paper_grid` (seed, fold, SNR, model)."""
    from models.mil import OPERATORS

    get_preset(preset)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise BenchError("at least one seed is needed, found none (use --seeds 1 or more)")
    if not snrs:
        raise BenchError("at least one SNR is needed")
    return [
        RunConfig(
            model=name, alpha=0.0, snr_db=float(snr), seed=int(seed), preset=preset, val_fold=int(fold), corpus=corpus
        )
        for seed in seed_list
        for fold in val_folds
        for snr in snrs
        for name in OPERATORS
    ]


def paper_grid(
    *,
    snrs: Sequence[float] = (0, 10, 20),
    seeds: int | Sequence[int] = 3,
    preset: str = "cpu",
    val_folds: Sequence[int] = (4,),
    corpus: str = "",
    ablations: bool = False,
) -> list[RunConfig]:
    """Every run behind Tables 1-3 (Table 3 reuses runs of Tables 1 and 2).

    Ordered by seed, then validation fold, then SNR, then model, so that a first
    complete seed fills every table early.

    Parameters
    ----------
    snrs : sequence of float
    seeds : int or sequence of int
        A count (seeds 0..n-1) or explicit seeds.
    preset : str
    val_folds : sequence of int
        Validation folds; ``(1, 2, 3, 4)`` is full cross-validation.
    corpus : str
        Corpus fingerprint stored in every config (see :class:`RunConfig`).
    ablations : bool
        Add the runs of Table 2's ablation rows (:data:`ABLATIONS`).
    """
    get_preset(preset)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise BenchError("at least one seed is needed, found none (use --seeds 1 or more)")
    if not snrs:
        raise BenchError("at least one SNR is needed")
    out = []
    for seed in seed_list:
        for fold in val_folds:
            for snr in snrs:
                rows = [(m, a, ()) for m, a in TABLE1_MODELS + TABLE2_EXTRA] + list(ABLATIONS if ablations else ())
                for model, alpha, options in rows:
                    out.append(
                        RunConfig(
                            model=model,
                            alpha=alpha,
                            snr_db=float(snr),
                            seed=int(seed),
                            preset=preset,
                            val_fold=int(fold),
                            corpus=corpus,
                            options=options,
                        )
                    )
    return out


@dataclass
class GridSummary:
    """What :func:`run_grid` did; ``failed`` holds (run_id, reason) pairs."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{len(self.done)} trained, {len(self.skipped)} skipped (already done), "
            f"{len(self.failed)} failed in {self.seconds:.0f} s"
        )


def _is_done(results_dir: Path, config: RunConfig, *, corpus: str) -> bool:
    """Finished, with metrics, on the corpus of fingerprint ``corpus`` (which matters for
    configs not pinned to a corpus: their run id does not name one), under the config's own
    preset (the settings key its folder recorded), and not a run that the preset takes up
    again: one that ended its schedule still rising while a restart is left
    (:meth:`bench.presets.Preset.goes_on`)."""
    from remix.atomic import read_json

    preset = preset_of(config)
    store = RunStore(runs_dir(results_dir), config.run_id)
    if store.read_status().get("status") != "done" or not store.metrics_ok():
        return False  # a damaged metrics.json: the run is re-evaluated from its checkpoint
    record = read_json(store.path / CONFIG) or {}
    if record.get("corpus_fingerprint") != corpus or record.get("preset_key", preset.key()) != preset.key():
        return False
    return not (preset.restarts and preset.goes_on(store.read_curves()["val_micro_ap"].tolist()))


def preset_of(config: RunConfig) -> Preset:
    """The preset ``config`` carries (:attr:`bench.config.RunConfig.preset_spec`); BenchError,
    naming the registered ones, when it names a preset registered nowhere."""
    return config.preset_spec or get_preset(config.preset)


def _worker_init(gpu_queue) -> None:  # pragma: no cover - runs in GPU worker processes
    from remix.workers import die_with_parent

    die_with_parent()  # a killed grid takes its workers with it
    gpu = gpu_queue.get()
    os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)


def _cpu_worker_init(threads: int) -> None:  # pragma: no cover - runs in CPU worker processes
    import torch

    from remix.workers import die_with_parent

    die_with_parent()  # a killed grid takes its workers with it
    torch.set_num_threads(threads)


@contextlib.contextmanager
def local_executor(
    *, jobs: int = 1, gpus: Sequence[int] | None = None, threads: int | None = None
) -> Iterator[Executor]:
    """Worker processes of this machine for a grid: one per GPU of ``gpus`` (each sees only its
    own, ``CUDA_VISIBLE_DEVICES``), else ``jobs`` CPU processes of ``threads`` torch threads
    each (default :func:`default_threads`). Workers end with this process; shut down on exit.
    Any other :class:`concurrent.futures.Executor` (or a Dask client) serves :func:`run_grid` too.
    """
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    if gpus:
        queue = ctx.Queue()
        for g in gpus:
            queue.put(g)
        pool = ProcessPoolExecutor(max_workers=len(gpus), mp_context=ctx, initializer=_worker_init, initargs=(queue,))
    else:
        pool = ProcessPoolExecutor(
            max_workers=max(1, jobs),
            mp_context=ctx,
            initializer=_cpu_worker_init,
            initargs=(threads or default_threads(jobs),),
        )
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def default_threads(jobs: int = 1) -> int:
    """Torch threads per training process: the machine's cores shared by ``jobs`` processes."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def _train_one(
    config: RunConfig, results_dir: Path, corpus_dir: Path, device: str, compile: bool, options: RunOptions
) -> tuple[str, str | None]:
    """Worker entry: train one run with the options that came with the task; returns (run_id,
    failure reason or None)."""
    from bench.training.loop import RunFailed, train_run

    try:
        train_run(
            config,
            corpus_dir=corpus_dir,
            results_dir=results_dir,
            device=device,
            compile=compile,
            options=options,
        )
    except RunFailed as exc:
        return config.run_id, exc.reason
    return config.run_id, None


def _features_one(corpus_dir: Path, snr_db: float, settings: Any, cache_dir: Path | None = None) -> str:
    """Worker entry: compute one SNR's feature cache (or find it done) in ``cache_dir`` (None: the
    corpus's own folder); returns its path."""
    from bench.feature_cache import compute_features

    fs = compute_features(
        corpus_dir, snr_db=snr_db, settings=settings, device="auto", progress=False, cache_dir=cache_dir
    )
    return str(fs.path)


def _check_device(device: str, executor: Any) -> None:
    """A bad device is a user error: fail before anything runs. On a Dask cluster the
    workers, not this process, must have the GPU: only the name is checked here."""
    from bench.device import resolve_device
    from remix.cluster import is_dask_client, worker_resources

    if not is_dask_client(executor):
        resolve_device(device)
    elif device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise BenchError(f"unknown device {device!r}; use auto, cpu or cuda")
    elif device.startswith("cuda") and not worker_resources(executor).get("GPU"):
        raise BenchError(
            "--device cuda was asked for but no worker of the Dask cluster offers a GPU; start one "
            "worker per GPU with `dask worker ADDRESS --nthreads 1 --resources GPU=1`, or use "
            "--device cpu"
        )


_RELATIVE_COST = {"gap": 1.0, "gmp": 1.0, "gwrp": 1.3, "atrous_ap": 1.9, "2ap": 2.0, "2ap_aux": 2.9}
"""Training time per step relative to gap, as measured on one CPU thread at width 0.25 (77 x 16 inputs,
batch 24, before the faster average pool); only the order matters: it decides which runs go first."""


def _relative_cost(config: RunConfig) -> float:
    return _RELATIVE_COST.get(config.model, 1.0)


def _run_through(
    executor: Any,
    todo: Sequence[RunConfig],
    *,
    results_dir: Path,
    corpus_dir: Path,
    device: str,
    compile: bool,
    summary: GridSummary,
    emit: Callable[[dict[str, Any]], None],
    options: RunOptions,
) -> None:
    """Train ``todo`` through an executor or a Dask client: one task per run.

    Each SNR's features (per log-mel settings) are computed first by one task, so no
    two workers race to build the same cache, and that SNR's runs are submitted when
    it is done, longest first (so that short runs fill the last gaps of the workers). On a
    Dask cluster, runs on a GPU ask for one ``GPU`` resource (workers
    started with ``--resources GPU=1``; with ``device="auto"``, GPU runs when any worker
    offers one); a worker lost mid-run has its task rescheduled by the scheduler, and
    the run resumes from its ``last.pt``. A run that fails is recorded; the others go on.
    """
    from remix.cluster import as_executor, is_dask_client, worker_resources

    results_dir, corpus_dir = Path(results_dir).resolve(), Path(corpus_dir).resolve()
    gpu = device.startswith("cuda")
    if is_dask_client(executor) and device == "auto" and worker_resources(executor).get("GPU", 0) > 0:
        gpu, device = True, "cuda"
    prep = as_executor(executor)
    runs = as_executor(executor, resources={"GPU": 1}) if gpu else prep
    groups: dict[tuple[float, Any], list[RunConfig]] = {}
    for cfg in todo:
        groups.setdefault((float(cfg.snr_db), preset_of(cfg).features), []).append(cfg)
    pending: dict[Future, tuple[str, Any]] = {}
    try:
        for key in groups:
            pending[prep.submit(_features_one, corpus_dir, key[0], key[1], options.cache_dir)] = ("features", key)
        k = 0
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                kind, item = pending.pop(fut)
                try:
                    value, error = fut.result(), None
                except Exception as exc:  # a crashed or lost worker fails its task, not the grid
                    value, error = None, f"{type(exc).__name__}: {exc}"
                if kind == "features":
                    for cfg in sorted(groups[item], key=_relative_cost, reverse=True):
                        if error is None:
                            job = runs.submit(_train_one, cfg, results_dir, corpus_dir, device, compile, options)
                            pending[job] = ("run", cfg)
                            continue
                        reason = f"features of SNR {item[0]:g} dB: {error}"
                        summary.failed.append((cfg.run_id, reason))
                        emit(
                            {
                                "event": "run_end",
                                "index": k,
                                "total": len(todo),
                                "run_id": cfg.run_id,
                                "label": cfg.label,
                                "failed": reason,
                            }
                        )
                        k += 1
                    continue
                run_id, reason = value if error is None else (item.run_id, error)
                if reason is None:
                    summary.done.append(run_id)
                else:
                    summary.failed.append((run_id, reason))
                emit(
                    {
                        "event": "run_end",
                        "index": k,
                        "total": len(todo),
                        "run_id": run_id,
                        "label": item.label,
                        "failed": reason,
                    }
                )
                k += 1
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise


def run_grid(configs: Sequence[RunConfig], *, results_dir: Path, corpus_dir: Path, **options: Any) -> GridSummary:
    """Train every config that is not done yet (:func:`_run_grid`, holding the results folder's lock).

    When every config is done already nothing is written, so the lock is not taken: a
    finished, read-only (shared) results folder answers without an error. A preset of one's
    own goes in the configs themselves (``RunConfig(preset=Preset(...))``), registered nowhere.
    """
    from bench.corpus import corpus_fingerprint
    from bench.data import read_clips

    results_dir, corpus_dir = Path(results_dir), Path(corpus_dir)
    unique = list(dict.fromkeys(configs))
    fingerprint = corpus_fingerprint(read_clips(corpus_dir))
    for cfg in unique:
        preset_of(cfg)  # a preset registered nowhere is a user error: before anything runs
    if unique and all(_is_done(results_dir, cfg, corpus=fingerprint) for cfg in unique):
        _check_device(options.get("device", "auto"), options.get("executor"))
        callback = options.get("callback") or (lambda event: None)
        callback({"event": "grid_start", "total": 0, "skipped": len(unique)})
        return GridSummary(skipped=[cfg.run_id for cfg in unique])
    return _run_grid(configs, results_dir=results_dir, corpus_dir=corpus_dir, **options)


@results_locked
def _run_grid(
    configs: Sequence[RunConfig],
    *,
    results_dir: Path,
    corpus_dir: Path,
    device: str = "auto",
    compile: bool = False,
    gpus: Sequence[int] | None = None,
    executor: Executor | None = None,
    jobs: int = 1,
    callback: Callable[[dict[str, Any]], None] | None = None,
    options: RunOptions | None = None,
) -> GridSummary:
    """Train every config that is not done yet.

    Parameters
    ----------
    configs : sequence of RunConfig
        Duplicates are run once.
    results_dir : Path
        Results folder (runs go to ``results_dir/runs/<run_id>``).
    corpus_dir : Path
        A built corpus.
    device : str
        "auto", "cpu" or "cuda" (see :func:`bench.training.loop.resolve_device`).
    compile : bool
        ``torch.compile`` the model (GPU).
    gpus : sequence of int, optional
        GPU indices: one worker process per GPU, runs spread over them.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the configs through this executor instead (each task trains one run
        with ``device``; each SNR's features are computed first, once); progress
        callbacks are then per run only. With a Dask client, GPU runs ask for a
        ``GPU`` resource and a run whose worker is lost is retried (it resumes from its
        last checkpoint); workers must see ``corpus_dir`` and ``results_dir`` at the
        same paths as this process.
    jobs : int
        On a CPU, independent runs trained at once, each in its own process (1: one run
        at a time in this process, with per-epoch progress).
    callback : callable, optional
        Receives progress events: ``{"event": "run_start"|"epoch"|"run_end", ...}``
        with ``index`` (0-based) and ``total``.
    options : RunOptions, optional
        How every run is executed (:class:`bench.training.options.RunOptions`), handed with each
        task to whichever process trains it. Default: :meth:`RunOptions.from_environment`. Its
        ``threads`` defaults, on this machine's processes, to :func:`default_threads` (the cores
        shared by ``jobs``); on a Dask cluster to the worker process's own setting.

    Returns
    -------
    GridSummary
        done / skipped / failed run ids. A failed run does not stop the grid; a
        user error (missing corpus, bad option) does, before any training.
    """
    from bench.corpus import corpus_fingerprint
    from bench.data import read_clips
    from bench.device import resolve_device
    from bench.training.loop import RunFailed, train_run

    start = time.perf_counter()
    results_dir, corpus_dir = Path(results_dir), Path(corpus_dir)
    _check_device(device, executor)  # a bad device is a user error: fail before anything runs
    if jobs < 1:
        raise BenchError(f"jobs must be at least 1, found jobs={jobs}")
    if jobs > 1 and (gpus or executor is not None or resolve_device(device).type != "cpu"):
        raise BenchError("--jobs runs several CPU processes; on GPUs use --gpus (one process per GPU)")
    options = RunOptions.from_environment() if options is None else options
    if executor is None and options.threads is None:
        options = options.with_threads(default_threads(jobs))
    unique = list(dict.fromkeys(configs))
    summary = GridSummary()
    todo = []
    fingerprint = corpus_fingerprint(read_clips(corpus_dir))
    for cfg in unique:
        if _is_done(results_dir, cfg, corpus=fingerprint):
            summary.skipped.append(cfg.run_id)
        else:
            todo.append(cfg)
    emit = callback or (lambda event: None)
    emit({"event": "grid_start", "total": len(todo), "skipped": len(summary.skipped)})

    if gpus or executor is not None or (jobs > 1 and len(todo) > 1):
        with contextlib.ExitStack() as stack:
            if executor is None:  # this machine's processes: one per GPU, or `jobs` CPU processes
                executor = stack.enter_context(local_executor(jobs=jobs, gpus=gpus, threads=options.threads))
            _run_through(
                executor,
                todo,
                results_dir=results_dir,
                corpus_dir=corpus_dir,
                device="cuda" if gpus else device,
                compile=compile,
                summary=summary,
                emit=emit,
                options=options,
            )
    else:
        features: dict[float, Any] = {}  # one SNR's features stay loaded across its runs
        for k, cfg in enumerate(todo):
            emit({"event": "run_start", "index": k, "total": len(todo), "run_id": cfg.run_id, "label": cfg.label})

            def relay(event: dict[str, Any], k: int = k) -> None:
                emit({**event, "index": k, "total": len(todo)})

            reason = None
            try:
                train_run(
                    cfg,
                    corpus_dir=corpus_dir,
                    results_dir=results_dir,
                    device=device,
                    compile=compile,
                    callback=relay,
                    feature_cache=features,
                    options=options,
                )
            except RunFailed as exc:
                reason = exc.reason
            if reason is None:
                summary.done.append(cfg.run_id)
            else:
                summary.failed.append((cfg.run_id, reason))
            emit(
                {
                    "event": "run_end",
                    "index": k,
                    "total": len(todo),
                    "run_id": cfg.run_id,
                    "label": cfg.label,
                    "failed": reason,
                }
            )
    summary.seconds = time.perf_counter() - start
    emit({"event": "grid_end", "summary": summary})
    return summary


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
    options: dict[str, object] | None = None,
    ablations: bool = False,
    mixing: str | None = None,
    augment: str | None = None,
    zoo: bool = False,
):
    """The run configs a ``bench run`` asks for, validated against the corpus (BenchError/ModelError):
    the paper's grid (``all_runs``), the pooling benchmark's operators (``zoo``; both together
    are allowed) or the runs of one model, or of several (``model="gap,atrous_ap"``), over SNRs,
    seeds and folds.

    ``mixing`` and ``augment`` default to the preset's (:mod:`bench.training.mixing`)."""
    import models
    from bench.corpus import corpus_fingerprint
    from bench.data import check_snr, corpus_snrs, read_clips
    from bench.training.mixing import AUGMENTS, MIXINGS, check_choice

    p = get_preset(preset)
    mixing = check_choice(mixing or p.mixing, MIXINGS, "--mixing")
    augment = check_choice(augment or p.augment, AUGMENTS, "--augment")
    if seeds < 1:
        raise BenchError(f"--seeds must be at least 1, found {seeds}")
    if seeds > 1000:
        raise BenchError(f"--seeds must be at most 1000, found {seeds}")
    if (all_runs or zoo) == (model is not None):
        raise BenchError(
            "give either --all (the paper's grid) and/or --zoo (the pooling operators), or --model NAME; "
            f"found {'--model with --all/--zoo' if model is not None else 'none of them'}"
        )
    clips = read_clips(corpus)
    for snr in snrs or []:
        check_snr(clips, snr)
    val_folds = sorted({int(f) for f in clips.loc[clips["split"] == "dev", "fold"]}) if folds else [4]
    if not folds and 4 not in {int(f) for f in clips["fold"]}:
        raise BenchError("the corpus has no dev fold 4 to validate on; rebuild it with 4 folds or pass --folds")
    use_snrs = list(snrs) if snrs else corpus_snrs(clips)
    fingerprint = corpus_fingerprint(clips)
    if all_runs or zoo:
        if alpha is not None or options:
            raise BenchError(
                "--alpha and --option apply to --model only; --all runs the paper's alphas "
                "(and, with --ablations, Table 2's ablation rows), --zoo each operator at its defaults"
            )
        if ablations and not all_runs:
            raise BenchError("--ablations adds Table 2's ablation rows to --all; give --all too")
        grid = []
        if all_runs:
            grid += paper_grid(
                snrs=use_snrs, seeds=seeds, preset=preset, val_folds=val_folds, corpus=fingerprint, ablations=ablations
            )
        if zoo:
            grid += zoo_grid(snrs=use_snrs, seeds=seeds, preset=preset, val_folds=val_folds, corpus=fingerprint)
        return [replace(c, mixing=mixing, augment=augment) for c in grid]
    if ablations:
        raise BenchError("--ablations adds Table 2's ablation rows to --all; with --model use --option KEY=VALUE")
    names = [n.strip() for n in str(model).split(",") if n.strip()]
    if not names or len(set(names)) != len(names):
        raise BenchError(f"--model takes one name or several separated by commas, each once; found {model!r}")
    alphas = {}
    for name in names:  # unknown name, bad alpha/option -> ModelError
        alphas[name] = models.make_config(name, alpha=alpha, **dict(options or {})).alpha
    return [
        RunConfig(
            model=name,
            alpha=alphas[name],
            snr_db=float(s),
            seed=seed,
            preset=preset,
            val_fold=f,
            corpus=fingerprint,
            options=options or {},
            mixing=mixing,
            augment=augment,
        )
        for seed in range(seeds)
        for f in val_folds
        for s in use_snrs
        for name in names
    ]
