"""The reference models that ship with the toolkit: found by name, loaded safely, usable by detect and export."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bench.cli import app
from bench.errors import BenchError
from bench.inference.checkpoint import load_checkpoint
from bench.store import find_run, reference_models_dir

runner = CliRunner()
SHIPPED = ("gap", "gmp", "gwrp", "atrous_ap", "2ap_aux")


@pytest.mark.parametrize("model", SHIPPED)
def test_each_table1_system_ships_at_20_db_with_its_config_and_post_processing(model):
    store = find_run("nowhere", f"reference:{model}")
    assert store.root == reference_models_dir() and store.run_id == f"{model}-20dB"
    config = json.loads((store.path / "config.json").read_text())
    assert config["model"] == model and config["preset"] == "cpu-full" and config["snr_db"] == 20.0
    assert config["seed"] == 0 and config["corpus_dir"] == "data/corpus_recorded"
    assert (store.path / "postprocess.json").is_file()
    assert json.loads((store.path / "metrics.json").read_text())["best_val_micro_ap"] > 0.5
    net, state = load_checkpoint(store.checkpoint_path)  # the safe loader every run goes through
    assert net.config.name == model and net.config.n_frames == 77 and "standardizer" in state


def test_unknown_reference_names_what_ships():
    with pytest.raises(BenchError, match=r"no reference model 'vgg'.*reference:atrous_ap@20"):
        find_run("results", "reference:vgg")
    with pytest.raises(BenchError, match="reference:MODEL@SNR"):
        find_run("results", "reference:gap@loud")


def test_detect_and_export_take_a_reference_model(tiny_corpus, tmp_path):
    audio = sorted((tiny_corpus / "audio").rglob("*.flac"))[0]
    out = tmp_path / "events.tsv"
    result = runner.invoke(app, ["detect", str(audio), "--run", "reference:atrous_ap", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("filename\tonset\toffset\tevent_label")
    assert "the run's post-processing (postprocess.json)" in " ".join(result.output.split())
    exported = runner.invoke(app, ["export", "--run", "reference:gwrp", "--out", str(tmp_path / "m.pt")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "m.pt").stat().st_size > 50_000


def test_messages_name_the_real_case(tmp_path):
    folder = tmp_path / "adir"
    folder.mkdir()
    result = runner.invoke(app, ["export", "--run", "reference:gap", "--out", str(folder)])
    assert result.exit_code == 2 and "model.pt" in result.output and "events.tsv" not in result.output
    from bench.evaluation.bootstrap import method

    assert "held-out test clips resampled" in method("test") and "validation clips resampled" in method("val")


def test_exported_model_names_bad_input_plainly(tmp_path):
    import torch

    out = tmp_path / "m.pt"
    assert runner.invoke(app, ["export", "--run", "reference:gap", "--out", str(out)]).exit_code == 0
    model = torch.jit.load(str(out))
    cases = [
        ((torch.zeros(32000, dtype=torch.complex64),), "complex samples are not audio"),
        ((torch.zeros(32000, dtype=torch.uint8),), "other than int16 / int32 .*not PCM"),
        ((torch.zeros(1, 0, 32000),), "no channels"),
        ((torch.zeros(88200, 2),), "pass its transpose, wave.T"),
        ((torch.zeros(96000), 44100), "reads audio at 32000 Hz; the waveform is at 44100 Hz"),
    ]
    for args, message in cases:
        with pytest.raises(Exception, match=message):
            model(*args)
    assert model(torch.zeros(96000), 32000)["clip_probs"].shape == (1, 41)
