"""The built-in stand-in corpora: layout, formats, determinism, reuse."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from remix.errors import RemixError
from remix.labels import CITIES, EVENT_LABELS, SCENE_LABELS
from remix.sources import check_sources, read_fsd2018, read_tau2019
from remix.standin import STANDIN_NOTICE, ensure_sources
from remix.standin.writer import GENERATOR_VERSION, LICENSES, default_cache_dir

CITIES2 = ("barcelona", "helsinki")


def _digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_scenes_readable_with_real_formats(tiny_sources):
    scenes = read_tau2019(tiny_sources.scenes_dir)
    assert len(scenes) == 2 * 10
    assert set(scenes["scene_label"]) == set(SCENE_LABELS)
    assert set(scenes["city"]) == set(CITIES2)
    assert scenes["identifier"].is_unique  # one recording per scene and city
    for path in scenes["path"].iloc[:3]:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype, info.format) == (48000, 2, "PCM_24", "WAV")
        assert info.frames == 480000
    meta = (tiny_sources.scenes_dir / "meta.csv").read_text().splitlines()
    assert meta[0] == "filename\tscene_label\tidentifier\tsource_label"
    assert re.fullmatch(r"audio/[a-z_]+-[a-z]+-\d+-\d+-a\.wav\t[a-z_]+\t[a-z]+-\d+\ta", meta[1])


def test_scene_folds_keep_recordings_on_one_side(tiny_sources):
    setup = tiny_sources.scenes_dir / "evaluation_setup"
    train = pd.read_csv(setup / "fold1_train.csv", sep="\t")
    evaluate = pd.read_csv(setup / "fold1_evaluate.csv", sep="\t")
    test = pd.read_csv(setup / "fold1_test.csv", sep="\t")
    assert list(train.columns) == ["filename", "scene_label"] and list(test.columns) == ["filename"]
    assert list(evaluate.columns) == ["filename", "scene_label"]
    meta = read_tau2019(tiny_sources.scenes_dir).set_index("filename")
    ids_train = set(meta.loc[train["filename"], "identifier"])
    ids_eval = set(meta.loc[evaluate["filename"], "identifier"])
    assert not ids_train & ids_eval
    assert len(train) + len(evaluate) == len(meta) and len(evaluate) > 0
    assert list(test["filename"]) == list(evaluate["filename"])


def test_events_readable_with_real_formats(tiny_sources):
    events = read_fsd2018(tiny_sources.events_dir)
    train, test = events[events["split"] == "train"], events[events["split"] == "test"]
    assert len(train) == 41 * 4 and len(test) == 41 * 2
    assert set(events["label"]) == set(EVENT_LABELS)
    assert (train.groupby("label")["manually_verified"].sum() == 3).all()
    assert test["manually_verified"].all()
    assert events["fname"].is_unique and events["freesound_id"].is_unique
    assert all(re.fullmatch(r"[0-9a-f]{8}\.wav", f) for f in events["fname"])
    assert set(events["license"]) <= set(LICENSES)
    raw_test = pd.read_csv(tiny_sources.events_dir / "FSDKaggle2018.meta/test_post_competition_scoring_clips.csv")
    assert set(raw_test["usage"]) <= {"Public", "Private"}
    durations = []
    for path in events["path"].iloc[::7]:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (44100, 1, "PCM_16")
        durations.append(info.duration)
    assert 0.3 <= min(durations) and max(durations) <= 10.0
    assert max(durations) / min(durations) > 3  # a realistic spread, not one length


def test_every_file_passes_the_checks(tiny_sources):
    paths = list(read_tau2019(tiny_sources.scenes_dir)["path"]) + list(read_fsd2018(tiny_sources.events_dir)["path"])
    table = check_sources(paths, min_duration_s=0.25, progress=False)
    assert table["reason"].isna().all(), table.dropna()


def test_card_and_licence_note(tiny_sources):
    root = tiny_sources.root
    readme = (root / "README.md").read_text()
    assert STANDIN_NOTICE in readme
    assert "GPL-2.0" in (root / "LICENSE-TimGM6mb.txt").read_text()
    assert "not comparable" in STANDIN_NOTICE and "TimGM6mb" in STANDIN_NOTICE
    params = json.loads((root / "standin.json").read_text())
    assert params["seed"] == 0 and params["cities"] == list(CITIES2)


def test_second_call_returns_at_once_without_rewriting(tiny_sources):
    marker = tiny_sources.root / "standin.json"
    before = marker.stat().st_mtime_ns
    again = ensure_sources(
        tiny_sources.root,
        seed=0,
        scenes_per_pair=1,
        cities=CITIES2,
        train_per_label=4,
        verified_per_label=3,
        test_per_label=2,
    )
    assert again == tiny_sources
    assert marker.stat().st_mtime_ns == before


def test_other_parameters_on_the_same_folder_are_refused(tiny_sources):
    with pytest.raises(RemixError, match="other parameters"):
        ensure_sources(
            tiny_sources.root, seed=1, cities=CITIES2, train_per_label=4, verified_per_label=3, test_per_label=2
        )


def test_foreign_folder_is_refused(tmp_path):
    (tmp_path / "x.txt").write_text("mine")
    with pytest.raises(RemixError, match="not a stand-in"):
        ensure_sources(tmp_path, cities=("lyon",), train_per_label=1, verified_per_label=1, test_per_label=0)


def test_a_damaged_standin_record_is_named_as_such(tmp_path):
    (tmp_path / "standin.json").write_text('{"seed": 0, "cities": [')  # cut short
    (tmp_path / "TAU-urban").mkdir()
    with pytest.raises(RemixError, match=r"stand-in in .* is damaged .*remove the folder"):
        ensure_sources(tmp_path, cities=("lyon",), train_per_label=1, verified_per_label=1, test_per_label=0)
    assert (tmp_path / "standin.json").is_file()  # nothing removed behind the user's back


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(train_per_label=0),
        dict(verified_per_label=5, train_per_label=2),
        dict(scenes_per_pair=0),
        dict(scene_duration_s=0.0),
    ],
)
def test_impossible_sizes(tmp_path, kwargs):
    with pytest.raises(RemixError):
        ensure_sources(tmp_path / "s", **kwargs)


def test_deterministic_whatever_the_workers_and_sizes(tmp_path, tiny_sources):
    # the fixture was written by 2 processes; this one by 1, with one city and fewer events
    small = ensure_sources(
        tmp_path / "a",
        seed=0,
        cities=("helsinki",),
        train_per_label=1,
        verified_per_label=1,
        test_per_label=1,
        workers=1,
    )
    assert sorted(p.name for p in small.root.iterdir()) == sorted(p.name for p in tiny_sources.root.iterdir())
    audio = sorted(p.relative_to(small.root) for p in small.root.rglob("*.wav"))
    assert len(audio) == 10 + 41 * 2
    for rel in audio:  # every item has its own seed: the same file in any stand-in of this seed
        assert _digest(small.root / rel) == _digest(tiny_sources.root / rel), rel
    assert (small.scenes_dir / "meta.csv").read_text().splitlines()[1] in (
        tiny_sources.scenes_dir / "meta.csv"
    ).read_text().splitlines()


def test_different_seeds_differ(tmp_path, tiny_sources):
    other = ensure_sources(
        tmp_path / "c",
        seed=1,
        cities=("barcelona",),
        train_per_label=1,
        verified_per_label=1,
        test_per_label=0,
        scene_duration_s=1.0,
    )
    ev_a, ev_c = read_fsd2018(tiny_sources.events_dir), read_fsd2018(other.events_dir)
    assert set(ev_a["fname"]).isdisjoint(ev_c["fname"])
    sc_a = read_tau2019(tiny_sources.scenes_dir).set_index("filename")
    sc_c = read_tau2019(other.scenes_dir)
    name, path_c = sc_c["filename"].iloc[0], sc_c["path"].iloc[0]
    x, _ = sf.read(sc_a.loc[name, "path"], frames=48000)
    y, _ = sf.read(path_c)
    assert x.shape == y.shape and not np.allclose(x, y)


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SEDREMIX_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / f"synthetic-v{GENERATOR_VERSION}"
    monkeypatch.delenv("SEDREMIX_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "sedremix" / f"synthetic-v{GENERATOR_VERSION}"


def test_default_stand_in_goes_to_the_cache(monkeypatch, tmp_path):
    from remix.standin import writer

    calls = []
    monkeypatch.setattr(writer, "_write", lambda root, params, **kw: calls.append((root, params, kw)))
    monkeypatch.setenv("SEDREMIX_CACHE", str(tmp_path))
    ensure_sources(progress=False)
    ensure_sources(tmp_path / "elsewhere", progress=True)
    defaults = {
        "generator_version": GENERATOR_VERSION,
        "seed": 0,
        "scenes_per_pair": 1,
        "cities": list(CITIES),
        "train_per_label": 30,
        "verified_per_label": 20,
        "test_per_label": 8,
        "scene_duration_s": 10.0,
    }
    assert [(root, params, kw["progress"]) for root, params, kw in calls] == [
        (tmp_path / f"synthetic-v{GENERATOR_VERSION}", defaults, False),
        (tmp_path / "elsewhere", defaults, True),
    ]


def test_a_killed_writers_folder_is_swept_and_the_stand_in_is_readable_by_the_group(tmp_path):
    """E10: a dead writer's temporary folder does not stay in the cache; the stand-in folder is not
    owner-only (every cluster worker reads it); one writer at a time (the lock file beside it)."""
    import stat

    dead = tmp_path / ".s.tmp-99999999-abcd"
    (dead / "audio").mkdir(parents=True)
    (dead / "audio" / "x.wav").write_bytes(b"x" * 1000)
    live = tmp_path / f".s.tmp-{os.getpid()}-efgh"
    live.mkdir()
    old = os.umask(0o022)
    try:
        written = ensure_sources(
            tmp_path / "s", seed=0, cities=("helsinki",), train_per_label=1, verified_per_label=1, test_per_label=1
        )
    finally:
        os.umask(old)
    assert not dead.exists() and live.exists()  # a running writer's folder is left alone
    mode = stat.S_IMODE(written.root.stat().st_mode)
    assert mode & 0o055 == 0o055, oct(mode)  # group and others may read and enter it
    assert (tmp_path / ".s.lock").is_file()


def test_two_first_builds_write_the_stand_in_once(tmp_path, monkeypatch):
    """E10: the second waits for the first writer, then finds the stand-in written."""
    import threading
    import time

    import remix.standin.writer as writer

    real, calls = writer._write, []

    def slow_write(*args, **kwargs):
        calls.append(1)
        time.sleep(0.5)  # long enough for the second caller to arrive while this one writes
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "_write", slow_write)
    sizes = dict(seed=0, cities=("helsinki",), train_per_label=1, verified_per_label=1, test_per_label=1, workers=1)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_sources(tmp_path / "s", **sizes))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 2 and len(calls) == 1
    assert results[0].root == results[1].root and (results[0].root / "standin.json").is_file()
