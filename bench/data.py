"""Datasets over cached features: weak labels, folds, splits and batches.

The dev clips of a corpus carry folds 1..4; one fold validates and the others
train (fold 4 by default, each fold in turn under cross-validation). Clips of
split ``"test"`` (fold 0), when the corpus has them, are only ever predicted
with the chosen checkpoint. Features come from :func:`bench.feature_cache.compute_features`
and are standardised with statistics of the training clips only.

Features are small (N x 311 x 64 float32: 80 kB a clip), so a split lives in
memory as one tensor and batches are slices of it: the fastest loader on a CPU,
and on CUDA the tensors are pinned and copied with ``non_blocking=True``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bench.corpus import CLIP_COLUMNS, check_snr, clips_at, corpus_snrs, read_clips  # noqa: F401  (re-exported)
from bench.errors import BenchError
from remix.labels import EVENT_LABELS, LABEL_INDEX

DEV_FOLDS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Split:
    """Clip ids of one run's training, validation and test sets (each sorted)."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]


def make_split(
    clips: pd.DataFrame,
    *,
    snr_db: float,
    val_fold: int = 4,
    train_clips: int | None = None,
    seed: int = 0,
) -> Split:
    """Training, validation and test clip ids of one SNR.

    Parameters
    ----------
    clips : pd.DataFrame
        The corpus clips table (:func:`read_clips`).
    snr_db : float
        SNR of the run.
    val_fold : int
        The dev fold (1..4) that validates; the other dev folds train.
    train_clips : int or None
        Keep at most this many training clips, drawn without replacement with a
        generator seeded by ``seed`` (the same seed gives the same subset).
    seed : int
        Seed of the subset draw.

    Raises
    ------
    BenchError
        Unknown fold, or a split that would be empty.
    """
    rows = clips_at(clips, snr_db)
    dev = rows[rows["split"] == "dev"]
    folds = sorted({int(f) for f in dev["fold"]})
    if val_fold not in folds:
        raise BenchError(f"validation fold {val_fold} is not in the corpus; its dev folds are {folds}")
    train = np.sort(dev.loc[dev["fold"] != val_fold, "clip_id"].astype(str).to_numpy())
    val = np.sort(dev.loc[dev["fold"] == val_fold, "clip_id"].astype(str).to_numpy())
    test = np.sort(rows.loc[rows["split"] == "test", "clip_id"].astype(str).to_numpy())
    if train.size == 0 or val.size == 0:
        raise BenchError(
            f"fold {val_fold} as validation leaves {train.size} training and {val.size} validation clips "
            f"at SNR {snr_db:g} dB; the corpus needs clips in at least two dev folds"
        )
    if train_clips is not None and train_clips < train.size:
        if train_clips < 1:
            raise BenchError(f"train_clips must be at least 1, found {train_clips}")
        pick = np.random.default_rng(np.random.SeedSequence([seed, 0x5EB5E7])).choice(
            train.size, size=train_clips, replace=False
        )
        train = np.sort(train[pick])
    return Split(train=tuple(train), val=tuple(val), test=tuple(test))


def weak_labels(clips: pd.DataFrame, clip_ids: Sequence[str], *, snr_db: float) -> np.ndarray:
    """Weak label matrix of the given clips.

    Returns
    -------
    np.ndarray [shape=(len(clip_ids), 41)], float32
        1 where the clip holds the label, columns in ``remix.labels.EVENT_LABELS`` order.

    Raises
    ------
    BenchError
        A clip id that is not in the table, or a label outside the 41.
    """
    rows = clips_at(clips, snr_db).set_index("clip_id")
    y = np.zeros((len(clip_ids), len(EVENT_LABELS)), dtype=np.float32)
    for i, cid in enumerate(clip_ids):
        try:
            labels = rows.at[cid, "labels"]
        except KeyError:
            raise BenchError(f"clip {cid!r} is not in the corpus at SNR {snr_db:g} dB") from None
        for label in labels:
            if label not in LABEL_INDEX:
                raise BenchError(f"clip {cid!r} carries the unknown label {label!r}; rebuild the corpus")
            y[i, LABEL_INDEX[label]] = 1.0
    return y


@dataclass
class ClipSet:
    """One split in memory.

    Attributes
    ----------
    clip_ids : tuple of str
    x : torch.Tensor [shape=(N, T, F)], float32, standardised
    y : torch.Tensor [shape=(N, C)], float32 weak labels
    """

    clip_ids: tuple[str, ...]
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.clip_ids)

    def pin(self) -> ClipSet:
        """Page-locked copy (for asynchronous copies to a GPU)."""
        return ClipSet(self.clip_ids, self.x.pin_memory(), self.y.pin_memory())

    def to(self, device: torch.device | str) -> ClipSet:
        """Copy on ``device`` (non-blocking from pinned memory)."""
        return ClipSet(self.clip_ids, self.x.to(device, non_blocking=True), self.y.to(device, non_blocking=True))


@dataclass
class RunData:
    """The three splits of a run and the standardiser fitted on its training clips."""

    split: Split
    train: ClipSet
    val: ClipSet
    test: ClipSet | None
    standardizer: object  # bench.features.Standardizer


def load_data(
    corpus_dir: Path,
    *,
    snr_db: float,
    val_fold: int = 4,
    train_clips: int | None = None,
    seed: int = 0,
    clips: pd.DataFrame | None = None,
    feature_set=None,
    pin: bool = False,
    progress: bool = False,
    settings=None,
) -> RunData:
    """Standardised features and weak labels of one run's splits.

    Parameters
    ----------
    corpus_dir : Path
        A built corpus.
    snr_db, val_fold, train_clips, seed
        See :func:`make_split`.
    clips : pd.DataFrame, optional
        The clips table, when already read.
    feature_set : bench.feature_cache.FeatureSet, optional
        This SNR's features, when already loaded (computed and cached otherwise).
    pin : bool
        Pin the tensors (use on CUDA).
    progress : bool
        Progress bar while features are computed.
    settings : bench.features.LogMelSettings, optional
        Log-mel settings of the features computed here (default: the paper's); ignored
        when ``feature_set`` is given.
    """
    from bench.feature_cache import compute_features
    from bench.features import Standardizer

    clips = read_clips(corpus_dir) if clips is None else clips
    split = make_split(clips, snr_db=snr_db, val_fold=val_fold, train_clips=train_clips, seed=seed)
    if feature_set is None:
        kwargs = {} if settings is None else {"settings": settings}
        feature_set = compute_features(Path(corpus_dir), snr_db=snr_db, progress=progress, **kwargs)
    train_rows = feature_set.rows(split.train)
    standardizer = Standardizer().fit(feature_set.features, train_rows)

    def clipset(ids: tuple[str, ...]) -> ClipSet:
        rows = feature_set.rows(ids)
        x = standardizer(np.asarray(feature_set.features[np.sort(rows)]))  # sorted ids -> sorted rows
        x = x[np.argsort(np.argsort(rows))]  # back to the order of ids
        if not np.isfinite(x).all():
            raise BenchError(f"features of SNR {snr_db:g} dB hold NaN or infinite values; recompute the feature cache")
        y = weak_labels(clips, ids, snr_db=snr_db)
        out = ClipSet(ids, torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y))
        return out.pin() if pin else out

    return RunData(
        split=split,
        train=clipset(split.train),
        val=clipset(split.val),
        test=clipset(split.test) if split.test else None,
        standardizer=standardizer,
    )


def epoch_order(n: int, *, seed: int, epoch: int) -> np.ndarray:
    """Shuffled row order of one epoch: a function of (seed, epoch) only, so a resumed
    run sees exactly the batches it would have seen."""
    return np.random.default_rng(np.random.SeedSequence([seed, epoch, 0xBA7C4])).permutation(n)


def batches(
    data: ClipSet,
    *,
    batch_size: int,
    device: torch.device | str = "cpu",
    order: np.ndarray | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches ``(x (B, T, F), y (B, C))`` on ``device``, in ``order`` (natural order if None).

    The last batch may be smaller. On CUDA the copies are non-blocking (pin the set first).
    """
    device = torch.device(device)
    n = len(data)
    idx = torch.arange(n) if order is None else torch.as_tensor(order, device=data.x.device)
    non_blocking = device.type == "cuda" and data.x.device.type == "cpu"
    for start in range(0, n, batch_size):
        sel = idx[start : start + batch_size]
        if order is None:
            xb, yb = data.x[start : start + batch_size], data.y[start : start + batch_size]
        else:
            xb, yb = data.x.index_select(0, sel), data.y.index_select(0, sel)
            if non_blocking:
                xb, yb = xb.pin_memory(), yb.pin_memory()
        yield xb.to(device, non_blocking=non_blocking), yb.to(device, non_blocking=non_blocking)
