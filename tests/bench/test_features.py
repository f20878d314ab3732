"""Log-mel features, their cache and the standardiser."""

from __future__ import annotations

import json
import shutil

import librosa
import numpy as np
import pandas as pd
import pytest
import scipy.signal
import soundfile as sf
import torch

from bench.errors import BenchError
from bench.feature_cache import compute_features, feature_cache_paths
from bench.features import LogMel, LogMelSettings, Standardizer, mel_matrix


def reference_log_mel(wave: np.ndarray, settings: LogMelSettings) -> np.ndarray:
    """Direct float64 computation with librosa: (T, F)."""
    window = np.hamming(settings.n_fft)
    spec = np.abs(
        librosa.stft(
            wave.astype(np.float64),
            n_fft=settings.n_fft,
            hop_length=settings.hop_length,
            window=window,
            center=settings.center,
            pad_mode="reflect",
        )
    )
    spec /= np.sqrt(np.sum(window**2))
    mel = librosa.filters.mel(
        sr=settings.sample_rate,
        n_fft=settings.n_fft,
        n_mels=settings.n_mels,
        fmin=settings.fmin,
        fmax=settings.sample_rate / 2,
    )
    return np.log(mel @ spec + settings.log_offset).T


@pytest.fixture(scope="module")
def waves() -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(320000) / 32000
    tone = 0.3 * np.sin(2 * np.pi * 1000 * t) * (t > 3) * (t < 5)
    return np.stack([rng.standard_normal(320000) * 0.05 + tone, rng.standard_normal(320000) * 0.001]).astype(np.float32)


@pytest.mark.parametrize("center", [False, True])
def test_log_mel_matches_librosa(waves, center):
    settings = LogMelSettings(center=center)
    out = LogMel(settings)(torch.from_numpy(waves)).numpy()
    assert out.shape == (2, settings.n_frames(320000), 64)
    for i in range(2):
        np.testing.assert_allclose(out[i], reference_log_mel(waves[i], settings), atol=2e-4, rtol=0)


def test_log_mel_matches_the_original_scipy_spectrogram(waves):
    """The original extraction: scipy spectrogram, magnitude mode, no centre padding."""
    settings = LogMelSettings()
    _, _, spec = scipy.signal.spectrogram(
        waves[0].astype(np.float64),
        window=np.hamming(2048),
        nperseg=2048,
        noverlap=1024,
        detrend=False,
        return_onesided=True,
        mode="magnitude",
    )
    expected = np.log(mel_matrix(settings) @ spec + 1e-8).T
    np.testing.assert_allclose(LogMel(settings)(torch.from_numpy(waves[:1])).numpy()[0], expected, atol=2e-4)


def test_frame_count_is_311_for_10_s():
    settings = LogMelSettings()
    assert settings.n_frames(320000) == 311
    assert LogMelSettings(center=True).n_frames(320000) == 313
    assert settings.hop_s == pytest.approx(0.032)
    assert LogMel(settings)(torch.zeros(1, 320000)).shape == (1, 311, 64)


def test_settings_key_changes_with_settings():
    assert LogMelSettings().key() == LogMelSettings().key()
    assert LogMelSettings().key() != LogMelSettings(n_mels=32).key()
    assert LogMelSettings.from_dict(LogMelSettings(fmin=20.0).to_dict()) == LogMelSettings(fmin=20.0)
    with pytest.raises(BenchError, match="fmin"):
        LogMelSettings(fmin=20000.0)


def test_compute_features_cache_reuse_and_rebuild(fabricated_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(fabricated_corpus, corpus)
    settings = LogMelSettings()
    first = compute_features(corpus, snr_db=20, settings=settings, progress=False, batch_size=4)
    clips = pd.read_parquet(corpus / "manifest" / "clips.parquet")
    at20 = clips[clips["snr_db"] == 20].sort_values("clip_id")
    assert first.clip_ids == at20["clip_id"].tolist()
    assert first.features.shape == (len(at20), 311, 64)
    assert isinstance(first.features, np.memmap)
    # the cached rows equal a direct computation
    wave, _ = sf.read(corpus / at20["audio_path"].iloc[2], dtype="float32")
    np.testing.assert_allclose(first.features[2], reference_log_mel(wave, settings), atol=2e-4)

    array_path, meta_path = feature_cache_paths(corpus, snr_db=20, settings=settings)
    assert array_path.is_file() and meta_path.is_file()
    assert not [p for p in array_path.parent.iterdir() if ".tmp-" in p.name]
    mtime = array_path.stat().st_mtime_ns

    again = compute_features(corpus, snr_db=20, settings=settings, progress=False)
    assert array_path.stat().st_mtime_ns == mtime  # reused, not recomputed
    np.testing.assert_array_equal(again.features, first.features)
    del first, again

    # other settings -> another cache folder
    other = compute_features(corpus, snr_db=20, settings=LogMelSettings(n_mels=32), progress=False)
    assert other.features.shape[-1] == 32
    assert feature_cache_paths(corpus, snr_db=20, settings=LogMelSettings(n_mels=32))[0] != array_path

    # a changed corpus (one clip dropped from the manifest) -> rebuilt, never reused
    fewer = clips[clips["clip_id"] != at20["clip_id"].iloc[0]]
    fewer.to_parquet(corpus / "manifest" / "clips.parquet", index=False)
    rebuilt = compute_features(corpus, snr_db=20, settings=settings, progress=False)
    assert rebuilt.features.shape[0] == len(at20) - 1
    assert json.loads(meta_path.read_text())["clip_ids"] == rebuilt.clip_ids

    # a truncated array file (a new file, not the mapped one) is detected and rebuilt
    expected = np.array(rebuilt.features)
    del rebuilt
    data = array_path.read_bytes()[:100]
    array_path.unlink()
    array_path.write_bytes(data)
    fixed = compute_features(corpus, snr_db=20, settings=settings, progress=False)
    np.testing.assert_array_equal(fixed.features, expected)


def test_feature_set_rows(fabricated_corpus):
    fs = compute_features(fabricated_corpus, snr_db=0, progress=False)
    assert fs.rows([fs.clip_ids[3], fs.clip_ids[0]]).tolist() == [3, 0]
    with pytest.raises(BenchError, match="no features"):
        fs.rows(["nope"])


def test_wrong_sample_rate_and_missing_snr_are_domain_errors(fabricated_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(fabricated_corpus, corpus)
    with pytest.raises(BenchError, match="no clips at SNR 5"):
        compute_features(corpus, snr_db=5, progress=False)
    clips = pd.read_parquet(corpus / "manifest" / "clips.parquet")
    row = clips.iloc[0]
    wave, _ = sf.read(corpus / row["audio_path"])
    sf.write(corpus / row["audio_path"], wave[::2], 16000, format="FLAC")
    with pytest.raises(BenchError, match="16000 Hz"):
        compute_features(corpus, snr_db=row["snr_db"], progress=False)
    (corpus / row["audio_path"]).write_bytes(b"not audio")
    with pytest.raises(BenchError, match="cannot decode .*remix inspect"):
        compute_features(corpus, snr_db=row["snr_db"], progress=False)
    clips["sample_rate"] = 44100
    clips.to_parquet(corpus / "manifest" / "clips.parquet", index=False)
    with pytest.raises(BenchError, match="44100 Hz"):
        compute_features(corpus, snr_db=0, progress=False)
    with pytest.raises(BenchError, match="does not exist; build one with `remix build"):
        compute_features(tmp_path / "nowhere", snr_db=0, progress=False)


def test_standardizer_uses_training_rows_only():
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((6, 5, 3)).astype(np.float32)
    feats[4:] += 1000.0  # rows that must not leak into the statistics
    train = [0, 1, 2, 3]
    std = Standardizer().fit(feats, train, chunk=3)
    flat = feats[train].reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(std.mean, flat.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(std.std, flat.std(axis=0), rtol=1e-5)
    out = std(feats[train])
    np.testing.assert_allclose(out.reshape(-1, 3).mean(axis=0), 0, atol=1e-5)
    torch_out = std(torch.from_numpy(feats[train]))
    np.testing.assert_allclose(torch_out.numpy(), out, atol=1e-6)
    again = Standardizer.from_dict(json.loads(json.dumps(std.to_dict())))
    np.testing.assert_allclose(again(feats), std(feats))
    with pytest.raises(BenchError, match="not fitted"):
        Standardizer()(feats)
    with pytest.raises(BenchError, match="no training rows"):
        Standardizer().fit(feats, [])


def test_features_of_the_built_corpus(tiny_corpus):
    clips = pd.read_parquet(tiny_corpus / "manifest" / "clips.parquet")
    for snr in (0, 20):
        fs = compute_features(tiny_corpus, snr_db=snr, progress=False, batch_size=8)
        expected = sorted(clips.loc[clips["snr_db"] == snr, "clip_id"])
        assert fs.clip_ids == expected
        assert fs.features.shape == (len(expected), 311, 64)
        assert np.isfinite(fs.features).all()
    # the same clip differs between SNRs (only the gains differ, so not identical)
    low = compute_features(tiny_corpus, snr_db=0, progress=False)
    high = compute_features(tiny_corpus, snr_db=20, progress=False)
    assert low.clip_ids == high.clip_ids
    assert not np.allclose(low.features[0], high.features[0])
