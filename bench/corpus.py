"""The corpus as the benchmark reads it: its clips manifest and its SNRs, with errors in bench's terms.

:func:`remix.manifest.read_clips` is the one reader of ``manifest/clips.parquet``; this
module hands its checks on as a :class:`bench.errors.BenchError` (same message), so every
bench function reports a missing, damaged or outdated corpus the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError
from remix import manifest
from remix.errors import RemixError

CLIP_COLUMNS: tuple[str, ...] = ("clip_id", "snr_db", "split", "fold", "labels")
"""Columns of the clips manifest that training reads."""


def read_clips(corpus_dir: Path, *, required: Sequence[str] = CLIP_COLUMNS) -> pd.DataFrame:
    """``manifest/clips.parquet`` of a built corpus (training's columns required by default).

    Raises
    ------
    BenchError
        The folder or its manifest is missing, the manifest is damaged, or a ``required``
        column is absent; the message says what to run.
    """
    try:
        return manifest.read_clips(corpus_dir, required=required)
    except RemixError as exc:
        raise BenchError(str(exc)) from None


def corpus_snrs(clips: pd.DataFrame) -> list[float]:
    """The SNRs (dB) present in a clips table, ascending."""
    return sorted({float(s) for s in clips["snr_db"]})


def check_snr(clips: pd.DataFrame, snr_db: float) -> None:
    """BenchError naming the corpus SNRs when ``snr_db`` is not one of them."""
    have = corpus_snrs(clips)
    if not any(np.isclose(snr_db, s) for s in have):
        raise BenchError(f"the corpus has no clips at SNR {snr_db:g} dB; it has {', '.join(f'{s:g}' for s in have)} dB")


def clips_at(clips: pd.DataFrame, snr_db: float) -> pd.DataFrame:
    """Rows of one SNR, sorted by clip id."""
    check_snr(clips, snr_db)
    rows = clips[np.isclose(clips["snr_db"].astype(float), float(snr_db))]
    return rows.sort_values("clip_id", kind="stable").reset_index(drop=True)
