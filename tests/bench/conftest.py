"""Shared fixtures of the benchmark tests.

``tiny_corpus`` is a built corpus in the real on-disk layout (manifests, FLAC audio
at SNRs 0 and 20 dB, 6 clips per dev fold and 4 test clips), made once per test
session by ``remix.build.build_corpus`` over tiny synthetic sources (about 12 s on
two shared cores). Only when that builder cannot be imported is it fabricated
directly in the same layout by :func:`fabricate_corpus`; a builder that fails makes
the tests fail. ``fabricated_corpus`` is always the fabricated one (fast, fixed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from remix.labels import CITIES, EVENT_LABELS

SNRS = (0, 20)
SAMPLE_RATE = 32000
DURATION_S = 10.0
ONSETS_S = (0.5, 3.0, 5.5)


def fabricate_corpus(
    out_dir: Path,
    *,
    snrs=SNRS,
    clips_per_fold: int = 3,
    test_clips: int = 2,
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
) -> Path:
    """Write a tiny corpus in the contract layout without the corpus builder.

    Each clip holds three distinct labels placed at 0.5, 3.0 and 5.5 s (1 to 2 s
    long) as tones over white noise; the same events at every SNR, only gains differ.
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    plans = []
    n_clips = 4 * clips_per_fold + test_clips
    for i in range(n_clips):
        fold = i // clips_per_fold + 1 if i < 4 * clips_per_fold else 0
        labels = list(rng.choice(len(EVENT_LABELS), size=3, replace=False))
        lengths = rng.uniform(1.0, 2.0, size=3)
        plans.append((f"clip{i:04d}", fold, [EVENT_LABELS[j] for j in labels], lengths))
    n = int(DURATION_S * sample_rate)
    t = np.arange(n) / sample_rate
    clip_rows, event_rows = [], []
    for snr in snrs:
        for cid, fold, labels, lengths in plans:
            noise = np.random.default_rng([seed, int(cid[4:])]).standard_normal(n) * 0.05
            wave = noise.copy()
            for k, (label, onset, length) in enumerate(zip(labels, ONSETS_S, lengths)):
                freq = 200.0 + 90.0 * EVENT_LABELS.index(label)
                mask = (t >= onset) & (t < onset + length)
                gain = 0.05 * 10 ** (snr / 20)
                wave[mask] += gain * np.sin(2 * np.pi * freq * t[mask])
                event_rows.append(
                    dict(
                        clip_id=cid,
                        snr_db=float(snr),
                        event_label=label,
                        onset_s=float(onset),
                        offset_s=float(onset + length),
                        source_file=f"src/{label}_{k}.wav",
                        source_start_s=0.0,
                        gain_db=float(20 * np.log10(gain)),
                        stem_path=None,
                    )
                )
            peak = max(1.0, np.abs(wave).max() / 0.99)
            rel = f"audio/snr{snr:g}/{cid}.flac"
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(out_dir / rel, (wave / peak).astype(np.float32), sample_rate, format="FLAC")
            clip_rows.append(
                dict(
                    clip_id=cid,
                    snr_db=float(snr),
                    split="dev" if fold else "test",
                    fold=fold,
                    audio_path=rel,
                    sample_rate=sample_rate,
                    duration_s=DURATION_S,
                    scene_file=f"audio/scene-{cid}.wav",
                    scene_label="park",
                    city=CITIES[1],
                    labels=sorted(labels),
                    peak_scale=float(1 / peak),
                    scene_stem_path=None,
                )
            )
    (out_dir / "manifest").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(clip_rows).to_parquet(out_dir / "manifest" / "clips.parquet", index=False)
    pd.DataFrame(event_rows).to_parquet(out_dir / "manifest" / "events.parquet", index=False)
    pd.DataFrame({"path": pd.Series(dtype=str), "reason": pd.Series(dtype=str)}).to_parquet(
        out_dir / "manifest" / "skipped.parquet", index=False
    )
    (out_dir / "manifest" / "corpus.json").write_text(
        json.dumps({"recipe": "paper", "seed": seed, "snrs": list(snrs), "synthetic": True, "version": "fabricated"})
    )
    return out_dir


def _build_with_remix(out_dir: Path, sources_root: Path) -> Path | None:
    """The real builder over tiny synthetic sources, or None when not available yet."""
    try:
        from remix.build import RunOptions, SourceFolders, build_corpus
        from remix.recipe import RecipeOptions
        from remix.render import RenderSettings
        from remix.standin import ensure_sources
    except ImportError:
        return None
    sources = ensure_sources(
        sources_root,
        seed=0,
        scenes_per_pair=1,
        cities=CITIES[1:3],
        train_per_label=2,
        verified_per_label=2,
        test_per_label=1,
    )
    build_corpus(
        out_dir,
        recipe=RecipeOptions(clips_per_fold=6, test_clips=4),
        render=RenderSettings(snrs=SNRS),
        seed=0,
        sources=SourceFolders(sources.scenes_dir, sources.events_dir),
        run=RunOptions(workers=1, progress=False),
    )
    return out_dir


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A tiny built corpus at SNRs 0 and 20 dB (contract B layout)."""
    root = tmp_path_factory.mktemp("tiny")
    built = _build_with_remix(root / "corpus", root / "sources")
    return built if built is not None else fabricate_corpus(root / "corpus")


@pytest.fixture(scope="session")
def fabricated_corpus(tmp_path_factory) -> Path:
    """The builder-independent fabricated corpus (small, deterministic)."""
    return fabricate_corpus(tmp_path_factory.mktemp("fab") / "corpus", clips_per_fold=2, test_clips=1)


@pytest.fixture(scope="session")
def trained_2ap(tiny_corpus, tmp_path_factory):
    """A `smoke`-preset 2AP+aux run (dense time layer) on the tiny corpus at 0 dB: (results dir, run id)."""
    from bench.config import RunConfig
    from bench.corpus import corpus_fingerprint
    from bench.data import read_clips
    from bench.training.loop import train_run

    results = tmp_path_factory.mktemp("trained") / "results"
    config = RunConfig(
        model="2ap_aux",
        alpha=0.001,
        snr_db=0.0,
        seed=0,
        preset="smoke",
        corpus=corpus_fingerprint(read_clips(tiny_corpus)),
    )
    train_run(config, corpus_dir=tiny_corpus, results_dir=results, device="cpu")
    return results, config.run_id
