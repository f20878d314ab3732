"""The pooling table: every weak-label pooling operator beside the paper's systems, per SNR.

One row per system (the paper's Table 1 systems, then the operators of :mod:`models.mil`
that have runs), one column per metric: tagging (micro-AP, macro-AP), localisation (PSDS1 and
PSDS2 each beside its tagging-only control, collar-based event F1) and position (the share of
its validation micro-AP a best checkpoint keeps when the validation clips are shifted by
1.5 s, :func:`bench.inference.probe.kept_replicates`). Every cell is the mean over its runs
with a 95 % interval (clips and runs resampled, the same resamples for every system); bold
marks the best of a column and every row that cannot be told apart from it (per SNR).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.bootstrap import cell_replicates, interval
from bench.evaluation.catalogue import titled
from bench.inference.probe import KEPT_SHIFT_S, kept_replicates
from bench.reporting import latex as lx
from bench.reporting.intervals import match_runs, metric_key
from bench.reporting.render import TAGGING_TEXT, _cell_text, _latex_cell, emphasised, parts_rich, print_with_notes
from bench.reporting.report import (
    _at_chance,
    _converged,
    _corpus_line,
    _count,
    _mark_best,
    _run_dirs,
    _select_runs,
    _stacked,
    _stats,
    chance_caption,
)
from bench.reporting.table import (
    BEST_TEXT,
    DASH,
    INTERVAL_TEXT,
    SYNTHETIC_WARNING,
    UNCONVERGED,
    UNCONVERGED_NOTE,
    Table,
)
from models.mil import OPERATORS

POOLING = "pooling"
KEPT = "kept"
"""Column key of the position probe's share kept."""

POOLING_METRICS: tuple[tuple[str, str], ...] = (
    *titled(("micro_ap", "macro_ap", "psds1", "tagging_psds1", "psds2", "tagging_psds2", "event_f1")),
    (KEPT, f"kept at {KEPT_SHIFT_S:g} s"),
)
"""The columns, in order: (key, title)."""

POOLING_PARTS = (
    ("tagging", ("micro_ap", "macro_ap", "event_f1", KEPT)),
    ("PSDS", ("psds1", "tagging_only_psds1", "psds2", "tagging_only_psds2")),
)
"""The table's LaTeX floats and terminal tables (four value columns each, so that a terminal
table fits 100 columns): tagging with event F1 and the position column; PSDS beside its control."""

PAPER_SYSTEMS: tuple[tuple[str, float, str], ...] = (
    ("gap", 0.0, "GAP"),
    ("gmp", 0.0, "GMP"),
    ("gwrp", 0.0, "GWRP"),
    ("atrous_ap", 0.0, "atrous AP"),
    ("2ap_aux", 0.001, "2AP+aux"),
)
"""(model, alpha, label) of the paper's Table 1 systems, the table's first rows."""


def pooling_rows() -> list[tuple[str, float, str]]:
    """(model, alpha, label) of every row the table can have: the paper's systems, then the operators."""
    return list(PAPER_SYSTEMS) + [(name, 0.0, op.label) for name, op in OPERATORS.items()]


def _column(key: str, *, split: str) -> str:
    """The runs-table column of a metric key (``psds1`` -> ``val_localisation_psds1``)."""
    if key in ("micro_ap", "macro_ap"):
        return f"{split}_{key}"
    return f"{split}_localisation_{key}"


def _kept_cell(done: pd.DataFrame) -> tuple[list[float], np.ndarray | None, list[str]]:
    """Per-run shares kept, their stacked replicates (S, B) and the runs that had them."""
    values, reps, dirs = [], [], []
    for run_dir in _run_dirs(done):
        try:
            kept, rep = kept_replicates(Path(run_dir))
        except (BenchError, OSError, KeyError):
            continue
        values.append(kept)
        reps.append(rep)
        dirs.append(run_dir)
    if not reps:
        return values, None, dirs
    n = min(len(r) for r in reps)
    return values, np.stack([r[:n] for r in reps]), dirs


def build_pooling_table(
    runs: pd.DataFrame, *, split: str = "val", preset: str | None = None, probe: bool = True
) -> Table:
    """The pooling table of the runs in ``runs`` (:func:`bench.store.load_runs`).

    Parameters
    ----------
    runs : pd.DataFrame
    split : {"val", "test"}
        Which split the tagging and localisation columns score; the position column always
        scores the validation fold (the probe's).
    preset : str, optional
        Keep only runs of this preset.
    probe : bool
        Fill the position column (a pass of every run's checkpoint over its shifted
        validation clips); False leaves it empty.

    Returns
    -------
    Table
        ``name`` "pooling"; ``rows`` (system, SNR) pairs, SNRs from high to low; ``data`` one
        row per cell with ``mean``, ``low``, ``high``, ``n``, ``best``, ``tied``, ``unconverged``.
    """
    runs, notes = _select_runs(runs, split=split, preset=preset)
    corpus, synthetic = _corpus_line(runs)
    snr_values = pd.to_numeric(runs.get("snr_db", pd.Series(dtype=float)), errors="coerce").dropna()
    snrs = sorted({float(s) for s in snr_values}, reverse=True)
    records, rows, used = [], [], []
    kept_reps: dict[tuple[str, ...], np.ndarray] = {}
    for snr in snrs:
        for model, alpha, label in pooling_rows():
            matched = match_runs(runs, model, alpha, snr)
            done = matched[matched["status"] == "done"] if not matched.empty else matched
            if done.empty:
                continue
            used.append(done)
            r = len(rows)
            rows.append((label, f"{snr:g} dB"))
            stuck = _at_chance(done)
            unconverged = int((~_converged(done) & ~stuck).sum())
            for key, _ in POOLING_METRICS:
                record = dict(row=r, column=key, model=model, alpha=alpha, snr_db=snr, paper=None, std=None)
                if key == KEPT:
                    values, reps, dirs = _kept_cell(done) if probe else ([], None, [])
                    mean, std, n = _stats(pd.Series(values, dtype=float))
                    low, high = interval(cell_replicates(reps), estimate=mean) if reps is not None else (None, None)
                    if reps is not None:
                        kept_reps[tuple(dirs)] = reps
                    record.update(metric=KEPT, mean=mean, std=std, n=n, low=low, high=high, run_dirs=dirs)
                else:
                    column = _column(key, split=split)
                    values = done[column] if column in done.columns else pd.Series(dtype=float)
                    mean, std, n = _stats(values)
                    dirs = _run_dirs(done[pd.to_numeric(values, errors="coerce").notna()]) if n else []
                    stacked = _stacked(dirs, metric_key(column, split=split), split=split) if dirs else None
                    low, high = (
                        interval(cell_replicates(stacked), estimate=mean) if stacked is not None else (None, None)
                    )
                    record.update(metric=column, mean=mean, std=std, n=n, low=low, high=high, run_dirs=dirs)
                record["unconverged"] = unconverged if record["n"] else 0
                record["at_chance"] = int(stuck.sum()) if record["n"] else 0
                records.append(record)

    def replicates(run_dirs: Sequence[str], metric: str) -> np.ndarray | None:
        if metric == KEPT:
            return kept_reps.get(tuple(run_dirs))
        return _stacked(run_dirs, metric_key(metric, split=split), split=split)

    columns = ["row", "column", "model", "alpha", "snr_db", "metric", "mean", "std", "n", "paper", "low", "high"]
    data = pd.DataFrame(records, columns=[*columns, "run_dirs", "unconverged", "at_chance"])
    data = _mark_best(data, split=split, within=("snr_db", "column"), replicates=replicates)
    done_runs = pd.concat(used) if used else pd.DataFrame()
    split_text = (
        "validation fold (post-processing chosen on it: localisation optimistic)"
        if split == "val"
        else "held-out test split (post-processing chosen on validation)"
    )
    caption = (
        f"Weak-label pooling. {corpus}. Tagging and localisation on the {split_text}; 'kept at "
        f"{KEPT_SHIFT_S:g} s': the share of validation micro-AP a best checkpoint keeps on its validation clips "
        f"shifted by {KEPT_SHIFT_S:g} s (a model that learned onset positions loses it); {TAGGING_TEXT}. "
        f"GAP, GMP and GWRP pool the time-frequency map, the operators the frames of the map averaged over frequency; "
        f"mean over runs (n) with {INTERVAL_TEXT}; {BEST_TEXT} (per SNR). {_count(len(done_runs), 'finished run')}."
    )
    if not runs.empty and runs["preset"].notna().any():
        caption += f" Preset '{preset or str(runs['preset'].dropna().iloc[0])}'."
    n_unconverged = int((data["unconverged"] > 0).sum()) if not data.empty else 0
    if n_unconverged:
        caption += f" {UNCONVERGED} marks cells with runs that had not converged."
        notes.append(UNCONVERGED_NOTE)
    caption += chance_caption(data, notes)
    if synthetic:
        notes.insert(0, SYNTHETIC_WARNING)
    return Table(
        name=POOLING,
        title="Weak-label pooling: tagging, localisation and position per system and SNR",
        caption=caption,
        row_header=["System", "SNR"],
        rows=rows,
        groups=[("", list(POOLING_METRICS))],
        data=data,
        notes=notes,
        synthetic=synthetic,
    )


def has_operator_runs(runs: pd.DataFrame) -> bool:
    """Whether any run in ``runs`` is one of the pooling operators (the table is then worth writing)."""
    return not runs.empty and bool(runs["model"].isin(list(OPERATORS)).any())


def pooling_markdown(table: Table) -> str:
    """The pooling table as GitHub markdown: one table per SNR, every column."""
    header = ["System"] + [title for _, title in POOLING_METRICS]
    lines = [f"**{table.title}**", ""]
    if table.synthetic:
        lines += [f"> **{SYNTHETIC_WARNING}**", ""]
    lines += [table.caption, ""]
    for snr in dict.fromkeys(s for _, s in table.rows):
        lines += [f"*{snr}*", "", "| " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(POOLING_METRICS)]
        for r, (label, row_snr) in enumerate(table.rows):
            if row_snr != snr:
                continue
            cells = [label] + [_cell_text(table.cell(r, key), digits=3) for key, _ in POOLING_METRICS]
            lines.append("| " + " | ".join(emphasised(c, "markdown").replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    if not table.rows:
        lines += ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(POOLING_METRICS)]
        lines += ["| " + " | ".join([DASH] * len(header)) + " |", ""]
    extra = [n for n in table.notes if n != SYNTHETIC_WARNING]
    if extra:
        lines += [f"- {note}" for note in extra]
    return "\n".join(lines).rstrip("\n") + "\n"


def pooling_floats(table: Table) -> list[lx.LatexFloat]:
    """The pooling table as LaTeX floats: one per SNR and part (:data:`POOLING_PARTS`), so that
    each fits a single-column page in width and height (16 systems, two lines each)."""
    titles = dict(POOLING_METRICS)
    floats = []
    for snr in dict.fromkeys(s for _, s in table.rows):
        for part, keys in POOLING_PARTS:
            rows = [
                (label, [_latex_cell(table.cell(r, k)) for k in keys])
                for r, (label, row_snr) in enumerate(table.rows)
                if row_snr == snr
            ]
            if part == "PSDS":  # frame outputs and the tagging-only control under one header each
                header = [("PSDS1", 2), ("PSDS2", 2)]
                subheader: list[str] | None = ["frames", "tags", "frames", "tags"]
            else:
                header, subheader = [(titles[k], 1) for k in keys], None
            floats.append(
                lx.LatexFloat(
                    label=f"tab:bench-{table.name}-{part.lower()}-{snr.replace(' ', '')}",
                    caption=f"{table.title}: {part}, {snr}. {table.caption.removeprefix('Weak-label pooling. ')}",
                    header=header,
                    subheader=subheader,
                    rows=rows,
                    warning=SYNTHETIC_WARNING if table.synthetic else None,
                )
            )
    return floats


def pooling_latex(table: Table) -> str:
    """The pooling table as booktabs LaTeX floats."""
    return "\n".join(lx.render(f) for f in pooling_floats(table))


def pooling_rich(table: Table):
    """The pooling table for the terminal: one rich table per SNR and part, each cell the mean
    (n) over its interval, so that it reads within 100 columns."""
    return parts_rich(table, POOLING_PARTS, title="Weak-label pooling")


def print_pooling_table(table: Table, *, console=None) -> None:
    """Print the pooling table (and its notes) with rich."""
    print_with_notes(pooling_rich(table), table.notes, console=console)


def write_pooling_table(table: Table, *, out_dir: Path, latex: bool = True, markdown: bool = True) -> list[Path]:
    """Write ``pooling.tex`` and/or ``pooling.md`` atomically; returns the paths."""
    from bench.store import atomic_write_text

    written = []
    if latex:
        written.append(atomic_write_text(Path(out_dir) / f"{table.name}.tex", pooling_latex(table)))
    if markdown:
        written.append(atomic_write_text(Path(out_dir) / f"{table.name}.md", pooling_markdown(table)))
    return written
