"""The metric catalogue: one declaration per metric, read by the tables, intervals and comparisons."""

from __future__ import annotations

import pytest

from bench.errors import BenchError
from bench.evaluation.catalogue import CATALOGUE, column_of, get_metric, metric_names, replicate_name, titled


def test_names_keys_and_columns_are_unique_and_round_trip():
    assert len({m.name for m in CATALOGUE}) == len({m.key for m in CATALOGUE}) == len(CATALOGUE)
    for metric in CATALOGUE:
        for split in ("val", "test"):
            assert replicate_name(column_of(metric.name, split=split), split=split) == metric.name
        assert get_metric(metric.key) is metric and get_metric(metric.name) is metric


def test_class_ap_is_made_on_demand_and_unknown_names_are_refused():
    ap = get_metric("ap_Bus")
    assert (ap.kind, ap.column, ap.label) == ("clip", "ap_Bus", "AP Bus")
    assert replicate_name("val_ap_Bus", split="val") == "ap_Bus"
    with pytest.raises(BenchError, match="unknown metric 'psds3'.*micro_ap"):
        get_metric("psds3")
    with pytest.raises(BenchError, match="not of the 'test' split"):
        replicate_name("val_micro_ap", split="test")


def test_every_table_and_the_comparison_take_their_metrics_from_the_catalogue():
    from bench.reporting import intervals
    from bench.reporting.ladder import LADDER_METRICS
    from bench.reporting.localisation import LOCALISATION_METRICS
    from bench.reporting.pooling import KEPT, POOLING_METRICS
    from bench.reporting.report import METRICS

    for columns in (LADDER_METRICS, LOCALISATION_METRICS, METRICS, [c for c in POOLING_METRICS if c[0] != KEPT]):
        for key, title in columns:
            assert get_metric(key).label == title
    assert intervals.COMPARE_METRICS == metric_names(compare=True)
    assert set(intervals.CLIP_METRICS) | set(intervals.DCASE_METRICS) == set(metric_names())
    assert titled(["tagging_psds1"]) == (("tagging_only_psds1", "tag-only PSDS1"),)
