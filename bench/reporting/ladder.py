"""The resolution table: each system at the time resolutions of ``cpu-full`` (128, 64 and 32 ms).

Rows are the systems that have runs (the paper's Table 1 systems, then the pooling operators),
columns the rungs :data:`RUNGS` (presets that differ from ``cpu-full`` in their hop alone), for
validation micro-AP, PSDS1 and PSDS1's tagging-only control; beside them, per system, the paired
difference between the finest and the coarsest rung with its 95 % interval and p-value (the same
clips, the same resamples: the validation fold does not depend on the hop). Written by
``bench table --resolution`` as ``resolution.{md,tex}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.bootstrap import cell_replicates, interval, paired_difference
from bench.evaluation.catalogue import titled
from bench.reporting import latex as lx
from bench.reporting.intervals import match_runs, metric_key
from bench.reporting.pooling import pooling_rows
from bench.reporting.render import TAGGING_TEXT, _cell_text, _latex_cell, _rich_cell, emphasised
from bench.reporting.report import (
    _at_chance,
    _converged,
    _corpus_line,
    _count,
    _mark_best,
    _run_dirs,
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

RUNGS: tuple[tuple[str, str], ...] = (("cpu-full", "128 ms"), ("cpu-full-64", "64 ms"), ("cpu-full-32", "32 ms"))
"""(preset, hop) of the ladder, coarse to fine."""

LADDER_METRICS: tuple[tuple[str, str], ...] = titled(("micro_ap", "psds1", "tagging_psds1"))
"""The metrics of the table, each a part of its own (a LaTeX float, a terminal table)."""

DIFF = "diff"
"""Column key suffix of the paired difference finest - coarsest rung."""


def _column(key: str, *, split: str) -> str:
    return f"{split}_{key}" if key == "micro_ap" else f"{split}_localisation_{key}"


def build_resolution_table(
    runs: pd.DataFrame, *, snr_db: float = 20.0, split: str = "val", rungs: Sequence[tuple[str, str]] = RUNGS
) -> Table:
    """The resolution table of ``runs`` (:func:`bench.store.load_runs`) at one SNR.

    Returns
    -------
    Table
        ``name`` "resolution"; ``rows`` one per system with runs at any rung; column keys
        ``<metric>:<preset>`` (cells: mean over runs, interval, n, bold for the best of the column
        and its ties) and ``<metric>:diff`` (the paired difference of the system's finest rung
        with runs minus its coarsest: ``mean`` the difference, ``low``/``high`` its interval, ``p``).
    """
    if split not in ("val", "test"):
        raise BenchError(f"unknown split {split!r}: use 'val' or 'test'")
    presets = [p for p, _ in rungs]
    runs = runs[runs["preset"].isin(presets)] if not runs.empty else runs
    if runs.empty:
        raise BenchError(
            f"no runs of the presets {', '.join(presets)}; train the ladder first "
            "(bench run --preset cpu-full-32 --model ...)"
        )
    corpora = sorted({str(v) for v in runs.get("corpus_fingerprint", pd.Series(dtype=object)).dropna()})
    if len(corpora) > 1:
        raise BenchError(f"the runs come from {len(corpora)} corpora ({corpora[:3]}); one corpus per results folder")
    corpus, synthetic = _corpus_line(runs)
    notes: list[str] = []
    records, rows = [], []
    for model, alpha, label in pooling_rows():
        found = {p: match_runs(runs[runs["preset"] == p], model, alpha, snr_db) for p in presets}
        found = {p: f[f["status"] == "done"] if not f.empty else f for p, f in found.items()}
        if all(f.empty for f in found.values()):
            continue
        r = len(rows)
        rows.append((label,))
        for key, _ in LADDER_METRICS:
            column = _column(key, split=split)
            present = []
            for preset in presets:
                done = found[preset]
                values = done[column] if column in done.columns else pd.Series(dtype=float)
                mean, std, n = _stats(values)
                dirs = _run_dirs(done[pd.to_numeric(values, errors="coerce").notna()]) if n else []
                reps = _stacked(dirs, metric_key(column, split=split), split=split) if dirs else None
                low, high = interval(cell_replicates(reps), estimate=mean) if reps is not None else (None, None)
                stuck = _at_chance(done) if n else pd.Series(dtype=bool)
                records.append(
                    dict(
                        row=r,
                        column=f"{key}:{preset}",
                        group=key,
                        model=model,
                        alpha=alpha,
                        snr_db=snr_db,
                        metric=column,
                        mean=mean,
                        std=std,
                        n=n,
                        paper=None,
                        low=low,
                        high=high,
                        run_dirs=dirs,
                        unconverged=int((~_converged(done) & ~stuck).sum()) if n else 0,
                        at_chance=int(stuck.sum()) if n else 0,
                    )
                )
                if reps is not None:
                    present.append((mean, reps))
            diff = dict(row=r, column=f"{key}:{DIFF}", group=f"{key}:{DIFF}", model=model, alpha=alpha, n=0)
            if len(present) >= 2:
                (coarse, reps_a), (fine, reps_b) = present[0], present[-1]
                k = min(reps_a.shape[1], reps_b.shape[1])
                result = paired_difference(reps_b[:, :k], reps_a[:, :k])
                diff.update(mean=fine - coarse, low=result["low"], high=result["high"], p=result["p"], n=1)
            records.append(diff)
    if not rows:
        found = ", ".join(f"{v:g}" for v in sorted(pd.to_numeric(runs["snr_db"], errors="coerce").dropna().unique()))
        raise BenchError(f"no finished runs of these presets at {snr_db:g} dB; their runs are at {found} dB (--snr)")
    data = pd.DataFrame(records)
    if not data.empty:
        cells = data[~data["column"].str.endswith(f":{DIFF}")]
        data = pd.concat([_mark_best(cells, split=split, within=("column",)), data[data["column"].str.endswith(DIFF)]])
    hops = ", ".join(h for _, h in rungs)
    caption = (
        f"Time resolution, {snr_db:g} dB. {corpus}. The same model, schedule and convergence rule at hops {hops} "
        f"(presets {', '.join(presets)}); validation micro-AP, PSDS1 and {TAGGING_TEXT}; mean over runs (n) with "
        f"{INTERVAL_TEXT}; {BEST_TEXT} (per column); 'finest - coarsest': the paired difference between the finest "
        f"and the coarsest hop a system has runs at, with its interval and p. {_count(len(runs), 'run')} of these "
        "presets."
    )
    if not data.empty and int((pd.to_numeric(data.get("unconverged"), errors="coerce") > 0).sum()):
        caption += f" {UNCONVERGED} marks cells with runs that had not converged."
        notes.append(UNCONVERGED_NOTE)
    if not data.empty:
        caption += chance_caption(data, notes)
    if synthetic:
        notes.insert(0, SYNTHETIC_WARNING)
    groups = [
        (title, [(f"{key}:{p}", h) for p, h in rungs] + [(f"{key}:{DIFF}", "finest - coarsest")])
        for key, title in LADDER_METRICS
    ]
    return Table(
        name="resolution",
        title=f"Time resolution: each system at hops of {hops}",
        caption=caption,
        row_header=["System"],
        rows=rows,
        groups=groups,
        data=data,
        notes=notes,
        synthetic=synthetic,
    )


def _diff_text(c: pd.Series) -> str:
    if not c.get("n") or c.get("low") is None or (isinstance(c.get("low"), float) and np.isnan(c["low"])):
        return DASH
    p = float(c["p"])
    return f"{c['mean']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}] p {p:.3f}"


def _cell(table: Table, r: int, key: str) -> pd.Series | None:
    try:
        return table.cell(r, key)
    except KeyError:
        return None


def resolution_markdown(table: Table) -> str:
    """Markdown: one table per metric, a column per rung and the paired difference."""
    lines = [f"**{table.title}**", ""]
    if table.synthetic:
        lines += [f"> **{SYNTHETIC_WARNING}**", ""]
    lines += [table.caption, ""]
    for title, columns in table.groups:
        lines += [f"*{title}*", "", "| System | " + " | ".join(t for _, t in columns) + " |"]
        lines.append("| --- |" + " ---: |" * len(columns))
        for r, (label,) in enumerate(table.rows):
            cells = [label]
            for key, _ in columns:
                c = _cell(table, r, key)
                if c is None:
                    cells.append(DASH)
                elif key.endswith(f":{DIFF}"):
                    cells.append(_diff_text(c))
                else:
                    cells.append(emphasised(_cell_text(c, digits=3), "markdown"))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += [f"- {n}" for n in table.notes if n != SYNTHETIC_WARNING]
    return "\n".join(lines).rstrip("\n") + "\n"


def resolution_floats(table: Table) -> list[lx.LatexFloat]:
    """LaTeX: one float per metric (three rungs and the difference), each fitting a single column."""
    floats = []
    for (title, columns), (key, _) in zip(table.groups, LADDER_METRICS):
        rows = []
        for r, (label,) in enumerate(table.rows):
            cells: list = []
            for column, _ in columns:
                c = _cell(table, r, column)
                if c is None:
                    cells.append(DASH)
                elif column.endswith(f":{DIFF}"):
                    text = _diff_text(c)
                    cells.append(
                        lx.Cell(text=text.split(" [")[0], interval="[" + text.split(" [")[1]) if " [" in text else text
                    )
                else:
                    cells.append(_latex_cell(c))
            rows.append((label, cells))
        floats.append(
            lx.LatexFloat(
                label=f"tab:bench-resolution-{key.replace('_', '-')}",
                caption=f"{table.title}: {title}. {table.caption}",
                header=[(t, 1) for _, t in columns],
                rows=rows,
                warning=SYNTHETIC_WARNING if table.synthetic else None,
            )
        )
    return floats


def resolution_latex(table: Table) -> str:
    return "\n".join(lx.render(f) for f in resolution_floats(table))


def print_resolution_table(table: Table, *, console) -> None:
    """The table in a terminal: one rich table per metric."""
    from rich.markup import escape
    from rich.table import Table as RichTable

    for title, columns in table.groups:
        out = RichTable(title=f"{table.title} — {title}")
        out.add_column("System")
        for _, t in columns:
            out.add_column(t, justify="right", no_wrap=True)
        for r, (label,) in enumerate(table.rows):
            cells = []
            for key, _ in columns:
                c = _cell(table, r, key)
                if c is None:
                    cells.append(DASH)
                elif key.endswith(f":{DIFF}"):
                    text = _diff_text(c)
                    cells.append(escape(text.replace(" [", "\n[").replace("] p", "]\np")))
                else:
                    cells.append(_rich_cell(c, paper=False))
            out.add_row(label, *cells)
        console.print(out)
    console.print(table.caption, style="italic", highlight=False)
    for note in table.notes:
        console.print(f"[{'bold red' if note == SYNTHETIC_WARNING else 'yellow'}]{escape(note)}[/]")


def write_resolution_table(table: Table, *, out_dir: Path) -> list[Path]:
    """``resolution.md`` and ``resolution.tex`` under ``out_dir``, atomically."""
    from bench.store import atomic_write_text

    return [
        atomic_write_text(Path(out_dir) / "resolution.md", resolution_markdown(table)),
        atomic_write_text(Path(out_dir) / "resolution.tex", resolution_latex(table)),
    ]
