"""GPU check: the CUDA code paths end to end, and training speed with model FLOP utilisation.

On a CUDA machine, in about 5 minutes, in a scratch folder:

1. builds a small corpus from tiny stand-in sources (20 clips per fold, 0 dB);
2. trains ``2ap_aux`` with the ``paper`` preset's settings for 2 epochs in bf16, then
   again with ``torch.compile``; checks that bf16 autocast was on and the metrics finite;
3. starts ``bench run --model 2ap_aux --preset paper`` (50 epochs on the small corpus),
   kills it (SIGKILL) after its first checkpoint, runs the same command again and
   checks that it resumed from ``last.pt`` (the epochs before the kill kept as they
   were) and finished;
4. runs two runs at once with ``bench run --gpus 0,1`` (``0,0``: two workers on one GPU);
5. measures training clips/s (forward, loss, backward, Adam step; batch 24, the paper's
   311 x 64 input and width, bf16 autocast, channels-last; warm-up steps skipped, median
   of the timed steps) and model FLOP utilisation (FLOPs of one training step counted by
   ``torch.utils.flop_counter``, times steps per second, over the GPU's peak dense bf16
   rate) for every model, eager, and for ``2ap_aux`` compiled (``--compile-all``: every model);

and appends the figures to ``benchmarks/log.tsv`` with the git hash. Any failed check
is printed and makes the exit code 1. Without a GPU it says so and exits 0.

Run from the repository root::

    python benchmarks/gpu_check.py                     # on a CUDA machine
    python benchmarks/gpu_check.py --peak-tflops 989   # a GPU missing from the peak table
    python benchmarks/gpu_check.py --cpu-dry-run       # the same steps on the CPU, tiny
                                                       # settings, nothing logged
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

PEAK_BF16_TFLOPS = (  # dense (no sparsity), by a substring of torch.cuda.get_device_name(); first match wins
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),
    ("GH200", 989.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("L4", 121.0),
    ("A10G", 70.0),
    ("A10", 125.0),
    ("RTX 6000 Ada", 364.0),
    ("A6000", 155.0),
    ("RTX 4090", 165.0),
    ("RTX 3090", 71.0),
)
"""Vendor peak dense bf16 tensor throughput (TFLOP/s) of common GPUs."""

BUDGET_S = 300.0
"""The whole check should end within this (a warning, not a failure, when it does not)."""


class CheckFailed(Exception):
    """One check did not pass."""


def _cli(module: str, *args: str) -> list[str]:
    return [sys.executable, "-c", f"from {module}.cli import app; app()", *args]


def peak_tflops(name: str, override: float | None) -> float | None:
    """Peak dense bf16 TFLOP/s of the GPU called ``name`` (None when unknown)."""
    if override:
        return override
    return next((peak for key, peak in PEAK_BF16_TFLOPS if key in name), None)


def build_corpus(root: Path, *, clips_per_fold: int) -> Path:
    """A small stand-in corpus at 0 dB under ``root``."""
    from remix.build import RunOptions, SourceFolders
    from remix.build import build_corpus as build
    from remix.recipe import RecipeOptions
    from remix.render import RenderSettings
    from remix.standin import ensure_sources

    sources = ensure_sources(
        root / "sources",
        seed=0,
        scenes_per_pair=1,
        cities=("barcelona", "helsinki"),
        train_per_label=4,
        verified_per_label=3,
        test_per_label=2,
        workers=min(4, os.cpu_count() or 1),
    )
    out = root / "corpus"
    build(
        out,
        recipe=RecipeOptions(clips_per_fold=clips_per_fold),
        render=RenderSettings(snrs=(0,)),
        seed=0,
        sources=SourceFolders(sources.scenes_dir, sources.events_dir),
        run=RunOptions(workers=min(4, os.cpu_count() or 1), progress=False),
    )
    return out


def short_train(corpus: Path, results: Path, *, preset, device: str, compile: bool) -> dict:
    """Train 2ap_aux for ``preset.epochs`` epochs in this process; check bf16 and finite metrics."""
    from bench.config import RunConfig
    from bench.store import RunStore
    from bench.training.loop import train_run

    config = RunConfig(model="2ap_aux", alpha=0.001, snr_db=0.0, seed=0, preset=preset)
    started = time.perf_counter()
    metrics = train_run(config, corpus_dir=corpus, results_dir=results, device=device, compile=compile)
    seconds = time.perf_counter() - started
    store = RunStore(results / "runs", config.run_id)
    training = store.read_config()["training"]
    curves = store.read_curves()
    if device == "cuda" and not training["amp_bf16"]:
        raise CheckFailed("bf16 autocast was off on the GPU (torch.cuda.is_bf16_supported() is False?)")
    if training["compile"] != compile:
        raise CheckFailed(f"config.json says compile={training['compile']}, expected {compile}")
    if len(curves) != preset.epochs or not all(math.isfinite(v) for v in curves["train_loss"]):
        raise CheckFailed(
            f"expected {preset.epochs} finite epochs, found {curves[['epoch', 'train_loss']].to_dict('records')}"
        )
    if store.read_status()["status"] != "done":
        raise CheckFailed(f"run status {store.read_status()}")
    return {
        "seconds": round(seconds, 1),
        "val_micro_ap": round(float(metrics["val"]["micro_ap"]), 4),
        "amp_bf16": training["amp_bf16"],
        "compile": training["compile"],
    }


def kill_and_resume(corpus: Path, results: Path, *, preset: str, device: str, timeout_s: float = 900.0) -> dict:
    """``bench run`` killed after its first checkpoint, then run again: it must resume and finish."""
    from bench.store import RunStore

    args = _cli(
        "bench",
        "run",
        "--model",
        "2ap_aux",
        "--snr",
        "0",
        "--seeds",
        "1",
        "--preset",
        preset,
        "--device",
        device,
        "--corpus",
        str(corpus),
        "--results",
        str(results),
    )
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    runs = results / "runs"
    deadline = time.monotonic() + timeout_s
    last = None
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            found = list(runs.glob("*/last.pt")) if runs.is_dir() else []
            if found:
                last = found[0]
                break
            time.sleep(0.05)
        if proc.poll() is not None:
            raise CheckFailed(
                f"bench run ended before its first checkpoint (exit {proc.returncode}): "
                f"{proc.stdout.read().decode(errors='replace')[-2000:]}"
            )
        if last is None:
            raise CheckFailed(f"no last.pt within {timeout_s:g} s")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    store = RunStore(runs, last.parent.name)
    before = store.read_curves()
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    if again.returncode != 0:
        raise CheckFailed(
            f"the resumed bench run failed (exit {again.returncode}): {again.stdout[-2000:]}{again.stderr[-2000:]}"
        )
    after = store.read_curves()
    n_epochs = store.read_config()["training"]["epochs"]
    if list(after["epoch"]) != list(range(1, n_epochs + 1)):
        raise CheckFailed(f"epochs after resuming: {list(after['epoch'])}")
    if not after.iloc[: len(before)].equals(before):
        raise CheckFailed("the epochs before the kill were trained again: the run did not resume from last.pt")
    if store.read_status()["status"] != "done":
        raise CheckFailed(f"resumed run status {store.read_status()}")
    return {"killed_after_epochs": len(before), "epochs": n_epochs}


def two_at_once(corpus: Path, results: Path, *, preset: str, timeout_s: float = 900.0) -> dict:
    """``bench run --gpus``: two runs (seeds 0 and 1) in two worker processes at the same time."""
    gpus = "0,1" if torch.cuda.device_count() > 1 else "0,0"
    args = _cli(
        "bench",
        "run",
        "--model",
        "2ap_aux",
        "--snr",
        "0",
        "--seeds",
        "2",
        "--preset",
        preset,
        "--gpus",
        gpus,
        "--corpus",
        str(corpus),
        "--results",
        str(results),
    )
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or "2 trained" not in done.stdout:
        raise CheckFailed(
            f"bench run --gpus {gpus} (exit {done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return {"gpus": gpus, "seconds": seconds}


def model_speed(
    name: str, *, preset, device: torch.device, batch: int, steps: int, warmup: int, compile: bool
) -> tuple[float, float]:
    """(training clips/s, FLOPs of one training step) of one model built as ``preset`` builds it."""
    from torch.utils.flop_counter import FlopCounterMode

    import models

    n_frames = preset.n_frames(10 * preset.features.sample_rate)
    n_mels = preset.features.n_mels
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, n_frames, n_mels, generator=gen).to(device)  # (B, T, F)
    y = (torch.rand(batch, 41, generator=gen) < 3 / 41).float().to(device)  # (B, C)
    net = (
        models.build(name, width=preset.width, n_frames=n_frames, n_mels=n_mels, prior=preset.prior, seed=0)
        .to(device)
        .to(memory_format=torch.channels_last)
    )
    step_net = torch.compile(net) if compile else net
    opt = torch.optim.Adam(net.parameters(), lr=preset.lr)
    amp = device.type == "cuda"

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = step_net(x)
        loss = models.sed_loss(out, target=y, features=x, alpha=net.config.alpha)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    counter = FlopCounterMode(display=False)
    with counter:  # eager, once: the FLOPs of the model's arithmetic (the same compiled or not)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = net(x)
        models.sed_loss(out, target=y, features=x, alpha=net.config.alpha)["loss"].backward()
    opt.zero_grad(set_to_none=True)
    flops = float(counter.get_total_flops())
    times = []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return batch / statistics.median(times), flops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="peak dense bf16 TFLOP/s of the GPU (default: from a table of common GPUs)",
    )
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per model")
    parser.add_argument("--warmup", type=int, default=5, help="untimed first steps (compilation happens there)")
    parser.add_argument("--batch", type=int, default=24, help="training batch (the paper's: 24)")
    parser.add_argument(
        "--compile-all",
        action="store_true",
        help="also time every model compiled (default: only 2ap_aux; each compilation takes tens of seconds)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="work in this folder and keep it (default: a temporary folder, removed at the end)",
    )
    parser.add_argument(
        "--cpu-dry-run",
        action="store_true",
        help="run the steps on the CPU with tiny settings (cpu preset, no compile, no --gpus); nothing is logged",
    )
    args = parser.parse_args()

    dry = args.cpu_dry_run
    if not torch.cuda.is_available() and not dry:
        print("gpu_check: no CUDA GPU visible to torch; nothing checked, nothing logged (skipped).")
        return 0

    from benchlog import append, git_hash, machine

    from bench.presets import get_preset

    started = time.perf_counter()
    device = torch.device("cpu" if dry else "cuda")
    base = get_preset("cpu" if dry else "paper")
    two_epochs = dataclasses.replace(base, name=f"{base.name}-2ep", epochs=2)
    gpu_name = "CPU (dry run)" if dry else torch.cuda.get_device_name(0)
    print(f"gpu_check on {gpu_name}; torch {torch.__version__}; git {git_hash()}; preset {base.name}")
    failures: list[str] = []
    figures: list[tuple[str, float, str, dict]] = []

    def check(label: str, fn, *a, **kw):
        t0 = time.perf_counter()
        try:
            result = fn(*a, **kw)
        except Exception as exc:  # every check runs; the failures are listed at the end
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
            print(f"  FAIL {label} ({time.perf_counter() - t0:.1f} s): {type(exc).__name__}: {exc}")
            return None
        print(f"  ok   {label} ({time.perf_counter() - t0:.1f} s): {result}")
        return result

    with tempfile.TemporaryDirectory(prefix="gpu_check-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        corpus = check("build a small corpus", build_corpus, work, clips_per_fold=4 if dry else 20)
        if corpus is not None:
            eager = check(
                "2ap_aux, 2 epochs, bf16",
                short_train,
                corpus,
                work / "eager",
                preset=two_epochs,
                device=device.type,
                compile=False,
            )
            if eager:
                figures.append(("check_2ap_aux_2_epochs_s", eager["seconds"], "s", {"compile": False}))
            if not dry:
                compiled = check(
                    "2ap_aux, 2 epochs, bf16, torch.compile",
                    short_train,
                    corpus,
                    work / "compiled",
                    preset=two_epochs,
                    device="cuda",
                    compile=True,
                )
                if compiled:
                    figures.append(("check_2ap_aux_2_epochs_s", compiled["seconds"], "s", {"compile": True}))
            check(
                "kill a run after its first checkpoint and resume it",
                kill_and_resume,
                corpus,
                work / "resume",
                preset=base.name,
                device=device.type,
            )
            if not dry:
                both = check("two runs at once with --gpus", two_at_once, corpus, work / "gpus", preset=base.name)
                if both:
                    figures.append(("check_two_runs_gpus_s", both["seconds"], "s", {"gpus": both["gpus"]}))
    peak = None if dry else peak_tflops(gpu_name, args.peak_tflops)
    if not dry and peak is None:
        print(f"  (peak bf16 rate of {gpu_name!r} unknown: pass --peak-tflops to get the FLOP utilisation)")
    import models

    print(f"  training speed, batch {args.batch}, width {base.width}, {args.steps} timed steps after {args.warmup}:")
    for compile in (False,) if dry else (False, True):
        for name in models.available():
            if compile and not args.compile_all and name != "2ap_aux":
                continue
            result = check(
                f"{name}{' compiled' if compile else ''} speed",
                model_speed,
                name,
                preset=base,
                device=device,
                batch=args.batch,
                steps=2 if dry else args.steps,
                warmup=1 if dry else args.warmup,
                compile=compile,
            )
            if result is None:
                continue
            rate, flops = result
            achieved = rate / args.batch * flops  # FLOP/s
            mfu = achieved / (peak * 1e12) if peak else float("nan")
            print(
                f"       {name:10s} {rate:9.1f} clips/s  {flops / args.batch / 1e9:7.2f} GFLOP/clip  "
                f"{achieved / 1e12:7.2f} TFLOP/s  MFU {mfu:.1%}"
            )
            settings = {
                "model": name,
                "compile": compile,
                "batch": args.batch,
                "width": base.width,
                "preset": base.name,
                "amp_bf16": device.type == "cuda",
                "channels_last": True,
                "flops_per_step": flops,
                "peak_tflops": peak,
                "gpu": gpu_name,
                "torch": torch.__version__,
            }
            figures.append((f"train_clips_per_s_{name}", rate, "clips/s", settings))
            if peak:
                figures.append((f"mfu_{name}", mfu, "fraction", settings))
    total = time.perf_counter() - started
    print(
        f"gpu_check: {total:.0f} s on {machine()}"
        + (f" (over the {BUDGET_S:.0f} s budget)" if total > BUDGET_S else "")
    )
    if dry:
        print("gpu_check: CPU dry run; figures not logged")
    else:
        for figure, value, unit, settings in figures:
            append(benchmark="gpu_check", figure=figure, value=value, unit=unit, settings=settings)
        append(
            benchmark="gpu_check",
            figure="check_total_s",
            value=total,
            unit="s",
            settings={"failures": len(failures), "gpu": gpu_name},
        )
        print(f"gpu_check: {len(figures) + 1} figure(s) appended to benchmarks/log.tsv")
    if failures:
        print(f"gpu_check: {len(failures)} check(s) failed:")
        for line in failures:
            print(f"  - {line}")
        return 1
    print("gpu_check: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
