"""`bench detect`: windows and stitching, decoding, the run's post-processing, the CLI."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from bench.cli import app
from bench.errors import BenchError
from bench.evaluation.postprocess import detect_events
from bench.features import LogMel, LogMelSettings
from bench.inference.detect import detect, score_recording, window_starts
from bench.inference.export import load_run_scorer
from bench.inference.recordings import UndecodableAudio, collect_audio, decode_audio
from bench.store import RunStore, runs_dir
from remix.labels import EVENT_LABELS

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize(
    "n_frames, window, stride, expected",
    [
        (10, 10, 5, [0]),
        (3, 10, 5, [0]),
        (20, 10, 5, [0, 5, 10]),
        (22, 10, 5, [0, 5, 10, 12]),
        (11, 10, 10, [0, 1]),
    ],
)
def test_window_starts_cover_every_frame_and_end_on_the_last(n_frames, window, stride, expected):
    starts = window_starts(n_frames, window=window, stride=stride)
    assert starts.tolist() == expected
    covered = np.zeros(max(n_frames, window), dtype=bool)
    for s in starts:
        covered[s : s + window] = True
    assert covered.all()


SETTINGS = LogMelSettings(n_mels=16, hop_length=1024)
N_FRAMES = 40  # a window of 40 frames: 2048 + 39 * 1024 samples


class EnergyScorer:
    """A fake model whose frame output is a known function of each frame's own samples,
    so stitched windows must reproduce that function over the whole file."""

    def __init__(self, settings: LogMelSettings = SETTINGS, n_frames: int = N_FRAMES) -> None:
        self.logmel = LogMel(settings)
        self.calls = 0

    def __call__(self, waves):
        self.calls += len(waves)
        with torch.inference_mode():
            mel = self.logmel(torch.as_tensor(waves))  # (W, T, F)
        frame = torch.sigmoid(mel[:, :, :3].mean(-1, keepdim=True) + torch.tensor([0.0, 1.0, -1.0])).numpy()
        return frame.max(axis=1), frame  # (W, 3), (W, T, 3)


def test_stitched_frames_equal_the_whole_file_frames():
    rng = np.random.default_rng(0)
    wave = rng.standard_normal(200_000).astype(np.float32) * np.linspace(0.01, 1, 200_000, dtype=np.float32)
    window = SETTINGS.n_fft + (N_FRAMES - 1) * SETTINGS.hop_length
    scorer = EnergyScorer()
    scores = score_recording(
        scorer,
        wave,
        settings=SETTINGS,
        n_frames=N_FRAMES,
        window_samples=window,
        frame_score="frame_probs",
        overlap=0.5,
    )
    _, whole = scorer(wave[None])
    assert scores.frame_probs.shape == (SETTINGS.n_frames(wave.size), 3) == whole[0].shape
    np.testing.assert_allclose(scores.frame_probs, whole[0], atol=1e-5)
    assert scores.n_windows == len(window_starts(whole.shape[1], window=N_FRAMES, stride=20)) and not scores.padded
    np.testing.assert_allclose(scores.clip_probs, whole[0].max(axis=0), atol=1e-5)  # max over windows
    x_clip = score_recording(
        scorer, wave, settings=SETTINGS, n_frames=N_FRAMES, window_samples=window, frame_score="frame_x_clip"
    )
    assert np.all(x_clip.frame_score <= x_clip.frame_probs + 1e-6) and np.all(x_clip.window_clip_probs > 0)


def test_a_short_recording_is_repeated_to_one_window_and_its_own_frames_kept():
    wave = np.random.default_rng(1).standard_normal(30_000).astype(np.float32)
    window = SETTINGS.n_fft + (N_FRAMES - 1) * SETTINGS.hop_length
    scorer = EnergyScorer()
    scores = score_recording(
        scorer, wave, settings=SETTINGS, n_frames=N_FRAMES, window_samples=window, duration_s=30_000 / 32000
    )
    assert scores.padded and scores.n_windows == 1 and scorer.calls == 1
    assert scores.frame_probs.shape[0] == SETTINGS.n_frames(30_000)
    _, whole = scorer(wave[None])
    np.testing.assert_allclose(scores.frame_probs, whole[0], atol=1e-5)  # frames of the file itself
    with pytest.raises(UndecodableAudio, match="shorter than one analysis window"):
        score_recording(scorer, wave[:1000], settings=SETTINGS, n_frames=N_FRAMES, window_samples=window)


def test_collect_audio_takes_folders_recursively(tmp_path):
    (tmp_path / "a" / "sub").mkdir(parents=True)
    (tmp_path / "a" / ".hidden").mkdir()
    for rel in ("a/x.wav", "a/sub/y.FLAC", "a/.hidden/z.wav", "a/notes.txt", "b.ogg"):
        (tmp_path / rel).write_bytes(b"")
    found = collect_audio([tmp_path / "a", tmp_path / "b.ogg"])
    assert [r.name for r in found] == ["sub/y.FLAC", "x.wav", "b.ogg"]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.wav").write_bytes(b"")
    twice = collect_audio([tmp_path / "a" / "x.wav", tmp_path / "c"])
    assert [r.name for r in twice] == ["x.wav", "x.wav#2"]
    with pytest.raises(BenchError, match="does not exist"):
        collect_audio([tmp_path / "missing.wav"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match="holds no audio files"):
        collect_audio([tmp_path / "empty"])


def test_decode_audio_downmixes_and_resamples(tmp_path):
    t = np.arange(44100 * 2) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), -np.sin(2 * np.pi * 440 * t) + 0.5], axis=1) * 0.5
    sf.write(tmp_path / "s.wav", stereo.astype(np.float32), 44100)
    wave, duration = decode_audio(tmp_path / "s.wav", sample_rate=32000)
    assert duration == pytest.approx(2.0) and wave.dtype == np.float32 and abs(wave.size - 64000) <= 1
    assert np.abs(wave[1000:-1000] - 0.125).max() < 1e-3  # the tones cancel; the mean of the offsets stays
    (tmp_path / "bad.wav").write_bytes(b"RIFF....not audio at all")
    with pytest.raises(UndecodableAudio, match="cannot decode"):
        decode_audio(tmp_path / "bad.wav", sample_rate=32000)


def _val_clip(results, run_id):
    """(audio path, clip id) of the run's first validation clip."""
    store = RunStore(runs_dir(results), run_id)
    config = store.read_config()
    clip_id = store.read_predictions("val")["clip_id"].iloc[0]
    clips = pd.read_parquet(f"{config['corpus_dir']}/manifest/clips.parquet")
    row = clips[(clips["clip_id"] == clip_id) & np.isclose(clips["snr_db"], config["snr_db"])].iloc[0]
    return f"{config['corpus_dir']}/{row['audio_path']}", clip_id


def test_a_corpus_clip_gets_the_runs_own_scores_and_post_processing(trained_2ap, tmp_path):
    results, run_id = trained_2ap
    scorer = load_run_scorer(results, run_id=run_id)
    post = scorer.postprocessing
    assert post is not None and post.n_classes == len(EVENT_LABELS)  # chosen on val by the evaluation
    path, clip_id = _val_clip(results, run_id)
    wave, duration = decode_audio(path, sample_rate=scorer.sample_rate)
    clip, frames = scorer(wave[None, : scorer.window_samples])
    store = RunStore(runs_dir(results), run_id)
    _, _, run_scores = store.prediction_arrays("val", labels=EVENT_LABELS)
    np.testing.assert_allclose(clip[0], run_scores[0], atol=1e-5)  # the run's clip scores
    np.testing.assert_allclose(frames[0], store.read_frame_probs("val")[0].astype(np.float32), atol=2e-3)
    # a 10 s clip is one window: detect gives what bench.evaluation.postprocess gives for the clip
    shutil.copy(path, tmp_path / "clip.flac")
    result = detect(
        [tmp_path / "clip.flac"], results_dir=results, run_id=run_id, out=tmp_path / "ev.tsv", scorer=scorer
    )
    expected = detect_events(frames, clip, post, filenames=["clip.flac"], labels=EVENT_LABELS, duration_s=duration)
    assert result.postprocessing_source == "postprocess.json" and result.processed == ["clip.flac"]
    pd.testing.assert_frame_equal(
        result.events.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    written = pd.read_csv(tmp_path / "ev.tsv", sep="\t")
    assert list(written.columns) == ["filename", "onset", "offset", "event_label"] and len(written) == len(expected)


def test_a_run_without_postprocess_json_uses_the_defaults(trained_2ap, tmp_path):
    results, run_id = trained_2ap
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    (runs_dir(copy) / run_id / "postprocess.json").unlink(missing_ok=True)
    sf.write(tmp_path / "a.wav", np.random.default_rng(0).standard_normal(32000 * 4).astype(np.float32) * 0.1, 32000)
    result = detect([tmp_path / "a.wav"], results_dir=copy, run_id=run_id, out=tmp_path / "ev.tsv")
    post = result.postprocessing
    assert result.postprocessing_source == "default"
    assert set(post.thresholds) == {0.5} and int(post.median_frames()[0]) == 5 and not post.clip_gate


@pytest.fixture(scope="module")
def own_recordings(tmp_path_factory):
    """A stereo 44.1 kHz 25 s recording, a 3 s 16 kHz mono one and a corrupt file, in one folder."""
    folder = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(3)
    t = np.arange(25 * 44100) / 44100
    stereo = 0.05 * rng.standard_normal((t.size, 2))
    burst = (t > 12) & (t < 14)
    stereo[burst, 0] += 0.4 * np.sin(2 * np.pi * 880 * t[burst])
    sf.write(folder / "street.wav", stereo.astype(np.float32), 44100)
    t = np.arange(3 * 16000) / 16000
    sf.write(folder / "short.flac", (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 16000)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage" * 4)
    return folder, {"street.wav": 25.0, "short.flac": 3.0}


def test_detect_cli_on_own_recordings(trained_2ap, own_recordings, tmp_path):
    results, run_id = trained_2ap
    folder, durations = own_recordings
    out = tmp_path / "out" / "events.tsv"
    result = invoke(
        "detect", folder, "--run", run_id, "--results", results, "--out", out, "--scores", tmp_path / "scores", "--plot"
    )
    assert result.exit_code == 1, result.output  # one file skipped
    skipped = [line for line in result.output.splitlines() if "corrupt.wav" in line]
    assert len(skipped) == 1 and "cannot decode" in skipped[0]
    assert "2 file(s)" in result.output and "postprocess.json" in result.output
    events = pd.read_csv(out, sep="\t")
    assert list(events.columns) == ["filename", "onset", "offset", "event_label"]
    assert set(events["filename"]) <= set(durations)
    for name, duration in durations.items():
        rows = events[events["filename"] == name]
        assert (rows["onset"] >= 0).all() and (rows["offset"] <= duration + 1e-6).all()
        assert (rows["offset"] > rows["onset"]).all() and set(rows["event_label"]) <= set(EVENT_LABELS)
        scores = pd.read_csv(tmp_path / "scores" / (name.rsplit(".", 1)[0] + ".tsv"), sep="\t")
        assert list(scores.columns) == ["onset", "offset", *EVENT_LABELS]
        assert scores["onset"].iloc[0] >= 0 and scores["offset"].iloc[-1] <= duration + 1e-6
        assert (np.diff(scores["onset"]) > 0).all() and scores[list(EVENT_LABELS)].to_numpy().max() <= 1.0
        settings = LogMelSettings.from_dict(RunStore(runs_dir(results), run_id).read_config()["features"])
        assert len(scores) == settings.n_frames(int(round(duration * settings.sample_rate)))  # every frame
        png = out.parent / "events_plots" / (name.rsplit(".", 1)[0] + ".png")
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"


def test_detect_cli_errors(trained_2ap, own_recordings, tmp_path):
    results, run_id = trained_2ap
    folder, _ = own_recordings
    nope = invoke("detect", folder / "street.wav", "--run", "nope", "--results", results, "--out", tmp_path / "e.tsv")
    assert nope.exit_code == 2 and "bench list" in nope.output
    missing = invoke(
        "detect", tmp_path / "none.wav", "--run", run_id, "--results", results, "--out", tmp_path / "e.tsv"
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output
    ok = invoke("detect", folder / "short.flac", "--run", run_id, "--results", results, "--out", tmp_path / "e.tsv")
    assert ok.exit_code == 0, ok.output
