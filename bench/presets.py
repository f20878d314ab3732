"""Training presets: the paper's schedule for a GPU and a small one for a CPU.

A preset fixes everything about a run that is not the model, the loss weight,
the SNR, the seed or the folds: the schedule, the model width and class-prior
initialisation, and the log-mel settings (so also the ``n_mels`` and ``n_frames``
the models are built with). Its name and a hash of its settings (:meth:`Preset.key`)
go into the run id, so editing a preset never reuses runs trained under its old
settings; the settings are stored with every run (``config.json``), so a table can
always say what it ran.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.features import LogMelSettings

SCHEDULES = ("plateau", "cosine")
"""Learning-rate schedules a preset can name."""

_LATER_DEFAULTS = {
    "schedule": "plateau",
    "warmup_epochs": 0,
    "lr_min_ratio": 0.0,
    "early_stop": None,
    "mixing": "fixed",
    "augment": "none",
}
"""Settings added after the first presets, with the defaults that keep those presets' keys."""

_UNCONVERGED_ONLY = ("restarts", "restart_epochs", "restart_lr_ratio")
"""Settings that act only on a run still rising when its schedule ends: a run that levelled off
is the same run with or without them, so they stay out of :meth:`Preset.key` (and a finished
run that did not level off is taken up again where it ended when they allow another cycle)."""

CONVERGENCE_TAIL = 0.25
"""Share of a schedule cycle's epochs whose gain :meth:`Preset.convergence` measures."""
CONVERGENCE_GAIN = 0.01
"""Validation micro-AP the tail of a schedule cycle may add to a run that counts as converged."""
CONVERGENCE_RULE = (
    f"stopped early, or the last {CONVERGENCE_TAIL:.0%} of the epochs of its last schedule cycle raised "
    f"the best validation micro-AP by less than {CONVERGENCE_GAIN}"
)
""":meth:`Preset.convergence` in words (tables quote it)."""
CHANCE_SHARE = 0.1
"""A run whose best validation micro-AP gained less than this share of the distance from chance
(the validation fold's label prior, the micro-AP of scores that ignore the input) to a perfect
1.0 did not learn: it is marked at chance and never counted as converged."""
CHANCE_RULE = (
    f"its best validation micro-AP stayed within {CHANCE_SHARE:.0%} of the way from chance (the "
    "validation fold's share of positive labels) to 1"
)
""":func:`at_chance` in words (tables quote it)."""


def at_chance(best: float, chance: float) -> bool:
    """Whether a best validation micro-AP ``best`` is within :data:`CHANCE_SHARE` of the way from
    ``chance`` (the label prior) to 1: a plateau at chance, not a model that levelled off."""
    return bool(best - chance < CHANCE_SHARE * (1.0 - chance))


@dataclass(frozen=True)
class Preset:
    """A training schedule.

    Attributes
    ----------
    name : str
        Name used on the command line and in the run id.
    epochs : int
        Passes over the training clips.
    width : float
        Channel-width multiplier handed to ``models.build`` (1.0 = the paper's).
    train_clips : int or None
        Number of training clips drawn (deterministically from the seed) out of
        the training folds; None uses them all.
    batch_size : int
        Training batch size (the paper's: 24).
    lr : float
        Adam learning rate (the paper's: 1e-3).
    patience : int
        ReduceLROnPlateau patience in epochs, on validation micro-AP (mode max); used by
        ``schedule="plateau"`` only.
    lr_factor : float
        Factor applied to the learning rate on a plateau (``schedule="plateau"``).
    schedule : {"plateau", "cosine"}
        Learning-rate schedule. ``"plateau"``: the paper's ReduceLROnPlateau on validation
        micro-AP, stepped once an epoch. ``"cosine"``: a linear warm-up over
        ``warmup_epochs`` from ``lr / warmup steps`` to ``lr``, then a cosine decay to
        ``lr * lr_min_ratio`` at the last step of ``epochs``; stepped every batch.
    warmup_epochs : int
        Warm-up length of the ``"cosine"`` schedule, in epochs.
    lr_min_ratio : float
        Final learning rate of the ``"cosine"`` schedule as a fraction of ``lr``.
    early_stop : int or None
        Stop once validation micro-AP has not improved for this many epochs (None: train
        all ``epochs``). The best checkpoint is what is evaluated either way.
    eval_batch_size : int
        Batch size for prediction.
    features : LogMelSettings
        Log-mel settings of the inputs (default: the paper's 64 bands, hop 1024, 311 frames
        for 10 s); the models are built for its ``n_mels`` and frame count.
    prior : float or None
        Class-prior initialisation handed to ``models.build`` (None: the original one).
    mixing : {"fixed", "online"}
        The training clips runs of this preset take by default (:mod:`bench.training.mixing`).
    augment : {"none", "shift"}
        The augmentation runs of this preset take by default (:mod:`bench.training.mixing`).
    restarts : int
        Extra schedule cycles a run may take when it ends a cycle still rising, i.e. not
        converged by :meth:`convergence` (0: none). Each restarts the learning rate at
        ``lr * restart_lr_ratio`` (the schedule's warm-up and decay over ``restart_epochs``,
        the optimiser's state kept) and counts early stopping from the cycle's start; the best
        checkpoint is the best over every cycle. One rule for every model: a run that levels
        off within its schedule never sees it, so these settings stay out of :meth:`key`.
    restart_epochs : int
        Length of each extra cycle, in epochs (at least 1 when ``restarts`` > 0).
    restart_lr_ratio : float
        Peak learning rate of an extra cycle as a fraction of ``lr``, in (0, 1].
    note : str
        One line on what the preset is for (not part of :meth:`key`).
    """

    name: str
    epochs: int
    width: float
    train_clips: int | None = None
    batch_size: int = 24
    lr: float = 1e-3
    patience: int = 3
    lr_factor: float = 0.1
    schedule: str = "plateau"
    warmup_epochs: int = 0
    lr_min_ratio: float = 0.0
    early_stop: int | None = None
    eval_batch_size: int = 64
    features: LogMelSettings = field(default_factory=LogMelSettings)
    prior: float | None = None
    mixing: str = "fixed"
    augment: str = "none"
    restarts: int = 0
    restart_epochs: int = 0
    restart_lr_ratio: float = 0.5
    note: str = ""

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise BenchError(f"preset {self.name!r}: epochs and batch sizes must be at least 1")
        if not self.width > 0 or not self.lr > 0:
            raise BenchError(f"preset {self.name!r}: width and lr must be positive, found {self.width}, {self.lr}")
        if self.prior is not None and not 0.0 < self.prior < 1.0:
            raise BenchError(f"preset {self.name!r}: prior must be in (0, 1) or None, found {self.prior}")
        if self.schedule not in SCHEDULES:
            raise BenchError(
                f"preset {self.name!r}: schedule must be one of {', '.join(SCHEDULES)}, found {self.schedule!r}"
            )
        if not 0 <= self.warmup_epochs < self.epochs or not 0.0 <= self.lr_min_ratio <= 1.0:
            raise BenchError(
                f"preset {self.name!r}: warmup_epochs must be in [0, epochs) and lr_min_ratio in "
                f"[0, 1], found {self.warmup_epochs} and {self.lr_min_ratio}"
            )
        if self.early_stop is not None and self.early_stop < 1:
            raise BenchError(
                f"preset {self.name!r}: early_stop must be at least 1 epoch or None, found {self.early_stop}"
            )
        if self.mixing not in ("fixed", "online") or self.augment not in ("none", "shift"):
            raise BenchError(
                f"preset {self.name!r}: mixing must be fixed or online and augment none or shift, found "
                f"{self.mixing!r} and {self.augment!r}"
            )
        if self.restarts < 0 or not 0.0 < self.restart_lr_ratio <= 1.0:
            raise BenchError(
                f"preset {self.name!r}: restarts must be at least 0 and restart_lr_ratio in (0, 1], found "
                f"{self.restarts} and {self.restart_lr_ratio}"
            )
        if self.restarts and not self.warmup_epochs < self.restart_epochs:
            raise BenchError(
                f"preset {self.name!r}: with restarts, restart_epochs must be more than warmup_epochs "
                f"({self.warmup_epochs}), found {self.restart_epochs}"
            )
        if not isinstance(self.features, LogMelSettings):
            raise BenchError(f"preset {self.name!r}: features must be a LogMelSettings, found {self.features!r}")

    def to_dict(self) -> dict:
        """Plain-JSON form (``features`` as a dict)."""
        return asdict(self)

    def key(self) -> str:
        """Short hash (10 hex digits) of every setting except the note: it enters the run id.

        The schedule settings enter it only when they differ from their defaults, so that
        presets defined before they existed keep their keys (and their runs). The restart
        settings never enter it: they change only runs that had not levelled off, and those
        go on from where they ended (:data:`_UNCONVERGED_ONLY`)."""
        settings = {
            k: v
            for k, v in self.to_dict().items()
            if k != "note" and k not in _UNCONVERGED_ONLY and not (k in _LATER_DEFAULTS and v == _LATER_DEFAULTS[k])
        }
        return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]

    @property
    def max_epochs(self) -> int:
        """Epochs a run may take in all: the schedule's plus every restart's."""
        return self.epochs + self.restarts * self.restart_epochs

    def cycle_of(self, epoch: int) -> int:
        """The schedule cycle that epoch ``epoch`` (1-based) lies in: 0 for the schedule itself,
        k for its k-th restart (an epoch past :attr:`max_epochs` counts in the last)."""
        if epoch <= self.epochs or not self.restarts:
            return 0
        return min(self.restarts, 1 + (epoch - self.epochs - 1) // self.restart_epochs)

    def cycle_start(self, cycle: int) -> int:
        """Epochs run before cycle ``cycle`` begins."""
        return 0 if cycle == 0 else self.epochs + (cycle - 1) * self.restart_epochs

    def cycle_end(self, cycle: int) -> int:
        """The last epoch of cycle ``cycle``."""
        return self.epochs if cycle == 0 else self.cycle_start(cycle) + self.restart_epochs

    def goes_on(self, val_aps: Sequence[float]) -> bool:
        """Whether a run with these validation scores, having just ended a cycle without early
        stopping, takes another: it had not levelled off (:meth:`convergence`) and a restart is left."""
        n = len(val_aps)
        cycle = self.cycle_of(n) if n else 0
        return n == self.cycle_end(cycle) and cycle < self.restarts and not self.convergence(val_aps)["converged"]

    def convergence(self, val_aps: Sequence[float], *, chance: float | None = None) -> dict[str, Any]:
        """Whether a run's validation micro-AP had levelled off, by one rule for every model
        and schedule: early stopping ended it (``early_stop`` epochs without a better score),
        or the last :data:`CONVERGENCE_TAIL` of the epochs of the cycle it ended in (the
        schedule itself, or its last restart) raised the best score by less than
        :data:`CONVERGENCE_GAIN`. A run still climbing when its last cycle ends fails both,
        and its number is set by the schedule, not final.

        The best epoch alone cannot tell: under a cosine decay to zero almost every run
        improves a little in its last epochs, levelled off or not; the gain over the tail
        measures how much.

        Neither can tell a plateau from a model stuck at chance: given ``chance`` (the validation
        fold's label prior), a run whose best score stayed near it (:func:`at_chance`) is
        ``at_chance`` and never ``converged``. (Restarts do not read it: a schedule goes on or
        stops by the gain alone, for every model.)

        Parameters
        ----------
        val_aps : sequence of float
            Validation micro-AP after each epoch run, in order.
        chance : float, optional
            Micro-AP of chance on the validation fold (its share of positive labels).

        Returns
        -------
        dict
            ``epochs`` (the last epoch of the cycle the run ended in), ``epochs_run``,
            ``cycles`` (1 + restarts taken), ``best_epoch``, ``stopped_early``, ``tail_epochs``,
            ``tail_gain`` (best over the run minus best before the tail), ``chance`` and
            ``at_chance`` (with ``chance``), ``converged``, ``rule`` (one line).
        """
        aps = np.asarray(list(val_aps), dtype=float)
        epochs_run = int(aps.size)
        cycle = self.cycle_of(epochs_run) if epochs_run else 0
        length = self.cycle_end(cycle) - self.cycle_start(cycle)
        tail = max(1, math.ceil(CONVERGENCE_TAIL * length))
        best_epoch = int(np.argmax(aps)) + 1 if epochs_run else 0
        stopped_early = epochs_run < self.cycle_end(cycle)
        if epochs_run > tail:
            gain = float(aps.max() - aps[: epochs_run - tail].max())
        else:  # the whole run lies in the tail: its gain is everything it learnt
            gain = float(aps.max() - aps[0]) if epochs_run else 0.0
        out = {
            "epochs": self.cycle_end(cycle),
            "epochs_run": epochs_run,
            "cycles": cycle + 1,
            "best_epoch": best_epoch,
            "stopped_early": stopped_early,
            "tail_epochs": tail,
            "tail_gain": gain,
            "converged": bool(stopped_early or gain < CONVERGENCE_GAIN),
            "rule": CONVERGENCE_RULE,
        }
        if chance is not None:
            stuck = at_chance(float(aps.max()) if epochs_run else float(chance), float(chance))
            out.update(chance=float(chance), at_chance=stuck, converged=out["converged"] and not stuck)
            out["rule"] = f"{CONVERGENCE_RULE}, and not at chance ({CHANCE_RULE})"
        return out

    def n_frames(self, n_samples: int) -> int:
        """Frames per clip of ``n_samples`` samples under the preset's features."""
        return self.features.n_frames(n_samples)


CLASS_PRIOR = 3 / 41
"""Share of positive labels in a remix clip (3 of the 41 events): the ``cpu`` preset's prior."""

CPU_FEATURES = LogMelSettings(n_mels=16, n_fft=8192, hop_length=4096)
"""The CPU presets' log-mel: 16 bands, hop 4096 (128 ms; 77 frames for 10 s), a Hamming window
of twice the hop as the paper's (2048 / 1024), so every sample of a clip reaches a window;
1/16 of the paper's 311 x 64 time-frequency positions. Band edges and log as the paper's."""

DEMO_FEATURES = LogMelSettings(n_mels=16, n_fft=16384, hop_length=8192)
"""The ``cpu`` preset's log-mel: as :data:`CPU_FEATURES` at twice the hop (8192, 256 ms; 38
frames for 10 s), which halves the cost of every step. Chosen on the validation fold: at
20 dB, 16 epochs, seed 0, validation micro-AP gap / atrous_ap / 2ap_aux 0.185 / 0.419 /
0.571 (mean 0.392) against 0.152 / 0.507 / 0.504 (mean 0.388) at hop 4096."""

PRESETS: dict[str, Preset] = {
    "paper": Preset(
        name="paper",
        epochs=50,
        width=1.0,
        train_clips=None,
        note="the original schedule (50 epochs, full width, every training clip); meant for a GPU",
    ),
    # Chosen on the validation fold (fold 4), never on the test split: with 13 Adam steps per
    # epoch at the demo's size, lr 1e-2 learns within the time box where 1e-3 stays at chance.
    # The class prior removes the first epochs spent pulling the outputs down from 0.5. The
    # paper's plateau patience of 3 cut the rate during the flat start, so patience 16 keeps
    # it constant. Sixteen epochs stop while most runs are still learning: the report marks
    # such cells as not converged.
    "cpu": Preset(
        name="cpu",
        epochs=16,
        width=0.25,
        train_clips=None,
        lr=1e-2,
        patience=16,
        eval_batch_size=100,
        features=DEMO_FEATURES,
        prior=CLASS_PRIOR,
        note="a time-boxed demo schedule for a 2-core CPU: 16 epochs, 1/4 width, 16 mel bands x 38 frames "
        "(hop 256 ms), class-prior init, Adam lr 1e-2 held constant; most runs are still learning when it "
        "ends (marked in the tables); use cpu-full for converged numbers",
    ),
    # The same model as "cpu", at the CPU features' finer hop, trained until validation levels off, by one rule
    # for every model: a 2-epoch linear warm-up to lr 1e-2, a cosine decay over 180 epochs, and early stopping
    # after 36 epochs (a fifth of the schedule) without a better validation micro-AP. Chosen on validation:
    # with the earlier 60 epochs (early stop 12) GAP and GWRP still rose in a straight line when the schedule
    # ended while the attention models had levelled off by epochs 35-45, so the table ranked schedules, not
    # poolings; on a corpus built with an unused seed (20 dB, validation micro-AP) 180 epochs took GAP from
    # .377 to .642 and GWRP (decay scaled to the map) from .556 to .859, while 2AP+aux (.883 -> .877) and
    # atrous AP (.739 -> .835) stopped early on their own. With 180 epochs GAP at 10 and 20 dB
    # still followed the decay (best epoch 164, the last quarter adding .012 and .019): a run that
    # ends the cosine still rising takes up to two restarts of 90 epochs from half the peak rate,
    # with its own early-stopping patience. The rule is the same for every model and leaves
    # untouched every run that levelled off within the 180 epochs (their runs and keys stay).
    "cpu-full": Preset(
        name="cpu-full",
        epochs=180,
        width=0.25,
        train_clips=None,
        lr=1e-2,
        eval_batch_size=100,
        schedule="cosine",
        warmup_epochs=2,
        lr_min_ratio=0.0,
        early_stop=36,
        restarts=2,
        restart_epochs=90,
        restart_lr_ratio=0.5,
        features=CPU_FEATURES,
        prior=CLASS_PRIOR,
        note="converged numbers on a 2-core CPU: as cpu, but 16 mel bands x 77 frames (hop 128 ms) and up to "
        "180 epochs with a 2-epoch warm-up, cosine decay from lr 1e-2 and early stopping after 36 epochs "
        "without improvement; a run still rising at the end goes on for up to two 90-epoch cycles from lr 5e-3",
    ),
    "smoke": Preset(
        name="smoke",
        epochs=1,
        width=0.0625,
        train_clips=48,
        eval_batch_size=64,
        note="a wiring check (1 epoch, 1/16 width, 48 clips); its numbers mean nothing",
    ),
}
"""The known presets by name."""

RESOLUTION_FEATURES: dict[str, LogMelSettings] = {
    "cpu-full-64": LogMelSettings(n_mels=16, n_fft=4096, hop_length=2048),
    "cpu-full-32": LogMelSettings(n_mels=16, n_fft=2048, hop_length=1024),
}
"""The time-resolution rungs of ``cpu-full``: hop 64 ms (155 frames for 10 s) and 32 ms (311 frames,
the paper's frame rate), each with a Hamming window of twice the hop as the paper's, 16 mel bands."""

for _name, _features in RESOLUTION_FEATURES.items():
    PRESETS[_name] = dataclasses.replace(
        PRESETS["cpu-full"],
        name=_name,
        features=_features,
        note=f"cpu-full at hop {_features.hop_s * 1000:.0f} ms ({_features.n_frames(320000)} frames for 10 s, 16 "
        "mel bands): the same width, schedule, early stopping, restarts and convergence rule; constants that "
        "follow the map size (GWRP's rank decay) follow it; a time-resolution rung, about "
        f"{4096 // _features.hop_length}x the cost of a cpu-full run",
    )


def get_preset(name: str) -> Preset:
    """Return the preset called ``name``; BenchError listing the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise BenchError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None
