"""Figure 2 and training curves are written as non-empty PNGs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.errors import BenchError
from bench.reporting.plots import plot_curves, plot_figure2, top_classes
from bench.store import RunStore
from remix.labels import EVENT_LABELS

PNG = b"\x89PNG\r\n\x1a\n"


def fake_output(*, two_step: bool = True, batch: bool = True) -> dict:
    rng = np.random.default_rng(0)
    c, t, f = 41, 311, 64
    out = {"clip_probs": torch.from_numpy(rng.random(c).astype(np.float32))}
    if two_step:
        att = rng.random((c, t, f)).astype(np.float32)
        out.update(
            freq_attention=torch.from_numpy(att / att.sum(-1, keepdims=True)),
            freq_output=rng.random((c, t)).astype(np.float32),
            time_attention=rng.random((c, t)).astype(np.float32),
            reconstruction=rng.standard_normal((t, f)).astype(np.float32),
        )
    if batch:
        out = {k: v[None] for k, v in out.items()}
    return out


def test_figure2_written(tmp_path):
    feats = np.random.default_rng(1).standard_normal((1, 311, 64)).astype(np.float32)
    path = plot_figure2(
        fake_output(),
        features=feats,
        class_names=EVENT_LABELS,
        path=tmp_path / "f" / "fig2.png",
        title="clip 20 dB",
        labels=["Bus", "Meow"],
    )
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000
    assert not [p for p in path.parent.iterdir() if ".tmp-" in p.name]


def test_figure2_without_two_step_attention(tmp_path):
    out = fake_output(two_step=False, batch=False)
    bare = plot_figure2(out, features=np.zeros((311, 64)), class_names=EVENT_LABELS, path=tmp_path / "gap.png")
    out["frame_probs"] = np.random.default_rng(2).random((311, 41))
    framed = plot_figure2(out, features=np.zeros((311, 64)), class_names=EVENT_LABELS, path=tmp_path / "gap2.png")
    assert bare.read_bytes().startswith(PNG) and framed.read_bytes().startswith(PNG)
    assert framed.stat().st_size > bare.stat().st_size  # the frame probabilities were drawn


def test_figure2_rejects_bad_input(tmp_path):
    with pytest.raises(BenchError, match="clip_probs"):
        plot_figure2({}, features=np.zeros((311, 64)), class_names=EVENT_LABELS, path=tmp_path / "x.png")
    with pytest.raises(BenchError, match="class names"):
        plot_figure2(fake_output(), features=np.zeros((311, 64)), class_names=EVENT_LABELS[:5], path=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_top_classes():
    assert top_classes(np.array([0.1, 0.9, 0.5, 0.7]), 3).tolist() == [1, 3, 2]


def test_curves_written(tmp_path):
    dirs = []
    for i, model in enumerate(["gap", "2ap_aux"]):
        store = RunStore(tmp_path / "runs", f"r{i}")
        store.write_config({"model": model, "alpha": 0.001 * i, "snr_db": 0.0, "seed": 0})
        store.write_curves(
            [
                {
                    "epoch": e,
                    "train_loss": 1 / e,
                    "train_bce": 0.9 / e,
                    "train_mse": 0.1 * i,
                    "val_micro_ap": 0.1 * e,
                    "lr": 1e-3,
                    "seconds": 1.0,
                }
                for e in range(1, 6)
            ]
        )
        dirs.append(store.path)
    empty = tmp_path / "runs" / "empty"
    empty.mkdir()
    path = plot_curves(dirs + [empty], tmp_path / "curves.png", title="curves")
    assert path.read_bytes().startswith(PNG) and path.stat().st_size > 10_000
    with pytest.raises(BenchError, match="curves.parquet"):
        plot_curves([empty], tmp_path / "none.png")
