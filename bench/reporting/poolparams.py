"""What the learned pooling operators learned: each class's AutoPool ``alpha`` or power-pooling
``n`` against that class's mean event duration in the run's training clips.

Liu et al. (2020) report that power pooling's learned exponent falls as a class's mean event
duration grows (long events: closer to the mean; short ones: closer to the maximum). On a remix
corpus every event's onset and offset is in the manifest, so the durations are exact and the
finding can be checked: :func:`pool_parameters` collects the parameters of finished runs,
:func:`rank_correlations` gives Spearman's rank correlation per operator and SNR (parameters
averaged over seeds first), :func:`plot_pool_parameters` draws them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.corpus import read_events
from bench.data import make_split, read_clips
from bench.errors import BenchError
from bench.store import RunStore, atomic_write_text
from models.mil import OPERATORS, FramePoolingHead
from remix.labels import EVENT_LABELS

LEARNED = tuple(name for name, op in OPERATORS.items() if op.parameter is not None)
"""The operators with a learned per-class parameter."""


def class_durations(corpus_dir: Path, *, snr_db: float, val_fold: int) -> pd.Series:
    """Mean event duration (offset - onset, seconds) per class over the training clips of a run
    (the dev folds other than ``val_fold``, at ``snr_db``), from the corpus manifests."""
    clips = read_clips(corpus_dir)
    train = set(make_split(clips, snr_db=snr_db, val_fold=val_fold).train)
    events = read_events(corpus_dir)
    events = events[np.isclose(events["snr_db"].astype(float), snr_db) & events["clip_id"].astype(str).isin(train)]
    return (events["offset_s"] - events["onset_s"]).groupby(events["event_label"]).mean()


def pool_parameters(runs: pd.DataFrame) -> pd.DataFrame:
    """The learned per-class parameter of every finished run of :data:`LEARNED` in ``runs``.

    Parameters
    ----------
    runs : pd.DataFrame
        :func:`bench.store.load_runs` (any filter applied).

    Returns
    -------
    pd.DataFrame
        One row per (run, class): ``run_id``, ``model``, ``parameter`` ("alpha" or "n"),
        ``snr_db``, ``seed``, ``label``, ``value`` (as the operator uses it: constrained ones
        ``>= 0``), ``mean_duration_s``.
    """
    from bench.inference.checkpoint import load_checkpoint

    done = runs[(runs["status"] == "done") & runs["model"].isin(LEARNED)] if not runs.empty else runs
    if done.empty:
        raise BenchError(
            f"no finished run of {', '.join(LEARNED)}; train them first (bench run --zoo, or --model autopool,...)"
        )
    records = []
    durations: dict[tuple[str, float, int], pd.Series] = {}
    for _, run in done.iterrows():
        run_dir = Path(run["run_dir"])
        store = RunStore(run_dir.parent, run_dir.name)
        net, _ = load_checkpoint(store.checkpoint_path)
        head = net.head
        if not isinstance(head, FramePoolingHead):
            raise BenchError(f"run {run['run_id']} is not a pooling-operator run")
        value = head.pool_parameter()
        if value is None:
            continue
        record = store.read_config()
        key = (str(record["corpus_dir"]), float(record["snr_db"]), int(record.get("val_fold", 4)))
        if key not in durations:
            durations[key] = class_durations(Path(key[0]), snr_db=key[1], val_fold=key[2])
        labels = list(EVENT_LABELS)
        for label, v in zip(labels, value.detach().numpy().tolist()):
            records.append(
                {
                    "run_id": run["run_id"],
                    "model": run["model"],
                    "parameter": OPERATORS[str(run["model"])].parameter,
                    "snr_db": float(run["snr_db"]),
                    "seed": int(run["seed"]),
                    "label": label,
                    "value": float(v),
                    "mean_duration_s": float(durations[key].get(label, np.nan)),
                }
            )
    return pd.DataFrame(records)


def rank_correlations(params: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rank correlation between a class's parameter (mean over seeds) and its mean
    event duration, per operator and SNR: ``model``, ``snr_db``, ``seeds``, ``classes``, ``rho``, ``p``."""
    from scipy.stats import spearmanr

    rows = []
    for (model, snr), group in params.groupby(["model", "snr_db"], sort=False):
        per_class = group.groupby("label").agg(value=("value", "mean"), duration=("mean_duration_s", "first")).dropna()
        if len(per_class) > 2 and per_class["value"].nunique() > 1:
            result = spearmanr(per_class["value"], per_class["duration"])
            rho, p = float(result.statistic), float(result.pvalue)
        else:
            rho, p = float("nan"), float("nan")
        rows.append(
            {
                "model": model,
                "snr_db": snr,
                "seeds": int(group["seed"].nunique()),
                "classes": len(per_class),
                "rho": rho,
                "p": p,
            }
        )
    return pd.DataFrame(rows)


def plot_pool_parameters(params: pd.DataFrame, path: Path, *, title: str | None = None, dpi: int = 110) -> Path:
    """One panel per operator: each class's parameter (mean over seeds, one colour per SNR)
    against its mean event duration, with Spearman's rho in the legend. Written as PNG (or PDF
    by the suffix of ``path``), atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from bench.reporting.plots import _save

    models = [m for m in LEARNED if m in set(params["model"])]
    if not models:
        raise BenchError("no learned pooling parameters to plot")
    stats = rank_correlations(params).set_index(["model", "snr_db"])
    fig = Figure(figsize=(3.4 * len(models), 3.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    snrs = sorted(set(params["snr_db"]), reverse=True)
    colours = {snr: f"C{i}" for i, snr in enumerate(snrs)}
    for ax, model in zip(axes, models):
        group = params[params["model"] == model]
        for snr in snrs:
            at = group[group["snr_db"] == snr]
            if at.empty:
                continue
            per_class = at.groupby("label").agg(value=("value", "mean"), duration=("mean_duration_s", "first"))
            s = stats.loc[(model, snr)]
            ax.scatter(
                per_class["duration"],
                per_class["value"],
                s=14,
                color=colours[snr],
                label=f"{snr:g} dB: "
                + ("ρ n/a (" if np.isnan(s["rho"]) else f"ρ = {s['rho']:+.2f} (p {s['p']:.2g}, ")
                + f"{int(s['seeds'])} seed(s))",
            )
        ax.set_title(f"{model} ({OPERATORS[model].reference})", fontsize=8)
        ax.set_xlabel("mean event duration in training clips (s)")
        ax.set_ylabel(f"learned {OPERATORS[model].parameter}")
        ax.legend(fontsize=6, loc="best")
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, Path(path), dpi=dpi)


def write_pool_parameters(runs: pd.DataFrame, *, out_dir: Path) -> tuple[list[Path], str]:
    """``pool_params.png``, ``pool_params.pdf`` and ``pool_params.csv`` (every run's parameter per
    class) under ``out_dir``; returns the paths and the rank correlations as printable lines."""

    params = pool_parameters(runs)
    synthetic = bool(runs.get("corpus_synthetic", pd.Series(dtype=bool)).fillna(False).astype(bool).any())
    title = "learned pooling parameter per class against mean event duration"
    if synthetic:
        title += " (synthetic stand-in corpus)"
    out_dir = Path(out_dir)
    paths = [plot_pool_parameters(params, out_dir / f"pool_params.{kind}", title=title) for kind in ("png", "pdf")]
    paths.append(atomic_write_text(out_dir / "pool_params.csv", params.to_csv(index=False)))
    lines = ["Spearman rank correlation, learned parameter (mean over seeds) against mean event duration:"]
    for _, row in rank_correlations(params).iterrows():
        corr = (
            "rho n/a (a parameter equal for every class)"
            if np.isnan(row["rho"])
            else (f"rho {row['rho']:+.3f}  p {row['p']:.3g}")
        )
        lines.append(
            f"  {row['model']:<13} {row['snr_db']:>4g} dB  {corr}  ({int(row['classes'])} classes, "
            f"{int(row['seeds'])} seed(s))"
        )
    return paths, "\n".join(lines)
