"""Any systems side by side: one metric per SNR with intervals, and each training variant against its
fixed-corpus counterpart (``bench table``).

Tables 1-3 hold the paper's systems trained on the corpus as built. Systems trained otherwise
(``--mixing online``, ``--augment shift``) or with model options are compared here: a row per
system, a column per SNR, each cell the mean over seeds with its 95 % interval (clips and seeds
resampled, :mod:`bench.reporting.intervals`); a row trained with fresh mixtures or augmentation
also gets, per SNR, its paired difference from the same system trained on the fixed corpus (the
same resamples of the same clips for both) and that difference's p-value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.evaluation.bootstrap import method, paired_difference
from bench.evaluation.catalogue import get_metric
from bench.reporting.intervals import System, cell_interval, metric_mean, stacked

__all__ = ["systems_table", "systems_markdown"]


def _baseline(system: System) -> System | None:
    """The same system trained on the fixed corpus without augmentation (None: it is that already)."""
    if system.mixing == "fixed" and system.augment == "none":
        return None
    return dataclasses.replace(system, mixing="fixed", augment="none")


def systems_table(
    runs: pd.DataFrame,
    systems: Sequence[str],
    *,
    snrs: Sequence[float],
    preset: str | None = None,
    metric: str = "micro_ap",
    split: str = "val",
) -> pd.DataFrame:
    """One row per (system, SNR): the cell and, for a training variant, its difference from the fixed corpus.

    Parameters
    ----------
    runs : pd.DataFrame
        :func:`bench.store.load_runs` of a results folder.
    systems : sequence of str
        Systems as ``bench compare`` takes them, without an SNR (``2ap_aux,mixing=online``).
    snrs : sequence of float
    preset : str, optional
        Only runs of this preset.
    metric : str
        A replicate name (``micro_ap``, ``macro_ap``, ``psds1`` ...).
    split : {"val", "test"}

    Returns
    -------
    pd.DataFrame
        ``system``, ``snr_db``, ``n``, ``mean``, ``low``, ``high``; for variants also
        ``difference``, ``diff_low``, ``diff_high``, ``p`` against ``baseline`` (NaN where the
        baseline has no run).
    """
    if not systems:
        raise BenchError("give at least one system, e.g. bench table 2ap_aux 2ap_aux,mixing=online --snr 0 20")
    get_metric(metric)  # an unknown name: one line naming the catalogue's
    rows = []
    for text in systems:
        for snr in snrs:
            system = System.parse(text, snr_db=float(snr), preset=preset)
            if system.snr_db != float(snr):
                raise BenchError(f"give the SNRs with --snr, not in the system ({text!r})")
            found = system.runs(runs)
            row: dict = {"system": system.label.rsplit(f" {system.snr_db:g} dB", 1)[0], "snr_db": float(snr)}
            row["n"] = len(found)
            if found.empty:
                rows.append(row)
                continue
            dirs = [Path(p) for p in found["run_dir"]]
            row["mean"] = metric_mean(found, metric, split)
            row["low"], row["high"] = cell_interval(dirs, metric, split=split, estimate=row["mean"])
            base = _baseline(system)
            if base is not None:
                row["baseline"] = base.label
                base_runs = base.runs(runs)
                corpora = set(pd.concat([found, base_runs]).get("corpus_fingerprint", pd.Series(dtype=object)).dropna())
                if len(corpora) > 1:
                    raise BenchError(f"{system.label} and {base.label} were trained on different corpora: not paired")
                ra = stacked(dirs, metric, split=split)
                rb = stacked([Path(p) for p in base_runs["run_dir"]], metric, split=split) if len(base_runs) else None
                if ra is not None and rb is not None:
                    n = min(ra.shape[1], rb.shape[1])
                    result = paired_difference(ra[:, :n], rb[:, :n])
                    base_mean = metric_mean(base_runs, metric, split)
                    row["difference"] = None if row["mean"] is None or base_mean is None else row["mean"] - base_mean
                    row["diff_low"], row["diff_high"], row["p"] = result["low"], result["high"], result["p"]
                    row["n_boot"] = result["n_boot"]
            rows.append(row)
    return pd.DataFrame(rows)


def _cell(row: pd.Series) -> str:
    if not row.get("n"):
        return "—"
    mean = row.get("mean")
    if mean is None or pd.isna(mean):
        return f"— ({int(row['n'])})"
    low, high = row.get("low"), row.get("high")
    interval = "" if low is None or pd.isna(low) else f" [{low:.3f}, {high:.3f}]"
    return f"{mean:.3f}{interval} ({int(row['n'])})"


def _difference(row: pd.Series) -> str:
    diff = row.get("difference")
    if diff is None or pd.isna(diff):
        return "" if pd.isna(row.get("baseline", float("nan"))) else "—"
    p = row["p"]
    p_text = f"≤ {1 / row['n_boot']:.3f}" if p <= 1 / row["n_boot"] else f"{p:.3f}"
    return f"{diff:+.3f} [{row['diff_low']:+.3f}, {row['diff_high']:+.3f}], p {p_text}"


def systems_markdown(table: pd.DataFrame, *, metric: str, split: str, title: str, synthetic: bool) -> str:
    """:func:`systems_table` as Markdown: a row per system, per SNR a cell and (for variants) a difference."""
    from bench.reporting.table import SYNTHETIC_WARNING

    snrs = list(dict.fromkeys(table["snr_db"]))
    has_diff = "baseline" in table.columns and table["baseline"].notna().any()
    lines = [f"**{title}**", ""]
    if synthetic:
        lines += [f"> **{SYNTHETIC_WARNING}**", ""]
    lines += [
        f"{split} {metric}: mean over seeds [95 % interval] (runs). "
        + (
            "Δ: the paired difference from the same system trained on the fixed corpus without "
            "augmentation [95 % interval], and its two-sided p-value. "
            if has_diff
            else ""
        )
        + f"{method(split)}.",
        "",
    ]
    header = ["System"]
    for snr in snrs:
        header.append(f"{snr:g} dB")
        if has_diff:
            header.append(f"Δ {snr:g} dB")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| --- |" + " ---: |" * (len(header) - 1))
    for system, group in table.groupby("system", sort=False):
        cells = [str(system)]
        by_snr = {float(r["snr_db"]): r for _, r in group.iterrows()}
        for snr in snrs:
            row = by_snr.get(float(snr))
            cells.append("—" if row is None else _cell(row))
            if has_diff:
                cells.append("" if row is None else _difference(row))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
