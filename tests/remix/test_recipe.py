"""Clip plans: the paper and random recipes, folds without leakage, seeds."""

from __future__ import annotations

import dataclasses

import pytest

from remix.build import _with_lengths
from remix.errors import RemixError
from remix.recipe import RecipeOptions, plan_corpus, plan_digest
from remix.sources import read_fsd2018, read_tau2019

SR = 32000


@pytest.fixture(scope="module")
def tables(tiny_sources):
    scenes = read_tau2019(tiny_sources.scenes_dir)
    events = read_fsd2018(tiny_sources.events_dir)
    events = _with_lengths(events, events_dir=tiny_sources.events_dir, usable=set(events["path"]), sample_rate=SR)
    return scenes, events


def _plan(tables, **kw):
    seed = kw.pop("seed", 0)
    return plan_corpus(*tables, options=RecipeOptions(**kw), seed=seed)


def test_paper_layout(tables):
    plans = _plan(tables, clips_per_fold=6)
    assert len(plans) == 4 * 6 + 2  # test split: a quarter of a fold, rounded up
    lengths = dict(zip(tables[1]["path"], tables[1]["n_samples"]))
    for p in plans:
        assert [e.onset for e in p.events] == [int(0.5 * SR), int(3.0 * SR), int(5.5 * SR)]
        assert len({e.label for e in p.events}) == 3
        for e in p.events:
            assert e.source_start == 0 and e.fade_in == 0 and e.fade_out == 0
            assert e.length == min(2 * SR, lengths[e.source_path])  # cut to 2 s, never padded
    assert sorted(p.clip_id for p in plans) == [p.clip_id for p in plans]


def test_no_source_file_or_recording_shared_between_folds(tables):
    scenes, events = tables
    plans = _plan(tables, clips_per_fold=8, test_clips=5)
    ev_split = dict(zip(events["path"], events["split"]))
    files, recordings = {}, {}
    for p in plans:
        files.setdefault(p.fold, set()).update(e.source_path for e in p.events)
        recordings.setdefault(p.fold, set()).add(p.scene_identifier)
        if p.split == "test":
            assert p.fold == 0 and all(ev_split[e.source_path] == "test" for e in p.events)
        else:
            assert 1 <= p.fold <= 4 and all(ev_split[e.source_path] == "train" for e in p.events)
    for a in files:
        for b in files:
            if a < b:
                assert not files[a] & files[b], (a, b)
                assert not recordings[a] & recordings[b], (a, b)
    verified = set(events.loc[events["manually_verified"].astype(bool) | (events["split"] == "test"), "path"])
    assert set().union(*files.values()) <= verified


def test_seed_decides_everything_and_test_size_leaves_dev_alone(tables):
    a = _plan(tables, clips_per_fold=5, seed=3)
    b = _plan(tables, clips_per_fold=5, seed=3)
    c = _plan(tables, clips_per_fold=5, seed=4)
    assert plan_digest(a) == plan_digest(b) != plan_digest(c)
    d = _plan(tables, clips_per_fold=5, seed=3, test_clips=7)
    dev = [p for p in a if p.split == "dev"]
    assert dev == [p for p in d if p.split == "dev"]


def test_unusable_files_are_not_planned(tables):
    scenes, events = tables
    bad = set(events.loc[events["manually_verified"].astype(bool), "path"][:40])
    usable = set(scenes["path"]) | (set(events["path"]) - bad)
    plans = plan_corpus(scenes, events, options=RecipeOptions(clips_per_fold=6), seed=0, usable=usable)
    assert not {e.source_path for p in plans for e in p.events} & bad


@pytest.mark.parametrize("poly", [1, 2])
def test_random_recipe_respects_its_limits(tables, poly):
    plans = _plan(
        tables,
        recipe="random",
        clips_per_fold=5,
        events_per_clip=4,
        max_polyphony=poly,
        max_event_s=3.0,
        min_event_s=0.5,
    )
    lengths = dict(zip(tables[1]["path"], tables[1]["n_samples"]))
    fade = int(0.01 * SR)
    for p in plans:
        assert len({e.label for e in p.events}) == 4
        for e in p.events:
            src = lengths[e.source_path]
            assert min(int(0.5 * SR), src) <= e.length <= min(3 * SR, src)
            assert 0 <= e.onset and e.onset + e.length <= 10 * SR
            assert 0 <= e.source_start and e.source_start + e.length <= src
            assert e.fade_in == (min(fade, e.length // 2) if e.source_start > 0 else 0)
        for e in p.events:  # at the start of any event, count what sounds
            sounding = sum(1 for f in p.events if f.onset <= e.onset < f.onset + f.length)
            assert sounding <= poly


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"clips_per_fold": 0}, "clips per fold"),
        ({"recipe": "random", "max_polyphony": 0}, "max polyphony"),
        ({"events_per_clip": 4}, "paper recipe places 3"),
        ({"recipe": "random", "events_per_clip": 30, "max_polyphony": 1, "min_event_s": 0.5}, "cannot fit"),
        ({"recipe": "jazz"}, "unknown recipe"),
        ({"max_event_s": 5.0}, "run past the end"),
        ({"max_event_s": 3.0}, "would overlap"),
        ({"test_clips": -1}, "test clips"),
    ],
)
def test_impossible_options_are_refused(kw, match):
    with pytest.raises(RemixError, match=match):
        RecipeOptions(**kw).validate()


def test_too_few_recordings_for_the_groups(tables):
    scenes, events = tables
    few = scenes[scenes["identifier"].isin(sorted(scenes["identifier"].unique())[:3])]
    with pytest.raises(RemixError, match="disjoint groups"):
        plan_corpus(few, events, options=RecipeOptions(clips_per_fold=2), seed=0)


def test_options_round_trip():
    o = RecipeOptions(recipe="random", events_per_clip=5)
    assert RecipeOptions(**{**o.to_dict(), "onsets_s": tuple(o.to_dict()["onsets_s"])}) == o
    assert dataclasses.replace(o, fade_s=None).fade == 0.01
