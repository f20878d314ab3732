"""Run folders: round trips, atomic writes, the runs table."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from bench.errors import BenchError
from bench.store import RunStore, atomic_path, atomic_write_json, flatten_metrics, load_runs, runs_dir

LABELS = ["Bus", "Cowbell", "Gong"]


def no_temp_files(folder) -> bool:
    return not [p for p in folder.rglob("*") if ".tmp-" in p.name]


def test_round_trip(tmp_path):
    store = RunStore(tmp_path / "runs", "abc123")
    config = {
        "model": "2ap_aux",
        "alpha": 0.001,
        "snr_db": 0.0,
        "seed": np.int64(1),
        "preset": "cpu",
        "corpus_dir": tmp_path,
        "corpus_synthetic": True,
        "train_folds": (1, 2, 3),
        "val_folds": [4],
        "features": {"n_mels": 64},
    }
    store.write_config(config)
    assert store.exists()
    back = store.read_config()
    assert back["run_id"] == "abc123" and back["seed"] == 1 and back["train_folds"] == [1, 2, 3]
    assert back["corpus_dir"] == str(tmp_path) and back["features"] == {"n_mels": 64}

    store.write_status("running")
    assert store.read_status()["status"] == "running"
    store.write_status("failed", "out of memory")
    status = store.read_status()
    assert status["status"] == "failed" and status["reason"] == "out of memory" and status["updated"]
    with pytest.raises(BenchError, match="unknown run status"):
        store.write_status("weird")

    metrics = {
        "val": {
            "micro_ap": np.float32(0.5),
            "auc": float("nan"),
            "per_class_ap": {"Bus": 0.25, "Gong": None},
            "absent_classes": ["Gong"],
            "frame": {"f1": 0.4},
        },
        "best_epoch": 7,
    }
    store.write_metrics(metrics)
    got = store.read_metrics()
    assert got["val"]["micro_ap"] == pytest.approx(0.5) and got["val"]["auc"] is None
    assert got["best_epoch"] == 7

    y_true = np.array([[1, 0, 0], [0, 1, 1]])
    y_score = np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.6]])
    store.write_predictions(["c1", "c2"], split="val", y_true=y_true, y_score=y_score, labels=LABELS)
    store.write_predictions(["c3"], split="test", y_true=y_true[:1], y_score=y_score[:1], labels=LABELS)
    store.write_predictions(["c2", "c1"], split="val", y_true=y_true[::-1], y_score=y_score[::-1], labels=LABELS)
    frame = store.read_predictions()
    assert sorted(frame.columns) == sorted(
        ["clip_id", "split"] + [f"score_{lab}" for lab in LABELS] + [f"label_{lab}" for lab in LABELS]
    )
    assert len(frame) == 3  # the val split was replaced, not appended
    ids, t, s = store.prediction_arrays("val", labels=LABELS)
    assert ids == ["c2", "c1"]
    np.testing.assert_array_equal(t, y_true[::-1])
    np.testing.assert_allclose(s, y_score[::-1], rtol=1e-6)
    with pytest.raises(BenchError, match="predictions of 2 clips"):
        store.write_predictions(["a", "b"], split="val", y_true=y_true[:1], y_score=y_score, labels=LABELS)

    probs = np.random.default_rng(0).random((2, 5, 3))
    store.write_frame_probs("val", probs)
    loaded = store.read_frame_probs("val")
    assert loaded.dtype == np.float16 and loaded.shape == (2, 5, 3)
    np.testing.assert_allclose(loaded, probs, atol=1e-3)

    store.append_curve({"epoch": 1, "train_loss": 0.7, "val_micro_ap": 0.2, "lr": 1e-3, "seconds": 3.0})
    store.append_curve({"epoch": 2, "train_loss": 0.5, "val_micro_ap": 0.3, "lr": 1e-3, "seconds": 3.1})
    store.append_curve({"epoch": 2, "train_loss": 0.4, "val_micro_ap": 0.35, "lr": 1e-3, "seconds": 3.1})
    curves = store.read_curves()
    assert curves["epoch"].tolist() == [1, 2] and curves["train_loss"].tolist() == [0.7, 0.4]

    store.save_checkpoint({"epoch": 2, "weights": [1, 2]}, best=True)
    assert store.checkpoint_path.stat().st_size > 0
    assert no_temp_files(tmp_path)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert json.loads(target.read_text()) == {"a": 1}  # old content intact
    assert no_temp_files(tmp_path)


def test_missing_files_are_domain_errors(tmp_path):
    store = RunStore(tmp_path, "r1")
    with pytest.raises(BenchError, match="missing"):
        store.read_metrics()
    with pytest.raises(BenchError, match="missing"):
        store.read_frame_probs("val")
    assert store.read_status()["status"] == "missing"
    with pytest.raises(BenchError, match="invalid run id"):
        RunStore(tmp_path, "../x")


def test_flatten_metrics():
    flat = flatten_metrics(
        {
            "val": {"micro_ap": 0.7, "per_class_ap": {"Bus": 0.2}, "frame": {"f1": 0.5}, "absent_classes": ["Gong"]},
            "best_epoch": 3,
        }
    )
    assert flat == {
        "val_micro_ap": 0.7,
        "val_ap_Bus": 0.2,
        "val_frame_f1": 0.5,
        "val_absent_classes": ["Gong"],
        "best_epoch": 3,
    }


def test_load_runs(tmp_path):
    root = tmp_path / "results"
    assert load_runs(root).empty
    for i, (model, status) in enumerate([("gap", "done"), ("2ap_aux", "failed"), ("gmp", "running")]):
        store = RunStore(root / "runs", f"run{i}")
        store.write_config(
            {
                "model": model,
                "alpha": 0.0,
                "snr_db": 0.0,
                "seed": i,
                "preset": "cpu",
                "corpus_synthetic": True,
                "features": {"n_mels": 64},
            }
        )
        store.write_status(status, "boom" if status == "failed" else None)
        if status == "done":
            store.write_metrics(
                {"val": {"micro_ap": 0.5, "macro_ap": 0.4, "auc": 0.9, "per_class_ap": {"Bus": 0.3}}, "best_epoch": 2}
            )
    (root / "runs" / "broken").mkdir()
    (root / "runs" / "broken" / "config.json").write_text("{not json")
    (root / "runs" / "empty").mkdir()  # no config: not a run
    runs = load_runs(root)
    assert len(runs) == 4
    assert runs_dir(root) == root / "runs" and len(load_runs(root / "runs")) == 4
    by_id = runs.set_index("run_id")
    assert by_id.loc["run0", "val_micro_ap"] == 0.5 and by_id.loc["run0", "val_ap_Bus"] == 0.3
    assert by_id.loc["run0", "features.n_mels"] == 64 and by_id.loc["run0", "best_epoch"] == 2
    assert by_id.loc["run1", "status"] == "failed" and by_id.loc["run1", "reason"] == "boom"
    assert math.isnan(by_id.loc["run1", "val_micro_ap"])
    assert by_id.loc["broken", "status"] == "failed" and "not valid JSON" in by_id.loc["broken", "reason"]
    assert isinstance(runs, pd.DataFrame) and list(runs.columns[:3]) == ["run_id", "model", "alpha"]
