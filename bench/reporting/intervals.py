"""Intervals of table cells and paired comparisons of systems, from run folders.

Which metrics there are, and where each one's value and replicates live, is the metric
catalogue's (:mod:`bench.evaluation.catalogue`).

A run's replicates (its metric on each canonical resample of its split's clips,
:mod:`bench.evaluation.bootstrap`) come from two places: the clip-level metrics are recomputed from
``predictions.parquet`` (:func:`run_replicates`: micro-AP, macro-AP, AUC, per-class AP), and
the DCASE metrics are read from ``dcase/<split>/bootstrap.parquet``, which the run's
localisation wrote (PSDS1, PSDS2, event, segment and frame F1, and the tagging-only
control's PSDS). :func:`cell_interval` turns the runs of one cell into its 95 % interval,
:func:`compare_systems` two systems into paired differences with intervals and p-values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.corpus import one_corpus
from bench.errors import BenchError
from bench.evaluation.bootstrap import (
    CONFIDENCE,
    N_BOOT,
    cell_replicates,
    clip_metric_replicates,
    clip_weights,
    holm,
    interval,
    paired_difference,
)
from bench.evaluation.catalogue import get_metric, metric_names, replicate_name

CLIP_METRICS = metric_names("clip")
"""Clip-level metrics a run's predictions give replicates of (plus ``ap_<label>``)."""
DCASE_METRICS = metric_names("dcase")
"""DCASE metrics whose replicates a run's localisation stores."""

metric_key = replicate_name
"""The replicate name of a flattened metrics column (:func:`bench.evaluation.catalogue.replicate_name`)."""


@lru_cache(maxsize=512)
def _clip_replicates(run_dir: str, split: str, mtime: float, n_boot: int) -> dict[str, np.ndarray]:
    from bench.store import RunStore
    from remix.labels import EVENT_LABELS

    path = Path(run_dir)
    ids, y_true, y_score = RunStore(path.parent, path.name).prediction_arrays(split, labels=EVENT_LABELS)
    reps = clip_metric_replicates(y_true, y_score, clip_weights(ids, n_boot=n_boot))
    out = {name: reps[name] for name in CLIP_METRICS}
    out.update({f"ap_{label}": reps["per_class_ap"][c] for c, label in enumerate(EVENT_LABELS)})
    return out


def run_replicates(run_dir: Path, *, split: str, n_boot: int = N_BOOT) -> dict[str, np.ndarray]:
    """Every metric of one run's split on each canonical resample of the split's clips.

    Parameters
    ----------
    run_dir : Path
        A finished run.
    split : {"val", "test"}
    n_boot : int
        Resamples for the clip-level metrics; the DCASE metrics have what the run's
        localisation stored (fewer: :data:`bench.evaluation.bootstrap.N_BOOT_DCASE`).

    Returns
    -------
    dict
        Metric name -> (B,) replicates. Clip-level metrics always (from
        ``predictions.parquet``); DCASE metrics when ``dcase/<split>/bootstrap.parquet``
        exists (a run localised before it existed has none: ``bench localise`` writes it).
    """
    from bench.evaluation.formats import DCASE_DIR
    from bench.evaluation.run import read_replicates
    from bench.store import PREDICTIONS

    run_dir = Path(run_dir)
    predictions = run_dir / PREDICTIONS
    if not predictions.is_file():
        raise BenchError(f"{predictions} is missing; the run has not been evaluated")
    out = dict(_clip_replicates(str(run_dir), split, predictions.stat().st_mtime, n_boot))
    stored = read_replicates(run_dir / DCASE_DIR / split)
    if stored is not None:
        out.update({name: stored[name].to_numpy(dtype=np.float64) for name in stored.columns})
    return out


def stacked(run_dirs: Sequence[Path], metric: str, *, split: str) -> np.ndarray | None:
    """The runs' replicates of one metric as (S, B) (the shortest B of them), or None
    when any run lacks them."""
    rows = []
    for run_dir in run_dirs:
        reps = run_replicates(Path(run_dir), split=split)
        if metric not in reps:
            return None
        rows.append(reps[metric])
    if not rows:
        return None
    n = min(len(r) for r in rows)
    return np.stack([r[:n] for r in rows])


def cell_interval(
    run_dirs: Sequence[Path],
    metric: str,
    *,
    split: str,
    confidence: float = CONFIDENCE,
    estimate: float | None = None,
) -> tuple[float | None, float | None]:
    """95 % interval of a cell (the mean of ``metric`` over its runs): clips and runs
    resampled (:func:`bench.evaluation.bootstrap.cell_replicates`), bias-corrected around the
    cell's ``estimate`` when given (:func:`bench.evaluation.bootstrap.interval`); (None, None)
    without replicates."""
    runs = stacked(run_dirs, metric, split=split)
    if runs is None:
        return None, None
    return interval(cell_replicates(runs), confidence=confidence, estimate=estimate)


# --------------------------------------------------------------------------- systems


def match_runs(
    runs: pd.DataFrame,
    model: str,
    alpha: float,
    snr: float,
    options: tuple[tuple[str, object], ...] = (),
    *,
    mixing: str = "fixed",
    augment: str = "none",
) -> pd.DataFrame:
    """Runs of one model, alpha and SNR whose model options are exactly ``options`` (none: the
    registered model), trained with ``mixing`` and ``augment`` (default: the corpus as built,
    no augmentation, as every run recorded before these existed)."""
    if runs.empty:
        return runs
    for column, wanted_value, default in (("mixing", mixing, "fixed"), ("augment", augment, "none")):
        values = runs[column].fillna(default) if column in runs.columns else pd.Series(default, index=runs.index)
        runs = runs[(values == wanted_value).to_numpy()]
    if runs.empty:
        return runs
    alpha_col = pd.to_numeric(runs["alpha"], errors="coerce").fillna(0.0).to_numpy(float)
    snr_col = pd.to_numeric(runs["snr_db"], errors="coerce").to_numpy(float)
    mask = (runs["model"] == model).to_numpy() & np.isclose(alpha_col, alpha) & np.isclose(snr_col, snr)
    wanted = {f"options.{k}": v for k, v in options}
    for column in (c for c in runs.columns if c.startswith("options.")):
        values = runs[column]
        if column in wanted:
            mask &= (values.astype(str) == str(wanted[column])).to_numpy()
        else:
            mask &= values.isna().to_numpy()
    if any(column not in runs.columns for column in wanted):
        mask &= False
    return runs[mask]


@dataclass(frozen=True)
class System:
    """One system of a comparison: a model with its options and alpha, at one SNR, under a preset.

    Attributes
    ----------
    model : str
    snr_db : float
    alpha : float or None
        None: the model's default (0.001 for ``2ap_aux``, else 0).
    options : tuple of (key, value)
        Model options, as ``--option`` (none: the registered model).
    preset : str or None
        None: whatever preset the runs have (they must agree).
    mixing, augment : str
        The training clips and augmentation (default: the corpus as built, none).
    corpus : str or None
        A corpus fingerprint (or its first characters): only runs trained on that corpus. None:
        the runs must all share one corpus (:meth:`runs` refuses runs of two).
    """

    model: str
    snr_db: float
    alpha: float | None = None
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    preset: str | None = None
    mixing: str = "fixed"
    augment: str = "none"
    corpus: str | None = None

    @classmethod
    def parse(cls, text: str, *, snr_db: float | None, preset: str | None) -> System:
        """``"2ap_aux"``, ``"2ap_aux,alpha=0.1"``, ``"2ap_aux,time_layer=conv,snr=0"``: a model,
        then ``key=value`` words (``alpha``, ``snr``, ``preset``, ``mixing``, ``augment`` and
        ``corpus`` are the system's own, every other key a model option)."""
        from bench.config import parse_options

        name, *words = [w.strip() for w in str(text).split(",")]
        if not name:
            raise BenchError(f"a system is MODEL[,key=value...], e.g. 2ap_aux,alpha=0.1; found {text!r}")
        options = parse_options(words)
        mixing = str(options.pop("mixing", "fixed"))
        augment = str(options.pop("augment", "none"))
        alpha = options.pop("alpha", None)
        snr = options.pop("snr", snr_db)
        own_preset = options.pop("preset", preset)
        corpus = options.pop("corpus", None)
        if snr is None:
            raise BenchError(f"system {text!r} has no SNR: give --snr or snr=... in the system")
        if alpha is not None and not isinstance(alpha, (int, float)):
            raise BenchError(f"alpha of system {text!r} must be a number, found {alpha!r}")
        if not isinstance(snr, (int, float)):
            raise BenchError(f"snr of system {text!r} must be a number, found {snr!r}")
        return cls(
            model=name,
            snr_db=float(snr),
            alpha=None if alpha is None else float(alpha),
            options=tuple(sorted(options.items())),
            preset=None if own_preset is None else str(own_preset),
            mixing=mixing,
            augment=augment,
            corpus=None if corpus is None else str(corpus),
        )

    @property
    def label(self) -> str:
        words = [self.model]
        if self.alpha is not None:
            words.append(f"α={self.alpha:g}")
        words += [f"{k}={v}" for k, v in self.options]
        words += [
            f"{k}={v}" for k, v, d in (("mixing", self.mixing, "fixed"), ("augment", self.augment, "none")) if v != d
        ]
        words.append(f"{self.snr_db:g} dB")
        if self.preset:
            words.append(f"[{self.preset}]")
        if self.corpus:
            words.append(f"corpus {self.corpus}")
        return " ".join(words)

    def runs(self, runs: pd.DataFrame) -> pd.DataFrame:
        """Finished runs of this system in a :func:`bench.store.load_runs` table."""
        import models

        alpha = self.alpha if self.alpha is not None else models.make_config(self.model).alpha
        chosen = runs if self.preset is None else runs[runs["preset"] == self.preset]
        matched = match_runs(
            chosen, self.model, alpha, self.snr_db, self.options, mixing=self.mixing, augment=self.augment
        )
        done = matched[matched["status"] == "done"] if not matched.empty else matched
        return one_corpus(done, what=self.label, wanted=self.corpus)


COMPARE_METRICS = metric_names(compare=True)
"""What :func:`compare_systems` compares by default (the catalogue's ``compare`` metrics)."""


def compare_systems(
    runs: pd.DataFrame,
    first: System,
    second: System,
    *,
    split: str = "val",
    metrics: Sequence[str] = COMPARE_METRICS,
    confidence: float = CONFIDENCE,
    second_runs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Paired differences first - second of each metric, resampling the same clips for both.

    Parameters
    ----------
    runs : pd.DataFrame
        :func:`bench.store.load_runs` of a results folder.
    first, second : System
    second_runs : pd.DataFrame, optional
        Where ``second``'s runs are (default: ``runs``): the same system trained in another
        results folder (another precision, machine or code version) compares with itself. When
        the two are one system with the same seeds, runs are resampled as seed pairs
        (:func:`bench.evaluation.bootstrap.paired_difference`, ``paired_runs``).
    split : {"val", "test"}
    metrics : sequence of str
        Replicate names (:func:`run_replicates`).
    confidence : float

    Returns
    -------
    pd.DataFrame
        One row per metric: ``metric``, ``first``, ``second`` (the cells' means over runs),
        ``n_first``, ``n_second`` (runs), ``difference``, ``low``, ``high`` (interval of the
        difference), ``p`` (two-sided), ``n_boot``. Metrics a run has no replicates of are
        left out.
    """
    a, b = first.runs(runs), second.runs(runs if second_runs is None else second_runs)
    for system, found in ((first, a), (second, b)):
        if found.empty:
            raise BenchError(f"no finished run of {system.label} in the results folder; bench list shows what there is")
    corpora = {str(v) for v in pd.concat([a, b]).get("corpus_fingerprint", pd.Series(dtype=object)).dropna()}
    if len(corpora) > 1:
        raise BenchError(f"the two systems were trained on different corpora ({sorted(corpora)}): not paired")
    column = f"{split}_micro_ap"
    if column not in a.columns or a[column].isna().all() or column not in b.columns or b[column].isna().all():
        raise BenchError(f"the runs have no {split!r} metrics; compare on a split they were evaluated on")
    same_seeds = first == second and sorted(a["seed"].tolist()) == sorted(b["seed"].tolist())
    if same_seeds:  # the same system trained twice: pair run i with run i, seed by seed
        a, b = a.sort_values("seed"), b.sort_values("seed")
    dirs_a, dirs_b = [Path(p) for p in a["run_dir"]], [Path(p) for p in b["run_dir"]]
    ids_a, ids_b = _clip_ids(dirs_a[0], split), _clip_ids(dirs_b[0], split)
    if sorted(ids_a) != sorted(ids_b):
        raise BenchError(f"{first.label} and {second.label} were scored on different {split} clips: not paired")
    rows = []
    for metric in metrics:
        ra, rb = stacked(dirs_a, metric, split=split), stacked(dirs_b, metric, split=split)
        if ra is None or rb is None:
            continue
        n = min(ra.shape[1], rb.shape[1])
        result = paired_difference(ra[:, :n], rb[:, :n], confidence=confidence, paired_runs=same_seeds)
        mean_a, mean_b = metric_mean(a, metric, split), metric_mean(b, metric, split)
        rows.append(
            {
                "metric": metric,
                "first": mean_a,
                "second": mean_b,
                "n_first": len(dirs_a),
                "n_second": len(dirs_b),
                "difference": None if mean_a is None or mean_b is None else mean_a - mean_b,
                **result,
            }
        )
    return pd.DataFrame(rows)


def compare_by_class(
    runs: pd.DataFrame,
    first: System,
    second: System,
    *,
    split: str = "val",
    second_runs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`compare_systems` of every class's AP (``ap_<label>``), with ``class``, the p-values adjusted
    by Holm over the classes (``p_holm``) and ``differs`` (adjusted p at most 0.05)."""
    from remix.labels import EVENT_LABELS

    metrics = [f"ap_{label}" for label in EVENT_LABELS]
    table = compare_systems(runs, first, second, split=split, metrics=metrics, second_runs=second_runs)
    table["class"] = table["metric"].str.removeprefix("ap_")
    table["p_holm"] = holm(table["p"].tolist())
    table["differs"] = table["p_holm"].apply(lambda p: p is not None and p <= 0.05)
    return table


def _clip_ids(run_dir: Path, split: str) -> list[str]:
    from bench.store import RunStore

    return RunStore(run_dir.parent, run_dir.name).read_predictions(split)["clip_id"].astype(str).tolist()


def metric_mean(runs: pd.DataFrame, metric: str, split: str) -> float | None:
    """Mean over ``runs`` of a metric (by its name, :mod:`bench.evaluation.catalogue`) on a split;
    None where no run has it."""
    try:
        column = f"{split}_{get_metric(metric).column}"
    except BenchError:  # a number outside the catalogue: its column is its name
        column = f"{split}_{metric}"
    if column not in runs.columns:
        return None
    values = pd.to_numeric(runs[column], errors="coerce").dropna()
    return float(values.mean()) if len(values) else None
