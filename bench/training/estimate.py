"""How long a grid will take on this machine, from a short timing of training steps.

A schedule meant for a GPU (the ``paper`` preset) started on a CPU runs for days; before it
starts, :func:`estimate_grid` times a few training steps of each model in the grid on random
input of the preset's shape and multiplies by the steps the schedule asks for.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

import models
from bench.config import RunConfig
from bench.presets import Preset
from bench.training.loop import build_model

TIMED_STEPS = 2
"""Training steps timed per model (after one untimed warm-up step)."""
TIMED_BATCH = 4
"""Clips per timed step; the time is scaled to the preset's batch (convolutions cost in proportion)."""


@dataclass(frozen=True)
class Estimate:
    """A grid's estimated training time: ``seconds`` in all, ``per_step`` seconds per model name."""

    seconds: float
    per_step: dict[str, float]

    def text(self) -> str:
        hours = self.seconds / 3600
        span = f"{hours:.1f} h" if hours >= 1 else f"{self.seconds / 60:.0f} min"
        steps = ", ".join(f"{m} {s:.2f} s" for m, s in self.per_step.items())
        return f"about {span} of training (seconds per step: {steps}), evaluation not included"


def step_seconds(
    config: RunConfig, preset: Preset, *, n_frames: int, threads: int | None = None, amp: bool = False
) -> float:
    """Seconds of one training step (forward, loss, backward, Adam) of ``config``'s model at the
    preset's batch size on the CPU: the median of :data:`TIMED_STEPS` steps of :data:`TIMED_BATCH`
    random clips of the preset's shape, scaled to the batch size; under bf16 autocast with ``amp``
    (as the runs will train, :func:`bench.device.use_bf16`)."""
    if threads is not None:
        torch.set_num_threads(threads)
    n_mels = preset.features.n_mels
    net = build_model(config, preset, n_frames=n_frames, n_mels=n_mels)
    opt = torch.optim.Adam(net.parameters(), lr=preset.lr)
    batch = min(TIMED_BATCH, preset.batch_size)
    x = torch.randn(batch, n_frames, n_mels)
    y = (torch.rand(batch, net.config.n_classes) < 0.07).float()
    times = []
    for step in range(TIMED_STEPS + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            out = net(x)
        losses = models.sed_loss(out, target=y, features=x, alpha=config.alpha)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        if step:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * preset.batch_size / batch


def estimate_grid(
    configs: Sequence[RunConfig], preset: Preset, *, n_train: int, n_frames: int, jobs: int = 1, amp: bool = False
) -> Estimate:
    """Training time of ``configs`` under ``preset``: steps per epoch x epochs (the schedule's, no
    early stop) x each model's step time (under bf16 autocast with ``amp``), the runs shared among
    ``jobs`` processes."""
    steps = -(-(preset.train_clips or n_train) // preset.batch_size) * preset.epochs
    per_step: dict[str, float] = {}
    for config in configs:
        if config.model not in per_step:
            per_step[config.model] = step_seconds(config, preset, n_frames=n_frames, amp=amp)
    total = sum(per_step[c.model] * steps for c in configs) / max(1, jobs)
    return Estimate(seconds=total, per_step=per_step)


CPU_ESTIMATE_LIMIT_S = 3600.0
"""A ``--preset paper`` grid on a CPU estimated longer than this needs ``--yes``."""


def check_cpu_estimate(
    configs, preset: Preset, *, corpus: Path, jobs: int, yes: bool, say=print, amp: bool = False
) -> Estimate:
    """Say (``say``) the estimated training time of a GPU schedule started on a CPU (in bf16 with
    ``amp``); BenchError (exit 2 on the command line) when it exceeds :data:`CPU_ESTIMATE_LIMIT_S`
    without ``yes``."""
    from bench.data import make_split, read_clips
    from bench.errors import BenchError

    clips = read_clips(corpus)
    first = configs[0]
    n_train = len(make_split(clips, snr_db=first.snr_db, val_fold=first.val_fold).train)
    duration = float(clips["duration_s"].iloc[0]) if "duration_s" in clips.columns else 10.0
    n_frames = preset.features.n_frames(int(round(duration * preset.features.sample_rate)))
    say(f"timing a few training steps of each model on this CPU (preset {preset.name}) ...")
    estimate = estimate_grid(configs, preset, n_train=n_train, n_frames=n_frames, jobs=jobs, amp=amp)
    say(f"{len(configs)} run(s) on this CPU: {estimate.text()}")
    if estimate.seconds > CPU_ESTIMATE_LIMIT_S and not yes:
        raise BenchError(
            f"--preset paper is a GPU schedule: on this CPU it would take {estimate.text()}; pass --yes to "
            "start it anyway, or use --preset cpu-full (converged numbers on a CPU in hours)"
        )
    return estimate
