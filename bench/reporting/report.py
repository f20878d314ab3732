"""The paper's Tables 1-3 from the runs, beside the paper's numbers.

Each cell is the mean +/- sample standard deviation over the finished runs of that
cell (seeds, and validation folds under cross-validation), with the number of runs,
and the paper's value in the column beside it (from ``results/paper/paper_table{1,2,3}.csv``).
A cell without a finished run shows "—"; failed and unfinished runs are counted in
the caption. Scores come from one split: ``"val"`` (the held-out validation fold, as
the paper) by default, or ``"test"`` (the corpus test split) when the runs have it.

Every caption names the corpus the runs were trained on; a corpus built from the
synthetic stand-in sources is flagged loudly as not comparable to the paper.

Tables are built as data (:class:`Table`, a long DataFrame of numbers) and rendered
to the terminal (rich), to markdown and to LaTeX (booktabs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.bootstrap import METHOD, paired_difference
from bench.evaluation.catalogue import titled
from bench.presets import CHANCE_RULE, CONVERGENCE_RULE, at_chance
from bench.reporting import latex as lx
from bench.reporting.intervals import cell_interval, match_runs, metric_key, stacked
from bench.store import atomic_write_text

__all__ = [
    "SYNTHETIC_WARNING",
    "Table",
    "build_table1",
    "build_table2",
    "build_table3",
    "build_tables",
    "default_paper_dir",
    "format_cell",
    "print_tables",
    "to_latex",
    "to_markdown",
    "to_rich",
    "write_tables",
]

SYNTHETIC_WARNING = "SYNTHETIC STAND-IN CORPUS — not comparable to the paper's numbers"
DASH = "—"
UNCONVERGED = "†"
AT_CHANCE = "‡"
AT_CHANCE_NOTE = (
    f"{AT_CHANCE}: at least one run of the cell did not learn ({CHANCE_RULE}); such a run is never "
    "counted as converged, and its number is no measure of the system"
)
UNCONVERGED_NOTE = (
    f"{UNCONVERGED}: at least one run of the cell had not converged (converged: {CONVERGENCE_RULE}): "
    "the number is set by the schedule and is not final"
)
INTERVAL_TEXT = "its 95 % interval [low, high] (" + METHOD.replace("95 % ", "", 1) + ")"
BEST_TEXT = (
    "bold: the best row of a column and every row whose paired difference from it (the same "
    "resamples) has a 95 % interval holding 0, so it cannot be told apart from the best"
)
EMPHASIS = "\x02"
"""Leading mark of a cell to set in bold (the best and its ties); each renderer turns it into its own."""
SNRS = (20.0, 10.0, 0.0)
METRICS = titled(("micro_ap", "macro_ap", "auc"))
TABLE3_EVENTS = ("Bus", "Cowbell", "Gong", "Meow")

# (model, alpha, row cells shown, key into the paper's csv)
TABLE1_ROWS = (
    ("gap", 0.0, ("VGGish", "GAP", "no")),
    ("gmp", 0.0, ("VGGish", "GMP", "no")),
    ("gwrp", 0.0, ("VGGish", "GWRP", "no")),
    ("atrous_ap", 0.0, ("VGGish (dil.)", "AP", "no")),
    ("2ap_aux", 0.001, ("VGGish", "2AP", "yes")),
)
TABLE2_ROWS = (
    ("2ap", 0.0, ("α = 0.0",)),
    ("2ap_aux", 0.001, ("α = 0.001",)),
    ("2ap_aux", 0.1, ("α = 0.1",)),
)
# ablation rows, shown below the paper's rows when their runs exist: (model, alpha, row cells, options)
TABLE2_ABLATIONS = (
    ("2ap_aux", 0.001, ("α = 0.001, ablation: sigmoid inside the softmax",), (("attention", "sigmoid_in_softmax"),)),
    ("2ap_aux", 0.001, ("α = 0.001, ablation: equations as printed",), (("attention", "as_printed"),)),
)
TABLE3_PAPER_NAMES = {"VGGish (dil.) AP": "Atrous + AP"}
"""Table 3 rows named as Table 1 names them -> the paper's own name in its Table 3."""
TABLE3_ROWS = (
    ("atrous_ap", 0.0, ("VGGish (dil.) AP", "no")),
    ("2ap", 0.0, ("VGGish + 2AP", "no")),
    ("2ap_aux", 0.001, ("VGGish + 2AP", "yes")),
)


@dataclass
class Table:
    """One of the paper's tables as data.

    Attributes
    ----------
    name : str
        "table1", "table2" or "table3" (also the file stem).
    title : str
    caption : str
        Says the corpus, the split, what a cell holds, and how many runs failed.
    row_header : list of str
        Names of the row-describing columns ("Encoder", "Pooling", "Aux.").
    rows : list of tuple of str
        Row descriptions, in order.
    groups : list of (group title, list of (column key, column title))
        Column groups (e.g. one per SNR), each with its metric columns.
    data : pd.DataFrame
        Long form, one row per cell: row (index into ``rows``), column (key), model,
        alpha, snr_db, metric, mean, std, n, paper.
    notes : list of str
        Extra lines shown under the table.
    synthetic : bool
        True when any run used a synthetic stand-in corpus.
    """

    name: str
    title: str
    caption: str
    row_header: list[str]
    rows: list[tuple[str, ...]]
    groups: list[tuple[str, list[tuple[str, str]]]]
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False

    def cell(self, row: int, column: str) -> pd.Series:
        """The data row of one cell."""
        hit = self.data[(self.data["row"] == row) & (self.data["column"] == column)]
        if hit.empty:
            raise KeyError((row, column))
        return hit.iloc[0]


# --------------------------------------------------------------------------- selection


def default_paper_dir() -> Path:
    """``results/paper`` of the source tree."""
    return Path(__file__).resolve().parents[2] / "results" / "paper"


def _read_paper(paper_dir: Path | None, name: str) -> pd.DataFrame | None:
    path = Path(paper_dir or default_paper_dir()) / f"paper_{name}.csv"
    if not path.is_file():
        return None
    return pd.read_csv(path)


def _select_runs(runs: pd.DataFrame, *, split: str, preset: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Runs of one preset and one corpus; notes on what was chosen."""
    if split not in ("val", "test"):
        raise BenchError(f"unknown split {split!r}: use 'val' (the paper's validation fold) or 'test'")
    notes: list[str] = []
    if runs.empty:
        return runs, notes
    if preset is not None:
        runs = runs[runs["preset"] == preset]
        if runs.empty:
            raise BenchError(f"no run used the preset {preset!r}")
    else:
        presets = sorted({str(p) for p in runs["preset"].dropna()})
        if len(presets) > 1:
            raise BenchError(f"the runs mix the presets {presets}; choose one (preset=... / --preset)")
    for key in ("corpus_fingerprint", "corpus_dir"):
        if key in runs.columns:
            values = sorted({str(v) for v in runs[key].dropna()})
            if len(values) > 1:
                raise BenchError(
                    f"the runs come from {len(values)} different corpora ({key}: {values[:3]}); "
                    "report one corpus at a time (use a separate results folder per corpus)"
                )
            break
    done = runs[runs["status"] == "done"]
    if split == "test" and not done.empty:
        column = "test_micro_ap"
        if column not in done.columns or done[column].isna().all():
            raise BenchError(
                "no finished run has test-split metrics (the corpus has no test clips?); "
                "report the validation fold instead (split='val')"
            )
    return runs, notes


def _corpus_line(runs: pd.DataFrame) -> tuple[str, bool]:
    if runs.empty:
        return "no runs yet", False
    synthetic = bool("corpus_synthetic" in runs.columns and runs["corpus_synthetic"].fillna(False).astype(bool).any())
    kind = SYNTHETIC_WARNING if synthetic else "built from the real source corpora"
    if "corpus_fingerprint" in runs.columns and runs["corpus_fingerprint"].notna().any():
        # the fingerprint names the corpus wherever it lies (a folder name such as 'corpus' says nothing)
        return f"Corpus {runs['corpus_fingerprint'].dropna().iloc[0]} ({kind})", synthetic
    name = DASH
    if "corpus_dir" in runs.columns and runs["corpus_dir"].notna().any():
        name = Path(str(runs["corpus_dir"].dropna().iloc[0])).name or str(runs["corpus_dir"].dropna().iloc[0])
    return f"Corpus in folder '{name}' ({kind})", synthetic


def _converged(done: pd.DataFrame) -> pd.Series:
    """Per finished run: did it converge (``metrics.json`` ``convergence.converged``; for runs
    recorded before that existed, best epoch outside the last 10 % of the schedule)."""
    if "convergence_converged" in done.columns:
        flag = done["convergence_converged"]
    else:
        flag = pd.Series(np.nan, index=done.index, dtype=object)
    if "best_epoch" in done.columns and "training.epochs" in done.columns:
        best = pd.to_numeric(done["best_epoch"], errors="coerce")
        epochs = pd.to_numeric(done["training.epochs"], errors="coerce")
        fallback = best <= np.floor(0.9 * epochs)
        flag = flag.where(flag.notna(), fallback)
    return flag.fillna(True).astype(bool)


def _at_chance(done: pd.DataFrame) -> pd.Series:
    """Per finished run: did its best validation micro-AP stay at chance (:func:`bench.presets.at_chance`)?
    ``metrics.json``'s ``convergence.at_chance`` where the run recorded it; for runs evaluated
    before it existed, the same rule from its best score and the label prior of its stored
    validation predictions (False where neither can be read)."""
    flag = done["convergence_at_chance"] if "convergence_at_chance" in done.columns else None
    out = pd.Series(False, index=done.index, dtype=bool)
    for index, run in done.iterrows():
        stored = None if flag is None else flag.get(index)
        if stored is not None and not (isinstance(stored, float) and np.isnan(stored)):
            out[index] = bool(stored)
            continue
        best = pd.to_numeric(pd.Series([run.get("best_val_micro_ap", run.get("val_micro_ap"))]), errors="coerce")[0]
        chance = _label_prior(str(run.get("run_dir", "")))
        if chance is not None and np.isfinite(best):
            out[index] = at_chance(float(best), chance)
    return out


def _label_prior(run_dir: str) -> float | None:
    """Share of positive labels in a run's stored validation predictions (None when unreadable)."""
    from bench.store import RunStore
    from remix.labels import EVENT_LABELS

    path = Path(run_dir)
    try:
        _, y_true, _ = RunStore(path.parent, path.name).prediction_arrays("val", labels=EVENT_LABELS)
    except (BenchError, OSError, KeyError, ValueError):
        return None
    return float(y_true.mean()) if y_true.size else None


def _run_dirs(done: pd.DataFrame) -> list[str]:
    if done.empty or "run_dir" not in done.columns:
        return []
    return [str(p) for p in done["run_dir"]]


def _interval(
    run_dirs: Sequence[str], metric: str, *, split: str, estimate: float | None = None
) -> tuple[float | None, float | None]:
    """The cell's 95 % interval (:func:`bench.reporting.intervals.cell_interval`); (None, None) when a
    run lacks the replicates (a run folder without predictions or stored resamples)."""
    if not run_dirs:
        return None, None
    try:
        return cell_interval(
            [Path(d) for d in run_dirs], metric_key(metric, split=split), split=split, estimate=estimate
        )
    except BenchError:
        return None, None


def _mark_best(
    data: pd.DataFrame,
    *,
    split: str,
    within: Sequence[str] = ("column",),
    replicates: Callable[[Sequence[str], str], np.ndarray | None] | None = None,
) -> pd.DataFrame:
    """Columns ``best`` (the highest mean of its column) and ``tied`` (a row whose paired
    difference from the best has a 95 % interval holding 0: the two cannot be told apart),
    per group of ``within``; neither where the best cell's runs have no resamples.

    ``replicates(run_dirs, metric)`` gives a cell's (S, B) replicates (default: the runs' stored
    or recomputed ones, :func:`bench.reporting.intervals.stacked`)."""
    if replicates is None:

        def replicates(run_dirs: Sequence[str], metric: str) -> np.ndarray | None:
            return _stacked(run_dirs, metric_key(metric, split=split), split=split)

    data = data.assign(best=False, tied=False)
    if data.empty:
        return data
    for _, group in data[data["n"] > 0].groupby(list(within), sort=False):
        means = pd.to_numeric(group["mean"], errors="coerce")
        if means.notna().sum() == 0:
            continue
        top = means.idxmax()
        best = data.loc[top]
        metric = str(best["metric"])
        first = replicates(best["run_dirs"], metric)
        if first is None:  # no resamples: nothing can be said about the others either
            continue
        data.loc[top, "best"] = True
        for index, row in group.iterrows():
            if index == top:
                continue
            other = replicates(row["run_dirs"], metric)
            if other is None:
                continue
            n = min(first.shape[1], other.shape[1])
            diff = paired_difference(first[:, :n], other[:, :n])
            if diff["low"] is not None and diff["low"] <= 0 <= diff["high"]:
                data.loc[index, "tied"] = True
    return data


def _stacked(run_dirs: Sequence[str], metric: str, *, split: str) -> np.ndarray | None:
    try:
        return stacked([Path(d) for d in run_dirs], metric, split=split)
    except BenchError:
        return None


def _stats(values: pd.Series) -> tuple[float | None, float | None, int]:
    vals = pd.to_numeric(values, errors="coerce").dropna().to_numpy(float)
    if vals.size == 0:
        return None, None, 0
    std = float(np.std(vals, ddof=1)) if vals.size > 1 else None
    return float(np.mean(vals)), std, int(vals.size)


def _build(
    name: str,
    title: str,
    runs: pd.DataFrame,
    *,
    split: str,
    preset: str | None,
    row_header: list[str],
    row_specs: Sequence[tuple],
    groups: list[tuple[str, list[tuple[str, str]]]],
    cell_spec,  # (row spec, column key) -> (snr, metric column, paper value)
    what: str,
) -> Table:
    runs, notes = _select_runs(runs, split=split, preset=preset)
    corpus, synthetic = _corpus_line(runs)
    records = []
    used = pd.DataFrame()
    for r, spec in enumerate(row_specs):
        model, alpha, _ = spec[:3]
        options = spec[3] if len(spec) > 3 else ()
        for _, columns in groups:
            for key, _title in columns:
                snr, metric, paper = cell_spec(spec, key)
                matched = match_runs(runs, model, alpha, snr, options)
                used = pd.concat([used, matched[["run_id", "status"]]]) if not matched.empty else used
                done = matched[matched["status"] == "done"] if not matched.empty else matched
                if not done.empty and metric in done.columns:
                    done = done[pd.to_numeric(done[metric], errors="coerce").notna()]
                else:
                    done = done.iloc[0:0]
                mean, std, n = _stats(done[metric] if not done.empty else pd.Series(dtype=float))
                stuck = _at_chance(done) if not done.empty else pd.Series(dtype=bool)
                unconverged = int((~_converged(done) & ~stuck).sum()) if not done.empty else 0
                run_dirs = _run_dirs(done)
                low, high = _interval(run_dirs, metric, split=split, estimate=mean)
                records.append(
                    dict(
                        row=r,
                        column=key,
                        model=model,
                        alpha=alpha,
                        snr_db=snr,
                        metric=metric,
                        mean=mean,
                        std=std,
                        n=n,
                        paper=paper,
                        unconverged=unconverged,
                        at_chance=int(stuck.sum()),
                        low=low,
                        high=high,
                        run_dirs=run_dirs,
                    )
                )
    data = _mark_best(pd.DataFrame(records), split=split)
    used = used.drop_duplicates("run_id") if not used.empty else used
    n_failed = int((used["status"] == "failed").sum()) if not used.empty else 0
    n_open = int(used["status"].isin(["running", "missing"]).sum()) if not used.empty else 0
    n_done = int((used["status"] == "done").sum()) if not used.empty else 0
    split_text = "validation fold (as the paper)" if split == "val" else "held-out test split"
    runs_text = _count(n_done, "finished run")
    if n_failed:
        runs_text += f"; {_count(n_failed, 'failed run')} not included"
    if n_open:
        runs_text += f"; {_count(n_open, 'run')} unfinished"
    caption = (
        f"{title}. {corpus}. Scores on the {split_text}; {what}; "
        f"mean over runs (n) with {INTERVAL_TEXT}, the paper's value beside it, {DASH} where no run finished; "
        f"{BEST_TEXT}. {runs_text}."
    )
    if preset is not None or (not runs.empty and runs["preset"].notna().any()):
        shown = preset or str(runs["preset"].dropna().iloc[0])
        caption += f" Preset '{shown}'."
    n_unconverged = int((data["unconverged"] > 0).sum()) if not data.empty else 0
    if n_unconverged:
        caption += (
            f" {UNCONVERGED} marks {_count(n_unconverged, 'cell')} with runs that had not converged: "
            "neither stopped early nor levelled off over the last quarter of the schedule, so the number "
            "is set by the schedule and is not final."
        )
        notes.append(UNCONVERGED_NOTE)
    caption += chance_caption(data, notes)
    if synthetic:
        notes.insert(0, SYNTHETIC_WARNING)
    if data["paper"].isna().all():
        notes.append("paper values not found (results/paper/paper_tableN.csv)")
    return Table(
        name=name,
        title=title,
        caption=caption,
        row_header=row_header,
        rows=[spec[2] for spec in row_specs],
        groups=groups,
        data=data,
        notes=notes,
        synthetic=synthetic,
    )


def chance_caption(data: pd.DataFrame, notes: list[str]) -> str:
    """The caption's sentence on cells marked :data:`AT_CHANCE` (and its note, added to ``notes``);
    empty when there are none."""
    n = int((pd.to_numeric(data.get("at_chance", pd.Series(dtype=float)), errors="coerce") > 0).sum())
    if not n:
        return ""
    notes.append(AT_CHANCE_NOTE)
    return f" {AT_CHANCE} marks {_count(n, 'cell')} with runs that did not learn (stayed at chance)."


def standalone_document(tables: Sequence[str], *, title: str = "sedremix report") -> str:
    """A compilable LaTeX document (``pdflatex report.tex`` in the tables' folder) that sets each
    written table file (``table1.tex`` ...) on a page of its own."""
    body = "".join(f"\\input{{{name}}}\n\\clearpage\n" for name in tables)
    return (
        "% Generated by bench report --latex --standalone; compile with pdflatex in this folder.\n"
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n"
        "\\usepackage{textcomp}\n\\usepackage{booktabs}\n"
        f"\\title{{{latex_escape(title)}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n{body}\\end{{document}}\n"
    )


def other_snrs(runs: pd.DataFrame) -> list[float]:
    """SNRs of finished runs that Tables 1-3 have no column for (the paper's are :data:`SNRS`), high to low."""
    if runs.empty or "snr_db" not in runs.columns:
        return []
    done = runs[runs["status"] == "done"]
    found = {float(s) for s in pd.to_numeric(done["snr_db"], errors="coerce").dropna()}
    return sorted((s for s in found if not any(np.isclose(s, t) for t in SNRS)), reverse=True)


def _present_ablations(runs: pd.DataFrame, ablations: Sequence[tuple]) -> list[tuple]:
    """The ablation rows that have at least one run."""
    if runs.empty:
        return []
    return [
        spec for spec in ablations if any(not match_runs(runs, spec[0], spec[1], snr, spec[3]).empty for snr in SNRS)
    ]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _paper_value(frame: pd.DataFrame | None, column: str, **where) -> float | None:
    if frame is None:
        return None
    mask = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        col = frame[key]
        mask &= (
            np.isclose(col.astype(float), float(value))
            if isinstance(value, float)
            else (col.astype(str) == value).to_numpy()
        )
    hit = frame[mask]
    return float(hit[column].iloc[0]) if len(hit) else None


def build_table1(
    runs: pd.DataFrame, *, split: str = "val", preset: str | None = None, paper_dir: Path | None = None
) -> Table:
    """Table 1: micro-AP, macro-AP and AUC of the five systems at 20, 10 and 0 dB."""
    paper = _read_paper(paper_dir, "table1")
    groups = [(f"SNR {snr:g} dB", [(f"{snr:g}:{m}", t) for m, t in METRICS]) for snr in SNRS]

    def cell(spec, key):
        snr, metric = key.split(":")
        enc, pool, aux = spec[2]
        value = _paper_value(paper, metric, encoder=enc, pooling=pool, aux=aux, snr_db=float(snr))
        return float(snr), f"{split}_{metric}", value

    return _build(
        "table1",
        "Table 1: weakly supervised SED across SNRs",
        runs,
        split=split,
        preset=preset,
        row_header=["Encoder", "Pooling", "Aux."],
        row_specs=TABLE1_ROWS,
        groups=groups,
        cell_spec=cell,
        what="clip-level micro-AP, macro-AP and AUC over 41 classes",
    )


def build_table2(
    runs: pd.DataFrame, *, split: str = "val", preset: str | None = None, paper_dir: Path | None = None
) -> Table:
    """Table 2: micro-AP of the 2AP model with alpha 0, 0.001 and 0.1 at each SNR."""
    paper = _read_paper(paper_dir, "table2")
    groups = [(f"SNR {snr:g} dB", [(f"{snr:g}:micro_ap", "micro-AP")]) for snr in SNRS]

    def cell(spec, key):
        snr = float(key.split(":")[0])
        if len(spec) > 3 and spec[3]:  # an ablation: the paper has no such row
            return snr, f"{split}_micro_ap", None
        return snr, f"{split}_micro_ap", _paper_value(paper, "micro_ap", alpha=float(spec[1]), snr_db=snr)

    rows = list(TABLE2_ROWS) + _present_ablations(runs, TABLE2_ABLATIONS)
    what = "clip-level micro-AP of the 2AP model"
    if len(rows) > len(TABLE2_ROWS):
        what += (
            "; ablation rows (not in the paper) read the 2AP attention otherwise: 'sigmoid inside the "
            "softmax' scores sigmoid(s) x softmax(sigmoid(a)), 'equations as printed' s x softmax(sigmoid(a)); "
            "the other rows use the original code's sigmoid(s) x softmax(a)"
        )
    return _build(
        "table2",
        "Table 2: contribution of the auxiliary task (weight α)",
        runs,
        split=split,
        preset=preset,
        row_header=["Auxiliary task"],
        row_specs=rows,
        groups=groups,
        cell_spec=cell,
        what=what,
    )


def build_table3(
    runs: pd.DataFrame, *, split: str = "val", preset: str | None = None, paper_dir: Path | None = None
) -> Table:
    """Table 3: per-class AP at 0 dB of Bus, Cowbell, Gong and Meow."""
    paper = _read_paper(paper_dir, "table3")
    groups = [("SNR 0 dB", [(event, event) for event in TABLE3_EVENTS])]

    def cell(spec, key):
        model_name, aux = spec[2]
        model_name = TABLE3_PAPER_NAMES.get(model_name, model_name)
        value = _paper_value(paper, "score", model=model_name, aux=aux, snr_db=0.0, event=key)
        return 0.0, f"{split}_ap_{key}", value

    return _build(
        "table3",
        "Table 3: per-class average precision at 0 dB",
        runs,
        split=split,
        preset=preset,
        row_header=["Model", "Aux."],
        row_specs=TABLE3_ROWS,
        groups=groups,
        cell_spec=cell,
        what="per-class clip-level AP",
    )


def build_tables(
    runs: pd.DataFrame, *, split: str = "val", preset: str | None = None, paper_dir: Path | None = None
) -> list[Table]:
    """Tables 1, 2 and 3."""
    return [
        build(runs, split=split, preset=preset, paper_dir=paper_dir)
        for build in (build_table1, build_table2, build_table3)
    ]


# --------------------------------------------------------------------------- rendering


def format_cell(
    mean: float | None,
    std: float | None,
    n: int,
    *,
    digits: int = 4,
    pm: str = "±",
    unconverged: int = 0,
    low: float | None = None,
    high: float | None = None,
    chance: int = 0,
) -> str:
    """``0.7829 [0.7512, 0.8101] (3)`` with an interval, else ``0.7829 ± 0.0123 (3)``;
    ``0.7829 (1)`` for a single run without one; "—" without a run; a trailing "†" when any
    of the runs had not converged, "‡" when any stayed at chance."""
    if mean is None or n == 0 or (isinstance(mean, float) and np.isnan(mean)):
        return DASH
    text = f"{mean:.{digits}f}"
    if low is not None and high is not None and not (np.isnan(low) or np.isnan(high)):
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    elif std is not None and not (isinstance(std, float) and np.isnan(std)):
        text += f" {pm} {std:.{digits}f}"
    return f"{text} ({n})" + (UNCONVERGED if unconverged else "") + (AT_CHANCE if chance else "")


def _cell_text(c: pd.Series, *, digits: int, pm: str = "±") -> str:
    """A data row of a table as its cell text, with :data:`EMPHASIS` first when it is set in bold."""
    text = format_cell(
        _none(c["mean"]),
        _none(c["std"]),
        int(c["n"]),
        pm=pm,
        digits=digits,
        unconverged=int(c.get("unconverged", 0) or 0),
        low=_none(c.get("low")),
        high=_none(c.get("high")),
        chance=int(_none(c.get("at_chance")) or 0),
    )
    bold = bool(c.get("best", False)) or bool(c.get("tied", False))
    return EMPHASIS + text if bold and text != DASH else text


def emphasised(text: str, kind: str) -> str:
    """Cell text for a renderer: ``kind`` "markdown" (``**x**``), "latex" (``\\textbf``, escaped),
    "rich" (markup, escaped) or "plain"."""
    bold = text.startswith(EMPHASIS)
    text = text.removeprefix(EMPHASIS)
    if kind == "latex":
        text = latex_escape(text)
        return r"\textbf{" + text + "}" if bold else text
    if kind == "rich":
        from rich.markup import escape

        return f"[bold]{escape(text)}[/]" if bold else escape(text)
    if kind == "markdown":
        return f"**{text}**" if bold else text
    return text


def _paper_text(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return DASH
    return f"{value:.{digits}f}"


def _none(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _grid(table: Table, *, pm: str = "±", digits: int = 4) -> list[list[str]]:
    """Body rows: row cells, then per column "ours" and "paper"."""
    body = []
    for r, row in enumerate(table.rows):
        cells = list(row)
        for _, columns in table.groups:
            for key, _ in columns:
                c = table.cell(r, key)
                cells.append(_cell_text(c, digits=digits, pm=pm))
                cells.append(_paper_text(_none(c["paper"]), digits=digits))
        body.append(cells)
    return body


MARKDOWN_WIDTH = 120
"""Widest line :func:`to_markdown` writes by default (a terminal, a rendered README)."""


def to_markdown(table: Table, *, width: int = MARKDOWN_WIDTH) -> str:
    """GitHub markdown no wider than ``width`` characters.

    Bold title, a warning line for synthetic corpora, the caption (wrapped), then the
    table as one or more aligned markdown tables: whole column groups (one SNR, say)
    side by side while they fit, a group that does not fit alone split over several
    tables. Every number column has the paper's value in the column right of it. Of the
    layouts that fit, the one with the fewest tables wins, then the one with the most
    digits (4, 3, 2) and the fullest row labels (the row-describing columns, or one
    "System" column).
    """
    import textwrap

    layouts = [
        _markdown_blocks(table, digits=digits, collapse=collapse, width=width)
        for digits, collapse in ((3, False), (3, True), (2, True))  # 3 digits, as the terminal and LaTeX
    ]
    fitting = [blocks for blocks in layouts if all(len(line) <= width for block in blocks for line in block)]
    blocks = min(fitting, key=len) if fitting else layouts[-1]  # fewest tables, then most digits (first)
    lines = [f"**{table.title}**", ""]
    if table.synthetic:
        lines += [f"> **{SYNTHETIC_WARNING}**", ""]
    lines += textwrap.wrap(table.caption, width=width, break_on_hyphens=False)
    for block in blocks:
        lines += [""] + block
    extra = [n for n in table.notes if n != SYNTHETIC_WARNING]
    if extra:
        lines.append("")
        for note in extra:
            lines += textwrap.wrap(
                note, width=width, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
            )
    return "\n".join(lines) + "\n"


def _md_row(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> str:
    padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)]
    return "| " + " | ".join(padded) + " |"


def _md_table(header: list[str], rows: list[list[str]], n_left: int) -> list[str]:
    """An aligned markdown table; the first ``n_left`` columns left-aligned, the others right."""
    header = [h.replace("|", "\\|") for h in header]
    rows = [[c.replace("|", "\\|") for c in row] for row in rows]
    widths = [max(3, len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    right = [i >= n_left for i in range(len(header))]
    rule = "|" + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right)) + "|"
    return [_md_row(header, widths, right), rule] + [_md_row(row, widths, right) for row in rows]


def _markdown_blocks(table: Table, *, digits: int, collapse: bool, width: int) -> list[list[str]]:
    """Lines of each markdown table (with its italic sub-title when it holds one group)."""
    body = [[emphasised(c, "markdown") for c in cells] for cells in _grid(table, digits=digits)]
    n_row = len(table.row_header)
    if collapse:
        row_header, row_cells = ["System"], [[_short_system(cells[:n_row])] for cells in body]
    else:
        row_header, row_cells = list(table.row_header), [list(cells[:n_row]) for cells in body]
    units: list[tuple[int, str, str, int]] = []  # (group index, group title, column title, body index)
    index = n_row
    for g, (group, columns) in enumerate(table.groups):
        for _, title in columns:
            units.append((g, group, title, index))
            index += 2

    def render(chunk: list[tuple[int, str, str, int]]) -> list[str]:
        one_group = len({u[0] for u in chunk}) == 1
        continued = one_group and chunk[0] != next(u for u in units if u[0] == chunk[0][0])
        header = list(row_header)
        for _, group, title, _ in chunk:
            header += [title if one_group else f"{group} {title}", "paper"]
        rows = [
            row_cells[r] + [cell for *_, i in chunk for cell in (body[r][i], body[r][i + 1])] for r in range(len(body))
        ]
        lines = _md_table(header, rows, len(row_header))
        subtitle = f"*{chunk[0][1]}{' (continued)' if continued else ''}*"
        return ([subtitle, ""] if one_group else []) + lines

    def fits(chunk) -> bool:
        return all(len(line) <= width for line in render(chunk))

    chunks: list[list[tuple[int, str, str, int]]] = []
    current: list[tuple[int, str, str, int]] = []
    for g in range(len(table.groups)):
        group_units = [u for u in units if u[0] == g]
        if fits(group_units):
            if current and fits(current + group_units):
                current = current + group_units
            else:
                if current:
                    chunks.append(current)
                current = group_units
            continue
        if current:  # a group too wide alone: its columns over several tables
            chunks.append(current)
            current = []
        part: list[tuple[int, str, str, int]] = []
        for unit in group_units:
            if part and not fits(part + [unit]):
                chunks.append(part)
                part = []
            part.append(unit)
        chunks.append(part)
    if current:
        chunks.append(current)
    return [render(chunk) for chunk in chunks]


_LATEX_SPECIAL = {
    UNCONVERGED: r"\textsuperscript{\dag}",
    AT_CHANCE: r"\textsuperscript{\ddag}",
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters; α, ± and — become math or dashes."""
    out = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))
    return out.replace("α", r"$\alpha$").replace("±", r"$\pm$").replace(DASH, "---")


def _title_only(title: str) -> str:
    """``"Table 1: weakly supervised SED"`` -> ``"weakly supervised SED"`` (LaTeX numbers its own)."""
    head, sep, rest = title.partition(": ")
    return rest if sep and head.startswith("Table") else title


def _latex_cell(c: pd.Series, *, digits: int = 3) -> lx.Cell | str:
    mean, n = _none(c["mean"]), int(c["n"])
    if mean is None or n == 0:
        return DASH
    low, high, std = _none(c.get("low")), _none(c.get("high")), _none(c.get("std"))
    if low is not None and high is not None:
        interval = f"[{low:.{digits}f}, {high:.{digits}f}]"
    elif std is not None:
        interval = f"± {std:.{digits}f}"
    else:
        interval = None
    return lx.Cell(
        text=f"{mean:.{digits}f} ({n})",
        interval=interval,
        bold=bool(c.get("best", False)) or bool(c.get("tied", False)),
        dagger=bool(int(c.get("unconverged", 0) or 0)),
        chance=bool(int(_none(c.get("at_chance")) or 0)),
    )


def latex_floats(table: Table) -> list[lx.LatexFloat]:
    """The LaTeX floats of one of Tables 1-3: Table 1 one float per SNR (so each fits a
    single-column page), the others one float; a value column and the paper's beside it."""
    if table.name == "table3":
        return [_transposed_float(table)]
    if table.name == "table1":
        parts = [(f" ({group})", [(group, columns)]) for group, columns in table.groups]
    else:
        parts = [("", list(table.groups))]
    n_row = len(table.row_header)
    floats = []
    for suffix, groups in parts:
        units = [(group, key, title) for group, columns in groups for key, title in columns]
        one_group = len(groups) == 1
        header = [(title if one_group else group, 2) for group, _, title in units]
        rows = []
        for r, row in enumerate(table.rows):
            cells: list = []
            for _, key, _ in units:
                c = table.cell(r, key)
                cells += [_latex_cell(c), _paper_text(_none(c["paper"]), digits=3)]
            rows.append((_short_system(row[:n_row]) if n_row > 1 else row[0], cells))
        tag = "-" + suffix.strip(" ()").replace(" ", "").lower() if suffix else ""
        floats.append(
            lx.LatexFloat(
                label=f"tab:bench-{table.name}{tag}",
                caption=_title_only(table.title) + suffix + table.caption.removeprefix(table.title),
                header=header,
                subheader=["ours", "paper"] * len(units),
                rows=rows,
                row_title=table.row_header[0] if n_row == 1 else "System",
                warning=SYNTHETIC_WARNING if table.synthetic else None,
            )
        )
    return floats


def _transposed_float(table: Table) -> lx.LatexFloat:
    """A table with few rows and many value columns (Table 3: three systems, four events) set
    the other way round: a row per value column, a column pair (ours, paper) per system."""
    n_row = len(table.row_header)
    systems = [_short_system(row[:n_row]) for row in table.rows]
    keys = [(key, title) for _, columns in table.groups for key, title in columns]
    rows = []
    for key, title in keys:
        cells: list = []
        for r in range(len(table.rows)):
            c = table.cell(r, key)
            cells += [_latex_cell(c), _paper_text(_none(c["paper"]), digits=3)]
        rows.append((title, cells))
    group = table.groups[0][0] if len(table.groups) == 1 else ""
    return lx.LatexFloat(
        label=f"tab:bench-{table.name}",
        caption=_title_only(table.title) + table.caption.removeprefix(table.title),
        header=[(system, 2) for system in systems],
        subheader=["ours", "paper"] * len(systems),
        rows=rows,
        row_title=group.replace("SNR ", "") if group else "",
        warning=SYNTHETIC_WARNING if table.synthetic else None,
    )


def to_latex(table: Table) -> str:
    """Booktabs ``table`` floats (:func:`latex_floats`), each fitting a single-column page."""
    return "\n".join(lx.render(f) for f in latex_floats(table))


def _rich_cell(c: pd.Series, *, paper: bool) -> str:
    """A cell for the terminal, one short line each: the mean (n) with † when a run had not
    converged, its interval, and the paper's value (dim); bold for the best and its ties."""
    from rich.markup import escape

    cell = _latex_cell(c)
    if isinstance(cell, str):
        lines = [cell]
    else:
        first = cell.text + (UNCONVERGED if cell.dagger else "") + (AT_CHANCE if cell.chance else "")
        first = f"[bold]{escape(first)}[/]" if cell.bold else escape(first)
        lines = [first] + ([escape(cell.interval)] if cell.interval else [])
    if paper:
        lines.append(f"[dim]{_paper_text(_none(c['paper']), digits=3)}[/]")
    return "\n".join(lines)


def to_rich(table: Table):
    """The table for the terminal: one rich table per column group (e.g. per SNR), each cell
    showing ours, its interval and the paper's value on three short lines, so that every table
    reads in an 80-column terminal."""
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    parts = []
    n_row = len(table.row_header)
    for g, (group, columns) in enumerate(table.groups):
        title = f"{table.title} — {group}"
        if table.synthetic and g == 0:
            title += f"\n[bold red]{SYNTHETIC_WARNING}[/]"
        out = RichTable(title=title)
        out.add_column("System")
        for _, col_title in columns:
            out.add_column(f"{col_title}\n[dim]paper[/]", justify="right", no_wrap=True)
        for r, row in enumerate(table.rows):
            out.add_row(_short_system(row[:n_row]), *(_rich_cell(table.cell(r, key), paper=True) for key, _ in columns))
        parts.append(out)
    parts.append(Text(table.caption, style="italic"))  # below, at full width (a rich caption wraps to the table)
    return Group(*parts)


def _short_system(cells: Sequence[str]) -> str:
    """One label for a row: ``("VGGish", "2AP", "yes") -> "VGGish 2AP +aux"``."""
    words = [c for c in cells if c != "no"]
    return " ".join("+aux" if w == "yes" else w for w in words)


def print_tables(tables: Sequence[Table], *, console=None) -> None:
    """Print tables (and their notes) with rich."""
    from rich.markup import escape

    if console is None:
        from remix.clitools import console as default_console

        console = default_console
    for table in tables:
        console.print(to_rich(table))
        for note in table.notes:
            style = "bold red" if note == SYNTHETIC_WARNING else "yellow"
            console.print(f"[{style}]{escape(note)}[/]")
        console.print()


def write_tables(
    runs: pd.DataFrame,
    *,
    out_dir: Path = Path("results/tables"),
    latex: bool = True,
    markdown: bool = True,
    split: str = "val",
    preset: str | None = None,
    paper_dir: Path | None = None,
) -> list[Path]:
    """Write ``table1.tex`` .. ``table3.tex`` and/or ``.md`` atomically; returns the paths.

    Parameters
    ----------
    runs : pd.DataFrame
        :func:`bench.store.load_runs` of a results folder.
    out_dir : Path
        Destination folder (created).
    latex, markdown : bool
        Which formats to write.
    split : str
        "val" (default, as the paper) or "test".
    preset : str, optional
        Keep only runs of this preset (needed when the runs mix presets).
    paper_dir : Path, optional
        Folder of ``paper_table{1,2,3}.csv`` (default ``results/paper``).
    """
    tables = build_tables(runs, split=split, preset=preset, paper_dir=paper_dir)
    out_dir = Path(out_dir)
    written = []
    for table in tables:
        if latex:
            written.append(atomic_write_text(out_dir / f"{table.name}.tex", to_latex(table)))
        if markdown:
            written.append(atomic_write_text(out_dir / f"{table.name}.md", to_markdown(table)))
    return written


TAGGING_TEXT = (
    "tag-only: the same run's clip probabilities broadcast over every frame, under its own "
    "post-processing; a PSDS no higher than its tag-only value is tagging, not localisation"
)
"""What the tagging-only control is, for captions."""


def parts_rich(table: Table, parts: Sequence[tuple[str, Sequence[str]]], *, title: str):
    """A table whose rows are (system, SNR) for the terminal: one rich table per SNR and per part
    (``(part, column keys)``), each cell the mean (n) over its interval, the caption below."""
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    titles = dict(table.groups[0][1])
    out_parts = []
    snrs = list(dict.fromkeys(snr for _, snr in table.rows))
    for s_index, snr in enumerate(snrs):
        rows = [r for r, (_, row_snr) in enumerate(table.rows) if row_snr == snr]
        for p_index, (part, keys) in enumerate(parts):
            keys = tuple(k for k in keys if k in titles)
            heading = f"{title} — {snr}, {part}"
            if table.synthetic and s_index == 0 and p_index == 0:
                heading += f"\n[bold red]{SYNTHETIC_WARNING}[/]"
            out = RichTable(title=heading)
            out.add_column("System")
            for key in keys:
                out.add_column(titles[key].replace("tag-only ", "tag-only\n"), justify="right", no_wrap=True)
            for r in rows:
                out.add_row(table.rows[r][0], *(_rich_cell(table.cell(r, k), paper=False) for k in keys))
            out_parts.append(out)
    if not table.rows:
        out_parts.append(Text(f"{table.title}: no finished run has these metrics", style="bold"))
    out_parts.append(Text(table.caption, style="italic"))
    return Group(*out_parts)


def print_with_notes(renderable, notes: Sequence[str], *, console=None) -> None:
    """Print a table's renderable and its notes (the synthetic warning in red) with rich."""
    from rich.markup import escape

    if console is None:
        from remix.clitools import console as default_console

        console = default_console
    console.print(renderable)
    for note in notes:
        console.print(f"[{'bold red' if note == SYNTHETIC_WARNING else 'yellow'}]{escape(note)}[/]")
    console.print()
