"""One run: resume after an interruption, what the run folder holds, device choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.config import RunConfig
from bench.device import resolve_device
from bench.errors import BenchError
from bench.features import LogMelSettings
from bench.inference.checkpoint import infer_clip, load_checkpoint
from bench.presets import Preset
from bench.store import RunStore
from bench.training.loop import RunFailed, train_run
from remix.labels import EVENT_LABELS

TWO_EPOCHS = Preset(name="tiny2", epochs=2, width=0.0625, train_clips=8, eval_batch_size=32)
CONFIG = RunConfig(model="gap", alpha=0.0, snr_db=20.0, seed=1, preset=TWO_EPOCHS)


class Stop(Exception):
    pass


def _stop_after_first(event):
    if event["epoch"] == 1:
        raise Stop("injected interruption")


@pytest.fixture(scope="module")
def resumed(tiny_corpus, tmp_path_factory):
    """A run stopped after epoch 1, then run again."""
    results = tmp_path_factory.mktemp("resume")
    with pytest.raises(RunFailed, match="injected interruption"):
        train_run(
            CONFIG,
            corpus_dir=tiny_corpus,
            results_dir=results,
            device="cpu",
            callback=_stop_after_first,
        )
    store = RunStore(results / "runs", CONFIG.run_id)
    first_status = store.read_status()
    seen = []
    train_run(
        CONFIG,
        corpus_dir=tiny_corpus,
        results_dir=results,
        device="cpu",
        callback=lambda e: seen.append(e["epoch"]),
    )
    return store, first_status, seen


def test_interrupted_run_continues_from_its_last_epoch(resumed):
    store, first_status, seen = resumed
    assert first_status["status"] == "failed" and "injected" in first_status["reason"]
    assert seen == [2]  # epoch 1 was not trained again
    curves = store.read_curves()
    assert curves["epoch"].tolist() == [1, 2]
    assert store.read_status()["status"] == "done"


def test_resume_gives_the_same_training_as_an_uninterrupted_run(resumed, tiny_corpus, tmp_path):
    store, _, _ = resumed
    train_run(CONFIG, corpus_dir=tiny_corpus, results_dir=tmp_path, device="cpu")
    straight = RunStore(tmp_path / "runs", CONFIG.run_id).read_curves()
    again = store.read_curves()
    np.testing.assert_allclose(again["train_loss"], straight["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(again["val_micro_ap"], straight["val_micro_ap"], rtol=1e-5)


def test_run_folder_holds_config_predictions_and_metrics(resumed):
    store, _, _ = resumed
    config = store.read_config()
    assert config["run_id"] == CONFIG.run_id and config["model"] == "gap" and config["preset"] == "tiny2"
    assert config["val_folds"] == [4] and config["train_folds"] == [1, 2, 3]
    assert config["training"]["epochs"] == 2 and config["training"]["width"] == 0.0625
    assert isinstance(config["corpus_synthetic"], bool) and config["n_train"] == 8
    metrics = store.read_metrics()
    assert 0.0 <= metrics["val"]["micro_ap"] <= 1.0 and metrics["best_epoch"] in (1, 2)
    assert "frame" in metrics["val"] and "event" in metrics["val"]
    ids, y_true, y_score = store.prediction_arrays("val", labels=EVENT_LABELS)
    assert y_score.shape == (config["n_val"], 41) and set(np.unique(y_true)) <= {0, 1}
    frames = store.read_frame_probs("val")
    assert frames.shape[0] == len(ids) and frames.shape[2] == 41
    if config["n_test"]:
        assert "test" in metrics and store.read_frame_probs("test").shape[0] == config["n_test"]
    assert store.checkpoint_path.is_file() and store.last_path.is_file()


def test_checkpoint_predicts_one_clip_again(resumed):
    store, _, _ = resumed
    outputs, features, info = infer_clip(store.root.parent, run_id=store.run_id)
    assert outputs["clip_probs"].shape == (41,) and features.ndim == 2
    ids, _, y_score = store.prediction_arrays("val", labels=EVENT_LABELS)
    assert info["clip_id"] == ids[0]
    np.testing.assert_allclose(outputs["clip_probs"], y_score[0], atol=1e-4)


def test_device_choice():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(BenchError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(BenchError, match="no CUDA GPU"):
            resolve_device("cuda")


COARSE = Preset(
    name="coarse",
    epochs=1,
    width=0.0625,
    train_clips=8,
    eval_batch_size=32,
    features=LogMelSettings(n_mels=16, hop_length=4096),
    prior=3 / 41,
)


def test_preset_features_and_prior_reach_the_model_and_the_run_record(tiny_corpus, tmp_path):
    config = RunConfig(model="2ap", alpha=0.0, snr_db=0.0, seed=0, preset=COARSE)
    train_run(config, corpus_dir=tiny_corpus, results_dir=tmp_path, device="cpu")
    store = RunStore(tmp_path / "runs", config.run_id)
    record = store.read_config()
    assert record["features"]["n_mels"] == 16 and record["features"]["hop_length"] == 4096
    assert record["training"]["features"] == record["features"] and record["training"]["prior"] == 3 / 41
    assert record["preset_key"] == COARSE.key()
    net, state = load_checkpoint(store.checkpoint_path)
    n_frames = LogMelSettings(n_mels=16, hop_length=4096).n_frames(320000)
    assert (state["n_mels"], state["n_frames"]) == (16, n_frames) == (net.config.n_mels, net.config.n_frames)
    assert net.config.prior == pytest.approx(3 / 41)
    outputs, features, _ = infer_clip(tmp_path, run_id=config.run_id)
    assert features.shape == (n_frames, 16) and outputs["frame_probs"].shape == (n_frames, 41)


def test_a_run_planned_for_another_corpus_is_refused(tiny_corpus, tmp_path):
    config = RunConfig(model="gap", alpha=0.0, snr_db=0.0, seed=0, preset="smoke", corpus="000000000000")
    with pytest.raises(BenchError, match="planned for corpus 000000000000"):
        train_run(config, corpus_dir=tiny_corpus, results_dir=tmp_path, device="cpu", compile=False)
    assert not (tmp_path / "runs" / config.run_id / "metrics.json").exists()
