"""The bootstrap: weighted metrics equal scikit-learn's, resamples are canonical, intervals
and paired tests behave as the theory says on cases with a known answer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from bench.errors import BenchError
from bench.evaluation.bootstrap import (
    cell_replicates,
    clip_metric_replicates,
    clip_weights,
    frame_f1_replicates,
    interval,
    paired_difference,
    weighted_average_precision,
    weighted_roc_auc,
)
from bench.evaluation.metrics import clip_metrics


@pytest.fixture
def scored():
    rng = np.random.default_rng(0)
    y = rng.random((60, 5)) < 0.3
    s = np.round(np.clip(y * 0.3 + rng.random((60, 5)) * 0.7, 0, 1), 2)  # rounded: many ties
    return y.astype(int), s


def test_weighted_ap_and_auc_equal_sklearn_with_sample_weight(scored):
    y, s = scored
    w = clip_weights([f"c{i}" for i in range(len(y))], n_boot=20)
    for c in range(y.shape[1]):
        ap = weighted_average_precision(y[:, c], s[:, c], w)
        auc = weighted_roc_auc(y[:, c], s[:, c], w)
        for b in range(len(w)):
            if w[b] @ y[:, c] == 0:
                assert np.isnan(ap[b])
                continue
            assert ap[b] == pytest.approx(average_precision_score(y[:, c], s[:, c], sample_weight=w[b]), abs=1e-12)
            assert auc[b] == pytest.approx(roc_auc_score(y[:, c], s[:, c], sample_weight=w[b]), abs=1e-12)


def test_clip_metrics_under_weights_of_ones_are_the_splits_own(scored):
    y, s = scored
    reps = clip_metric_replicates(y, s, np.ones((1, len(y))))
    plain = clip_metrics(y, s, labels=[f"l{c}" for c in range(y.shape[1])])
    assert reps["micro_ap"][0] == pytest.approx(plain["micro_ap"], abs=1e-12)
    assert reps["macro_ap"][0] == pytest.approx(plain["macro_ap"], abs=1e-12)
    assert reps["auc"][0] == pytest.approx(plain["auc"], abs=1e-12)


def test_resamples_are_canonical_for_a_set_of_clips():
    ids = [f"clip{i:03d}" for i in range(50)]
    w = clip_weights(ids, n_boot=30)
    assert w.shape == (30, 50) and (w.sum(axis=1) == 50).all()
    # another order of the same clips: each clip keeps its counts
    shuffled = list(reversed(ids))
    np.testing.assert_array_equal(clip_weights(shuffled, n_boot=30), w[:, ::-1])
    # the first resamples do not depend on how many are drawn
    np.testing.assert_array_equal(clip_weights(ids, n_boot=10), w[:10])
    # other clips, other resamples
    assert not np.array_equal(clip_weights([f"x{i}" for i in range(50)], n_boot=30), w)
    with pytest.raises(BenchError, match="unique"):
        clip_weights(["a", "a"])


def test_bootstrap_of_a_proportion_matches_its_binomial_standard_error():
    # known answer: the bootstrap distribution of a mean of n 0/1 values has standard
    # deviation sqrt(p (1 - p) / n), and its 95 % interval is about p +- 1.96 of that
    n = 400
    x = (np.arange(n) % 10 < 3).astype(float)  # p = 0.3 exactly
    w = clip_weights([f"c{i}" for i in range(n)], n_boot=4000)
    means = w @ x / n
    se = np.sqrt(0.3 * 0.7 / n)
    assert means.mean() == pytest.approx(0.3, abs=0.002)
    assert means.std() == pytest.approx(se, rel=0.05)
    low, high = interval(means)
    assert low == pytest.approx(0.3 - 1.96 * se, abs=0.004)
    assert high == pytest.approx(0.3 + 1.96 * se, abs=0.004)


def test_intervals_cover_the_true_value_about_95_percent_of_the_time():
    # frame F1 of clips with known per-clip counts: F1 = 2 TP / (pred + true); simulate
    # 200 splits from one population and count how often the interval holds its F1
    rng = np.random.default_rng(1)
    truth_f1 = 2 * 0.4 / (0.5 + 0.7)  # expected tp 0.4, pred 0.5, true 0.7 per frame
    hits = 0
    for k in range(200):
        n = 150
        tp = rng.binomial(20, 0.4, n)
        pred = tp + rng.binomial(20, 0.1, n)
        true = tp + rng.binomial(20, 0.3, n)
        w = clip_weights([f"s{k}c{i}" for i in range(n)], n_boot=400)
        low, high = interval(frame_f1_replicates(tp, pred, true, w))
        hits += low <= truth_f1 <= high
    assert 0.88 <= hits / 200 <= 0.99


def test_cell_replicates_resample_the_seeds():
    runs = np.array([[0.0] * 4000, [1.0] * 4000])  # two seeds, no clip noise
    cell = cell_replicates(runs)
    # the mean of two draws from {0, 1}: 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4
    values, counts = np.unique(cell, return_counts=True)
    np.testing.assert_array_equal(values, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(counts / 4000, [0.25, 0.5, 0.25], atol=0.03)
    single = np.arange(5.0)[None]
    np.testing.assert_array_equal(cell_replicates(single), single[0])


def test_cell_replicates_leave_nan_runs_out_quietly():
    runs = np.array([[np.nan] * 3000, [1.0] * 3000])  # one seed without a value on any resample
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cell = cell_replicates(runs)
    # a resample drawing the NaN seed twice has no value; every other one is the valid seed's 1.0
    np.testing.assert_array_equal(np.unique(cell[np.isfinite(cell)]), [1.0])
    assert 0.2 <= np.isnan(cell).mean() <= 0.3


def test_paired_difference_of_a_system_with_itself_is_zero_and_of_a_better_one_small_p(scored):
    y, s = scored
    w = clip_weights([f"c{i}" for i in range(len(y))], n_boot=500)
    a = clip_metric_replicates(y, s, w)["micro_ap"][None]
    same = paired_difference(a, a)
    assert same["low"] == same["high"] == 0.0 and same["p"] == 1.0
    better = clip_metric_replicates(y, np.where(y > 0, 0.99, s * 0.5), w)["micro_ap"][None]
    diff = paired_difference(better, a)
    assert diff["low"] > 0 and diff["p"] <= 2 / 500


def test_pairing_makes_a_constant_shift_certain():
    # two systems whose scores differ by the same amount on every resample: unpaired
    # intervals overlap, the paired difference is exact
    rng = np.random.default_rng(3)
    base = rng.normal(0.5, 0.05, (1, 1000))
    diff = paired_difference(base + 0.01, base)
    assert diff["low"] == pytest.approx(0.01) and diff["high"] == pytest.approx(0.01)
    low_a, high_a = interval(base[0] + 0.01)
    low_b, high_b = interval(base[0])
    assert low_a < high_b  # the two cells alone cannot be told apart


NAMES = ("psds1", "psds1_non_oracle", "psds2", "event_f1", "segment_f1", "segment_pauc", "segment_pauc_mcclish")
"""Every metric dcase_replicates gives."""


@pytest.mark.parametrize("shard, jobs", [(250, 1), (5, 2)])
def test_dcase_replicates_under_weights_of_ones_equal_the_plain_metrics(shard, jobs, monkeypatch):
    import bench.evaluation.statistics
    from bench.evaluation.dcase import dcase_metrics
    from bench.evaluation.statistics import dcase_replicates

    # blocks of 5 clips miss classes: the holder path
    monkeypatch.setattr(bench.evaluation.statistics, "_SHARD_CLIPS", shard)

    labels = ["a", "b", "c"]
    times = np.arange(0, 10.0 + 1e-9, 0.5)
    rng = np.random.default_rng(4)
    import pandas as pd

    scores, truth = {}, {}
    for i in range(12):
        cid = f"clip{i}"
        frame = rng.random((len(times) - 1, 3)) * 0.4
        events = []
        for j, lab in enumerate(labels):
            if (i + j) % 3 and (lab != "c" or i >= 10):  # c only in the last clips
                on = float(rng.integers(0, 14)) * 0.5
                events.append((on, on + 2.0, lab))
                frame[int(on / 0.5) : int(on / 0.5) + 4, j] += 0.5
        table = pd.DataFrame(np.round(frame, 5), columns=labels)
        table.insert(0, "offset", times[1:])
        table.insert(0, "onset", times[:-1])
        scores[cid], truth[cid] = table, events
    durations = dict.fromkeys(scores, 10.0)
    thresholds = dict.fromkeys(labels, 0.5)
    plain = dcase_metrics(scores, truth, durations, thresholds=thresholds)
    reps = dcase_replicates(scores, truth, durations, weights=np.ones((1, 12)), thresholds=thresholds, num_jobs=jobs)
    for name in NAMES:
        assert reps[name][0] == pytest.approx(plain[name], abs=1e-12), name
    # a clip drawn twice counts twice: the same as duplicating it under another id
    w = np.ones((1, 12))
    w[0, 0], w[0, 1] = 2, 0
    doubled = {**scores, "copy": scores["clip0"]}
    doubled.pop("clip1")
    dup_truth = {**truth, "copy": truth["clip0"]}
    dup_truth.pop("clip1")
    plain2 = dcase_metrics(doubled, dup_truth, dict.fromkeys(doubled, 10.0), thresholds=thresholds)
    reps2 = dcase_replicates(scores, truth, durations, weights=w, thresholds=thresholds, num_jobs=jobs)
    for name in NAMES:
        assert reps2[name][0] == pytest.approx(plain2[name], abs=1e-9), name


def test_ties_at_zero_count_half_so_p_falls_with_the_share_of_positive_differences():
    n = 1000
    previous = 1.0
    for positive in (0.0, 0.2, 0.5, 0.9, 0.99):  # the rest of the resamples: exactly no difference
        first = np.zeros((1, n))
        first[0, : int(positive * n)] = 0.01
        diff = paired_difference(first, np.zeros((1, n)))
        assert diff["p"] == pytest.approx(max(1 - positive, 1 / n))
        assert diff["p"] <= previous
        previous = diff["p"]
        assert diff["low"] >= 0  # no negative value in the interval
        if diff["p"] > 0.05:
            assert diff["low"] <= 0 <= diff["high"]  # not significant: the interval holds 0


def test_p_and_interval_agree_with_and_without_ties():
    rng = np.random.default_rng(7)
    for trial in range(200):
        shift = rng.normal(0, 0.02)
        values = rng.normal(shift, 0.01, 1000)
        values[rng.random(1000) < rng.uniform(0, 0.9)] = 0.0  # ties at zero, on a random share
        diff = paired_difference(values[None], np.zeros((1, 1000)))
        if diff["p"] > 0.05:
            assert diff["low"] <= 0 <= diff["high"], trial
        else:  # significant: zero is not inside the interval (at most on its edge, where ties pile up)
            assert diff["low"] >= 0 or diff["high"] <= 0, trial


def test_holm_adjusts_step_down_and_keeps_order():
    from bench.evaluation.bootstrap import holm

    adjusted = holm([0.01, 0.04, 0.03, None, 0.5])
    # m = 4 present: 0.01*4 = 0.04; 0.03*3 = 0.09; 0.04*2 = 0.08 -> raised to 0.09 (monotone); 0.5*1
    assert adjusted[0] == pytest.approx(0.04) and adjusted[2] == pytest.approx(0.09)
    assert adjusted[1] == pytest.approx(0.09) and adjusted[3] is None and adjusted[4] == pytest.approx(0.5)
    assert holm([0.9, 0.8]) == [1.0, 1.0] and holm([]) == []


def test_bias_corrected_intervals_hold_their_estimate():
    from bench.evaluation.bootstrap import bias_corrected

    rng = np.random.default_rng(11)
    centred = rng.normal(0.5, 0.05, 4000)
    plain = interval(centred)
    low, high, how = bias_corrected(centred, estimate=float(np.median(centred)))
    assert how == "bc" and low == pytest.approx(plain[0], abs=2e-3) and high == pytest.approx(plain[1], abs=2e-3)
    # resampling biased low (as PSDS under duplicated clips): the percentile interval misses the estimate
    biased = rng.normal(0.10, 0.02, 1000)
    estimate = 0.17  # beyond every replicate but a handful
    assert not interval(biased)[0] <= estimate <= interval(biased)[1]
    low, high, how = bias_corrected(biased, estimate=estimate)
    assert low <= estimate <= high and how == "bc+estimate"
    mild = rng.normal(0.10, 0.02, 1000)  # estimate at the 80th percentile: BC shifts the interval up
    low, high, how = bias_corrected(mild, estimate=float(np.quantile(mild, 0.8)))
    assert how == "bc" and low > interval(mild)[0] and high > interval(mild)[1]
    assert interval(np.array([np.nan]), estimate=0.3) == (None, None)
