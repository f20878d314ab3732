"""The figures a comparison of systems is read from: PSD-ROC curves with resampled bands, per-class
AP and PSDS1 bars with interval whiskers, and a metric against SNR.

Every figure takes systems as ``bench compare`` names them (``autopool``, ``2ap_aux,alpha=0.1``)
and the finished runs of each in a results folder; a system's curve or bar is the mean over its
runs (seeds). Bands and whiskers come from the canonical resamples of the split's clips
(:mod:`bench.evaluation.bootstrap`), the same for every system scored on the same clips: the
PSD-ROC band is the pointwise 5-95 % range of the resampled curves (each the mean over the
system's runs on that resample), a bar's whisker the 95 % interval of its cell. Each figure is
written as PNG and PDF with a CSV of what it shows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.errors import BenchError
from bench.evaluation.bootstrap import N_BOOT_DCASE, clip_weights
from bench.evaluation.catalogue import get_metric
from bench.evaluation.curves import EFPR_GRID, PsdRoc, psd_roc
from bench.evaluation.formats import DCASE_DIR, read_dcase_files
from bench.reporting.intervals import System, cell_interval, metric_mean
from bench.reporting.plots import _save
from bench.reporting.systems import systems_table
from bench.store import atomic_write_text
from remix.labels import EVENT_LABELS

BAND = (5.0, 95.0)
"""Percentiles of the PSD-ROC band (a 90 % band)."""

FORMATS = ("png", "pdf")


def _systems(runs: pd.DataFrame, texts: Sequence[str], *, snr_db: float, preset: str | None) -> list[tuple]:
    """(label, System, run folders) of each system named, with at least one finished run."""
    if not texts:
        raise BenchError("name the systems to draw: --system autopool --system gwrp ...")
    out = []
    for text in texts:
        system = System.parse(text, snr_db=snr_db, preset=preset)
        found = system.runs(runs)
        if found.empty:
            raise BenchError(f"no finished run of {system.label} in the results folder; bench list shows what there is")
        out.append((system.label, system, [Path(p) for p in found["run_dir"]]))
    return out


def _write(fig: Figure, stem: Path, table: pd.DataFrame, *, dpi: int) -> list[Path]:
    paths = [_save(fig, stem.with_suffix(f".{kind}"), dpi=dpi) for kind in FORMATS]
    paths.append(atomic_write_text(stem.with_suffix(".csv"), table.to_csv(index=False)))
    return paths


def _run_curve(run_dir: Path, *, split: str, n_boot: int, num_jobs: int) -> tuple[PsdRoc, list[str]]:
    folder = run_dir / DCASE_DIR / split
    if not (folder / "scores").is_dir():
        raise BenchError(f"run {run_dir.name} has no DCASE score files for {split!r}; run bench localise first")
    files = read_dcase_files(folder)
    ids = list(files["scores"])
    roc = psd_roc(
        files["scores"],
        files["ground_truth"],
        files["durations"],
        weights=clip_weights(ids, n_boot=n_boot),
        num_jobs=num_jobs,
    )
    return roc, sorted(ids)


def system_curves(
    runs: pd.DataFrame,
    systems: Sequence[str],
    *,
    snr_db: float,
    preset: str | None = None,
    split: str = "val",
    n_boot: int = N_BOOT_DCASE,
    num_jobs: int = 1,
) -> dict[str, dict]:
    """Each system's PSD-ROC (PSDS1 scenario) and class PSDS1, mean over its runs, with resamples.

    Returns
    -------
    dict
        Label -> ``etpr`` (G,), ``band`` (2, G), ``psds``, ``class_psds`` (label -> mean),
        ``class_replicates`` (label -> (B,)), ``n`` (runs).

    Raises
    ------
    BenchError
        A system without finished runs, runs without score files, or systems scored on
        different clips (their resamples would not be the same).
    """
    out, clip_set = {}, None
    for label, _, run_dirs in _systems(runs, systems, snr_db=snr_db, preset=preset):
        curves = []
        for run_dir in run_dirs:
            roc, ids = _run_curve(run_dir, split=split, n_boot=n_boot, num_jobs=num_jobs)
            if clip_set is None:
                clip_set = ids
            elif ids != clip_set:
                raise BenchError(f"{label} was scored on other {split} clips than the first system: not comparable")
            curves.append(roc)
        with warnings.catch_warnings():  # a resample a run cannot score is NaN in it: left out of the mean
            warnings.simplefilter("ignore", RuntimeWarning)
            reps = np.nanmean(np.stack([c.replicates for c in curves]), axis=0)  # (B, G): mean over runs per resample
            class_reps = {
                k: np.nanmean(np.stack([c.class_replicates.get(k, np.full(n_boot, np.nan)) for c in curves]), axis=0)
                for k in sorted(set().union(*(c.class_psds for c in curves)))
            }
        classes = sorted(set().union(*(c.class_psds for c in curves)))
        out[label] = {
            "etpr": np.mean([c.etpr for c in curves], axis=0),
            "band": np.nanpercentile(reps, BAND, axis=0),
            "psds": float(np.mean([c.psds for c in curves])),
            "class_psds": {k: float(np.nanmean([c.class_psds.get(k, np.nan) for c in curves])) for k in classes},
            "class_replicates": class_reps,
            "n": len(curves),
        }
    return out


def plot_psd_roc(curves: dict[str, dict], stem: Path, *, title: str, dpi: int = 150) -> list[Path]:
    """PSD-ROC per system with its 90 % band; ``stem.{png,pdf,csv}``."""
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot(1, 1, 1)
    rows = []
    for k, (label, c) in enumerate(curves.items()):
        colour = f"C{k}"
        ax.fill_between(EFPR_GRID, c["band"][0], c["band"][1], color=colour, alpha=0.18, linewidth=0, step="post")
        ax.step(EFPR_GRID, c["etpr"], where="post", color=colour, label=f"{label}: PSDS1 {c['psds']:.3f} ({c['n']})")
        rows += [
            {"system": label, "efpr_per_hour": x, "etpr": y, "band_low": lo, "band_high": hi}
            for x, y, lo, hi in zip(EFPR_GRID, c["etpr"], c["band"][0], c["band"][1])
        ]
    ax.set_xlim(0, EFPR_GRID[-1])
    ax.set_ylim(0, 1)
    ax.set_xlabel("effective false-positive rate (per hour)")
    ax.set_ylabel("effective true-positive rate")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _write(fig, stem, pd.DataFrame(rows), dpi=dpi)


def class_table(
    runs: pd.DataFrame,
    systems: Sequence[str],
    curves: dict[str, dict],
    *,
    snr_db: float,
    preset: str | None = None,
    split: str = "val",
) -> pd.DataFrame:
    """Per class and system: AP and PSDS1, each with its 95 % interval (AP: the cell interval of
    ``ap_<label>``, :func:`bench.reporting.intervals.cell_interval`; PSDS1: the 2.5-97.5 %
    range of its resampled mean over runs, from :func:`system_curves`)."""
    rows = []
    for label, system, run_dirs in _systems(runs, systems, snr_db=snr_db, preset=preset):
        found = system.runs(runs)
        c = curves[label]
        for cls in EVENT_LABELS:
            metric = f"ap_{cls}"
            ap = metric_mean(found, metric, split)
            ap_low, ap_high = cell_interval(run_dirs, metric, split=split, estimate=ap)
            reps = c["class_replicates"].get(cls)
            low = high = None
            if reps is not None and np.isfinite(reps).any():
                low, high = (float(v) for v in np.nanpercentile(reps, (2.5, 97.5)))
            rows.append(
                {
                    "system": label,
                    "class": cls,
                    "ap": ap,
                    "ap_low": ap_low,
                    "ap_high": ap_high,
                    "psds1": c["class_psds"].get(cls),
                    "psds1_low": low,
                    "psds1_high": high,
                }
            )
    return pd.DataFrame(rows)


def plot_classes(table: pd.DataFrame, stem: Path, *, title: str, dpi: int = 150) -> list[Path]:
    """Per-class AP (top) and PSDS1 (bottom) bars per system with interval whiskers; ``stem.{png,pdf,csv}``."""
    labels = list(dict.fromkeys(table["system"]))
    classes = list(dict.fromkeys(table["class"]))
    x = np.arange(len(classes))
    width = 0.8 / max(1, len(labels))
    fig = Figure(figsize=(min(24.0, max(12.0, 0.1 * len(classes) * len(labels))), 7.2))
    for row, (key, name) in enumerate((("ap", "AP"), ("psds1", "PSDS1"))):
        ax = fig.add_subplot(2, 1, row + 1)
        for k, label in enumerate(labels):
            part = table[table["system"] == label].set_index("class").reindex(classes)
            value = pd.to_numeric(part[key], errors="coerce").to_numpy(float)
            low = pd.to_numeric(part[f"{key}_low"], errors="coerce").to_numpy(float)
            high = pd.to_numeric(part[f"{key}_high"], errors="coerce").to_numpy(float)
            err = np.vstack([np.clip(value - low, 0, None), np.clip(high - value, 0, None)])
            err = np.where(np.isfinite(err), err, 0.0)
            ax.bar(x + (k - (len(labels) - 1) / 2) * width, np.nan_to_num(value), width, label=label, color=f"C{k}")
            ax.errorbar(
                x + (k - (len(labels) - 1) / 2) * width,
                np.nan_to_num(value),
                yerr=err,
                fmt="none",
                ecolor="0.2",
                lw=0.6,
            )
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"class {name}")
        ax.set_xticks(x)
        ax.set_xticklabels(classes if row == 1 else [], rotation=75, fontsize=6)
        ax.grid(axis="y", alpha=0.3)
        if row == 0:
            ax.set_title(title, fontsize=9)
            ax.legend(fontsize=7, ncol=max(1, len(labels)), loc="upper right")
    fig.tight_layout()
    return _write(fig, stem, table, dpi=dpi)


def plot_metric_vs_snr(table: pd.DataFrame, stem: Path, *, metric: str, title: str, dpi: int = 150) -> list[Path]:
    """``metric`` against SNR per system (:func:`bench.reporting.systems.systems_table`), with 95 %
    interval whiskers; ``stem.{png,pdf,csv}``."""
    fig = Figure(figsize=(5.6, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    for k, (label, part) in enumerate(table.groupby("system", sort=False)):
        part = part.sort_values("snr_db")
        mean = pd.to_numeric(part["mean"], errors="coerce").to_numpy(float)
        low = pd.to_numeric(part["low"], errors="coerce").to_numpy(float)
        high = pd.to_numeric(part["high"], errors="coerce").to_numpy(float)
        err = np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)])
        ax.errorbar(
            part["snr_db"].to_numpy(float) + 0.15 * (k - 1),
            mean,
            yerr=np.where(np.isfinite(err), err, 0.0),
            marker="o",
            ms=4,
            capsize=3,
            label=str(label),
            color=f"C{k}",
        )
    ax.set_xticks(sorted({float(v) for v in table["snr_db"]}))
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel(get_metric(metric).label)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _write(fig, stem, table, dpi=dpi)


def write_figures(
    runs: pd.DataFrame,
    systems: Sequence[str],
    *,
    out_dir: Path,
    snr_db: float | None,
    snrs: Sequence[float],
    kinds: Sequence[str],
    metric: str = "psds1",
    preset: str | None = None,
    split: str = "val",
    synthetic: bool = False,
    num_jobs: int = 1,
) -> list[Path]:
    """The figures of ``kinds`` (``"psd_roc"``, ``"classes"``, ``"vs_snr"``) for ``systems``.

    ``psd_roc`` and ``classes`` are drawn at ``snr_db``; ``vs_snr`` over ``snrs``. Titles say the
    split, the preset and, for a synthetic stand-in corpus, that the numbers are not the paper's.
    """
    get_metric(metric)
    out_dir = Path(out_dir)
    tag = (" — synthetic stand-in" if synthetic else "") + (f", preset {preset}" if preset else "")
    written: list[Path] = []
    if {"psd_roc", "classes"} & set(kinds):
        if snr_db is None:
            raise BenchError("the PSD-ROC and class figures are drawn at one SNR: give --snr")
        curves = system_curves(runs, systems, snr_db=snr_db, preset=preset, split=split, num_jobs=num_jobs)
        if "psd_roc" in kinds:
            title = f"PSD-ROC (PSDS1 scenario), {split}, {snr_db:g} dB, 90 % resampled band\n{tag.lstrip(' —,')}"
            written += plot_psd_roc(curves, out_dir / f"psd_roc_{snr_db:g}dB", title=title)
        if "classes" in kinds:
            table = class_table(runs, systems, curves, snr_db=snr_db, preset=preset, split=split)
            title = f"Class AP and PSDS1, {split}, {snr_db:g} dB, 95 % intervals{tag}"
            written += plot_classes(table, out_dir / f"classes_{snr_db:g}dB", title=title)
    if "vs_snr" in kinds:
        table = systems_table(runs, systems, snrs=snrs, preset=preset, metric=metric, split=split)
        title = f"{get_metric(metric).label} against SNR, {split}, 95 % intervals\n{tag.lstrip(' —,')}"
        written += plot_metric_vs_snr(table, out_dir / f"vs_snr_{metric}", metric=metric, title=title)
    return written
