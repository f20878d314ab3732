"""What a shared run folder or a careless command line must not do: run code, overwrite inputs,
mix corpora, write outside the results, grow without bound, or end in a traceback."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from bench.cli import app
from bench.corpus import check_same_corpus, manifest_digest
from bench.errors import BenchError
from bench.features import LogMelSettings
from bench.inference.detect import score_recording, score_stream
from bench.inference.export import export_run, load_exported
from bench.store import RunStore, load_torch, runs_dir
from remix.lock import shared_lock

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


class Payload:
    """Unpickling this creates a file: the stand-in for code a crafted checkpoint would run."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def crafted(trained_2ap, tmp_path):
    """A copy of a finished run whose checkpoint carries a payload besides its real content."""
    results, run_id = trained_2ap
    copy = tmp_path / "results"
    shutil.copytree(results / "runs" / run_id, copy / "runs" / run_id)
    marker = tmp_path / "payload-ran"
    store = RunStore(runs_dir(copy), run_id)
    state = torch.load(store.checkpoint_path, weights_only=True)
    state["extra"] = Payload(str(marker))
    torch.save(state, store.checkpoint_path)
    return copy, run_id, marker


def test_a_crafted_checkpoint_is_refused_unread_by_every_command(crafted, tmp_path):
    results, run_id, marker = crafted
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(32000, dtype=np.float32), 32000)
    commands = [
        ("detect", wav, "--run", run_id, "--results", results, "--out", tmp_path / "e.tsv"),
        ("export", "--run", run_id, "--results", results, "--out", tmp_path / "m.pt"),
        ("plot", "--run", run_id, "--results", results),
    ]
    for args in commands:
        result = invoke(*args)
        assert result.exit_code == 2, (args[0], result.output)
        assert "refused unread" in result.output and "checkpoint.pt" in result.output
    probe = invoke("probe", "--results", results)
    assert probe.exit_code == 2 and "refused unread" in probe.output and "could be probed" in probe.output
    assert not marker.exists()
    with pytest.raises(BenchError, match="refused unread"):
        load_torch(RunStore(runs_dir(results), run_id).checkpoint_path, what="the checkpoint", advice="x")
    assert not marker.exists()


def test_a_crafted_training_state_is_set_aside_not_loaded(trained_2ap, tmp_path):
    results, run_id = trained_2ap
    copy = tmp_path / "results"
    shutil.copytree(results / "runs" / run_id, copy / "runs" / run_id)
    store = RunStore(runs_dir(copy), run_id)
    marker = tmp_path / "payload-ran"
    torch.save({"model": {}, "epoch": 1, "extra": Payload(str(marker))}, store.last_path)
    note = store.repair_resume_state()
    assert note is not None and "refused unread" in note
    assert not store.last_path.exists() and not marker.exists()


# --------------------------------------------------------------------------- outputs


def test_detect_never_overwrites_a_recording_or_an_existing_output(trained_2ap, tmp_path):
    results, run_id = trained_2ap
    recs = tmp_path / "recs"
    recs.mkdir()
    sf.write(recs / "a.wav", np.random.default_rng(0).normal(0, 0.1, 40000).astype(np.float32), 32000)
    before = (recs / "a.wav").read_bytes()
    same = invoke("detect", recs, "--run", run_id, "--results", results, "--out", recs / "a.wav", "--overwrite")
    assert same.exit_code == 2 and "one of the input files" in same.output
    assert (recs / "a.wav").read_bytes() == before
    out = tmp_path / "events.tsv"
    out.write_text("mine\n")
    taken = invoke("detect", recs, "--run", run_id, "--results", results, "--out", out)
    assert taken.exit_code == 2 and "exists; pass --overwrite" in taken.output and out.read_text() == "mine\n"
    folder = invoke("detect", recs, "--run", run_id, "--results", results, "--out", tmp_path)
    assert folder.exit_code == 2 and "is a folder" in folder.output
    scores = tmp_path / "scores"
    scores.mkdir()
    (scores / "a.tsv").write_text("mine\n")
    kept = invoke(
        "detect", recs, "--run", run_id, "--results", results, "--out", tmp_path / "new.tsv", "--scores", scores
    )
    assert kept.exit_code == 2 and "a.tsv" in kept.output and (scores / "a.tsv").read_text() == "mine\n"
    assert not (tmp_path / "new.tsv").exists()
    ok = invoke("detect", recs, "--run", run_id, "--results", results, "--out", out, "--overwrite")
    assert ok.exit_code == 0 and out.read_text().startswith("filename\tonset")


def test_detect_refuses_an_output_folder_it_cannot_write_before_any_work(trained_2ap, tmp_path):
    results, run_id = trained_2ap
    sf.write(tmp_path / "a.wav", np.zeros(40000, dtype=np.float32), 32000)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output's folder should be")
    result = invoke("detect", tmp_path / "a.wav", "--run", run_id, "--results", results, "--out", blocker / "e.tsv")
    assert result.exit_code == 2 and "is a file, not a folder" in " ".join(result.output.split())


def test_detect_writes_nothing_when_no_file_can_be_processed(trained_2ap, tmp_path):
    results, run_id = trained_2ap
    (tmp_path / "notes.wav").write_text("not audio")
    sf.write(tmp_path / "tiny.wav", np.zeros(100, dtype=np.float32), 32000)
    out = tmp_path / "e.tsv"
    result = invoke(
        "detect", tmp_path / "notes.wav", tmp_path / "tiny.wav", "--run", run_id, "--results", results, "--out", out
    )
    assert result.exit_code == 2 and "nothing was written" in result.output and not out.exists()
    assert "tiny.wav" in result.output  # the too-short file is named


def test_export_refuses_an_existing_file_and_the_module_checks_its_input(trained_2ap, tmp_path):
    results, run_id = trained_2ap
    out = tmp_path / "m.pt"
    out.write_bytes(b"keep")
    refused = invoke("export", "--run", run_id, "--results", results, "--out", out)
    assert refused.exit_code == 2 and "exists" in refused.output and out.read_bytes() == b"keep"
    export_run(results, run_id=run_id, out=out, overwrite=True)
    module, meta = load_exported(out)
    window = meta["window_samples"]
    with pytest.raises(Exception, match="empty input"):
        module(torch.zeros(0, window))
    with pytest.raises(Exception, match="NaN or infinite"):
        module(torch.full((1, window), float("nan")))
    with pytest.raises(Exception, match="not PCM"):
        module(torch.zeros(1, window, dtype=torch.int64))
    pcm = (np.random.default_rng(1).uniform(-0.5, 0.5, (1, window)) * 32768).astype(np.int16)
    clip_int = module(torch.from_numpy(pcm))["clip_probs"]
    clip_float = module(torch.from_numpy(pcm.astype(np.float32) / 32768.0))["clip_probs"]
    torch.testing.assert_close(clip_int, clip_float)


# --------------------------------------------------------------------------- corpus pinning


def test_localise_refuses_a_corpus_that_changed_since_training(trained_2ap, tmp_path):
    results, run_id = trained_2ap
    config = RunStore(runs_dir(results), run_id).read_config()
    corpus = tmp_path / "corpus"
    shutil.copytree(config["corpus_dir"], corpus, ignore=shutil.ignore_patterns("features"))
    assert config["corpus_manifest_digest"] == manifest_digest(corpus)
    check_same_corpus(config, corpus, doing="check")  # the same bytes: fine
    events = pd.read_parquet(corpus / "manifest" / "events.parquet")
    events["onset_s"] = events["onset_s"] + 0.25  # a rebuild with other onsets, same clips
    events.to_parquet(corpus / "manifest" / "events.parquet", index=False)
    with pytest.raises(BenchError, match="changed since run .* was trained"):
        check_same_corpus(config, corpus, doing="localise")
    copy = tmp_path / "results"
    shutil.copytree(results / "runs" / run_id, copy / "runs" / run_id)
    result = invoke("localise", "--results", copy, "--corpus", corpus)
    assert result.exit_code != 0 and "changed since run" in " ".join(result.output.split())
    before = json.loads((copy / "runs" / run_id / "metrics.json").read_text())
    assert before == json.loads((results / "runs" / run_id / "metrics.json").read_text())


def test_a_rebuild_with_overwrite_waits_for_no_training_run(tiny_corpus, tmp_path):
    from remix.lock import FolderBusy
    from remix.outdir import prepare_out_dir

    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, corpus, ignore=shutil.ignore_patterns("features"))
    with shared_lock(corpus) as held:
        assert held
        with pytest.raises(FolderBusy, match="being read by a training run"):
            prepare_out_dir(corpus, {"seed": "other"}, overwrite=True)
    assert (corpus / "manifest" / "clips.parquet").is_file()  # nothing deleted


# --------------------------------------------------------------------------- streaming


class MeanScorer:
    def __call__(self, waves):
        mel = np.log1p(np.abs(np.asarray(waves)).reshape(len(waves), -1, 1024)[:, :40].mean(-1))
        frame = 1 / (1 + np.exp(-mel[:, :, None] * np.array([1.0, -1.0])))
        return frame.max(axis=1), frame


@pytest.mark.parametrize("block", [1000, 7777, 100_000])
def test_streamed_scores_equal_whole_file_scores(block):
    settings = LogMelSettings(n_mels=16, n_fft=1024, hop_length=1024)
    rng = np.random.default_rng(2)
    wave = rng.standard_normal(250_000).astype(np.float32)
    whole = score_recording(MeanScorer(), wave, settings=settings, n_frames=40, window_samples=40 * 1024)
    pieces = [wave[i : i + block] for i in range(0, len(wave), block)]
    streamed = score_stream(
        MeanScorer(), pieces, settings=settings, n_frames=40, window_samples=40 * 1024, duration_s=len(wave) / 32000
    )
    np.testing.assert_allclose(streamed.frame_score, whole.frame_score, rtol=1e-6)
    np.testing.assert_allclose(streamed.clip_probs, whole.clip_probs, rtol=1e-6)
    assert streamed.n_windows == whole.n_windows


def test_a_results_folder_that_cannot_be_locked(trained_2ap, tiny_corpus, monkeypatch):
    import contextlib

    import remix.lock
    from bench.config import RunConfig
    from bench.training.grid import run_grid

    results, run_id = trained_2ap
    config = RunStore(runs_dir(results), run_id).read_config()
    done = RunConfig.from_dict({**config, "corpus": config["corpus_fingerprint"]})
    assert done.run_id == run_id

    @contextlib.contextmanager
    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
        yield

    monkeypatch.setattr(remix.lock, "folder_lock", read_only)
    summary = run_grid([done], results_dir=results, corpus_dir=tiny_corpus, device="cpu")  # nothing to write
    assert summary.skipped == [run_id] and not summary.done
    other = RunConfig(model="gap", alpha=0.0, snr_db=0.0, seed=9, preset="smoke", corpus=done.corpus)
    with pytest.raises(BenchError, match="cannot write in the results folder"):
        run_grid([done, other], results_dir=results, corpus_dir=tiny_corpus, device="cpu")


def test_probe_shift_must_be_finite(trained_2ap):
    results, _ = trained_2ap
    result = invoke("probe", "--results", results, "--shift", "nan")
    assert result.exit_code == 2 and "finite" in result.output


def test_messages_say_what_is_wrong(tmp_path):
    from bench.inference.recordings import UndecodableAudio, audio_info

    (tmp_path / "bad.mp3").write_bytes(bytes(range(256)) * 20)
    with pytest.raises(UndecodableAudio, match="not an audio file libsndfile can read") as caught:
        audio_info(tmp_path / "bad.mp3")
    assert "does not exist" not in str(caught.value)
    recs = tmp_path / "recordings"
    recs.mkdir()
    sf.write(recs / "a.wav", np.zeros(1000, dtype=np.float32), 32000)
    result = invoke("run", "--model", "gap", "--corpus", recs, "--results", tmp_path / "r")
    assert result.exit_code == 2 and "not a corpus built by remix" in " ".join(result.output.split())
    assert "--out " + str(recs) not in result.output  # never advises building into a folder of recordings


def test_remix_inspect_on_a_missing_folder(tmp_path):
    from remix.cli import app as remix_app

    result = runner.invoke(remix_app, ["inspect", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "does not exist" in result.output
