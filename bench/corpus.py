"""The corpus as the benchmark reads it: its clips manifest, with errors in bench's terms.

:func:`remix.manifest.read_clips` is the one reader of ``manifest/clips.parquet``; this
module hands its checks on as a :class:`bench.errors.BenchError` (same message), so every
bench function reports a missing, damaged or outdated corpus the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
