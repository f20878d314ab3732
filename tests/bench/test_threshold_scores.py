"""Event F1, segment F1 and segment pAUC of many resamples at once
(bench.evaluation.threshold_scores) against sed_scores_eval called on each resample."""

from __future__ import annotations

import numpy as np
import pytest

from bench.evaluation.bootstrap import clip_weights
from bench.evaluation.formats import ground_truth_events, ground_truth_table, score_tables
from bench.evaluation.metrics import frame_targets
from bench.evaluation.postprocess import frame_timestamps
from bench.evaluation.sse import COLLAR, SEGMENT_LENGTH_S, import_sed_scores_eval, segment_pauc
from bench.evaluation.statistics import owned_deltas, resampled
from bench.evaluation.threshold_scores import f1_replicates, pauc_replicates
from tests.event_helpers import random_events

HOP = 0.125
LABELS = ["alpha", "beta", "gamma", "delta"]
THRESHOLDS = {"alpha": 0.5, "beta": 0.35, "gamma": 0.6, "delta": 0.45}


@pytest.fixture(scope="module")
def split():
    """16 clips of 10 s, one to three events each (delta in few clips, so that resamples lose it),
    noisy frame scores."""
    rng = np.random.default_rng(8)
    n, t = 16, 80
    ids = [f"c{i:02d}" for i in range(n)]
    events = random_events(
        rng,
        ids,
        LABELS,
        draw=lambda i: rng.choice(4 if i % 6 == 0 else 3, size=int(rng.integers(1, 3)), replace=False),
        length_s=(0.3, 2.5),
    )
    target = frame_targets(events, ids, n_frames=t, hop_s=HOP, labels=LABELS)
    bursts = np.repeat(rng.uniform(size=(n, t // 8, 4)) < 0.15, 8, axis=1) * 0.45  # false alarms, 1 s long
    scores = np.clip(target * 0.5 + bursts + rng.uniform(0, 0.3, target.shape), 0, 1).round(3)
    times = frame_timestamps(t, hop_s=HOP, frame_start_s=0.0, duration_s=10.0)
    tables = score_tables(scores, ids, labels=LABELS, timestamps=times)
    truth = ground_truth_events(ground_truth_table(events, ids, filenames=[f"{c}.flac" for c in ids]))
    seconds = dict.fromkeys(ids, 10.0)
    weights = np.vstack([np.ones(n), clip_weights(ids, n_boot=40)])
    collar, segment = owned_deltas(
        tables, truth, seconds, statistics=[("collar", COLLAR), ("segment", {"segment_length": SEGMENT_LENGTH_S})]
    )
    return dict(ids=ids, truth=truth, seconds=seconds, weights=weights, collar=collar, segment=segment)


def _reference(split, joined, metric):
    values = resampled(joined, metric, split["ids"], split["truth"], split["seconds"], split["weights"])
    return np.array([np.nan if v is None else float(v) for v in values])


@pytest.mark.parametrize("kind", ["collar", "segment"])
def test_f1_of_every_resample_equals_sed_scores_eval_on_each(split, kind):
    sse = import_sed_scores_eval()

    def metric(d, g, t, kept):
        threshold = {c: THRESHOLDS[c] for c in kept}
        if kind == "collar":
            return sse.collar_based.fscore(None, g, threshold, deltas=d, **COLLAR)[0]["micro_average"]
        return sse.segment_based.fscore(None, g, t, threshold, deltas=d, segment_length=SEGMENT_LENGTH_S)[0][
            "micro_average"
        ]

    expected = _reference(split, split[kind], metric)
    args = (split["ids"], split["truth"], split["seconds"], split["weights"])
    fast = f1_replicates(split[kind], *args, thresholds=THRESHOLDS, kind=kind)
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-12)
    assert np.std(fast) > 0 and 0 < fast[0] < 1


@pytest.mark.parametrize("mcclish", [False, True])
def test_segment_pauc_of_every_resample_equals_sed_scores_eval_on_each(split, mcclish):
    expected = _reference(split, split["segment"], lambda d, g, t, kept: segment_pauc(d, g, t, mcclish=mcclish))
    fast = pauc_replicates(split["segment"], split["ids"], split["truth"], split["seconds"], split["weights"])
    got = fast["segment_pauc_mcclish" if mcclish else "segment_pauc"]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.std(got) > 0


def test_resamples_that_lose_a_class_score_without_it(split):
    counts = [
        sum(1 for cid, n in zip(split["ids"], row) if n for e in split["truth"][cid] if e[2] == "delta")
        for row in split["weights"]
    ]
    assert counts[0] > 0 and 0 in counts[1:]  # so the tests above cover resamples without delta
