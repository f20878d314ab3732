"""Training-step speed of every named model: forward + backward, clips per second.

Run from the repository root::

    python benchmarks/model_speed.py                       # all models, width 1, batch 24, 311 x 64
    python benchmarks/model_speed.py --width 0.25 --iters 3 # a quick run on a small CPU

Each step is forward, :func:`models.sed_loss` (with the model's alpha) and backward on a
random batch ``(batch, frames, mels)``; the first ``--warmup`` steps are skipped and the
median of the remaining ``--iters`` is reported. On CUDA the default is bf16 autocast
and channels-last (``--no-amp``, ``--no-channels-last`` turn them off); ``--compile``
wraps the model in ``torch.compile``. Every figure is printed and appended to
``benchmarks/log.tsv`` with the git hash (``--no-log`` skips that).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import models  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_model(
    name: str,
    *,
    device: torch.device,
    width: float,
    batch: int,
    frames: int,
    mels: int,
    iters: int,
    warmup: int,
    amp: bool,
    channels_last: bool,
    compile_model: bool,
    seed: int = 0,
) -> tuple[float, int]:
    """Median seconds of one forward + backward step, and the parameter count."""
    model = models.build(name, n_mels=mels, n_frames=frames, width=width, seed=seed).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model) if compile_model else model
    g = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(batch, frames, mels, generator=g).to(device)
    y = (torch.rand(batch, model.config.n_classes, generator=g) < 0.07).float().to(device)
    alpha = model.config.alpha
    times: list[float] = []
    for i in range(warmup + iters):
        _sync(device)
        start = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            out = step_model(x)
            loss = models.sed_loss(out, target=y, features=x, alpha=alpha)["loss"]
        loss.backward()
        model.zero_grad(set_to_none=True)
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times), n_params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=models.available(), choices=models.available())
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--frames", type=int, default=311)
    parser.add_argument("--mels", type=int, default=64)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda")
    parser.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: on for CUDA, off for CPU)",
    )
    parser.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels-last memory format (default: on for CUDA, off for CPU)",
    )
    parser.add_argument("--compile", action="store_true", help="wrap the model in torch.compile")
    parser.add_argument(
        "--log", action=argparse.BooleanOptionalAction, default=True, help="append the figures to benchmarks/log.tsv"
    )
    args = parser.parse_args(argv)

    device = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )
    amp = device.type == "cuda" if args.amp is None else args.amp
    channels_last = device.type == "cuda" if args.channels_last is None else args.channels_last
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    settings = {
        "device": str(device),
        "width": args.width,
        "batch": args.batch,
        "frames": args.frames,
        "mels": args.mels,
        "iters": args.iters,
        "warmup": args.warmup,
        "amp_bf16": amp,
        "channels_last": channels_last,
        "compile": args.compile,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    print(
        f"forward + backward, input ({args.batch}, {args.frames}, {args.mels}), "
        + ", ".join(f"{k}={v}" for k, v in settings.items() if k not in ("batch", "frames", "mels"))
    )
    print(f"{'model':<10} {'params':>10} {'ms/step':>10} {'clips/s':>10}")
    for name in args.models:
        seconds, n_params = time_model(
            name,
            device=device,
            width=args.width,
            batch=args.batch,
            frames=args.frames,
            mels=args.mels,
            iters=args.iters,
            warmup=args.warmup,
            amp=amp,
            channels_last=channels_last,
            compile_model=args.compile,
        )
        clips = args.batch / seconds
        print(f"{name:<10} {n_params:>10,} {seconds * 1e3:>10.1f} {clips:>10.2f}", flush=True)
        if args.log:
            from benchlog import append

            append(
                benchmark="model_speed",
                figure=f"{name} train step",
                value=clips,
                unit="clips/s",
                settings={**settings, "model": name, "params": n_params},
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
