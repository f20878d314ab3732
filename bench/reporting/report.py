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
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.evaluation.bootstrap import paired_difference
from bench.evaluation.catalogue import titled
from bench.presets import at_chance
from bench.reporting.intervals import cell_interval, match_runs, metric_key, stacked
from bench.reporting.render import latex_escape, to_latex, to_markdown
from bench.reporting.table import (
    AT_CHANCE,
    AT_CHANCE_NOTE,
    BEST_TEXT,
    DASH,
    INTERVAL_TEXT,
    SYNTHETIC_WARNING,
    UNCONVERGED,
    UNCONVERGED_NOTE,
    Table,
)
from bench.store import RunStore, atomic_write_text

__all__ = [
    "build_table1",
    "build_table2",
    "build_table3",
    "build_tables",
    "default_paper_dir",
    "write_tables",
]

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
