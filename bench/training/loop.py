"""One training run: data, model, the loop, checkpoints, resume, evaluation.

The loop follows the paper's code: Adam (lr 1e-3), batch 24, ReduceLROnPlateau
(mode max, patience 3) on validation micro-AP, best checkpoint on validation
micro-AP. Speed switches are visible arguments: the device, bf16 autocast and
channels-last on a GPU, ``torch.compile``. Every epoch writes ``last.pt`` (model,
optimiser, scheduler, RNG states, epoch, best so far, curves), so an interrupted
run continues where it stopped; the batch order of an epoch depends only on
(seed, epoch). After training the best checkpoint predicts the validation fold
(and the test split when the corpus has one) and the run folder receives
predictions, frame probabilities, metrics, curves and its status.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import models
from bench.config import RunConfig
from bench.corpus import check_same_corpus, corpus_fingerprint, manifest_digest, read_events
from bench.data import ClipSet, RunData, batches, epoch_order, load_data, read_clips
from bench.device import resolve_device, use_bf16
from bench.errors import BenchError
from bench.feature_cache import compute_features
from bench.features import LogMelSettings
from bench.inference.checkpoint import predict
from bench.presets import Preset, get_preset
from bench.resolution import last_rank_weight, resolution_constants
from bench.store import CONFIG, RunStore, load_torch, runs_dir
from bench.training.mixing import FreshMixtures, TrainingClips
from bench.training.options import RunOptions
from bench.training.schedule import Schedule, describe_restarts, schedule_for
from remix.atomic import read_json
from remix.labels import EVENT_LABELS
from remix.lock import shared_lock


class RunFailed(BenchError):
    """A run that could not finish (non-finite loss, out of memory, bad data, ...).

    ``reason`` is also written to the run's ``status.json``.
    """

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"run {run_id} failed: {reason}")
        self.run_id = run_id
        self.reason = reason


_RETRAIN = "delete the run folder and run the same bench run command again"


def use_deterministic_kernels() -> None:
    """Deterministic algorithms only (an error where an operation has none), no cuDNN autotuning,
    a fixed cuBLAS workspace, and one CPU thread: a run then gives the same numbers every time on
    the same machine and software (across machines, CPUs and library builds may still differ)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.set_num_threads(1)


def _read_corpus_json(corpus_dir: Path) -> dict[str, Any]:
    return read_json(Path(corpus_dir) / "manifest" / "corpus.json", default={})


def micro_ap(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Micro-averaged average precision (the paper's micro-P)."""
    from sklearn.metrics import average_precision_score

    if not np.isfinite(y_score).all():
        return float("nan")
    return float(average_precision_score(y_true, y_score, average="micro"))


@dataclass
class RunContext:
    """What every step of one run needs, resolved once when it starts.

    Attributes
    ----------
    config : RunConfig
    preset : Preset
        The run's preset (an object: nothing is looked up by name after this).
    schedule : Schedule
        Its learning-rate schedule (:mod:`bench.training.schedule`).
    store : RunStore
        The run folder.
    device : torch.device
    compile, amp, channels_last : bool
        ``torch.compile``; bf16 autocast (:func:`bench.device.use_bf16`); channels-last memory.
    options : RunOptions
        How the run is executed (:mod:`bench.training.options`).
    callback : callable or None
        Called after each epoch (see :func:`train_run`).
    """

    config: RunConfig
    preset: Preset
    schedule: Schedule
    store: RunStore
    device: torch.device
    compile: bool = False
    options: RunOptions = RunOptions()
    amp: bool = False
    channels_last: bool = True
    callback: Callable[[dict[str, Any]], None] | None = None


def run_settings(ctx: RunContext) -> dict[str, Any]:
    """The ``training`` section of config.json."""
    preset = ctx.preset
    stop = "none" if preset.early_stop is None else f"after {preset.early_stop} epochs without a better val micro-AP"
    return {
        **preset.to_dict(),
        "optimizer": "adam",
        "scheduler": ctx.schedule.describe(preset),
        "early_stopping": stop,
        "restarts_rule": describe_restarts(preset),
        "checkpoint": "best val micro-AP",
        "deterministic": ctx.options.deterministic,
        "threads": torch.get_num_threads(),
        "device": str(ctx.device),
        "compile": ctx.compile,
        "precision": ctx.options.precision,
        "amp_bf16": ctx.amp,
        "channels_last": ctx.channels_last,
    }


def train_run(
    config: RunConfig,
    *,
    corpus_dir: Path,
    results_dir: Path,
    device: str = "auto",
    compile: bool = False,
    schedule: Schedule | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    feature_cache: dict[float, Any] | None = None,
    options: RunOptions | None = None,
) -> dict[str, Any]:
    """Train, checkpoint and evaluate one run; resume it when ``last.pt`` exists.

    Parameters
    ----------
    config : RunConfig
    corpus_dir : Path
        A built corpus.
    results_dir : Path
        Results folder; the run lives in ``results_dir/runs/<run_id>``.
    device : {"auto", "cpu", "cuda"}
    compile : bool
        ``torch.compile`` the model.
    schedule : Schedule, optional
        Any learning-rate schedule (default: the one the preset's ``schedule`` names). The
        preset is the config's own (:attr:`bench.config.RunConfig.preset_spec`; nothing needs
        registering).
    callback : callable, optional
        Called after each epoch (once ``last.pt`` is written) with ``{"event": "epoch",
        "run_id", "epoch", "epochs", "train_loss", "val_micro_ap", "lr", "seconds"}``;
        an exception raised there stops the run like any failure.
    feature_cache : dict, optional
        SNR -> FeatureSet, shared across the runs of a grid.
    options : RunOptions, optional
        How the run is executed (:class:`bench.training.options.RunOptions`: what is evaluated
        after training, deterministic kernels, loader processes, the feature cache folder, torch
        threads). Default: :meth:`RunOptions.from_environment`, the user-level defaults of this
        process.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.

    Raises
    ------
    RunFailed
        Anything that stops the run; it is recorded as failed with the reason first.
    BenchError
        A user error found before the run starts (bad device, missing corpus).
    """
    options = RunOptions.from_environment() if options is None else options
    preset = config.preset_spec or get_preset(config.preset)  # a name registered nowhere: BenchError
    schedule = schedule or schedule_for(preset)
    dev = resolve_device(device)
    if options.deterministic:
        use_deterministic_kernels()
    elif options.threads is not None and dev.type == "cpu":
        torch.set_num_threads(options.threads)
    corpus_dir, results_dir = Path(corpus_dir), Path(results_dir)
    clips = read_clips(corpus_dir)
    store = RunStore(runs_dir(results_dir), config.run_id)
    fingerprint = corpus_fingerprint(clips)
    if config.corpus and config.corpus != fingerprint:
        raise BenchError(
            f"run {config.run_id} was planned for corpus {config.corpus}, but {corpus_dir} is corpus "
            f"{fingerprint}; plan the runs against the corpus you train on (bench run --corpus DIR)"
        )
    if store.exists() and (read_json(store.path / CONFIG) or {}).get("corpus_fingerprint") != fingerprint:
        # same config, different corpus: the old state cannot be resumed
        store.last_path.unlink(missing_ok=True)
    ctx = RunContext(
        config=config,
        preset=preset,
        schedule=schedule,
        store=store,
        device=dev,
        compile=compile,
        amp=use_bf16(options.precision, dev),
        channels_last=True,
        callback=callback,
        options=options,
    )
    corpus_info = _read_corpus_json(corpus_dir)
    val_fold = config.val_fold
    record = {
        "run_id": config.run_id,
        **config.to_dict(),
        "preset_key": preset.key(),
        "corpus_dir": str(corpus_dir.resolve()),
        "corpus_synthetic": bool(corpus_info.get("synthetic", False)),
        "corpus_fingerprint": fingerprint,
        "corpus_manifest_digest": manifest_digest(corpus_dir),
        "corpus": corpus_info,
        "train_folds": [
            f for f in sorted({int(f) for f in clips.loc[clips["split"] == "dev", "fold"]}) if f != val_fold
        ],
        "val_folds": [val_fold],
        "training": run_settings(ctx),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    with shared_lock(corpus_dir):  # `remix build --overwrite` refuses this corpus while the run reads it
        return _train_and_evaluate(ctx, record=record, clips=clips, corpus_dir=corpus_dir, feature_cache=feature_cache)


def _train_and_evaluate(
    ctx: RunContext, *, record: dict[str, Any], clips, corpus_dir: Path, feature_cache
) -> dict[str, Any]:
    """:func:`train_run` once the run folder and the corpus are known: records failures."""
    config, preset, store, dev, val_fold = ctx.config, ctx.preset, ctx.store, ctx.device, ctx.config.val_fold
    try:
        store.write_config(record)
        store.write_status("running")
        store.remove_partials()  # temporary files of a killed earlier attempt
        fs = (feature_cache or {}).get(float(config.snr_db))
        if fs is not None and fs.settings != preset.features:  # cached under another preset's features
            fs = None
        if fs is None:
            fs = compute_features(
                corpus_dir,
                snr_db=config.snr_db,
                settings=preset.features,
                device=str(dev),
                progress=False,
                cache_dir=ctx.options.cache_dir,
            )
            if feature_cache is not None:
                feature_cache.clear()  # keep one SNR in memory
                feature_cache[float(config.snr_db)] = fs
        data = load_data(
            corpus_dir,
            snr_db=config.snr_db,
            val_fold=val_fold,
            train_clips=preset.train_clips,
            seed=config.seed,
            clips=clips,
            feature_set=fs,
            pin=dev.type == "cuda",
        )
        if dev.type == "cuda":  # small enough to live on the GPU: one asynchronous copy from pinned memory
            data.train, data.val = data.train.to(dev), data.val.to(dev)
        settings = fs.settings.to_dict()
        _, n_frames, n_mels = data.train.x.shape
        record.update(
            n_train=len(data.train),
            n_val=len(data.val),
            n_test=len(data.test) if data.test else 0,
            features=settings,
            resolution=resolution_record(config, n_frames=n_frames, n_mels=n_mels),
        )
        store.write_config(record)
        usable_resume_state(store)
        clips = training_clips(
            config,
            data,
            corpus_dir=corpus_dir,
            train_folds=record["train_folds"],
            settings=fs.settings,
            device=dev,
            loader_workers=ctx.options.loader_workers,
        )
        try:
            net = _fit(ctx, data, clips=clips)
        finally:
            clips.close()
        check_same_corpus(record, corpus_dir, doing=f"evaluate run {config.run_id}")
        metrics = _evaluate(ctx, net, data, corpus_dir=corpus_dir, frame_settings=fs.settings)
        store.write_status("done")
    except KeyboardInterrupt:
        store.mark_failed("interrupted; run the same command again to resume from last.pt")
        raise
    except RunFailed as exc:
        store.mark_failed(exc.reason)
        raise
    except torch.cuda.OutOfMemoryError:
        reason = f"out of GPU memory (batch {preset.batch_size}, width {preset.width})"
        store.mark_failed(reason)
        raise RunFailed(config.run_id, reason) from None
    except OSError as exc:  # disk full, permissions: every later run would fail alike, so the grid stops
        reason = f"file system error: {exc}"
        store.mark_failed(reason)
        raise BenchError(
            f"run {config.run_id}: {reason}. The run is marked failed and finished runs are kept; "
            "fix the cause and run the same command again to resume."
        ) from None
    except Exception as exc:  # bad data, a model error, anything else: recorded, the grid goes on
        reason = f"{type(exc).__name__}: {exc}"
        store.mark_failed(reason)
        raise RunFailed(config.run_id, reason) from exc
    return metrics


def usable_resume_state(store: RunStore) -> None:
    """Leave ``last.pt`` loadable or absent before a run resumes, saying what was done in one line
    (:meth:`bench.store.RunStore.repair_resume_state`)."""
    from remix.clitools import warn

    note = store.repair_resume_state()
    if note:
        warn(note)


def resolution_record(config: RunConfig, *, n_frames: int, n_mels: int) -> dict[str, Any]:
    """``config.json``'s ``resolution``: the map size and every constant the run's model took
    from it (:mod:`bench.resolution`), e.g. ``gwrp_decay`` and the last rank's weight."""
    constants = resolution_constants(config.model, dict(config.options), n_frames=n_frames, n_mels=n_mels)
    out: dict[str, Any] = {"n_frames": n_frames, "n_mels": n_mels, **constants}
    decay = constants.get("gwrp_decay", dict(config.options).get("gwrp_decay"))
    if config.model == "gwrp" and decay is not None:
        out["gwrp_decay"] = float(decay)
        out["gwrp_decay_from"] = "option" if "gwrp_decay" in dict(config.options) else "0.9998 ** (19904 / (T * F))"
        out["gwrp_last_rank_weight"] = last_rank_weight(float(decay), n=n_frames * n_mels)
    return out


def build_model(config: RunConfig, preset: Preset, *, n_frames: int, n_mels: int) -> models.SEDModel:
    """The run's model, initialised from its seed, for the preset's width, prior and features,
    with the constants that follow the map size (:func:`bench.resolution.resolution_constants`)
    unless the run's options set them."""
    if n_mels != preset.features.n_mels:
        raise BenchError(
            f"the features have {n_mels} mel bins but preset {preset.name!r} asks for "
            f"{preset.features.n_mels}; recompute the features with the preset's settings"
        )
    return models.build(
        config.model,
        n_classes=len(EVENT_LABELS),
        n_mels=n_mels,
        n_frames=n_frames,
        width=preset.width,
        alpha=config.alpha,
        prior=preset.prior,
        seed=config.seed,
        **resolution_constants(config.model, dict(config.options), n_frames=n_frames, n_mels=n_mels),
        **dict(config.options),
    )


class _Progress:
    """Where a run stands: the state ``last.pt`` keeps besides model, optimiser and scheduler."""

    def __init__(self) -> None:
        self.epoch, self.best_ap, self.best_epoch, self.stopped = 0, -math.inf, 0, False
        self.curves: list[dict[str, Any]] = []

    def state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "best_ap": self.best_ap,
            "best_epoch": self.best_epoch,
            "curves": self.curves,
            "stopped": self.stopped,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.epoch, self.best_ap, self.best_epoch = state["epoch"], state["best_ap"], state["best_epoch"]
        self.curves, self.stopped = state["curves"], bool(state.get("stopped", False))


def training_clips(
    config: RunConfig,
    data: RunData,
    *,
    corpus_dir: Path,
    train_folds,
    settings: LogMelSettings,
    device: torch.device,
    loader_workers: int = 1,
) -> TrainingClips:
    """What the run trains on each epoch: its ``mixing`` and ``augment`` (:mod:`bench.training.mixing`);
    fresh mixtures come from ``loader_workers`` processes (0: this one)."""
    mixtures = None
    if config.mixing == "online":
        folds = [int(f) for f in train_folds]
        mixtures = FreshMixtures(
            corpus_dir,
            snr_db=config.snr_db,
            train_folds=folds,
            n_per_fold=max(1, round(len(data.train) / max(1, len(folds)))),
            seed=config.seed,
            settings=settings,
            standardizer=data.standardizer,
            workers=loader_workers,
        )
    return TrainingClips(
        data.train, mixing=config.mixing, augment=config.augment, seed=config.seed, device=device, mixtures=mixtures
    )


def _fit(ctx: RunContext, data: RunData, *, clips: TrainingClips) -> torch.nn.Module:
    """The training loop; returns the model with the best checkpoint's weights loaded.

    After :func:`_resume`, each epoch: train (:func:`_train_epoch`), validate
    (:func:`_validate`), keep the best checkpoint and decide early stopping (:func:`_keep_best`),
    write the curves and ``last.pt`` (:func:`_save_state`); stop when early stopping says so,
    or when a schedule cycle ends (``preset.epochs``, then each of ``preset.restarts``) and the
    run has levelled off or has no restart left (:meth:`bench.presets.Preset.goes_on`). The
    schedule steps where it says (:mod:`bench.training.schedule`); a restart builds its cycle's
    scheduler, and a resumed run rebuilds the one of the cycle its last epoch lies in.
    """
    config, preset, store, device = ctx.config, ctx.preset, ctx.store, ctx.device
    torch.manual_seed(config.seed)
    n, n_frames, n_mels = data.train.x.shape
    net = build_model(config, preset, n_frames=n_frames, n_mels=n_mels).to(device)
    if ctx.channels_last:
        net = net.to(memory_format=torch.channels_last)
    step_model = torch.compile(net) if ctx.compile else net
    opt = torch.optim.Adam(net.parameters(), lr=preset.lr)
    steps_per_epoch = math.ceil(n / preset.batch_size)
    run = _Progress()
    state = _read_state(store.last_path, device=device) if store.last_path.is_file() else None
    if state is not None:
        run.load(state)
    # the scheduler of the cycle the last epoch run lies in, then its saved state
    sched = ctx.schedule.build_cycle(opt, preset, steps_per_epoch=steps_per_epoch, cycle=preset.cycle_of(run.epoch))
    if state is not None:
        _resume(state, net=net, opt=opt, sched=sched, device=device)
    while not run.stopped:
        if run.epoch >= preset.cycle_end(preset.cycle_of(run.epoch)):  # a cycle ended: another, or done
            if not preset.goes_on([c["val_micro_ap"] for c in run.curves]):
                break
            sched = ctx.schedule.build_cycle(
                opt, preset, steps_per_epoch=steps_per_epoch, cycle=preset.cycle_of(run.epoch + 1)
            )
        epoch, t0 = run.epoch + 1, time.perf_counter()
        lr = opt.param_groups[0]["lr"]
        train = clips.epoch(epoch, last_epoch=preset.cycle_end(preset.cycle_of(epoch)))
        loss, bce, mse = _train_epoch(ctx, step_model, train, opt=opt, sched=sched, epoch=epoch)
        ap = _validate(ctx, step_model, data, epoch=epoch)
        ctx.schedule.after_epoch(sched, val_micro_ap=ap)
        run.epoch = epoch
        _keep_best(ctx, run, net=net, data=data, epoch=epoch, ap=ap)
        seconds = time.perf_counter() - t0
        run.curves.append(
            {
                "epoch": epoch,
                "train_loss": loss,
                "train_bce": bce,
                "train_mse": mse,
                "val_micro_ap": ap,
                "lr": lr,
                "seconds": seconds,
            }
        )
        store.write_curves(run.curves)
        _save_state(store, net=net, opt=opt, sched=sched, run=run, device=device)
        if ctx.callback is not None:
            ctx.callback(
                {
                    "event": "epoch",
                    "run_id": config.run_id,
                    "epochs": preset.cycle_end(preset.cycle_of(epoch)),
                    "stopped": run.stopped,
                    **{k: run.curves[-1][k] for k in ("epoch", "train_loss", "val_micro_ap", "lr", "seconds")},
                }
            )
    best = load_torch(store.checkpoint_path, what="the best checkpoint", advice=_RETRAIN, map_location=device)
    net.load_state_dict(best["model"])
    return step_model


def _validate(ctx: RunContext, model: torch.nn.Module, data: RunData, *, epoch: int) -> float:
    """Validation micro-AP of ``model`` after ``epoch``; RunFailed on non-finite predictions."""
    probs, _ = predict(model, data.val, device=ctx.device, batch_size=ctx.preset.eval_batch_size, amp=ctx.amp)
    ap = micro_ap(data.val.y.cpu().numpy(), probs)
    if not math.isfinite(ap):
        raise RunFailed(ctx.config.run_id, f"non-finite validation predictions in epoch {epoch}")
    return ap


def _keep_best(ctx: RunContext, run: _Progress, *, net: torch.nn.Module, data: RunData, epoch: int, ap: float) -> None:
    """Save the best checkpoint when ``ap`` beats the best so far; decide early stopping."""
    preset = ctx.preset
    if ap > run.best_ap:
        run.best_ap, run.best_epoch = ap, epoch
        ctx.store.save_checkpoint(_checkpoint(net, ctx.config, preset, data, epoch=epoch, ap=ap), best=True)
    since = max(run.best_epoch, preset.cycle_start(preset.cycle_of(epoch)))  # a restart gets its full patience
    run.stopped = preset.early_stop is not None and epoch - since >= preset.early_stop


def _train_epoch(ctx: RunContext, step_model, train: ClipSet, *, opt, sched, epoch: int) -> tuple[float, float, float]:
    """One pass over the training clips in the (seed, epoch) order; mean loss, BCE and MSE."""
    config, device = ctx.config, ctx.device
    n = len(train)
    step_model.train()
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss, bce, mse (summed over clips)
    order = epoch_order(n, seed=config.seed, epoch=epoch)
    for step, (xb, yb) in enumerate(batches(train, batch_size=ctx.preset.batch_size, device=device, order=order)):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=ctx.amp):
            out = step_model(xb)
        if not bool(torch.isfinite(out["clip_probs"]).all()):  # before BCE, which asserts on NaN (CUDA)
            raise RunFailed(
                config.run_id,
                f"non-finite model output (NaN or inf) in epoch {epoch}, step {step}; "
                "try a lower learning rate or check the features",
            )
        losses = models.sed_loss(out, target=yb, features=xb, alpha=config.alpha)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        ctx.schedule.after_batch(sched)
        sums += torch.stack([losses[k].detach().double() for k in ("loss", "bce", "mse")]) * len(xb)
    loss, bce, mse = (sums / n).tolist()
    if not math.isfinite(loss):
        raise RunFailed(
            config.run_id,
            f"non-finite training loss ({loss}) in epoch {epoch}; try a lower learning rate or check the features",
        )
    return loss, bce, mse


def _save_state(store: RunStore, *, net, opt, sched, run: _Progress, device: torch.device) -> None:
    """``last.pt``: everything a resumed run needs to continue exactly where this one stands."""
    store.save_checkpoint(
        {
            "model": net.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if device.type == "cuda" else None,
            **run.state(),
        },
        best=False,
    )


def _read_state(path: Path, *, device: torch.device) -> dict[str, Any]:
    """``last.pt`` as saved by :func:`_save_state`."""
    return load_torch(path, what="the training state", advice=_RETRAIN, map_location=device)


def _resume(state: dict[str, Any], *, net, opt, sched, device: torch.device) -> None:
    """Load a saved training state into the model, optimiser, scheduler and RNGs (the progress
    is loaded by the caller, which needs it to build the scheduler of the right cycle)."""
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"].cpu())  # map_location moved it; RNG states live on the host
    if device.type == "cuda" and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(state["cuda_rng"].cpu())


def _checkpoint(net, config: RunConfig, preset: Preset, data: RunData, *, epoch: int, ap: float) -> dict[str, Any]:
    """Everything needed to rebuild the model and its input transform (plots, inference)."""
    _, n_frames, n_mels = data.train.x.shape
    return {
        "model": net.state_dict(),
        "model_config": net.config.to_dict(),
        "run_config": config.to_dict(),
        "preset": preset.to_dict(),
        "n_frames": n_frames,
        "n_mels": n_mels,
        "epoch": epoch,
        "val_micro_ap": ap,
        "standardizer": data.standardizer.to_dict(),
    }


def _evaluate(
    ctx: RunContext, model, data: RunData, *, corpus_dir: Path, frame_settings: LogMelSettings
) -> dict[str, Any]:
    """Predict val (and test) with the best weights; write predictions, frame probs and metrics;
    choose the post-processing on val and write the DCASE files of each split (:mod:`bench.evaluation.run`)."""

    from bench.evaluation.outputs import RunOutputs
    from bench.evaluation.run import evaluate_run

    config, preset, store, device = ctx.config, ctx.preset, ctx.store, ctx.device
    best = load_torch(store.checkpoint_path, what="the best checkpoint", advice=_RETRAIN)
    events_path = corpus_dir / "manifest" / "events.parquet"
    events = read_events(corpus_dir) if events_path.is_file() and ctx.options.evaluate == "full" else None
    header: dict[str, Any] = {"best_epoch": int(best["epoch"]), "best_val_micro_ap": float(best["val_micro_ap"])}
    chance = float(data.val.y.float().mean())  # micro-AP of scores that ignore the input: the label prior
    header["convergence"] = preset.convergence(store.read_curves()["val_micro_ap"].tolist(), chance=chance)
    outputs, targets = {}, {}
    for split, part in (("val", data.val), ("test", data.test)):
        if part is None:
            continue
        # float32 whatever the run trained in (one pass over two folds): what `bench detect`, `bench
        # score` and an exported model compute from the same weights
        probs, frames = predict(model, part, device=device, batch_size=preset.eval_batch_size, frames=True)
        y = part.y.cpu().numpy()
        store.write_predictions(list(part.clip_ids), split=split, y_true=y, y_score=probs, labels=EVENT_LABELS)
        store.write_frame_probs(split, frames)
        outputs[split], targets[split] = (list(part.clip_ids), probs, frames), y
    data_out = RunOutputs(
        outputs=outputs,
        y_true=targets,
        events=events,
        clips=read_clips(corpus_dir),
        labels=EVENT_LABELS,
        hop_s=frame_settings.hop_s,
        frame_start_s=frame_settings.frame_start_s,
        snr_db=config.snr_db,
    )
    # this run's share of the cores (see bench.training.grid)
    return evaluate_run(store, data_out, num_jobs=torch.get_num_threads(), header=header)
