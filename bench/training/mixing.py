"""Training data beyond the fixed corpus: fresh mixtures every epoch, and time shifts.

``mixing="online"``: each epoch, the training clips are drawn anew from the training folds'
own sources (their scenes and events only: never the validation fold's or the test split's),
with the corpus's recipe and the run's SNR, rendered by the code that renders the corpus
(:func:`remix.render.mix_clip`: placement, gains, clipping guard, 16-bit samples), turned into
the run's log-mel and standardised with the run's standardiser. Clip ``i`` of fold ``k`` in
epoch ``e`` of a run of seed ``s`` draws from the corpus seed keyed by ``(s, e, k, i)``
(:func:`remix.recipe.plan_fresh`), so the mixtures depend on nothing else: not on the number
of loader processes, and a resumed run continues exactly. Validation and test stay the
corpus's own clips. The next epoch's mixtures are rendered in loader processes while the
current epoch trains.

``augment="shift"``: every training input is rolled in time by a whole number of frames drawn
from ``(s, e, i)``, the same for every model; weak labels do not change, and the reconstruction
target of the auxiliary decoder is the rolled input itself.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench.data import ClipSet
from bench.errors import BenchError
from remix.labels import LABEL_INDEX

MIXINGS = ("fixed", "online")
"""Where training clips come from: the corpus as built, or fresh mixtures every epoch."""
AUGMENTS = ("none", "shift")
"""Augmentations of the training inputs."""


def check_choice(value: str, choices: Sequence[str], what: str) -> str:
    """``value`` when it is one of ``choices``, else BenchError listing them."""
    if value not in choices:
        raise BenchError(f"{what} must be one of {', '.join(choices)}; found {value!r}")
    return value


# --------------------------------------------------------------------------- time shifts


def shift_frames(n_clips: int, n_frames: int, *, seed: int, epoch: int) -> np.ndarray:
    """Each training clip's roll in frames for one epoch: uniform in ``[0, n_frames)``, from
    ``(seed, epoch, clip index)`` only."""
    return np.array(
        [
            np.random.default_rng(np.random.SeedSequence([seed, epoch, 0x5817F7, i])).integers(n_frames)
            for i in range(n_clips)
        ],
        dtype=np.int64,
    )


def shifted(data: ClipSet, *, seed: int, epoch: int) -> ClipSet:
    """``data`` with every clip rolled in time (:func:`shift_frames`); labels unchanged.

    Parameters
    ----------
    data : ClipSet
        ``x`` of shape (N, T, F).
    """
    n, t = data.x.shape[0], data.x.shape[1]
    shifts = torch.from_numpy(shift_frames(n, t, seed=seed, epoch=epoch)).to(data.x.device)
    index = (torch.arange(t, device=data.x.device)[None, :] - shifts[:, None]) % t  # (N, T): source frame
    x = torch.gather(data.x, 1, index[:, :, None].expand(-1, -1, data.x.shape[2]))
    return ClipSet(data.clip_ids, x, data.y)


# --------------------------------------------------------------------------- fresh mixtures


_CHUNK = 16
"""Clips turned into log-mel at once (bounds the waveforms held: 16 x 10 s at 32 kHz is 20 MB)."""
SCENE_CACHE_BYTES = 256 * 2**20
"""Scene recordings a loader process keeps decoded (a run draws scenes again every epoch; the
stand-in's training scenes take about 110 MB at 32 kHz)."""


def _features(plans, render, snr_db: float, settings) -> np.ndarray:
    """Log-mel (n, T, F) float32 of fresh clips (in a loader process or this one)."""
    from bench.features import LogMel
    from remix.render import mix_clip

    logmel = LogMel(settings)
    parts = []
    for start in range(0, len(plans), _CHUNK):
        waves = np.stack([mix_clip(plan, settings=render, snr_db=snr_db) for plan in plans[start : start + _CHUNK]])
        with torch.inference_mode():
            parts.append(logmel(torch.from_numpy(waves)).numpy().astype(np.float32))
    return np.concatenate(parts)


def _start_worker() -> None:
    from remix.render import grow_scene_cache
    from remix.workers import die_with_parent

    die_with_parent()
    torch.set_num_threads(1)
    grow_scene_cache(SCENE_CACHE_BYTES)


@dataclass
class _Pending:
    epoch: int
    plans: list
    futures: list[Future]


class FreshMixtures:
    """Each epoch's training clips, mixed anew from the training folds' sources.

    Parameters
    ----------
    corpus_dir : Path
        The corpus the run trains on; its sources must be where it was built from
        (:func:`remix.fresh.corpus_sources` checks them against its plans).
    snr_db : float
        The run's SNR.
    train_folds : sequence of int
        The run's training folds (its validation fold and the test split are never drawn from).
    n_per_fold : int
        Clips per training fold and epoch (the corpus's own count by default in training).
    seed : int
        The run's seed.
    settings : bench.features.LogMelSettings
        The run's features.
    standardizer : bench.features.Standardizer
        Fitted on the corpus's training clips (applied to every fresh clip).
    workers : int
        Loader processes rendering ahead (0: in this process, when asked).
    """

    def __init__(
        self,
        corpus_dir: Path,
        *,
        snr_db: float,
        train_folds: Sequence[int],
        n_per_fold: int,
        seed: int,
        settings,
        standardizer,
        workers: int = 1,
    ) -> None:
        from remix.errors import RemixError
        from remix.fresh import corpus_sources

        try:
            self.sources = corpus_sources(Path(corpus_dir))
        except RemixError as exc:
            raise BenchError(str(exc)) from None
        if workers < 0:
            raise BenchError(f"loader workers must be 0 or more, found {workers}")
        self.snr_db = float(snr_db)
        self.folds = tuple(int(f) for f in train_folds)
        self.n_per_fold = int(n_per_fold)
        self.seed = int(seed)
        self.settings = settings
        self.standardizer = standardizer
        self.workers = int(workers)
        self._pool: ProcessPoolExecutor | None = None
        self._pending: _Pending | None = None

    def plans(self, epoch: int) -> list:
        """The clip plans of one epoch (:func:`remix.recipe.plan_fresh`)."""
        from remix.recipe import plan_fresh

        return plan_fresh(
            self.sources.pools,
            options=self.sources.recipe,
            seed=self.sources.seed,
            folds=self.folds,
            n_per_fold=self.n_per_fold,
            key=(self.seed, int(epoch)),
            rooms=self.sources.rooms,
        )

    def _submit(self, epoch: int) -> _Pending:
        plans = self.plans(epoch)
        if self.workers == 0:
            return _Pending(epoch, plans, [])
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # torch in a forked child can deadlock
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=_start_worker)
        chunks = np.array_split(np.arange(len(plans)), max(1, 4 * self.workers))
        futures = [
            self._pool.submit(_features, [plans[i] for i in chunk], self.sources.render, self.snr_db, self.settings)
            for chunk in chunks
            if chunk.size
        ]
        return _Pending(epoch, plans, futures)

    def epoch(self, epoch: int, *, prefetch: int | None = None) -> ClipSet:
        """The training clips of ``epoch``; with ``prefetch``, that epoch's mixtures start
        rendering in the loader processes now."""
        pending = self._pending if self._pending is not None and self._pending.epoch == epoch else None
        if pending is None:
            pending = self._submit(epoch)
        self._pending = self._submit(prefetch) if prefetch is not None and self.workers > 0 else None
        if pending.futures:
            features = np.concatenate([f.result() for f in pending.futures])
        else:
            features = _features(pending.plans, self.sources.render, self.snr_db, self.settings)
        x = self.standardizer(features)
        if not np.isfinite(x).all():
            raise BenchError(f"fresh mixtures of epoch {epoch} gave non-finite features")
        y = np.zeros((len(pending.plans), len(LABEL_INDEX)), dtype=np.float32)
        for i, plan in enumerate(pending.plans):
            for label in plan.labels:
                y[i, LABEL_INDEX[label]] = 1.0
        ids = tuple(plan.clip_id for plan in pending.plans)
        return ClipSet(ids, torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y))

    def source_paths(self, epoch: int) -> set[str]:
        """Every source file the clips of ``epoch`` use (scenes and events)."""
        return {p.scene_path for p in self.plans(epoch)} | {e.source_path for p in self.plans(epoch) for e in p.events}

    def close(self) -> None:
        """Stop the loader processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._pending = None

    def __enter__(self) -> FreshMixtures:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TrainingClips:
    """What a run trains on each epoch: the corpus's training clips, or fresh mixtures, with the
    run's augmentation.

    Parameters
    ----------
    train : ClipSet
        The corpus's (standardised) training clips.
    mixing, augment : str
        :data:`MIXINGS`, :data:`AUGMENTS`.
    seed : int
        The run's seed.
    device : torch.device
        Where batches go (fresh clips are moved there).
    mixtures : FreshMixtures, optional
        Needed with ``mixing="online"``.
    """

    def __init__(
        self,
        train: ClipSet,
        *,
        mixing: str,
        augment: str,
        seed: int,
        device: torch.device,
        mixtures: FreshMixtures | None = None,
    ) -> None:
        self.train = train
        self.mixing = check_choice(mixing, MIXINGS, "mixing")
        self.augment = check_choice(augment, AUGMENTS, "augment")
        if mixing == "online" and mixtures is None:
            raise BenchError("fresh mixtures (mixing='online') need their sources (a FreshMixtures)")
        self.seed, self.device, self.mixtures = int(seed), device, mixtures

    def epoch(self, epoch: int, *, last_epoch: int) -> ClipSet:
        """The training clips of ``epoch`` (the next epoch's mixtures start rendering)."""
        if self.mixtures is not None:
            clips = self.mixtures.epoch(epoch, prefetch=epoch + 1 if epoch < last_epoch else None)
            if self.device.type != "cpu":
                clips = clips.to(self.device)
        else:
            clips = self.train
        if self.augment == "shift":
            clips = shifted(clips, seed=self.seed, epoch=epoch)
        return clips

    def close(self) -> None:
        if self.mixtures is not None:
            self.mixtures.close()
