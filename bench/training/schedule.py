"""Learning-rate schedules as objects: a new schedule is a new class, not another branch.

A :class:`Schedule` builds its torch scheduler on a run's optimiser and says when it steps:
after every batch, after every epoch (with the validation score), or both. A preset with
``restarts`` runs the same schedule again, shorter and from a lower peak, on a run that ended
it still rising (:meth:`Schedule.build_cycle`). A preset names
its schedule (``Preset.schedule``, looked up in :data:`SCHEDULES` by :func:`schedule_for`);
``train_run(schedule=...)`` takes any other :class:`Schedule` object directly, without
registering it anywhere.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from bench.errors import BenchError
from bench.presets import CONVERGENCE_RULE, Preset


class Schedule:
    """A learning-rate schedule (subclass it: :meth:`build`, and :meth:`after_batch` and/or
    :meth:`after_epoch`)."""

    name = "custom"

    def build(self, opt: torch.optim.Optimizer, preset: Preset, *, steps_per_epoch: int) -> Any:
        """The torch scheduler on ``opt`` for a run of ``preset`` (its state is saved in ``last.pt``)."""
        raise NotImplementedError

    def build_cycle(self, opt: torch.optim.Optimizer, preset: Preset, *, steps_per_epoch: int, cycle: int) -> Any:
        """The scheduler of schedule cycle ``cycle``: :meth:`build` for 0; for a restart k >= 1,
        :meth:`build` again over ``preset.restart_epochs`` epochs with the learning rate (and the
        base a schedule scales) set to ``preset.lr * preset.restart_lr_ratio``. The optimiser's
        moments are kept."""
        if cycle == 0:
            return self.build(opt, preset, steps_per_epoch=steps_per_epoch)
        peak = preset.lr * preset.restart_lr_ratio
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] = peak
        return self.build(
            opt, dataclasses.replace(preset, epochs=preset.restart_epochs, lr=peak), steps_per_epoch=steps_per_epoch
        )

    def after_batch(self, scheduler: Any) -> None:
        """Called after every optimiser step."""

    def after_epoch(self, scheduler: Any, *, val_micro_ap: float) -> None:
        """Called after every epoch with its validation micro-AP."""

    def describe(self, preset: Preset) -> str:
        """One line for the run's ``config.json``."""
        return self.name


def describe_restarts(preset: Preset) -> str:
    """The restart rule of ``preset`` in one line (``config.json``'s ``training.restarts_rule``)."""
    if not preset.restarts:
        return "none"
    return (
        f"a run still rising when its schedule ends (not converged: {CONVERGENCE_RULE}) goes on for up to "
        f"{preset.restarts} more cycle(s) of {preset.restart_epochs} epochs of the same schedule from lr "
        f"{preset.lr * preset.restart_lr_ratio:g}, early stopping counted from the cycle's start"
    )


class Plateau(Schedule):
    """The paper's: ReduceLROnPlateau (mode max) on validation micro-AP, stepped once an epoch
    (``patience``, ``lr_factor`` of the preset)."""

    name = "plateau"

    def build(self, opt, preset, *, steps_per_epoch):
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="max", patience=preset.patience, factor=preset.lr_factor
        )

    def after_epoch(self, scheduler, *, val_micro_ap):
        scheduler.step(val_micro_ap)

    def describe(self, preset):
        return f"reduce_on_plateau(max, val micro-AP, patience {preset.patience}, factor {preset.lr_factor})"


class WarmupCosine(Schedule):
    """A linear warm-up over ``warmup_epochs`` from ``lr / warmup steps`` to ``lr``, then a cosine
    decay to ``lr * lr_min_ratio`` at the last step of ``epochs``; stepped after every batch."""

    name = "cosine"

    def build(self, opt, preset, *, steps_per_epoch):
        warmup = preset.warmup_epochs * steps_per_epoch
        total = max(preset.epochs * steps_per_epoch, warmup + 1)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total - warmup - 1))
            return preset.lr_min_ratio + (1.0 - preset.lr_min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

        return torch.optim.lr_scheduler.LambdaLR(opt, factor)

    def after_batch(self, scheduler):
        scheduler.step()

    def describe(self, preset):
        return (
            f"linear warm-up {preset.warmup_epochs} epochs, cosine decay to {preset.lr_min_ratio:g} x lr "
            f"over {preset.epochs} epochs (per step)"
        )


SCHEDULES: dict[str, Schedule] = {"plateau": Plateau(), "cosine": WarmupCosine()}
"""The schedules a preset can name."""


def schedule_for(preset: Preset) -> Schedule:
    """The schedule ``preset.schedule`` names."""
    try:
        return SCHEDULES[preset.schedule]
    except KeyError:
        raise BenchError(
            f"preset {preset.name!r} names the schedule {preset.schedule!r}; known: {', '.join(SCHEDULES)} "
            "(or hand a Schedule object to train_run)"
        ) from None


def make_scheduler(opt: torch.optim.Optimizer, preset: Preset, *, steps_per_epoch: int) -> Any:
    """The preset's learning-rate scheduler on ``opt`` (:func:`schedule_for`)."""
    return schedule_for(preset).build(opt, preset, steps_per_epoch=steps_per_epoch)
