"""The localisation table (the paper has none): PSDS1 and PSDS2 beside their tagging-only
control, collar-based event F1, segment F1 and frame F1 per system and SNR, with intervals.

Built from each run's ``<split>.localisation`` metrics; rendered as markdown, LaTeX floats (one per
part) and terminal tables (one per SNR and part) with the helpers of :mod:`bench.reporting.report`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.evaluation.catalogue import titled
from bench.reporting import latex as lx
from bench.reporting.intervals import match_runs
from bench.reporting.render import TAGGING_TEXT, _cell_text, _latex_cell, emphasised, parts_rich, print_with_notes
from bench.reporting.report import SNRS, _corpus_line, _count, _interval, _mark_best, _run_dirs, _select_runs, _stats
from bench.reporting.table import BEST_TEXT, DASH, INTERVAL_TEXT, SYNTHETIC_WARNING, Table
from bench.store import atomic_write_text

__all__ = [
    "build_localisation_table",
    "localisation_latex",
    "localisation_markdown",
    "localisation_rich",
    "print_localisation_table",
    "write_localisation_table",
]

LOCALISATION = "localisation"
LOCALISATION_METRICS = titled(
    (
        "psds1",
        "psds2",
        "tagging_psds1",
        "tagging_psds2",
        "psds1_non_oracle",
        "tagging_psds1_non_oracle",
        "psds1_mfi",
        "segment_pauc",
        "segment_pauc_mcclish",
        "event_f1",
        "segment_f1",
        "frame_f1",
    )
)
"""The table's (key, title) columns, from the metric catalogue."""
LOCALISATION_ROWS = (
    ("gap", 0.0, "VGGish GAP"),
    ("gmp", 0.0, "VGGish GMP"),
    ("gwrp", 0.0, "VGGish GWRP"),
    ("atrous_ap", 0.0, "VGGish (dil.) AP"),
    ("2ap", 0.0, "VGGish 2AP, α = 0"),
    ("2ap_aux", 0.001, "VGGish 2AP +aux, α = 0.001"),
    ("2ap_aux", 0.1, "VGGish 2AP +aux, α = 0.1"),
)


def build_localisation_table(runs: pd.DataFrame, *, split: str = "val", preset: str | None = None) -> Table:
    """The localisation table (the paper has none): PSDS1, PSDS2, event F1, segment F1
    and frame F1 per system and SNR, mean ± std over runs.

    Values come from each run's ``<split>.localisation`` metrics (:mod:`bench.evaluation.run`):
    the post-processing chosen on the validation split, so validation numbers are
    optimistic and the test split is the fair one when the corpus has it. Rows without
    a finished run with these metrics show "—"; the caption says how many classes had
    no reference event in the split and were left out.

    Parameters
    ----------
    runs : pd.DataFrame
        :func:`bench.store.load_runs`.
    split : {"val", "test"}
    preset : str, optional
        Keep only runs of this preset.
    """
    runs, notes = _select_runs(runs, split=split, preset=preset)
    corpus, synthetic = _corpus_line(runs)
    records, rows, used = [], [], []
    snrs = (
        sorted({float(s) for s in pd.to_numeric(runs["snr_db"], errors="coerce").dropna()}, reverse=True)
        if not runs.empty
        else list(SNRS)
    )
    for model, alpha, system in LOCALISATION_ROWS:
        for snr in snrs:
            matched = match_runs(runs, model, alpha, snr)
            done = matched[matched["status"] == "done"] if not matched.empty else matched
            if done.empty:
                continue
            used.append(done)
            r = len(rows)
            rows.append((system, f"{snr:g} dB"))
            for metric, _ in LOCALISATION_METRICS:
                column = f"{split}_{LOCALISATION}_{metric}"
                values = done[column] if column in done.columns else pd.Series(dtype=float)
                mean, std, n = _stats(values)
                run_dirs = _run_dirs(done[pd.to_numeric(values, errors="coerce").notna()]) if n else []
                low, high = _interval(run_dirs, column, split=split, estimate=mean)
                records.append(
                    dict(
                        row=r,
                        column=metric,
                        model=model,
                        alpha=alpha,
                        snr_db=snr,
                        metric=column,
                        mean=mean,
                        std=std,
                        n=n,
                        paper=None,
                        low=low,
                        high=high,
                        run_dirs=run_dirs,
                    )
                )
    data = pd.DataFrame(
        records,
        columns=[
            "row",
            "column",
            "model",
            "alpha",
            "snr_db",
            "metric",
            "mean",
            "std",
            "n",
            "paper",
            "low",
            "high",
            "run_dirs",
        ],
    )
    data = _mark_best(data, split=split, within=("snr_db", "column"))
    done_runs = pd.concat(used) if used else pd.DataFrame()
    scored = f"{split}_{LOCALISATION}_n_classes_scored"
    left_out = ""
    if not done_runs.empty and scored in done_runs.columns and done_runs[scored].notna().any():
        n_left = 41 - pd.to_numeric(done_runs[scored], errors="coerce").dropna().astype(int)
        low, high = int(n_left.min()), int(n_left.max())
        left_out = (
            f" {low if low == high else f'{low}-{high}'} of 41 classes had no reference event in the split "
            "and were left out."
        )
    split_text = (
        "validation fold, on which the post-processing was chosen (optimistic)"
        if split == "val"
        else "held-out test split, with the post-processing chosen on validation"
    )
    caption = (
        f"Localisation. {corpus}. Scores on the {split_text}: PSDS1 and PSDS2 (DCASE 2021-2023 scenarios; "
        f"non-oracle: only operating points a threshold reaches), segment pAUC (1 s, FPR up to 0.1; plain and "
        f"McClish-corrected), collar-based event F1 (200 ms, 20 %), segment F1 (1 s) and frame F1 after "
        f"post-processing (frame x clip score, clip gate, median filter, thresholds); {TAGGING_TEXT}; mean over "
        f"runs (n) with {INTERVAL_TEXT}, {DASH} where no run has the metric; {BEST_TEXT} (per SNR). "
        f"{_count(len(done_runs), 'finished run')}.{left_out}"
    )
    if not runs.empty and runs["preset"].notna().any():
        caption += f" Preset '{preset or str(runs['preset'].dropna().iloc[0])}'."
    if synthetic:
        notes.insert(0, SYNTHETIC_WARNING)
    return Table(
        name=LOCALISATION,
        title="Localisation: DCASE metrics per system and SNR",
        caption=caption,
        row_header=["System", "SNR"],
        rows=rows,
        groups=[("", [(m, t) for m, t in LOCALISATION_METRICS])],
        data=data,
        notes=notes,
        synthetic=synthetic,
    )


def _localisation_cells(table: Table, *, pm: str = "±", digits: int = 3) -> list[list[str]]:
    body = []
    for r, row in enumerate(table.rows):
        cells = list(row)
        for key, _ in table.groups[0][1]:
            cells.append(_cell_text(table.cell(r, key), digits=digits, pm=pm))
        body.append(cells)
    return body


def localisation_markdown(table: Table) -> str:
    """The localisation table as GitHub markdown: one table per part (:data:`LOCALISATION_PARTS`)."""
    titles = dict(table.groups[0][1])
    lines = [f"**{table.title}**", ""]
    if table.synthetic:
        lines += [f"> **{SYNTHETIC_WARNING}**", ""]
    lines += [table.caption]
    body = _localisation_cells(table)
    columns = [key for key, _ in table.groups[0][1]]
    n_row = len(table.row_header)
    for part, keys in LOCALISATION_PARTS:
        keys = tuple(k for k in keys if k in titles)
        header = list(table.row_header) + [titles[k] for k in keys]
        lines += [
            "",
            f"*{part}*",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join([" --- "] * n_row + [" ---: "] * len(keys)) + "|",
        ]
        for cells in body:
            chosen = cells[:n_row] + [cells[n_row + columns.index(k)] for k in keys]
            lines.append("| " + " | ".join(emphasised(cell, "markdown").replace("|", "\\|") for cell in chosen) + " |")
        if not table.rows:
            lines.append("| " + " | ".join([DASH] * len(header)) + " |")
    extra = [n for n in table.notes if n != SYNTHETIC_WARNING]
    if extra:
        lines += [""] + [f"- {note}" for note in extra]
    return "\n".join(lines) + "\n"


LOCALISATION_PARTS = (
    ("PSDS", ("psds1", "psds2", "tagging_only_psds1", "tagging_only_psds2")),
    ("PSDS1 without oracle or tuned filter", ("psds1_non_oracle", "tagging_only_psds1_non_oracle", "psds1_mfi")),
    ("segment pAUC", ("segment_pauc", "segment_pauc_mcclish")),
    ("F1", ("event_f1", "segment_f1", "frame_f1")),
)
"""The localisation table's parts (LaTeX floats, terminal and Markdown tables): PSDS with its
tagging-only control; non-oracle PSDS1 (and its control) and median-filter-independent PSDS1,
which neither prune operating points with the ground truth nor rest on one tuned filter; the
segment pAUCs, which need no threshold; the F1 scores after thresholds."""


def localisation_floats(table: Table) -> list[lx.LatexFloat]:
    """The localisation table as LaTeX floats (:data:`LOCALISATION_PARTS`), rows grouped by SNR."""
    titles = dict(table.groups[0][1])
    floats = []
    for part, keys in LOCALISATION_PARTS:
        keys = tuple(k for k in keys if k in titles)
        rows, sections, last = [], {}, None
        for r, (system, snr) in enumerate(table.rows):
            if snr != last:
                sections[len(rows)] = snr
                last = snr
            rows.append((system, [_latex_cell(table.cell(r, k)) for k in keys]))
        if part == "PSDS":  # frame-based and tagging-only PSDS under one header each: narrower columns
            header = [("frame outputs", 2), ("clip tags alone", 2)]
            subheader = ["PSDS1", "PSDS2", "PSDS1", "PSDS2"]
        elif part.startswith("PSDS1 without") and len(keys) == 3:
            header = [("non-oracle PSDS1", 2), ("m.f.i.", 1)]
            subheader = ["frames", "tags", "PSDS1"]
        elif part == "segment pAUC" and len(keys) == 2:
            header = [("segment pAUC", 2)]
            subheader = ["plain", "McClish"]
        else:
            header, subheader = [(titles[k], 1) for k in keys], None
        floats.append(
            lx.LatexFloat(
                label=f"tab:bench-{table.name}-{'-'.join(part.lower().split()[:2])}",
                caption=f"{table.title}: {part}. {table.caption.removeprefix('Localisation. ')}",
                header=header,
                subheader=subheader,
                rows=rows,
                sections=sections,
                warning=SYNTHETIC_WARNING if table.synthetic else None,
            )
        )
    return floats


def localisation_latex(table: Table) -> str:
    """The localisation table as booktabs LaTeX floats, each fitting a single-column page."""
    return "\n".join(lx.render(f) for f in localisation_floats(table))


def localisation_rich(table: Table):
    """The localisation table for the terminal: one rich table per SNR and per part
    (:data:`LOCALISATION_PARTS`), each cell the mean (n) over its interval, so that it reads
    in an 80-column terminal."""
    return parts_rich(table, LOCALISATION_PARTS, title=table.title)


def print_localisation_table(table: Table, *, console=None) -> None:
    """Print the localisation table (and its notes) with rich."""
    print_with_notes(localisation_rich(table), table.notes, console=console)


def write_localisation_table(
    runs: pd.DataFrame,
    *,
    out_dir: Path = Path("results/tables"),
    latex: bool = True,
    markdown: bool = True,
    split: str = "val",
    preset: str | None = None,
) -> list[Path]:
    """Write ``localisation.tex`` and/or ``localisation.md`` atomically; returns the paths."""
    table = build_localisation_table(runs, split=split, preset=preset)
    written = []
    if latex:
        written.append(atomic_write_text(Path(out_dir) / f"{table.name}.tex", localisation_latex(table)))
    if markdown:
        written.append(atomic_write_text(Path(out_dir) / f"{table.name}.md", localisation_markdown(table)))
    return written
