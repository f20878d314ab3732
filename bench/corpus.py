"""The corpus as the benchmark reads it: its clips manifest and its SNRs, with errors in bench's terms.

:func:`remix.manifest.read_clips` is the one reader of ``manifest/clips.parquet``; this
module hands its checks on as a :class:`bench.errors.BenchError` (same message), so every
bench function reports a missing, damaged or outdated corpus the same way.
"""

from __future__ import annotations

import hashlib
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


def corpus_fingerprint(clips) -> str:
    """Short hash of the clips table's identity columns (which clips, folds, labels)."""
    cols = [c for c in ("clip_id", "snr_db", "split", "fold", "audio_path") if c in clips.columns]
    table = clips[cols].astype(str).sort_values(cols, kind="stable")
    labels = clips["labels"].map(lambda v: ",".join(v)).reindex(table.index)
    text = table.to_csv(index=False) + labels.str.cat(sep="|")
    return hashlib.sha1(text.encode()).hexdigest()[:12]


MANIFESTS = ("clips.parquet", "events.parquet")
"""The manifests a run's metrics are computed from."""


def manifest_digest(corpus_dir: Path) -> str:
    """Short hash (12 hex digits) of the bytes of the corpus's clips and events manifests: what
    a run's metrics are computed from. A rebuild with other options or another seed changes it;
    a byte-identical rebuild does not."""
    digest = hashlib.sha1()
    for name in MANIFESTS:
        path = Path(corpus_dir) / "manifest" / name
        digest.update(name.encode())
        try:
            digest.update(path.read_bytes())
        except FileNotFoundError:
            digest.update(b"<missing>")
        except OSError as exc:
            raise BenchError(f"cannot read {path} ({exc.strerror or exc})") from None
    return digest.hexdigest()[:12]


def check_same_corpus(record: dict, corpus_dir: Path, *, doing: str) -> None:
    """Refuse (one line) when the corpus in ``corpus_dir`` is not the one a run was trained on.

    Parameters
    ----------
    record : dict
        The run's ``config.json``: ``corpus_fingerprint`` (which clips, folds and labels) and,
        for runs trained since it was recorded, ``corpus_manifest_digest`` (the manifests' bytes).
    corpus_dir : Path
    doing : str
        What was about to happen ("evaluate run X"), for the message.
    """
    run_id = record.get("run_id", "?")
    want_digest = record.get("corpus_manifest_digest")
    if want_digest is not None and manifest_digest(corpus_dir) == want_digest:
        return
    want = record.get("corpus_fingerprint")
    found = corpus_fingerprint(read_clips(corpus_dir))
    if want_digest is None and (want is None or found == want):
        return  # a run recorded before the manifest digest: the clips are the same
    raise BenchError(
        f"cannot {doing}: the corpus in {corpus_dir} changed since run {run_id} was trained on it "
        f"(clips {want} -> {found}"
        + ("" if want_digest is None else f", manifests {want_digest} -> {manifest_digest(corpus_dir)}")
        + "); its metrics would mix two corpora. Point it at the corpus it was trained on (--corpus), "
        "or train it again on this one."
    )


def read_events(corpus_dir: Path) -> pd.DataFrame:
    """The labelled events of a built corpus: ``manifest/events.parquet``, checked
    (:func:`remix.manifest.read_events`), less its interference events, with the overlapping
    occurrences of a class in a clip merged (:func:`remix.manifest.merged_strong_labels`): what
    training targets and every score see. BenchError with the same message."""
    try:
        return manifest.merged_strong_labels(manifest.read_events(corpus_dir))
    except RemixError as exc:
        raise BenchError(str(exc)) from None


def one_corpus(runs: pd.DataFrame, *, what: str, wanted: str | None = None, hint: str | None = None) -> pd.DataFrame:
    """``runs`` of one corpus: those whose fingerprint starts with ``wanted``, or, without it, all of
    them when they share one corpus; a BenchError naming the corpora when they do not (runs of two
    corpora are not seeds of one system). The one place that tables, comparisons, figures and the
    probe group runs by corpus."""
    if runs.empty or "corpus_fingerprint" not in runs.columns:
        return runs
    prints = runs["corpus_fingerprint"].astype("string")
    if wanted is not None:
        return runs[prints.str.startswith(str(wanted)).fillna(False).to_numpy(bool)]
    found = sorted({str(v) for v in prints.dropna()})
    if len(found) > 1:
        counts = ", ".join(f"{fp} ({int((prints == fp).sum())} run(s))" for fp in found)
        way_out = hint or (
            f"name one, e.g. {what.split()[0]},corpus={found[0]}, or keep each corpus's runs in its own results folder"
        )
        raise BenchError(
            f"the runs of {what} were trained on {len(found)} corpora: {counts}; they are not seeds of one "
            f"system. {way_out[0].upper() + way_out[1:]}"
        )
    return runs
