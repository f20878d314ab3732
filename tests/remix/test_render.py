"""Rendering: placement, mix = sum of stems, the achieved SNR in both modes, clipping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyloudnorm
import pytest
import soundfile as sf
import soxr

import remix.render as render_mod
from remix.build import RunOptions, SourceFolders, build_corpus
from remix.recipe import RecipeOptions
from remix.render import FULL_SCALE, RenderSettings

SR = 32000
SNRS = (-5.0, 10.0, 30.0)


def _build(tmp_path_factory, sources, name, *, snr_mode: str = "rms", **recipe):
    out = tmp_path_factory.mktemp(name) / "corpus"
    build_corpus(
        out,
        recipe=RecipeOptions(clips_per_fold=1, test_clips=1, **recipe),
        render=RenderSettings(snrs=SNRS, snr_mode=snr_mode, stems=True),
        sources=SourceFolders(sources.scenes_dir, sources.events_dir),
        run=RunOptions(progress=False),
    )
    return out


@pytest.fixture(scope="module")
def rms_corpus(tiny_sources, tmp_path_factory):
    return _build(tmp_path_factory, tiny_sources, "rms")


@pytest.fixture(scope="module")
def lufs_corpus(tiny_sources, tmp_path_factory):
    return _build(tmp_path_factory, tiny_sources, "lufs", snr_mode="lufs", recipe="random", max_polyphony=2)


def _manifests(out: Path):
    return pd.read_parquet(out / "manifest/clips.parquet"), pd.read_parquet(out / "manifest/events.parquet")


def _source(events_dir: Path, source_file: str) -> np.ndarray:
    """The source, decoded independently: channel mean, resampled to 32 kHz."""
    data, rate = sf.read(str(events_dir / source_file), dtype="float64", always_2d=True)
    return soxr.resample(data.mean(axis=1), rate, SR)


def _read(path: Path) -> np.ndarray:
    return sf.read(str(path), dtype="float64")[0]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.mark.parametrize("corpus", ["rms_corpus", "lufs_corpus"])
def test_mix_is_the_sum_of_its_stems_and_events_sit_where_listed(corpus, request):
    out = request.getfixturevalue(corpus)
    clips, events = _manifests(out)
    for row in clips.itertuples():
        mix = _read(out / row.audio_path)
        assert mix.shape == (int(row.duration_s * SR),)
        total = _read(out / row.scene_stem_path)
        for ev in events[(events.clip_id == row.clip_id) & (events.snr_db == row.snr_db)].itertuples():
            stem = _read(out / ev.stem_path)
            on, off = round(ev.onset_s * SR), round(ev.offset_s * SR)
            assert not stem[:on].any() and not stem[off:].any()  # silent outside onset/offset
            assert np.abs(stem[on:off]).max() > 0
            total += stem
        assert np.abs(mix - total).max() < 2.0 / 32768  # 16-bit quantisation only


def test_rms_snr_is_achieved(rms_corpus, tiny_sources):
    clips, events = _manifests(rms_corpus)
    scene_rms = {(r.clip_id, r.snr_db): _rms(_read(rms_corpus / r.scene_stem_path)) for r in clips.itertuples()}
    checked = 0
    for ev in events.itertuples():
        src = _source(tiny_sources.events_dir, ev.source_file)
        on, off = round(ev.onset_s * SR), round(ev.offset_s * SR)
        start = round(ev.source_start_s * SR)
        placed = _read(rms_corpus / ev.stem_path)[on:off]
        gain = _rms(placed) / _rms(src[start : start + off - on])
        snr = 20 * np.log10(gain * _rms(src) / scene_rms[(ev.clip_id, ev.snr_db)])
        assert snr == pytest.approx(ev.snr_db, abs=0.2)
        checked += 1
    assert checked == len(clips) * 3


def test_lufs_snr_is_achieved(lufs_corpus):
    clips, events = _manifests(lufs_corpus)
    meter = pyloudnorm.Meter(SR, block_size=0.4)

    def loudness(x):
        while len(x) < SR // 2:  # Scaper: short events are repeated before measuring
            x = np.concatenate([x, x])
        return max(meter.integrated_loudness(x), -70.0)

    scene = {(r.clip_id, r.snr_db): loudness(_read(lufs_corpus / r.scene_stem_path)) for r in clips.itertuples()}
    for ev in events.itertuples():
        on, off = round(ev.onset_s * SR), round(ev.offset_s * SR)
        event = loudness(_read(lufs_corpus / ev.stem_path)[on:off])
        assert event - scene[(ev.clip_id, ev.snr_db)] == pytest.approx(ev.snr_db, abs=0.2)


def test_clipping_scales_the_whole_clip(rms_corpus):
    clips, _ = _manifests(rms_corpus)
    assert (clips["peak_scale"] < 1).any()  # scenes at RMS 1 cannot fit 16 bits unscaled
    for row in clips.itertuples():
        mix = _read(rms_corpus / row.audio_path)
        scene = _read(rms_corpus / row.scene_stem_path)
        # the scene was set to RMS 1 and then scaled with everything else by peak_scale
        assert _rms(scene) == pytest.approx(row.peak_scale, rel=1e-3)
        if row.peak_scale < 1:
            assert np.abs(mix).max() == pytest.approx(FULL_SCALE, abs=2e-4)
        else:
            assert np.abs(mix).max() <= FULL_SCALE


def test_same_layout_at_every_snr(rms_corpus):
    clips, events = _manifests(rms_corpus)
    by_snr = [
        g.drop(columns=["snr_db", "gain_db", "stem_path"]).reset_index(drop=True) for _, g in events.groupby("snr_db")
    ]
    for other in by_snr[1:]:
        pd.testing.assert_frame_equal(by_snr[0], other)
    scenes = clips.groupby("clip_id")["scene_file"].nunique()
    assert (scenes == 1).all()


def test_random_recipe_fades_at_cuts(lufs_corpus):
    clips, events = _manifests(lufs_corpus)
    cut = events[events["fade_in_s"] > 0]
    assert len(cut)  # random offsets into the sources produce cuts
    for ev in cut.itertuples():
        stem = _read(lufs_corpus / ev.stem_path)
        on = round(ev.onset_s * SR)
        assert stem[on] == 0.0  # the fade starts from silence
        assert np.abs(stem[on : on + 8]).max() < np.abs(stem[on : round(ev.offset_s * SR)]).max()


# ------------------------------------------------------ own WAV reader and writer: libsndfile's samples and bytes


def _libsndfile_mono(path: Path) -> np.ndarray:
    data, _ = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data[:, 0].copy()
    for c in range(1, data.shape[1]):
        mono += data[:, c]
    if data.shape[1] > 1:
        mono *= np.float32(1.0 / data.shape[1])
    return mono


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_wav_reader_gives_libsndfiles_samples(tmp_path, monkeypatch, subtype, channels):
    monkeypatch.setattr(render_mod, "_BLOCK_FRAMES", 1000)  # several blocks and a partial last one
    full = 2 ** (15 if subtype == "PCM_16" else 23)
    ints = np.random.default_rng(channels).integers(-full, full, size=(2345, channels))
    ints[:4, 0] = [-full, full - 1, 0, -1]
    ints[:4, -1] = [-full, full - 1, -full, full - 1]  # sums that round in float32
    path = tmp_path / "x.wav"
    sf.write(str(path), ints / full, 44100, subtype=subtype)
    mono, rate = render_mod._wav_pcm_mono(path)
    ref = _libsndfile_mono(path)
    assert rate == 44100 and mono.dtype == np.float32
    assert mono.tobytes() == ref.tobytes()
    cut = tmp_path / "cut.wav"  # a data chunk longer than the file: read to its end, the partial frame dropped
    cut.write_bytes(path.read_bytes()[:-5])
    assert render_mod._wav_pcm_mono(cut)[0].tobytes() == _libsndfile_mono(cut).tobytes()
    resampled = soxr.resample(ref, 44100, 32000, quality="HQ")
    assert render_mod.load_mono(path, sample_rate=32000).tobytes() == resampled.tobytes()


@pytest.mark.parametrize(
    ("fmt", "subtype"), [("WAV", "FLOAT"), ("WAVEX", "PCM_24"), ("FLAC", "PCM_16"), ("WAV", "PCM_U8")]
)
def test_other_files_go_to_libsndfile(tmp_path, fmt, subtype):
    path = tmp_path / ("x.flac" if fmt == "FLAC" else "x.wav")
    sf.write(str(path), 0.1 * np.random.default_rng(0).standard_normal((500, 2)), 8000, format=fmt, subtype=subtype)
    assert render_mod._wav_pcm_mono(path) is None
    assert render_mod.load_mono(path, sample_rate=8000).tobytes() == _libsndfile_mono(path).tobytes()


def test_pcm16_wav_writer_writes_libsndfiles_bytes(tmp_path):
    pcm = np.random.default_rng(0).integers(-32768, 32768, size=32001).astype(np.int16)
    ours, theirs = tmp_path / "ours.wav", tmp_path / "theirs.wav"
    render_mod.write_wav(ours, pcm, sample_rate=32000, subtype="PCM_16")
    sf.write(str(theirs), pcm, 32000, format="WAV", subtype="PCM_16")
    assert ours.read_bytes() == theirs.read_bytes()


def test_source_cache_shares_read_only_signals_and_rereads_a_changed_file(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(str(path), 0.1 * np.random.default_rng(0).standard_normal(4410), 44100, subtype="PCM_16")
    cache = render_mod.SourceCache(max_bytes=2**20)
    signal, level = cache.get(str(path), sample_rate=SR)
    assert cache.signal(str(path), sample_rate=SR) is signal  # decoded once
    assert not signal.flags.writeable
    assert signal.tobytes() == render_mod.load_mono(path, sample_rate=SR).tobytes()
    assert level == render_mod.rms(signal)
    sf.write(str(path), 0.2 * np.random.default_rng(1).standard_normal(8820), 44100, subtype="PCM_16")
    changed = cache.signal(str(path), sample_rate=SR)  # a new size: decoded again
    assert changed.tobytes() == render_mod.load_mono(path, sample_rate=SR).tobytes()
    small = render_mod.SourceCache(max_bytes=1)  # over budget: only the newest entry stays
    small.signal(str(path), sample_rate=SR)
    small.signal(str(path), sample_rate=16000)
    assert len(small._items) == 1


def test_cached_scenes_render_the_same_bytes(tiny_sources, tmp_path):
    from remix.recipe import plan_corpus
    from remix.sources import read_fsd2018, read_tau2019

    scenes = read_tau2019(tiny_sources.scenes_dir)
    events = read_fsd2018(tiny_sources.events_dir)
    events["n_samples"] = 2 * SR
    events["source_file"] = [str(Path(p).relative_to(tiny_sources.events_dir)) for p in events["path"]]
    plan = plan_corpus(scenes, events, options=RecipeOptions(clips_per_fold=1, test_clips=0), seed=0)[0]
    settings = RenderSettings(snrs=(0.0,), audio_format="wav")
    scene_cache = render_mod.SourceCache()
    for name in ("first", "cached", "fresh"):
        render_mod.render_clip(
            plan,
            settings=settings,
            out_dir=tmp_path / name,
            cache=render_mod.SourceCache(),
            scene_cache=render_mod.SourceCache() if name == "fresh" else scene_cache,
        )
    files = sorted(p.relative_to(tmp_path / "fresh") for p in (tmp_path / "fresh").rglob("*.wav"))
    assert files
    for rel in files:
        fresh = (tmp_path / "fresh" / rel).read_bytes()
        assert (tmp_path / "first" / rel).read_bytes() == fresh == (tmp_path / "cached" / rel).read_bytes()
