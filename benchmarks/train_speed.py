"""Training speed per model, and the projected wall time of the paper's grid.

For each model: training clips per second (forward + backward + Adam step, batch 24)
as a preset builds the models, on random standardised-log-mel-shaped tensors of the preset's shape
(B, T, F) (the paper's: (B, 311, 64))
(or on a corpus's cached features with --corpus), on the device the grid would
use (GPU with bf16 autocast and channels-last when present). Warm-up steps are
skipped; the figure is the median over the timed steps. Then the projected wall
time of ``bench run --all --preset paper``: epochs x clips / rate summed over the
grid's runs (validation passes ignored), for the given seeds.

Run from the repository root::

    python benchmarks/train_speed.py                   # cpu preset width, 1 seed
    python benchmarks/train_speed.py --preset paper --steps 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from benchlog import append  # noqa: E402

import models  # noqa: E402
from bench.presets import get_preset  # noqa: E402
from bench.training.grid import paper_grid  # noqa: E402


def clips_per_second(
    name: str,
    *,
    preset,
    batch: torch.Tensor,
    target: torch.Tensor,
    device: torch.device,
    steps: int,
    warmup: int,
    compile: bool = False,
) -> float:
    """Median training throughput (clips/s) of one model, built as ``preset`` builds it."""
    n_frames, n_mels = batch.shape[1], batch.shape[2]
    net = (
        models.build(name, width=preset.width, n_frames=n_frames, n_mels=n_mels, prior=preset.prior, seed=0)
        .to(device)
        .to(memory_format=torch.channels_last)
    )
    step_net = torch.compile(net) if compile else net
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    amp = device.type == "cuda"
    times = []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = step_net(batch)
        loss = models.sed_loss(out, target=target, features=batch, alpha=net.config.alpha)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return batch.shape[0] / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu", help="width taken from this preset (paper: 1.0)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed first steps")
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=1, help="seeds of the projected paper grid")
    parser.add_argument(
        "--train-clips",
        type=int,
        default=6000,
        help="training clips per run when the preset uses every clip "
        "(default: the paper corpus's 3 folds, 6000; the demo corpus has 300)",
    )
    parser.add_argument("--corpus", type=Path, default=None, help="use this corpus's cached 0 dB features")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    preset = get_preset(args.preset)
    gen = torch.Generator().manual_seed(0)
    if args.corpus is not None:
        from bench.feature_cache import compute_features

        feats = compute_features(args.corpus, snr_db=0, settings=preset.features, progress=False).features[: args.batch]
        x = torch.as_tensor(feats.copy())
        x = (x - x.mean(dim=(0, 1))) / x.std(dim=(0, 1))
    else:
        n_frames = preset.n_frames(10 * preset.features.sample_rate)  # 10 s clips
        x = torch.randn(args.batch, n_frames, preset.features.n_mels, generator=gen)
    y = (torch.rand(args.batch, 41, generator=gen) < 3 / 41).float()
    x, y = x.to(device), y.to(device)
    print(
        f"device {device}, threads {torch.get_num_threads()}, preset {preset.name} (width {preset.width}), "
        f"batch {args.batch}, {args.steps} timed steps after {args.warmup} warm-up"
    )
    rates = {}
    for name in models.available():
        rate = clips_per_second(
            name,
            preset=preset,
            batch=x,
            target=y,
            device=device,
            steps=args.steps,
            warmup=args.warmup,
            compile=args.compile,
        )
        rates[name] = rate
        print(f"  {name:10s} {rate:8.1f} clips/s")
        append(
            benchmark="train_speed",
            figure=f"train_clips_per_s_{name}",
            value=rate,
            unit="clips/s",
            settings={
                "model": name,
                "preset": preset.name,
                "width": preset.width,
                "batch": args.batch,
                "frames": int(x.shape[1]),
                "mels": int(x.shape[2]),
                "device": str(device),
                "compile": args.compile,
                "steps": args.steps,
                "real_features": args.corpus is not None,
            },
        )
    paper = get_preset("paper")
    grid = paper_grid(seeds=args.seeds, preset="paper")
    if preset.width == paper.width:
        seconds = sum(paper.epochs * args.train_clips / rates[c.model] for c in grid)
        print(
            f"projected `bench run --all --preset paper --seeds {args.seeds}`: {len(grid)} runs x "
            f"{paper.epochs} epochs x {args.train_clips} clips = {seconds / 3600:.1f} h of training on this machine"
        )
        append(
            benchmark="train_speed",
            figure="paper_grid_projected_hours",
            value=seconds / 3600,
            unit="h",
            settings={
                "seeds": args.seeds,
                "runs": len(grid),
                "epochs": paper.epochs,
                "train_clips": args.train_clips,
                "device": str(device),
            },
        )
    else:
        print(f"(the paper-grid projection needs --preset paper: width {paper.width})")
        clips = preset.train_clips or args.train_clips
        per_run = {c.model: preset.epochs * clips / rates[c.model] for c in grid}
        total = sum(per_run[c.model] for c in paper_grid(seeds=args.seeds, preset=preset.name))
        print(
            f"projected training time of `bench run --all --preset {preset.name} --seeds {args.seeds}` "
            f"(training steps only, {clips} training clips per run): {total / 60:.1f} min"
        )
        append(
            benchmark="train_speed",
            figure=f"{preset.name}_grid_projected_train_minutes",
            value=total / 60,
            unit="min",
            settings={"seeds": args.seeds, "epochs": preset.epochs, "train_clips": clips, "device": str(device)},
        )


if __name__ == "__main__":
    main()
