"""Clip metrics against scikit-learn; frame and event metrics on hand-worked cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from bench.errors import BenchError
from bench.evaluation.metrics import (
    average_precision,
    clip_metrics,
    evaluate,
    event_f1,
    frame_metrics,
    frame_targets,
    match_events,
    raw_event_metrics,
    raw_frames_to_events,
)
from bench.store import RunStore

LABELS = ["Bus", "Cowbell", "Gong", "Meow", "Oboe"]


@pytest.fixture(scope="module")
def saved_predictions(tmp_path_factory):
    """Predictions written by a run and read back, as the report reads them."""
    rng = np.random.default_rng(3)
    y_true = (rng.random((40, 5)) < 0.3).astype(int)
    y_true[0, :] = 1  # every class has a positive
    y_true[1, :] = 0  # and a negative
    y_score = np.clip(y_true * 0.4 + rng.random((40, 5)) * 0.7, 0, 1)
    store = RunStore(tmp_path_factory.mktemp("runs"), "r")
    store.write_predictions([f"c{i}" for i in range(40)], split="val", y_true=y_true, y_score=y_score, labels=LABELS)
    _, t, s = store.prediction_arrays("val", labels=LABELS)
    return t, s


def test_clip_metrics_equal_scikit_learn(saved_predictions):
    y_true, y_score = saved_predictions
    m = clip_metrics(y_true, y_score, labels=LABELS)
    assert m["micro_ap"] == pytest.approx(average_precision_score(y_true, y_score, average="micro"), abs=1e-12)
    assert m["macro_ap"] == pytest.approx(average_precision_score(y_true, y_score, average="macro"), abs=1e-12)
    assert m["auc"] == pytest.approx(roc_auc_score(y_true, y_score), abs=1e-12)
    for j, lab in enumerate(LABELS):
        assert m["per_class_ap"][lab] == pytest.approx(average_precision_score(y_true[:, j], y_score[:, j]))
    assert m["absent_classes"] == [] and m["n_clips"] == 40


def test_absent_classes_are_excluded_and_reported(saved_predictions):
    y_true, y_score = (a.copy() for a in saved_predictions)
    y_true[:, 1] = 0  # Cowbell: no positive
    y_true[:, 3] = 1  # Meow: no negative
    m = clip_metrics(y_true, y_score, labels=LABELS)
    keep = [0, 2, 4]
    assert m["absent_classes"] == ["Cowbell", "Meow"]
    assert m["per_class_ap"]["Cowbell"] is None and m["per_class_ap"]["Meow"] is None
    assert m["macro_ap"] == pytest.approx(average_precision_score(y_true[:, keep], y_score[:, keep]))
    assert m["auc"] == pytest.approx(roc_auc_score(y_true[:, keep], y_score[:, keep]))
    assert m["micro_ap"] == pytest.approx(average_precision_score(y_true, y_score, average="micro"))
    empty = clip_metrics(np.zeros((3, 5)), np.full((3, 5), 0.5), labels=LABELS)
    assert empty["micro_ap"] is None and empty["macro_ap"] is None and empty["auc"] is None
    assert empty["absent_classes"] == LABELS


def test_clip_metrics_reject_bad_input():
    with pytest.raises(BenchError, match="differ in shape"):
        clip_metrics(np.zeros((3, 5)), np.zeros((3, 4)), labels=LABELS)
    with pytest.raises(BenchError, match="NaN"):
        clip_metrics(np.ones((3, 5)), np.full((3, 5), np.nan), labels=LABELS)


@pytest.mark.parametrize("ties", [False, True])
def test_average_precision_equals_scikit_learn(ties):
    rng = np.random.default_rng(5)
    y = rng.random(2000) < 0.1
    s = rng.random(2000)
    if ties:
        s = np.round(s, 1).astype(np.float16)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s.astype(np.float64)), abs=1e-9)
    assert average_precision(np.zeros(4), np.ones(4)) is None


def test_frame_targets_hand_case():
    events = pd.DataFrame(
        {
            "clip_id": ["a", "a", "b", "b"],
            "snr_db": [0.0, 0.0, 0.0, 20.0],
            "event_label": ["Bus", "Gong", "Meow", "Meow"],
            "onset_s": [0.5, 9.9, 0.0, 0.0],
            "offset_s": [1.0, 12.0, 0.032, 0.032],
        }
    )
    hop = 1024 / 32000
    t = frame_targets(events, ["b", "a", "c"], n_frames=311, hop_s=hop, labels=LABELS, snr_db=0)
    assert t.shape == (3, 311, 5) and t.dtype == bool
    bus = np.flatnonzero(t[1, :, 0])
    assert bus[0] == 15 and bus[-1] == 31 and len(bus) == 17  # 0.5 s / 0.032 = 15.6, 1.0 / 0.032 = 31.25
    gong = np.flatnonzero(t[1, :, 2])
    assert gong[0] == 309 and gong[-1] == 310  # clipped to the clip
    assert np.flatnonzero(t[0, :, 3]).tolist() == [0]  # exactly one frame
    assert not t[2].any()
    with pytest.raises(BenchError, match="outside the label set"):
        frame_targets(events.assign(event_label="Banjo"), ["a"], n_frames=311, hop_s=hop, labels=LABELS)


def test_frame_metrics_hand_case():
    truth = np.zeros((1, 4, 2), dtype=bool)
    truth[0, :2, 0] = True  # class 0 active in frames 0, 1
    score = np.array([[[0.9, 0.1], [0.2, 0.6], [0.7, 0.0], [0.1, 0.3]]])
    # predictions at 0.5: class 0 frames 0 and 2 (tp 1, fp 1), class 1 frame 1 (fp 1); fn 1
    m = frame_metrics(truth, score, threshold=0.5)
    assert m["precision"] == pytest.approx(1 / 3) and m["recall"] == pytest.approx(1 / 2)
    assert m["f1"] == pytest.approx(2 * 1 / (3 + 2))
    assert m["macro_f1"] == pytest.approx(0.5)  # class 1 has no positive frame: left out
    # class 0 ranking: 0.9 (pos), 0.7 (neg), 0.2 (pos), 0.1 -> AP = 0.5 * 1 + 0.5 * 2/3
    assert m["macro_ap"] == pytest.approx(0.5 + 1 / 3)
    assert m["micro_ap"] == pytest.approx(average_precision_score(truth.ravel(), score.ravel()))


def test_frames_to_events_hand_case():
    score = np.zeros((1, 10, 2))
    score[0, [2, 3, 5, 6], 0] = 0.9  # one-frame gap at 4
    score[0, [0, 1, 7, 8, 9], 1] = 0.8
    raw = raw_frames_to_events(score, ["a"], labels=["Bus", "Gong"], hop_s=0.1, median_frames=1)
    got = sorted(zip(raw["event_label"], raw["onset_s"].round(6), raw["offset_s"].round(6)))
    assert got == [("Bus", 0.2, 0.4), ("Bus", 0.5, 0.7), ("Gong", 0.0, 0.2), ("Gong", 0.7, 1.0)]
    smooth = raw_frames_to_events(score, ["a"], labels=["Bus", "Gong"], hop_s=0.1, median_frames=3)
    bus = smooth[smooth["event_label"] == "Bus"]
    assert (
        len(bus) == 1 and bus["onset_s"].iloc[0] == pytest.approx(0.2) and bus["offset_s"].iloc[0] == pytest.approx(0.7)
    )
    with pytest.raises(BenchError, match="odd"):
        raw_frames_to_events(score, ["a"], labels=["Bus", "Gong"], hop_s=0.1, median_frames=4)


def ev(rows):
    return pd.DataFrame(rows, columns=["clip_id", "event_label", "onset_s", "offset_s"])


def test_event_f1_collars_hand_cases():
    ref = ev([("a", "Bus", 1.0, 3.0), ("a", "Gong", 5.0, 5.5), ("b", "Bus", 1.0, 3.0)])
    # onset within 0.2 s and offset within max(0.2, 0.2 * 2.0 = 0.4) s: a match
    est = ev(
        [
            ("a", "Bus", 1.15, 3.35),
            ("a", "Gong", 5.0, 5.75),  # offset off by 0.25 > max(0.2, 0.1): no match
            ("b", "Bus", 1.25, 3.0),  # onset off by 0.25: no match
            ("b", "Gong", 1.0, 3.0),
        ]
    )  # wrong label: no match
    m = event_f1(ref, est, labels=["Bus", "Gong"])
    assert (m["n_ref"], m["n_est"], m["n_tp"]) == (3, 4, 1)
    assert m["precision"] == pytest.approx(1 / 4) and m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(2 / 7)
    assert m["class_f1"] == {"Bus": pytest.approx(2 * 1 / (2 + 2)), "Gong": pytest.approx(0.0)}
    assert m["macro_f1"] == pytest.approx(0.25)


def test_event_f1_uses_an_optimal_matching():
    # X can match A or B, Y only A: a greedy pass that gives A to X finds 1 match, the optimum is 2
    ref = ev([("a", "Bus", 1.0, 2.0), ("a", "Bus", 1.15, 2.1)])
    est = ev([("a", "Bus", 1.1, 2.05), ("a", "Bus", 0.9, 1.9)])
    assert event_f1(ref, est, labels=["Bus"])["n_tp"] == 2
    # one estimate cannot match two references
    assert event_f1(ref, est.iloc[:1], labels=["Bus"])["n_tp"] == 1


def test_event_metrics_and_evaluate_end_to_end():
    hop = 1024 / 32000
    events = pd.DataFrame(
        {
            "clip_id": ["a", "a", "b"],
            "snr_db": 0.0,
            "event_label": ["Bus", "Gong", "Meow"],
            "onset_s": [0.5, 3.0, 5.5],
            "offset_s": [2.5, 4.0, 7.5],
        }
    )
    truth = frame_targets(events, ["a", "b"], n_frames=311, hop_s=hop, labels=LABELS)
    perfect = truth.astype(np.float32)
    m = raw_event_metrics(None, perfect, events=events, clip_ids=["a", "b"], labels=LABELS, hop_s=hop)
    assert (m["n_ref"], m["n_est"], m["n_tp"]) == (3, 3, 3) and m["f1"] == pytest.approx(1.0)
    from_frames = raw_event_metrics(truth, perfect, labels=LABELS, hop_s=hop)  # references from frame targets
    assert (from_frames["n_ref"], from_frames["n_tp"]) == (3, 3)
    late = np.roll(perfect, 8, axis=1)  # 8 frames = 0.256 s late: onsets miss the 0.2 s collar
    assert raw_event_metrics(truth, late, labels=LABELS, hop_s=hop)["n_tp"] == 0
    silent = raw_event_metrics(truth, np.zeros_like(perfect), labels=LABELS, hop_s=hop)
    assert silent["n_est"] == 0 and silent["f1"] == pytest.approx(0.0) and silent["precision"] is None
    y = truth.any(axis=1).astype(int)
    out = evaluate(y, y * 0.8 + 0.1, labels=LABELS, frame_score=perfect, events=events, clip_ids=["a", "b"], hop_s=hop)
    assert out["frame"]["f1"] == pytest.approx(1.0) and out["event"]["f1"] == pytest.approx(1.0)
    assert out["micro_ap"] == pytest.approx(1.0)
    assert "class_f1" not in out["event"]
    assert out["event"]["median_filter_s"] == pytest.approx(5 * hop) and out["event"]["hop_s"] == hop


def _matching_per_key(ref_key, ref, est_key, est):
    """Reference: a maximum bipartite matching for each key separately."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    total = 0
    for key in np.unique(est_key):
        r, e = ref[ref_key == key], est[est_key == key]
        if not len(r):
            continue
        collar = np.maximum(0.2, 0.2 * (r[:, 1] - r[:, 0]))
        graph = (np.abs(r[:, None, 0] - e[None, :, 0]) <= 0.2 + 1e-9) & (
            np.abs(r[:, None, 1] - e[None, :, 1]) <= collar[:, None] + 1e-9
        )
        total += int(np.sum(maximum_bipartite_matching(csr_matrix(graph.astype(np.int8)), perm_type="column") >= 0))
    return total


@pytest.mark.parametrize("seed", range(4))
def test_vectorised_matching_equals_a_matching_per_clip_and_class(seed):
    rng = np.random.default_rng(seed)
    ref_key = rng.integers(0, 30, 200)
    onsets = rng.uniform(0, 9, 200)
    ref = np.stack([onsets, onsets + rng.uniform(0.05, 1.5, 200)], axis=1)
    est_key = np.concatenate([ref_key, rng.integers(0, 30, 150)])  # near copies, plus clutter
    est = np.concatenate([ref + rng.normal(0, 0.15, ref.shape), np.sort(rng.uniform(0, 10, (150, 2)), axis=1)])
    hits = match_events(ref_key, ref, est_key, est)
    assert len(hits) == _matching_per_key(ref_key, ref, est_key, est) > 50
    assert set(hits) <= set(ref_key)


def test_frame_cells_centred_on_the_analysis_window():
    from bench.features import LogMelSettings

    paper = LogMelSettings()
    assert paper.frame_start_s == pytest.approx((1024 - 512) / 32000)  # window centre 1024, cell [512, 1536)
    assert LogMelSettings(center=True).frame_start_s == pytest.approx(-512 / 32000)
    hop, start = paper.hop_s, paper.frame_start_s
    events = pd.DataFrame({"clip_id": ["a"], "event_label": ["Bus"], "onset_s": [0.5], "offset_s": [1.0]})
    t = frame_targets(events, ["a"], n_frames=311, hop_s=hop, labels=LABELS, start_s=start)
    active = np.flatnonzero(t[0, :, 0])
    # cells [0.016 + k * 0.032, ...) overlapping [0.5, 1.0): k = 15 .. 30
    assert active[0] == 15 and active[-1] == 30
    decoded = raw_frames_to_events(t.astype(float), ["a"], labels=LABELS, hop_s=hop, median_frames=1, start_s=start)
    assert decoded["onset_s"].iloc[0] == pytest.approx(start + 15 * hop)
    assert decoded["offset_s"].iloc[0] == pytest.approx(start + 31 * hop)
    assert abs(decoded["onset_s"].iloc[0] - 0.5) < hop and abs(decoded["offset_s"].iloc[0] - 1.0) < hop
