"""`bench export`: one TorchScript file that runs with torch alone and reproduces the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from bench.cli import app
from bench.errors import BenchError
from bench.features import LogMelSettings
from bench.inference.export import export_run, load_exported, window_samples
from bench.store import RunStore, runs_dir
from remix.labels import EVENT_LABELS

runner = CliRunner()

STANDALONE = """
import json, sys
import numpy as np, torch
model = torch.jit.load(sys.argv[1])                # the README's example, as written there
out = model(torch.from_numpy(np.load(sys.argv[2])))
np.save(sys.argv[3], out["clip_probs"].numpy())
project = sorted(m for m in sys.modules if m.split(".")[0] in ("bench", "models", "remix"))
print(json.dumps({"project_modules": project, "classes": list(model.class_names), "rate": model.sample_rate,
                  "frames": list(out["frame_probs"].shape), "times": out["frame_times"][:2].tolist(),
                  "grad": out["clip_probs"].requires_grad, "model": model.metadata["model"],
                  "meta_classes": json.loads(model.metadata["class_names"])}))
"""


@pytest.fixture(scope="module")
def exported(trained_2ap, tmp_path_factory):
    results, run_id = trained_2ap
    out = tmp_path_factory.mktemp("export") / "model.pt"
    result = runner.invoke(app, ["export", "--run", run_id, "--results", str(results), "--out", str(out)])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return results, run_id, out


def _val_waves(results, run_id, n: int):
    """The first n validation clips of the run as (n, samples) and their clip ids."""
    store = RunStore(runs_dir(results), run_id)
    config = store.read_config()
    clip_ids = store.read_predictions("val")["clip_id"].tolist()[:n]
    clips = pd.read_parquet(f"{config['corpus_dir']}/manifest/clips.parquet")
    clips = clips[np.isclose(clips["snr_db"], config["snr_db"])].set_index("clip_id")
    waves = [sf.read(f"{config['corpus_dir']}/{clips.loc[c, 'audio_path']}", dtype="float32")[0] for c in clip_ids]
    return np.stack(waves), clip_ids


def test_the_exported_model_reproduces_the_runs_clip_scores_with_torch_alone(exported, tmp_path):
    results, run_id, path = exported
    store = RunStore(runs_dir(results), run_id)
    config = store.read_config()
    settings = LogMelSettings.from_dict(config["features"])
    module, meta = load_exported(path)
    waves, clip_ids = _val_waves(results, run_id, 4)  # whole 10 s clips: the module windows them itself
    np.save(tmp_path / "waves.npy", waves)
    # a fresh interpreter, outside the source tree, that imports torch and numpy only
    proc = subprocess.run(
        [sys.executable, "-c", STANDALONE, str(path), str(tmp_path / "waves.npy"), str(tmp_path / "clip.npy")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["project_modules"] == []
    assert report["classes"] == list(EVENT_LABELS) == report["meta_classes"]
    assert report["rate"] == settings.sample_rate and report["frames"] == [4, meta["n_frames"], len(EVENT_LABELS)]
    assert report["model"] == "2ap_aux" and not report["grad"]
    assert report["times"] == pytest.approx([settings.frame_start_s, settings.frame_start_s + settings.hop_s])
    ids, _, run_scores = store.prediction_arrays("val", labels=EVENT_LABELS)
    assert ids[:4] == clip_ids
    np.testing.assert_allclose(np.load(tmp_path / "clip.npy"), run_scores[:4], atol=1e-5, rtol=0)
    # the run's frame probabilities too (stored as float16)
    frames = module(__import__("torch").from_numpy(waves))["frame_probs"]
    np.testing.assert_allclose(frames.numpy(), store.read_frame_probs("val")[:4].astype(np.float32), atol=2e-3, rtol=0)


def test_the_exported_model_takes_any_waveform(exported):
    import torch

    _, _, path = exported
    module, meta = load_exported(path)
    rate, n_classes = meta["sample_rate"], len(EVENT_LABELS)
    noise = torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, 37 * rate).astype(np.float32))
    for wave, batch in (
        (noise, 1),  # 37 s, 1-D
        (noise[: 5 * rate], 1),  # 5 s: shorter than a window, repeated to fill it
        (torch.stack([noise[: 12 * rate], noise[rate : 13 * rate]]), 2),  # a batch
        (torch.stack([noise[: 12 * rate]] * 2)[None], 1),  # (batch, channels, samples)
        (noise.double(), 1),  # float64
        ((noise * 32767).to(torch.int16), 1),  # int16 PCM
    ):
        out = module(wave)
        frames = 1 + (wave.shape[-1] - meta["features"]["n_fft"]) // meta["features"]["hop_length"]
        assert out["clip_probs"].shape == (batch, n_classes) and out["frame_probs"].shape == (batch, frames, n_classes)
        assert out["frame_times"].shape == (frames,) and not out["clip_probs"].requires_grad
    # int16 and float give the same scores; channels are averaged
    torch.testing.assert_close(
        module((noise * 32767).to(torch.int16))["clip_probs"], module(noise * 32767 / 32768)["clip_probs"]
    )
    stereo = torch.stack([noise, noise])[None]
    torch.testing.assert_close(module(stereo)["frame_probs"], module(noise)["frame_probs"])
    for bad, message in (
        (torch.zeros(0), "empty input"),
        (torch.full((40000,), float("nan")), "NaN"),
        (torch.zeros(100), "shorter than one analysis window"),
    ):
        with pytest.raises(Exception, match=message):
            module(bad)
    import bench.inference.export

    source_tree = str(Path(bench.inference.export.__file__).resolve().parents[1]).encode()
    assert source_tree not in path.read_bytes()  # no path of the machine that exported it


def test_the_metadata_carries_features_classes_and_post_processing(exported):
    results, run_id, path = exported
    module, meta = load_exported(path)
    config = RunStore(runs_dir(results), run_id).read_config()
    settings = LogMelSettings.from_dict(meta["features"])
    assert meta["features"] == config["features"] and meta["run_id"] == run_id and meta["model"] == "2ap_aux"
    assert meta["window_samples"] == module.window_samples == window_samples(settings, meta["n_frames"])
    assert settings.n_frames(meta["window_samples"]) == meta["n_frames"] == 311
    assert meta["hop_s"] == pytest.approx(settings.hop_s) and meta["frame_start_s"] == pytest.approx(
        settings.frame_start_s
    )
    post = json.loads((runs_dir(results) / run_id / "postprocess.json").read_text())
    assert meta["postprocessing"] == post
    with pytest.raises(Exception, match="expected a waveform of shape"):
        module(__import__("torch").zeros(1, 1, 1, 1000))


def test_export_errors(trained_2ap, tmp_path):
    results, _ = trained_2ap
    with pytest.raises(BenchError, match="no run 'nope'"):
        export_run(results, run_id="nope", out=tmp_path / "m.pt")
    result = runner.invoke(app, ["export", "--run", "nope", "--results", str(results), "--out", str(tmp_path / "m.pt")])
    assert result.exit_code == 2 and "Traceback" not in result.output and "bench list" in result.output
    (tmp_path / "not.pt").write_bytes(b"nothing")
    with pytest.raises(BenchError, match="not a model written by `bench export`"):
        load_exported(tmp_path / "not.pt")


def test_the_readmes_export_example_runs_as_written(exported, tmp_path):
    import re
    import shutil

    _, _, path = exported
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"```python\n(import torch\n\nmodel = torch\.jit\.load\(\"model\.pt\"\).*?)```", readme, re.S)
    assert block, "the README's export example"
    shutil.copy(path, tmp_path / "model.pt")
    code = block.group(1) + "\nprint(tuple(out['frame_probs'].shape), len(model.class_names))\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(", 41) 41")  # (1, T, 41) frame outputs of the 41 classes


def test_a_unique_prefix_names_a_run(trained_2ap, tmp_path):
    from bench.store import find_run

    results, run_id = trained_2ap
    assert find_run(results, run_id[:4]).run_id == run_id
    out = export_run(results, run_id=run_id[:5], out=tmp_path / "m.pt")
    assert load_exported(out)[1]["run_id"] == run_id  # the whole id in the metadata
    with pytest.raises(BenchError, match="no run 'zz'"):
        find_run(results, "zz")
