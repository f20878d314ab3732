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
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.store import CONFIG, CURVES, load_runs, runs_dir, to_jsonable
from remix.atomic import read_json

__all__ = ["DETAIL_COLUMNS", "LIST_COLUMNS", "format_duration", "list_runs", "runs_to_json", "runs_to_rich"]

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
``corpus_fingerprint``, ``corpus_synthetic``, ``val_fold``, ``reason``, ``run_dir`` and
:data:`DETAIL_COLUMNS`)."""

DETAIL_COLUMNS = ("options", "mixing", "augment", "epochs_run", "cycles", "converged", "median_epoch_s")
"""How each run was trained (``bench list --detail``): its model options (``key=value``, comma-separated),
training clips (``fixed`` or ``online``), augmentation, epochs trained, schedule cycles (restarts
included), whether it converged by the rule every model shares (:mod:`bench.training.convergence`),
and the median seconds per epoch."""

_EXTRA = ("corpus_dir", "corpus_fingerprint", "corpus_synthetic", "val_fold", "reason", "run_dir", *DETAIL_COLUMNS)


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


class _Curves(NamedTuple):
    """What a run's ``curves.parquet`` says (None: no curves, or no such column)."""

    wall_s: float | None = None
    best_epoch: int | None = None
    best_ap: float | None = None
    median_epoch_s: float | None = None
    epochs: int | None = None


def _curves_summary(run_dir: Path) -> _Curves:
    """Training seconds, best epoch and its validation micro-AP, median epoch seconds and epochs
    from ``curves.parquet``."""
    path = Path(run_dir) / CURVES
    if not path.is_file():
        return _Curves()
    try:
        curves = pd.read_parquet(path)
    except Exception:  # a damaged curves file must not hide the run from the listing
        return _Curves()
    timed = "seconds" in curves and len(curves) > 0
    best_epoch = best_ap = None
    if {"epoch", "val_micro_ap"} <= set(curves.columns) and curves["val_micro_ap"].notna().any():
        row = curves.loc[curves["val_micro_ap"].idxmax()]
        best_epoch, best_ap = int(row["epoch"]), float(row["val_micro_ap"])
    return _Curves(
        wall_s=float(curves["seconds"].sum()) if timed else None,
        best_epoch=best_epoch,
        best_ap=best_ap,
        median_epoch_s=float(curves["seconds"].median()) if timed else None,
        epochs=len(curves),
    )


def _options_text(run: pd.Series) -> str:
    """A run's model options as ``key=value`` pairs (``""`` for the model's defaults)."""
    pairs = [
        f"{key.removeprefix('options.')}={run[key]}"
        for key in sorted(run.index)
        if key.startswith("options.")
        and run[key] is not None
        and not (isinstance(run[key], float) and np.isnan(run[key]))
    ]
    return ",".join(pairs)


def _flag(value: Any) -> bool | None:
    return bool(value) if isinstance(value, (bool, np.bool_)) else None


def _corpus_name(row: pd.Series) -> str:
    corpus_dir = row.get("corpus_dir")
    name = Path(str(corpus_dir)).name if isinstance(corpus_dir, str) and corpus_dir else "—"
    if _flag(row.get("corpus_synthetic")):
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
        ``corpus_synthetic``, ``val_fold``, ``reason``, ``run_dir`` and :data:`DETAIL_COLUMNS`
        (``epochs_run`` counts the curves' epochs of a run not evaluated yet; ``cycles`` and
        ``converged`` are None until it is); sorted by model, alpha,
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
        curves = _curves_summary(Path(str(run["run_dir"])))
        epochs_run, cycles = _number(run.get("convergence_epochs_run")), _number(run.get("convergence_cycles"))
        best_epoch = _number(run.get("best_epoch"))
        best_ap = _number(run.get("best_val_micro_ap"))
        if best_ap is None:
            best_ap = _number(run.get("val_micro_ap"))
        if best_epoch is None:
            best_epoch = curves.best_epoch
        if best_ap is None:
            best_ap = curves.best_ap
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
                "wall_s": curves.wall_s,
                "corpus_dir": run.get("corpus_dir") if isinstance(run.get("corpus_dir"), str) else None,
                "corpus_fingerprint": (
                    run.get("corpus_fingerprint") if isinstance(run.get("corpus_fingerprint"), str) else None
                ),
                "corpus_synthetic": _flag(run.get("corpus_synthetic")),
                "val_fold": None if _number(run.get("val_fold")) is None else int(_number(run.get("val_fold"))),
                "reason": run.get("reason") if isinstance(run.get("reason"), str) else None,
                "run_dir": str(run["run_dir"]),
                "options": _options_text(run),
                # runs recorded before these settings existed trained on the fixed corpus, unaugmented
                "mixing": run.get("mixing") if isinstance(run.get("mixing"), str) else "fixed",
                "augment": run.get("augment") if isinstance(run.get("augment"), str) else "none",
                "epochs_run": int(epochs_run) if epochs_run is not None else curves.epochs,
                "cycles": None if cycles is None else int(cycles),
                "converged": _flag(run.get("convergence_converged")),
                "median_epoch_s": curves.median_epoch_s,
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


def varying_columns(frame: pd.DataFrame) -> list[str]:
    """The training columns (options, mixing, augment) whose value differs between the listed runs:
    ``bench list`` shows them without ``--detail``, so that no two rows differ only in id and score."""
    return [
        name
        for name in ("options", "mixing", "augment")
        if name in frame.columns and frame[name].fillna("").astype(str).nunique() > 1
    ]


def runs_to_rich(frame: pd.DataFrame, *, title: str | None = None, detail: bool = False):
    """A rich table of :func:`list_runs`, one row per run (the reason under a failed one).

    ``epoch`` is the best epoch, ``val AP`` its validation micro-AP, ``wall`` the training
    time. When every run comes from one corpus, the corpus goes into the title instead of a column,
    so the table fits an 80-column terminal. Options, mixing and augmentation are shown when they
    differ between the runs (:func:`varying_columns`). ``detail`` adds a second table, one row per
    run, with :data:`DETAIL_COLUMNS`, so that neither table crops a number in 80 columns.
    """
    from rich import box
    from rich.console import Group

    corpora = sorted({str(c) for c in frame["corpus"]})
    one_corpus = len(corpora) == 1
    if one_corpus:
        title = f"{title}; corpus: {corpora[0]}" if title else f"corpus: {corpora[0]}"
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
    varying = [] if detail else varying_columns(frame)
    columns += [(name, "left") for name in varying]
    body, details = [], []
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
            _text(row["seed"], "{:.0f}"),
            _text(row["preset"]),
            _text(row["corpus"]),
            status_text,
            _text(row["best_epoch"], "{:.0f}"),
            _text(row["val_micro_ap"], "{:.4f}"),
            format_duration(row["wall_s"]),
        ]
        if one_corpus:
            del cells[6]
        cells += [_text(row[name]) if row[name] else "—" for name in varying]
        body.append(cells)
        converged = {True: "yes", False: "no"}.get(row["converged"], "—")
        details.append(
            [
                row["run_id"],
                row["options"] or "—",
                _text(row["mixing"]),
                _text(row["augment"]),
                _text(row["epochs_run"], "{:.0f}"),
                _text(row["cycles"], "{:.0f}"),
                converged,
                _text(row["median_epoch_s"], "{:.2f}"),
            ]
        )
    table = _table(columns, body, title=title, box=box.SIMPLE_HEAD)
    if not detail:
        return table
    how = [("run id", "left"), ("options", "left"), ("mixing", "left"), ("augment", "left")]
    how += [("epochs", "right"), ("cycles", "right"), ("conv.", "left"), ("s/epoch", "right")]
    return Group(table, _table(how, details, title="how each run was trained", box=box.SIMPLE_HEAD))


def _table(columns: list[tuple[str, str]], body: list[list[str]], *, title: str | None, box):
    """A rich table whose numbers and run ids are never cut (a narrow terminal wraps the text columns)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box, pad_edge=False, collapse_padding=True)
    for k, (name, justify) in enumerate(columns):
        whole = justify == "right" or name == "run id"
        widest = max([len(name)] + [len(str(cells[k]).split("\n")[0]) for cells in body]) if whole else None
        table.add_column(
            name,
            justify=justify,
            no_wrap=whole,
            overflow="fold",
            min_width=widest if whole else {"status": 7, "corpus": 10}.get(name),
        )
    for cells in body:
        table.add_row(*cells)
    return table


def runs_to_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain-JSON records of :func:`list_runs` (NaN as None)."""
    return [to_jsonable(record) for record in frame.astype(object).where(frame.notna(), None).to_dict("records")]


def run_line(results_dir: Path, run_id: str) -> str:
    """One line on a finished run for a log: ``<id> <model> [<options>] <snr> dB seed <s>: <epochs> epochs,
    best val micro-AP <ap> (epoch <e>), <seconds> s``, from its folder (what is missing is left out)."""
    run_dir = runs_dir(Path(results_dir)) / run_id
    config = read_json(run_dir / CONFIG) or {}
    curves = _curves_summary(run_dir)
    options = " ".join(f"{k}={v}" for k, v in sorted((config.get("options") or {}).items()))
    words = [run_id, str(config.get("model", "?")), *([options] if options else [])]
    if "snr_db" in config:
        words.append(f"{float(config['snr_db']):g} dB")
    if "seed" in config:
        words.append(f"seed {config['seed']}")
    facts = []
    if curves.epochs is not None:
        facts.append(f"{curves.epochs} epochs")
    if curves.best_ap is not None:
        facts.append(f"best val micro-AP {curves.best_ap:.3f} (epoch {curves.best_epoch})")
    if curves.wall_s is not None:
        facts.append(f"{curves.wall_s:.0f} s")
    return " ".join(words) + (": " + ", ".join(facts) if facts else "")
