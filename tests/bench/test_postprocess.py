"""Post-processing: settings round trip, each step by hand, and the choice on validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import median_filter

from bench.errors import BenchError
from bench.evaluation.metrics import event_f1
from bench.evaluation.postprocess import (
    PostProcessing,
    apply_frame_score,
    choose_postprocessing,
    decisions,
    decisions_to_events,
    detect_events,
    frame_timestamps,
    load_postprocessing,
    median_frames,
    postprocessed_scores,
    save_postprocessing,
)

LABELS = ["a", "b", "c"]


def _post(**kw) -> PostProcessing:
    base = dict(thresholds=(0.5, 0.5, 0.5), hop_s=0.1, frame_start_s=0.0)
    base.update(kw)
    return PostProcessing(**base)


def test_settings_round_trip_and_contract_keys(tmp_path):
    post = _post(clip_threshold=(0.2, 0.3, 0.4), median_filter_s=0.3, frame_score="frame_probs")
    data = post.to_dict()
    assert set(data) == {
        "frame_score",
        "clip_gate",
        "clip_threshold",
        "median_filter_s",
        "thresholds",
        "hop_s",
        "frame_start_s",
        "chosen_on",
        "criterion",
    }
    assert data["clip_threshold"] == [0.2, 0.3, 0.4] and data["chosen_on"] == "val"
    assert PostProcessing.from_dict(data) == post
    assert load_postprocessing(tmp_path) is None
    save_postprocessing(tmp_path, post)
    assert load_postprocessing(tmp_path) == post
    (tmp_path / "postprocess.json").write_text("{broken")
    with pytest.raises(BenchError, match="evaluate the run again"):
        load_postprocessing(tmp_path)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(frame_score="softmax"), "unknown frame score"),
        (dict(hop_s=0.0), "hop_s"),
        (dict(median_filter_s=-0.1), "negative"),
        (dict(clip_threshold=(0.1, 0.2)), "one value or 3"),
    ],
)
def test_bad_settings_are_refused(kw, message):
    with pytest.raises(BenchError, match=message):
        _post(**kw)
    with pytest.raises(BenchError, match="unknown post-processing"):
        PostProcessing.from_dict({**_post().to_dict(), "extra": 1})


def test_median_frames_are_odd_and_nearest():
    assert median_frames(0.0, hop_s=0.032) == 1
    assert median_frames(0.16, hop_s=0.032) == 5
    assert median_frames(0.3, hop_s=0.128) == 3
    assert median_frames(0.6, hop_s=0.128) == 5
    np.testing.assert_array_equal(median_frames(np.array([0.0, 0.25, 0.9]), hop_s=0.1), [1, 3, 9])


def test_frame_score_gate_filter_and_threshold_by_hand():
    frame = np.zeros((2, 7, 3), np.float32)
    frame[0, 1:6, 0] = [0.9, 0.9, 0.1, 0.9, 0.9]  # a one-frame gap the 3-frame median closes
    frame[0, 2, 1] = 0.9  # a one-frame blip it removes
    frame[1, :, 2] = 0.9  # clip 1, class c: gated out
    clip = np.array([[1.0, 1.0, 0.9], [1.0, 1.0, 0.2]], np.float32)
    np.testing.assert_allclose(apply_frame_score(frame, clip, rule="frame_x_clip"), frame * clip[:, None, :])
    np.testing.assert_array_equal(apply_frame_score(frame, clip, rule="frame_probs"), frame)
    post = _post(median_filter_s=0.3, clip_threshold=0.5)
    active = decisions(frame, clip, post)
    assert active[0, :, 0].tolist() == [False, True, True, True, True, True, False]
    assert not active[0, :, 1].any() and not active[1].any()
    events = detect_events(frame, clip, post, filenames=["x.flac", "y.flac"], labels=LABELS, duration_s=0.7)
    assert events.to_dict("records") == [{"filename": "x.flac", "onset": 0.1, "offset": 0.6, "event_label": "a"}]
    ungated = detect_events(
        frame, clip, _post(clip_gate=False, frame_score="frame_probs"), filenames=["x", "y"], labels=LABELS
    )
    assert (ungated["event_label"] == "c").sum() == 1 and (ungated["event_label"] == "b").sum() == 1


def test_median_filter_commutes_with_the_threshold():
    rng = np.random.default_rng(0)
    frame = rng.random((4, 50, 3)).astype(np.float32)
    clip = np.ones((4, 3), np.float32)
    post = _post(
        median_filter_s=(0.0, 0.5, 0.9), thresholds=(0.3, 0.5, 0.7), clip_gate=False, frame_score="frame_probs"
    )
    active = decisions(frame, clip, post)
    for c, (size, thr) in enumerate(zip(post.median_frames(), post.thresholds)):
        binary = median_filter((frame[:, :, c] >= thr).astype(np.uint8), size=(1, size), mode="nearest")
        np.testing.assert_array_equal(active[:, :, c], binary.astype(bool))
    scores = postprocessed_scores(frame, clip, post)
    np.testing.assert_array_equal(scores, np.round(scores, 5))


def test_frame_timestamps_clip_to_the_clip():
    times = frame_timestamps(78, hop_s=0.128, frame_start_s=-0.032, duration_s=10.0)
    assert times[0] == 0.0 and times[1] == 0.096 and times[-1] == pytest.approx(9.952)
    assert frame_timestamps(3, hop_s=1.0, duration_s=2.5).tolist() == [0.0, 1.0, 2.0, 2.5]
    with pytest.raises(BenchError, match="do not fit"):
        frame_timestamps(5, hop_s=1.0, duration_s=2.0)


def test_decisions_to_events_pairs_onsets_and_offsets():
    active = np.zeros((2, 6, 2), bool)
    active[0, 0:2, 1] = active[0, 3:6, 1] = active[1, 2:3, 0] = True
    events = decisions_to_events(active, ["p.wav", "q.wav"], labels=["u", "v"], timestamps=np.arange(7) * 0.5)
    assert events.values.tolist() == [["p.wav", 0.0, 1.0, "v"], ["p.wav", 1.5, 3.0, "v"], ["q.wav", 1.0, 1.5, "u"]]
    empty = decisions_to_events(np.zeros((1, 6, 2), bool), ["p"], labels=["u", "v"], timestamps=np.arange(7))
    assert list(empty.columns) == ["filename", "onset", "offset", "event_label"] and empty.empty


def _synthetic_split(seed: int = 0, n: int = 30, t: int = 100, hop: float = 0.1):
    """Frame outputs with true events plus noise blips, and clip probabilities that tag
    the true classes high and the others at random."""
    rng = np.random.default_rng(seed)
    labels = [f"k{j}" for j in range(5)]
    frame = (rng.random((n, t, 5)) * 0.4).astype(np.float32)
    clip = (rng.random((n, 5)) * 0.45).astype(np.float32)
    rows = []
    for i in range(n):
        for j in rng.choice(5, size=2, replace=False):
            start = int(rng.integers(0, t - 30))
            length = int(rng.integers(10, 25))
            frame[i, start : start + length, j] = rng.uniform(0.6, 1.0, size=length)
            frame[i, start + length // 2, j] = 0.05  # a dip inside the event
            clip[i, j] = rng.uniform(0.6, 1.0)
            rows.append((f"c{i:03d}", labels[j], start * hop, (start + length) * hop))
    blip = rng.random((n, t, 5)) < 0.02
    frame[blip] = 0.95
    ref = pd.DataFrame(rows, columns=["clip_id", "event_label", "onset_s", "offset_s"])
    return frame, clip, ref, [f"c{i:03d}" for i in range(n)], labels, hop


def test_choice_on_validation_beats_the_fixed_rule_and_is_reproduced():
    frame, clip, ref, ids, labels, hop = _synthetic_split()
    post, record = choose_postprocessing(
        frame, clip, reference=ref, clip_ids=ids, labels=labels, hop_s=hop, duration_s=10.0
    )
    assert post.clip_gate and post.median_filter_s > 0 and post.chosen_on == "val"
    assert len(post.thresholds) == 5 and len(set(post.thresholds)) == 1

    def f1_of(p):
        events = detect_events(frame, clip, p, filenames=ids, labels=labels, duration_s=10.0)
        est = events.rename(columns={"filename": "clip_id", "onset": "onset_s", "offset": "offset_s"})
        return event_f1(ref, est, labels=labels)["f1"]

    chosen = f1_of(post)
    assert chosen == pytest.approx(record["event_f1"])  # the search scores exactly what detection does
    fixed = f1_of(
        _post(thresholds=(0.5,) * 5, hop_s=hop, clip_gate=False, frame_score="frame_probs", median_filter_s=0.0)
    )
    assert chosen > fixed + 0.2
    best_rows = max(record["table"], key=lambda r: r["event_f1"])
    assert best_rows["event_f1"] == pytest.approx(chosen)
    for row in record["table"]:  # every setting of the search scores what detection with it does
        setting = _post(
            thresholds=(row["threshold"],) * 5,
            hop_s=hop,
            clip_threshold=row["clip_threshold"],
            median_filter_s=row["median_filter_s"],
        )
        assert f1_of(setting) == pytest.approx(row["event_f1"]), row
