"""What a results folder holds: one row per run, for ``bench list``.

:func:`list_runs` gathers every run folder (through :func:`bench.store.load_runs`)
into a small table a person can scan: the run id, what was trained (model, SNR,
alpha, seed, preset), on which corpus, its status, the best epoch and its validation
micro-AP, and the training wall time (the sum of the epochs' times in
``curves.parquet``). A run still training shows its best epoch so far from its
curves. :func:`runs_to_rich` and :func:`runs_to_json` render it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.store import CURVES, load_runs

__all__ = ["LIST_COLUMNS", "format_duration", "list_runs", "runs_to_json", "runs_to_rich"]

LIST_COLUMNS = (
    "run_id",
    "model",
    "snr_db",
    "alpha",
    "seed",
    "preset",
    "corpus",
    "status",
    "best_epoch",
    "val_micro_ap",
    "wall_s",
)
"""Columns of :func:`list_runs`, in order (JSON output adds ``corpus_dir``,
``corpus_fingerprint``, ``corpus_synthetic``, ``val_fold``, ``reason`` and ``run_dir``)."""

_EXTRA = ("corpus_dir", "corpus_fingerprint", "corpus_synthetic", "val_fold", "reason", "run_dir")


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _curves_summary(run_dir: Path) -> tuple[float | None, int | None, float | None]:
    """(training seconds, best epoch, best validation micro-AP) from ``curves.parquet``."""
    path = Path(run_dir) / CURVES
    if not path.is_file():
        return None, None, None
    try:
        curves = pd.read_parquet(path)
    except Exception:  # a damaged curves file must not hide the run from the listing
        return None, None, None
    wall = float(curves["seconds"].sum()) if "seconds" in curves and len(curves) else None
    best_epoch = best_ap = None
    if {"epoch", "val_micro_ap"} <= set(curves.columns) and curves["val_micro_ap"].notna().any():
        row = curves.loc[curves["val_micro_ap"].idxmax()]
        best_epoch, best_ap = int(row["epoch"]), float(row["val_micro_ap"])
    return wall, best_epoch, best_ap


def _corpus_name(row: pd.Series) -> str:
    corpus_dir = row.get("corpus_dir")
    name = Path(str(corpus_dir)).name if isinstance(corpus_dir, str) and corpus_dir else "—"
    synthetic = row.get("corpus_synthetic")
    if isinstance(synthetic, (bool, np.bool_)) and synthetic:
        name += " (stand-in)"
    return name


def list_runs(
    results_dir: Path,
    *,
    model: str | None = None,
    snr_db: float | None = None,
    preset: str | None = None,
    status: str | None = None,
) -> pd.DataFrame:
    """One row per run folder under ``results_dir``, optionally filtered.

    Parameters
    ----------
    results_dir : Path
        A results folder (``results``) or its ``runs`` folder.
    model : str, optional
        Keep runs of this model name (``gap``, ``2ap_aux``, ...).
    snr_db : float, optional
        Keep runs at this SNR.
    preset : str, optional
        Keep runs of this preset.
    status : str, optional
        Keep runs with this status (``done``, ``running``, ``failed``, ``missing``).

    Returns
    -------
    pd.DataFrame
        Columns :data:`LIST_COLUMNS` plus ``corpus_dir``, ``corpus_fingerprint``,
        ``corpus_synthetic``, ``val_fold``, ``reason``, ``run_dir``; sorted by model, alpha,
        SNR, seed and run id. ``best_epoch`` and ``val_micro_ap`` come from ``metrics.json``
        for an evaluated run and from the curves otherwise; ``wall_s`` is the summed
        epoch time (None before the first epoch).

    Raises
    ------
    BenchError
        When ``results_dir`` does not exist.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise BenchError(f"no results folder {results_dir}; train runs first (bench run ...) or pass --results DIR")
    runs = load_runs(results_dir)
    rows = []
    for _, run in runs.iterrows():
        wall, curve_epoch, curve_ap = _curves_summary(Path(str(run["run_dir"])))
        best_epoch = _number(run.get("best_epoch"))
        best_ap = _number(run.get("best_val_micro_ap"))
        if best_ap is None:
            best_ap = _number(run.get("val_micro_ap"))
        if best_epoch is None:
            best_epoch = curve_epoch
        if best_ap is None:
            best_ap = curve_ap
        synthetic = run.get("corpus_synthetic")
        rows.append(
            {
                "run_id": str(run["run_id"]),
                "model": run.get("model") if isinstance(run.get("model"), str) else None,
                "snr_db": _number(run.get("snr_db")),
                "alpha": _number(run.get("alpha")),
                "seed": None if _number(run.get("seed")) is None else int(_number(run.get("seed"))),
                "preset": run.get("preset") if isinstance(run.get("preset"), str) else None,
                "corpus": _corpus_name(run),
                "status": str(run.get("status")),
                "best_epoch": None if best_epoch is None else int(best_epoch),
                "val_micro_ap": best_ap,
                "wall_s": wall,
                "corpus_dir": run.get("corpus_dir") if isinstance(run.get("corpus_dir"), str) else None,
                "corpus_fingerprint": (
                    run.get("corpus_fingerprint") if isinstance(run.get("corpus_fingerprint"), str) else None
                ),
                "corpus_synthetic": bool(synthetic) if isinstance(synthetic, (bool, np.bool_)) else None,
                "val_fold": None if _number(run.get("val_fold")) is None else int(_number(run.get("val_fold"))),
                "reason": run.get("reason") if isinstance(run.get("reason"), str) else None,
                "run_dir": str(run["run_dir"]),
            }
        )
    frame = pd.DataFrame(rows, columns=[*LIST_COLUMNS, *_EXTRA])
    if model is not None:
        frame = frame[frame["model"] == model]
    if snr_db is not None:
        frame = frame[np.isclose(pd.to_numeric(frame["snr_db"], errors="coerce").astype(float), float(snr_db))]
    if preset is not None:
        frame = frame[frame["preset"] == preset]
    if status is not None:
        frame = frame[frame["status"] == status]
    keys = ["model", "alpha", "snr_db", "seed", "run_id"]
    return frame.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)


def format_duration(seconds: float | None) -> str:
    """``75.2 -> "1m15s"``, ``3725 -> "1h02m"``, ``None -> "—"``."""
    if seconds is None or (isinstance(seconds, float) and not math.isfinite(seconds)):
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _text(value: Any, fmt: str = "{}") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return fmt.format(value)


_STATUS_STYLE = {"done": "green", "running": "yellow", "failed": "red", "missing": "dim"}


def runs_to_rich(frame: pd.DataFrame, *, title: str | None = None):
    """A rich table of :func:`list_runs`, one row per run (the reason under a failed one).

    ``epoch`` is the best epoch, ``val AP`` its validation micro-AP, ``wall`` the training
    time. When every run comes from one corpus, the corpus goes into the title instead of a column,
    so the table fits an 80-column terminal.
    """
    from rich import box
    from rich.table import Table

    corpora = sorted({str(c) for c in frame["corpus"]})
    one_corpus = len(corpora) == 1
    if one_corpus:
        title = f"{title}; corpus: {corpora[0]}" if title else f"corpus: {corpora[0]}"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    columns = [
        ("run id", "left"),
        ("model", "left"),
        ("SNR", "right"),
        ("α", "right"),
        ("seed", "right"),
        ("preset", "left"),
        ("corpus", "left"),
        ("status", "left"),
        ("epoch", "right"),
        ("val AP", "right"),
        ("wall", "right"),
    ]
    if one_corpus:
        columns = [c for c in columns if c[0] != "corpus"]
    for name, justify in columns:
        table.add_column(
            name,
            justify=justify,
            no_wrap=name not in ("corpus", "status"),
            overflow="fold",
            min_width={"status": 7, "corpus": 10, "wall": 6}.get(name),
        )
    for row in frame.replace({np.nan: None}).to_dict("records"):
        status = str(row["status"])
        style = _STATUS_STYLE.get(status, "")
        status_text = f"[{style}]{status}[/]" if style else status
        if status == "failed" and row.get("reason"):
            status_text += f"\n[dim]{row['reason']}[/]"
        cells = [
            row["run_id"],
            _text(row["model"]),
            _text(row["snr_db"], "{:g} dB"),
            _text(row["alpha"], "{:g}"),
            _text(row["seed"]),
            _text(row["preset"]),
            _text(row["corpus"]),
            status_text,
            _text(row["best_epoch"]),
            _text(row["val_micro_ap"], "{:.4f}"),
            format_duration(row["wall_s"]),
        ]
        if one_corpus:
            del cells[6]
        table.add_row(*cells)
    return table


def runs_to_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain-JSON records of :func:`list_runs` (NaN as None)."""
    from bench.store import to_jsonable

    return [to_jsonable(record) for record in frame.astype(object).where(frame.notna(), None).to_dict("records")]
