"""Does a model learn sounds or positions? Trained checkpoints scored on moved events.

The paper recipe places every event at 0.5, 3.0 or 5.5 s, and the 2AP time step is a
dense layer with a weight per frame, so a model could learn where events sit rather
than what they sound like. This probe needs no training: it scores a run's best
checkpoint on

- its own validation clips shifted in time by whole frames (a circular shift of the
  standardised log-mel; in the paper recipe every event ends by 7.5 s, so shifts up to
  2.5 s keep every event inside the clip, and what wraps round to the start is scene);
- optionally the validation fold of a second corpus built with the random recipe from
  the same sources (events anywhere, other durations; harder for every model, so compare
  a model's drop with the drops of models without position-specific weights);
- optionally the validation folds of any other corpora of the same clip layout (``--on
  NAME=DIR``), e.g. a reverberant build of the same clips (``remix build --reverb``):
  what a model trained on one corpus keeps on another.

A model that learned sounds keeps its micro-AP under a shift; one that learned the
onset grid loses it. Results are one row per (run, probe); :func:`summarise` gives
mean and std over seeds per model, variant, SNR and probe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from bench.corpus import check_same_corpus, one_corpus
from bench.data import make_split, read_clips, weak_labels
from bench.errors import BenchError
from bench.feature_cache import compute_features
from bench.features import LogMelSettings, Standardizer

DEFAULT_SHIFTS_S = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
"""Time shifts of the probe, in seconds (up to one onset step of the paper recipe)."""


def shift_frames(x: np.ndarray, frames: int) -> np.ndarray:
    """Circular shift of features along time.

    Parameters
    ----------
    x : np.ndarray [shape=(N, T, F)]
    frames : int
        Positive: content moves later in the clip.

    Returns
    -------
    np.ndarray [shape=(N, T, F)]
    """
    return np.roll(x, frames, axis=1)


def _clip_scores(net: torch.nn.Module, x: np.ndarray, *, batch_size: int = 100) -> np.ndarray:
    """Clip probabilities (N, C) of standardised features (N, T, F)."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size], dtype=np.float32))
            out.append(net(xb)["clip_probs"].float().numpy())
    return np.concatenate(out)


def _micro_ap(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, p, average="micro"))


def val_features(
    corpus_dir: Path, *, snr_db: float, val_fold: int, settings: LogMelSettings, standardizer: Standardizer
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Standardised features (N, T, F), weak labels (N, C) and clip ids of a corpus's validation fold."""
    clips = read_clips(corpus_dir)
    ids = make_split(clips, snr_db=snr_db, val_fold=val_fold).val
    fs = compute_features(Path(corpus_dir), snr_db=snr_db, settings=settings, progress=False)
    rows = fs.rows(ids)
    x = standardizer(np.asarray(fs.features[np.sort(rows)]))[np.argsort(np.argsort(rows))]
    return x, weak_labels(clips, ids, snr_db=snr_db), [str(c) for c in ids]


RANDOM_RECIPE = "random recipe"
"""Probe name of the random-recipe corpus (``--random-corpus``)."""


def probe_run(
    run_dir: Path,
    *,
    shifts_s: Sequence[float] = DEFAULT_SHIFTS_S,
    random_corpus: Path | None = None,
    others: Mapping[str, Path] | None = None,
) -> list[dict[str, Any]]:
    """Score one finished run's best checkpoint on shifted validation clips and on other corpora's.

    Parameters
    ----------
    run_dir : Path
        A run folder with ``config.json`` and ``checkpoint.pt``.
    shifts_s : sequence of float
        Time shifts in seconds (rounded to whole frames).
    random_corpus : Path, optional
        A corpus built with ``--recipe random`` at the run's SNR (probe ``"random recipe"``).
    others : mapping of str to Path, optional
        More corpora by probe name, each scored on its validation fold at the run's SNR,
        with the run's own features and standardisation.

    Returns
    -------
    list of dict
        One row per probe: ``probe`` ("shift", "random recipe" or a name of ``others``),
        ``shift_s``, ``frames``, ``micro_ap``.
    """
    from bench.inference.checkpoint import load_best

    run_dir = Path(run_dir)
    _, record, net, settings, standardizer = load_best(run_dir)
    snr, fold = float(record["snr_db"]), int(record.get("val_fold", 4))
    corpus_dir = Path(record["corpus_dir"])
    check_same_corpus(record, corpus_dir, doing=f"probe run {run_dir.name}")
    x, y, ids = val_features(corpus_dir, snr_db=snr, val_fold=fold, settings=settings, standardizer=standardizer)
    rows = []
    for shift in shifts_s:
        frames = int(round(float(shift) / settings.hop_s))
        rows.append(
            {
                "probe": "shift",
                "shift_s": frames * settings.hop_s,
                "frames": frames,
                "micro_ap": _micro_ap(y, _clip_scores(net, shift_frames(x, frames))),
            }
        )
    corpora = dict(others or {})
    if random_corpus is not None:
        corpora = {RANDOM_RECIPE: Path(random_corpus), **corpora}
    for name, corpus in corpora.items():
        xr, yr, ids_r = val_features(
            Path(corpus), snr_db=snr, val_fold=fold, settings=settings, standardizer=standardizer
        )
        if name != RANDOM_RECIPE and (ids_r != ids or not np.array_equal(yr, y)):
            raise BenchError(
                f"the corpus {corpus} ({name}) does not hold the run's validation clips with their labels "
                f"({len(ids_r)} clips against the run's {len(ids)}); --on compares the same clips rendered "
                "another way (e.g. built with --reverb from the same options and seed), so it must be paired"
            )
        if xr.shape[1:] != x.shape[1:]:
            raise BenchError(
                f"the corpus {corpus} ({name}) gives features of shape {xr.shape[1:]}, the run's are "
                f"{x.shape[1:]}; build it with the same clip length and sample rate"
            )
        rows.append({"probe": name, "shift_s": np.nan, "frames": 0, "micro_ap": _micro_ap(yr, _clip_scores(net, xr))})
    return rows


KEPT_SHIFT_S = 1.5
"""The shift of the pooling table's position column (half the paper recipe's onset step)."""


@lru_cache(maxsize=256)
def _kept(run_dir: str, shift_s: float, mtime: float, n_boot: int) -> tuple[float, np.ndarray]:
    from bench.evaluation.bootstrap import clip_weights, weighted_average_precision
    from bench.inference.checkpoint import load_checkpoint
    from bench.store import RunStore

    path = Path(run_dir)
    store = RunStore(path.parent, path.name)
    record = store.read_config()
    settings = LogMelSettings.from_dict(record["features"]) if "features" in record else LogMelSettings()
    net, state = load_checkpoint(store.checkpoint_path)
    snr, fold = float(record["snr_db"]), int(record.get("val_fold", 4))
    corpus = Path(record["corpus_dir"])
    clips = read_clips(corpus)
    ids = make_split(clips, snr_db=snr, val_fold=fold).val
    x, y, _ = val_features(
        corpus, snr_db=snr, val_fold=fold, settings=settings, standardizer=Standardizer.from_dict(state["standardizer"])
    )
    frames = int(round(float(shift_s) / settings.hop_s))
    weights = np.repeat(clip_weights(ids, n_boot=n_boot), y.shape[1], axis=1)  # (B, N * C), clip-major
    truth = y.reshape(-1) > 0.5
    scores = [_clip_scores(net, shift_frames(x, f)).astype(np.float64).reshape(-1) for f in (0, frames)]
    full = [_micro_ap(y, s.reshape(y.shape)) for s in scores]
    reps = [weighted_average_precision(truth, s, weights) for s in scores]
    with np.errstate(invalid="ignore", divide="ignore"):
        return full[1] / full[0], reps[1] / reps[0]


def kept_replicates(
    run_dir: Path, *, shift_s: float = KEPT_SHIFT_S, n_boot: int | None = None
) -> tuple[float, np.ndarray]:
    """The share of its validation micro-AP a run's best checkpoint keeps when the validation
    clips are shifted by ``shift_s`` (whole frames, circular), on the full fold and on each
    canonical resample of its clips (:func:`bench.evaluation.bootstrap.clip_weights`: the
    same resamples as every other metric, so a cell's interval and paired tests follow).

    Returns
    -------
    kept : float
        Shifted over unshifted micro-AP on the whole fold.
    replicates : np.ndarray [shape=(B,)]
        The same ratio on each resample.
    """
    from bench.evaluation.bootstrap import N_BOOT
    from bench.store import RunStore

    run_dir = Path(run_dir)
    store = RunStore(run_dir.parent, run_dir.name)
    if not store.checkpoint_path.is_file():
        raise BenchError(f"run {run_dir.name} has no checkpoint.pt; train it first (bench run ...)")
    mtime = store.checkpoint_path.stat().st_mtime
    return _kept(str(run_dir), float(shift_s), mtime, N_BOOT if n_boot is None else int(n_boot))


def probe_runs(
    runs: pd.DataFrame,
    *,
    shifts_s: Sequence[float] = DEFAULT_SHIFTS_S,
    random_corpus: Path | None = None,
    others: Mapping[str, Path] | None = None,
) -> pd.DataFrame:
    """:func:`probe_run` over finished runs (rows of :func:`bench.store.load_runs`).

    Returns
    -------
    pd.DataFrame
        run_id, model, variant, alpha, snr_db, seed, probe, shift_s, frames, micro_ap.
    """
    import math

    from remix.clitools import warn

    bad = [s for s in shifts_s if not isinstance(s, (int, float)) or not math.isfinite(s)]
    if bad:
        raise BenchError(f"--shift takes finite numbers of seconds (e.g. 0.5); found {bad[0]!r}")
    done = runs[runs["status"] == "done"]
    if done.empty:
        raise BenchError("no finished run to probe; train some first (bench run ...)")
    done = one_corpus(
        done, what="the runs to probe", hint="probe each corpus's runs on their own (--results, --model, --snr)"
    )
    records = []
    failed = []
    for _, run in done.iterrows():
        words = [
            f"{c.split('.', 1)[1]}={run[c]}" for c in sorted(run.index) if c.startswith("options.") and pd.notna(run[c])
        ]
        for key, default in (("mixing", "fixed"), ("augment", "none")):
            value = run.get(key)
            if isinstance(value, str) and value != default:
                words.append(f"{key}={value}")
        variant = " ".join(words)
        try:
            rows = probe_run(Path(run["run_dir"]), shifts_s=shifts_s, random_corpus=random_corpus, others=others)
        except BenchError as exc:  # a damaged checkpoint, a missing corpus: that run only
            warn(f"run {run['run_id']} skipped: {exc}")
            failed.append(run["run_id"])
            continue
        for row in rows:
            records.append(
                {
                    "run_id": run["run_id"],
                    "model": run["model"],
                    "variant": variant,
                    "alpha": float(run["alpha"]),
                    "snr_db": float(run["snr_db"]),
                    "seed": int(run["seed"]),
                    **row,
                }
            )
    if not records:
        raise BenchError(f"none of the {len(failed)} finished run(s) could be probed (each is named above)")
    return pd.DataFrame(records)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count over seeds per (model, variant, alpha, SNR, probe, shift), with the
    mean ratio to the unshifted score of the same run (``retained``)."""
    base = results[(results["probe"] == "shift") & (results["frames"] == 0)].set_index("run_id")["micro_ap"]
    results = results.assign(retained=results["micro_ap"] / results["run_id"].map(base))
    keys = ["model", "variant", "alpha", "snr_db", "probe", "shift_s"]
    grouped = results.groupby(keys, dropna=False, sort=False)
    out = grouped.agg(
        mean=("micro_ap", "mean"), std=("micro_ap", "std"), n=("micro_ap", "size"), retained=("retained", "mean")
    ).reset_index()
    return out


def to_markdown(summary: pd.DataFrame, *, synthetic: bool) -> str:
    """The probe as one Markdown table: a row per system, a column per probe."""
    from bench.reporting.table import SYNTHETIC_WARNING

    columns = []
    for (probe, shift), _ in summary.groupby(["probe", "shift_s"], dropna=False, sort=False):
        columns.append((probe, shift))
    header = ["System", "SNR"] + [f"shift {s:.2f} s" if p == "shift" else p for p, s in columns]
    lines = ["**Position probe: validation micro-AP of the best checkpoints on moved events**", ""]
    if synthetic:
        lines += [f"> **{SYNTHETIC_WARNING}**", ""]
    lines += [
        "Each cell: mean ± std over seeds (n), and in brackets the share of the unshifted score kept. "
        "Shifts are circular shifts of the validation clips' log-mel by whole frames; 'random recipe' "
        "scores a validation fold built with random onsets and durations from the same sources; any "
        "other column scores the validation fold of the corpus of that name (given with --on).",
        "",
    ]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| --- | ---: |" + " ---: |" * len(columns))
    systems = summary.groupby(["model", "variant", "alpha", "snr_db"], dropna=False, sort=False)
    for (model, variant, alpha, snr), group in systems:
        name = " ".join(w for w in (model, variant, f"α={alpha:g}" if alpha else "") if w)
        cells = [name, f"{snr:g} dB"]
        for probe, shift in columns:
            hit = group[
                (group["probe"] == probe) & ((group["shift_s"] == shift) | (pd.isna(shift) & group["shift_s"].isna()))
            ]
            if hit.empty:
                cells.append("—")
                continue
            r = hit.iloc[0]
            std = "" if pd.isna(r["std"]) else f" ± {r['std']:.3f}"
            cells.append(f"{r['mean']:.3f}{std} ({int(r['n'])}) [{r['retained']:.0%}]")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
