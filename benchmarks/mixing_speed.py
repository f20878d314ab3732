"""Fresh mixtures: clips/s the loader produces against clips/s training consumes, and the
wall time of a run on fresh mixtures against the same run on the fixed corpus.

For each preset (``cpu``, ``cpu-full`` by default), on a built corpus:

- **produced**: training clips rendered and turned into log-mel per second
  (:class:`bench.training.mixing.FreshMixtures`, one epoch of the run's training folds), in this
  process (``0`` loader workers) and with ``--workers`` loader processes;
- **consumed**: training clips per second of a training epoch (forward, backward, Adam) of
  each ``--model`` on the fixed corpus, one torch thread (as ``bench run --jobs 2`` gives a
  run on 2 cores);
- **run**: with ``--run-epochs N``, the wall time of ``N`` epochs of ``bench run`` on the fixed
  corpus and on fresh mixtures (one loader worker), in fresh processes, and their ratio.

Figures go to ``benchmarks/log.tsv``. Run from the repository root::

    python benchmarks/mixing_speed.py --corpus data/corpus
    python benchmarks/mixing_speed.py --corpus data/corpus --run-epochs 6 --models 2ap_aux
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from benchlog import append  # noqa: E402

import models  # noqa: E402
from bench.config import RunConfig  # noqa: E402
from bench.corpus import corpus_fingerprint  # noqa: E402
from bench.data import load_data, read_clips  # noqa: E402
from bench.feature_cache import compute_features  # noqa: E402
from bench.presets import get_preset  # noqa: E402
from bench.training.loop import build_model  # noqa: E402
from bench.training.mixing import FreshMixtures  # noqa: E402


def produced(corpus: Path, preset, *, snr: float, workers: int, epochs: int = 2) -> float:
    """Clips per second one epoch of fresh mixtures takes to render and featurise (median of
    ``epochs`` epochs; with workers, the loader's time to deliver an epoch nobody waited for)."""
    fs = compute_features(corpus, snr_db=snr, settings=preset.features, progress=False)
    data = load_data(corpus, snr_db=snr, feature_set=fs)
    folds = (1, 2, 3)
    n_per_fold = round(len(data.train) / len(folds))
    rates = []
    with FreshMixtures(
        corpus,
        snr_db=snr,
        train_folds=folds,
        n_per_fold=n_per_fold,
        seed=0,
        settings=preset.features,
        standardizer=data.standardizer,
        workers=workers,
    ) as mixtures:
        if workers:
            mixtures.epoch(100)  # start the loader processes (spawn and imports) outside the timing
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            clips = mixtures.epoch(epoch)
            rates.append(len(clips) / (time.perf_counter() - t0))
    return float(np.median(rates))


def consumed(corpus: Path, preset, *, snr: float, model: str) -> float:
    """Training clips per second of one epoch (one torch thread)."""
    torch.set_num_threads(1)
    fs = compute_features(corpus, snr_db=snr, settings=preset.features, progress=False)
    data = load_data(corpus, snr_db=snr, feature_set=fs)
    config = RunConfig(model=model, alpha=models.make_config(model).alpha, snr_db=snr, preset=preset.name)
    n, n_frames, n_mels = data.train.x.shape
    net = build_model(config, preset, n_frames=n_frames, n_mels=n_mels)
    opt = torch.optim.Adam(net.parameters(), lr=preset.lr)
    net.train()
    t0 = time.perf_counter()
    for start in range(0, n, preset.batch_size):
        xb, yb = data.train.x[start : start + preset.batch_size], data.train.y[start : start + preset.batch_size]
        out = net(xb)
        loss = models.sed_loss(out, target=yb, features=xb, alpha=config.alpha)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return n / (time.perf_counter() - t0)


def run_wall(corpus: Path, preset_name: str, *, model: str, snr: float, mixing: str, epochs: int) -> float:
    """Wall seconds of ``epochs`` epochs of ``bench run`` (2 processes' worth of cores: 1 thread)."""
    child = f"""
import dataclasses, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
import torch
torch.set_num_threads(1)
import models
from bench.config import RunConfig
from bench.data import read_clips
from bench.presets import get_preset
from bench.corpus import corpus_fingerprint
from bench.training.loop import train_run
preset = dataclasses.replace(get_preset({preset_name!r}), epochs={epochs}, early_stop=None, mixing={mixing!r})
config = RunConfig(model={model!r}, alpha=models.make_config({model!r}).alpha, snr_db={snr}, preset=preset,
                   corpus=corpus_fingerprint(read_clips({str(corpus)!r})), mixing={mixing!r})
t0 = time.perf_counter()
train_run(config, corpus_dir={str(corpus)!r}, results_dir=sys.argv[1], device="cpu")
print(time.perf_counter() - t0)
"""
    results = Path(tempfile.mkdtemp())
    try:
        env = dict(os.environ, SEDREMIX_LOADER_WORKERS="1", OMP_NUM_THREADS="1")
        done = subprocess.run([sys.executable, "-c", child, str(results)], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        return float(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(results, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--presets", nargs="+", default=["cpu", "cpu-full"])
    parser.add_argument("--models", nargs="+", default=["gap", "atrous_ap", "2ap_aux"])
    parser.add_argument("--snr", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--run-epochs", type=int, default=0, help="also time whole runs of this many epochs")
    parser.add_argument("--no-log", action="store_true")
    args = parser.parse_args()
    read_clips(args.corpus)  # a missing corpus: one line
    corpus_fingerprint(read_clips(args.corpus))
    load = os.getloadavg()[0]
    for name in args.presets:
        preset = get_preset(name)
        rows = []
        for workers in sorted({0, args.workers}):
            rate = produced(args.corpus, preset, snr=args.snr, workers=workers)
            rows.append((f"produced_clips_per_s_workers{workers}", rate))
            print(f"{name}: fresh mixtures produced, {workers} loader worker(s): {rate:.1f} clips/s", flush=True)
        for model in args.models:
            rate = consumed(args.corpus, preset, snr=args.snr, model=model)
            rows.append((f"consumed_clips_per_s_{model}", rate))
            print(f"{name}: training consumes ({model}, 1 thread): {rate:.1f} clips/s", flush=True)
            if args.run_epochs:
                fixed = run_wall(args.corpus, name, model=model, snr=args.snr, mixing="fixed", epochs=args.run_epochs)
                online = run_wall(args.corpus, name, model=model, snr=args.snr, mixing="online", epochs=args.run_epochs)
                rows.append((f"run_wall_ratio_online_{model}", online / fixed))
                print(
                    f"{name}: {args.run_epochs} epochs of {model}: fixed {fixed:.0f} s, fresh mixtures {online:.0f} s "
                    f"({online / fixed:.2f}x)",
                    flush=True,
                )
        if not args.no_log:
            for figure, value in rows:
                append(
                    benchmark="mixing_speed",
                    figure=figure,
                    value=value,
                    unit="x" if figure.startswith("run_wall") else "clips/s",
                    settings={
                        "preset": name,
                        "snr": args.snr,
                        "load_average": round(load, 2),
                        "run_epochs": args.run_epochs,
                    },
                )


if __name__ == "__main__":
    main()
