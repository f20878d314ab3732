"""Median-filter-independent PSDS1: agreement with sed_scores_eval called directly, the envelope
property, and adding it to a localised run without redoing the rest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bench.errors import BenchError
from bench.evaluation.bootstrap import clip_weights
from bench.evaluation.catalogue import get_metric
from bench.evaluation.formats import ground_truth_events, ground_truth_table
from bench.evaluation.independent import filter_lengths_s, filtered_variants, mfi_psds1
from bench.evaluation.metrics import frame_targets
from bench.evaluation.postprocess import MEDIAN_GRID_S, PostProcessing, median_frames
from bench.evaluation.run import add_metric, evaluate_split, relocalise_run
from bench.evaluation.sse import PSDS1, import_sed_scores_eval
from bench.store import RunStore
from remix.labels import EVENT_LABELS

HOP = 0.125
LABELS = ["alpha", "beta", "gamma", "delta"]
POST = PostProcessing(thresholds=(0.3,) * 4, hop_s=HOP, clip_threshold=0.4, median_filter_s=0.6)


@pytest.fixture(scope="module")
def split():
    """10 clips of 10 s (80 frames of 0.125 s), two events each; frame outputs = targets with
    flickering noise, so that the median filter length matters."""
    rng = np.random.default_rng(11)
    n, t = 10, 80
    ids = [f"c{i:02d}" for i in range(n)]
    rows = []
    for cid in ids:
        for j in rng.choice(4, size=2, replace=False):
            onset = round(float(rng.uniform(0.0, 7.0)), 3)
            offset = round(onset + float(rng.uniform(0.5, 2.5)), 3)
            rows.append(dict(clip_id=cid, snr_db=20.0, event_label=LABELS[j], onset_s=onset, offset_s=offset))
    events = pd.DataFrame(rows)
    truth = frame_targets(events, ids, n_frames=t, hop_s=HOP, labels=LABELS)
    flicker = rng.uniform(size=truth.shape) < 0.25
    frame = np.clip(np.where(flicker, 1 - truth, truth) * 0.8 + rng.uniform(0, 0.2, truth.shape), 0, 1)
    clip = np.clip(truth.any(axis=1) * 0.6 + rng.uniform(0, 0.4, (n, 4)), 0, 1).astype(np.float32)
    filenames = [f"{c}.flac" for c in ids]
    gt = ground_truth_events(ground_truth_table(events, ids, filenames=filenames))
    return dict(ids=ids, events=events, frame=frame.astype(np.float16), clip=clip, filenames=filenames, truth=gt)


def test_filter_lengths_keep_one_length_per_frame_count():
    at_128 = filter_lengths_s(0.128)
    frames = median_frames(np.asarray(at_128), hop_s=0.128)
    assert len(set(frames.tolist())) == len(at_128) < len(MEDIAN_GRID_S)  # 0 and 0.15 s are both 1 frame
    assert at_128[0] == 0.0 and at_128[-1] == 2.0
    assert filter_lengths_s(0.01) == list(MEDIAN_GRID_S)  # at a fine hop every length is its own filter


def test_mfi_psds1_equals_sed_scores_eval_called_directly(split):
    variants = filtered_variants(
        split["frame"], split["clip"], post=POST, clip_ids=split["ids"], labels=LABELS, keep=LABELS, duration_s=10.0
    )
    durations = dict.fromkeys(split["ids"], 10.0)
    value, replicates = mfi_psds1(variants, split["truth"], durations)
    sse = import_sed_scores_eval()
    direct, *_ = sse.intersection_based.postprocessing_independent_psds_from_postprocessed_scores(
        variants, split["truth"], durations, **PSDS1
    )
    assert replicates is None
    assert value == pytest.approx(direct, abs=1e-6)
    # each class's PSD-ROC is the envelope of its variants' ROCs: without the penalty on the
    # classes' spread (alpha_st), the area is at least each variant's; with it, it need not be
    plain = dict(PSDS1, alpha_st=0.0)
    singles = [sse.intersection_based.psds(v, split["truth"], durations, **plain)[0] for v in variants]
    envelope, *_ = sse.intersection_based.postprocessing_independent_psds_from_postprocessed_scores(
        variants, split["truth"], durations, **plain
    )
    assert envelope >= max(singles) - 1e-9 and max(singles) > min(singles)


def test_evaluate_split_reports_mfi_with_an_interval_and_replicates(split, tmp_path):
    out = evaluate_split(
        split["frame"],
        split["clip"],
        post=POST,
        clip_ids=split["ids"],
        filenames=split["filenames"],
        events=split["events"],
        labels=LABELS,
        duration_s=10.0,
        folder=tmp_path,
        n_boot=20,
    )
    assert out["psds1_mfi"] >= out["psds1"] - 1e-9 and 0 < out["psds1_mfi"] <= 1
    low, high = out["intervals"]["psds1_mfi"]
    assert low <= high
    stored = pd.read_parquet(tmp_path / "bootstrap.parquet")["psds1_mfi"].to_numpy()
    variants = filtered_variants(
        split["frame"], split["clip"], post=POST, clip_ids=split["ids"], labels=LABELS, keep=LABELS, duration_s=10.0
    )
    _, again = mfi_psds1(
        variants, split["truth"], dict.fromkeys(split["ids"], 10.0), weights=clip_weights(split["ids"], n_boot=20)
    )
    np.testing.assert_allclose(stored, again)  # the canonical resamples, as every other DCASE metric
    # evaluate_split took the statistics of the run's own filter from its PSDS1 instead of computing
    # them again: that variant is in the family, so the comparison above covers the shared path
    own = [n for n in filter_lengths_s(HOP) if median_frames(np.asarray([n]), hop_s=HOP)[0] == POST.median_frames()[0]]
    assert len(own) == 1
    assert get_metric("psds1_mfi").column == "localisation_psds1_mfi"


def _stored_run(corpus, tmp_path) -> RunStore:
    clips = pd.read_parquet(corpus / "manifest" / "clips.parquet")
    events = pd.read_parquet(corpus / "manifest" / "events.parquet")
    store = RunStore(tmp_path / "runs", "r1")
    features = dict(sample_rate=32000, n_fft=2048, hop_length=4096, n_mels=16, fmin=50.0, fmax=None)
    store.write_config(
        dict(
            model="gap",
            alpha=0.0,
            snr_db=20.0,
            seed=0,
            preset="cpu",
            corpus_dir=str(corpus),
            features=dict(features, log_offset=1e-8, center=False),
        )
    )
    store.write_status("done")
    rng = np.random.default_rng(5)
    at20 = clips[clips["snr_db"] == 20.0]
    for name, rows in (("val", at20[at20["fold"] == 4]), ("test", at20[at20["split"] == "test"])):
        ids = rows["clip_id"].tolist()
        truth = frame_targets(events, ids, n_frames=78, hop_s=0.128, labels=EVENT_LABELS, snr_db=20.0, start_s=-0.032)
        y = truth.any(axis=1).astype(int)
        store.write_predictions(
            ids,
            split=name,
            y_true=y,
            y_score=np.clip(y * 0.8 + rng.uniform(0, 0.2, y.shape), 0, 1),
            labels=EVENT_LABELS,
        )
        noisy = np.where(rng.uniform(size=truth.shape) < 0.2, 1 - truth, truth)
        store.write_frame_probs(name, np.clip(noisy * 0.9 + rng.uniform(0, 0.1, truth.shape), 0, 1))
    store.write_metrics({"best_epoch": 1})
    return store


def test_add_metric_writes_what_relocalisation_writes_and_keeps_the_rest(fabricated_corpus, tmp_path):
    store = _stored_run(fabricated_corpus, tmp_path)
    full = relocalise_run(store.path)
    bootstrap = store.path / "dcase" / "val" / "bootstrap.parquet"
    expected = pd.read_parquet(bootstrap)["psds1_mfi"].to_numpy()
    # a run localised before the metric existed: no value, no replicates
    old = json.loads((store.path / "metrics.json").read_text())
    for split in ("val", "test"):
        del old[split]["localisation"]["psds1_mfi"]
        del old[split]["localisation"]["intervals"]["psds1_mfi"]
    store.write_metrics(old)
    pd.read_parquet(bootstrap).drop(columns=["psds1_mfi"]).to_parquet(bootstrap)
    added = add_metric(store.path, "psds1_mfi")
    for split in ("val", "test"):
        assert added[split]["localisation"]["psds1_mfi"] == pytest.approx(full[split]["localisation"]["psds1_mfi"])
        assert added[split]["localisation"]["intervals"]["psds1_mfi"] == pytest.approx(
            full[split]["localisation"]["intervals"]["psds1_mfi"]
        )
        assert added[split]["localisation"]["psds1"] == full[split]["localisation"]["psds1"]  # the rest untouched
    np.testing.assert_allclose(pd.read_parquet(bootstrap)["psds1_mfi"].to_numpy(), expected)
    with pytest.raises(BenchError, match="cannot be added"):
        add_metric(store.path, "psds2")
