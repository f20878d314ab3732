"""What a run's evaluation is computed from, as one object (:class:`RunOutputs`).

A trained model's outputs on each split, the corpus's manifests and the run's frame grid:
training hands it to :func:`bench.evaluation.run.evaluate_run` once predictions are made, and
:func:`stored_outputs` reads it back from a finished run's folder (``bench localise``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.corpus import read_clips, read_events
from bench.errors import BenchError

SplitOutputs = tuple[Sequence[str], np.ndarray, np.ndarray]
"""(clip ids [N], clip probabilities (N, C), frame outputs (N, T, C)) of one split."""


@dataclass(frozen=True, eq=False)
class RunOutputs:
    """A run's outputs on its splits with everything that scores them.

    Attributes
    ----------
    outputs : mapping of str to SplitOutputs
        Split (``"val"``, ``"test"``) -> (clip ids, clip probabilities (N, C), frame outputs (N, T, C)).
    clips : pd.DataFrame
        The corpus's ``clips.parquet``.
    labels : sequence of str [shape=(C,)]
    hop_s, frame_start_s : float
        The run's frame grid (:class:`bench.features.LogMelSettings`).
    events : pd.DataFrame or None
        The corpus's ``events.parquet`` (None: clip metrics only, no localisation).
    snr_db : float or None
        The SNR whose reference events count (None: every event of ``events``).
    y_true : mapping of str to np.ndarray
        Split -> weak labels (N, C), 0/1 (needed by the clip metrics, not by the localisation).
    """

    outputs: Mapping[str, SplitOutputs]
    clips: pd.DataFrame
    labels: Sequence[str]
    hop_s: float
    frame_start_s: float
    events: pd.DataFrame | None = None
    snr_db: float | None = None
    y_true: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Clip length: the longest clip of the corpus (10 s when the manifest does not say)."""
        if "duration_s" not in self.clips.columns:
            return 10.0
        return float(self.clips["duration_s"].astype(float).max())

    def reference(self) -> pd.DataFrame:
        """The reference events at this run's SNR (every event without one)."""
        if self.events is None:
            raise BenchError("these outputs carry no events; localisation needs the corpus's events.parquet")
        if self.snr_db is None:
            return self.events
        return self.events[np.isclose(self.events["snr_db"].astype(float), float(self.snr_db))]

    def split(self, name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """One split's (clip ids as str, clip probabilities, frame outputs)."""
        ids, clip_probs, frame_probs = self.outputs[name]
        return [str(c) for c in ids], clip_probs, frame_probs


def stored_outputs(run_dir: Path, *, corpus_dir: Path | None = None) -> tuple[RunOutputs, dict[str, Any]]:
    """A finished run's :class:`RunOutputs` read back from its folder, and its ``config.json``.

    Parameters
    ----------
    run_dir : Path
    corpus_dir : Path, optional
        Default: the corpus recorded in the run's ``config.json``.

    Returns
    -------
    (RunOutputs, dict)
        Every split with stored frame outputs (``frame_probs_<split>.npy`` and
        ``predictions.parquet``), the corpus's manifests, the run's frame grid and SNR; and the
        run's config.
    """
    from bench.features import LogMelSettings
    from bench.store import RunStore
    from remix.labels import EVENT_LABELS

    run_dir = Path(run_dir)
    store = RunStore(run_dir.parent, run_dir.name)
    config = store.read_config()
    corpus_dir = Path(corpus_dir or config["corpus_dir"])
    settings = LogMelSettings.from_dict(config["features"]) if "features" in config else LogMelSettings()
    manifest = corpus_dir / "manifest"
    if not (manifest / "events.parquet").is_file():
        raise BenchError(f"{manifest / 'events.parquet'} is missing; pass the run's corpus (corpus_dir=...)")
    outputs, targets = {}, {}
    for split in ("val", "test"):
        if not store.frame_probs_path(split).is_file():
            continue
        ids, y_true, clip_probs = store.prediction_arrays(split, labels=EVENT_LABELS)
        outputs[split] = (ids, clip_probs, np.asarray(store.read_frame_probs(split)))
        targets[split] = y_true
    data = RunOutputs(
        outputs=outputs,
        y_true=targets,
        events=read_events(corpus_dir),
        clips=read_clips(corpus_dir, required=("clip_id", "snr_db", "audio_path")),
        labels=EVENT_LABELS,
        hop_s=settings.hop_s,
        frame_start_s=settings.frame_start_s,
        snr_db=float(config["snr_db"]) if "snr_db" in config else None,
    )
    return data, config
