"""PSDS of many resamples at once (bench.evaluation.psdroc) against sed_scores_eval called on each
resample: PSDS1 and PSDS2 (its cross-triggers), oracle and non-oracle, and the
post-processing-independent PSDS over several median filters."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import BenchError
from bench.evaluation.bootstrap import clip_weights
from bench.evaluation.formats import ground_truth_events, ground_truth_table
from bench.evaluation.independent import filtered_variants
from bench.evaluation.metrics import frame_targets
from bench.evaluation.postprocess import PostProcessing
from bench.evaluation.psdroc import psds_replicates, resample_truth
from bench.evaluation.sse import PSDS1, PSDS2, import_sed_scores_eval
from bench.evaluation.statistics import owned_deltas, resampled
from tests.event_helpers import random_events

HOP = 0.125
LABELS = ["alpha", "beta", "gamma", "delta", "epsilon"]
POST = PostProcessing(thresholds=(0.3,) * 5, hop_s=HOP, clip_threshold=0.3, median_filter_s=0.4)


@pytest.fixture(scope="module")
def split():
    """14 clips of 10 s, one to three events each (some classes in few clips, so that resamples
    lose classes), noisy frame outputs, three median filters."""
    rng = np.random.default_rng(5)
    n, t = 14, 80
    ids = [f"c{i:02d}" for i in range(n)]
    events = random_events(
        rng,
        ids,
        LABELS,
        draw=lambda i: rng.choice(4 if i % 5 else 5, size=int(rng.integers(1, 4)), replace=False),
        length_s=(0.3, 2.5),
    )
    target = frame_targets(events, ids, n_frames=t, hop_s=HOP, labels=LABELS)
    flicker = rng.uniform(size=target.shape) < 0.04
    frame = np.clip(np.where(flicker, 1 - target, target) * 0.7 + rng.uniform(0, 0.3, target.shape), 0, 1)
    clip = np.clip(target.any(axis=1) * 0.5 + rng.uniform(0, 0.5, (n, 5)), 0, 1).astype(np.float32)
    truth = ground_truth_events(ground_truth_table(events, ids, filenames=[f"{c}.flac" for c in ids]))
    variants = filtered_variants(
        frame.astype(np.float16),
        clip,
        post=POST,
        clip_ids=ids,
        labels=LABELS,
        keep=LABELS,
        duration_s=10.0,
        grid_s=(0.0, 0.4, 1.0),
    )
    seconds = dict.fromkeys(ids, 10.0)
    weights = np.vstack([np.ones(n), clip_weights(ids, n_boot=40)])
    return dict(ids=ids, truth=truth, variants=variants, seconds=seconds, weights=weights)


def _statistics(split, scenario, variant=0):
    return owned_deltas(
        split["variants"][variant], split["truth"], split["seconds"], statistics=[("intersection", scenario)]
    )[0]


def _by_sed_scores_eval(split, joined, metric):
    values = resampled(joined, metric, split["ids"], split["truth"], split["seconds"], split["weights"], min_classes=2)
    return np.array([np.nan if v is None else float(v) for v in values])


@pytest.mark.parametrize("non_oracle", [False, True])
@pytest.mark.parametrize("scenario", [PSDS1, PSDS2], ids=["psds1", "psds2"])
def test_psds_of_every_resample_equals_sed_scores_eval_on_each(split, scenario, non_oracle):
    sse = import_sed_scores_eval()
    joined = _statistics(split, scenario)
    expected = _by_sed_scores_eval(
        split,
        joined,
        lambda d, g, t, kept: sse.intersection_based.psds(None, g, t, deltas=d, non_oracle=non_oracle, **scenario)[0],
    )
    args = (split["ids"], split["truth"], split["seconds"], split["weights"])
    fast = psds_replicates([joined], *args, scenario=scenario, non_oracle=non_oracle)
    assert np.isnan(expected).sum() < len(expected) // 2  # most resamples hold two classes
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(expected))
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-12, equal_nan=True)
    assert np.nanstd(fast) > 0  # the resamples differ: the test compares something


def test_some_resamples_lose_a_class_and_are_scored_without_it(split):
    counts, _, totals = resample_truth(split["ids"], split["truth"], split["seconds"], split["weights"])
    assert len(counts[0]) == len(LABELS) and any(len(c) < len(LABELS) for c in counts[1:])
    assert totals[0] == pytest.approx(10.0 * len(split["ids"]))


def test_postprocessing_independent_psds_of_every_resample_equals_sed_scores_eval(split):
    sse = import_sed_scores_eval()
    joined = [_statistics(split, PSDS1, variant=m) for m in range(len(split["variants"]))]
    expected = _by_sed_scores_eval(
        split,
        joined,
        lambda d, g, t, kept: sse.intersection_based.postprocessing_independent_psds_from_postprocessed_scores(
            None, g, t, deltas=d, **PSDS1
        )[0],
    )
    args = (split["ids"], split["truth"], split["seconds"], split["weights"])
    fast = psds_replicates(joined, *args, scenario=PSDS1)
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-12, equal_nan=True)
    single = psds_replicates(joined[:1], *args, scenario=PSDS1)
    assert not np.allclose(fast, single, equal_nan=True)  # the family is not its first member


def test_a_family_has_no_non_oracle_psds_and_weights_must_fit(split):
    joined = [_statistics(split, PSDS1, variant=m) for m in range(2)]
    with pytest.raises(BenchError, match="non-oracle"):
        psds_replicates(
            joined, split["ids"], split["truth"], split["seconds"], split["weights"], scenario=PSDS1, non_oracle=True
        )
    with pytest.raises(BenchError, match="weights for 3 clips"):
        psds_replicates(joined[:1], split["ids"], split["truth"], split["seconds"], np.ones((2, 3)), scenario=PSDS1)


def test_sparse_tables_and_resamples_in_groups_give_the_same_numbers(split, monkeypatch):
    """Large splits hold each class's per-clip table sparse and take the resamples' curves in
    groups; every number is the one the dense tables give, all resamples at once, bitwise."""
    from bench.evaluation import psdroc
    from bench.evaluation.threshold_scores import f1_replicates, pauc_replicates

    args = (split["ids"], split["truth"], split["seconds"], split["weights"])
    collar, segment = owned_deltas(
        split["variants"][0],
        split["truth"],
        split["seconds"],
        statistics=[
            ("collar", {"onset_collar": 0.2, "offset_collar": 0.2, "offset_collar_rate": 0.2}),
            ("segment", {"segment_length": 1.0}),
        ],
    )
    thresholds = dict.fromkeys(LABELS, 0.3)

    def everything():
        return [
            psds_replicates([_statistics(split, PSDS1)], *args, scenario=PSDS1),
            psds_replicates([_statistics(split, PSDS2)], *args, scenario=PSDS2),
            psds_replicates([_statistics(split, PSDS1, m) for m in range(3)], *args, scenario=PSDS1),
            f1_replicates(collar, *args, thresholds=thresholds, kind="collar"),
            f1_replicates(segment, *args, thresholds=thresholds, kind="segment"),
            *pauc_replicates(segment, *args).values(),
        ]

    dense = everything()
    monkeypatch.setattr(psdroc, "_DENSE_CELLS", 0)
    monkeypatch.setattr(psdroc, "_CURVE_VALUES", 1)  # one resample at a time
    for fast, slow in zip(everything(), dense, strict=True):
        np.testing.assert_array_equal(fast, slow)
        assert np.isfinite(slow).any()
