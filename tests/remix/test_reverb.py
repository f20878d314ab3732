"""Reverberation per event: stems that sum to the mix, onsets on the direct path, determinism, bad responses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from remix.build import RunOptions, SourceFolders, build_corpus
from remix.buildconfig import corpus_toml, read_config, reverb_options
from remix.cli import app
from remix.errors import RemixError
from remix.fresh import corpus_sources
from remix.manifest import REVERB_FIELDS
from remix.recipe import RecipeOptions, Rooms, plan_digest, plan_fresh
from remix.render import RenderSettings
from remix.reverb import ReverbOptions, RoomPlan, measure_rt60, simulate_room

SNRS = (0.0, 20.0)
SMALL_ROOMS = ReverbOptions(
    source="simulated", rt60_s=(0.2, 0.3), room_floor_m=(3.0, 5.0), room_height_m=(2.5, 3.0), source_distance_m=(1, 2)
)
RECIPE = RecipeOptions(clips_per_fold=1, test_clips=1)


def _build(out: Path, sources, *, reverb: ReverbOptions, stems: bool = True, **run):
    return build_corpus(
        out,
        recipe=RECIPE,
        render=RenderSettings(snrs=SNRS, stems=stems),
        sources=SourceFolders(sources.scenes_dir, sources.events_dir),
        run=RunOptions(progress=False, **run),
        reverb=reverb,
    )


def _files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.relative_to(out).as_posix().startswith(".build") and p.name != "CORPUS.md"
    }


def _read(path: Path) -> np.ndarray:
    return sf.read(str(path), dtype="float64")[0]


@pytest.fixture(scope="module")
def simulated(tiny_sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("reverb") / "corpus"
    _build(out, tiny_sources, reverb=SMALL_ROOMS, batch_size=1)
    return out


def test_stems_sum_to_the_mix_and_start_on_the_onset(simulated):
    clips = pd.read_parquet(simulated / "manifest" / "clips.parquet")
    events = pd.read_parquet(simulated / "manifest" / "events.parquet")
    assert {name for name, _ in REVERB_FIELDS} <= set(events.columns)
    assert (events["response"] == "simulated").all()
    assert events["rt60_s"].between(0.05, 1.0).all() and events["source_distance_m"].between(0.5, 2.0).all()
    longer = 0
    for clip in clips.itertuples():
        mix, sr = sf.read(str(simulated / clip.audio_path), dtype="float64")
        total = _read(simulated / clip.scene_stem_path)
        rows = events[(events["clip_id"] == clip.clip_id) & (events["snr_db"] == clip.snr_db)]
        for ev in rows.itertuples():
            stem = _read(simulated / ev.stem_path)
            onset, offset = round(ev.onset_s * sr), round(ev.offset_s * sr)
            assert not stem[:onset].any(), "sound before the labelled onset"
            assert stem[onset] != 0.0
            longer += bool(np.any(stem[offset + 1 :]))  # the tail rings past the labelled offset
            total += stem
        assert np.max(np.abs(total - mix)) <= 0.5 / 32768 + 1e-6  # the mix is the sum of its stems, quantised
    assert longer > 0


def test_the_same_bytes_for_any_worker_count_and_after_a_resume(simulated, tiny_sources, tmp_path):
    other = tmp_path / "w2"
    _build(other, tiny_sources, reverb=SMALL_ROOMS, workers=2, batch_size=1)
    assert _files(other) == _files(simulated)
    records = sorted((other / ".build" / "records").glob("*.json"))
    records[0].unlink()
    for path in (other / "audio").rglob(records[0].stem + ".flac"):
        path.unlink()
    summary = _build(other, tiny_sources, reverb=SMALL_ROOMS)
    assert summary.rendered == 1
    assert _files(other) == _files(simulated)


def test_the_dry_corpus_is_unchanged_and_rooms_leave_the_events_in_place(tiny_sources, tmp_path):
    dry = tmp_path / "dry"
    _build(dry, tiny_sources, reverb=ReverbOptions(), stems=False)
    info = (dry / "manifest" / "corpus.json").read_text()
    assert "reverb" not in info and "reverb" not in (dry / "build.toml").read_text()
    assert "response" not in pd.read_parquet(dry / "manifest" / "events.parquet").columns
    wet = corpus_sources(_simulated_copy(tiny_sources, tmp_path))
    plain = corpus_sources(dry)
    assert [dataclasses.replace(p, room=None) for p in wet.plans] == plain.plans
    assert all(p.room is not None and p.room.simulated for p in wet.plans)
    assert plan_digest(wet.plans) != plan_digest(plain.plans)


def _simulated_copy(tiny_sources, tmp_path: Path) -> Path:
    out = tmp_path / "wet"
    _build(out, tiny_sources, reverb=SMALL_ROOMS, stems=False)
    return out


def _response_file(path: Path, *, rate: int, peak: int, channels: int = 2) -> None:
    """A response whose first channel is one impulse at ``peak`` (the others: noise)."""
    data = np.random.default_rng(0).normal(scale=0.3, size=(rate // 10, channels))
    data[:, 0] = 0.0
    data[peak, 0] = 0.5
    sf.write(str(path), data, rate, subtype="FLOAT")


def test_a_delayed_impulse_response_gives_back_the_dry_event(tiny_sources, tmp_path):
    folder = tmp_path / "irs"
    folder.mkdir()
    _response_file(folder / "delta.wav", rate=32000, peak=123)  # the corpus rate: no resampling
    dry, wet = tmp_path / "dry", tmp_path / "wet"
    _build(dry, tiny_sources, reverb=ReverbOptions())
    _build(wet, tiny_sources, reverb=ReverbOptions(source=str(folder)))
    events = pd.read_parquet(wet / "manifest" / "events.parquet")
    assert (events["response"] == "delta.wav").all()
    dry_events = pd.read_parquet(dry / "manifest" / "events.parquet")
    np.testing.assert_allclose(events["gain_db"], dry_events["gain_db"], atol=1e-6)  # the same level
    for ev in events.itertuples():
        np.testing.assert_allclose(_read(wet / ev.stem_path), _read(dry / ev.stem_path), atol=1e-6)


def test_bad_response_files_are_skipped_and_listed(tiny_sources, tmp_path):
    folder = tmp_path / "irs"
    (folder / "nested").mkdir(parents=True)
    _response_file(folder / "nested" / "good.wav", rate=48000, peak=40, channels=4)
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00not audio")
    sf.write(str(folder / "silent.wav"), np.zeros(800), 16000)
    sf.write(str(folder / "empty.wav"), np.zeros(0), 16000)
    (folder / "notes.txt").write_text("not a response")
    out = tmp_path / "corpus"
    summary = _build(out, tiny_sources, reverb=ReverbOptions(source=str(folder)), stems=False)
    skipped = pd.read_parquet(out / "manifest" / "skipped.parquet")
    reasons = dict(zip(skipped["path"].map(lambda p: Path(p).name), skipped["reason"]))
    assert set(reasons) == {"broken.wav", "silent.wav", "empty.wav"}
    assert "cannot decode" in reasons["broken.wav"] and "silent" in reasons["silent.wav"]
    assert "empty" in reasons["empty.wav"]
    assert summary.skipped == 3
    events = pd.read_parquet(out / "manifest" / "events.parquet")
    assert (events["response"] == "nested/good.wav").all()
    with pytest.raises(RemixError, match="--strict"):
        _build(tmp_path / "strict", tiny_sources, reverb=ReverbOptions(source=str(folder)), strict=True)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--reverb", "/no/such/folder"], "found nothing there"),
        (["--rt60-s", "0.9", "0.1"], "the lowest first"),
        (["--reverb", "simulated", "--rt60-s", "0.2", "2.0"], "needs image sources up to order 357"),
        (["--reverb", "EMPTY"], "found none"),
        (["--reverb", "BAD"], "none of its 1 WAV file(s) is a usable impulse response"),
    ],
)
def test_impossible_reverberation_options_get_one_line(tiny_sources, tmp_path, args, expected):
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "BAD").mkdir()
    sf.write(str(tmp_path / "BAD" / "silent.wav"), np.zeros(100), 16000)
    args = [str(tmp_path / a) if a in ("EMPTY", "BAD") else a for a in args]
    out = tmp_path / "corpus"
    result = CliRunner().invoke(
        app,
        ["build", "--snr", "0", "--clips-per-fold", "1", "--out", str(out), "--no-progress", "--scenes"]
        + [str(tiny_sources.scenes_dir), "--events", str(tiny_sources.events_dir), *args],
    )
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (out / "manifest").exists()


def test_the_options_file_repeats_a_reverberant_build(tmp_path):
    folder = tmp_path / "irs"
    folder.mkdir()
    for reverb in (SMALL_ROOMS, ReverbOptions(source=str(folder), rt60_s=(0.3, 0.4))):
        text = corpus_toml(RecipeOptions(), RenderSettings(snrs=(0.0,)), seed=0, reverb=reverb)
        path = tmp_path / "build.toml"
        path.write_text(text)
        options = read_config(path)
        assert reverb_options(options).to_dict() == reverb.to_dict()


def test_a_simulated_response_starts_on_its_direct_path_and_decays_as_planned():
    room = RoomPlan(dims_m=(6.0, 5.0, 3.0), rt60_target_s=0.4, mic_m=(3.0, 2.5, 1.5), sources_m=((1.5, 1.8, 1.4),))
    (response,) = simulate_room(room, sample_rate=32000)
    assert int(np.argmax(np.abs(response.h))) == 0 and response.h[0] == 1.0
    assert 0.25 < response.rt60_s < 0.7  # Sabine's formula is an estimate for image sources
    assert response.drr_db < 10.0


def test_rt60_of_an_exponential_decay():
    sr = 16000
    t = np.arange(sr) / sr
    h = np.random.default_rng(1).normal(size=t.size) * 10 ** (-3 * t / 0.5)  # 60 dB of energy in 0.5 s
    assert measure_rt60(h, sample_rate=sr) == pytest.approx(0.5, rel=0.05)
    assert np.isnan(measure_rt60(np.ones(100), sample_rate=sr))


def test_fresh_mixtures_of_a_reverberant_corpus_get_fresh_rooms(simulated):
    sources = corpus_sources(simulated)
    assert sources.rooms is not None

    def fresh(epoch: int):
        return plan_fresh(
            sources.pools, options=sources.recipe, seed=sources.seed, folds=(1, 2), n_per_fold=2, key=(0, epoch),
            rooms=sources.rooms,
        )  # fmt: skip

    first = fresh(0)
    assert all(p.room is not None for p in first)
    assert [p.room for p in fresh(0)] == [p.room for p in first]
    assert [p.room for p in fresh(1)] != [p.room for p in first]
    assert isinstance(sources.rooms, Rooms)


def _whole_file_response(path, *, sample_rate):
    """What load_response computed before it streamed: the whole file decoded, then cut."""
    import soxr

    from remix.reverb import MAX_RESPONSE_S, finish_response

    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    h = data[:, 0]
    h = h[: int(MAX_RESPONSE_S * rate) + int(np.argmax(np.abs(h)))]
    if rate != sample_rate:
        h = soxr.resample(h, rate, sample_rate, quality="VHQ")
    return finish_response(h, peak=int(np.argmax(np.abs(h))), sample_rate=sample_rate)


@pytest.mark.parametrize("rate", [32000, 48000])
def test_a_measured_response_is_read_as_before(tmp_path, rate):
    from remix.reverb import load_response

    rng = np.random.default_rng(2)
    t = np.arange(int(0.8 * rate)) / rate
    h = rng.normal(size=t.size) * 10 ** (-3 * t / 0.3) * 0.1
    h[int(0.01 * rate)] = 0.9  # the direct path, 10 ms in
    path = tmp_path / "room.wav"
    sf.write(path, np.stack([h, 0.5 * h], axis=1), rate, subtype="FLOAT")
    new, old = load_response(path, sample_rate=32000), _whole_file_response(path, sample_rate=32000)
    np.testing.assert_array_equal(new.h, old.h)
    assert new.rt60_s == old.rt60_s and new.drr_db == old.drr_db


def test_a_long_response_file_is_never_decoded_whole(tmp_path, monkeypatch):
    from remix import reverb

    rate = 8000
    n = 40 * 60 * rate  # 40 minutes of two channels
    rng = np.random.default_rng(4)
    path = tmp_path / "long.wav"
    peak = n - 3 * rate
    with sf.SoundFile(path, "w", samplerate=rate, channels=2, subtype="PCM_16") as out:
        for start in range(0, n, 1 << 20):
            block = rng.normal(scale=0.01, size=(min(1 << 20, n - start), 2))
            if start <= peak < start + len(block):
                block[peak - start, 0] = 0.9
            out.write(block)
    sizes = []
    real_read = sf.SoundFile.read

    def read(self, frames=-1, *args, **kwargs):
        sizes.append(self.frames if frames < 0 else frames)
        return real_read(self, frames, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "read", read)
    response = reverb.load_response(path, sample_rate=rate)
    assert max(sizes) <= max(reverb.READ_BLOCK, int((reverb.MAX_RESPONSE_S + reverb.LEAD_S) * rate))
    monkeypatch.setattr(sf.SoundFile, "read", real_read)
    expected = _whole_file_response(path, sample_rate=rate)  # no resampling: the same samples
    np.testing.assert_array_equal(response.h, expected.h)


def test_fresh_mixtures_refuse_sources_rewritten_after_the_build(tiny_sources, tmp_path):
    import os
    import shutil

    from remix.sources.record import RECORD, changed_sources

    root = tmp_path / "standin"
    shutil.copytree(tiny_sources.scenes_dir.parent, root)
    scenes, events_dir = root / tiny_sources.scenes_dir.name, root / tiny_sources.events_dir.name
    folder = tmp_path / "irs"
    folder.mkdir()
    _response_file(folder / "delta.wav", rate=32000, peak=123)
    out = tmp_path / "wet"
    _build(out, SourceFolders(scenes, events_dir), reverb=ReverbOptions(source=str(folder)), stems=False)
    record = pd.read_parquet(out / RECORD)
    assert str(folder / "delta.wav") in set(record["path"]) and record["sha256"].str.len().eq(64).all()
    assert changed_sources(out) == [] and corpus_sources(out).rooms is not None

    event = next(p for p in record["path"] if p.startswith(str(events_dir)))
    audio, rate = sf.read(event, dtype="float64", always_2d=True)
    info = sf.info(event)
    # the same content written again (a copy, a rewritten stand-in): a new time, the same bytes
    original = Path(event).read_bytes()
    Path(event).write_bytes(original)
    os.utime(event, ns=(1, 1))
    assert changed_sources(out) == []
    # other audio of the same length and size: the plans would come out the same, the mixtures not
    sf.write(event, np.flip(audio, axis=0), rate, subtype=info.subtype, format=info.format)
    assert Path(event).stat().st_size == len(original)
    assert changed_sources(out) == [(event, "content differs")]
    with pytest.raises(RemixError, match="changed since it was built .* content differs"):
        corpus_sources(out)
    Path(event).write_bytes(original)
    (folder / "delta.wav").write_bytes((folder / "delta.wav").read_bytes()[:-400])
    assert changed_sources(out)[0][0] == str(folder / "delta.wav") and "size" in changed_sources(out)[0][1]
    (folder / "delta.wav").unlink()
    assert changed_sources(out) == [(str(folder / "delta.wav"), "missing")]
