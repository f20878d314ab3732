"""A trained run's model in use: the device, predictions, the best checkpoint, one clip's outputs.

What ``bench detect``, ``bench export``, ``bench probe`` and ``bench plot`` need from a run,
apart from training itself (so they do not import the trainer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

import models
from bench.corpus import check_same_corpus
from bench.data import ClipSet, batches, clips_at, make_split, read_clips
from bench.errors import BenchError
from bench.feature_cache import compute_features
from bench.features import LogMelSettings, Standardizer
from bench.store import RunStore, find_run, load_torch

_RETRAIN = "delete the run folder and run the same bench run command again"


def predict(
    model: torch.nn.Module,
    data: ClipSet,
    *,
    device: torch.device,
    batch_size: int,
    frames: bool = False,
    amp: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Clip probabilities (N, C) float32 and, with ``frames``, frame probabilities (N, T, C) float16."""
    model.eval()
    clip, frame = [], []
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        for xb, _ in batches(data, batch_size=batch_size, device=device):
            out = model(xb)
            clip.append(out["clip_probs"].float().cpu().numpy())
            if frames:
                frame.append(out["frame_probs"].float().cpu().numpy().astype(np.float16))
    return np.concatenate(clip), (np.concatenate(frame) if frames else None)


def load_checkpoint(path: Path, *, device: str | torch.device = "cpu") -> tuple[models.SEDModel, dict[str, Any]]:
    """Rebuild the model of a best checkpoint (eval mode) and return it with the checkpoint dict."""
    state = load_torch(
        path, what="the checkpoint", map_location=device, advice="train the run again (bench run ...) to rewrite it"
    )
    cfg = models.ModelConfig.from_dict(state["model_config"])
    net = models.SEDModel(cfg)
    net.load_state_dict(state["model"])
    return net.to(device).eval(), state


def load_best(run_dir: Path) -> tuple[Any, dict[str, Any], models.SEDModel, LogMelSettings, Standardizer]:
    """A finished run's store, config, best model (eval mode, CPU), features and standardisation.

    Raises
    ------
    BenchError
        For a run without its best checkpoint.
    """
    run_dir = Path(run_dir)
    store = RunStore(run_dir.parent, run_dir.name)
    if not store.checkpoint_path.is_file():
        raise BenchError(f"run {run_dir.name} has no checkpoint.pt; train it first (bench run ...)")
    record = store.read_config()
    settings = LogMelSettings.from_dict(record["features"]) if "features" in record else LogMelSettings()
    net, state = load_checkpoint(store.checkpoint_path)
    return store, record, net, settings, Standardizer.from_dict(state["standardizer"])


def infer_clip(
    results_dir: Path, *, run_id: str, clip_id: str | None = None, device: str = "cpu"
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, Any]]:
    """Run a finished run's best checkpoint on one clip, features recomputed from the corpus.

    Parameters
    ----------
    results_dir : Path
    run_id : str
    clip_id : str, optional
        Default: the first validation clip of the run.

    Returns
    -------
    (outputs, features, info)
        ``outputs``: the model's output for the clip without the batch axis (numpy),
        ``features``: the standardised input (T, F), ``info``: clip_id, labels, config.
    """
    store = find_run(results_dir, run_id)
    if not store.checkpoint_path.is_file():
        raise BenchError(f"run {store.run_id} has no checkpoint.pt yet; train it first (bench run ...)")
    record = store.read_config()
    corpus_dir = Path(record["corpus_dir"])
    check_same_corpus(record, corpus_dir, doing=f"show run {store.run_id} on its corpus")
    clips = read_clips(corpus_dir)
    snr = float(record["snr_db"])
    if clip_id is None:
        clip_id = make_split(clips, snr_db=snr, val_fold=int(record.get("val_fold", 4))).val[0]
    rows = clips_at(clips, snr)
    match = rows[rows["clip_id"] == clip_id]
    if match.empty:
        raise BenchError(f"clip {clip_id!r} is not in the corpus {corpus_dir} at {snr:g} dB")
    net, state = load_checkpoint(store.checkpoint_path, device=device)
    settings = LogMelSettings.from_dict(record["features"]) if "features" in record else LogMelSettings()
    fs = compute_features(corpus_dir, snr_db=snr, settings=settings, progress=False)
    x = Standardizer.from_dict(state["standardizer"])(np.asarray(fs.features[fs.rows([clip_id])]))  # (1, T, F)
    with torch.inference_mode():
        out = net(torch.from_numpy(x).to(device))
    outputs = {k: v[0].float().cpu().numpy() for k, v in out.items() if isinstance(v, torch.Tensor)}
    info = {
        "clip_id": clip_id,
        "labels": list(match["labels"].iloc[0]),
        "config": record,
        "hop_s": settings.hop_s,
        "run_dir": store.path,
    }
    return outputs, x[0], info
