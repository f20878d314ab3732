"""The intersection statistics computed for all classes of a clip at once equal sed_scores_eval's
own, clip by clip, class by class and key by key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.evaluation.collar import collar_deltas
from bench.evaluation.intersection import intersection_deltas, owned_intersections, score_table
from bench.evaluation.segments import segment_deltas
from bench.evaluation.sse import PSDS1, PSDS2, import_sed_scores_eval

CRITERIA = [
    PSDS1,
    PSDS2,
    {"dtc_threshold": 0.5, "gtc_threshold": 0.3, "cttc_threshold": 0.2},
    {"dtc_threshold": 0.0, "gtc_threshold": 0.0, "cttc_threshold": None},  # every detection relevant
    {"dtc_threshold": 0.3, "gtc_threshold": 1.0, "cttc_threshold": 0.0},  # every miss a cross-trigger
    {"dtc_threshold": 1.0, "gtc_threshold": 1.0, "cttc_threshold": 1.0},
]


def _clips(rng: np.random.Generator, *, n_clips: int, n_frames: int, classes: list[str], dtype=np.float64):
    """Score tables and non-overlapping reference events of random clips: smooth and rough scores,
    ties (scores rounded to one decimal), a class of constant scores, clips without events, and
    one clip holding an event of every class."""
    hop = 10.0 / n_frames
    kernel = np.ones(5) / 5
    times = np.arange(n_frames + 1) * hop
    scores, truth = {}, {}
    for i in range(n_clips):
        values = rng.random((n_frames, len(classes)))
        if i % 2:
            values = np.apply_along_axis(lambda x: np.convolve(x, kernel, mode="same"), 0, values)
        if i % 3 == 0:
            values = np.round(values, 1)
        if i % 5 == 0:
            values[:, 1] = 0.25
        table = pd.DataFrame(values.astype(dtype), columns=classes)
        table.insert(0, "offset", times[1:])
        table.insert(0, "onset", times[:-1])
        scores[f"clip{i}"] = table
        events: list[tuple[float, float, str]] = []
        for _ in range(int(rng.integers(0, 6)) if i % 7 else 0):
            onset = round(float(rng.uniform(0.0, 8.5)), 3)
            event = (onset, round(onset + float(rng.uniform(0.2, 3.0)), 3), classes[int(rng.integers(len(classes)))])
            if all(o[2] != event[2] or event[0] > o[1] or o[0] > event[1] for o in events):
                events.append(event)
        truth[f"clip{i}"] = events
    truth["clip1"] = [(0.3 + 0.2 * k, 1.1 + 0.3 * k, c) for k, c in enumerate(classes)]
    return scores, truth


def _reference(scores, truth, criteria):
    sse = import_sed_scores_eval()
    return sse.intersection_based.intermediate_statistics_deltas(
        scores,
        truth,
        dtc_threshold=criteria["dtc_threshold"],
        gtc_threshold=criteria["gtc_threshold"],
        cttc_threshold=criteria["cttc_threshold"],
    )


def _assert_same(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for cid in theirs:
        assert ours[cid].keys() == theirs[cid].keys()
        for c, (points, deltas) in theirs[cid].items():
            mine_points, mine_deltas = ours[cid][c]
            assert np.array_equal(mine_points, points), (cid, c)
            assert mine_deltas.keys() == deltas.keys(), (cid, c)
            for key, value in deltas.items():
                assert np.array_equal(mine_deltas[key], value), (cid, c, key)


def _name(criteria: dict) -> str:
    return "dtc{dtc_threshold}-gtc{gtc_threshold}-cttc{cttc_threshold}".format(**criteria)


@pytest.mark.parametrize("criteria", CRITERIA, ids=_name)
@pytest.mark.parametrize("n_frames", [39, 156])
def test_every_clip_and_class_equals_sed_scores_eval(criteria, n_frames):
    rng = np.random.default_rng(n_frames)
    classes = [f"class{k}" for k in range(7)]
    scores, truth = _clips(rng, n_clips=24, n_frames=n_frames, classes=classes)
    ours = intersection_deltas(scores, truth, classes=classes, criteria=criteria)
    _assert_same(ours, _reference(scores, truth, criteria))


def test_single_precision_scores_equal_sed_scores_eval():
    rng = np.random.default_rng(5)
    classes = ["a", "b", "c"]
    scores, truth = _clips(rng, n_clips=12, n_frames=77, classes=classes, dtype=np.float32)
    for criteria in (PSDS1, PSDS2):
        ours = intersection_deltas(scores, truth, classes=classes, criteria=criteria)
    _assert_same(ours, _reference(scores, truth, criteria))


def test_clips_joined_per_class_are_the_clips_laid_end_to_end_with_their_owners():
    rng = np.random.default_rng(11)
    classes = [f"class{k}" for k in range(5)]
    scores, truth = _clips(rng, n_clips=9, n_frames=39, classes=classes)
    ids = list(scores)
    clips = {cid: score_table(frame, classes) for cid, frame in scores.items()}
    joined = owned_intersections(clips, truth, ids, 100, classes=classes, criteria=[PSDS1, PSDS2])
    for criteria, per_class in zip((PSDS1, PSDS2), joined):
        single = intersection_deltas(scores, truth, classes=classes, criteria=criteria)
        for c in classes:
            points, deltas, owner = per_class[c]
            assert np.array_equal(points, np.concatenate([single[cid][c][0] for cid in ids]))
            owners = [np.full(len(single[cid][c][0]), 100 + i) for i, cid in enumerate(ids)]
            assert np.array_equal(owner, np.concatenate(owners))
            for key in deltas:
                assert np.array_equal(deltas[key], np.concatenate([single[cid][c][1][key] for cid in ids]))


@pytest.mark.parametrize(
    "collar",
    [
        {"onset_collar": 0.2, "offset_collar": 0.2, "offset_collar_rate": 0.2},  # DCASE's
        {"onset_collar": 1.0, "offset_collar": 1.0, "offset_collar_rate": 0.5},  # wide: ambiguous matches
    ],
)
def test_collar_statistics_equal_sed_scores_eval(collar):
    rng = np.random.default_rng(3)
    classes = [f"class{k}" for k in range(6)]
    scores, truth = _clips(rng, n_clips=24, n_frames=77, classes=classes)
    # events of one class close together, so that one detection can match either
    truth["clip2"] = [(1.0, 1.5, "class0"), (1.6, 2.1, "class0"), (2.2, 2.6, "class0"), (5.0, 6.0, "class3")]
    sse = import_sed_scores_eval()
    theirs = sse.collar_based.intermediate_statistics_deltas(scores, truth, **collar)
    _assert_same(collar_deltas(scores, truth, classes=classes, collar=collar), theirs)


@pytest.mark.parametrize("segment_length", [1.0, 0.7])
def test_segment_statistics_equal_sed_scores_eval(segment_length):
    from sed_scores_eval.segment_based.intermediate_statistics import intermediate_statistics_deltas

    rng = np.random.default_rng(4)
    classes = [f"class{k}" for k in range(6)]
    scores, truth = _clips(rng, n_clips=24, n_frames=39, classes=classes)
    durations = {cid: 10.0 for cid in scores}
    durations["clip3"] = 10.4  # a last segment past the frames
    theirs = intermediate_statistics_deltas(scores, truth, durations, segment_length=segment_length)
    ours = segment_deltas(scores, truth, durations, classes=classes, segment_length=segment_length)
    _assert_same(ours, theirs)


def test_an_event_of_a_class_without_scores_is_one_clear_error():
    from bench.errors import BenchError

    rng = np.random.default_rng(8)
    classes = ["a", "b"]
    scores, truth = _clips(rng, n_clips=3, n_frames=39, classes=classes)
    truth["clip0"] = [(1.0, 2.0, "c")]
    collar = {"onset_collar": 0.2, "offset_collar": 0.2, "offset_collar_rate": 0.2}
    durations = dict.fromkeys(scores, 10.0)
    for compute in (
        lambda: intersection_deltas(scores, truth, classes=classes, criteria=PSDS1),
        lambda: collar_deltas(scores, truth, classes=classes, collar=collar),
        lambda: segment_deltas(scores, truth, durations, classes=classes, segment_length=1.0),
    ):
        with pytest.raises(BenchError, match="class 'c' has no score column"):
            compute()
